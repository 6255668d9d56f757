/* The IMAP look: see look.h. */
#include "audit/look.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/writer.h"
#include "mail/imap.h"
#include "store/history.h"

/* One IMAP session's part in the look: the context every step of it
 * takes. l is shared by both sessions; the rest is this session's own. */
struct inbox_ahead;
struct session {
	struct imap_look *l;
	struct ma_imap *s;
	struct ma_history *h;     /* earlier audits, through a handle of its own; NULL: none */
	enum writer_src src;      /* which session, for the writer's queue */
	struct inbox_ahead *ahead; /* INBOX's known messages, read ahead; NULL: none */
};

void verdict_init(struct inbox_verdict *v)
{
	memset(v, 0, sizeof *v);
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
}

void verdict_decide(struct inbox_verdict *v, const struct look_folder *lf)
{
	pthread_mutex_lock(&v->lock);
	if (!v->decided) {
		v->decided = true;
		if (lf) {
			v->unchanged = lf->unchanged;
			v->audit = lf->prev_audit;
			v->messages = lf->f.messages;
			/* Unchanged: the same messages, none new. */
			v->counted = lf->unchanged || lf->fresh_known;
			v->prev_messages = lf->unchanged ? lf->f.messages : lf->prev_messages;
			v->fresh = lf->unchanged ? 0 : lf->fresh;
		}
		pthread_cond_broadcast(&v->cond);
	}
	pthread_mutex_unlock(&v->lock);
}

void verdict_destroy(struct inbox_verdict *v)
{
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
}

/* Out of memory (audit.h's policy): the audit will have no result. */
static void look_oom(struct imap_look *l)
{
	pthread_mutex_lock(&l->lock);
	l->oom = true;
	pthread_mutex_unlock(&l->lock);
}

/* ---- What the history knows of a folder ---------------------------------- */

/* Messages the history knows in a folder, by ascending UID. */
struct known {
	uint32_t *uids, *sizes;
	size_t n, cap;
	bool oom;
};

static int add_known(uint32_t uid, uint32_t size, void *ctx)
{
	struct known *k = ctx;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 1024;
		uint32_t *u = realloc(k->uids, cap * sizeof *u);
		if (u)
			k->uids = u;
		uint32_t *sz = u ? realloc(k->sizes, cap * sizeof *sz) : NULL;
		if (!sz) {
			k->oom = true;
			return 1;
		}
		k->sizes = sz;
		k->cap = cap;
	}
	k->uids[k->n] = uid;
	k->sizes[k->n++] = size;
	return 0;
}

static void known_clear(struct known *k)
{
	free(k->uids);
	free(k->sizes);
	memset(k, 0, sizeof *k);
}

/* false, k empty, when the history cannot say: the folder is then read in
 * full, which costs time but changes no answer (so out of memory here is
 * not the audit's end, see audit.h). */
static bool load_known(struct ma_history *h, int64_t account, const struct ma_folder *f,
		       struct known *k)
{
	if (ma_history_folder_known(h, account, f->name, f->uidvalidity, true, add_known, k,
				    NULL) != MA_OK || k->oom) {
		known_clear(k);
		return false;
	}
	return true;
}

/* Index of uid in k, or k->n. */
static size_t known_find(const struct known *k, uint32_t uid)
{
	size_t lo = 0, hi = k->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < k->n && k->uids[lo] == uid ? lo : k->n;
}

/* ---- Fetching ------------------------------------------------------------- */

struct fetch_ctx {
	struct imap_look *l;
	struct look_folder *lf;
	const struct ma_audit_opts *opts;
	const struct known *k;    /* flags-only fetch: sizes come from here */
	struct writer_feed feed;  /* feed.w NULL: no history to write */
	size_t total;
	/* Counted here and added to lf once the fetch ends (end_fetch):
	 * another session may be reading the same folder. */
	unsigned deleted;
	uint32_t unseen;
	uint64_t size;
};

/* A fetch of lf's messages by session ss, total of them expected. */
static struct fetch_ctx fetch_begin(const struct session *ss, struct look_folder *lf, size_t total)
{
	return (struct fetch_ctx){
		.l = ss->l,
		.lf = lf,
		.opts = ss->l->opts,
		.feed = { .w = ss->l->w, .src = ss->src, .lf = lf },
		.total = total,
	};
}

/* Counts m into c, as every message of the folder is counted. */
static void tally(struct fetch_ctx *c, const struct ma_message *m)
{
	if (m->flags & MA_FLAG_DELETED)
		c->deleted++;
	if (!(m->flags & MA_FLAG_SEEN))
		c->unseen++;
	c->size += m->size;
	size_t done = atomic_fetch_add(&c->lf->read, 1) + 1;
	size_t all = atomic_fetch_add(&c->l->read_all, 1) + 1;
	if (done % 500 == 0)
		audit_progress_all(c->opts, MA_STEP_MESSAGES, c->lf->f.name, done, c->total, all,
				   c->l->expect_all);
}

static int on_message(struct ma_message *m, void *ctx)
{
	struct fetch_ctx *c = ctx;
	/* \Recent belongs to a session, not to the message (the first
	 * session to see it claims it, and no modseq marks the change): kept,
	 * it would make an incremental look's record differ from a full one. */
	m->flags &= ~(unsigned)MA_FLAG_RECENT;
	if (c->k) {
		size_t i = known_find(c->k, m->uid);
		if (i < c->k->n)
			m->size = c->k->sizes[i];
	}
	if (c->feed.w && !writer_keep(&c->feed, m)) {
		/* The fetch ends as cancelled; the audit, for want of
		 * memory, without a result. */
		look_oom(c->l);
		return 1;
	}
	tally(c, m);
	return 0;
}

/* Ends a fetch: hands in the last batch and adds what it counted. */
static void end_fetch(struct fetch_ctx *c)
{
	writer_flush(&c->feed);
	pthread_mutex_lock(&c->l->lock);
	c->lf->deleted += c->deleted;
	c->lf->unseen += c->unseen;
	c->lf->size += c->size;
	pthread_mutex_unlock(&c->l->lock);
}

/* The folder holds exactly the UIDs the last audit recorded when STATUS
 * and EXAMINE both read that audit's UIDVALIDITY, UIDNEXT and MESSAGES and
 * the history holds MESSAGES present UIDs: no UID below UIDNEXT can appear
 * later, so the UIDs now are a subset of those the last audit saw (it
 * searched after its EXAMINE), and equally many. Flags can have changed:
 * the \Deleted count comes from a UID SEARCH DELETED (small), the unseen
 * count from STATUS. */
