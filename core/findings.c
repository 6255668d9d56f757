/* The analysis: turns what an audit saw into findings a mailbox owner can
 * act on. Every number in a title comes straight from the result, so the
 * report and the TUI can show them without re-deriving anything. */
#include "findings.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit.h"
#include "parse.h"
#include "report.h"
#include "strbuf.h"

/* Client settings named once, because several fixes point at them. */
#define FIX_KEEP_ON_SERVER \
	"Best: use IMAP on every device; IMAP leaves mail on the server.\n" \
	"Otherwise set every POP3 client to leave mail on the server:\n" \
	"- Thunderbird: Account Settings > Server Settings: check \"Leave messages " \
	"on server\" and uncheck \"For at most 14 days\" (its POP3 default deletes " \
	"mail from the server after 14 days).\n" \
	"- Outlook: Account settings > More settings > Advanced: check \"Leave a " \
	"copy of messages on the server\" and untick \"Remove from server after N " \
	"days\".\n" \
	"- Apple Mail: Advanced: \"Remove copy from server after retrieving a " \
	"message: Never\".\n" \
	"- Phone apps: add the account as IMAP; with POP3 set \"delete from " \
	"server: never\".\n" \
	"- fetchmail: add \"keep\" to the poll entry.\n" \
	"- getmail6: \"delete = false\" in [options]."

/* Kind, code, why, fix. The order here is the order of findings of equal
 * severity, so the most useful of them comes first. */
