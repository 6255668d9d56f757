/* The job thread and its two pipes; see worker.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/i18n.h"
#include "credentials.h"
#include "doctor/frontend.h"
#include "worker.h"

static void progress_cb(const struct ma_progress *p, void *ctx)
{
	struct ma_worker *w = ctx;
	struct ma_worker_msg m = { .kind = MA_WMSG_PROGRESS, .step = (uint8_t)p->step,
				   .done = (uint32_t)p->done, .total = (uint32_t)p->total,
				   .all_done = (uint32_t)p->all_done, .all_total = (uint32_t)p->all_total };
	if (p->all_total > UINT32_MAX) /* past what the message holds: not known */
		m.all_done = m.all_total = 0;
	if (p->what)
		snprintf(m.what, sizeof m.what, "%s", p->what);
	/* Non-blocking: when the UI lags, a dropped progress message costs
	 * nothing, a blocked audit would. */
	ssize_t n = write(w->msg_wr, &m, sizeof m);
	(void)n;
}

/* The audit keeps both cores busy (its IMAP, POP3 and history threads,
 * beside the server): a key press must not wait for a time slice behind
 * them. On Linux a nice value is per thread and inherited by the threads
 * this one starts, so the whole audit yields to the UI thread. */
static void yield_to_ui(void)
{
#ifdef __linux__
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5) != 0) {
		/* Not fatal: the screen only answers a little later. */
	}
#endif
}

/* The caller's callback, then a wake-up for the UI; non-blocking for the
 * same reason as progress_cb. */
static void watch_cb(const struct ma_watch_event *e, void *ctx)
{
	struct ma_worker *w = ctx;
	if (w->watch_cb)
		w->watch_cb(e, w->watch_ctx);
	struct ma_worker_msg m = { .kind = MA_WMSG_PROGRESS, .step = MA_STEP_DONE + 1 };
	ssize_t n = write(w->msg_wr, &m, sizeof m);
	(void)n;
}

