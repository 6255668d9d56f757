/* One audit of one mailbox (audit.h): this file runs it, in order and on
 * its threads, does the POP3 look, records the audit in the history and
 * builds the result. The IMAP look is look.c, the history writer writer.c;
 * audit.c owns both for the length of ma_audit_run (struct run). */
#include "audit/audit.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/ledger.h"
#include "audit/look.h"
#include "audit/pop3_probe.h"
#include "audit/writer.h"
#include "base/i18n.h"
#include "base/text.h"   /* ma_now_ms */
#include "mail/imap.h"
#include "mail/pop3.h"
#include "store/history.h"

/* ---- The POP3 look ------------------------------------------------------- */

struct pop3_look {
	const struct ma_account *acct;
	const char *password;
	const struct ma_audit_opts *opts;
	int64_t account;          /* the history's id of the account */
	struct ma_pop3 *s;        /* kept open for the recount */
	struct ma_pop3_prev prev; /* the last recorded POP3 view */
	struct inbox_verdict *verdict;
	bool same;                /* STAT only: the UIDLs are prev's */
	struct ma_pop3_view view;
	struct ma_cert_info cert;
	bool tls;
	struct ma_error err;
	bool ok;
	bool in_use;
	/* Left alone so as not to lock the user's own POP3 program out: CAPA
	 * announced LOGIN-DELAY, or the login was answered [LOGIN-DELAY] or
	 * [IN-USE]. No view: nothing is recorded for POP3. */
	bool skipped;
	bool login_delay;         /* CAPA announced one (even if overridden) */
	struct writer *w;         /* takes the view when it is complete; NULL: none */
};

/* IMAP's word on INBOX (struct inbox_verdict, without its lock). */
struct inbox_word {
	bool unchanged, counted;
	int64_t audit;
	uint32_t messages, prev_messages, fresh;
};

/* Once IMAP has decided (it always does: look.h). */
static struct inbox_word wait_verdict(struct inbox_verdict *v)
{
	pthread_mutex_lock(&v->lock);
	while (!v->decided)
		pthread_cond_wait(&v->cond, &v->lock);
	struct inbox_word w = { v->unchanged, v->counted, v->audit, v->messages, v->prev_messages,
				v->fresh };
	pthread_mutex_unlock(&v->lock);
	return w;
}

/* The POP3 look's own handle on the history (the audit's is the
 * writer's); NULL: none. */
static struct ma_history *history_for_pop3(const struct pop3_look *l, ma_status *st)
{
	struct ma_history *h = NULL;
	*st = ma_history_open_until(l->opts->state_dir, l->opts->net.run_deadline_ms, &h, NULL);
	return *st == MA_OK ? h : NULL;
}

/* A POP3 STAT equal to the last recorded one proves little by itself (one
 * message out, another of the same size in); with IMAP's proof that INBOX
 * holds the very UIDs that audit saw, the UIDL list is that audit's too,
 * as long as the server still names its messages as it did: a changed
 * UIDL format (Dovecot's pop3_uidl_format) would change every UIDL, so
 * the first and last are asked where that is cheap. *st: a failure of
 * the session or out of memory. */
static bool same_as_prev(struct pop3_look *l, ma_status *st)
{
	*st = MA_OK;
	if (!l->verdict || !l->prev.known || !l->prev.uidl_complete ||
	    l->view.stat_count != l->prev.stat_count || l->view.stat_size != l->prev.stat_size)
		return false;
	struct inbox_word v = wait_verdict(l->verdict);
	if (!(v.unchanged && v.audit == l->prev.audit_id && v.messages == l->view.stat_count))
		return false;
	if (!pop3_probe_possible(l->s))
		return true;
	ma_status hs;
	struct ma_history *h = history_for_pop3(l, &hs);
	bool same = false;
	if (h)
		*st = pop3_probe_ends(l->s, h, l->account, l->view.stat_count, &same, &l->err);
	else if (hs == MA_ERR_NOMEM)
		*st = ma_fail(&l->err, hs, NULL);
	ma_history_close(h);
	return *st == MA_OK && same;
}

/* Do no harm: a POP3 server with LOGIN-DELAY n (RFC 2449) refuses any login
 * within n seconds of the last one, so after a login by mailaudit the
 * user's own POP3 program would be turned away for that long. Unless the
 * user asked for it, mailaudit does not log in: it says why, and the audit
 * goes on over IMAP alone. The session ends with QUIT at once. */
static bool leave_pop3_alone(struct pop3_look *l)
{
	uint32_t delay = 0;
	l->login_delay = ma_pop3_login_delay(l->s, &delay) && delay > 0;
	if (!l->login_delay || l->opts->pop3_despite_login_delay)
		return false;
	if (delay == UINT32_MAX)
		ma_fail(&l->err, MA_ERR_LOGIN_DELAY,
			_("POP3 server %s:%u announces LOGIN-DELAY (of a length it does not state "
			  "clearly): a login by mailaudit would keep the user's own POP3 program out "
			  "for a while, so POP3 was not audited (--pop3-despite-login-delay logs in "
			  "anyway)"),
			l->acct->pop3.host, l->acct->pop3.port);
	else
		ma_fail(&l->err, MA_ERR_LOGIN_DELAY,
			_("POP3 server %s:%u announces LOGIN-DELAY %lu: a login by mailaudit would keep "
			  "the user's own POP3 program out for %lu s, so POP3 was not audited "
			  "(--pop3-despite-login-delay logs in anyway)"),
			l->acct->pop3.host, l->acct->pop3.port, (unsigned long)delay,
			(unsigned long)delay);
	l->skipped = true;
	return true;
}

