/* The history writer (internal to core/audit): a thread that writes what
 * the IMAP and POP3 looks hand it while the network keeps them busy.
 *
 * A first audit writes one row per message. Written after the network, those
 * rows would add their whole time to the audit; so the IMAP side hands each
 * fetched batch to a writer thread, which writes it while the next batch is
 * fetched. The writer owns the history handle from its first job until it
 * is stopped; the IMAP side reads the earlier audits through a handle of
 * its own. Each folder is written inside a savepoint and all of IMAP inside
 * another, so a folder or an IMAP look that fails halfway leaves nothing.
 * The queue is bounded: a slow disk slows the fetch instead of filling
 * memory.
 *
 * Two IMAP sessions fetch different folders at once, but savepoints nest,
 * so the writer takes one folder at a time: while a folder is open it takes
 * only that folder's jobs (and the POP3 view); the others wait in the
 * queue. The bound is per producer and folder: a session waits once
 * 32 of its jobs for the folder it reads are queued (8 once the audit met
 * a folder too large for a longer queue to help, writer.c). It
 * never waits for a folder other than the one it reads, so the open
 * folder's readers always get on, and its last reader hands in its END.
 *
 * Ownership: struct writer lives in the audit's frame (audit.c), which
 * starts it with writer_start and ends it with writer_stop, then
 * writer_clear. From writer_start until writer_stop returns, the history
 * handle belongs to the writer and so do the fields marked "the writer's"
 * below; after writer_stop they are the caller's to read (record() ends
 * the transaction the writer began). A job borrows the look_folder it
 * names (look.h) and the POP3 view it carries: their owners keep them
 * until the writer is stopped, and hand them in only once done with the
 * fields the writer reads (END: the folder's totals; POP3: the view). */
#ifndef MA_AUDIT_WRITER_H
#define MA_AUDIT_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/model.h"
#include "base/status.h"

struct look_folder;
struct ma_history;
struct job;

#define WRITER_BATCH 1000      /* messages per job */

/* Who hands a job in: each has its own share of the queue. */
enum writer_src { SRC_IMAP, SRC_IMAP2, SRC_POP3 };

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
	pthread_t tid;
	bool oom;                 /* a job could not be made (out of memory) */
	bool large;               /* a folder past LARGE_FOLDER messages: a shorter queue */
	/* The writer's until stopped. */
	int64_t audit;            /* 0 until the first job began it */
	bool failed;              /* err says why; later jobs are dropped */
	struct ma_error err;
	char **resets;            /* folders whose UIDVALIDITY changed */
	size_t nresets;
	const char *ids[WRITER_BATCH];         /* Message-IDs of one batch */
	unsigned char hash[WRITER_BATCH][32];  /* and their hashes */
	const unsigned char *hashp[WRITER_BATCH];
	bool pop3_in_folder;      /* (some of it) written inside the open folder's savepoint */
	bool pop3_lost;           /* some of it was rolled back with a folder */
	bool pop3_written;        /* the POP3 view, with this STAT: */
	uint32_t pop3_count;
	uint64_t pop3_size;
};

/* Sets w up to write the audit of account into h (which it owns from now
 * until writer_stop) and starts its thread. Without a thread (it could
 * not be started) each producer writes its own jobs, under w's lock. */
void writer_start(struct writer *w, struct ma_history *h, int64_t account, time_t started);
/* No more jobs will come: waits until the queue is written and the
 * thread has ended. A job that could not be made fails the writer
 * (failed, err MA_ERR_NOMEM, whatever else failed). */
void writer_stop(struct writer *w);
/* Frees what the caller did not take of w (resets). */
void writer_clear(struct writer *w);

/* A folder's jobs begin and end with these. ok: the folder was examined
 * completely (its rows are kept, else rolled back). */
void writer_folder_start(struct writer *w, enum writer_src src, struct look_folder *lf);
void writer_folder_end(struct writer *w, enum writer_src src, struct look_folder *lf, bool ok);
/* Known messages of lf the server says were expunged since the last
 * audit (an incremental look, lf->delta): marked gone. Takes uids, freed
 * with the job. false: out of memory, nothing queued. */
bool writer_gone(struct writer *w, enum writer_src src, struct look_folder *lf, uint32_t *uids, size_t n);
/* The POP3 view, complete: written now, while IMAP is still fetching.
 * prev_audit: the audit of the last complete POP3 view, to write only what
 * differs from it (ma_history_put_pop3_delta); 0: in full. */
void writer_pop3(struct writer *w, const struct ma_pop3_view *view, int64_t prev_audit);

/* One fetch's messages on their way to the writer, WRITER_BATCH at a
 * time. w NULL: no history, nothing kept. */
struct writer_feed {
	struct writer *w;
	enum writer_src src;
	struct look_folder *lf;
	struct job *batch;        /* being filled; owned by the feed until handed in */
};
/* Copies m into the batch (its strings into the batch's own block: m
 * stays the caller's) and hands the batch in once full. false: out of
 * memory, m not kept. */
bool writer_keep(struct writer_feed *f, const struct ma_message *m);
/* Hands in what the batch holds (at the end of a fetch). */
void writer_flush(struct writer_feed *f);

#endif