static bool same_state(const struct ma_folder *f, const struct ma_folder_prev *p)
{
	return p->known && f->uidvalidity != 0 && f->uidnext != 0 && p->uidvalidity == f->uidvalidity &&
	       p->uidnext == f->uidnext && p->messages == f->messages;
}

/* A folder whose UIDs the history partly knows: the present UIDs, then
 * flags only for the known ones (size and date never change for a UID) and
 * everything for the new ones. */
static ma_status fetch_changed(const struct session *ss, struct look_folder *lf,
			       const struct known *k, struct ma_error *err)
{
	uint32_t *uids = NULL, *old = NULL;
	size_t n = 0;
	ma_status st = ma_imap_search_all(ss->s, &uids, &n, err);
	if (st != MA_OK)
		return st;
	if (!(old = malloc((n ? n : 1) * sizeof *old))) {
		free(uids);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	/* Both lists ascend: split the present UIDs into known and new. */
	size_t nold = 0, nnew = 0;
	bool new_last = true;     /* every new UID above every known one */
	for (size_t i = 0, j = 0; i < n; i++) {
		while (j < k->n && k->uids[j] < uids[i])
			j++;
		if (j < k->n && k->uids[j] == uids[i]) {
			old[nold++] = uids[i];
		} else {
			new_last &= k->n == 0 || uids[i] > k->uids[k->n - 1];
			uids[nnew++] = uids[i];
		}
	}
	/* Counted for the POP3 look, if the history held exactly the last
	 * audit's messages and SEARCH agrees with EXAMINE. */
	lf->fresh_known = new_last && k->n == lf->prev_messages && n == lf->f.messages && nnew <= UINT32_MAX;
	lf->fresh = (uint32_t)nnew;
	struct fetch_ctx c = fetch_begin(ss, lf, n);
	c.k = k;
	st = ma_imap_fetch_flags(ss->s, old, nold, on_message, &c, err);
	c.k = NULL;
	if (st == MA_OK)
		st = ma_imap_fetch(ss->s, uids, nnew, true, on_message, &c, err);
	end_fetch(&c);
	free(uids);
	free(old);
	return st;
}

/* ---- Incremental: only what changed since the last audit (RFC 7162) -----
 *
 * The history holds the folder's messages with their flags as they were at
 * the recorded HIGHESTMODSEQ. One UID FETCH 1:max (UID FLAGS) (CHANGEDSINCE
 * modseq VANISHED) returns the flags that changed and the UIDs expunged
 * since, a UID SEARCH the UIDs above the known ones; the result is then the
 * one a full look (fetch_changed) would give, every present message handed
 * to the writer with its flags. Anything odd (a changed UID the history
 * does not know, a count that does not add up to EXISTS, mail arriving or
 * leaving while it reads) and it says so before handing over anything:
 * the caller reads the folder in full. MA_FORCE_FULL_LOOK=1 (tests only)
 * turns it off, with ENABLE QRESYNC. */

/* The history's messages of a folder with their flags, and what the
 * server says changed. */
struct inc {
	struct known k;
	unsigned *flags;
	unsigned char *state;     /* by index in k: KNOWN_SAME, KNOWN_GONE, KNOWN_CHANGED */
	size_t cap_flags;
	bool odd;
};

enum { KNOWN_SAME, KNOWN_GONE, KNOWN_CHANGED };

static int add_known_flags(uint32_t uid, uint32_t size, unsigned flags, void *ctx)
{
	struct inc *in = ctx;
	if (add_known(uid, size, &in->k) != 0)
		return 1;
	if (in->k.cap != in->cap_flags) {
		unsigned *f = realloc(in->flags, in->k.cap * sizeof *f);
		if (!f) {
			in->k.oom = true;
			return 1;
		}
		in->flags = f;
		in->cap_flags = in->k.cap;
	}
	in->flags[in->k.n - 1] = flags & ~(unsigned)MA_FLAG_RECENT;
	return 0;
}

static void inc_clear(struct inc *in)
{
	known_clear(&in->k);
	free(in->flags);
	free(in->state);
	memset(in, 0, sizeof *in);
}

/* What the history knows of INBOX, read ahead. A repeat looks at INBOX
 * incrementally and needs every known UID with its size and flags before
 * it can ask what changed: read after EXAMINE, that put 0.02-0.04 s (at
 * 100,000 messages) between EXAMINE and the first FETCH. A thread of its
 * own reads it, through a handle of its own, while the session connects
 * and logs in. It is used only if INBOX's last audit is still the one it
 * was read under (another mailaudit may have recorded one since). */
struct inbox_ahead {
	pthread_t tid;
	bool started;
	const struct imap_look *l;
	struct ma_folder_prev prev; /* INBOX's last audit, as it was read under */
	struct inc in;
	bool ok;                    /* in holds all of prev's messages */
	atomic_bool cancel;         /* INBOX's look is over without it */
};

static int add_ahead(uint32_t uid, uint32_t size, unsigned flags, void *ctx)
{
	struct inbox_ahead *a = ctx;
	if (atomic_load_explicit(&a->cancel, memory_order_relaxed))
		return 1;
	return add_known_flags(uid, size, flags, &a->in);
}

static bool same_prev(const struct ma_folder_prev *a, const struct ma_folder_prev *b)
{
	return a->known == b->known && a->audit_id == b->audit_id && a->modseq == b->modseq &&
	       a->uidvalidity == b->uidvalidity;
}

static void *read_inbox(void *arg)
{
	struct inbox_ahead *a = arg;
	const struct imap_look *l = a->l;
	struct ma_history *h = NULL;
	struct ma_folder_prev after = { 0 };
	/* Read again after the rows: an audit recorded in between would
	 * make them another audit's. */
	a->ok = ma_history_open_until(l->opts->state_dir, l->opts->net.run_deadline_ms, &h, NULL) == MA_OK &&
		ma_history_folder_known_flags(h, l->account, "INBOX", a->prev.uidvalidity, add_ahead, a,
					      NULL) == MA_OK &&
		!a->in.k.oom && !atomic_load(&a->cancel) &&
		ma_history_folder_last(h, l->account, "INBOX", &after, NULL) == MA_OK &&
		same_prev(&a->prev, &after);
	ma_history_close(h);
	return NULL;
}

/* Only where INBOX may be looked at incrementally (fetch_incremental). Not
 * started (no thread to spare, or nothing to read): fetch_incremental
 * reads it itself. */
static void inbox_ahead_start(struct inbox_ahead *a, const struct imap_look *l, struct ma_history *h)
{
	memset(a, 0, sizeof *a);
	a->l = l;
	atomic_init(&a->cancel, false);
	if (!h || look_force_full() ||
	    ma_history_folder_last(h, l->account, "INBOX", &a->prev, NULL) != MA_OK || !a->prev.known ||
	    !a->prev.modseq)
		return;
	a->started = pthread_create(&a->tid, NULL, read_inbox, a) == 0;
}

/* Moves what was read ahead into *in, if it serves lf as last recorded in
 * prev: false (in untouched) if not. Once: the look has one INBOX. */
static bool inbox_ahead_take(struct inbox_ahead *a, const struct look_folder *lf,
			     const struct ma_folder_prev *prev, struct inc *in)
{
	if (!a || !a->started)
		return false;
	pthread_join(a->tid, NULL);
	a->started = false;
	if (!a->ok || strcmp(lf->f.name, "INBOX") != 0 || !same_prev(&a->prev, prev))
		return false;
	*in = a->in;
	memset(&a->in, 0, sizeof a->in);
	return true;
}

/* INBOX's look is over (or never came). An unchanged INBOX needed none of
 * it: the read stops where it is (at a million messages the whole read
 * takes tenths of a second of CPU and 10 MB or more). */
static void inbox_ahead_end(struct inbox_ahead *a)
{
	atomic_store(&a->cancel, true);
	if (a->started)
		pthread_join(a->tid, NULL);
	a->started = false;
	inc_clear(&a->in);
}

static void inc_vanished(uint32_t lo, uint32_t hi, void *ctx)
{
	struct inc *in = ctx;
	const struct known *k = &in->k;
	/* The first known UID >= lo, then on while <= hi. */
	size_t a = 0, b = k->n;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (k->uids[mid] < lo)
			a = mid + 1;
		else
			b = mid;
	}
	for (; a < k->n && k->uids[a] <= hi; a++)
		in->state[a] = KNOWN_GONE;
}

