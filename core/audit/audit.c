#include "audit/audit.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/history.h"
#include "mail/imap.h"
#include "audit/ledger.h"
#include "base/parse.h"
#include "mail/pop3.h"

/* What the IMAP side saw of one folder, messages included (the result
 * keeps only the counts). */
struct look_folder {
	struct ma_folder f;
	bool examined;            /* every message of it was read */
	/* The same UIDs as the last audit recorded (see look_folder): nothing
	 * fetched. */
	bool unchanged;
	int64_t prev_audit;       /* unchanged since this audit */
	int64_t same_as;          /* ...whose rows were written by this one */
	unsigned deleted;
	uint32_t unseen;          /* counted from the fetched flags */
	uint64_t size;
	bool had_prev;            /* an earlier audit examined this folder */
	uint32_t prev_messages;   /* ...and counted this many messages */
	/* A folder both IMAP sessions read at once (see share_folder),
	 * under imap_look.lock: */
	bool shared;
	uint32_t range_next, range_end, range_width; /* UIDs not yet handed out */
	int readers;              /* sessions reading it; the last one ends it */
	bool failed;              /* a session could not read its part */
	bool settled;             /* known to be shared or not (see join_folder) */
	atomic_size_t read;       /* messages read, for the progress */
};

struct imap_look {
	struct look_folder *folders;
	size_t n;
	bool list_ok;
	struct ma_imap *s;        /* kept open for the recount */
	bool ok;
	/* Two sessions share the folders (see look_imap); under lock: */
	pthread_mutex_t lock;
	size_t next;              /* the next folder to look at */
	bool stop;                /* a session failed: the look has failed */
	size_t opening;           /* folders taken, not yet known to be shared or not */
	pthread_cond_t cond;      /* one of those became known */
	struct helper *helper;    /* the second session, if one may start (look_imap) */
	bool helper_started;
	pthread_t helper_tid;
	/* Still connecting when the first session has nothing left for it:
	 * abandoned, so that a second connection that hangs cannot hold the
	 * audit until its timeout. */
	enum { HELPER_CONNECTING, HELPER_WORKING, HELPER_ABANDONED } helper_state;
	bool all_examined;
	struct ma_error err;
	/* [ALERT] texts of the second session, taken before it closes (under
	 * lock); the first session's are read from s once the look is over. */
	char **alerts2;
	size_t nalerts2;
};

/* Whether IMAP found INBOX unchanged since the audit that recorded it: the
 * POP3 worker, which sees the same INBOX, waits for this after a STAT equal
 * to that audit's. Decided once, always (look_imap may fail early). */
struct inbox_verdict {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool decided;
	bool unchanged;
	int64_t audit;            /* the audit INBOX matched */
	uint32_t messages;
};

struct pop3_look {
	const struct ma_account *acct;
	const char *password;
	const struct ma_audit_opts *opts;
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

/* ---- The history writer ------------------------------------------------
 *
 * A first audit writes one row per message. Written after the network, those
 * rows would add their whole time to the audit; so the IMAP side hands each
 * fetched batch to a writer thread, which writes it while the next batch is
 * fetched. The writer owns the history handle from its first job until it
 * is joined; the IMAP side reads the earlier audits through a handle of its
 * own. Each folder is written inside a savepoint and all of IMAP inside
 * another, so a folder or an IMAP look that fails halfway leaves nothing.
 * The queue is bounded: a slow disk slows the fetch instead of filling
 * memory.
 *
 * Two IMAP sessions fetch different folders at once, but savepoints nest,
 * so the writer takes one folder at a time: while a folder is open it takes
 * only that folder's jobs (and the POP3 view); the others wait in the
 * queue. The bound is per producer and folder: a session waits once
 * MAX_QUEUED of its jobs for the folder it reads are queued. It never waits
 * for a folder other than the one it reads, so the open folder's readers
 * always get on, and its last reader hands in its END. */

#define BATCH 1000         /* messages per job */
#define MAX_QUEUED 32      /* jobs waiting for the writer (~8 MB) */

enum job_kind { JOB_FOLDER_START, JOB_MSGS, JOB_FOLDER_END, JOB_POP3 };
/* Who handed a job in: each has its own share of the queue. */
enum job_src { SRC_IMAP, SRC_IMAP2, SRC_POP3, NSRC };

struct job {
	enum job_kind kind;
	enum job_src src;
	struct look_folder *lf;   /* END reads its totals: the IMAP side is done with it */
	/* MSGS: owned by the job. Their strings live in text: one block per
	 * batch, freed by the writer, instead of four small ones per message
	 * allocated by one thread and freed by another. */
	struct ma_message *msgs;
	size_t n;
	char *text;
	size_t text_len, text_cap;
	size_t (*offs)[4];        /* while filled: where each string of msgs[i] is */
	bool ok;                  /* END: the folder was examined completely */
	const struct ma_pop3_view *view; /* POP3: the POP3 side is done with it */
	struct job *next;
};

struct writer {
	struct ma_history *h;
	int64_t account;
	time_t started;
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* a job came, room was made, or stopping */
	struct job *head, *tail;
	const struct look_folder *open; /* START taken, END not yet */
	bool stopping;            /* no more jobs will come */
	bool threaded;            /* a writer thread runs the jobs */
	bool lost;                /* a job could not be made (out of memory) */
	/* The writer thread's own until joined. */
	int64_t audit;            /* 0 until the first job began it */
	bool failed;              /* err says why; later jobs are dropped */
	struct ma_error err;
	char **resets;            /* folders whose UIDVALIDITY changed */
	size_t nresets;
	unsigned char hash[BATCH][32];  /* Message-ID hashes of one batch */
	const unsigned char *hashp[BATCH];
	bool pop3_in_folder;      /* written inside the open folder's savepoint */
	bool pop3_written;        /* the POP3 view, with this STAT: */
	uint32_t pop3_count;
	uint64_t pop3_size;
};

static void job_free(struct job *j)
{
	free(j->msgs);
	free(j->offs);
	free(j->text);
	free(j);
}

static ma_status write_job(struct writer *w, const struct job *j);

/* Called with the lock held as j is taken. */
static void note_open(struct writer *w, const struct job *j)
{
	if (j->kind == JOB_FOLDER_START)
		w->open = j->lf;
	else if (j->kind == JOB_FOLDER_END)
		w->open = NULL;
}

static void run_job(struct writer *w, struct job *j)
{
	if (!w->failed && write_job(w, j) != MA_OK)
		w->failed = true;
	job_free(j);
}

/* Jobs queued by j's producer for j's folder. */
static size_t queued_for(const struct writer *w, const struct job *j)
{
	size_t n = 0;
	for (const struct job *q = w->head; q; q = q->next)
		n += q->src == j->src && q->lf == j->lf;
	return n;
}

/* Hands j to the writer, waiting while the queue is full; without a writer
 * thread (it could not be started) the caller writes it. */
static void push_job(struct writer *w, struct job *j)
{
	if (!w->threaded) {
		/* Both the IMAP and the POP3 side hand in jobs. */
		pthread_mutex_lock(&w->lock);
		note_open(w, j);
		run_job(w, j);
		pthread_mutex_unlock(&w->lock);
		return;
	}
	j->next = NULL;
	pthread_mutex_lock(&w->lock);
	while (queued_for(w, j) >= MAX_QUEUED)
		pthread_cond_wait(&w->cond, &w->lock);
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void send_job(struct writer *w, enum job_src src, enum job_kind kind, struct look_folder *lf,
		     bool ok, const struct ma_pop3_view *view)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j) {
		/* The writer would see an END without its START: give up the
		 * history of this audit rather than write half of it. */
		pthread_mutex_lock(&w->lock);
		w->lost = true;
		pthread_mutex_unlock(&w->lock);
		return;
	}
	j->kind = kind;
	j->src = src;
	j->lf = lf;
	j->ok = ok;
	j->view = view;
	push_job(w, j);
}