#define MA_FINDING_KINDS(X) \
	X(K_DESTROYED, "mail-destroyed", \
	  "The provider keeps no backup of mail that a mail program deleted from " \
	  "the server, so it cannot restore these messages. The device that " \
	  "downloaded them holds the only copy: if it breaks, is lost or is reset, " \
	  "the mail is gone for good. Your other devices never saw these messages.", \
	  "Find the device that downloads mail over POP3 with \"delete from " \
	  "server\" (it still has these messages) and change it:\n" \
	  FIX_KEEP_ON_SERVER "\n" \
	  "Then put the missing messages back on the server from that device, " \
	  "for example by dragging them into an IMAP folder.") \
	X(K_EXPIRE, "pop3-expire", \
	  "The server announces its POP3 EXPIRE policy (RFC 2449): how long it " \
	  "keeps a message after a POP3 client downloaded it, whatever the client " \
	  "is set to. Mail the server removes this way cannot be restored, and " \
	  "devices that did not download it in time never get it.", \
	  "Use IMAP on every device: the POP3 expiry applies only to mail a POP3 " \
	  "client downloaded. If a device must use POP3, ask the provider whether " \
	  "the policy can be changed for this mailbox.") \
	X(K_DRAINED, "inbox-drained", \
	  "Every message that ever arrived in INBOX got a number (UID). Far fewer " \
	  "messages are on the server than were numbered, even counting every " \
	  "other folder, so mail has been removed from the server. That may have " \
	  "been done on purpose, but it is also exactly what a POP3 client that " \
	  "deletes after downloading does, and the provider keeps no backup.", \
	  "Check every device that reads this mailbox. A POP3 client set to " \
	  "delete from the server is the usual cause:\n" FIX_KEEP_ON_SERVER) \
	X(K_IN_USE, "pop3-in-use", \
	  "POP3 lets one device at a time into the mailbox, and another device " \
	  "held it while mailaudit looked: a device downloads this mailbox over " \
	  "POP3, and POP3 clients often delete what they download.", \
	  "Find the device that uses POP3 (a computer, a phone, a scanner or a " \
	  "forwarding service) and check that it leaves mail on the server:\n" \
	  FIX_KEEP_ON_SERVER) \
	X(K_MISMATCH, "pop3-imap-mismatch", \
	  "POP3 and IMAP should show the same INBOX. When they differ, messages " \
	  "may be hidden from POP3 (already downloaded and marked), marked for " \
	  "deletion, or have arrived or gone between the two looks. A difference " \
	  "that stays across audits means devices see different mail.", \
	  "Run mailaudit again; a difference caused by mail arriving during the " \
	  "audit goes away. If it stays, compare the messages listed here in " \
	  "webmail and check the POP3 devices' settings.") \
	X(K_EXPUNGE, "pending-expunge", \
	  "These messages are marked as deleted (\\Deleted) but still on the " \
	  "server. The next time any device expunges or compacts the folder they " \
	  "are removed for good, and the provider cannot restore them.", \
	  "If you did not mean to delete them, unmark them now (\"Undelete\" in " \
	  "webmail or a client that shows deleted messages). Set IMAP clients to " \
	  "move deleted mail to Trash rather than mark it (Thunderbird: Account " \
	  "Settings > Server Settings > \"When I delete a message: Move it to the " \
	  "Trash folder\").") \
	X(K_UIDVALIDITY, "uidvalidity-reset", \
	  "The server renumbered these folders (their UIDVALIDITY changed): the " \
	  "folder was recreated, restored or migrated. mailaudit cannot match " \
	  "messages by number across such a change, and mail programs download " \
	  "the whole folder again.", \
	  "If nobody recreated or restored these folders, ask the provider what " \
	  "happened. Check that the messages you expect are still there; the next " \
	  "audit compares against the new numbering.") \
	X(K_IMAP_FAILED, "imap-failed", \
	  "Without IMAP mailaudit cannot see the folders, so it cannot tell " \
	  "whether mail is safe.", NULL) \
	X(K_POP3_FAILED, "pop3-failed", \
	  "Without POP3 mailaudit cannot compare what a POP3 device sees with " \
	  "the folders, or read the server's POP3 expiry policy.", NULL) \
	X(K_HISTORY_FAILED, "history-failed", \
	  "Lost mail shows only as a difference from an earlier audit. Without " \
	  "the history mailaudit cannot tell whether mail was deleted since then.", \
	  "If the file is damaged, move it aside (it was left as it is) so that " \
	  "mailaudit starts a new history, or restore it from a backup. Otherwise " \
	  "fix what the message names (permissions, disk space).") \
	X(K_INSECURE, "insecure-connection", \
	  "Certificate checks were turned off (--insecure), so nothing proved " \
	  "that mailaudit talked to the real server. Someone on the network could " \
	  "have read the password and shown false results.", \
	  "Run without --insecure. If the check fails, fix the cause it names " \
	  "(usually the server name: use the provider's server name that the " \
	  "certificate is for) and change the password if the network was not " \
	  "trusted.") \
	X(K_CERT_SOON, "cert-expires-soon", \
	  "When the certificate expires, mail programs refuse to connect or ask " \
	  "the user to accept an unverified certificate.", \
	  "Servers usually renew certificates automatically a few days before " \
	  "they expire; if this stays within a week of expiry, tell the provider.") \
	X(K_MOVED, "mail-moved", \
	  "Moved messages are still on the server, only in another folder. A " \
	  "POP3 device sees INBOX only, so it no longer sees them.", \
	  "Nothing to do if these moves were meant (filters, archiving, " \
	  "deleting to Trash). Emptying Trash deletes mail for good.") \
	X(K_FIRST, "first-audit", \
	  "Lost mail shows as a difference between two audits. This is the first " \
	  "look at this mailbox, so there is nothing to compare with yet.", \
	  "Run mailaudit again tomorrow, or in a few hours once your other " \
	  "devices have synced: a device that deletes mail from the server shows " \
	  "up then.") \
	X(K_LOGIN, "login-not-full-address", \
	  "The provider expects the full e-mail address as the login. Other login " \
	  "forms may stop working without warning.", \
	  "Use the full e-mail address (name@example.com) as the login on every " \
	  "device and in mailaudit.") \
	X(K_ALL_CLEAR, "all-clear", \
	  "The provider keeps no backup of mail a mail program deleted, so the " \
	  "server's copy is the only one shared by all your devices.", \
	  "Keep every device on IMAP (or POP3 with \"Leave messages on server\") " \
	  "and run mailaudit again from time to time.")

#define KIND_ENUM(id, code, why, fix) id,
enum kind { MA_FINDING_KINDS(KIND_ENUM) K_COUNT };
#undef KIND_ENUM

static const struct {
	const char *code, *why, *fix;
} kinds[K_COUNT] = {
#define KIND_ROW(id, c, w, f) [id] = { c, w, f },
	MA_FINDING_KINDS(KIND_ROW)
#undef KIND_ROW
};

static const char FIX_LOGIN[] =
	"Check the login and the password. The login is always the full e-mail "
	"address (name@example.com). After a password change wait at least 15 "
	"minutes before the new one works. If it still fails, set a new "
	"password in the provider's administration and try again 15 minutes "
	"later.";
