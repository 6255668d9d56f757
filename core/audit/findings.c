/* The analysis: turns what an audit saw into findings a mailbox owner can
 * act on. Every number in a title comes straight from the result, so the
 * report and the TUI can show them without re-deriving anything. */
#include "audit/findings.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit/audit.h"
#include "base/i18n.h"
#include "base/parse.h"
#include "audit/report.h"
#include "base/text.h"
#include "store/rules.h"


static const char *const FIX_LOGIN = N_(
	"Check the login and the password. The login is always the full e-mail "
	"address (name@example.com). After a password change wait at least 15 "
	"minutes before the new one works. If it still fails, set a new "
	"password in the provider's administration and try again 15 minutes "
	"later.");
static const char *const FIX_CERT = N_(
	"Use the server name the provider lists for your hosting (its "
	"certificate is for that name), not your own domain or an old address. "
	"Check this computer's date and time. Only to diagnose, --insecure skips "
	"the check.");
static const char *const FIX_NET = N_(
	"Check the port and security: IMAP 993 SSL/TLS or 143 STARTTLS, POP3 "
	"995 SSL/TLS or 110 STARTTLS. A firewall or antivirus on this computer "
	"or network may block the port: try another network, or turn off the "
	"antivirus's mail scanning for a moment.");
static const char *const FIX_PORT = N_(
	"Set the port and security named above, here and in every mail "
	"program: IMAP 993 SSL/TLS or 143 STARTTLS, POP3 995 SSL/TLS or 110 "
	"STARTTLS. mailaudit --probe tries every combination and says which "
	"work.");
static const char *const FIX_HOST = N_(
	"Check the server name for typos. Old server addresses (of the form "
	"smtp-12345.m67.provider.net) may be shut down without warning: take "
	"the current server names from the service addresses in the provider's "
	"administration.");
static const char *const FIX_LATER = N_(
	"Try again later. If another device is downloading mail over POP3, "
	"mailaudit has to wait until it is done.");
static const char *const FIX_OTHER = N_(
	"Try again. If it keeps failing, run mailaudit with a protocol trace and "
	"send it to the provider's support (the trace never contains the "
	"password).");
static const char *const FIX_DEADLINE = N_(
	"Give the audit more time: a larger --deadline (a first audit of a big "
	"mailbox takes longest; later ones read only what changed), or a longer "
	"service check timeout in the monitoring system. If even a short audit "
	"does not finish, the server or the network is slow: the evidence names "
	"the step it was waiting for.");
static const char *const FIX_NOT_CONFIGURED = N_(
	"Give mailaudit the IMAP server (it is usually the same server as POP3) "
	"so it can look at the folders.");

const char *ma_severity_name(enum ma_severity s)
{
	switch (s) {
	case MA_SEV_OK:
		return "OK";
	case MA_SEV_INFO:
		return "INFO";
	case MA_SEV_WARNING:
		return "WARNING";
	case MA_SEV_UNKNOWN:
		return "UNKNOWN";
	case MA_SEV_CRITICAL:
		return "CRITICAL";
	}
	return "UNKNOWN";
}

const char *ma_severity_label(enum ma_severity s)
{
	/* The msgids are the words ma_severity_name returns. */
	static const char *const words[] = { N_("OK"), N_("INFO"), N_("WARNING"), N_("UNKNOWN"),
					     N_("CRITICAL") };
	(void)words;
	return _(ma_severity_name(s));
}

int ma_severity_exit_code(enum ma_severity s)
{
	switch (s) {
	case MA_SEV_OK:
	case MA_SEV_INFO:
		return 0;
	case MA_SEV_WARNING:
		return 1;
	case MA_SEV_CRITICAL:
		return 2;
	case MA_SEV_UNKNOWN:
		return 3;
	}
	return 3;
}

void ma_finding_clear(struct ma_finding *f)
{
	if (!f)
		return;
	free(f->title);
	free(f->evidence);
	memset(f, 0, sizeof *f);
}

/* ---- the table and the list being built ---------------------------------- */

static const struct {
	const char *code;
	enum ma_severity sev[3];  /* by enum ma_grade */
	const char *why, *fix;
} kinds[MA_KIND_COUNT] = {
#define KIND_ROW(id, c, s, w, f) [id] = { c, s, N_(w), N_(f) },
	MA_FINDING_KINDS(KIND_ROW)
#undef KIND_ROW
};

const char *ma_kind_code(enum ma_kind k)
{
	return (unsigned)k < MA_KIND_COUNT ? kinds[k].code : "?";
}

enum ma_severity ma_kind_severity(enum ma_kind k, enum ma_grade g)
{
	if ((unsigned)k >= MA_KIND_COUNT || (unsigned)g > MA_GRADE_GRAVE)
		return MA_SEV_UNKNOWN;
	return kinds[k].sev[g];
}

void ma_findings_add(struct ma_findings *l, enum ma_kind k, enum ma_grade g, struct ma_buf *title,
		     struct ma_buf *ev, const char *fix)
{
	if (!ev->p)
		ma_buf_add(ev, "", 0);
	if (title->oom || ev->oom || !title->p || l->oom || (unsigned)k >= MA_KIND_COUNT)
		goto fail;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct ma_finding *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			goto fail;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct ma_finding){
		.code = kinds[k].code,
		.severity = ma_kind_severity(k, g),
		.title = title->p,
		.evidence = ev->p,
		/* The table's texts, translated where the catalogue has them. */
		.why = kinds[k].why ? _(kinds[k].why) : NULL,
		.fix = fix ? _(fix) : kinds[k].fix ? _(kinds[k].fix) : NULL,
	};
	return;
fail:
	l->oom = true;
	free(title->p);
	free(ev->p);
}

/* A stable insertion sort, worst first: a list is a few dozen findings,
 * added in the order that is to stay within a severity. */
void ma_findings_sort(struct ma_finding *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct ma_finding f = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1].severity < f.severity; j--)
			v[j] = v[j - 1];
		v[j] = f;
	}
}

void ma_findings_clear(struct ma_findings *l)
{
	for (size_t i = 0; i < l->n; i++)
		ma_finding_clear(&l->v[i]);
	free(l->v);
	*l = (struct ma_findings){ 0 };
}

void ma_findings_host_obsolete(struct ma_findings *l, const char *host, const struct ma_rule *rule)
{
	struct ma_buf t = { 0 }, e = { 0 };
	char name[1024];
	ma_text_clean(name, sizeof name, host, strlen(host), 253);
	ma_buf_printf(&t, _("%s is an obsolete server name"), name);
	ma_buf_printf(&e, _("%s\nCurrent names look like: %s"), rule->note, rule->hint);
	ma_findings_add(l, MA_K_HOST_OBSOLETE, MA_GRADE_USUAL, &t, &e, NULL);
}

void ma_findings_rules_note(struct ma_findings *l, const struct ma_rules *rules,
			    const struct ma_error *load_err)
{
	bool failed = load_err && load_err->status != MA_OK;
	if (!failed && !(rules && rules->missing))
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	if (failed) {
		char msg[700];
		ma_error_format(load_err, msg, sizeof msg);
		ma_buf_printf(&t, "%s", _("Obsolete server names cannot be recognised: providers.rules is "
			      "not usable"));
		ma_buf_clean(&e, msg, 400);
	} else {
		ma_buf_printf(&t, "%s", _("Obsolete server names cannot be recognised: providers.rules was "
			      "not found"));
		ma_buf_printf(&e, "%s", _("Looked for it in: "));
		ma_buf_clean(&e, rules->where, 600);
	}
	ma_findings_add(l, MA_K_RULES_MISSING, MA_GRADE_USUAL, &t, &e, NULL);
}

