/* Small pieces the sessions share (session.h holds their common steps).
 * Internal to core. */
#ifndef MA_SESSION_UTIL_H
#define MA_SESSION_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/model.h"
#include "base/status.h"
#include "base/text.h"  /* ma_sanitize, for the sessions */
#include "net/stream.h"

/* prefix + base64("\0" login "\0" password) as one string the caller must
 * OPENSSL_cleanse and free. NULL on ENOMEM. */
char *ma_sasl_plain_command(const char *prefix, const char *login, const char *password);

/* Reading a reply straight out of a mailstream's buffer, for our own
 * readers of bulk replies (POP3 UIDL and LIST). mailstream_read copies
 * what it returns and then moves the rest of its buffer down, on every
 * call: for a line of 30 bytes that move costs more than the line. Here
 * bytes are only looked at and marked taken; ma_stream_reader_sync gives
 * back what was not taken, so libetpan reads on exactly where we stopped.
 * Between the first peek and the sync nothing else may read the stream.
 * Start with { .st = stream }. */
struct ma_stream_reader {
	mailstream *st;
	size_t pos;               /* bytes of st->read_buffer already taken */
};

/* Points *p at the unread bytes and returns how many (at least one),
 * reading from the network when all were taken. -1 when the stream failed
 * (ma_conn_last_error says why). */
ssize_t ma_stream_reader_peek(struct ma_stream_reader *r, const char **p);
/* The next piece of the current line: the unread bytes up to and
 * including the next LF (*eol true), or all of them if none is an LF.
 * Nothing is taken. -1 as ma_stream_reader_peek. */
ssize_t ma_stream_reader_line(struct ma_stream_reader *r, const char **p, bool *eol);
/* Marks the first n of the bytes just peeked as taken. */
void ma_stream_reader_take(struct ma_stream_reader *r, size_t n);
/* Gives the unread bytes back to the stream. */
void ma_stream_reader_sync(struct ma_stream_reader *r);

/* INBOX first, then by name (byte order of the UTF-8 names). */
void ma_folders_sort(struct ma_folder *f, size_t n);

#endif