static int inc_changed(struct ma_message *m, void *ctx)
{
	struct inc *in = ctx;
	size_t i = known_find(&in->k, m->uid);
	if (i == in->k.n) {
		in->odd = true; /* below the known maximum, yet unknown */
	} else if (in->state[i] != KNOWN_GONE) {
		in->flags[i] = m->flags & ~(unsigned)MA_FLAG_RECENT;
		in->state[i] = KNOWN_CHANGED;
	}
	return 0;
}

/* CONDSTORE without QRESYNC has no VANISHED: the expunged are the known
 * UIDs a UID SEARCH ALL no longer lists (still far less than the flags of
 * every one), and the UIDs above the known ones are the new ones (*fresh). */
static ma_status present_uids(const struct session *ss, struct inc *in, uint32_t **fresh,
			      size_t *nfresh, struct ma_error *err)
{
	uint32_t *all = NULL;
	size_t n = 0, j = 0;
	ma_status st = ma_imap_search_all(ss->s, &all, &n, err);
	if (st != MA_OK)
		return st;
	for (size_t i = 0; i < in->k.n; i++) {
		while (j < n && all[j] < in->k.uids[i]) {
			in->odd = true; /* present, below max, yet unknown */
			j++;
		}
		if (j < n && all[j] == in->k.uids[i])
			j++;
		else
			in->state[i] = KNOWN_GONE;
	}
	/* all[j..n) are above max now: the new ones, moved to the front. */
	memmove(all, all + j, (n - j) * sizeof *all);
	*fresh = all;
	*nfresh = n - j;
	return MA_OK;
}

bool look_force_full(void)
{
	const char *e = getenv("MA_FORCE_FULL_LOOK");
	return e && strcmp(e, "1") == 0;
}

/* MA_OK with *done false: not possible here, nothing handed over, read in
 * full. */