/* The audit's checks: a finding of the kind's usual severity, or of the
 * grade the check found. */
static void add(struct ma_findings *l, enum ma_kind k, struct ma_buf *title, struct ma_buf *ev,
		const char *fix)
{
	ma_findings_add(l, k, MA_GRADE_USUAL, title, ev, fix);
}

static void add_graded(struct ma_findings *l, enum ma_kind k, enum ma_grade g, struct ma_buf *title,
		       struct ma_buf *ev, const char *fix)
{
	ma_findings_add(l, k, g, title, ev, fix);
}

static const struct ma_folder_result *inbox_of(const struct ma_audit_result *r)
{
	for (size_t i = 0; i < r->nfolders; i++)
		if (r->folders[i].folder.name && strcasecmp(r->folders[i].folder.name, "INBOX") == 0)
			return &r->folders[i];
	return NULL;
}

#define MAX_EVIDENCE 50

/* ---- the loss ledger ----------------------------------------------------- */

bool ma_role_loss_critical(enum ma_role role)
{
	/* An unknown role counts as an ordinary folder: better a false alarm
	 * than a loss let through. */
	return role != MA_ROLE_DRAFTS && role != MA_ROLE_TRASH && role != MA_ROLE_JUNK;
}

/* INBOX by its name too, so that INBOX's losses are always blamed on what
 * can reach INBOX alone (POP3), whatever the history knew of roles. */
static enum ma_role role_of(const struct ma_loss_entry *e)
{
	if (e->folder && strcasecmp(e->folder, "INBOX") == 0)
		return MA_ROLE_INBOX;
	return e->role;
}

static uint64_t messages_of(const struct ma_loss_entry *e)
{
	return e->kind == MA_LOSS_UNSEEN ? e->count : 1;
}

void ma_loss_counts(const struct ma_audit_result *r, struct ma_loss_counts *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < r->nledger; i++) {
		const struct ma_loss_entry *e = &r->ledger[i];
		enum ma_role role = role_of(e);
		uint64_t k = messages_of(e);
		if (e->acked || role == MA_ROLE_DRAFTS || !k)
			continue;
		if (!ma_role_loss_critical(role)) {
			if (e->this_audit && !e->policy)
				c->trash_now += k;
			continue;
		}
		c->unacknowledged += k;
		if (!e->this_audit) {
			c->earlier += k;
			continue;
		}
		if (e->kind == MA_LOSS_UNSEEN)
			c->unseen_deleted += k;
		else
			c->destroyed += k;
		if (role == MA_ROLE_INBOX && !e->folder_gone)
			c->inbox_now += k;
		else
			c->elsewhere_now += k;
	}
}

/* Which finding names a message this audit found destroyed. */
enum place { P_NONE, P_INBOX, P_FOLDER, P_GONE, P_TRASH };

static enum place place_of(const struct ma_loss_entry *e)
{
	if (!e->this_audit || e->acked || e->kind != MA_LOSS_MESSAGE)
		return P_NONE;
	enum ma_role role = role_of(e);
	if (role == MA_ROLE_DRAFTS || e->policy)
		return P_NONE;
	if (e->folder_gone)
		return P_GONE;
	if (role == MA_ROLE_INBOX)
		return P_INBOX;
	return ma_role_loss_critical(role) ? P_FOLDER : P_TRASH;
}

/* Start of the window the losses happened in: the previous audit, or failing
 * that the earliest time a lost message was seen. */
static time_t loss_since(const struct ma_audit_result *r)
{
	if (r->prev_audit)
		return r->prev_audit;
	time_t t = 0;
	for (size_t i = 0; i < r->nledger; i++)
		if (r->ledger[i].this_audit && r->ledger[i].last_seen &&
		    (!t || r->ledger[i].last_seen < t))
			t = r->ledger[i].last_seen;
	for (size_t i = 0; i < r->nlost; i++)
		if (r->lost[i].last_seen && (!t || r->lost[i].last_seen < t))
			t = r->lost[i].last_seen;
	return t;
}

/* Folders and how many losses each, in the order first met. A mailbox has
 * few folders, so a list searched from the start is enough. */
struct tally {
	struct {
		const char *name;
		uint64_t n;
	} *v;
	size_t n, cap;
	bool oom;
};

static void tally_add(struct tally *t, const char *name, uint64_t n)
{
	name = name ? name : "?";
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0) {
			t->v[i].n += n;
			return;
		}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		void *v = realloc(t->v, cap * sizeof *t->v);
		if (!v) {
			t->oom = true;
			return;
		}
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n].name = name;
	t->v[t->n++].n = n;
}

/* A message's own date: INTERNALDATE, else its Date: header. */
static void put_msg_date(struct ma_buf *b, int64_t internaldate, const char *date)
{
	char when[32];
	if (internaldate > 0) {
		ma_fmt_time((time_t)internaldate, when);
		ma_buf_add(b, when, strlen(when));
	} else if (date) {
		ma_buf_clean(b, date, 31);
	} else {
		ma_buf_printf(b, "%s", _("date unknown"));
	}
}

/* "- 2026-11-25 08:00 Bob <bob@example.net>: Invoice (INBOX, last seen ...)" */
static void put_message(struct ma_buf *e, const struct ma_loss_entry *m)
{
	char seen[32];
	ma_buf_add(e, "- ", 2);
	put_msg_date(e, m->internaldate, m->date);
	ma_buf_add(e, " ", 1);
	ma_buf_clean(e, m->from ? m->from : _("(no sender)"), 40);
	ma_buf_add(e, ": ", 2);
	ma_buf_clean(e, m->subject ? m->subject : _("(no subject)"), MA_SUBJECT_MAX);
	ma_buf_add(e, " (", 2);
	ma_buf_clean(e, m->folder ? m->folder : "?", 40);
	ma_fmt_time(m->last_seen, seen);
	ma_buf_printf(e, _(", last seen %s)"), seen);
}

static void put_since(struct ma_buf *t, time_t since)
{
	char when[32];
	if (!since)
		return;
	ma_fmt_time(since, when);
	ma_buf_printf(t, _(" since %s"), when);
}

/* The messages this audit found destroyed, one finding per place: INBOX
 * (a POP3 device can do that), other folders (it cannot), deleted folders,
 * and Trash or Junk emptied. */
