/* The --trace file: the protocol dialogue, for a person debugging a server.
 *
 * Secrets never reach it: while a session is in the credential phase every
 * byte it sends is replaced by a note of its length (LOGIN, USER, PASS,
 * AUTHENTICATE and its base64 continuation alike), and chunks libetpan marks
 * private are dropped whole in every phase. Message data (header lines of
 * FETCH replies, TOP output) is summarized by size, not copied.
 *
 * One ma_trace is shared by all sessions of a run (writes are serialized);
 * each session owns a ma_trace_tap naming its protocol and phase. */
#ifndef MA_TRACE_H
#define MA_TRACE_H

#include <stddef.h>

#include "base/status.h"

struct ma_trace;

enum ma_trace_phase {
	MA_TRACE_NORMAL,   /* commands and replies copied */
	MA_TRACE_SECRET,   /* sent data redacted */
	MA_TRACE_BULK,     /* received data summarized */
};

struct ma_trace_tap {
	struct ma_trace *trace;   /* NULL: tracing off */
	const char *proto;        /* "imap", "pop3" */
	enum ma_trace_phase phase;
};

/* Creates (truncates) path with mode 0600 (a device such as /dev/stderr
 * is written where it is, its mode left alone). Caller frees with
 * ma_trace_finish or ma_trace_close. */
ma_status ma_trace_open(const char *path, struct ma_trace **out, struct ma_error *err);
/* Closes t (NULL ok). MA_ERR_IO with "PATH: reason" in err when any write
 * to the file failed (a full disk): the trace is then incomplete. */
ma_status ma_trace_finish(struct ma_trace *t, struct ma_error *err);
/* The same, for callers that cannot say a failure anywhere. */
void ma_trace_close(struct ma_trace *t);

/* A free-form note ("# connected to ..."), never containing secrets. */
void ma_trace_note(struct ma_trace_tap *tap, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* libetpan logger events (MAILSTREAM_LOG_TYPE_*) for this tap. */
void ma_trace_event(struct ma_trace_tap *tap, int log_type, const char *buf, size_t len);

#endif
