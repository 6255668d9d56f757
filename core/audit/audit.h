/* core/audit: one audit of one mailbox and what it feeds. Look over IMAP
 * and POP3 at the same time, record what was seen in the history store,
 * compare with earlier audits and turn the evidence into findings.
 *
 *   audit.h       this: the run and its result (audit.c: the run, the
 *                 POP3 look, recording, the result)
 *   look.h        the IMAP look, one or two sessions (internal)
 *   writer.h      the history writer thread (internal)
 *   findings.h    the analysis: findings and the verdict
 *   report.h      the plain-text report and the --check line
 *   ledger.h      the loss ledger outside an audit (--lost, --ack)
 *   loss_entry.h  a loss on record, as results and --lost hold it
 *
 * Ownership: ma_audit_run returns a result the caller frees with
 * ma_audit_result_free. Everything inside it belongs to the result. The
 * password is only borrowed: ma_audit_run never copies or stores it. */
#ifndef MA_AUDIT_H
#define MA_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "audit/findings.h"
#include "audit/loss_entry.h"
#include "base/model.h"
#include "base/status.h"
#include "store/account.h"
#include "net/net.h"
#include "net/trace.h"

enum ma_step {
	MA_STEP_CONNECT, MA_STEP_LOGIN, MA_STEP_FOLDERS, MA_STEP_MESSAGES,
	MA_STEP_POP3, MA_STEP_HISTORY, MA_STEP_ANALYSIS, MA_STEP_DONE,
};

/* Progress for the TUI; called from worker threads, so it must only copy
 * the numbers and return quickly. */
struct ma_progress {
	enum ma_step step;
	const char *what;          /* e.g. the folder being read */
	size_t done, total;        /* folders or messages */
	/* Messages read over all folders, and how many there are where that
	 * was counted before the look (a first audit, for a progress bar):
	 * all_total 0 when not known. */
	size_t all_done, all_total;
};
typedef void (*ma_progress_cb)(const struct ma_progress *p, void *ctx);

struct ma_audit_opts {
	struct ma_net_opts net;
	struct ma_trace *trace;   /* NULL: no trace */
	const char *state_dir;    /* NULL: default history location */
	bool no_history;          /* look only; record nothing (first-audit logic) */
	ma_progress_cb progress;
	void *progress_ctx;
	time_t now;               /* 0: time(NULL); tests pin it */
	/* The --deadline that set net.run_deadline_ms, in seconds, for what
	 * the result says (0: none). The deadline itself is net's. */
	int deadline_s;
	/* One IMAP session instead of two (see look_imap): the full-screen
	 * program, where a second session would keep both cores so busy that
	 * key presses are answered late. */
	bool one_imap_session;
	/* Log in over POP3 even when the server announces LOGIN-DELAY (RFC
	 * 2449): by default mailaudit then leaves POP3 alone, because its
	 * login would lock the user's own POP3 program out for that long. */
	bool pop3_despite_login_delay;
};

/* One folder as the IMAP look saw it. */
struct ma_folder_result {
	struct ma_folder folder;  /* its msgs are not kept (counts only) */
	unsigned deleted;         /* messages flagged \Deleted */
	uint64_t size;            /* total bytes */
	/* Messages now minus at the previous audit, if the result's
	 * delta_known: INT64_MIN for a folder not seen before, 0 for one not
	 * examined. */
	int64_t delta;
	/* The server refused to show part of it (a folder-level error: the look
	 * went on with the others; imap_err holds the last such error). Its
	 * counts are EXAMINE's, its size and flags not known. */
	bool failed;
	/* Trash whose messages this audit found deleted: of the messages
	 * recorded by an earlier audit, how many are still there and the
	 * earliest time any of them can have come into it (INTERNALDATE, or
	 * later where earlier audits' UIDNEXT tell; 0: not known). The
	 * analysis tells by them a server's own purge of old mail from a
	 * Trash emptied (ma_history_folder_kept). */
	uint32_t kept;
	int64_t kept_oldest;
};

/* A past audit, for the history view and report. */
struct ma_audit_summary {
	int64_t id;
	time_t started;
	char outcome[32];
	uint32_t inbox_messages;
	uint64_t total_messages;
	int64_t pop3_count;       /* -1 if POP3 was not looked at */
};