static void check_named(const struct ma_audit_result *r, struct ma_findings *l, enum place want)
{
	struct tally f = { 0 };
	size_t n = 0;
	bool critical = false, trash = false, junk = false;
	for (size_t i = 0; i < r->nledger; i++) {
		const struct ma_loss_entry *m = &r->ledger[i];
		if (place_of(m) != want)
			continue;
		n++;
		tally_add(&f, m->folder, 1);
		enum ma_role role = role_of(m);
		critical |= ma_role_loss_critical(role);
		trash |= role == MA_ROLE_TRASH;
		junk |= role == MA_ROLE_JUNK;
	}
	if (!n || f.oom) {
		l->oom |= f.oom;
		free(f.v);
		return;
	}
	struct ma_buf t = { 0 }, e = { 0 };
	enum ma_kind k = MA_K_DESTROYED;
	enum ma_grade g = MA_GRADE_USUAL;
	switch (want) {
	case P_INBOX:
		ma_buf_printf(&t, P_("%zu message was deleted from the server",
				     "%zu messages were deleted from the server", n), n);
		put_since(&t, loss_since(r));
		ma_buf_printf(&t, "%s", P_(" and is in no folder", " and are in no folder", n));
		break;
	case P_FOLDER:
		k = MA_K_FOLDER_DESTROYED;
		{
			char where[256];
			if (f.n == 1)
				ma_text_clean(where, sizeof where, f.v[0].name, strlen(f.v[0].name), 40);
			else
				snprintf(where, sizeof where, P_("%zu folder", "%zu folders", f.n), f.n);
			ma_buf_printf(&t, P_("%zu message was deleted from %s", "%zu messages were deleted from %s",
					     n), n, where);
		}
		put_since(&t, loss_since(r));
		ma_buf_printf(&t, "%s", P_(" and is in no folder", " and are in no folder", n));
		break;
	case P_GONE:
		k = MA_K_FOLDER_DELETED;
		g = critical ? MA_GRADE_USUAL : MA_GRADE_MILD;
		if (f.n == 1) {
			char name[256];
			ma_text_clean(name, sizeof name, f.v[0].name, strlen(f.v[0].name), 40);
			ma_buf_printf(&t, P_("Folder %s was deleted with %zu message",
					     "Folder %s was deleted with %zu messages", n), name, n);
		} else {
			/* Two folders at least, each with a message at least. */
			ma_buf_printf(&t, P_("%zu folder was deleted with %zu messages: ",
					     "%zu folders were deleted with %zu messages: ", f.n), f.n, n);
			for (size_t i = 0; i < f.n && i < 5; i++) {
				if (i)
					ma_buf_add(&t, ", ", 2);
				ma_buf_clean(&t, f.v[i].name, 30);
			}
			if (f.n > 5)
				ma_buf_add(&t, ", ...", 5);
		}
		for (size_t i = 0; i < f.n; i++) {
			if (i)
				ma_buf_add(&e, "\n", 1);
			ma_buf_clean(&e, f.v[i].name, 60);
			ma_buf_printf(&e, P_(": deleted with %llu message", ": deleted with %llu messages",
					     f.v[i].n), (unsigned long long)f.v[i].n);
		}
		break;
	default:
		k = MA_K_TRASH;
		ma_buf_printf(&t, P_("%s emptied: %zu message deleted for good",
				     "%s emptied: %zu messages deleted for good", n),
			      trash && junk ? _("Trash and Junk") : junk ? _("Junk") : _("Trash"), n);
		put_since(&t, loss_since(r));
		break;
	}
	size_t shown = 0;
	for (size_t i = 0; i < r->nledger && shown < MAX_EVIDENCE; i++) {
		if (place_of(&r->ledger[i]) != want)
			continue;
		if (e.len)
			ma_buf_add(&e, "\n", 1);
		put_message(&e, &r->ledger[i]);
		shown++;
	}
	if (n > shown)
		ma_buf_printf(&e, P_("\n... and %zu more", "\n... and %zu more", n - shown), n - shown);
	free(f.v);
	add_graded(l, k, g, &t, &e, NULL);
}

/* ---- Trash purged by the server's own policy ----------------------------- */

/* The least age, in seconds, of what a purge by age removed: servers count
 * Trash's keeping time in days (Courier: at least 1). */
#define PURGE_MIN_AGE (24 * 60 * 60)

/* Whether what this audit found gone from Trash folder f is the server's
 * purge of old mail: every message gone from it is dated (INTERNALDATE)
 * at least a day before the audit and before any message that an earlier
 * audit saw there and that stayed can have come into Trash (its own
 * date, or later when the UIDs show it came after an earlier audit:
 * ma_folder_result.kept_oldest), and at least one such message stayed. Conservative: a Trash emptied whole (nothing stayed), or of any
 * message as young as one that stayed, or with arrivals that came and went
 * unseen, is what it always was: trash-emptied. *youngest: the newest
 * date among the gone. */
static bool purged_by_age(const struct ma_audit_result *r, const struct ma_folder_result *f,
			  int64_t *youngest, size_t *n)
{
	*youngest = 0;
	*n = 0;
	if (!f->folder.name || !f->kept || f->kept_oldest <= 0)
		return false;
	for (size_t i = 0; i < r->nledger; i++) {
		const struct ma_loss_entry *e = &r->ledger[i];
		if (!e->this_audit || e->acked || !e->folder || strcmp(e->folder, f->folder.name) != 0)
			continue;
		if (e->kind != MA_LOSS_MESSAGE) {
			if (e->count)
				return false;
			continue;
		}
		if (role_of(e) != MA_ROLE_TRASH || e->folder_gone || e->internaldate <= 0)
			return false;
		if (e->internaldate > *youngest)
			*youngest = e->internaldate;
		(*n)++;
	}
	return *n && *youngest < f->kept_oldest && (int64_t)r->started - *youngest >= PURGE_MIN_AGE;
}

/* Marks the ledger entries of every Trash the server purged by age
 * (ma_loss_entry.policy), before the checks read them. */
static void mark_trash_purges(struct ma_audit_result *r)
{
	for (size_t i = 0; i < r->nledger; i++)
		r->ledger[i].policy = false;
	for (size_t i = 0; i < r->nfolders; i++) {
		const struct ma_folder_result *f = &r->folders[i];
		int64_t youngest;
		size_t n;
		if (!purged_by_age(r, f, &youngest, &n))
			continue;
		for (size_t j = 0; j < r->nledger; j++) {
			struct ma_loss_entry *e = &r->ledger[j];
			if (e->this_audit && !e->acked && e->kind == MA_LOSS_MESSAGE && e->folder &&
			    strcmp(e->folder, f->folder.name) == 0)
				e->policy = true;
		}
	}
}

/* One finding per Trash the server purged: what it removed, and what
 * stayed, which is why it is a policy and not a device. */
static void check_trash_purge(const struct ma_audit_result *r, struct ma_findings *l)
{
	for (size_t i = 0; i < r->nfolders; i++) {
		const struct ma_folder_result *f = &r->folders[i];
		int64_t youngest;
		size_t n;
		if (!purged_by_age(r, f, &youngest, &n))
			continue;
		struct ma_buf t = { 0 }, e = { 0 };
		char name[256], oldest[32];
		long long days = ((int64_t)r->started - youngest) / PURGE_MIN_AGE;
		ma_text_clean(name, sizeof name, f->folder.name, strlen(f->folder.name), 40);
		ma_buf_printf(&t, _("The server purged %s: "), name);
		ma_buf_printf(&t, P_("it removed %zu message older than", "it removed %zu messages older than",
				     n), n);
		ma_buf_printf(&t, P_(" %lld day", " %lld days", days), days);
		ma_buf_printf(&t, "%s", _(" and kept the newer ones"));
		size_t shown = 0;
		for (size_t j = 0; j < r->nledger && shown < MAX_EVIDENCE; j++) {
			const struct ma_loss_entry *m = &r->ledger[j];
			if (!m->policy || !m->this_audit || !m->folder || strcmp(m->folder, f->folder.name) != 0)
				continue;
			if (shown++)
				ma_buf_add(&e, "\n", 1);
			put_message(&e, m);
		}
		if (n > shown)
			ma_buf_printf(&e, P_("\n... and %zu more", "\n... and %zu more", n - shown), n - shown);
		ma_fmt_time((time_t)f->kept_oldest, oldest);
		ma_buf_add(&e, "\n", 1);
		ma_buf_printf(&e, P_("Stayed: %u message that an earlier audit saw there, dated or put "
				     "there on %s or later.",
				     "Stayed: %u messages that an earlier audit saw there, each dated or put "
				     "there on %s or later.", f->kept), f->kept, oldest);
		add(l, MA_K_TRASH_PURGE, &t, &e, NULL);
	}
}

static const char *const FIX_CAME_WENT_FOLDER = N_(
	"These messages were not in INBOX, which is all a POP3 program sees: an "
	"IMAP program, a phone app, webmail or a person deleted them, or moved "
	"them out of this mailbox.\n" MA_FIX_IMAP_DELETES "\n" MA_FIX_RUN_OFTEN "\n" MA_FIX_ACK);