static ma_status fetch_incremental(const struct session *ss, struct look_folder *lf,
				   const struct ma_folder_prev *prev, bool *done, struct ma_error *err)
{
	*done = false;
	if (!ss->h || !prev->known || prev->modseq == 0 || lf->f.modseq == 0 ||
	    prev->uidvalidity != lf->f.uidvalidity || !ma_imap_condstore(ss->s) || look_force_full())
		return MA_OK;
	struct inc in = { 0 };
	uint32_t *fresh = NULL;
	size_t nfresh = 0;
	ma_status st = MA_OK;
	if (!inbox_ahead_take(ss->ahead, lf, prev, &in) &&
	    ma_history_folder_known_flags(ss->h, ss->l->account, lf->f.name, lf->f.uidvalidity,
					  add_known_flags, &in, NULL) != MA_OK)
		goto cleanup;
	if (in.k.oom || !in.k.n)
		goto cleanup;
	if (!(in.state = calloc(in.k.n, sizeof *in.state)))
		goto cleanup;
	unsigned events = ma_imap_events(ss->s);
	uint32_t max = in.k.uids[in.k.n - 1];
	st = ma_imap_fetch_changed(ss->s, max, prev->modseq, inc_vanished, inc_changed, &in, err);
	if (st == MA_OK && !ma_imap_qresync(ss->s))
		st = present_uids(ss, &in, &fresh, &nfresh, err);
	else if (st == MA_OK && max < UINT32_MAX)
		st = ma_imap_search_from(ss->s, max + 1, &fresh, &nfresh, err);
	/* A refusal (NO) of CHANGEDSINCE or the SEARCH leaves the session
	 * sound: the full look then. */
	if (st != MA_OK && st != MA_ERR_NOMEM && st != MA_ERR_CANCELLED && !ma_imap_broken(ss->s))
		st = MA_OK;
	if (st != MA_OK || in.odd || ma_imap_events(ss->s) != events)
		goto cleanup;
	size_t present = 0;
	for (size_t i = 0; i < in.k.n; i++)
		present += in.state[i] != KNOWN_GONE;
	if (present + nfresh != lf->f.messages)
		goto cleanup;
	lf->fresh_known = in.k.n == prev->messages;
	lf->fresh = (uint32_t)nfresh;
	/* The POP3 look plans its probes from these counts (audit.c,
	 * inbox_counts): they are known now, before the new messages'
	 * headers come. A later verdict_decide keeps this one. */
	if (strcmp(lf->f.name, "INBOX") == 0)
		verdict_decide(ss->l->verdict, lf);
	/* Counted as fetch_changed would (size from the history). Written:
	 * the rows of changed and new messages, and the expunged marked gone;
	 * the others' rows stay as they are (the folder is recorded as a
	 * delta: ma_history_put_folder_delta). */
	struct fetch_ctx c = fetch_begin(ss, lf, present + nfresh);
	uint32_t *gone = NULL;
	size_t ngone = in.k.n - present;
	if (c.feed.w && !(gone = malloc((ngone ? ngone : 1) * sizeof *gone))) {
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
		look_oom(ss->l);
		goto cleanup;
	}
	ngone = 0;
	c.k = &in.k;
	for (size_t i = 0; i < in.k.n && st == MA_OK; i++) {
		struct ma_message m = { .uid = in.k.uids[i], .flags = in.flags[i], .size = in.k.sizes[i] };
		if (in.state[i] == KNOWN_GONE) {
			if (gone)
				gone[ngone++] = m.uid;
		} else if (in.state[i] == KNOWN_SAME && c.feed.w) {
			tally(&c, &m);
		} else if (on_message(&m, &c) != 0) {
			st = ma_fail(err, MA_ERR_CANCELLED, NULL);
		}
	}
	c.k = NULL;
	if (gone && st == MA_OK && ngone && !writer_gone(c.feed.w, c.feed.src, lf, gone, ngone)) {
		look_oom(ss->l);
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
	} else if (gone && (st != MA_OK || !ngone)) {
		free(gone);
	}
	lf->delta = c.feed.w != NULL;
	/* Done with what the history knew before the new messages come: at
	 * a million messages that is 10 MB the POP3 look's read of its own
	 * (audit.c, read_ahead) would otherwise be added to. */
	inc_clear(&in);
	if (st == MA_OK)
		st = ma_imap_fetch(ss->s, fresh, nfresh, true, on_message, &c, err);
	end_fetch(&c);
	*done = true;
cleanup:
	free(fresh);
	inc_clear(&in);
	return st;
}

/* ---- One folder read by both sessions ----------------------------------
 *
 * INBOX often holds most of the mail: read by one session, it would keep
 * the audit waiting long after the other has read every other folder. So a
 * large folder read for the first time is fetched in UID ranges that any
 * session with nothing else left to do takes a share of. */

#define SHARE_MIN 10000     /* messages: below, one session is quick enough */
#define RANGE_MESSAGES 2500 /* the aim for one range (a FETCH of the imap layer) */

struct ranges {
	struct imap_look *l;
	struct look_folder *lf;
};

/* lf is known to be shared or not: a session waiting in join_folder may go
 * on. */
static void settle(struct imap_look *l, struct look_folder *lf)
{
	pthread_mutex_lock(&l->lock);
	if (!lf->settled) {
		lf->settled = true;
		l->opening--;
		pthread_cond_broadcast(&l->cond);
	}
	pthread_mutex_unlock(&l->lock);
}

static void start_helper(struct imap_look *l);

/* Whether lf is read by ranges: then it is shared from now on. */
static bool share_folder(struct imap_look *l, struct look_folder *lf)
{
	uint32_t n = lf->f.messages, next = lf->f.uidnext;
	/* Before LIST (inbox_first) there is no folder table to share from. */
	if (n < SHARE_MIN || next <= 1 || lf == l->early)
		return false;
	uint64_t width = (uint64_t)(next - 1) * RANGE_MESSAGES / n;
	pthread_mutex_lock(&l->lock);
	lf->range_next = 1;
	lf->range_end = next;
	lf->range_width = width ? (uint32_t)(width < UINT32_MAX ? width : UINT32_MAX) : 1;
	lf->readers = 1;
	lf->shared = true;
	pthread_mutex_unlock(&l->lock);
	settle(l, lf);
	/* A mailbox of one large folder: the second session starts now. */
	start_helper(l);
	return true;
}

static bool next_range(uint32_t *lo, uint32_t *hi, void *ctx)
{
	struct ranges *rg = ctx;
	struct look_folder *lf = rg->lf;
	pthread_mutex_lock(&rg->l->lock);
	bool any = !rg->l->stop && !lf->failed && lf->range_next < lf->range_end;
	if (any) {
		*lo = lf->range_next;
		uint64_t end = (uint64_t)*lo + lf->range_width;
		/* The last range runs to the largest UID there can be: a
		 * message the server numbered at or past the UIDNEXT it gave
		 * is read too, not lost. A number, not "*": "n:*" would also
		 * name the last message when none is at n or above. */
		if (end >= lf->range_end) {
			*hi = UINT32_MAX;
			lf->range_next = lf->range_end;
		} else {
			*hi = (uint32_t)end - 1;
			lf->range_next = (uint32_t)end;
		}
	}
	pthread_mutex_unlock(&rg->l->lock);
	return any;
}

/* Session ss's share of a folder read by ranges (shared). */
static ma_status fetch_shared(const struct session *ss, struct look_folder *lf, struct ma_error *err)
{
	struct fetch_ctx c = fetch_begin(ss, lf, lf->f.messages);
	struct ranges rg = { ss->l, lf };
	ma_status st = ma_imap_fetch_ranges(ss->s, next_range, &rg, true, on_message, &c, err);
	end_fetch(&c);
	return st;
}

/* A session is done with lf (st: how its part went): true for the last
 * one, which then ends the folder. */