/* A message found gone since the previous audit. */
struct ma_lost_msg {
	char *folder;
	uint32_t uid, size;
	int64_t internaldate;
	char *date, *from, *subject;
	time_t last_seen;
	char *gone_to;            /* NULL: destroyed (in no folder now) */
	bool renumbered;          /* gone_to is its own folder: renumbered, not moved */
	bool folder_gone;         /* its folder was deleted */
	enum ma_role role;        /* of its folder */
};

struct ma_audit_result {
	time_t started, finished;
	char account_label[520];  /* "login @ imap-host" */
	char login[256];          /* as configured; the analysis checks it is an address */
	struct ma_endpoint imap_endpoint, pop3_endpoint; /* host "" = not configured */
	bool imap_ok, pop3_ok;    /* the look succeeded */
	bool imap_tried, pop3_tried;
	struct ma_error imap_err, pop3_err, history_err;
	struct ma_cert_info imap_cert, pop3_cert;
	bool imap_tls, pop3_tls;
	char *imap_caps;          /* space separated */
	struct ma_folder_result *folders; /* INBOX first */
	size_t nfolders;
	struct ma_pop3_view pop3;
	bool pop3_in_use;         /* locked by another POP3 session */
	/* Comparison with history. */
	bool first_audit;
	time_t prev_audit;        /* 0 if none */
	struct ma_lost_msg *lost; /* destroyed and moved */
	size_t nlost;
	struct ma_audit_summary *history; /* newest first, this audit included */
	size_t nhistory;
	char **uidvalidity_reset; /* folders whose UIDVALIDITY changed since prev_audit */
	size_t nuidvalidity_reset;
	/* The loss ledger: every loss not yet acknowledged, this audit's and
	 * earlier audits', newest first. Until the user acknowledges them
	 * (--ack), critical ones keep the verdict CRITICAL. */
	struct ma_loss_entry *ledger;
	size_t nledger;
	/* IMAP [ALERT] texts (RFC 3501 7.1: must be shown to the user), as the
	 * server sent them (not yet cleaned), each once, in order. */
	char **alerts;
	size_t nalerts;
	/* POP3 was left alone: the server announces LOGIN-DELAY (pop3_err says
	 * how long), or it answered [LOGIN-DELAY] / [IN-USE] at login. */
	bool pop3_skipped;
	/* folders[].delta is known: some folder was seen by an earlier audit
	 * (false: the Folders tables have no Change column). */
	bool delta_known;
	/* Analysis. */
	struct ma_finding *findings; /* most severe first */
	size_t nfindings;
	enum ma_severity verdict;
	bool insecure;            /* the user turned certificate checks off */
	uint64_t bytes_received;
	/* How long the audit took (monotonic clock), for the check line. */
	int64_t elapsed_ms;
	/* The run's deadline (opts.net.run_deadline_ms) stopped a look or the
	 * history: the verdict is then UNKNOWN unless it is CRITICAL. */
	bool deadline_passed;
	int deadline_s;           /* opts.deadline_s, for the text */
	/* The caller's: the --trace file could not be written (status MA_OK:
	 * no trace, or it was). The check line and its exit status say so. */
	struct ma_error trace_err;
};

/* Runs the audit. Returns MA_OK when a result was produced, even if some
 * part failed (the result says what: imap_err, pop3_err, history_err,
 * verdict UNKNOWN); an error status only when no result could be made at
 * all, which is when memory ran out:
 *
 * Out of memory. An audit that runs out of memory anywhere (the looks,
 * the sessions, the history, the analysis, on any of its threads)
 * produces no result: ma_audit_run returns MA_ERR_NOMEM, *out stays NULL,
 * and what it began to record is rolled back (only the list of past
 * audits is read after the commit). A result therefore never lacks a
 * folder, a lost message, a loss on record, an alert or its comparison
 * with the history without saying why. Exempt is only what saves work,
 * whose loss changes no answer: the UIDs the history knows of a folder
 * (the folder is then read in full), the second IMAP session and the
 * writer's thread (the first session, or each producer, then does their
 * work). A thread that cannot be started is out of memory like an
 * allocation that fails.
 *
 * The deadline (opts->net.run_deadline_ms, --deadline) bounds the looks and
 * the history alike: what it stops fails with MA_ERR_DEADLINE (imap_err,
 * pop3_err, history_err), nothing is begun in the history after it, and
 * the result's deadline_passed makes the verdict UNKNOWN unless it is
 * CRITICAL. */
ma_status ma_audit_run(const struct ma_account *acct, const char *password,
		       const struct ma_audit_opts *opts, struct ma_audit_result **out,
		       struct ma_error *err);

void ma_audit_result_free(struct ma_audit_result *r);

#endif