/* The audit whose complete POP3 view this one is written against as a
 * delta (only new UIDLs written, missing ones marked gone), 0: written in
 * full. The listing itself is complete either way: the findings read it,
 * and POP3 has no "what changed since". MA_FORCE_FULL_LOOK=1 (tests) writes
 * every view in full, to compare both. */
static int64_t delta_base(const struct pop3_look *l)
{
	if (!l->prev.known || !l->prev.uidl_complete || look_force_full())
		return 0;
	return l->prev.audit_id;
}

/* Past this many UIDLs not on record, one LIST of every message costs less
 * than a `LIST n` for each: 64 to a round trip where the server pipelines,
 * else one (over a real network each round trip is tens of ms). */
#define LIST_EACH_MAX 1000
#define LIST_EACH_MAX_UNPIPELINED 8

static int cmp_uidl(const void *a, const void *b)
{
	const struct ma_pop3_entry *const *x = a, *const *y = b;
	return strcmp((*x)->uidl, (*y)->uidl);
}

static int cmp_number(const void *a, const void *b)
{
	const struct ma_pop3_entry *const *x = a, *const *y = b;
	return (*x)->number < (*y)->number ? -1 : (*x)->number > (*y)->number;
}

struct known_sizes {
	struct ma_pop3_entry **by_uidl;
	bool *known;
	size_t n;
};

static int take_size(const char *uidl, uint32_t size, void *ctx)
{
	struct known_sizes *z = ctx;
	struct ma_pop3_entry key = { .uidl = uidl };
	const struct ma_pop3_entry *kp = &key;
	struct ma_pop3_entry **hit = bsearch(&kp, z->by_uidl, z->n, sizeof *z->by_uidl, cmp_uidl);
	if (hit) {
		(*hit)->size = size;
		z->known[hit - z->by_uidl] = true;
	}
	return 0;
}

/* The listing for a view written as a delta: UIDL in full (what proves a
 * POP3 deletion), and the sizes of the UIDLs on record from the history
 * instead of LIST: a UIDL's size never changes, the history keeps the
 * first one it recorded, and only a new UIDL's size is written. So only
 * the new ones are asked, with `LIST n`; many new ones (or a listing that
 * does not match STAT, or no history to read) take one LIST as before. */
static ma_status scan_delta(struct pop3_look *l)
{
	struct ma_pop3_view *v = &l->view;
	bool have_uidl;
	ma_status st = ma_pop3_scan_uidls(l->s, v, &have_uidl, &l->err);
	if (st != MA_OK)
		return st;
	if (!have_uidl)
		return ma_pop3_scan_lists(l->s, v, &l->err);
	size_t n = v->nentries;
	struct ma_history *h = NULL;
	struct known_sizes z = { NULL, NULL, n };
	bool each = false;
	if (n > 0 && n == v->stat_count &&
	    ma_history_open_until(l->opts->state_dir, l->opts->net.run_deadline_ms, &h, NULL) == MA_OK &&
	    (z.by_uidl = malloc(n * sizeof *z.by_uidl)) && (z.known = calloc(n, sizeof *z.known))) {
		for (size_t i = 0; i < n; i++)
			z.by_uidl[i] = &v->entries[i];
		qsort(z.by_uidl, n, sizeof *z.by_uidl, cmp_uidl);
		if (ma_history_pop3_sizes(h, l->account, take_size, &z, NULL) == MA_OK) {
			size_t nnew = 0;
			for (size_t i = 0; i < n; i++)
				nnew += !z.known[i];
			each = nnew <= (ma_pop3_has_capa(l->s, "PIPELINING") ? LIST_EACH_MAX
									  : LIST_EACH_MAX_UNPIPELINED);
		}
	}
	ma_history_close(h);
	if (each) {
		/* The new ones to the front, in message number order. */
		size_t nnew = 0;
		for (size_t i = 0; i < n; i++)
			if (!z.known[i])
				z.by_uidl[nnew++] = z.by_uidl[i];
		qsort(z.by_uidl, nnew, sizeof *z.by_uidl, cmp_number);
		st = ma_pop3_list_each(l->s, z.by_uidl, nnew, &l->err);
		if (st != MA_OK)
			ma_pop3_view_clear(v);
	} else {
		st = ma_pop3_scan_sizes(l->s, v, &l->err);
	}
	free(z.by_uidl);
	free(z.known);
	return st;
}

/* What IMAP counted in INBOX against the audit of the last POP3 view:
 * *fresh new messages, *vanished gone. false: it did not count against
 * that audit, or its counts do not fit POP3's (STAT now, the view then). */
static bool inbox_counts(void *ctx, uint32_t *fresh, uint32_t *vanished)
{
	struct pop3_look *l = ctx;
	if (!l->verdict)
		return false;
	struct inbox_word v = wait_verdict(l->verdict);
	if (!v.counted || v.audit != l->prev.audit_id || v.messages != l->view.stat_count ||
	    v.prev_messages != l->prev.stat_count || v.fresh > v.messages ||
	    v.messages - v.fresh > v.prev_messages)
		return false;
	*fresh = v.fresh;
	*vanished = v.prev_messages - (v.messages - v.fresh);
	return true;
}