static const char FIX_CERT[] =
	"Use the server name the provider lists for your hosting (its "
	"certificate is for that name), not your own domain or an old address. "
	"Check this computer's date and time. Only to diagnose, --insecure skips "
	"the check.";
static const char FIX_NET[] =
	"Check the port and security: IMAP 993 SSL/TLS or 143 STARTTLS, POP3 "
	"995 SSL/TLS or 110 STARTTLS. A firewall or antivirus on this computer "
	"or network may block the port: try another network, or turn off the "
	"antivirus's mail scanning for a moment.";
static const char FIX_HOST[] =
	"Check the server name for typos. Old server addresses (of the form "
	"smtp-12345.m67.provider.net) may be shut down without warning: take "
	"the current server names from the service addresses in the provider's "
	"administration.";
static const char FIX_LATER[] =
	"Try again later. If another device is downloading mail over POP3, "
	"mailaudit has to wait until it is done.";
static const char FIX_OTHER[] =
	"Try again. If it keeps failing, run mailaudit with a protocol trace and "
	"send it to the provider's support (the trace never contains the "
	"password).";
static const char FIX_NOT_CONFIGURED[] =
	"Give mailaudit the IMAP server (it is usually the same server as POP3) "
	"so it can look at the folders.";

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

/* ---- text helpers --------------------------------------------------------- */

/* Server-supplied text, cleaned and cut to maxcp code points. */
static void buf_clean(struct ma_buf *b, const char *s, size_t maxcp)
{
	if (!s)
		return;
	size_t size = 4 * maxcp + 4;
	char *tmp = malloc(size);
	if (!tmp) {
		b->oom = true;
		return;
	}
	ma_text_clean(tmp, size, s, strlen(s), maxcp);
	ma_buf_add(b, tmp, strlen(tmp));
	free(tmp);
}

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}


/* ---- the list being built ------------------------------------------------ */

struct list {
	struct ma_finding *v;
	size_t n, cap;
	bool oom;
};

/* Takes the strings of title and ev whatever happens. */
static void add(struct list *l, enum kind k, enum ma_severity sev, struct ma_buf *title,
		struct ma_buf *ev, const char *fix)
{
	if (!ev->p)
		ma_buf_add(ev, "", 0);
	if (title->oom || ev->oom || !title->p || l->oom)
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
		.severity = sev,
		.title = title->p,
		.evidence = ev->p,
		.why = kinds[k].why,
		.fix = fix ? fix : kinds[k].fix,
	};
	return;
fail:
	l->oom = true;
	free(title->p);
	free(ev->p);
}

static const struct ma_folder *inbox_of(const struct ma_audit_result *r)
{
	for (size_t i = 0; i < r->nfolders; i++)
		if (r->folders[i].name && strcasecmp(r->folders[i].name, "INBOX") == 0)
			return &r->folders[i];
	return NULL;
}

/* Start of the window the losses happened in: the previous audit, or failing
 * that the earliest time a lost message was seen. */
static time_t loss_since(const struct ma_audit_result *r)
{
	if (r->prev_audit)
		return r->prev_audit;
	time_t t = 0;
	for (size_t i = 0; i < r->nlost; i++)
		if (r->lost[i].last_seen && (!t || r->lost[i].last_seen < t))
			t = r->lost[i].last_seen;
	return t;
}

/* ---- the checks, in table order ----------------------------------------- */

#define MAX_EVIDENCE 50

static void check_destroyed(const struct ma_audit_result *r, struct list *l)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nlost; i++)
		n += !r->lost[i].gone_to;
	if (!n)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	char since[32];
	ma_fmt_time(loss_since(r), since);
	ma_buf_printf(&t, "%zu message%s %s deleted from the server", n, plural(n),
		   n == 1 ? "was" : "were");
	if (loss_since(r))
		ma_buf_printf(&t, " since %s", since);
	ma_buf_printf(&t, " and %s in no folder", n == 1 ? "is" : "are");

	size_t shown = 0;
	for (size_t i = 0; i < r->nlost && shown < MAX_EVIDENCE; i++) {
		const struct ma_lost_msg *m = &r->lost[i];
		if (m->gone_to)
			continue;
		char when[32], seen[32];
		if (shown++)
			ma_buf_add(&e, "\n", 1);
		ma_buf_add(&e, "- ", 2);
		if (m->internaldate > 0) {
			ma_fmt_time((time_t)m->internaldate, when);
			ma_buf_add(&e, when, strlen(when));
		} else if (m->date) {
			buf_clean(&e, m->date, 31);
		} else {
			ma_buf_add(&e, "date unknown", 12);
		}
		ma_buf_add(&e, " ", 1);
		buf_clean(&e, m->from ? m->from : "(no sender)", 40);
		ma_buf_add(&e, ": ", 2);
		buf_clean(&e, m->subject ? m->subject : "(no subject)", 60);
		ma_buf_add(&e, " (", 2);
		buf_clean(&e, m->folder ? m->folder : "?", 40);
		ma_fmt_time(m->last_seen, seen);
		ma_buf_printf(&e, ", last seen %s)", seen);
	}
	if (n > shown)
		ma_buf_printf(&e, "\n... and %zu more", n - shown);
	add(l, K_DESTROYED, MA_SEV_CRITICAL, &t, &e, NULL);
}

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