static const char *const FIX_CAME_WENT_TRASH = N_(
	"Mail deleted into Trash or Junk and then emptied for good, before an "
	"audit could see it. Nothing to do if that was meant. If nobody empties "
	"them by hand, look for automatic cleanup: Thunderbird \"Empty Trash on "
	"Exit\", phone apps and webmail that delete Trash or Junk after some "
	"days, mbsync \"Expunge\".\n" MA_FIX_ACK);

/* Mail that arrived after the previous audit and was deleted before this
 * one: counted from UIDs, never seen, so never named. */
static void check_came_went(const struct ma_audit_result *r, struct ma_findings *l)
{
	struct tally f = { 0 };
	uint64_t total = 0;
	bool critical = false, inbox = false;
	time_t since = 0;
	for (size_t i = 0; i < r->nledger; i++) {
		const struct ma_loss_entry *e = &r->ledger[i];
		enum ma_role role = role_of(e);
		if (!e->this_audit || e->acked || e->kind != MA_LOSS_UNSEEN || !e->count ||
		    role == MA_ROLE_DRAFTS)
			continue;
		total += e->count;
		tally_add(&f, e->folder, e->count);
		critical |= ma_role_loss_critical(role);
		inbox |= role == MA_ROLE_INBOX;
		if (e->since && (!since || e->since < since))
			since = e->since;
	}
	if (!total || f.oom) {
		l->oom |= f.oom;
		free(f.v);
		return;
	}
	struct ma_buf t = { 0 }, e = { 0 };
	{
		char where[256];
		if (f.n == 1)
			ma_text_clean(where, sizeof where, f.v[0].name, strlen(f.v[0].name), 40);
		else
			snprintf(where, sizeof where, P_("%zu folder", "%zu folders", f.n), f.n);
		ma_buf_printf(&t, P_("%llu message arrived in %s", "%llu messages arrived in %s", total),
			      (unsigned long long)total, where);
	}
	put_since(&t, since);
	ma_buf_printf(&t, "%s", P_(" and was deleted before this audit; mailaudit never saw it, so it "
				   "cannot name it",
				   " and were deleted before this audit; mailaudit never saw them, so it "
				   "cannot name them", total));
	free(f.v);
	for (size_t i = 0; i < r->nledger; i++) {
		const struct ma_loss_entry *x = &r->ledger[i];
		if (!x->this_audit || x->acked || x->kind != MA_LOSS_UNSEEN || !x->count ||
		    role_of(x) == MA_ROLE_DRAFTS)
			continue;
		uint32_t arrived = x->uidnext_now > x->uidnext_then ?
					   x->uidnext_now - x->uidnext_then : 0;
		char then[32];
		ma_fmt_time(x->since, then);
		ma_buf_clean(&e, x->folder ? x->folder : "?", 60);
		ma_buf_printf(&e, P_(": UIDNEXT %lu at the previous audit (%s), %lu now: %lu message "
				     "arrived since",
				     ": UIDNEXT %lu at the previous audit (%s), %lu now: %lu messages "
				     "arrived since", arrived),
			      (unsigned long)x->uidnext_then, then, (unsigned long)x->uidnext_now,
			      (unsigned long)arrived);
		ma_buf_printf(&e, P_("; at least %lu of them is in no folder now.\n",
				     "; at least %lu of them are in no folder now.\n", x->count),
			      (unsigned long)x->count);
	}
	ma_buf_printf(&e, "%s", _("How sure: a lower bound if the server numbers arrivals one after "
		      "another, as Dovecot does. Arrivals that may have been moved to "
		      "another folder, or are still there, are not counted."));
	add_graded(l, MA_K_CAME_WENT, critical ? MA_GRADE_USUAL : MA_GRADE_MILD, &t, &e,
	    inbox ? NULL : critical ? FIX_CAME_WENT_FOLDER : FIX_CAME_WENT_TRASH);
}

/* Critical losses that earlier audits found and nobody acknowledged: they
 * hold the verdict until --ack. Trash and Junk emptied earlier do not (they
 * stay in --lost). */
static void check_unacked(const struct ma_audit_result *r, struct ma_findings *l)
{
	uint64_t total = 0;
	size_t nent = 0;
	time_t oldest = 0;
	for (size_t i = 0; i < r->nledger; i++) {
		const struct ma_loss_entry *e = &r->ledger[i];
		if (e->this_audit || e->acked || !messages_of(e) ||
		    !ma_role_loss_critical(role_of(e)))
			continue;
		total += messages_of(e);
		nent++;
		if (e->found && (!oldest || e->found < oldest))
			oldest = e->found;
	}
	if (!total)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, P_("%llu lost message found by earlier audits",
			     "%llu lost messages found by earlier audits", total), (unsigned long long)total);
	put_since(&t, oldest);
	ma_buf_printf(&t, "%s", P_(" is not acknowledged yet", " are not acknowledged yet", total));
	size_t shown = 0;
	for (size_t i = 0; i < r->nledger && shown < MAX_EVIDENCE; i++) {
		const struct ma_loss_entry *m = &r->ledger[i];
		if (m->this_audit || m->acked || !messages_of(m) ||
		    !ma_role_loss_critical(role_of(m)))
			continue;
		char found[32];
		ma_fmt_time(m->found, found);
		if (shown++)
			ma_buf_add(&e, "\n", 1);
		ma_buf_printf(&e, _("- found %s in "), found);
		ma_buf_clean(&e, m->folder ? m->folder : "?", 40);
		ma_buf_add(&e, ": ", 2);
		if (m->kind == MA_LOSS_UNSEEN) {
			char then[32];
			ma_fmt_time(m->since, then);
			ma_buf_printf(&e, P_("%lu message that arrived after %s, deleted unseen",
					     "%lu messages that arrived after %s, deleted unseen", m->count),
				      (unsigned long)m->count, then);
			continue;
		}
		put_msg_date(&e, m->internaldate, m->date);
		ma_buf_add(&e, " ", 1);
		ma_buf_clean(&e, m->from ? m->from : _("(no sender)"), 40);
		ma_buf_add(&e, ": ", 2);
		ma_buf_clean(&e, m->subject ? m->subject : _("(no subject)"), MA_SUBJECT_MAX);
	}
	if (nent > shown)
		ma_buf_printf(&e, P_("\n... and %zu more (mailaudit --lost lists them all)",
				     "\n... and %zu more (mailaudit --lost lists them all)", nent - shown),
			      nent - shown);
	add(l, MA_K_UNACKED, &t, &e, NULL);
}

/* RFC 3501 7.1: an [ALERT] must be shown to the user; as the server's own
 * words, cleaned, since nothing vouches for them. */
static void check_alerts(const struct ma_audit_result *r, struct ma_findings *l)
{
	size_t n = 0;
	const char *only = NULL;
	for (size_t i = 0; i < r->nalerts; i++)
		if (r->alerts[i] && r->alerts[i][0])
			n++, only = r->alerts[i];
	if (!n)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	if (n == 1) {
		ma_buf_printf(&t, "%s", _("The IMAP server says: "));
		ma_buf_clean(&t, only, 150);
	} else {
		ma_buf_printf(&t, _("The IMAP server sent %zu alerts"), n);
	}
	for (size_t i = 0; i < r->nalerts; i++) {
		if (!r->alerts[i] || !r->alerts[i][0])
			continue;
		if (e.len)
			ma_buf_add(&e, "\n", 1);
		ma_buf_add(&e, "[ALERT] ", 8);
		ma_buf_clean(&e, r->alerts[i], 400);
	}
	add(l, MA_K_ALERT, &t, &e, NULL);
}

/* ---- the other checks, in table order ----------------------------------- */

