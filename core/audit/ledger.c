#include "audit/ledger.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/history.h"
#include "audit/report.h"
#include "base/i18n.h"
#include "base/text.h"

void ma_ledger_key(const struct ma_account *acct, const char **host, uint32_t *port_key)
{
	/* An account with IMAP is the IMAP server's, whatever else it has: its
	 * history holds the folders. POP3 alone keys on the POP3 server,
	 * kept apart from an IMAP server on the same host and port number. */
	if (acct->has_imap) {
		*host = acct->imap.host;
		*port_key = ma_history_port_key(true, (uint16_t)acct->imap.port);
	} else {
		*host = acct->pop3.host;
		*port_key = ma_history_port_key(false, (uint16_t)acct->pop3.port);
	}
}

/* Whether the history file ma_history_open would open is missing. Opening
 * creates a missing file (and its directories), and listing or
 * acknowledging must not: so look first, with the same rules as
 * history.c's default location. Anything else than a clear "not there"
 * (no home, no permission) says false, and ma_history_open then reports
 * it in its own words. */
static bool history_missing(const char *state_dir)
{
	char *path = NULL;
	int n;
	if (state_dir) {
		if (!state_dir[0])
			return false; /* ma_history_open refuses it by name */
		n = asprintf(&path, "%s/history.db", state_dir);
	} else {
		const char *xdg = getenv("XDG_STATE_HOME");
		const char *home = getenv("HOME");
		if (xdg && xdg[0] == '/') {
			n = asprintf(&path, "%s/mailaudit/history.db", xdg);
		} else {
			if (!home || !home[0]) {
				struct passwd *pw = getpwuid(getuid());
				home = pw ? pw->pw_dir : NULL;
			}
			if (!home || !home[0])
				return false;
			n = asprintf(&path, "%s/.local/state/mailaudit/history.db", home);
		}
	}
	if (n < 0)
		return false;
	struct stat sb;
	bool missing = stat(path, &sb) != 0 && (errno == ENOENT || errno == ENOTDIR);
	free(path);
	return missing;
}

/* Opens the history and finds acct's account in it: *h NULL (and MA_OK)
 * when there is no history file. */
static ma_status open_account(const struct ma_account *acct, const char *state_dir,
			      struct ma_history **h, int64_t *account, struct ma_error *err)
{
	*h = NULL;
	if (history_missing(state_dir))
		return MA_OK;
	const char *host;
	uint32_t port_key;
	ma_ledger_key(acct, &host, &port_key);
	ma_status st = ma_history_open(state_dir, h, err);
	if (st == MA_OK)
		st = ma_history_account(*h, acct->login, host, port_key, account, err);
	if (st != MA_OK) {
		ma_history_close(*h);
		*h = NULL;
	}
	return st;
}

void ma_loss_entries_free(struct ma_loss_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].folder);
		free(v[i].date);
		free(v[i].from);
		free(v[i].subject);
	}
	free(v);
}

static char *dup_or_null(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	*oom |= !d;
	return d;
}

struct collect {
	struct ma_loss_entry *v;
	size_t n, cap;
	int64_t this_audit;       /* 0: none */
	bool oom;
};

static int collect_loss(const struct ma_loss *l, void *ctx)
{
	struct collect *c = ctx;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct ma_loss_entry *v = realloc(c->v, cap * sizeof *v);
		if (!v) {
			c->oom = true;
			return 1;
		}
		c->v = v;
		c->cap = cap;
	}
	struct ma_loss_entry *e = &c->v[c->n++];
	memset(e, 0, sizeof *e);
	e->id = l->id;
	e->kind = l->kind;
	e->found_audit = l->found_audit;
	e->found = l->found;
	e->this_audit = c->this_audit && l->found_audit == c->this_audit;
	e->role = l->role;
	e->count = l->count;
	e->size = l->size;
	e->internaldate = l->internaldate;
	e->last_seen = l->last_seen;
	e->folder_gone = l->folder_gone;
	e->since = l->since;
	e->uidnext_then = l->uidnext_then;
	e->uidnext_now = l->uidnext_now;
	e->acked = l->acked;
	e->folder = dup_or_null(l->folder, &c->oom);
	e->date = dup_or_null(l->date, &c->oom);
	e->from = dup_or_null(l->from, &c->oom);
	e->subject = dup_or_null(l->subject, &c->oom);
	return c->oom;
}