static void check_expire(const struct ma_audit_result *r, struct list *l)
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
	enum ma_severity sev;
	if (never) {
		sev = MA_SEV_INFO;
		ma_buf_printf(&t, "The server never deletes mail on its own after a POP3 "
			   "download (POP3 EXPIRE NEVER)");
	} else if (days == 0) {
		sev = MA_SEV_CRITICAL;
		ma_buf_printf(&t, "The server deletes every message as soon as a POP3 client "
			   "has downloaded it (POP3 EXPIRE 0)");
	} else {
		sev = MA_SEV_WARNING;
		ma_buf_printf(&t, "The server deletes mail %lu day%s after a POP3 client "
			   "downloaded it (POP3 EXPIRE %lu)", days, plural(days), days);
	}
	ma_buf_add(&e, "POP3 CAPA: ", 11);
	buf_clean(&e, line, 60);
	if (user)
		ma_buf_printf(&e, "\nUSER: the policy can differ per mailbox; after login "
			   "the server shows this mailbox's own.");
	add(l, K_EXPIRE, sev, &t, &e, NULL);
}

static void check_drained(const struct ma_audit_result *r, struct list *l)
{
	const struct ma_folder *in = inbox_of(r);
	if (!r->imap_ok || !in || in->uidnext < 2)
		return;
	uint64_t used = (uint64_t)in->uidnext - 1;
	if (used <= in->messages)
		return;
	uint64_t left = used - in->messages, held = 0;
	for (size_t i = 0; i < r->nfolders; i++)
		if (&r->folders[i] != in && !r->folders[i].noselect)
			held += r->folders[i].messages;
	if (left <= held)
		return;
	uint64_t bound = left - held;
	bool significant = bound >= 10 || bound * 5 >= used;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, "At least %" PRIu64 " message%s that arrived in INBOX %s no "
		   "longer on the server (estimated from UIDs)", bound, plural(bound),
		   bound == 1 ? "is" : "are");
	ma_buf_printf(&e,
		   "INBOX has given out %" PRIu64 " UIDs (UIDNEXT %" PRIu32 ", UIDVALIDITY %" PRIu32
		   ") and holds %" PRIu32 " message%s: %" PRIu64 " left INBOX.\n"
		   "All other folders hold %" PRIu64 " message%s together.\n"
		   "%" PRIu64 " - %" PRIu64 " = %" PRIu64 ": at least that many must have "
		   "left the server.\n"
		   "UIDs are also used up by messages moved into INBOX and out again, "
		   "and messages deleted on purpose (spam, an emptied Trash) count too, "
		   "so this does not prove that a device deleted them. It is a lower "
		   "bound on mail gone from the server only if the server numbers "
		   "INBOX messages one after another (Dovecot does) and mail was not "
		   "moved back into INBOX; it covers only the time since UIDVALIDITY %" PRIu32
		   " was set.",
		   used, in->uidnext, in->uidvalidity, in->messages, plural(in->messages), left,
		   held, plural(held), left, held, bound, in->uidvalidity);
	add(l, K_DRAINED, significant ? MA_SEV_WARNING : MA_SEV_INFO, &t, &e, NULL);
}