/* The first job the writer may take now: any while no folder is open (each
 * producer hands in START before the rest of a folder, so that is a START
 * or the POP3 view), else the open folder's next one or the POP3 view.
 * *prevp: the link to it. */
static struct job *next_job(struct writer *w, struct job ***prevp)
{
	for (struct job **p = &w->head; *p; p = &(*p)->next) {
		if (!w->open || (*p)->lf == w->open || (*p)->kind == JOB_POP3) {
			*prevp = p;
			return *p;
		}
	}
	return NULL;
}

/* The next job, or NULL once the IMAP and POP3 sides are done and nothing
 * is left that the writer may take. */
static struct job *take_job(struct writer *w)
{
	struct job **prev = NULL, *j;
	pthread_mutex_lock(&w->lock);
	while (!(j = next_job(w, &prev)) && !w->stopping)
		pthread_cond_wait(&w->cond, &w->lock);
	if (j) {
		*prev = j->next;
		if (w->tail == j) {
			w->tail = NULL;
			for (struct job *k = w->head; k; k = k->next)
				w->tail = k;
		}
		note_open(w, j);
		pthread_cond_broadcast(&w->cond);
	} else if (w->head) {
		/* An open folder whose END never came (a job could not be
		 * made): the audit records nothing, and these go unwritten. */
		w->lost = true;
		while ((j = w->head)) {
			w->head = j->next;
			job_free(j);
		}
		w->tail = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	return j;
}

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	struct job *j;
	while ((j = take_job(w)))
		run_job(w, j);
	return NULL;
}

static void progress(const struct ma_audit_opts *o, enum ma_step step, const char *what,
		     size_t done, size_t total)
{
	if (o->progress) {
		struct ma_progress p = { step, what, done, total };
		o->progress(&p, o->progress_ctx);
	}
}

static void decide(struct inbox_verdict *v, bool unchanged, int64_t audit, uint32_t messages)
{
	pthread_mutex_lock(&v->lock);
	if (!v->decided) {
		v->decided = true;
		v->unchanged = unchanged;
		v->audit = audit;
		v->messages = messages;
		pthread_cond_broadcast(&v->cond);
	}
	pthread_mutex_unlock(&v->lock);
}

/* A POP3 STAT equal to the last recorded one proves little by itself (one
 * message out, another of the same size in); with IMAP's proof that INBOX
 * holds the very UIDs that audit saw, the UIDL list is that audit's too. */
static bool same_as_prev(struct pop3_look *l)
{
	if (!l->verdict || !l->prev.known || !l->prev.uidl_complete ||
	    l->view.stat_count != l->prev.stat_count || l->view.stat_size != l->prev.stat_size)
		return false;
	struct inbox_verdict *v = l->verdict;
	pthread_mutex_lock(&v->lock);
	while (!v->decided)
		pthread_cond_wait(&v->cond, &v->lock);
	bool same = v->unchanged && v->audit == l->prev.audit_id && v->messages == l->view.stat_count;
	pthread_mutex_unlock(&v->lock);
	return same;
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
	char how_long[48];
	if (delay == UINT32_MAX)
		snprintf(how_long, sizeof how_long, "(of a length it does not state clearly)");
	else
		snprintf(how_long, sizeof how_long, "%" PRIu32, delay);
	ma_fail(&l->err, MA_ERR_LOGIN_DELAY,
		"POP3 server %s:%u announces LOGIN-DELAY %s: a login by mailaudit would keep the user's "
		"own POP3 program out for %s%s, so POP3 was not audited "
		"(--pop3-despite-login-delay logs in anyway)",
		l->acct->pop3.host, l->acct->pop3.port, how_long,
		delay == UINT32_MAX ? "a while" : how_long, delay == UINT32_MAX ? "" : " s");
	l->skipped = true;
	return true;
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
	st = ma_pop3_login(l->s, l->acct->login, l->password, &l->err);
	if (st == MA_ERR_IN_USE)
		l->in_use = true;
	if (st == MA_ERR_IN_USE || st == MA_ERR_LOGIN_DELAY) {
		/* The server itself says a login now is in the way of another
		 * POP3 session: leave at once (QUIT) rather than at the end of
		 * the audit. Nothing waits on this thread but the join. */
		l->skipped = true;
		ma_pop3_close(l->s);
		l->s = NULL;
		return NULL;
	}
	if (st != MA_OK)
		return NULL;
	st = ma_pop3_scan_stat(l->s, &l->view, &l->err);
	if (st != MA_OK)
		return NULL;
	if (same_as_prev(l)) {
		l->same = true;
		l->ok = true;
		return NULL;
	}
	st = ma_pop3_scan_lists(l->s, &l->view, &l->err);
	l->ok = st == MA_OK;
	/* Written now, while IMAP is still fetching, instead of after it. */
	if (l->ok && l->w)
		send_job(l->w, SRC_POP3, JOB_POP3, NULL, true, &l->view);
	return NULL;
}

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