static void *worker_main(void *arg)
{
	struct ma_worker *w = arg;
	yield_to_ui();
	if (w->job == MA_JOB_WATCH) {
		w->status = ma_watch_run(&w->acct, w->password, &w->watch_opts, &w->watch_sum, &w->err);
	} else if (w->job == MA_JOB_PROBE) {
		w->probe_req.password = w->password;
		w->status = ma_probe_run(&w->probe_req, &w->probe_result, &w->err);
		w->probe_req.password = NULL;
	} else {
		w->status = ma_audit_run(&w->acct, w->password, &w->opts, &w->result, &w->err);
		/* The trace ends with the audit: a write that failed makes the
		 * result say so (verdict and report), as --report's does. */
		if (w->trace) {
			struct ma_error te = { 0 };
			if (ma_trace_finish(w->trace, &te) != MA_OK && w->result)
				w->result->trace_err = te;
			w->trace = NULL;
			w->opts.trace = NULL;
		}
	}
	ma_password_free(w->password);
	w->password = NULL;
	/* No more progress can come, so this write may block: DONE must
	 * never be dropped. */
	int fl = fcntl(w->msg_wr, F_GETFL);
	if (fl >= 0)
		fcntl(w->msg_wr, F_SETFL, fl & ~O_NONBLOCK);
	struct ma_worker_msg m = { .kind = MA_WMSG_DONE };
	ssize_t n;
	do
		n = write(w->msg_wr, &m, sizeof m);
	while (n < 0 && errno == EINTR);
	return NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void release(struct ma_worker *w)
{
	w->job = MA_JOB_NONE;
	close_fd(&w->msg_rd);
	close_fd(&w->msg_wr);
	close_fd(&w->cancel_rd);
	close_fd(&w->cancel_wr);
	ma_password_free(w->password);
	w->password = NULL;
	ma_tls_free(w->tls);
	w->tls = NULL;
	if (w->trace)
		ma_trace_close(w->trace);
	w->trace = NULL;
}

/* Everything but the job itself: w holds the job's inputs; net is the
 * job's own net options, which get the cancel pipe and the TLS store. */
static ma_status launch(struct ma_worker *w, struct ma_net_opts *net, struct ma_error *err)
{
	int mp[2], cp[2];
	if (pipe2(mp, O_CLOEXEC | O_NONBLOCK) != 0) {
		release(w);
		return ma_fail(err, MA_ERR_IO, _("cannot create a pipe: %s"), strerror(errno));
	}
	w->msg_rd = mp[0], w->msg_wr = mp[1];
	if (pipe2(cp, O_CLOEXEC | O_NONBLOCK) != 0) {
		release(w);
		return ma_fail(err, MA_ERR_IO, _("cannot create a pipe: %s"), strerror(errno));
	}
	w->cancel_rd = cp[0], w->cancel_wr = cp[1];
	net->cancel_fd = w->cancel_rd;
	/* Made here rather than by the job: a bad ca_file is said at once. */
	if (ma_tls_new(net, &w->tls, err) != MA_OK) {
		release(w);
		return err->status;
	}
	net->tls = w->tls;

	/* Signals belong to the UI thread: it turns them into loop events. The
	 * job's own threads inherit this mask. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&w->tid, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		release(w);
		return ma_fail(err, MA_ERR_NOMEM, _("cannot start the worker thread"));
	}
	return MA_OK;
}

static void reset(struct ma_worker *w, enum ma_job job, const struct ma_account *acct, char *password)
{
	memset(w, 0, sizeof *w);
	w->msg_rd = w->msg_wr = w->cancel_rd = w->cancel_wr = -1;
	w->job = job;
	w->password = password;
	w->acct = *acct;
}

ma_status ma_worker_start(struct ma_worker *w, const struct ma_account *acct, char *password,
			  const struct ma_audit_opts *opts, const char *trace_path,
			  struct ma_error *err)
{
	reset(w, MA_JOB_AUDIT, acct, password);
	w->opts = *opts;
	w->opts.progress = progress_cb;
	w->opts.progress_ctx = w;
	/* Someone watches this audit and presses keys. A second IMAP session
	 * makes a first audit of 100,000 messages ~15 % faster, but keeps the
	 * server busy with two processes beside ours: on two cores the key
	 * latency measured through tmux (make bench) went from a 35 ms worst
	 * case to 80 ms. --report and --check, which nobody watches key by
	 * key, use both. */
	w->opts.one_imap_session = true;
	if (trace_path && ma_trace_open(trace_path, &w->trace, err) != MA_OK) {
		release(w);
		return err->status;
	}
	w->opts.trace = w->trace;
	return launch(w, &w->opts.net, err);
}

ma_status ma_worker_start_probe(struct ma_worker *w, const struct ma_account *acct, char *password,
				const struct ma_net_opts *net, struct ma_error *err)
{
	reset(w, MA_JOB_PROBE, acct, password);
	/* Into the worker's own copy, which lives as long as the job. */
	ma_probe_request_for(&w->acct, &w->probe_req);
	w->probe_req.net = *net;
	return launch(w, &w->probe_req.net, err);
}

ma_status ma_worker_start_watch(struct ma_worker *w, const struct ma_account *acct, char *password,
				const struct ma_watch_opts *opts, struct ma_error *err)
{
	reset(w, MA_JOB_WATCH, acct, password);
	w->watch_opts = *opts;
	w->watch_cb = opts->cb;
	w->watch_ctx = opts->ctx;
	w->watch_opts.cb = watch_cb;
	w->watch_opts.ctx = w;
	w->watch_opts.trace = NULL;
	return launch(w, &w->watch_opts.net, err);
}

int ma_worker_read(struct ma_worker *w, struct ma_worker_msg *m)
{
	if (w->msg_rd < 0)
		return 0;
	ssize_t n = read(w->msg_rd, m, sizeof *m);
	return n == (ssize_t)sizeof *m;
}

void ma_worker_join(struct ma_worker *w)
{
	if (w->job == MA_JOB_NONE)
		return;
	pthread_join(w->tid, NULL);
	release(w);
}

void ma_worker_signal_cancel(struct ma_worker *w)
{
	if (w->cancel_wr >= 0) {
		ssize_t n = write(w->cancel_wr, "x", 1);
		(void)n;
	}
}

void ma_worker_cancel(struct ma_worker *w)
{
	if (w->job == MA_JOB_NONE)
		return;
	ma_worker_signal_cancel(w);
	/* Drain until DONE: the worker's last write blocks on a full pipe. */
	for (;;) {
		struct pollfd p = { .fd = w->msg_rd, .events = POLLIN };
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			break;
		struct ma_worker_msg m;
		bool done = false;
		while (ma_worker_read(w, &m))
			if (m.kind == MA_WMSG_DONE)
				done = true;
		if (done)
			break;
	}
	ma_worker_join(w);
	ma_audit_result_free(w->result);
	w->result = NULL;
	ma_probe_result_free(w->probe_result);
	w->probe_result = NULL;
}