static void check_in_use(const struct ma_audit_result *r, struct list *l)
{
	if (!r->pop3_in_use)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, "Another device was downloading this mailbox over POP3 during "
		   "the audit (the mailbox was locked)");
	if (r->pop3_err.detail[0]) {
		ma_buf_add(&e, "Server said: ", 13);
		buf_clean(&e, r->pop3_err.detail, 200);
	}
	add(l, K_IN_USE, MA_SEV_WARNING, &t, &e, NULL);
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
			ma_buf_printf(b, ", ... (%zu more)", n - i);
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
		if (!ma_dovecot_uidl_decode(u, strnlen(u, sizeof r->pop3.entries[i].uidl), &uid,
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
	ma_buf_printf(e, "\nPOP3 sees INBOX UIDs ");
	put_ranges(e, seen, nseen);
	ma_buf_printf(e, " (its UIDLs are Dovecot's: UID then UIDVALIDITY in hex).");
	if (nother)
		ma_buf_printf(e, "\n%zu POP3 message%s carry UIDVALIDITY %" PRIu32 ", not INBOX's "
			   "%" PRIu32 " (an older numbering).", nother, plural(nother),
			   other_validity, in->uidvalidity);
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
				ma_buf_printf(e, "\nIn IMAP but not in POP3: UIDs ");
				put_ranges(e, diff, nd);
			}
			nd = u32_minus(seen, nseen, imap, in->nmsgs, diff);
			if (nd) {
				ma_buf_printf(e, "\nIn POP3 but not in IMAP: UIDs ");
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

static void check_mismatch(const struct ma_audit_result *r, struct list *l)
{
	const struct ma_folder *in = inbox_of(r);
	if (!r->pop3_ok || !r->imap_ok || !in || r->pop3.stat_count == in->messages)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, "POP3 shows %" PRIu32 " message%s but the IMAP INBOX holds %" PRIu32,
		   r->pop3.stat_count, plural(r->pop3.stat_count), in->messages);
	char psize[32], isize[32];
	ma_fmt_size(r->pop3.stat_size, psize);
	ma_buf_printf(&e, "POP3 STAT: %" PRIu32 " message%s, %s.", r->pop3.stat_count,
		   plural(r->pop3.stat_count), psize);
	if (r->folder_sizes) {
		ma_fmt_size(r->folder_sizes[in - r->folders], isize);
		ma_buf_printf(&e, "\nIMAP INBOX: %" PRIu32 " message%s, %s.", in->messages,
			   plural(in->messages), isize);
	} else {
		ma_buf_printf(&e, "\nIMAP INBOX: %" PRIu32 " message%s.", in->messages,
			   plural(in->messages));
	}
	size_t before = e.len;
	if (r->pop3.nentries)
		mismatch_uids(r, in, &e);
	if (e.len == before)
		ma_buf_printf(&e, "\nThe POP3 UIDLs are not Dovecot's default, so messages "
			   "cannot be matched one by one; only the counts and sizes compare.");
	add(l, K_MISMATCH, MA_SEV_WARNING, &t, &e, NULL);
}

static void check_expunge(const struct ma_audit_result *r, struct list *l)
{
	if (!r->deleted_counts)
		return;
	uint64_t total = 0;
	size_t nf = 0;
	for (size_t i = 0; i < r->nfolders; i++)
		if (r->deleted_counts[i]) {
			total += r->deleted_counts[i];
			nf++;
		}
	if (!total)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, "%" PRIu64 " message%s %s marked as deleted in %zu folder%s and "
		   "will disappear at the next expunge", total, plural(total),
		   total == 1 ? "is" : "are", nf, plural(nf));
	bool first = true;
	for (size_t i = 0; i < r->nfolders; i++) {
		if (!r->deleted_counts[i])
			continue;
		if (!first)
			ma_buf_add(&e, "\n", 1);
		first = false;
		buf_clean(&e, r->folders[i].name ? r->folders[i].name : "?", 50);
		ma_buf_printf(&e, ": %u of %" PRIu32 " message%s flagged \\Deleted",
			   r->deleted_counts[i], r->folders[i].messages,
			   plural(r->folders[i].messages));
	}
	add(l, K_EXPUNGE, MA_SEV_WARNING, &t, &e, NULL);
}

