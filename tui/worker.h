/* Network jobs on a worker thread: the audit, or the connection doctor.
 * The UI thread never blocks on the network: progress arrives as small
 * fixed-size messages on a pipe it polls beside stdin, and cancelling is one
 * byte on the pipe the transport watches (net.cancel_fd), which aborts every
 * read and connect within a second.
 *
 * Ownership: the worker takes the password and wipes it once the job has
 * finished with it; the result is taken from w->result or w->probe_result
 * after ma_worker_join (the caller then owns it). */
#ifndef MA_TUI_WORKER_H
#define MA_TUI_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit/audit.h"
#include "audit/watch.h"
#include "doctor/probe.h"

enum ma_worker_msg_kind { MA_WMSG_PROGRESS, MA_WMSG_DONE };

/* Small enough that a pipe write of one is atomic (PIPE_BUF), so the POP3
 * and IMAP threads of one audit can both report without interleaving. */
struct ma_worker_msg {
	uint8_t kind;
	uint8_t step;
	uint32_t done, total;
	uint32_t all_done, all_total; /* ma_progress's messages over all folders */
	char what[96];
};

/* What the worker is doing: nothing (never started, or joined), an audit,
 * a connection test or a watch. */
enum ma_job { MA_JOB_NONE, MA_JOB_AUDIT, MA_JOB_PROBE, MA_JOB_WATCH };

struct ma_worker {
	pthread_t tid;
	enum ma_job job;           /* MA_JOB_NONE once joined */
	int msg_rd, msg_wr;        /* worker -> UI */
	int cancel_rd, cancel_wr;  /* UI -> transport */
	struct ma_account acct;    /* the job's copy: probe_req points into it */
	char *password;            /* owned; wiped and freed after the job */
	struct ma_audit_opts opts;
	struct ma_probe_request probe_req;
	struct ma_tls *tls;
	struct ma_trace *trace;
	struct ma_audit_result *result;
	struct ma_probe_result *probe_result;
	struct ma_watch_opts watch_opts;
	ma_watch_cb watch_cb;      /* the caller's, called on the job's thread */
	void *watch_ctx;
	struct ma_watch_summary watch_sum;
	ma_status status;
	struct ma_error err;
};

/* Starts the audit. Takes password (wiped even on failure). opts is copied;
 * its net.cancel_fd, net.tls, progress and trace fields are the worker's.
 * trace_path NULL: no trace. */
ma_status ma_worker_start(struct ma_worker *w, const struct ma_account *acct, char *password,
			  const struct ma_audit_opts *opts, const char *trace_path,
			  struct ma_error *err);
/* Starts the connection doctor for acct (ma_probe_request_for,
 * doctor/frontend.h). Takes
 * password, which may be NULL: then no login is tried. net is copied; its
 * cancel_fd and tls are the worker's. No progress: only DONE arrives. */
ma_status ma_worker_start_probe(struct ma_worker *w, const struct ma_account *acct, char *password,
				const struct ma_net_opts *net, struct ma_error *err);
/* Starts watching acct (ma_watch_run). Takes password, kept until the
 * watch ends (it logs in again after a drop). opts is copied; its
 * net.cancel_fd and net.tls are the worker's. opts->cb runs on the job's
 * thread; after each event a PROGRESS message (step MA_STEP_DONE + 1)
 * wakes the UI, dropped when the pipe is full: the callback's own store is
 * what the UI reads. */
ma_status ma_worker_start_watch(struct ma_worker *w, const struct ma_account *acct, char *password,
				const struct ma_watch_opts *opts, struct ma_error *err);
/* Reads one message without blocking: 1 got one, 0 none now. */
int ma_worker_read(struct ma_worker *w, struct ma_worker_msg *m);
/* After MA_WMSG_DONE: joins the thread and releases everything but the
 * result. */
void ma_worker_join(struct ma_worker *w);
/* Asks the job to stop, waits for it (about a second at most) and joins.
 * The result, if any, is dropped: a cancelled look is not shown. */
void ma_worker_cancel(struct ma_worker *w);
/* Asks the job to stop without waiting: for a process about to _exit. */
void ma_worker_signal_cancel(struct ma_worker *w);

#endif