ma_status ma_ledger_collect(struct ma_history *h, int64_t account, int64_t this_audit,
			    int64_t audit_id, bool unacked_only, time_t since,
			    struct ma_loss_entry **out, size_t *n, struct ma_error *err)
{
	struct collect c = { .this_audit = this_audit };
	ma_status st = ma_history_losses(h, account, audit_id, unacked_only, since, collect_loss, &c, err);
	if (st == MA_OK && c.oom)
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
	if (st != MA_OK) {
		ma_loss_entries_free(c.v, c.n);
		*out = NULL;
		*n = 0;
		return st;
	}
	*out = c.v;
	*n = c.n;
	return MA_OK;
}

ma_status ma_ledger_list(const struct ma_account *acct, const char *state_dir,
			 int64_t audit_id, bool unacked_only, time_t since,
			 struct ma_loss_entry **out, size_t *n, struct ma_error *err)
{
	*out = NULL;
	*n = 0;
	struct ma_history *h = NULL;
	int64_t account = 0;
	ma_status st = open_account(acct, state_dir, &h, &account, err);
	if (st == MA_OK && h)
		st = ma_ledger_collect(h, account, 0, audit_id, unacked_only, since, out, n, err);
	ma_history_close(h);
	return st;
}

ma_status ma_ledger_ack(const struct ma_account *acct, const char *state_dir,
			int64_t up_to_audit, time_t now, uint64_t *count, struct ma_error *err)
{
	*count = 0;
	struct ma_history *h = NULL;
	int64_t account = 0;
	ma_status st = open_account(acct, state_dir, &h, &account, err);
	if (st == MA_OK && h)
		st = ma_history_ack(h, account, up_to_audit, now, count, err);
	ma_history_close(h);
	return st;
}

ma_status ma_ledger_text(const struct ma_loss_entry *v, size_t n, char **out,
			 struct ma_error *err)
{
	struct ma_buf b = { 0 };
	*out = NULL;
	ma_buf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		const struct ma_loss_entry *e = &v[i];
		char found[32], when[32];
		ma_fmt_time(e->found, found);
		ma_buf_printf(&b, "%s  ", found);
		ma_buf_clean(&b, e->folder ? e->folder : "?", 60);
		ma_buf_add(&b, "  ", 2);
		if (e->kind == MA_LOSS_UNSEEN) {
			ma_fmt_time(e->since, when);
			ma_buf_printf(&b, P_("%u message arrived after %s, never seen",
					     "%u messages arrived after %s, never seen", e->count),
				      (unsigned)e->count, when);
		} else {
			/* The date as the findings show it: the server's arrival
			 * time, else the Date header as sent. */
			if (e->internaldate > 0) {
				ma_fmt_time((time_t)e->internaldate, when);
				ma_buf_add(&b, when, strlen(when));
			} else if (e->date) {
				ma_buf_clean(&b, e->date, 40);
			} else {
				ma_buf_printf(&b, "%s", _("date unknown"));
			}
			ma_buf_add(&b, "  ", 2);
			ma_buf_clean(&b, e->from ? e->from : _("(no sender)"), 60);
			ma_buf_add(&b, "  ", 2);
			ma_buf_clean(&b, e->subject ? e->subject : _("(no subject)"), MA_SUBJECT_MAX);
		}
		if (e->folder_gone)
			ma_buf_printf(&b, "%s", _("  [folder deleted]"));
		if (e->acked)
			ma_buf_printf(&b, "%s", _("  [acknowledged]"));
		ma_buf_add(&b, "\n", 1);
	}
	if (b.oom) {
		free(b.p);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	*out = b.p;
	return MA_OK;
}
