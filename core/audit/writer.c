/* The history writer: see writer.h. */
#include "audit/writer.h"

#include <stdlib.h>
#include <string.h>

#include "audit/look.h"
#include "base/parse.h"
#include "store/history.h"

/* Jobs a producer may have waiting for the writer (a job is about 0.2 MB):
 * enough to read on while the writer is busy with another folder, whose
 * jobs come first (at 100,000 messages 8 instead of 32 cost a tenth more
 * time). Once the audit meets a folder past LARGE_FOLDER messages, the
 * writer is the slower side: the queue stays full whatever its length,
 * and a longer one only holds more memory (at a million messages 10 MB
 * more, beside a POP3 view of 26 MB). */
#define MAX_QUEUED 32
#define MAX_QUEUED_LARGE 8
#define LARGE_FOLDER 131072
#define POP3_SLICE 4096    /* UIDLs of a POP3 view written between two other jobs */

enum job_kind { JOB_FOLDER_START, JOB_MSGS, JOB_GONE, JOB_FOLDER_END, JOB_POP3 };

struct job {
	enum job_kind kind;
	enum writer_src src;
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
	int64_t pop3_prev;        /* POP3: written as a delta against this audit's; 0: in full */
	size_t pop3_next;         /* POP3 in full: the entries written so far, POP3_SLICE at a time */
	uint32_t *uids;           /* GONE: known UIDs the server says were expunged; owned */
	struct job *next;
};

static void job_free(struct job *j)
{
	free(j->msgs);
	free(j->offs);
	free(j->text);
	free(j->uids);
	free(j);
}

static ma_status write_job(struct writer *w, struct job *j, bool *again);

/* Called with the lock held as j is taken. */
static void note_open(struct writer *w, const struct job *j)
{
	if (j->kind == JOB_FOLDER_START)
		w->open = j->lf;
	else if (j->kind == JOB_FOLDER_END)
		w->open = NULL;
}

/* Writes j, or the next slice of it: a POP3 view written in full goes
 * in slices with the IMAP batches in between (at the queue's end again),
 * so that the IMAP side does not wait the whole view's time for room in
 * the queue. Without a writer thread (the lock held) all at once. */
static void run_job(struct writer *w, struct job *j)
{
	bool again;
	do {
		again = false;
		if (!w->failed && write_job(w, j, &again) != MA_OK)
			w->failed = true;
	} while (again && !w->failed && !w->threaded);
	if (again && !w->failed) {
		pthread_mutex_lock(&w->lock);
		j->next = NULL;
		if (w->tail)
			w->tail->next = j;
		else
			w->head = j;
		w->tail = j;
		pthread_mutex_unlock(&w->lock);
		return;
	}
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
	if (j->lf && j->lf->f.messages > LARGE_FOLDER)
		w->large = true;
	while (queued_for(w, j) >= (w->large ? MAX_QUEUED_LARGE : MAX_QUEUED))
		pthread_cond_wait(&w->cond, &w->lock);
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* A job that could not be handed in: the writer would see an END without
 * its START, or no POP3 view: give up the history of this audit rather
 * than write half of it. */
static void lost_job(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	w->oom = true;
	pthread_mutex_unlock(&w->lock);
}

static void send_job(struct writer *w, enum writer_src src, enum job_kind kind, struct look_folder *lf,
		     bool ok, const struct ma_pop3_view *view)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j) {
		lost_job(w);
		return;
	}
	j->kind = kind;
	j->src = src;
	j->lf = lf;
	j->ok = ok;
	j->view = view;
	push_job(w, j);
}

void writer_folder_start(struct writer *w, enum writer_src src, struct look_folder *lf)
{
	send_job(w, src, JOB_FOLDER_START, lf, false, NULL);
}

void writer_folder_end(struct writer *w, enum writer_src src, struct look_folder *lf, bool ok)
{
	send_job(w, src, JOB_FOLDER_END, lf, ok, NULL);
}

bool writer_gone(struct writer *w, enum writer_src src, struct look_folder *lf, uint32_t *uids, size_t n)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j) {
		free(uids);
		return false;
	}
	j->kind = JOB_GONE;
	j->src = src;
	j->lf = lf;
	j->uids = uids;
	j->n = n;
	push_job(w, j);
	return true;
}

void writer_pop3(struct writer *w, const struct ma_pop3_view *view, int64_t prev_audit)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j) {
		lost_job(w);
		return;
	}
	j->kind = JOB_POP3;
	j->src = SRC_POP3;
	j->ok = true;
	j->view = view;
	j->pop3_prev = prev_audit;
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
		w->oom = true;
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

void writer_start(struct writer *w, struct ma_history *h, int64_t account, time_t started)
{
	w->h = h;
	w->account = account;
	w->started = started;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->threaded = pthread_create(&w->tid, NULL, writer_thread, w) == 0;
}