struct fetch_ctx {
	struct look_folder *lf;
	const struct ma_audit_opts *opts;
	const struct known *k;    /* flags-only fetch: sizes come from here */
	struct writer *w;         /* NULL: no history to write */
	enum job_src src;         /* which session fetches */
	struct job *batch;        /* messages on their way to w */
	size_t total;
	/* Counted here and added to lf once the fetch ends (add_counts):
	 * another session may be reading the same folder. */
	unsigned deleted;
	uint32_t unseen;
	uint64_t size;
};

#define NO_TEXT SIZE_MAX

/* Appends s (NULL: none) to j's text; *off: where. false on ENOMEM. */
static bool pack(struct job *j, const char *s, size_t *off)
{
	*off = NO_TEXT;
	if (!s)
		return true;
	size_t n = strlen(s) + 1;
	if (j->text_cap - j->text_len < n) {
		size_t cap = j->text_cap ? j->text_cap : 65536;
		while (cap - j->text_len < n)
			cap *= 2;
		char *t = realloc(j->text, cap);
		if (!t)
			return false;
		j->text = t;
		j->text_cap = cap;
	}
	memcpy(j->text + j->text_len, s, n);
	*off = j->text_len;
	j->text_len += n;
	return true;
}

/* Hands the batch to the writer, its strings pointing into its text (which
 * no longer moves). */
static void hand_over(struct fetch_ctx *c)
{
	struct job *j = c->batch;
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		char **field[4] = { &j->msgs[i].message_id, &j->msgs[i].date, &j->msgs[i].from,
				    &j->msgs[i].subject };
		for (int k = 0; k < 4; k++)
			*field[k] = j->offs[i][k] == NO_TEXT ? NULL : j->text + j->offs[i][k];
	}
	push_job(c->w, j);
	c->batch = NULL;
}

/* Copies m into the batch for the writer (its strings stay m's). */
static int keep_message(struct fetch_ctx *c, struct ma_message *m)
{
	if (!c->batch) {
		struct job *j = calloc(1, sizeof *j);
		if (!j || !(j->msgs = malloc(BATCH * sizeof *j->msgs)) ||
		    !(j->offs = malloc(BATCH * sizeof *j->offs))) {
			if (j)
				free(j->msgs);
			free(j);
			return -1;
		}
		j->kind = JOB_MSGS;
		j->src = c->src;
		j->lf = c->lf;
		c->batch = j;
	}
	struct job *j = c->batch;
	size_t *o = j->offs[j->n];
	if (!pack(j, m->message_id, &o[0]) || !pack(j, m->date, &o[1]) || !pack(j, m->from, &o[2]) ||
	    !pack(j, m->subject, &o[3]))
		return -1;
	j->msgs[j->n++] = *m;
	if (j->n == BATCH)
		hand_over(c);
	return 0;
}

static int on_message(struct ma_message *m, void *ctx)
{
	struct fetch_ctx *c = ctx;
	if (c->k) {
		size_t i = known_find(c->k, m->uid);
		if (i < c->k->n)
			m->size = c->k->sizes[i];
	}
	if (m->flags & MA_FLAG_DELETED)
		c->deleted++;
	if (!(m->flags & MA_FLAG_SEEN))
		c->unseen++;
	c->size += m->size;
	if (c->w && keep_message(c, m) != 0)
		return 1;
	size_t done = atomic_fetch_add(&c->lf->read, 1) + 1;
	if (done % 500 == 0)
		progress(c->opts, MA_STEP_MESSAGES, c->lf->f.name, done, c->total);
	return 0;
}