/* The UIDLs on record, for the probe, read by a thread of their own while
 * the server answers the POP3 login and STAT: Dovecot reads every
 * message's size then (0.1-0.25 s at 100,000 messages), and the read
 * (about 0.03 s) no longer comes after STAT. It waits for IMAP's word on
 * INBOX first: where INBOX is unchanged since that view, or was not
 * counted against it, no probe follows, and at a million messages the
 * read would be 25 MB and 0.2 s of CPU for nothing. */
struct read_ahead {
	pthread_t tid;
	bool started;
	const struct pop3_look *l;
	struct pop3_probe_old *old; /* NULL: none that serves */
	bool oom;
};

static void *read_old(void *arg)
{
	struct read_ahead *ra = arg;
	const struct pop3_look *l = ra->l;
	struct inbox_word v = wait_verdict(l->verdict);
	if (!v.counted || v.audit != l->prev.audit_id ||
	    (v.unchanged && v.messages == l->prev.stat_count))
		return NULL;
	ma_status hs;
	struct ma_history *h = history_for_pop3(l, &hs);
	ra->oom = hs == MA_ERR_NOMEM;
	if (h) /* the result keeps h */
		ra->old = pop3_probe_load(h, l->account, l->prev.stat_count, &ra->oom);
	return NULL;
}

/* Only where a probe may follow: a delta, a server that pipelines UIDL,
 * and IMAP to count INBOX. Not started (no thread to spare): read when
 * needed. */
static void read_ahead_start(struct read_ahead *ra, const struct pop3_look *l)
{
	memset(ra, 0, sizeof *ra);
	ra->l = l;
	if (delta_base(l) && l->verdict && pop3_probe_possible(l->s))
		ra->started = pthread_create(&ra->tid, NULL, read_old, ra) == 0;
}

/* The reader's result (the caller's to free); NULL where none serves. */
static struct pop3_probe_old *read_ahead_take(struct read_ahead *ra, bool *oom)
{
	if (ra->started)
		pthread_join(ra->tid, NULL);
	else if (ra->l->verdict && !ra->old && !ra->oom)
		read_old(ra);
	ra->started = false;
	struct pop3_probe_old *old = ra->old;
	*oom = ra->oom;
	ra->old = NULL;
	ra->oom = false;
	return old;
}

/* The listing of a view written as a delta: probed where IMAP counted
 * INBOX against the same audit (pop3_probe.h), else listed (scan_delta). */
static ma_status list_delta(struct pop3_look *l, struct read_ahead *ra)
{
	if (!pop3_probe_possible(l->s) || !l->verdict)
		return scan_delta(l);
	bool oom;
	struct pop3_probe_old *old = read_ahead_take(ra, &oom);
	if (!old)
		return oom ? ma_fail(&l->err, MA_ERR_NOMEM, NULL) : scan_delta(l);
	bool done = false;
	ma_status st = pop3_probe_view(l->s, old, inbox_counts, l, &l->view, &done, &l->err);
	pop3_probe_old_free(old);
	if (st != MA_OK || done)
		return st;
	return scan_delta(l);
}

/* The POP3 look from the login on (pop3_thread). */
static void look_pop3(struct pop3_look *l, struct read_ahead *ra)
{
	ma_status st = ma_pop3_login(l->s, l->acct->login, l->password, &l->err);
	if (st == MA_ERR_IN_USE)
		l->in_use = true;
	if (st == MA_ERR_IN_USE || st == MA_ERR_LOGIN_DELAY) {
		/* The server itself says a login now is in the way of another
		 * POP3 session: leave at once (QUIT) rather than at the end of
		 * the audit. Nothing waits on this thread but the join. */
		l->skipped = true;
		ma_pop3_close(l->s);
		l->s = NULL;
		return;
	}
	if (st != MA_OK)
		return;
	st = ma_pop3_scan_stat(l->s, &l->view, &l->err);
	if (st != MA_OK)
		return;
	if (same_as_prev(l, &st)) {
		l->same = true;
		l->ok = true;
		return;
	}
	if (st != MA_OK)
		return;
	st = delta_base(l) ? list_delta(l, ra) : ma_pop3_scan_lists(l->s, &l->view, &l->err);
	l->ok = st == MA_OK;
	/* Written now, while IMAP is still fetching, instead of after it. */
	if (l->ok && l->w)
		writer_pop3(l->w, &l->view, delta_base(l));
}

static void *pop3_thread(void *arg)
{
	struct pop3_look *l = arg;
	ma_status st = ma_pop3_open(&l->acct->pop3, &l->opts->net, l->opts->trace, &l->s, &l->err);
	if (st != MA_OK)
		return NULL;
	if (ma_pop3_cert(l->s)) {
		l->cert = *ma_pop3_cert(l->s);
		l->tls = l->cert.present;
	}
	if (leave_pop3_alone(l)) {
		ma_pop3_close(l->s);
		l->s = NULL;
		return NULL;
	}
	struct read_ahead ra;
	read_ahead_start(&ra, l);
	look_pop3(l, &ra);
	if (ra.started) {
		bool oom;
		pop3_probe_old_free(read_ahead_take(&ra, &oom));
	}
	return NULL;
}

