/* Watch mode: one IMAP session stays on INBOX (EXAMINE, then IDLE, or NOOP
 * every interval when the server lacks IDLE) and sees each message arrive
 * and leave as it happens; a second session looks at the other folders
 * with STATUS every interval and, when INBOX loses a message, fetches the
 * headers of what arrived in them, so the message is named moved (found
 * there by Message-ID) or destroyed. Destroyed messages go into the loss
 * ledger (history.h) as they are seen, so --report, --check and --lost
 * name them; after MA_RHYTHM_MIN of them the deleting device's rhythm
 * (base/rhythm.h) is reported.
 *
 * A dropped connection is retried with backoff (1, 2, 4 ... 60 s); on
 * reconnecting, what INBOX lost meanwhile is reported as vanished while
 * disconnected (destroyed ones recorded as losses too). A failure no retry
 * can mend (login refused, certificate, no TLS) ends the watch with that
 * error. The run's deadline (net.run_deadline_ms) and the cancel fd
 * (net.cancel_fd: Ctrl-C, SIGTERM) end it cleanly with MA_OK.
 *
 * Memory: the INBOX's messages (UID, size, dates, From, Subject, a hash of
 * the Message-ID) and bounded windows of recent arrivals elsewhere and of
 * recent deletions; events go to the callback and the history, never into
 * a growing list.
 *
 * Read-only as every look: EXAMINE, BODY.PEEK, STATUS, IDLE, NOOP. */
#ifndef MA_WATCH_H
#define MA_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/rhythm.h"
#include "base/status.h"
#include "net/net.h"
#include "net/trace.h"
#include "store/account.h"

#define MA_WATCH_INTERVAL_S 60
/* RFC 2177: a client should end IDLE and start it again within 29 minutes,
 * or the server may log it out as inactive. */
#define MA_WATCH_IDLE_RENEW_S (29 * 60)
#define MA_WATCH_BACKOFF_MAX_S 60

enum ma_watch_kind {
	MA_WATCH_WATCHING,        /* started: text says how */
	MA_WATCH_ARRIVED,
	MA_WATCH_MOVED,           /* to: where it went */
	MA_WATCH_DESTROYED,
	MA_WATCH_VANISHED,        /* left while the watch was disconnected, found nowhere */
	MA_WATCH_DISCONNECTED,    /* text: why; a retry follows */
	MA_WATCH_RECONNECTED,     /* text: after how long, what was missed */
	MA_WATCH_RHYTHM,          /* text: the deleting device's rhythm */
	/* Before each wait of the reconnect backoff, retry_s long: for a
	 * screen that counts down; no batch line (ma_watch_line: NULL). */
	MA_WATCH_RETRYING,
};

/* One event, valid during the callback only. */
struct ma_watch_event {
	enum ma_watch_kind kind;
	time_t when;              /* when the watch saw it */
	const char *folder;       /* "INBOX" */
	const char *to;           /* MA_WATCH_MOVED: the folder it is in now */
	int64_t internaldate;     /* the message's time on the server; 0 unknown */
	/* Decoded (RFC 2047) but not cleaned: clean before showing
	 * (ma_watch_line does). NULL if none. */
	const char *from, *subject;
	uint32_t uid, size;
	const char *text;         /* WATCHING, DISCONNECTED, RECONNECTED, RHYTHM */
	const struct ma_rhythm *rhythm; /* MA_WATCH_RHYTHM */
	int retry_s;              /* MA_WATCH_RETRYING */
};
typedef void (*ma_watch_cb)(const struct ma_watch_event *e, void *ctx);

struct ma_watch_opts {
	struct ma_net_opts net;   /* tls, timeout, cancel_fd, run_deadline_ms */
	struct ma_trace *trace;
	const char *state_dir;
	bool no_history;          /* record nothing */
	int interval_s;           /* NOOP polling and STATUS of other folders; <= 0: default */
	int idle_renew_s;         /* <= 0: MA_WATCH_IDLE_RENEW_S */
	bool no_idle;             /* poll with NOOP even if the server has IDLE */
	time_t (*clock)(void);    /* NULL: time() */
	ma_watch_cb cb;
	void *ctx;
};

struct ma_watch_summary {
	uint64_t arrived, moved, destroyed, vanished, reconnects;
	bool rhythm;              /* a rhythm was reported */
};

/* Watches acct's INBOX until the deadline or a cancel (MA_OK) or an error
 * no retry can mend. acct needs IMAP. */
ma_status ma_watch_run(const struct ma_account *acct, const char *password,
		       const struct ma_watch_opts *o, struct ma_watch_summary *sum,
		       struct ma_error *err);

/* The batch line of e, without newline, into a malloc'd string: local time
 * with offset, event, folder, the message's time on the server, From,
 * Subject, all cleaned as the report cleans server text, e.g.
 *   2026-12-06 21:03:04 +0100  destroyed  INBOX  2026-12-06 21:03  Jana <j@x.cz>  Faktura
 * NULL when out of memory, and for MA_WATCH_RETRYING (no line). */
char *ma_watch_line(const struct ma_watch_event *e);

#endif