void writer_stop(struct writer *w)
{
	if (w->threaded) {
		pthread_mutex_lock(&w->lock);
		w->stopping = true;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->tid, NULL);
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	/* Out of memory says more than what failed for want of it. */
	if (w->oom) {
		w->failed = true;
		ma_fail(&w->err, MA_ERR_NOMEM, NULL);
	}
}

void writer_clear(struct writer *w)
{
	for (size_t i = 0; i < w->nresets; i++)
		free(w->resets[i]);
	free(w->resets);
	w->resets = NULL;
	w->nresets = 0;
}

/* ---- Batches of fetched messages ---------------------------------------- */

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
void writer_flush(struct writer_feed *f)
{
	struct job *j = f->batch;
	if (!j)
		return;
	/* Queued, the batch holds only what it carries: its text grew by
	 * doubling, a third of it unused on average. A smaller block that
	 * cannot be had leaves the text as it is. */
	char *t = j->text_len ? realloc(j->text, j->text_len) : NULL;
	if (t) {
		j->text = t;
		j->text_cap = j->text_len;
	}
	for (size_t i = 0; i < j->n; i++) {
		char **field[4] = { &j->msgs[i].message_id, &j->msgs[i].date, &j->msgs[i].from,
				    &j->msgs[i].subject };
		for (int k = 0; k < 4; k++)
			*field[k] = j->offs[i][k] == NO_TEXT ? NULL : j->text + j->offs[i][k];
	}
	free(j->offs);
	j->offs = NULL;
	push_job(f->w, j);
	f->batch = NULL;
}

bool writer_keep(struct writer_feed *f, const struct ma_message *m)
{
	if (!f->batch) {
		struct job *j = calloc(1, sizeof *j);
		if (!j || !(j->msgs = malloc(WRITER_BATCH * sizeof *j->msgs)) ||
		    !(j->offs = malloc(WRITER_BATCH * sizeof *j->offs))) {
			if (j)
				free(j->msgs);
			free(j);
			return false;
		}
		j->kind = JOB_MSGS;
		j->src = f->src;
		j->lf = f->lf;
		f->batch = j;
	}
	struct job *j = f->batch;
	size_t *o = j->offs[j->n];
	if (!pack(j, m->message_id, &o[0]) || !pack(j, m->date, &o[1]) || !pack(j, m->from, &o[2]) ||
	    !pack(j, m->subject, &o[3]))
		return false;
	j->msgs[j->n++] = *m;
	if (j->n == WRITER_BATCH)
		writer_flush(f);
	return true;
}

/* ---- Writing ------------------------------------------------------------- */

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
	st = lf->delta ? ma_history_put_folder_delta(w->h, w->audit, &lf->f, lf->deleted, lf->size, err)
		       : ma_history_put_folder(w->h, w->audit, &lf->f, lf->deleted, lf->size, err);
	if (st != MA_OK)
		return st;
	return ma_history_release(w->h, "folder", true, err);
}

/* The audit begins with the first job: from then on it holds the history's
 * write lock until it commits (another mailaudit waits in begin). */
static ma_status write_job(struct writer *w, struct job *j, bool *again)
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
			w->ids[i] = j->msgs[i].message_id;
			w->hashp[i] = w->ids[i] ? w->hash[i] : NULL;
		}
		ma_msgid_hash_many(w->ids, j->n, w->hash);
		return ma_history_put_messages(w->h, w->audit, lf->f.name, lf->f.uidvalidity, j->msgs,
					       j->n, w->hashp, err);
	case JOB_GONE:
		return ma_history_mark_gone(w->h, w->audit, lf->f.name, lf->f.uidvalidity, j->uids, j->n, err);
	case JOB_FOLDER_END:
		if (!j->ok) {
			/* The rollback takes back what of the POP3 view was
			 * written meanwhile. */
			if (w->pop3_in_folder) {
				w->pop3_written = false;
				w->pop3_lost = true;
			}
			w->pop3_in_folder = false;
			return ma_history_release(w->h, "folder", false, err);
		}
		w->pop3_in_folder = false;
		if (lf->unchanged)
			return ma_history_release(w->h, "folder", true, err);
		return write_folder(w, lf);
	case JOB_POP3:
		if (j->pop3_prev) {
			st = ma_history_put_pop3_delta(w->h, w->audit, j->view, j->pop3_prev, err);
		} else {
			size_t from = j->pop3_next;
			if (from == 0)
				st = ma_history_put_pop3_start(w->h, w->audit, j->view, err);
			j->pop3_next = from + POP3_SLICE < j->view->nentries ? from + POP3_SLICE
									     : j->view->nentries;
			if (st == MA_OK)
				st = ma_history_put_pop3_rows(w->h, w->audit, j->view, from, j->pop3_next, err);
			*again = j->pop3_next < j->view->nentries;
		}
		if (st == MA_OK) {
			w->pop3_in_folder |= w->open != NULL;
			if (!*again) {
				w->pop3_written = !w->pop3_lost;
				w->pop3_count = j->view->stat_count;
				w->pop3_size = j->view->stat_size;
			}
		}
		return st;
	}
	return st;
}