static bool leave_folder(struct imap_look *l, struct look_folder *lf, ma_status st)
{
	pthread_mutex_lock(&l->lock);
	bool last = true;
	lf->failed |= st != MA_OK;
	if (lf->shared) {
		last = --lf->readers == 0;
		if (last) {
			lf->examined = !lf->failed;
			/* As look_folder does for a folder read alone. */
			if (lf->examined)
				lf->f.unseen = lf->unseen;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return last;
}

/* ---- One folder ------------------------------------------------------------ */

/* A folder found unchanged since prev: its unseen count from STATUS (or
 * the history), its size from the history, and its \Deleted count from a
 * UID SEARCH DELETED, or, with the same modseq (same_flags), from the
 * history: no flag changed since, and over a real network that is a round
 * trip less a folder. */
static ma_status take_unchanged(const struct session *ss, struct look_folder *lf,
				const struct ma_folder_prev *prev, bool same_flags,
				uint32_t status_unseen, uint64_t total, struct ma_error *err)
{
	size_t n = prev->deleted;
	if (!same_flags) {
		uint32_t *deleted = NULL;
		ma_status st = ma_imap_search_deleted(ss->s, &deleted, &n, err);
		free(deleted);
		if (st != MA_OK)
			return st;
	}
	lf->deleted = (unsigned)n;
	lf->unseen = status_unseen;
	lf->f.unseen = status_unseen;
	lf->size = total;
	lf->unchanged = true;
	lf->prev_audit = prev->audit_id;
	lf->same_as = prev->same_as ? prev->same_as : prev->audit_id;
	/* The rows (and their flags) are those of same_as: so is the modseq
	 * a later incremental look may start from. */
	lf->f.modseq = prev->modseq;
	lf->examined = true;
	return MA_OK;
}

/* A folder that changed, or was never seen: what the history knows of it
 * under this UIDVALIDITY is only fetched for its flags (fetch_changed). */
static ma_status read_folder(const struct session *ss, struct look_folder *lf,
			     const struct ma_folder_prev *prev, struct ma_error *err)
{
	struct known k = { 0 };
	bool shared = false;
	ma_status st;
	/* EXAMINE has the last word on UIDVALIDITY (STATUS may leave it out,
	 * or it may have changed in between): UIDs are known only under it. */
	bool done = false;
	lf->prev_audit = prev->audit_id;
	st = fetch_incremental(ss, lf, prev, &done, err);
	if (st != MA_OK || done)
		goto examined;
	if (prev->known && prev->uidvalidity == lf->f.uidvalidity)
		load_known(ss->h, ss->l->account, &lf->f, &k);
	if (k.n) {
		st = fetch_changed(ss, lf, &k, err);
	} else if ((shared = share_folder(ss->l, lf))) {
		/* Nothing known, and large: by UID ranges, with the other
		 * session once it is free (leave_folder ends it). */
		st = fetch_shared(ss, lf, err);
	} else {
		/* Nothing known: every message is new, so no UID SEARCH to split
		 * known from new; fetch 1..EXISTS by sequence number. */
		struct fetch_ctx c = fetch_begin(ss, lf, lf->f.messages);
		st = ma_imap_fetch_all(ss->s, lf->f.messages, true, on_message, &c, err);
		end_fetch(&c);
	}
	known_clear(&k);
examined:
	if (st == MA_OK && !shared) {
		lf->examined = true;
		/* Dovecot's STATUS UNSEEN can read 0 while a POP3 login indexes
		 * the same new Maildir at that moment; the flags we fetched are
		 * the truth for this look. */
		lf->f.unseen = lf->unseen;
	}
	return st;
}

/* One folder: STATUS if the history knows it, EXAMINE (never SELECT).
 * Unchanged since the last audit: the \Deleted UIDs only. Partly known:
 * fetch_changed. Never seen: every message, by UID ranges shared with the
 * other session if it is large (share_folder), else by sequence number. */
static ma_status look_folder(const struct session *ss, struct look_folder *lf, struct ma_error *err)
{
	struct ma_history *h = ss->h;
	int64_t account = ss->l->account;
	struct ma_folder_prev prev = { 0 };
	ma_status st = MA_OK, hs;
	/* Not known: read in full, and "new" in the Change column. */
	if (h && (hs = ma_history_folder_last(h, account, lf->f.name, &prev, NULL)) != MA_OK) {
		prev.known = false;
		if (hs == MA_ERR_NOMEM)
			look_oom(ss->l);
	}
	/* STATUS serves to tell an unchanged folder without reading it. A
	 * folder never recorded is read whole, and EXAMINE and the fetched
	 * flags say all STATUS would (at 100,000 messages Dovecot spends as
	 * long on a STATUS as on the EXAMINE). Where the history has the
	 * folder's HIGHESTMODSEQ and the server CONDSTORE, EXAMINE tells as
	 * much: the same modseq means the same flags, so the unseen count on
	 * record still holds, and a changed one is read incrementally. */
	bool by_modseq = prev.known && prev.modseq && ma_imap_condstore(ss->s) && !look_force_full();
	if (prev.known && !by_modseq && (st = ma_imap_status(ss->s, &lf->f, err)) != MA_OK)
		return st;
	uint32_t status_unseen = lf->f.unseen;
	lf->had_prev = prev.known;
	lf->prev_messages = prev.messages;

	st = ma_imap_examine(ss->s, &lf->f, err);
	if (st != MA_OK) {
		/* The counts of a folder that cannot be opened, for the
		 * report, as before; its error is what counts. */
		struct ma_error ignored;
		if ((!prev.known || by_modseq) && !ma_imap_broken(ss->s) &&
		    ma_imap_status(ss->s, &lf->f, &ignored) == MA_ERR_NOMEM)
			look_oom(ss->l);
		return st;
	}
	/* INBOX unchanged by its modseq needs nothing read ahead: stopped
	 * now, the read does not go on beside the other folders' looks (at a
	 * million messages that was up to 0.17 s of CPU and 10 MB more). */
	if (ss->ahead && by_modseq && lf->f.modseq == prev.modseq)
		atomic_store(&ss->ahead->cancel, true);
	/* The same modseq: nothing at all changed since the rows on record
	 * were written, and the count and size on record were written with
	 * them, in one transaction. Counting the rows again cost 0.01 s per
	 * 80,000 messages, on the way to every other folder. */
	if (same_state(&lf->f, &prev) && by_modseq && lf->f.modseq == prev.modseq)
		return take_unchanged(ss, lf, &prev, true, prev.unseen, prev.total_size, err);
	/* Otherwise counting is enough to tell: the UIDs are read only for a
	 * folder that changed. The count is the history's, so only where the
	 * server's counts already match. */
	uint32_t count = 0;
	uint64_t total = 0;
	if (same_state(&lf->f, &prev) &&
	    ma_history_folder_count(h, account, lf->f.name, lf->f.uidvalidity, &count, &total, NULL) ==
		    MA_OK &&
	    count == lf->f.messages) {
		/* Flags changed, nothing else: the unseen count is STATUS's, as
		 * without CONDSTORE (RFC 3501 would rather not STATUS the open
		 * folder; servers answer it, Dovecot in a millisecond). */
		if (by_modseq) {
			struct ma_folder now = { .name = lf->f.name, .raw_name = lf->f.raw_name };
			if ((st = ma_imap_status(ss->s, &now, err)) != MA_OK)
				return st;
			if (now.messages == lf->f.messages && now.uidnext == lf->f.uidnext)
				return take_unchanged(ss, lf, &prev, false, now.unseen, total, err);
		} else {
			return take_unchanged(ss, lf, &prev, false, status_unseen, total, err);
		}
	}
	return read_folder(ss, lf, &prev, err);
}

/* Whether a failure of one folder ends the look: a dead connection, or one
 * left at an unknown point by a reply we could not read, does; a folder the
 * server refuses to open is reported and the look goes on. Records it. */
static bool folder_failed(struct imap_look *l, struct ma_imap *s, ma_status st,
			  const struct ma_error *ferr)
{
	bool fatal = (st != MA_ERR_PROTOCOL && st != MA_ERR_SERVER_TEMP && st != MA_ERR_SERVER_PERM) ||
		     ma_imap_broken(s);
	pthread_mutex_lock(&l->lock);
	l->all_examined = false;
	l->err = *ferr;
	l->stop |= fatal;
	l->oom |= st == MA_ERR_NOMEM;
	pthread_mutex_unlock(&l->lock);
	return fatal;
}

/* A folder still being read by ranges that a session with nothing left
 * may join (counted as its reader), or NULL when none is, or will be. A
 * folder the other session is still opening may become one (INBOX, while
 * its EXAMINE runs): it waits to know. */
static struct look_folder *folder_to_join(struct imap_look *l)
{
	struct look_folder *lf = NULL;
	pthread_mutex_lock(&l->lock);
	for (;;) {
		for (size_t i = 0; i < l->n && !l->stop && !lf; i++) {
			struct look_folder *f = &l->folders[i];
			if (f->shared && f->readers && !f->failed && f->range_next < f->range_end) {
				f->readers++;
				lf = f;
			}
		}
		if (lf || l->stop || !l->opening)
			break;
		pthread_cond_wait(&l->cond, &l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return lf;
}

/* A session with no folder left takes a share of one still being read
 * (false: none is). */
static bool join_folder(const struct session *ss)
{
	struct imap_look *l = ss->l;
	struct look_folder *lf = folder_to_join(l);
	if (!lf)
		return false;
	struct ma_error ferr;
	/* EXAMINE into a copy: the counts of lf are the first session's. */
	struct ma_folder f = { .name = lf->f.name, .raw_name = lf->f.raw_name };
	ma_status st = ma_imap_examine(ss->s, &f, &ferr);
	/* Under another UIDVALIDITY the UIDs name other messages: leave the
	 * ranges to the first session. */
	if (st == MA_OK && f.uidvalidity == lf->f.uidvalidity)
		st = fetch_shared(ss, lf, &ferr);
	bool same = f.uidvalidity == lf->f.uidvalidity;
	if (leave_folder(l, lf, st) && l->w)
		writer_folder_end(l->w, ss->src, lf, lf->examined);
	if (st != MA_OK)
		return !folder_failed(l, ss->s, st, &ferr);
	return same;
}

/* Folder i of the table (the look's progress counts it so): false if the
 * look has failed. */
static bool look_one(const struct session *ss, struct look_folder *lf, size_t i)
{
	struct imap_look *l = ss->l;
	audit_progress_all(l->opts, MA_STEP_FOLDERS, lf->f.name, i, l->n ? l->n : 1,
			   atomic_load(&l->read_all), l->expect_all);
	struct ma_error ferr;
	if (l->w)
		writer_folder_start(l->w, ss->src, lf);
	ma_status st = look_folder(ss, lf, &ferr);
	settle(l, lf);
	bool ok = st == MA_OK && lf->examined;
	if (leave_folder(l, lf, st) && l->w)
		writer_folder_end(l->w, ss->src, lf, lf->shared ? lf->examined : ok);
	if (strcmp(lf->f.name, "INBOX") == 0)
		verdict_decide(l->verdict, st == MA_OK ? lf : NULL);
	return st == MA_OK || !folder_failed(l, ss->s, st, &ferr);
}

/* Looks at folders, taking the next one not yet taken, then shares in
 * those still being read, until none is left or the look has failed. */
static void look_folders(const struct session *ss)
{
	struct imap_look *l = ss->l;
	for (;;) {
		pthread_mutex_lock(&l->lock);
		size_t i = l->stop || l->next >= l->n ? l->n : l->next++;
		bool open = i < l->n && !l->folders[i].f.noselect;
		l->opening += open;
		pthread_mutex_unlock(&l->lock);
		if (i == l->n)
			break;
		if (!open)
			continue;
		if (!look_one(ss, &l->folders[i], i))
			return;
	}
	while (join_folder(ss))
		;
}

/* ENABLE QRESYNC for incremental looks (fetch_incremental), unless a full
 * look is forced: EXAMINE then reports each folder's HIGHESTMODSEQ. */
ma_status look_enable_changes(struct ma_imap *s, struct ma_error *err)
{
	bool on = false;
	if (look_force_full())
		return MA_OK;
	return ma_imap_enable_qresync(s, &on, err);
}

/* ---- The second session -------------------------------------------------- */

/* A second IMAP session, started once the folders are listed, looks at
 * folders while the first reads INBOX: the server answers each session
 * with a process of its own, and a first audit spends most of its time
 * waiting for the server. */
struct helper {
	struct imap_look *l;
	struct ma_net_opts net;   /* opts->net, with a cancel pipe of its own if it had none */
	int cancel_wr;            /* that pipe's end, -1 if none */
	bool history;             /* read earlier audits (through a handle of its own) */
};

/* The audit keeps at most this many alerts (each session keeps its own,
 * see imap.c). */
#define MAX_ALERTS 16

bool look_add_alerts(char ***list, size_t *len, const char *const *a, size_t n)
{
	for (size_t i = 0; i < n && *len < MAX_ALERTS; i++) {
		bool seen = false;
		for (size_t j = 0; j < *len && !seen; j++)
			seen = strcmp((*list)[j], a[i]) == 0;
		if (seen)
			continue;
		char **l = realloc(*list, (*len + 1) * sizeof *l);
		if (!l)
			return false;
		*list = l;
		if (!(l[*len] = strdup(a[i])))
			return false;
		(*len)++;
	}
	return true;
}

static void *helper_thread(void *arg)
{
	struct helper *hp = arg;
	struct imap_look *l = hp->l;
	struct session ss = { .l = l, .src = SRC_IMAP2 };
	struct ma_error e;
	/* It verifies the server as the first session did. A server that
	 * allows one session per user refuses it: the first session then
	 * looks at every folder, and nothing is lost but time. */
	bool go = ma_imap_open_as(&l->acct->imap, &hp->net, l->opts->trace, "imap2", &ss.s, &e) == MA_OK &&
		  ma_imap_login(ss.s, l->acct->login, l->password, &e) == MA_OK &&
		  look_enable_changes(ss.s, &e) == MA_OK;
	pthread_mutex_lock(&l->lock);
	if (l->helper_state == HELPER_ABANDONED)
		go = false;
	else
		l->helper_state = HELPER_WORKING;
	pthread_mutex_unlock(&l->lock);
	if (go) {
		/* Without it, its folders are fetched in full (and are "new"). */
		if (hp->history && ma_history_open_until(l->opts->state_dir, l->opts->net.run_deadline_ms, &ss.h, NULL) == MA_ERR_NOMEM)
			look_oom(l);
		look_folders(&ss);
	}
	/* Its alerts too: the server may say something in the folders it
	 * read (EXAMINE) that the first session never opened. An abandoned
	 * session's are dropped with it. */
	if (go) {
		size_t na = 0;
		const char *const *a = ma_imap_alerts(ss.s, &na);
		pthread_mutex_lock(&l->lock);
		l->oom |= !look_add_alerts(&l->alerts2, &l->nalerts2, a, na);
		pthread_mutex_unlock(&l->lock);
	}
	ma_history_close(ss.h);
	ma_imap_close(ss.s);
	return NULL;
}

/* Starts the second session once (if look_imap allows one). */
static void start_helper(struct imap_look *l)
{
	pthread_mutex_lock(&l->lock);
	if (l->helper && !l->helper_started && !l->stop)
		l->helper_started = pthread_create(&l->helper_tid, NULL, helper_thread, l->helper) == 0;
	pthread_mutex_unlock(&l->lock);
}

/* Allows a second session (started by start_helper) when the audit wants
 * one: jobs from two sessions need the writer thread to keep them apart. */
static void helper_allow(struct imap_look *l, struct helper *hp, bool history)
{
	*hp = (struct helper){ .l = l, .net = l->opts->net, .cancel_wr = -1, .history = history };
	if (l->opts->one_imap_session || (l->w && !l->w->threaded))
		return;
	int cancel[2];
	if (hp->net.cancel_fd < 0 && pipe2(cancel, O_CLOEXEC) == 0) {
		hp->net.cancel_fd = cancel[0];
		hp->cancel_wr = cancel[1];
	}
	l->helper = hp;
}

/* The first session is done: a second one still connecting is abandoned
 * (cancelled through its own pipe), one at work is waited for. */
static void helper_end(struct imap_look *l, struct helper *hp)
{
	pthread_mutex_lock(&l->lock);
	bool started = l->helper_started;
	bool abandon = started && l->helper_state == HELPER_CONNECTING;
	if (abandon)
		l->helper_state = HELPER_ABANDONED;
	l->helper = NULL; /* hp is about to go */
	pthread_mutex_unlock(&l->lock);
	if (abandon && hp->cancel_wr >= 0 && write(hp->cancel_wr, "x", 1) != 1) {
		/* Not fatal: the join then waits for the connect timeout. */
	}
	if (started)
		pthread_join(l->helper_tid, NULL);
	if (hp->cancel_wr >= 0) {
		close(hp->cancel_wr);
		close(hp->net.cancel_fd);
	}
}

/* ---- The look ------------------------------------------------------------- */

/* Connects and logs in: false if that failed (l->err says why). */
static bool open_session(struct imap_look *l)
{
	const struct ma_account *acct = l->acct;
	audit_progress(l->opts, MA_STEP_CONNECT, acct->imap.host, 0, 0);
	if (ma_imap_open(&acct->imap, &l->opts->net, l->opts->trace, &l->s, &l->err) != MA_OK)
		return false;
	if (ma_imap_cert(l->s) && ma_imap_cert(l->s)->present) {
		l->cert = *ma_imap_cert(l->s);
		l->tls = true;
	}
	audit_progress(l->opts, MA_STEP_LOGIN, acct->login, 0, 0);
	if (ma_imap_login(l->s, acct->login, l->password, &l->err) != MA_OK)
		return false;
	if (look_enable_changes(l->s, &l->err) != MA_OK)
		return false;
	if (!(l->caps = strdup(ma_imap_caps(l->s)))) {
		ma_fail(&l->err, MA_ERR_NOMEM, NULL);
		return false;
	}
	return true;
}

/* Lists the folders into l's folder table: false if that failed (l->err
 * says why). *selectable: how many can be opened. INBOX looked at before
 * (l->early) takes the first place, with what LIST says of it, and the
 * look goes on after it. */
static bool list_folders(struct imap_look *l, size_t *selectable)
{
	struct ma_folder *folders = NULL;
	size_t n = 0;
	if (ma_imap_list(l->s, &folders, &n, &l->err) != MA_OK)
		return false;
	l->list_ok = true;
	l->folders = calloc(n + 1, sizeof *l->folders);
	if (!l->folders) {
		for (size_t i = 0; i < n; i++)
			ma_folder_clear(&folders[i]);
		free(folders);
		ma_fail(&l->err, MA_ERR_NOMEM, NULL);
		return false;
	}
	*selectable = 0;
	size_t k = 0;
	if (l->early) {
		k = 1;
		*selectable = 1;
		pthread_mutex_lock(&l->lock);
		l->next = 1;
		pthread_mutex_unlock(&l->lock);
	}
	for (size_t i = 0; i < n; i++) {
		if (l->early && strcmp(folders[i].name, "INBOX") == 0) {
			/* The writer may still read l->early, but never
			 * these two fields. */
			l->early->f.delimiter = folders[i].delimiter;
			l->early->f.special = folders[i].special;
			ma_folder_clear(&folders[i]);
			continue;
		}
		l->folders[k].f = folders[i];
		*selectable += !folders[i].noselect;
		k++;
	}
	free(folders);
	l->n = k;
	/* INBOX's look is over: the copy is final (the writer only reads
	 * l->early, whose strings are the table's from now on). */
	if (l->early)
		memcpy(&l->folders[0], l->early, sizeof *l->early);
	l->all_examined = true;
	return true;
}

/* On a repeat, INBOX is looked at before LIST: Dovecot (2.3) takes about a
 * tenth of a second longer to open an 80,000 message INBOX after any LIST
 * in the same session (up to a quarter while a POP3 login reads the same
 * Maildir), and INBOX is what the POP3 look waits for. Only where the
 * history knows INBOX: it was there to open before. Its look_folder lives
 * apart (l->early) until the table exists. */
static bool inbox_first(struct imap_look *l, struct ma_history *h, struct session *ss)
{
	struct ma_folder_prev prev = { 0 };
	if (!h || ma_history_folder_last(h, l->account, "INBOX", &prev, NULL) != MA_OK || !prev.known)
		return true;
	struct look_folder *lf = calloc(1, sizeof *lf);
	if (!lf || !(lf->f.name = strdup("INBOX")) || !(lf->f.raw_name = strdup("INBOX"))) {
		if (lf)
			ma_folder_clear(&lf->f);
		free(lf);
		ma_fail(&l->err, MA_ERR_NOMEM, NULL);
		return false;
	}
	l->early = lf;
	pthread_mutex_lock(&l->lock);
	l->opening++; /* settle() counts it off */
	pthread_mutex_unlock(&l->lock);
	return look_one(ss, lf, 0);
}

/* A first audit shown with a progress bar (the full-screen program): the
 * messages of every folder counted by STATUS before the look, so that the
 * bar moves by messages over all folders, not by folders. One round trip a
 * folder, only where every message is read anyway; an audit with history
 * STATUSes the folders it knows in look_folder. A folder STATUS refuses
 * leaves the count unknown (the bar counts folders); false: the session
 * broke, the look has failed (as its EXAMINE would have). */
static bool count_messages(struct imap_look *l, struct ma_history *h)
{
	if (!l->opts->progress)
		return true;
	if (h) {
		int64_t id;
		time_t when;
		bool found = true;
		struct ma_error e;
		if (ma_history_prev_audit(h, l->account, INT64_MAX, &id, &when, &found, &e) != MA_OK ||
		    found)
			return true;
	}
	size_t sum = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct look_folder *lf = &l->folders[i];
		if (lf->f.noselect)
			continue;
		/* Into a copy: the folder's counts are EXAMINE's. */
		struct ma_folder f = { .name = lf->f.name, .raw_name = lf->f.raw_name };
		struct ma_error e;
		ma_status st = ma_imap_status(l->s, &f, &e);
		if (st != MA_OK) {
			if (ma_imap_broken(l->s) || st == MA_ERR_NOMEM) {
				folder_failed(l, l->s, st, &e);
				return false;
			}
			return true;
		}
		sum += f.messages;
	}
	l->expect_all = sum;
	return true;
}

/* The look is over. INBOX looked at first is in the table since LIST
 * (list_folders); without a LIST (it or INBOX failed) INBOX is alone
 * there, a copy too: the writer may still read l->early, which look_clear
 * frees. */
static void early_done(struct imap_look *l)
{
	if (!l->early || l->folders)
		return;
	if (!(l->folders = calloc(1, sizeof *l->folders))) {
		l->oom = true;
		return;
	}
	memcpy(&l->folders[0], l->early, sizeof *l->early);
	l->n = 1;
}

/* Whether a folder still to look at may take long: one the history does
 * not know by its modseq is read in full, or has the flags of every known
 * message fetched. On a repeat where every folder is known by its modseq
 * (a few round trips each, on a server with CONDSTORE), a second session
 * would only connect and log in (a TLS handshake and a new server process,
 * beside the POP3 look's) to find nothing left to do. */
static bool some_to_read(const struct imap_look *l, struct ma_history *h)
{
	if (!h || !ma_imap_condstore(l->s) || look_force_full())
		return true;
	for (size_t i = l->early ? 1 : 0; i < l->n; i++) {
		const struct look_folder *lf = &l->folders[i];
		struct ma_folder_prev prev = { 0 };
		if (lf->f.noselect)
			continue;
		if (ma_history_folder_last(h, l->account, lf->f.name, &prev, NULL) != MA_OK || !prev.known ||
		    !prev.modseq)
			return true;
	}
	return false;
}

void look_imap(struct imap_look *l, struct ma_history *h)
{
	size_t selectable = 0;
	struct inbox_ahead ahead;
	inbox_ahead_start(&ahead, l, h);
	bool opened = open_session(l);
	struct session ss = { .l = l, .s = l->s, .h = h, .src = SRC_IMAP, .ahead = &ahead };
	bool first = opened && inbox_first(l, h, &ss);
	inbox_ahead_end(&ahead);
	ss.ahead = NULL;
	if (!first || l->stop || !list_folders(l, &selectable) || !count_messages(l, h)) {
		l->oom = l->oom || l->err.status == MA_ERR_NOMEM;
		early_done(l);
		return;
	}
	/* With several folders, some to be read, the second session starts
	 * now; else only for a folder large enough to share (share_folder). */
	struct helper hp;
	helper_allow(l, &hp, h != NULL);
	if (selectable > 1 && some_to_read(l, h))
		start_helper(l);
	look_folders(&ss);
	helper_end(l, &hp);
	early_done(l);
	l->ok = !l->stop;
}

void look_init(struct imap_look *l)
{
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
}

void look_clear(struct imap_look *l)
{
	/* Its strings went to folders[0] (list_folders or early_done),
	 * unless that failed. */
	bool early_own = l->early && (!l->n || l->folders[0].f.name != l->early->f.name);
	for (size_t i = 0; i < l->n; i++)
		ma_folder_clear(&l->folders[i].f);
	if (early_own)
		ma_folder_clear(&l->early->f);
	free(l->early);
	l->early = NULL;
	free(l->folders);
	l->folders = NULL;
	l->n = 0;
	for (size_t i = 0; i < l->nalerts2; i++)
		free(l->alerts2[i]);
	free(l->alerts2);
	l->alerts2 = NULL;
	l->nalerts2 = 0;
	free(l->caps);
	l->caps = NULL;
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
}