static void check_uidvalidity(const struct ma_audit_result *r, struct list *l)
{
	size_t n = r->nuidvalidity_reset;
	if (!n)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, "The server renumbered %zu folder%s since the previous audit "
		   "(UIDVALIDITY changed)", n, plural(n));
	for (size_t i = 0; i < n; i++) {
		if (i)
			ma_buf_add(&e, "\n", 1);
		buf_clean(&e, r->uidvalidity_reset[i] ? r->uidvalidity_reset[i] : "?", 60);
	}
	add(l, K_UIDVALIDITY, MA_SEV_WARNING, &t, &e, NULL);
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
	case MA_ERR_HOST_UNKNOWN:
	case MA_ERR_DNS:
		return FIX_HOST;
	case MA_ERR_IN_USE:
	case MA_ERR_LOGIN_DELAY:
	case MA_ERR_SERVER_TEMP:
		return FIX_LATER;
	default:
		return FIX_OTHER;
	}
}

static void check_failed(const struct ma_audit_result *r, struct list *l, bool imap)
{
	bool tried = imap ? r->imap_tried : r->pop3_tried;
	bool ok = imap ? r->imap_ok : r->pop3_ok;
	const struct ma_error *err = imap ? &r->imap_err : &r->pop3_err;
	const char *proto = imap ? "IMAP" : "POP3";
	if (ok || (!imap && !tried) || (!imap && r->pop3_in_use))
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	const char *fix;
	if (!tried) {
		ma_buf_printf(&t, "IMAP was not audited: no IMAP server is configured");
		fix = FIX_NOT_CONFIGURED;
	} else {
		char msg[700];
		struct ma_error shown = *err;
		if (shown.status == MA_OK)
			shown.status = MA_ERR_PROTOCOL;
		ma_error_format(&shown, msg, sizeof msg);
		ma_buf_printf(&t, "%s could not be audited: ", proto);
		buf_clean(&t, msg, 300);
		ma_buf_printf(&e, "Status: %s", ma_status_name(shown.status));
		fix = failure_fix(shown.status);
	}
	add(l, imap ? K_IMAP_FAILED : K_POP3_FAILED, MA_SEV_UNKNOWN, &t, &e, fix);
}

/* A history that cannot be read or written must not end in "all clear":
 * the comparison that finds lost mail did not happen. */
static void check_history(const struct ma_audit_result *r, struct list *l)
{
	if (r->history_err.status == MA_OK)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	char msg[700];
	ma_error_format(&r->history_err, msg, sizeof msg);
	/* The detail names the file first, so a shortened check line keeps it. */
	ma_buf_printf(&t, "History not usable, losses not checked: ");
	buf_clean(&t, r->history_err.detail[0] ? r->history_err.detail : msg, 400);
	buf_clean(&e, msg, 400);
	ma_buf_printf(&e, "\nStatus: %s", ma_status_name(r->history_err.status));
	add(l, K_HISTORY_FAILED, MA_SEV_UNKNOWN, &t, &e, NULL);
}

static void check_insecure(const struct ma_audit_result *r, struct list *l)
{
	if (!r->insecure)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, "Certificate checks were turned off (--insecure): the servers "
		   "were not proven genuine");
	add(l, K_INSECURE, MA_SEV_WARNING, &t, &e, NULL);
}

static void check_cert(const struct ma_audit_result *r, struct list *l)
{
	const struct ma_cert_info *c[2] = { &r->imap_cert, &r->pop3_cert };
	const char *names[2] = { "IMAP", "POP3" };
	bool soon[2];
	for (int i = 0; i < 2; i++)
		soon[i] = c[i]->present && c[i]->not_after_t &&
			  c[i]->not_after_t - r->finished <= 21 * 86400;
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
	const char *who = same ? "IMAP and POP3" : names[first];
	if (secs < 0)
		ma_buf_printf(&t, "The %s server's certificate expired %lld day%s ago", who, days,
			   plural((uint64_t)days));
	else
		ma_buf_printf(&t, "The %s server's certificate expires in %lld day%s", who, days,
			   plural((uint64_t)days));
	for (int i = 0; i < 2; i++) {
		if (!soon[i] || (same && i == 1))
			continue;
		if (e.len)
			ma_buf_add(&e, "\n", 1);
		ma_buf_printf(&e, "%s: ", same ? who : names[i]);
		buf_clean(&e, c[i]->subject, 80);
		ma_buf_add(&e, ", valid until ", 14);
		buf_clean(&e, c[i]->not_after, 31);
	}
	add(l, K_CERT_SOON, MA_SEV_WARNING, &t, &e, NULL);
}

struct move_group {
	const char *from, *to;
	size_t n;
};