/* STAT over a new POP3 login: a POP3 session's view of the mailbox is
 * fixed when it logs in (RFC 1939), so only a new session sees mail that
 * arrived since. The old session is closed first: a server that locks the
 * maildrop per session would refuse the second. */
static ma_status fresh_stat(struct pop3_look *pl, uint32_t *count, uint64_t *size, struct ma_error *e)
{
	ma_pop3_close(pl->s);
	pl->s = NULL;
	struct ma_pop3 *s = NULL;
	ma_status st = ma_pop3_open(&pl->acct->pop3, &pl->opts->net, pl->opts->trace, &s, e);
	if (st == MA_OK)
		st = ma_pop3_login(s, pl->acct->login, pl->password, e);
	if (st == MA_OK)
		st = ma_pop3_stat(s, count, size, e);
	ma_pop3_close(s);
	return st;
}

/* POP3 and IMAP looked at INBOX at slightly different moments; a message
 * arriving in between is not a mismatch. Count both once more, POP3 over a
 * new login, and take the new counts if they now agree. false: out of
 * memory. */
static bool recount(struct imap_look *il, struct pop3_look *pl)
{
	struct look_folder *inbox = il->n && strcmp(il->folders[0].f.name, "INBOX") == 0 ? &il->folders[0] : NULL;
	if (!inbox || !il->s || !pl->s || pl->view.stat_count == inbox->f.messages)
		return true;
	/* Logged in despite LOGIN-DELAY (the user's choice, once): a second
	 * login would only be refused, or lock the user's program out anew. */
	if (pl->login_delay)
		return true;
	struct ma_error e;
	uint32_t count;
	uint64_t size;
	struct ma_folder probe = { 0 };
	probe.raw_name = inbox->f.raw_name;
	probe.name = inbox->f.name;
	ma_status st = fresh_stat(pl, &count, &size, &e);
	if (st == MA_OK)
		st = ma_imap_status(il->s, &probe, &e);
	if (st == MA_OK && count == probe.messages) {
		pl->view.stat_count = count;
		pl->view.stat_size = size;
		inbox->f.messages = probe.messages;
	}
	return st != MA_ERR_NOMEM;
}

/* ---- Closing ------------------------------------------------------------------
 *
 * LOGOUT and QUIT each wait for the server's answer: a round trip each, one
 * after the other, and then the recording began (at 20 ms a round trip,
 * 0.05 s of a 0.4 s repeat). Each session is closed on a thread of its own
 * while the audit is recorded; both are joined before the audit returns. */
struct closer {
	pthread_t tid;
	bool started;
	struct ma_imap *imap;
	struct ma_pop3 *pop3;
};

static void *close_sessions(void *arg)
{
	struct closer *c = arg;
	ma_imap_close(c->imap);
	ma_pop3_close(c->pop3);
	return NULL;
}

/* Takes the sessions over: closed on a thread, or here if none starts. */
static void close_begin(struct closer *c, struct ma_imap *imap, struct ma_pop3 *pop3)
{
	*c = (struct closer){ .imap = imap, .pop3 = pop3 };
	c->started = (imap || pop3) && pthread_create(&c->tid, NULL, close_sessions, c) == 0;
	if (!c->started)
		close_sessions(c);
}

static void close_end(struct closer *c)
{
	if (c->started)
		pthread_join(c->tid, NULL);
	c->started = false;
}

/* One audit while it runs: what the steps of ma_audit_run share. */
struct run {
	const struct ma_account *acct;
	const char *password;     /* borrowed */
	const struct ma_audit_opts *opts;
	struct ma_audit_result *r;
	struct ma_history *h;     /* NULL: no history; the writer's while it runs */
	int64_t account;          /* the history's id of the account */
	struct imap_look il;
	struct inbox_verdict verdict;
	struct pop3_look pl;
	struct writer w;          /* started (writing) with history and IMAP */
	bool writing;
	struct closer closing[2]; /* IMAP's and POP3's, begun by end_looks */
	/* Out of memory on the audit's own thread (audit.h's policy; the
	 * look, the POP3 look and the history say so themselves). */
	bool oom;
};

/* ---- What the history says, for the result ---------------------------------- */

/* A copy of s, NULL for NULL; *oom once a copy could not be made. */
static char *dup_or_null(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	*oom |= !d;
	return d;
}

/* ctx: the run, whose oom stops the listing (which then ends as if
 * complete: record() checks oom). */
static int collect_gone(const struct ma_gone_msg *g, void *ctx)
{
	struct run *x = ctx;
	struct ma_audit_result *r = x->r;
	struct ma_lost_msg *n = realloc(r->lost, (r->nlost + 1) * sizeof *n);
	if (!n) {
		x->oom = true;
		return 1;
	}
	r->lost = n;
	struct ma_lost_msg *m = &r->lost[r->nlost++];
	memset(m, 0, sizeof *m);
	m->folder = dup_or_null(g->folder, &x->oom);
	m->uid = g->uid;
	m->size = g->size;
	m->internaldate = g->internaldate;
	m->date = dup_or_null(g->date, &x->oom);
	m->from = dup_or_null(g->from, &x->oom);
	m->subject = dup_or_null(g->subject, &x->oom);
	m->last_seen = g->last_seen;
	m->gone_to = dup_or_null(g->gone_to, &x->oom);
	m->renumbered = g->renumbered;
	m->folder_gone = g->folder_gone;
	m->role = g->role;
	return x->oom;
}