/* RFC 2449: "EXPIRE" SP ("NEVER" / 1*DIGIT) [SP "USER"]. */
static bool parse_expire(const char *line, bool *never, unsigned long *days, bool *user)
{
	while (*line == ' ' || *line == '\t')
		line++;
	if (strncasecmp(line, "EXPIRE", 6) != 0 || (line[6] != ' ' && line[6] != '\t'))
		return false;
	const char *p = line + 6;
	while (*p == ' ' || *p == '\t')
		p++;
	*never = false;
	*days = 0;
	if (strncasecmp(p, "NEVER", 5) == 0) {
		*never = true;
		p += 5;
	} else if (isdigit((unsigned char)*p)) {
		unsigned long v = 0;
		for (; isdigit((unsigned char)*p); p++)
			v = v > 100000 ? v : v * 10 + (unsigned long)(*p - '0');
		*days = v;
	} else {
		return false;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	*user = strncasecmp(p, "USER", 4) == 0;
	return *p == '\0' || *p == '\r' || *p == '\n' || *user;
}

static void check_expire(const struct ma_audit_result *r, struct ma_findings *l)
{
	/* The last line wins: after login the server shows this mailbox's own
	 * policy, and a session keeps the lines in the order it got them. */
	const char *line = NULL;
	bool never = false, user = false;
	unsigned long days = 0;
	for (size_t i = 0; i < r->pop3.ncapa; i++) {
		bool nv, us;
		unsigned long d;
		if (r->pop3.capa[i] && parse_expire(r->pop3.capa[i], &nv, &d, &us)) {
			line = r->pop3.capa[i];
			never = nv;
			days = d;
			user = us;
		}
	}
	if (!line)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	enum ma_grade g;
	if (never) {
		g = MA_GRADE_MILD;
		ma_buf_printf(&t, "%s", _("The server never deletes mail on its own after a POP3 "
			   "download (POP3 EXPIRE NEVER)"));
	} else if (days == 0) {
		g = MA_GRADE_GRAVE;
		ma_buf_printf(&t, "%s", _("The server deletes every message as soon as a POP3 client "
			   "has downloaded it (POP3 EXPIRE 0)"));
	} else {
		g = MA_GRADE_USUAL;
		ma_buf_printf(&t, P_("The server deletes mail %lu day after a POP3 client "
				     "downloaded it (POP3 EXPIRE %lu)",
				     "The server deletes mail %lu days after a POP3 client "
				     "downloaded it (POP3 EXPIRE %lu)", days), days, days);
	}
	ma_buf_add(&e, "POP3 CAPA: ", 11);
	ma_buf_clean(&e, line, 60);
	if (user)
		ma_buf_printf(&e, "%s", _("\nUSER: the policy can differ per mailbox; after login "
			   "the server shows this mailbox's own."));
	add_graded(l, MA_K_EXPIRE, g, &t, &e, NULL);
}

static void check_drained(const struct ma_audit_result *r, struct ma_findings *l)
{
	const struct ma_folder_result *ir = inbox_of(r);
	const struct ma_folder *in = ir ? &ir->folder : NULL;
	if (!r->imap_ok || !in || in->uidnext < 2)
		return;
	uint64_t used = (uint64_t)in->uidnext - 1;
	if (used <= in->messages)
		return;
	uint64_t left = used - in->messages, held = 0;
	for (size_t i = 0; i < r->nfolders; i++)
		if (&r->folders[i] != ir && !r->folders[i].folder.noselect)
			held += r->folders[i].folder.messages;
	if (left <= held)
		return;
	uint64_t bound = left - held;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, P_("At least %llu message that arrived in INBOX is no "
			     "longer on the server (estimated from UIDs)",
			     "At least %llu messages that arrived in INBOX are no "
			     "longer on the server (estimated from UIDs)", bound), (unsigned long long)bound);
	/* One count to a sentence, so that each gets its own plural form. */
	ma_buf_printf(&e, P_("INBOX has given out %llu UIDs (UIDNEXT %lu, UIDVALIDITY %lu)",
			     "INBOX has given out %llu UIDs (UIDNEXT %lu, UIDVALIDITY %lu)", used),
		      (unsigned long long)used, (unsigned long)in->uidnext, (unsigned long)in->uidvalidity);
	ma_buf_printf(&e, P_(" and holds %lu message", " and holds %lu messages", in->messages),
		      (unsigned long)in->messages);
	ma_buf_printf(&e, P_(": %llu left INBOX.\n", ": %llu left INBOX.\n", left), (unsigned long long)left);
	ma_buf_printf(&e, P_("All other folders hold %llu message together.\n",
			     "All other folders hold %llu messages together.\n", held),
		      (unsigned long long)held);
	ma_buf_printf(&e, _("%llu - %llu = %llu: at least that many must have left the server.\n"),
		      (unsigned long long)left, (unsigned long long)held, (unsigned long long)bound);
	ma_buf_printf(&e, _("UIDs are also used up by messages moved into INBOX and out again, "
			    "and messages deleted on purpose (spam, an emptied Trash) count too, "
			    "so this does not prove that a device deleted them. It is a lower "
			    "bound on mail gone from the server only if the server numbers "
			    "INBOX messages one after another (Dovecot does) and mail was not "
			    "moved back into INBOX; it covers only the time since UIDVALIDITY %lu "
			    "was set."),
		      (unsigned long)in->uidvalidity);
	/* Never less than a warning, however small: a verdict of OK next to a
	 * finding that says mail left the server would contradict itself. */
	add(l, MA_K_DRAINED, &t, &e, NULL);
}

static void check_in_use(const struct ma_audit_result *r, struct ma_findings *l)
{
	if (!r->pop3_in_use)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, "%s", _("Another device was downloading this mailbox over POP3 during "
		   "the audit (the mailbox was locked)"));
	if (r->pop3_err.detail[0]) {
		ma_buf_printf(&e, "%s", _("Server said: "));
		ma_buf_clean(&e, r->pop3_err.detail, 200);
	}
	add(l, MA_K_IN_USE, &t, &e, NULL);
}

/* POP3 left alone on purpose is no failure. A mailbox locked by another
 * session is said by pop3-in-use, once. */
static void check_login_delay(const struct ma_audit_result *r, struct ma_findings *l)
{
	if (!r->pop3_skipped || r->pop3_in_use)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	if (r->pop3_err.status == MA_ERR_IN_USE)
		ma_buf_printf(&t, "%s", _("POP3 was left alone: the server said another session holds "
			      "the mailbox"));
	else
		ma_buf_printf(&t, "%s", _("POP3 was left alone: the server allows a POP3 login only "
			      "every so often (LOGIN-DELAY)"));
	/* Only what happened: a POP3-only audit has no IMAP look to fall back on. */
	if (r->imap_ok)
		ma_buf_printf(&t, "%s", _("; audited over IMAP alone"));
	if (r->pop3_err.detail[0]) {
		ma_buf_printf(&e, "%s", _("Server said: "));
		ma_buf_clean(&e, r->pop3_err.detail, 200);
	}
	add(l, MA_K_LOGIN_DELAY, &t, &e, NULL);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* "1-40, 45, 50-120" from sorted uids, cut after about 300 characters. */
static void put_ranges(struct ma_buf *b, const uint32_t *u, size_t n)
{
	size_t start_len = b->len;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && u[j + 1] <= u[j] + 1)
			j++;
		if (b->len - start_len > 300) {
			ma_buf_printf(b, P_(", ... (%zu more)", ", ... (%zu more)", n - i), n - i);
			return;
		}
		ma_buf_printf(b, "%s%" PRIu32, i ? ", " : "", u[i]);
		if (u[j] != u[i])
			ma_buf_printf(b, "-%" PRIu32, u[j]);
		i = j + 1;
	}
}