static void check_moved(const struct ma_audit_result *r, struct list *l)
{
	struct move_group *g = NULL;
	size_t ng = 0, total = 0;
	for (size_t i = 0; i < r->nlost; i++) {
		const struct ma_lost_msg *m = &r->lost[i];
		if (!m->gone_to)
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
		ma_buf_printf(&e, "%zu message%s moved from ", g[j].n, plural(g[j].n));
		buf_clean(&e, g[j].from, 40);
		ma_buf_add(&e, " to ", 4);
		buf_clean(&e, g[j].to, 40);
	}
	if (ng > MAX_EVIDENCE)
		ma_buf_printf(&e, "\n... and %zu more folder pairs", ng - MAX_EVIDENCE);
	if (ng == 1) {
		/* The title says it all. */
		ma_buf_add(&t, e.p ? e.p : "", e.len);
		e.len = 0;
		if (e.p)
			e.p[0] = '\0';
	} else {
		char since[32];
		ma_fmt_time(loss_since(r), since);
		ma_buf_printf(&t, "%zu messages moved to other folders", total);
		if (loss_since(r))
			ma_buf_printf(&t, " since %s", since);
	}
	free(g);
	add(l, K_MOVED, MA_SEV_INFO, &t, &e, NULL);
}

static void check_first(const struct ma_audit_result *r, struct list *l)
{
	if (!r->first_audit)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, "First audit of this mailbox: no earlier look to compare with yet");
	add(l, K_FIRST, MA_SEV_INFO, &t, &e, NULL);
}

static void check_login(const struct ma_audit_result *r, struct list *l)
{
	if (!r->login[0] || strchr(r->login, '@'))
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_add(&t, "The login \"", 11);
	buf_clean(&t, r->login, 60);
	ma_buf_add(&t, "\" is not a full e-mail address", 30);
	add(l, K_LOGIN, MA_SEV_INFO, &t, &e, NULL);
}

static void check_all_clear(const struct ma_audit_result *r, struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].severity > MA_SEV_INFO)
			return;
	struct ma_buf t = { 0 }, e = { 0 };
	uint64_t total = 0;
	for (size_t i = 0; i < r->nfolders; i++)
		total += r->folders[i].messages;
	ma_buf_printf(&t, "No sign of lost mail: %" PRIu64 " message%s in %zu folder%s", total,
		   plural(total), r->nfolders, plural(r->nfolders));
	if (r->first_audit)
		ma_buf_printf(&t, " (losses show from the next audit on)");
	add(l, K_ALL_CLEAR, MA_SEV_OK, &t, &e, NULL);
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

	struct list l = { 0 };
	check_destroyed(r, &l);
	check_expire(r, &l);
	check_drained(r, &l);
	check_in_use(r, &l);
	check_mismatch(r, &l);
	check_expunge(r, &l);
	check_uidvalidity(r, &l);
	check_failed(r, &l, true);
	check_failed(r, &l, false);
	check_history(r, &l);
	check_insecure(r, &l);
	check_cert(r, &l);
	check_moved(r, &l);
	check_first(r, &l);
	check_login(r, &l);
	check_all_clear(r, &l);
	if (l.oom) {
		for (size_t i = 0; i < l.n; i++)
			ma_finding_clear(&l.v[i]);
		free(l.v);
		r->verdict = MA_SEV_UNKNOWN;
		return ma_fail(err, MA_ERR_NOMEM, "while analysing the audit");
	}

	/* Stable insertion sort, worst first: the checks ran in table order,
	 * which stays the order within a severity. */
	for (size_t i = 1; i < l.n; i++) {
		struct ma_finding f = l.v[i];
		size_t j = i;
		for (; j > 0 && l.v[j - 1].severity < f.severity; j--)
			l.v[j] = l.v[j - 1];
		l.v[j] = f;
	}
	r->findings = l.v;
	r->nfindings = l.n;

	/* Without IMAP there is nothing to judge the mail by, unless something
	 * is already known to be critical. A POP3 failure alone still leaves the
	 * folders to judge, so it weighs as a warning. */
	enum ma_severity worst = l.n ? l.v[0].severity : MA_SEV_OK;
	if (worst == MA_SEV_CRITICAL)
		r->verdict = MA_SEV_CRITICAL;
	else if (!r->imap_ok)
		r->verdict = MA_SEV_UNKNOWN;
	else if (worst >= MA_SEV_WARNING)
		r->verdict = MA_SEV_WARNING;
	else
		r->verdict = MA_SEV_OK;
	return MA_OK;
}