/* ctx: the run, as for collect_gone. */
static int collect_audit(const struct ma_audit_row *a, void *ctx)
{
	struct run *x = ctx;
	struct ma_audit_result *r = x->r;
	struct ma_audit_summary *n = realloc(r->history, (r->nhistory + 1) * sizeof *n);
	if (!n) {
		x->oom = true;
		return 1;
	}
	r->history = n;
	struct ma_audit_summary *s = &r->history[r->nhistory++];
	memset(s, 0, sizeof *s);
	s->id = a->id;
	s->started = a->started;
	snprintf(s->outcome, sizeof s->outcome, "%s", a->outcome ? a->outcome : "");
	s->inbox_messages = a->inbox_messages > 0 ? (uint32_t)a->inbox_messages : 0;
	s->total_messages = a->total_messages > 0 ? (uint64_t)a->total_messages : 0;
	s->pop3_count = a->pop3_count;
	return 0;
}

/* ---- Recording -------------------------------------------------------------- */

/* The folders the IMAP look found unchanged, each recorded as the same as
 * the audit whose rows hold its messages: nothing of its rows is
 * rewritten. After the IMAP look, like the rest of record, so that a look
 * that fails records none of it. Also takes the writer's list of folders
 * renumbered. */
static ma_status record_unchanged(struct run *x, int64_t audit, struct ma_error *err)
{
	struct ma_audit_result *r = x->r;
	r->uidvalidity_reset = x->w.resets;
	r->nuidvalidity_reset = x->w.nresets;
	x->w.resets = NULL;
	x->w.nresets = 0;
	ma_status st = MA_OK;
	for (size_t i = 0; i < x->il.n && st == MA_OK; i++) {
		const struct look_folder *lf = &x->il.folders[i];
		if (lf->examined && lf->unchanged)
			st = ma_history_put_folder_same(x->h, audit, &lf->f, lf->deleted, lf->size,
							lf->same_as, err);
	}
	return st;
}

/* Whether this audit found messages deleted from the folder as a Trash
 * (the role on the ledger is the one the folder had when last recorded). */
static bool trash_lost_here(const struct ma_audit_result *r, const char *folder)
{
	for (size_t i = 0; i < r->nledger; i++) {
		const struct ma_loss_entry *e = &r->ledger[i];
		if (e->this_audit && e->kind == MA_LOSS_MESSAGE && e->role == MA_ROLE_TRASH &&
		    !e->folder_gone && e->folder && strcmp(e->folder, folder) == 0)
			return true;
	}
	return false;
}

/* For each Trash this audit found messages deleted from: what stayed in it
 * (ma_folder_result.kept), so that the analysis can tell a server that
 * purges old mail from Trash (Courier's IMAP_EMPTYTRASH) from a device
 * that empties it. One query per such folder, none on most audits. */
static ma_status record_kept(struct run *x, int64_t audit, struct ma_error *err)
{
	struct ma_audit_result *r = x->r;
	ma_status st = MA_OK;
	for (size_t i = 0; i < r->nfolders && st == MA_OK; i++) {
		struct ma_folder_result *f = &r->folders[i];
		if (!f->folder.name || f->failed || !trash_lost_here(r, f->folder.name))
			continue;
		st = ma_history_folder_kept(x->h, x->account, f->folder.name, f->folder.uidvalidity,
					    audit, &f->kept, &f->kept_oldest, err);
	}
	return st;
}

/* The POP3 view, unless the writer wrote it already. fill_result has
 * already moved it into r: pl->view is empty here, and recording it would
 * say POP3 saw nothing. */
static ma_status record_pop3(struct run *x, int64_t audit, struct ma_error *err)
{
	const struct ma_audit_result *r = x->r;
	const struct pop3_look *pl = &x->pl;
	if (r->pop3_ok && pl->same) {
		/* Another mailaudit may have recorded an audit since we read
		 * the last POP3 view: then the UIDLs we did not read are not
		 * known, and this audit records no POP3 view (nothing is marked
		 * gone for it either). */
		struct ma_pop3_prev now;
		ma_status st = ma_history_pop3_prev(x->h, x->account, &now, err);
		if (st == MA_OK && now.known && now.audit_id == pl->prev.audit_id)
			st = ma_history_put_pop3_same(x->h, audit, &r->pop3, pl->prev.audit_id, err);
		return st;
	}
	if (r->pop3_ok) {
		/* The writer wrote the view already, unless the IMAP rollback
		 * took it back (it was inside that savepoint) or the recount
		 * changed STAT since; writing it again is harmless. */
		bool written = x->w.pop3_written && x->il.ok && x->w.pop3_count == r->pop3.stat_count &&
			       x->w.pop3_size == r->pop3.stat_size;
		if (!written)
			return ma_history_put_pop3_delta(x->h, audit, &r->pop3, delta_base(pl), err);
	}
	return MA_OK;
}

/* Ends what the writer began and writes the rest: the POP3 view, what
 * vanished, the analysis. All in one transaction: a cut-off audit leaves no
 * trace. */