/* Sorted uids of a that are not in sorted b. */
static size_t u32_minus(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t *out)
{
	size_t n = 0, j = 0;
	for (size_t i = 0; i < na; i++) {
		while (j < nb && b[j] < a[i])
			j++;
		if (j == nb || b[j] != a[i])
			out[n++] = a[i];
	}
	return n;
}

static void mismatch_uids(const struct ma_audit_result *r, const struct ma_folder *in,
			  struct ma_buf *e)
{
	size_t n = r->pop3.nentries, nother = 0, nseen = 0;
	uint32_t other_validity = 0;
	uint32_t *seen = malloc((n ? n : 1) * sizeof *seen);
	if (!seen) {
		e->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *u = r->pop3.entries[i].uidl;
		uint32_t uid, validity;
		if (!ma_dovecot_uidl_decode(u, strnlen(u, MA_UIDL_MAX + 1), &uid,
					    &validity)) {
			free(seen);
			return;
		}
		if (validity == in->uidvalidity) {
			seen[nseen++] = uid;
		} else {
			nother++;
			other_validity = validity;
		}
	}
	qsort(seen, nseen, sizeof *seen, cmp_u32);
	ma_buf_printf(e, "%s", _("\nPOP3 sees INBOX UIDs "));
	put_ranges(e, seen, nseen);
	ma_buf_printf(e, "%s", _(" (its UIDLs are Dovecot's: UID then UIDVALIDITY in hex)."));
	if (nother)
		ma_buf_printf(e, P_("\n%zu POP3 message carry UIDVALIDITY %lu, not INBOX's "
				    "%lu (an older numbering).",
				    "\n%zu POP3 messages carry UIDVALIDITY %lu, not INBOX's "
				    "%lu (an older numbering).", nother),
			      nother, (unsigned long)other_validity, (unsigned long)in->uidvalidity);
	if (in->nmsgs) {
		uint32_t *imap = malloc(in->nmsgs * sizeof *imap);
		uint32_t *diff = malloc((in->nmsgs > nseen ? in->nmsgs : nseen) * sizeof *diff + 1);
		if (!imap || !diff) {
			e->oom = true;
		} else {
			for (size_t i = 0; i < in->nmsgs; i++)
				imap[i] = in->msgs[i].uid;
			qsort(imap, in->nmsgs, sizeof *imap, cmp_u32);
			size_t nd = u32_minus(imap, in->nmsgs, seen, nseen, diff);
			if (nd) {
				ma_buf_printf(e, "%s", _("\nIn IMAP but not in POP3: UIDs "));
				put_ranges(e, diff, nd);
			}
			nd = u32_minus(seen, nseen, imap, in->nmsgs, diff);
			if (nd) {
				ma_buf_printf(e, "%s", _("\nIn POP3 but not in IMAP: UIDs "));
				put_ranges(e, diff, nd);
			}
		}
		free(imap);
		free(diff);
	} else {
		ma_buf_printf(e, "\nIMAP INBOX: UIDNEXT %" PRIu32 ".", in->uidnext);
	}
	free(seen);
}

static void check_mismatch(const struct ma_audit_result *r, struct ma_findings *l)
{
	const struct ma_folder_result *ir = inbox_of(r);
	const struct ma_folder *in = ir ? &ir->folder : NULL;
	if (!r->pop3_ok || !r->imap_ok || !in || r->pop3.stat_count == in->messages)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, P_("POP3 shows %lu message but the IMAP INBOX holds %lu",
			     "POP3 shows %lu messages but the IMAP INBOX holds %lu", r->pop3.stat_count),
		      (unsigned long)r->pop3.stat_count, (unsigned long)in->messages);
	char psize[32], isize[32];
	ma_fmt_size(r->pop3.stat_size, psize);
	ma_buf_printf(&e, P_("POP3 STAT: %lu message, %s.", "POP3 STAT: %lu messages, %s.",
			     r->pop3.stat_count), (unsigned long)r->pop3.stat_count, psize);
	ma_fmt_size(ir->size, isize);
	ma_buf_printf(&e, P_("\nIMAP INBOX: %lu message, %s.", "\nIMAP INBOX: %lu messages, %s.",
			     in->messages), (unsigned long)in->messages, isize);
	size_t before = e.len;
	/* A probed view (never made where the counts differ, but a recount
	 * may follow) holds only the new UIDLs: no match one by one. */
	if (!r->pop3.probed.valid) {
		if (r->pop3.nentries)
			mismatch_uids(r, in, &e);
		if (e.len == before)
			ma_buf_printf(&e, "%s", _("\nThe POP3 UIDLs are not Dovecot's default, so "
						  "messages cannot be matched one by one; only the "
						  "counts and sizes compare."));
	}
	add(l, MA_K_MISMATCH, &t, &e, NULL);
}

static void check_expunge(const struct ma_audit_result *r, struct ma_findings *l)
{
	uint64_t total = 0;
	size_t nf = 0;
	for (size_t i = 0; i < r->nfolders; i++)
		if (r->folders[i].deleted) {
			total += r->folders[i].deleted;
			nf++;
		}
	if (!total)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, P_("%llu message is marked as deleted", "%llu messages are marked as deleted",
			     total), (unsigned long long)total);
	ma_buf_printf(&t, P_(" in %zu folder and will disappear at the next expunge",
			     " in %zu folders and will disappear at the next expunge", nf), nf);
	bool first = true;
	for (size_t i = 0; i < r->nfolders; i++) {
		const struct ma_folder_result *fr = &r->folders[i];
		if (!fr->deleted)
			continue;
		if (!first)
			ma_buf_add(&e, "\n", 1);
		first = false;
		ma_buf_clean(&e, fr->folder.name ? fr->folder.name : "?", 50);
		ma_buf_printf(&e, P_(": %u of %lu message flagged \\Deleted",
				     ": %u of %lu messages flagged \\Deleted", fr->folder.messages),
			      fr->deleted, (unsigned long)fr->folder.messages);
	}
	add(l, MA_K_EXPUNGE, &t, &e, NULL);
}

/* Folders the server refused to show while the look went on with the
 * others: what is in them was not checked, so the audit cannot say OK. */
static void check_folders_unread(const struct ma_audit_result *r, struct ma_findings *l)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nfolders; i++)
		n += r->folders[i].failed;
	if (!r->imap_ok || !n)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, P_("%zu folder could not be read: ", "%zu folders could not be read: ", n), n);
	size_t shown = 0;
	for (size_t i = 0; i < r->nfolders && shown < 5; i++) {
		if (!r->folders[i].failed)
			continue;
		if (shown++)
			ma_buf_printf(&t, ", ");
		ma_buf_clean(&t, r->folders[i].folder.name ? r->folders[i].folder.name : "?", 50);
	}
	if (n > shown)
		ma_buf_printf(&t, P_(" and %zu more", " and %zu more", n - shown), n - shown);
	if (r->imap_err.status != MA_OK) {
		char msg[700];
		ma_error_format(&r->imap_err, msg, sizeof msg);
		ma_buf_printf(&e, "%s", _("The server's answer: "));
		ma_buf_clean(&e, msg, 300);
		ma_buf_printf(&e, _("\nStatus: %s"), ma_status_name(r->imap_err.status));
	}
	add(l, MA_K_FOLDER_UNREAD, &t, &e, NULL);
}

static bool same_folder(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	return strcmp(a, b) == 0 ||
	       (strcasecmp(a, "INBOX") == 0 && strcasecmp(b, "INBOX") == 0);
}

/* A gone message found again in its own folder was renumbered, not moved:
 * a UIDVALIDITY reset, or the same message stored again. */
