/* Watching an examined IMAP folder: IDLE (RFC 2177), NOOP, and the UID
 * SEARCH and UID FETCH a watch needs, each read by our own response reader
 * so that no untagged EXISTS or EXPUNGE is lost on the way: libetpan's
 * commands skip them, and a watch that missed one EXPUNGE would map the
 * next sequence number to the wrong message.
 *
 * Read-only like imap.h: DONE ends IDLE, NOOP changes nothing, UID FETCH
 * asks BODY.PEEK only. Apart from imap.c so that the watch adds no line to
 * the session it builds on.
 *
 * Every call takes a session that ma_imap_examine has opened a folder in,
 * and reports the untagged responses it reads to cb, in order. A failure
 * that breaks the connection leaves the session broken (ma_imap_broken).
 * Ownership: *uids from ma_imap_watch_search belongs to the caller (free);
 * the message handed to a fetch callback belongs to the callback until it
 * returns (it may take its strings, setting them NULL). */
#ifndef MA_IMAP_WATCH_H
#define MA_IMAP_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/model.h"
#include "base/status.h"
#include "mail/imap.h"

enum ma_imap_change {
	MA_IMAP_EXISTS,           /* n: the folder now holds n messages */
	MA_IMAP_EXPUNGE,          /* n: the message with sequence number n is gone */
};

typedef void (*ma_imap_change_cb)(enum ma_imap_change what, uint32_t n, void *ctx);

/* Sends IDLE and waits for the server's go-ahead. MA_ERR_UNSUPPORTED when
 * the server lacks IDLE (ask ma_imap_has_cap first). */
ma_status ma_imap_idle_start(struct ma_imap *s, ma_imap_change_cb cb, void *ctx,
			     struct ma_error *err);

/* In IDLE: waits until until_ms (ma_now_ms()'s clock) for the server to
 * say something, and reports it. *changed: a change came (then it returns
 * soon after, having read what arrived together). MA_OK also when the time
 * ran out with nothing. The transport's idle timeout does not apply to this
 * wait; the run's deadline and the cancel fd do. */
ma_status ma_imap_idle_wait(struct ma_imap *s, int64_t until_ms, ma_imap_change_cb cb,
			    void *ctx, bool *changed, struct ma_error *err);

/* Ends IDLE (DONE) and reads to its tagged answer. */
ma_status ma_imap_idle_done(struct ma_imap *s, ma_imap_change_cb cb, void *ctx,
			    struct ma_error *err);

/* NOOP: what changed since the last command, for servers without IDLE. */
ma_status ma_imap_noop(struct ma_imap *s, ma_imap_change_cb cb, void *ctx, struct ma_error *err);

/* UID SEARCH UID from:* (from 1: every message): the UIDs >= from,
 * ascending, each once. */
ma_status ma_imap_watch_search(struct ma_imap *s, uint32_t from, uint32_t **uids, size_t *n,
			       ma_imap_change_cb cb, void *ctx, struct ma_error *err);

/* UID FETCH from:* of UID RFC822.SIZE INTERNALDATE and
 * BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)], each message with
 * a UID >= from handed to msg_cb once, From and Subject raw as
 * ma_parse_header_fields_raw leaves them. */
ma_status ma_imap_watch_fetch(struct ma_imap *s, uint32_t from, ma_imap_msg_cb msg_cb,
			      void *msg_ctx, ma_imap_change_cb cb, void *ctx,
			      struct ma_error *err);

#endif