static ma_status record(struct run *x, struct ma_error *err)
{
	struct ma_history *h = x->h;
	struct ma_audit_result *r = x->r;
	int64_t audit = x->w.audit;
	ma_status st;
	if (audit) {
		/* The folders stay only if the whole IMAP look succeeded: a half
		 * look would make the next comparison see phantom changes. */
		st = ma_history_release(h, "imap", x->il.ok, err);
		if (st != MA_OK)
			goto fail;
	} else {
		st = ma_history_begin(h, x->account, r->started, &audit, err);
		if (st != MA_OK)
			return st;
	}
	if (x->il.ok && (st = record_unchanged(x, audit, err)) != MA_OK)
		goto fail;
	int64_t prev_id;
	time_t prev_time;
	bool found;
	st = ma_history_prev_audit(h, x->account, audit, &prev_id, &prev_time, &found, err);
	if (st != MA_OK)
		goto fail;
	r->first_audit = !found;
	r->prev_audit = found ? prev_time : 0;
	if ((st = record_pop3(x, audit, err)) != MA_OK)
		goto fail;
	st = ma_history_detect_gone(h, audit, x->il.ok && x->il.list_ok && x->il.all_examined, err);
	if (st == MA_OK)
		st = ma_history_gone(h, audit, collect_gone, x, err);
	if (st == MA_OK && x->oom)
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
	/* What stays on record until acknowledged: this audit's losses, just
	 * written by detect_gone, and every earlier one still unacknowledged,
	 * so the analysis keeps the verdict where it belongs. */
	if (st == MA_OK)
		st = ma_ledger_collect(h, x->account, audit, 0, true, 0, &r->ledger, &r->nledger, err);
	if (st == MA_OK)
		st = record_kept(x, audit, err);
	if (st != MA_OK)
		goto fail;
	/* The verdict is part of the audit row, so analyze before commit. */
	st = ma_analyze(r, err);
	if (st != MA_OK)
		goto fail;
	st = ma_history_commit(h, audit, r->finished, ma_severity_name(r->verdict), err);
	if (st != MA_OK)
		return st;
	st = ma_history_audits(h, x->account, 10, collect_audit, x, err);
	if (st == MA_OK && x->oom)
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
	return st;
fail:
	ma_history_rollback(h);
	return st;
}

static bool deadline_passed(const struct ma_audit_opts *o)
{
	return o->net.run_deadline_ms && ma_now_ms() >= o->net.run_deadline_ms;
}

/* Records the audit, if there is anything to record: true when it was
 * recorded (and so analyzed). A failure leaves the result without what
 * only the history could say; history_err says why. */
static bool record_audit(struct run *x)
{
	struct ma_audit_result *r = x->r;
	if (!x->h)
		return false;
	if (x->w.failed) {
		r->history_err = x->w.err;
		ma_history_rollback(x->h);
		return false;
	}
	/* An audit that saw nothing records nothing: it would only make the
	 * next comparison look at an empty mailbox. A cancelled audit records
	 * nothing either: the user stopped it, and half a look would make the
	 * next comparison see phantom losses. */
	bool cancelled = x->il.err.status == MA_ERR_CANCELLED || x->pl.err.status == MA_ERR_CANCELLED;
	if (!(x->il.ok || x->pl.ok) || cancelled)
		return false;
	/* Past the deadline nothing more is begun: the audit must end now. */
	if (deadline_passed(x->opts)) {
		ma_fail(&r->history_err, MA_ERR_DEADLINE, _("%s: nothing of this audit was recorded"),
			ma_history_path(x->h));
		ma_history_rollback(x->h);
		return false;
	}
	if (record(x, &r->history_err) == MA_OK)
		return true;
	/* Go on without history: the look itself is still worth reporting. */
	for (size_t i = 0; i < r->nfindings; i++)
		ma_finding_clear(&r->findings[i]);
	free(r->findings);
	r->findings = NULL;
	r->nfindings = 0;
	r->first_audit = false;
	/* Rolled back: none of it is on record. */
	ma_loss_entries_free(r->ledger, r->nledger);
	r->ledger = NULL;
	r->nledger = 0;
	return false;
}

/* ---- The result ------------------------------------------------------------- */

/* Change of each folder's message count since the audit before, for the
 * Folders tables; not known (no column) when no folder was seen before. */
static void fill_deltas(struct ma_audit_result *r, const struct imap_look *il)
{
	bool any = false;
	for (size_t i = 0; i < il->n; i++)
		any |= il->folders[i].had_prev;
	if (!any)
		return;
	r->delta_known = true;
	for (size_t i = 0; i < il->n; i++) {
		const struct look_folder *lf = &il->folders[i];
		if (!lf->examined)
			r->folders[i].delta = 0;
		else if (!lf->had_prev)
			r->folders[i].delta = INT64_MIN; /* shown as "new" */
		else
			r->folders[i].delta = (int64_t)lf->f.messages - (int64_t)lf->prev_messages;
	}
}