static bool renumbered(const struct ma_lost_msg *m)
{
	return m->renumbered || (m->gone_to && same_folder(m->folder, m->gone_to));
}

static void check_uidvalidity(const struct ma_audit_result *r, struct ma_findings *l)
{
	size_t n = r->nuidvalidity_reset;
	if (!n)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	uint64_t kept_all = 0;
	bool every = true;
	for (size_t i = 0; i < n; i++) {
		const char *name = r->uidvalidity_reset[i];
		uint64_t kept = 0, other = 0;
		for (size_t j = 0; j < r->nlost; j++) {
			if (!same_folder(r->lost[j].folder, name))
				continue;
			if (renumbered(&r->lost[j]))
				kept++;
			else
				other++;
		}
		if (i)
			ma_buf_add(&e, "\n", 1);
		ma_buf_clean(&e, name ? name : "?", 60);
		if (kept && !other)
			ma_buf_printf(&e, P_(": all %llu message is still there (renumbered by the server)",
					     ": all %llu messages are still there (renumbered by the server)",
					     kept), (unsigned long long)kept);
		else if (kept)
			ma_buf_printf(&e, P_(": %llu of %llu earlier messages are still there (renumbered "
					     "by the server); the others are listed as moved or lost",
					     ": %llu of %llu earlier messages are still there (renumbered "
					     "by the server); the others are listed as moved or lost",
					     kept + other), (unsigned long long)kept,
				      (unsigned long long)(kept + other));
		every &= kept && !other;
		kept_all += kept;
	}
	ma_buf_printf(&t, P_("The server renumbered %zu folder since the previous audit "
			     "(UIDVALIDITY changed)",
			     "The server renumbered %zu folders since the previous audit "
			     "(UIDVALIDITY changed)", n), n);
	if (every)
		ma_buf_printf(&t, P_("; all %llu message is still there", "; all %llu messages are still there",
				     kept_all), (unsigned long long)kept_all);
	add(l, MA_K_UIDVALIDITY, &t, &e, NULL);
}

static const char *failure_fix(ma_status st)
{
	switch (st) {
	case MA_ERR_LOGIN:
	case MA_ERR_BAD_CREDENTIAL:
		return FIX_LOGIN;
	case MA_ERR_TLS_HANDSHAKE:
	case MA_ERR_CERT_EXPIRED:
	case MA_ERR_CERT_NOT_YET_VALID:
	case MA_ERR_CERT_NAME_MISMATCH:
	case MA_ERR_CERT_UNTRUSTED:
	case MA_ERR_CERT_SELF_SIGNED:
	case MA_ERR_CERT_INVALID:
		return FIX_CERT;
	case MA_ERR_CONNECT_TIMEOUT:
	case MA_ERR_READ_TIMEOUT:
	case MA_ERR_REFUSED:
	case MA_ERR_UNREACHABLE:
	case MA_ERR_NETWORK:
	case MA_ERR_CLOSED:
	case MA_ERR_STARTTLS_MISSING:
	case MA_ERR_PLAINTEXT_REFUSED:
		return FIX_NET;
	case MA_ERR_WRONG_PORT:
		return FIX_PORT;
	case MA_ERR_HOST_UNKNOWN:
	case MA_ERR_DNS:
		return FIX_HOST;
	case MA_ERR_IN_USE:
	case MA_ERR_LOGIN_DELAY:
	case MA_ERR_SERVER_TEMP:
		return FIX_LATER;
	case MA_ERR_DEADLINE:
		return FIX_DEADLINE;
	default:
		return FIX_OTHER;
	}
}

static void check_failed(const struct ma_audit_result *r, struct ma_findings *l, bool imap)
{
	bool tried = imap ? r->imap_tried : r->pop3_tried;
	bool ok = imap ? r->imap_ok : r->pop3_ok;
	const struct ma_error *err = imap ? &r->imap_err : &r->pop3_err;
	const char *proto = imap ? "IMAP" : "POP3";
	if (ok || (!imap && !tried) || (!imap && (r->pop3_in_use || r->pop3_skipped)))
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	const char *fix;
	if (!tried) {
		ma_buf_printf(&t, "%s", _("IMAP was not audited: no IMAP server is configured"));
		fix = FIX_NOT_CONFIGURED;
	} else {
		char msg[700];
		struct ma_error shown = *err;
		if (shown.status == MA_OK)
			shown.status = MA_ERR_PROTOCOL;
		ma_error_format(&shown, msg, sizeof msg);
		ma_buf_printf(&t, _("%s could not be audited: "), proto);
		ma_buf_clean(&t, msg, 300);
		ma_buf_printf(&e, _("Status: %s"), ma_status_name(shown.status));
		fix = failure_fix(shown.status);
	}
	add(l, imap ? MA_K_IMAP_FAILED : MA_K_POP3_FAILED, &t, &e, fix);
}

/* Server names the provider retired (store/rules.h), known by the name
 * alone: flagged whether or not the server answered. */
static void check_hosts(const struct ma_audit_result *r, struct ma_findings *l)
{
	struct ma_rules rules;
	struct ma_error e = { .status = MA_OK };
	if (ma_rules_load(&rules, &e) != MA_OK) {
		if (e.status == MA_ERR_NOMEM)
			l->oom = true;
		else
			ma_findings_rules_note(l, NULL, &e);
		return;
	}
	const char *host[2] = { r->imap_endpoint.host, r->pop3_endpoint.host };
	for (int i = 0; i < 2; i++) {
		if (!host[i][0] || (i == 1 && strcasecmp(host[0], host[1]) == 0))
			continue;
		const struct ma_rule *rule = ma_rules_match(&rules, host[i]);
		if (rule)
			ma_findings_host_obsolete(l, host[i], rule);
	}
	ma_findings_rules_note(l, &rules, NULL);
	ma_rules_free(&rules);
}

/* A history that cannot be read or written must not end in "all clear":
 * the comparison that finds lost mail did not happen. */
static void check_history(const struct ma_audit_result *r, struct ma_findings *l)
{
	if (r->history_err.status == MA_OK)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	char msg[700];
	ma_error_format(&r->history_err, msg, sizeof msg);
	/* The detail names the file first, so a shortened check line keeps it. */
	ma_buf_printf(&t, "%s", _("History not usable, losses not checked: "));
	ma_buf_clean(&t, r->history_err.detail[0] ? r->history_err.detail : msg, 400);
	ma_buf_clean(&e, msg, 400);
	ma_buf_printf(&e, _("\nStatus: %s"), ma_status_name(r->history_err.status));
	add(l, MA_K_HISTORY_FAILED, &t, &e, NULL);
}

static void check_insecure(const struct ma_audit_result *r, struct ma_findings *l)
{
	if (!r->insecure)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, "%s", _("Certificate checks were turned off (--insecure): the servers "
		   "were not proven genuine"));
	add(l, MA_K_INSECURE, &t, &e, NULL);
}