/* Ends a fetch: hands in the last batch and adds what it counted. */
static void end_fetch(struct fetch_ctx *c, struct imap_look *l)
{
	hand_over(c);
	pthread_mutex_lock(&l->lock);
	c->lf->deleted += c->deleted;
	c->lf->unseen += c->unseen;
	c->lf->size += c->size;
	pthread_mutex_unlock(&l->lock);
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
static ma_status fetch_changed(struct ma_imap *s, struct imap_look *l, struct look_folder *lf,
			       const struct known *k, const struct ma_audit_opts *opts, struct writer *w,
			       enum job_src src, struct ma_error *err)
{
	uint32_t *uids = NULL, *old = NULL;
	size_t n = 0;
	ma_status st = ma_imap_search_all(s, &uids, &n, err);
	if (st != MA_OK)
		return st;
	if (!(old = malloc((n ? n : 1) * sizeof *old))) {
		free(uids);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	/* Both lists ascend: split the present UIDs into known and new. */
	size_t nold = 0, nnew = 0;
	for (size_t i = 0, j = 0; i < n; i++) {
		while (j < k->n && k->uids[j] < uids[i])
			j++;
		if (j < k->n && k->uids[j] == uids[i])
			old[nold++] = uids[i];
		else
			uids[nnew++] = uids[i];
	}
	struct fetch_ctx c = { .lf = lf, .opts = opts, .k = k, .w = w, .src = src, .total = n };
	st = ma_imap_fetch_flags(s, old, nold, on_message, &c, err);
	c.k = NULL;
	if (st == MA_OK)
		st = ma_imap_fetch(s, uids, nnew, true, on_message, &c, err);
	end_fetch(&c, l);
	free(uids);
	free(old);
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
	if (n < SHARE_MIN || next <= 1)
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

/* A session is done with lf (st: how its part went): true for the last
 * one, which then ends the folder. */
static bool leave_folder(struct imap_look *l, struct look_folder *lf, ma_status st)
{
	pthread_mutex_lock(&l->lock);
	bool last = true;
	if (lf->shared) {
		lf->failed |= st != MA_OK;
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

/* One folder: STATUS if the history knows it, EXAMINE (never SELECT).
 * Unchanged since the last audit: the \Deleted UIDs only. Partly known:
 * fetch_changed. Never seen: every message, by UID ranges shared with the
 * other session if it is large (share_folder), else by sequence number. */
static ma_status look_folder(struct ma_imap *s, struct imap_look *l, struct look_folder *lf,
			     struct ma_history *h, int64_t account, const struct ma_audit_opts *opts,
			     struct writer *w, enum job_src src, struct ma_error *err)
{
	uint32_t *deleted = NULL;
	size_t n = 0;
	struct known k = { 0 };
	struct ma_folder_prev prev = { 0 };
	ma_status st = MA_OK;
	if (h && ma_history_folder_last(h, account, lf->f.name, &prev, NULL) != MA_OK)
		prev.known = false;
	/* STATUS serves to tell an unchanged folder without reading it. A
	 * folder never recorded is read whole, and EXAMINE and the fetched
	 * flags say all STATUS would (at 100,000 messages Dovecot spends as
	 * long on a STATUS as on the EXAMINE). */
	if (prev.known && (st = ma_imap_status(s, &lf->f, err)) != MA_OK)
		return st;
	uint32_t status_unseen = lf->f.unseen;
	lf->had_prev = prev.known;
	lf->prev_messages = prev.messages;
	/* Counting is enough to tell: the UIDs are read only for a folder
	 * that changed. */
	uint32_t count = 0;
	uint64_t total = 0;
	bool maybe_same = same_state(&lf->f, &prev) &&
			  ma_history_folder_count(h, account, lf->f.name, lf->f.uidvalidity, &count,
						  &total, NULL) == MA_OK &&
			  count == lf->f.messages;

	st = ma_imap_examine(s, &lf->f, err);
	if (st != MA_OK) {
		/* The counts of a folder that cannot be opened, for the
		 * report, as before; its error is what counts. */
		struct ma_error ignored;
		if (!prev.known && !ma_imap_broken(s))
			(void)ma_imap_status(s, &lf->f, &ignored);
		goto out;
	}
	if (maybe_same && same_state(&lf->f, &prev)) {
		st = ma_imap_search_deleted(s, &deleted, &n, err);
		if (st != MA_OK)
			goto out;
		lf->deleted = (unsigned)n;
		lf->unseen = status_unseen;
		lf->size = total;
		lf->unchanged = true;
		lf->prev_audit = prev.audit_id;
		lf->same_as = prev.same_as ? prev.same_as : prev.audit_id;
		lf->examined = true;
		goto out;
	}

	/* EXAMINE has the last word on UIDVALIDITY (STATUS may leave it out,
	 * or it may have changed in between): UIDs are known only under it. */
	if (prev.known && prev.uidvalidity == lf->f.uidvalidity)
		load_known(h, account, &lf->f, &k);
	struct fetch_ctx c = { .lf = lf, .opts = opts, .w = w, .src = src, .total = lf->f.messages };
	if (k.n) {
		st = fetch_changed(s, l, lf, &k, opts, w, src, err);
	} else if (share_folder(l, lf)) {
		/* Nothing known, and large: by UID ranges, with the other
		 * session once it is free (leave_folder ends it). */
		struct ranges rg = { l, lf };
		st = ma_imap_fetch_ranges(s, next_range, &rg, true, on_message, &c, err);
		end_fetch(&c, l);
		goto out;
	} else {
		/* Nothing known: every message is new, so no UID SEARCH to split
		 * known from new; fetch 1..EXISTS by sequence number. */
		st = ma_imap_fetch_all(s, lf->f.messages, true, on_message, &c, err);
		end_fetch(&c, l);
	}
	if (st == MA_OK) {
		lf->examined = true;
		/* Dovecot's STATUS UNSEEN can read 0 while a POP3 login indexes
		 * the same new Maildir at that moment; the flags we fetched are
		 * the truth for this look. */
		lf->f.unseen = lf->unseen;
	}
out:
	free(deleted);
	known_clear(&k);
	return st;
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
	pthread_mutex_unlock(&l->lock);
	return fatal;
}

/* A session with no folder left takes a share of one still being read
 * (false: none is). A folder the other session is still opening may
 * become one (INBOX, while its EXAMINE runs): it waits to know. */
static bool join_folder(struct imap_look *l, struct ma_imap *s, const struct ma_audit_opts *opts,
			struct writer *w, enum job_src src)
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
	if (!lf)
		return false;
	struct ma_error ferr;
	/* EXAMINE into a copy: the counts of lf are the first session's. */
	struct ma_folder f = { .name = lf->f.name, .raw_name = lf->f.raw_name };
	ma_status st = ma_imap_examine(s, &f, &ferr);
	/* Under another UIDVALIDITY the UIDs name other messages: leave the
	 * ranges to the first session. */
	if (st == MA_OK && f.uidvalidity == lf->f.uidvalidity) {
		struct fetch_ctx c = { .lf = lf, .opts = opts, .w = w, .src = src,
				       .total = lf->f.messages };
		struct ranges rg = { l, lf };
		st = ma_imap_fetch_ranges(s, next_range, &rg, true, on_message, &c, &ferr);
		end_fetch(&c, l);
	}
	bool same = f.uidvalidity == lf->f.uidvalidity;
	if (leave_folder(l, lf, st) && w)
		send_job(w, src, JOB_FOLDER_END, lf, lf->examined, NULL);
	if (st != MA_OK)
		return !folder_failed(l, s, st, &ferr);
	return same;
}

/* Looks at folders, taking the next one not yet taken, then shares in
 * those still being read, until none is left or the look has failed. */
static void look_folders(struct imap_look *l, struct ma_imap *s, struct ma_history *h,
			 int64_t account, const struct ma_audit_opts *opts, struct writer *w,
			 enum job_src src, struct inbox_verdict *verdict)
{
	for (;;) {
		pthread_mutex_lock(&l->lock);
		size_t i = l->stop || l->next >= l->n ? l->n : l->next++;
		bool open = i < l->n && !l->folders[i].f.noselect;
		l->opening += open;
		pthread_mutex_unlock(&l->lock);
		if (i == l->n)
			break;
		struct look_folder *lf = &l->folders[i];
		if (!open)
			continue;
		progress(opts, MA_STEP_FOLDERS, lf->f.name, i, l->n);
		struct ma_error ferr;
		if (w)
			send_job(w, src, JOB_FOLDER_START, lf, false, NULL);
		ma_status st = look_folder(s, l, lf, h, account, opts, w, src, &ferr);
		settle(l, lf);
		bool ok = st == MA_OK && lf->examined;
		if (leave_folder(l, lf, st) && w)
			send_job(w, src, JOB_FOLDER_END, lf, lf->shared ? lf->examined : ok, NULL);
		if (strcmp(lf->f.name, "INBOX") == 0)
			decide(verdict, st == MA_OK && lf->unchanged, lf->prev_audit, lf->f.messages);
		if (st != MA_OK && folder_failed(l, s, st, &ferr))
			return;
	}
	while (join_folder(l, s, opts, w, src))
		;
}

/* A second IMAP session, started once the folders are listed, looks at
 * folders while the first reads INBOX: the server answers each session
 * with a process of its own, and a first audit spends most of its time
 * waiting for the server. */
struct helper {
	const struct ma_account *acct;
	const char *password;
	const struct ma_audit_opts *opts;
	struct ma_net_opts net;   /* opts->net, with a cancel pipe of its own if it had none */
	int cancel_wr;            /* that pipe's end, -1 if none */
	bool history;             /* read earlier audits (through a handle of its own) */
	int64_t account;
	struct writer *w;
	struct imap_look *l;
	struct inbox_verdict *verdict;
};

/* The audit keeps at most this many alerts (each session keeps its own,
 * see imap.c). */
#define MAX_ALERTS 16

/* Appends the texts of a[0..n) not yet in *list, up to MAX_ALERTS. An alert
 * lost to ENOMEM is not worth failing the audit. */
static void add_alerts(char ***list, size_t *len, const char *const *a, size_t n)
{
	for (size_t i = 0; i < n && *len < MAX_ALERTS; i++) {
		bool seen = false;
		for (size_t j = 0; j < *len && !seen; j++)
			seen = strcmp((*list)[j], a[i]) == 0;
		if (seen)
			continue;
		char **l = realloc(*list, (*len + 1) * sizeof *l);
		if (!l)
			return;
		*list = l;
		if (!(l[*len] = strdup(a[i])))
			return;
		(*len)++;
	}
}

static void *helper_thread(void *arg)
{
	struct helper *hp = arg;
	struct ma_imap *s = NULL;
	struct ma_history *h = NULL;
	struct ma_error e;
	/* It verifies the server as the first session did. A server that
	 * allows one session per user refuses it: the first session then
	 * looks at every folder, and nothing is lost but time. */
	bool go = ma_imap_open_as(&hp->acct->imap, &hp->net, hp->opts->trace, "imap2", &s, &e) == MA_OK &&
		  ma_imap_login(s, hp->acct->login, hp->password, &e) == MA_OK;
	pthread_mutex_lock(&hp->l->lock);
	if (hp->l->helper_state == HELPER_ABANDONED)
		go = false;
	else
		hp->l->helper_state = HELPER_WORKING;
	pthread_mutex_unlock(&hp->l->lock);
	if (go) {
		if (hp->history && ma_history_open(hp->opts->state_dir, &h, NULL) != MA_OK)
			h = NULL; /* its folders are then fetched in full */
		look_folders(hp->l, s, h, hp->account, hp->opts, hp->w, SRC_IMAP2, hp->verdict);
	}
	/* Its alerts too: the server may say something in the folders it
	 * read (EXAMINE) that the first session never opened. An abandoned
	 * session's are dropped with it. */
	if (go) {
		size_t na = 0;
		const char *const *a = ma_imap_alerts(s, &na);
		pthread_mutex_lock(&hp->l->lock);
		add_alerts(&hp->l->alerts2, &hp->l->nalerts2, a, na);
		pthread_mutex_unlock(&hp->l->lock);
	}
	ma_history_close(h);
	ma_imap_close(s);
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

static void look_imap(const struct ma_account *acct, const char *password,
		      const struct ma_audit_opts *opts, struct ma_history *h, int64_t account,
		      struct writer *w, struct imap_look *l, struct inbox_verdict *verdict,
		      struct ma_audit_result *r)
{
	struct ma_folder *folders = NULL;
	size_t n = 0;
	progress(opts, MA_STEP_CONNECT, acct->imap.host, 0, 0);
	if (ma_imap_open(&acct->imap, &opts->net, opts->trace, &l->s, &l->err) != MA_OK)
		return;
	if (ma_imap_cert(l->s) && ma_imap_cert(l->s)->present) {
		r->imap_cert = *ma_imap_cert(l->s);
		r->imap_tls = true;
	}
	progress(opts, MA_STEP_LOGIN, acct->login, 0, 0);
	if (ma_imap_login(l->s, acct->login, password, &l->err) != MA_OK)
		return;
	r->imap_caps = strdup(ma_imap_caps(l->s));
	if (ma_imap_list(l->s, &folders, &n, &l->err) != MA_OK)
		return;
	l->list_ok = true;
	l->folders = calloc(n ? n : 1, sizeof *l->folders);
	if (!l->folders) {
		for (size_t i = 0; i < n; i++)
			ma_folder_clear(&folders[i]);
		free(folders);
		ma_fail(&l->err, MA_ERR_NOMEM, NULL);
		return;
	}
	size_t selectable = 0;
	for (size_t i = 0; i < n; i++) {
		l->folders[i].f = folders[i];
		selectable += !folders[i].noselect;
	}
	free(folders);
	l->n = n;
	l->all_examined = true;
	/* Jobs from two sessions need the writer thread to keep them apart.
	 * With several folders the second session starts now; with one, only
	 * if it is large enough to share (share_folder). */
	struct helper hp = { .acct = acct, .password = password, .opts = opts, .net = opts->net,
			     .cancel_wr = -1, .history = h != NULL, .account = account, .w = w, .l = l,
			     .verdict = verdict };
	if (!opts->one_imap_session && (!w || w->threaded)) {
		int cancel[2];
		if (hp.net.cancel_fd < 0 && pipe2(cancel, O_CLOEXEC) == 0) {
			hp.net.cancel_fd = cancel[0];
			hp.cancel_wr = cancel[1];
		}
		l->helper = &hp;
	}
	if (selectable > 1)
		start_helper(l);
	look_folders(l, l->s, h, account, opts, w, SRC_IMAP, verdict);
	pthread_mutex_lock(&l->lock);
	bool started = l->helper_started;
	bool abandon = started && l->helper_state == HELPER_CONNECTING;
	if (abandon)
		l->helper_state = HELPER_ABANDONED;
	l->helper = NULL; /* hp is about to go */
	pthread_mutex_unlock(&l->lock);
	if (abandon && hp.cancel_wr >= 0 && write(hp.cancel_wr, "x", 1) != 1) {
		/* Not fatal: the join then waits for the connect timeout. */
	}
	if (started)
		pthread_join(l->helper_tid, NULL);
	if (hp.cancel_wr >= 0) {
		close(hp.cancel_wr);
		close(hp.net.cancel_fd);
	}
	l->ok = !l->stop;
}

/* POP3 and IMAP looked at INBOX at slightly different moments; a message
 * arriving in between is not a mismatch. Ask both once more. */
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
 * new login, and take the new counts if they now agree. */
static void recount(struct imap_look *il, struct pop3_look *pl)
{
	struct look_folder *inbox = il->n && strcmp(il->folders[0].f.name, "INBOX") == 0 ? &il->folders[0] : NULL;
	if (!inbox || !il->s || !pl->s || pl->view.stat_count == inbox->f.messages)
		return;
	/* Logged in despite LOGIN-DELAY (the user's choice, once): a second
	 * login would only be refused, or lock the user's program out anew. */
	if (pl->login_delay)
		return;
	struct ma_error e;
	uint32_t count;
	uint64_t size;
	struct ma_folder probe = { 0 };
	probe.raw_name = inbox->f.raw_name;
	probe.name = inbox->f.name;
	if (fresh_stat(pl, &count, &size, &e) == MA_OK &&
	    ma_imap_status(il->s, &probe, &e) == MA_OK && count == probe.messages) {
		pl->view.stat_count = count;
		pl->view.stat_size = size;
		inbox->f.messages = probe.messages;
	}
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int collect_gone(const struct ma_gone_msg *g, void *ctx)
{
	struct ma_audit_result *r = ctx;
	struct ma_lost_msg *n = realloc(r->lost, (r->nlost + 1) * sizeof *n);
	if (!n)
		return 1;
	r->lost = n;
	struct ma_lost_msg *m = &r->lost[r->nlost++];
	memset(m, 0, sizeof *m);
	m->folder = dup_or_null(g->folder);
	m->uid = g->uid;
	m->size = g->size;
	m->internaldate = g->internaldate;
	m->date = dup_or_null(g->date);
	m->from = dup_or_null(g->from);
	m->subject = dup_or_null(g->subject);
	m->last_seen = g->last_seen;
	m->gone_to = dup_or_null(g->gone_to);
	m->renumbered = g->renumbered;
	m->folder_gone = g->folder_gone;
	m->role = g->role;
	return 0;
}

static int collect_audit(const struct ma_audit_row *a, void *ctx)
{
	struct ma_audit_result *r = ctx;
	struct ma_audit_summary *n = realloc(r->history, (r->nhistory + 1) * sizeof *n);
	if (!n)
		return 1;
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

static ma_status add_name(char ***list, size_t *n, const char *name)
{
	char **l = realloc(*list, (*n + 1) * sizeof *l);
	if (!l)
		return MA_ERR_NOMEM;
	*list = l;
	if (!(l[*n] = strdup(name)))
		return MA_ERR_NOMEM;
	(*n)++;
	return MA_OK;
}

/* A folder examined completely: whether its UIDVALIDITY changed, and its
 * counts. The messages came before in JOB_MSGS. */
static ma_status write_folder(struct writer *w, const struct look_folder *lf)
{
	struct ma_error *err = &w->err;
	uint32_t prev_validity = 0, prev_max = 0;
	bool known = false;
	ma_status st = ma_history_folder_prev(w->h, w->account, lf->f.name, &prev_validity,
					      &prev_max, &known, err);
	if (st != MA_OK)
		return st;
	if (known && prev_validity != lf->f.uidvalidity &&
	    add_name(&w->resets, &w->nresets, lf->f.name) != MA_OK)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	st = ma_history_put_folder(w->h, w->audit, &lf->f, lf->deleted, lf->size, err);
	if (st != MA_OK)
		return st;
	return ma_history_release(w->h, "folder", true, err);
}

/* An unchanged folder is recorded as the same as the audit whose rows hold
 * its messages: nothing of its rows is rewritten. After the IMAP look, like
 * the rest of record, so that a look that fails records none of it. */
static ma_status write_unchanged(struct ma_history *h, int64_t audit, const struct look_folder *lf,
				 struct ma_error *err)
{
	return ma_history_put_folder_same(h, audit, &lf->f, lf->deleted, lf->size, lf->same_as, err);
}

/* The audit begins with the first job: from then on it holds the history's
 * write lock until it commits (another mailaudit waits in begin). */
static ma_status write_job(struct writer *w, const struct job *j)
{
	struct ma_error *err = &w->err;
	ma_status st = MA_OK;
	if (!w->audit) {
		st = ma_history_begin(w->h, w->account, w->started, &w->audit, err);
		if (st == MA_OK)
			st = ma_history_savepoint(w->h, "imap", err);
		if (st != MA_OK)
			return st;
	}
	const struct look_folder *lf = j->lf;
	switch (j->kind) {
	case JOB_FOLDER_START:
		return ma_history_savepoint(w->h, "folder", err);
	case JOB_MSGS:
		for (size_t i = 0; i < j->n; i++) {
			w->hashp[i] = NULL;
			if (j->msgs[i].message_id) {
				ma_msgid_hash(j->msgs[i].message_id, w->hash[i]);
				w->hashp[i] = w->hash[i];
			}
		}
		return ma_history_put_messages(w->h, w->audit, lf->f.name, lf->f.uidvalidity, j->msgs,
					       j->n, w->hashp, err);
	case JOB_FOLDER_END:
		if (!j->ok) {
			/* The rollback takes back a POP3 view written meanwhile. */
			w->pop3_written &= !w->pop3_in_folder;
			w->pop3_in_folder = false;
			return ma_history_release(w->h, "folder", false, err);
		}
		w->pop3_in_folder = false;
		if (lf->unchanged)
			return ma_history_release(w->h, "folder", true, err);
		return write_folder(w, lf);
	case JOB_POP3:
		st = ma_history_put_pop3(w->h, w->audit, j->view, err);
		if (st == MA_OK) {
			w->pop3_in_folder = w->open != NULL;
			w->pop3_written = true;
			w->pop3_count = j->view->stat_count;
			w->pop3_size = j->view->stat_size;
		}
		return st;
	}
	return st;
}

/* Ends what the writer began and writes the rest: the POP3 view, what
 * vanished, the analysis. All in one transaction: a cut-off audit leaves no
 * trace. */
static ma_status record(struct ma_history *h, int64_t account, struct ma_audit_result *r,
			struct imap_look *il, const struct pop3_look *pl, struct writer *w,
			struct ma_error *err)
{
	int64_t audit = w->audit;
	ma_status st;
	if (audit) {
		/* The folders stay only if the whole IMAP look succeeded: a half
		 * look would make the next comparison see phantom changes. */
		st = ma_history_release(h, "imap", il->ok, err);
		if (st != MA_OK)
			goto fail;
	} else {
		st = ma_history_begin(h, account, r->started, &audit, err);
		if (st != MA_OK)
			return st;
	}
	if (il->ok) {
		r->uidvalidity_reset = w->resets;
		r->nuidvalidity_reset = w->nresets;
		w->resets = NULL;
		w->nresets = 0;
		for (size_t i = 0; i < il->n && st == MA_OK; i++)
			if (il->folders[i].examined && il->folders[i].unchanged)
				st = write_unchanged(h, audit, &il->folders[i], err);
		if (st != MA_OK)
			goto fail;
	}
	int64_t prev_id;
	time_t prev_time;
	bool found;
	st = ma_history_prev_audit(h, account, audit, &prev_id, &prev_time, &found, err);
	if (st != MA_OK)
		goto fail;
	r->first_audit = !found;
	r->prev_audit = found ? prev_time : 0;

	/* fill_result has already moved the POP3 view into r: pl->view is
	 * empty here, and recording it would say POP3 saw nothing. */
	if (r->pop3_ok && pl->same) {
		/* Another mailaudit may have recorded an audit since we read
		 * the last POP3 view: then the UIDLs we did not read are not
		 * known, and this audit records no POP3 view (nothing is marked
		 * gone for it either). */
		struct ma_pop3_prev now;
		st = ma_history_pop3_prev(h, account, &now, err);
		if (st != MA_OK)
			goto fail;
		if (now.known && now.audit_id == pl->prev.audit_id)
			st = ma_history_put_pop3_same(h, audit, &r->pop3, pl->prev.audit_id, err);
	} else if (r->pop3_ok) {
		/* The writer wrote the view already, unless the IMAP rollback
		 * above took it back (it was inside that savepoint) or the
		 * recount changed STAT since; writing it again is harmless. */
		bool written = w->pop3_written && il->ok && w->pop3_count == r->pop3.stat_count &&
			       w->pop3_size == r->pop3.stat_size;
		if (!written)
			st = ma_history_put_pop3(h, audit, &r->pop3, err);
	}
	if (st != MA_OK)
		goto fail;
	st = ma_history_detect_gone(h, audit, il->ok && il->list_ok && il->all_examined, err);
	if (st == MA_OK)
		st = ma_history_gone(h, audit, collect_gone, r, err);
	/* What stays on record until acknowledged: this audit's losses, just
	 * written by detect_gone, and every earlier one still unacknowledged,
	 * so the analysis keeps the verdict where it belongs. */
	if (st == MA_OK)
		st = ma_ledger_collect(h, account, audit, 0, true, 0, &r->ledger, &r->nledger, err);
	if (st != MA_OK)
		goto fail;
	/* The verdict is part of the audit row, so analyze before commit. */
	st = ma_analyze(r, err);
	if (st != MA_OK)
		goto fail;
	st = ma_history_commit(h, audit, r->finished, ma_severity_name(r->verdict), err);
	if (st != MA_OK)
		return st;
	return ma_history_audits(h, account, 10, collect_audit, r, err);
fail:
	ma_history_rollback(h);
	return st;
}

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

static void fill_result(struct ma_audit_result *r, struct imap_look *il, struct pop3_look *pl)
{
	r->imap_ok = il->ok;
	r->imap_err = il->err;
	if (il->ok) {
		r->folders = calloc(il->n ? il->n : 1, sizeof *r->folders);
		if (r->folders) {
			for (size_t i = 0; i < il->n; i++) {
				struct ma_folder *f = &r->folders[i].folder;
				const struct ma_folder *src = &il->folders[i].f;
				*f = *src;
				f->name = strdup(src->name);
				f->raw_name = strdup(src->raw_name);
				f->msgs = NULL;
				f->nmsgs = f->capmsgs = 0;
				r->folders[i].deleted = il->folders[i].deleted;
				r->folders[i].size = il->folders[i].size;
			}
			r->nfolders = il->n;
			fill_deltas(r, il);
		}
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
}

ma_status ma_audit_run(const struct ma_account *acct, const char *password,
		       const struct ma_audit_opts *opts, struct ma_audit_result **out,
		       struct ma_error *err)
{
	*out = NULL;
	struct ma_audit_result *r = calloc(1, sizeof *r);
	if (!r)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	ma_transport_init();
	r->started = opts->now ? opts->now : time(NULL);
	r->insecure = opts->net.insecure;
	r->imap_endpoint = acct->imap;
	r->pop3_endpoint = acct->pop3;
	snprintf(r->login, sizeof r->login, "%s", acct->login);
	snprintf(r->account_label, sizeof r->account_label, "%s @ %s", acct->login,
		 acct->has_imap ? acct->imap.host : acct->pop3.host);

	struct ma_history *h = NULL;
	int64_t account = 0;
	if (!opts->no_history) {
		/* The same key as --lost and --ack find it by (ledger.c). */
		const char *key_host;
		uint32_t port_key;
		ma_ledger_key(acct, &key_host, &port_key);
		if (ma_history_open(opts->state_dir, &h, &r->history_err) != MA_OK ||
		    ma_history_account(h, acct->login, key_host, port_key, &account,
				       &r->history_err) != MA_OK) {
			ma_history_close(h);
			h = NULL;
		}
	}

	struct imap_look il = { 0 };
	pthread_mutex_init(&il.lock, NULL);
	pthread_cond_init(&il.cond, NULL);
	struct inbox_verdict verdict = { .decided = false };
	pthread_mutex_init(&verdict.lock, NULL);
	pthread_cond_init(&verdict.cond, NULL);
	struct pop3_look pl = { .acct = acct, .password = password, .opts = opts };
	/* Read before the worker starts: the history handle is not shared. */
	if (h && acct->has_imap && ma_history_pop3_prev(h, account, &pl.prev, NULL) == MA_OK)
		pl.verdict = &verdict;
	/* From here until the writer is joined, h is the writer's; the IMAP
	 * side reads the earlier audits through hr. */
	struct writer w = { .h = h, .account = account, .started = r->started };
	struct ma_history *hr = NULL;
	pthread_t writer_tid;
	if (h && acct->has_imap) {
		pthread_mutex_init(&w.lock, NULL);
		pthread_cond_init(&w.cond, NULL);
		w.threaded = pthread_create(&writer_tid, NULL, writer_thread, &w) == 0;
		if (ma_history_open(opts->state_dir, &hr, NULL) != MA_OK)
			hr = NULL; /* every folder is then fetched in full */
		pl.w = &w;
	}
	pthread_t pop3_tid;
	bool pop3_started = false;
	if (acct->has_pop3) {
		r->pop3_tried = true;
		pop3_started = pthread_create(&pop3_tid, NULL, pop3_thread, &pl) == 0;
		if (!pop3_started)
			ma_fail(&pl.err, MA_ERR_NOMEM, "cannot start the POP3 worker");
	}
	if (acct->has_imap) {
		r->imap_tried = true;
		look_imap(acct, password, opts, hr, account, h ? &w : NULL, &il, &verdict, r);
	}
	ma_history_close(hr);
	decide(&verdict, false, 0, 0); /* no INBOX looked at: POP3 must list */
	if (pop3_started) {
		progress(opts, MA_STEP_POP3, acct->pop3.host, 0, 0);
		pthread_join(pop3_tid, NULL);
	}
	/* Only now: the POP3 side may still have handed in its view. */
	if (h && acct->has_imap) {
		if (w.threaded) {
			pthread_mutex_lock(&w.lock);
			w.stopping = true;
			pthread_cond_broadcast(&w.cond);
			pthread_mutex_unlock(&w.lock);
			pthread_join(writer_tid, NULL);
		}
		pthread_cond_destroy(&w.cond);
		pthread_mutex_destroy(&w.lock);
		if (w.lost && !w.failed) {
			w.failed = true;
			ma_fail(&w.err, MA_ERR_NOMEM, NULL);
		}
	}
	pthread_cond_destroy(&verdict.cond);
	pthread_mutex_destroy(&verdict.lock);
	if (il.ok && pl.ok)
		recount(&il, &pl);
	/* The first session's alerts (greeting, login, LIST, its folders),
	 * then the second's: each text once. Also when the look failed: an
	 * alert often says why ("account locked"). */
	size_t nalerts = 0;
	const char *const *alerts = ma_imap_alerts(il.s, &nalerts);
	add_alerts(&r->alerts, &r->nalerts, alerts, nalerts);
	add_alerts(&r->alerts, &r->nalerts, (const char *const *)il.alerts2, il.nalerts2);
	for (size_t i = 0; i < il.nalerts2; i++)
		free(il.alerts2[i]);
	free(il.alerts2);
	ma_imap_close(il.s);
	ma_pop3_close(pl.s);

	fill_result(r, &il, &pl);
	r->finished = opts->now ? opts->now : time(NULL);

	progress(opts, MA_STEP_HISTORY, NULL, 0, 0);
	/* An audit that saw nothing records nothing: it would only make the
	 * next comparison look at an empty mailbox. */
	bool analyzed = false;
	/* A cancelled audit records nothing either: the user stopped it, and
	 * half a look would make the next comparison see phantom losses. */
	bool cancelled = il.err.status == MA_ERR_CANCELLED || pl.err.status == MA_ERR_CANCELLED;
	if (h && w.failed) {
		r->history_err = w.err;
		ma_history_rollback(h);
	} else if (h && (il.ok || pl.ok) && !cancelled) {
		if (record(h, account, r, &il, &pl, &w, &r->history_err) == MA_OK) {
			analyzed = true;
		} else {
			/* Go on without history: the look itself is still worth
			 * reporting, and history_err says what went wrong. */
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
		}
	}
	progress(opts, MA_STEP_ANALYSIS, NULL, 0, 0);
	ma_status st = analyzed ? MA_OK : ma_analyze(r, err);
	ma_history_close(h); /* rolls back what was begun and not recorded */
	for (size_t i = 0; i < w.nresets; i++)
		free(w.resets[i]);
	free(w.resets);

	for (size_t i = 0; i < il.n; i++) {
		ma_folder_clear(&il.folders[i].f);
	}
	free(il.folders);
	pthread_cond_destroy(&il.cond);
	pthread_mutex_destroy(&il.lock);
	ma_pop3_view_clear(&pl.view);
	progress(opts, MA_STEP_DONE, NULL, 0, 0);
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