/* Moves what the looks saw into r. false: out of memory. */
static bool fill_result(struct ma_audit_result *r, struct imap_look *il, struct pop3_look *pl)
{
	bool oom = false;
	r->imap_ok = il->ok;
	r->imap_err = il->err;
	r->imap_cert = il->cert;
	r->imap_tls = il->tls;
	r->imap_caps = il->caps;
	il->caps = NULL;
	if (il->ok) {
		r->folders = calloc(il->n ? il->n : 1, sizeof *r->folders);
		if (!r->folders)
			return false;
		for (size_t i = 0; i < il->n; i++) {
			struct ma_folder *f = &r->folders[i].folder;
			const struct ma_folder *src = &il->folders[i].f;
			*f = *src;
			f->name = dup_or_null(src->name, &oom);
			f->raw_name = dup_or_null(src->raw_name, &oom);
			f->msgs = NULL;
			f->nmsgs = f->capmsgs = 0;
			r->folders[i].deleted = il->folders[i].deleted;
			r->folders[i].size = il->folders[i].size;
			r->folders[i].failed = il->folders[i].failed;
		}
		r->nfolders = il->n;
		fill_deltas(r, il);
	}
	r->pop3_ok = pl->ok;
	r->pop3_err = pl->err;
	r->pop3_in_use = pl->in_use;
	r->pop3_skipped = pl->skipped;
	r->pop3_cert = pl->cert;
	r->pop3_tls = pl->tls;
	if (pl->ok) {
		r->pop3 = pl->view;
		memset(&pl->view, 0, sizeof pl->view);
	}
	return !oom;
}

/* ---- The run ------------------------------------------------------------------- */

void audit_progress_all(const struct ma_audit_opts *o, enum ma_step step, const char *what,
			size_t done, size_t total, size_t all_done, size_t all_total)
{
	if (o->progress) {
		struct ma_progress p = { step, what, done, total, all_done, all_total };
		o->progress(&p, o->progress_ctx);
	}
}

void audit_progress(const struct ma_audit_opts *o, enum ma_step step, const char *what,
		    size_t done, size_t total)
{
	audit_progress_all(o, step, what, done, total, 0, 0);
}

/* The history and the account in it, unless --no-history: without them
 * the audit only looks (history_err says why, if it failed). */
static void open_history(struct run *x)
{
	if (x->opts->no_history)
		return;
	/* The same key as --lost and --ack find it by (ledger.c). */
	const char *key_host;
	uint32_t port_key;
	ma_ledger_key(x->acct, &key_host, &port_key);
	if (ma_history_open_until(x->opts->state_dir, x->opts->net.run_deadline_ms, &x->h,
				  &x->r->history_err) != MA_OK ||
	    ma_history_account(x->h, x->acct->login, key_host, port_key, &x->account,
			       &x->r->history_err) != MA_OK) {
		ma_history_close(x->h);
		x->h = NULL;
	}
}

/* Both looks: POP3 and the history writer on threads of their own, IMAP
 * on this one. Returns once every thread is joined. */
static void look(struct run *x)
{
	const struct ma_account *acct = x->acct;
	x->il = (struct imap_look){ .acct = acct, .password = x->password, .opts = x->opts,
				    .account = x->account, .verdict = &x->verdict };
	look_init(&x->il);
	verdict_init(&x->verdict);
	x->pl = (struct pop3_look){ .acct = acct, .password = x->password, .opts = x->opts,
				    .account = x->account };
	/* Read before the worker starts: the history handle is not shared. */
	if (x->h && ma_history_pop3_prev(x->h, x->account, &x->pl.prev, NULL) == MA_OK &&
	    acct->has_imap)
		x->pl.verdict = &x->verdict;
	/* From here until the writer is stopped, h is the writer's; the IMAP
	 * side reads the earlier audits through hr. */
	struct ma_history *hr = NULL;
	if (x->h && acct->has_imap) {
		writer_start(&x->w, x->h, x->account, x->r->started);
		x->writing = true;
		/* Without it every folder is fetched in full, and none has a
		 * Change since the last audit. */
		ma_status hs = ma_history_open_until(x->opts->state_dir, x->opts->net.run_deadline_ms,
						     &hr, NULL);
		x->oom |= hs == MA_ERR_NOMEM;
		x->pl.w = x->il.w = &x->w;
	}
	pthread_t pop3_tid;
	bool pop3_started = false;
	if (acct->has_pop3) {
		x->r->pop3_tried = true;
		pop3_started = pthread_create(&pop3_tid, NULL, pop3_thread, &x->pl) == 0;
		if (!pop3_started)
			ma_fail(&x->pl.err, MA_ERR_NOMEM, "%s", _("cannot start the POP3 worker"));
	}
	if (acct->has_imap) {
		x->r->imap_tried = true;
		look_imap(&x->il, hr);
	}
	ma_history_close(hr);
	verdict_decide(&x->verdict, NULL); /* no INBOX looked at: POP3 must list */
	if (pop3_started) {
		audit_progress(x->opts, MA_STEP_POP3, acct->pop3.host, 0, 0);
		pthread_join(pop3_tid, NULL);
	}
	/* Only now: the POP3 side may still have handed in its view. */
	if (x->writing)
		writer_stop(&x->w);
	verdict_destroy(&x->verdict);
}

/* After the looks: the recount, the alerts, the sessions' closing begun,
 * and what the looks saw moved into the result. */