static void check_cert(const struct ma_audit_result *r, struct ma_findings *l)
{
	const struct ma_cert_info *c[2] = { &r->imap_cert, &r->pop3_cert };
	const char *names[2] = { "IMAP", "POP3" };
	bool soon[2];
	for (int i = 0; i < 2; i++)
		soon[i] = c[i]->present && c[i]->not_after_t &&
			  c[i]->not_after_t - r->finished <= MA_CERT_SOON_DAYS * 86400;
	if (!soon[0] && !soon[1])
		return;
	/* One server with one certificate for both protocols is one problem. */
	bool same = soon[0] && soon[1] && strcmp(c[0]->sha256, c[1]->sha256) == 0;
	int first = soon[0] ? 0 : 1;
	if (soon[0] && soon[1] && c[1]->not_after_t < c[0]->not_after_t)
		first = 1;
	struct ma_buf t = { 0 }, e = { 0 };
	long long secs = (long long)(c[first]->not_after_t - r->finished);
	long long days = (secs < 0 ? -secs : secs) / 86400;
	const char *who_t = same ? _("IMAP and POP3") : names[first];
	if (secs < 0)
		ma_buf_printf(&t, P_("The %s server's certificate expired %lld day ago",
				     "The %s server's certificate expired %lld days ago", days), who_t, days);
	else
		ma_buf_printf(&t, P_("The %s server's certificate expires in %lld day",
				     "The %s server's certificate expires in %lld days", days), who_t, days);
	for (int i = 0; i < 2; i++) {
		if (!soon[i] || (same && i == 1))
			continue;
		if (e.len)
			ma_buf_add(&e, "\n", 1);
		ma_buf_printf(&e, "%s: ", same ? who_t : names[i]);
		ma_buf_clean(&e, c[i]->subject, 80);
		ma_buf_printf(&e, "%s", _(", valid until "));
		ma_buf_clean(&e, c[i]->not_after, 31);
	}
	add(l, MA_K_CERT_SOON, &t, &e, NULL);
}

struct move_group {
	const char *from, *to;
	size_t n;
};

static void check_moved(const struct ma_audit_result *r, struct ma_findings *l)
{
	struct move_group *g = NULL;
	size_t ng = 0, total = 0;
	for (size_t i = 0; i < r->nlost; i++) {
		const struct ma_lost_msg *m = &r->lost[i];
		if (!m->gone_to || renumbered(m))
			continue;
		const char *from = m->folder ? m->folder : "?";
		size_t j = 0;
		while (j < ng && !(strcmp(g[j].from, from) == 0 && strcmp(g[j].to, m->gone_to) == 0))
			j++;
		if (j == ng) {
			struct move_group *ng2 = realloc(g, (ng + 1) * sizeof *g);
			if (!ng2) {
				free(g);
				l->oom = true;
				return;
			}
			g = ng2;
			g[ng++] = (struct move_group){ from, m->gone_to, 0 };
		}
		g[j].n++;
		total++;
	}
	if (!total)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	for (size_t j = 0; j < ng && j < MAX_EVIDENCE; j++) {
		if (j)
			ma_buf_add(&e, "\n", 1);
		char from[256], to[256];
		ma_text_clean(from, sizeof from, g[j].from, strlen(g[j].from), 40);
		ma_text_clean(to, sizeof to, g[j].to, strlen(g[j].to), 40);
		ma_buf_printf(&e, P_("%zu message moved from %s to %s", "%zu messages moved from %s to %s",
				     g[j].n), g[j].n, from, to);
	}
	if (ng > MAX_EVIDENCE)
		ma_buf_printf(&e, P_("\n... and %zu more folder pairs", "\n... and %zu more folder pairs",
				     ng - MAX_EVIDENCE), ng - MAX_EVIDENCE);
	if (ng == 1) {
		/* The title says it all. */
		ma_buf_add(&t, e.p ? e.p : "", e.len);
		e.len = 0;
		if (e.p)
			e.p[0] = '\0';
	} else {
		char since[32];
		ma_fmt_time(loss_since(r), since);
		ma_buf_printf(&t, P_("%zu message moved to other folders", "%zu messages moved to other folders",
				     total), total);
		if (loss_since(r))
			ma_buf_printf(&t, _(" since %s"), since);
	}
	free(g);
	add(l, MA_K_MOVED, &t, &e, NULL);
}

static void check_first(const struct ma_audit_result *r, struct ma_findings *l)
{
	if (!r->first_audit)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, "%s", _("First audit of this mailbox: no earlier look to compare with yet"));
	add(l, MA_K_FIRST, &t, &e, NULL);
}

static void check_login(const struct ma_audit_result *r, struct ma_findings *l)
{
	if (!r->login[0] || strchr(r->login, '@'))
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	char login[256];
	ma_text_clean(login, sizeof login, r->login, strlen(r->login), 60);
	ma_buf_printf(&t, _("The login \"%s\" is not a full e-mail address"), login);
	add(l, MA_K_LOGIN, &t, &e, NULL);
}

static void check_all_clear(const struct ma_audit_result *r, struct ma_findings *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].severity > MA_SEV_INFO)
			return;
	struct ma_buf t = { 0 }, e = { 0 };
	uint64_t total = 0;
	size_t nfolders = 0;
	/* A \Noselect parent ("Projects" of "Projects/2026") holds no mail. */
	for (size_t i = 0; i < r->nfolders; i++) {
		total += r->folders[i].folder.messages;
		nfolders += !r->folders[i].folder.noselect;
	}
	ma_buf_printf(&t, P_("No sign of lost mail: %llu message", "No sign of lost mail: %llu messages",
			     total), (unsigned long long)total);
	ma_buf_printf(&t, P_(" in %zu folder", " in %zu folders", nfolders), nfolders);
	if (r->first_audit)
		ma_buf_printf(&t, "%s", _(" (losses show from the next audit on)"));
	add(l, MA_K_ALL_CLEAR, &t, &e, NULL);
}

ma_status ma_analyze(struct ma_audit_result *r, struct ma_error *err)
{
	if (!r)
		return ma_fail(err, MA_ERR_ARGUMENT, "no audit result to analyse");
	for (size_t i = 0; i < r->nfindings; i++)
		ma_finding_clear(&r->findings[i]);
	free(r->findings);
	r->findings = NULL;
	r->nfindings = 0;

	struct ma_findings l = { 0 };
	mark_trash_purges(r);
	check_named(r, &l, P_INBOX);
	check_named(r, &l, P_FOLDER);
	check_named(r, &l, P_GONE);
	check_came_went(r, &l);
	check_unacked(r, &l);
	check_named(r, &l, P_TRASH);
	check_trash_purge(r, &l);
	check_expire(r, &l);
	check_drained(r, &l);
	check_alerts(r, &l);
	check_in_use(r, &l);
	check_mismatch(r, &l);
	check_expunge(r, &l);
	check_folders_unread(r, &l);
	check_uidvalidity(r, &l);
	check_failed(r, &l, true);
	check_failed(r, &l, false);
	check_hosts(r, &l);
	check_history(r, &l);
	check_insecure(r, &l);
	check_cert(r, &l);
	check_login_delay(r, &l);
	check_moved(r, &l);
	check_first(r, &l);
	check_login(r, &l);
	check_all_clear(r, &l);
	if (l.oom) {
		ma_findings_clear(&l);
		r->verdict = MA_SEV_UNKNOWN;
		return ma_fail(err, MA_ERR_NOMEM, "while analysing the audit");
	}

	/* Worst first: the checks ran in table order, which stays the order
	 * within a severity. */
	ma_findings_sort(l.v, l.n);
	r->findings = l.v;
	r->nfindings = l.n;

	/* Without IMAP there is nothing to judge the mail by, unless something
	 * is already known to be critical. A POP3 failure alone still leaves the
	 * folders to judge, so it weighs as a warning. A critical loss on the
	 * ledger holds the verdict until it is acknowledged, whatever else this
	 * audit saw or failed to see. */
	enum ma_severity worst = l.n ? l.v[0].severity : MA_SEV_OK;
	struct ma_loss_counts c;
	ma_loss_counts(r, &c);
	if (worst == MA_SEV_CRITICAL || c.unacknowledged)
		r->verdict = MA_SEV_CRITICAL;
	else if (!r->imap_ok)
		r->verdict = MA_SEV_UNKNOWN;
	else if (worst >= MA_SEV_WARNING)
		r->verdict = MA_SEV_WARNING;
	else
		r->verdict = MA_SEV_OK;
	return MA_OK;
}