static void end_looks(struct run *x)
{
	struct ma_audit_result *r = x->r;
	if (x->il.ok && x->pl.ok && !recount(&x->il, &x->pl))
		x->oom = true;
	/* The first session's alerts (greeting, login, LIST, its folders),
	 * then the second's: each text once. Also when the look failed: an
	 * alert often says why ("account locked"). */
	size_t nalerts = 0;
	const char *const *alerts = ma_imap_alerts(x->il.s, &nalerts);
	if (!look_add_alerts(&r->alerts, &r->nalerts, alerts, nalerts) ||
	    !look_add_alerts(&r->alerts, &r->nalerts, (const char *const *)x->il.alerts2, x->il.nalerts2))
		x->oom = true;
	close_begin(&x->closing[0], x->il.s, NULL);
	x->il.s = NULL;
	close_begin(&x->closing[1], NULL, x->pl.s);
	x->pl.s = NULL;
	if (!fill_result(r, &x->il, &x->pl))
		x->oom = true;
	r->finished = x->opts->now ? x->opts->now : time(NULL);
}

/* Whether the audit ran out of memory anywhere (audit.h's policy): each
 * part says so in its own way. Once every thread is joined. */
static bool out_of_memory(const struct run *x)
{
	return x->oom || x->il.oom || x->il.err.status == MA_ERR_NOMEM ||
	       x->pl.err.status == MA_ERR_NOMEM || x->r->history_err.status == MA_ERR_NOMEM;
}

/* An audit cut off by its deadline saw only part of the mailbox: whatever
 * the findings say, its verdict is UNKNOWN, unless a loss already makes it
 * CRITICAL. The findings name what the deadline stopped. */
static void apply_deadline(struct ma_audit_result *r)
{
	r->deadline_passed = r->imap_err.status == MA_ERR_DEADLINE ||
			     r->pop3_err.status == MA_ERR_DEADLINE ||
			     r->history_err.status == MA_ERR_DEADLINE;
	if (r->deadline_passed && r->verdict != MA_SEV_CRITICAL)
		r->verdict = MA_SEV_UNKNOWN;
}

ma_status ma_audit_run(const struct ma_account *acct, const char *password,
		       const struct ma_audit_opts *opts, struct ma_audit_result **out,
		       struct ma_error *err)
{
	*out = NULL;
	int64_t t0 = ma_now_ms();
	struct ma_audit_result *r = calloc(1, sizeof *r);
	if (!r)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	ma_transport_init();
	r->deadline_s = opts->deadline_s;
	r->started = opts->now ? opts->now : time(NULL);
	r->insecure = opts->net.insecure;
	r->imap_endpoint = acct->imap;
	r->pop3_endpoint = acct->pop3;
	snprintf(r->login, sizeof r->login, "%s", acct->login);
	snprintf(r->account_label, sizeof r->account_label, "%s @ %s", acct->login,
		 acct->has_imap ? acct->imap.host : acct->pop3.host);

	/* Every connection of the audit counts what it receives. */
	_Atomic uint64_t received = 0;
	struct ma_audit_opts counted = *opts;
	if (!counted.net.bytes_in)
		counted.net.bytes_in = &received;
	struct run x = { .acct = acct, .password = password, .opts = &counted, .r = r };
	open_history(&x);
	look(&x);
	end_looks(&x);
	audit_progress(opts, MA_STEP_HISTORY, NULL, 0, 0);
	/* Out of memory: no result, so nothing recorded either. */
	bool analyzed = !out_of_memory(&x) && record_audit(&x);
	audit_progress(opts, MA_STEP_ANALYSIS, NULL, 0, 0);
	ma_status st = MA_OK;
	if (out_of_memory(&x))
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
	else if (!analyzed)
		st = ma_analyze(r, err);
	if (st == MA_OK)
		apply_deadline(r);
	/* Their last bytes count too. */
	close_end(&x.closing[0]);
	close_end(&x.closing[1]);
	r->elapsed_ms = ma_now_ms() - t0;
	r->bytes_received = atomic_load(counted.net.bytes_in);
	ma_history_close(x.h); /* rolls back what was begun and not recorded */
	writer_clear(&x.w);
	look_clear(&x.il);
	ma_pop3_view_clear(&x.pl.view);
	audit_progress(opts, MA_STEP_DONE, NULL, 0, 0);
	if (st != MA_OK) {
		ma_audit_result_free(r);
		return st;
	}
	*out = r;
	return MA_OK;
}

void ma_audit_result_free(struct ma_audit_result *r)
{
	if (!r)
		return;
	free(r->imap_caps);
	for (size_t i = 0; i < r->nfolders; i++)
		ma_folder_clear(&r->folders[i].folder);
	free(r->folders);
	ma_pop3_view_clear(&r->pop3);
	for (size_t i = 0; i < r->nlost; i++) {
		struct ma_lost_msg *m = &r->lost[i];
		free(m->folder);
		free(m->date);
		free(m->from);
		free(m->subject);
		free(m->gone_to);
	}
	free(r->lost);
	free(r->history);
	for (size_t i = 0; i < r->nfindings; i++)
		ma_finding_clear(&r->findings[i]);
	free(r->findings);
	for (size_t i = 0; i < r->nuidvalidity_reset; i++)
		free(r->uidvalidity_reset[i]);
	free(r->uidvalidity_reset);
	ma_loss_entries_free(r->ledger, r->nledger);
	for (size_t i = 0; i < r->nalerts; i++)
		free(r->alerts[i]);
	free(r->alerts);
	free(r);
}
