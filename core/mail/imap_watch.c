#include "mail/imap_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/parse.h"
#include "base/text.h"
#include "mail/session.h"
#include "mail/session_util.h"
#include "net/stream.h"
#include "net/transport.h"
#include "base/i18n.h"

/* One untagged response with its literals: a SEARCH of a large INBOX is
 * long (~7 bytes a message), a FETCH of four header fields is small. The
 * transport bounds a single literal (1 MB) and a reply (64 MB) on its own. */
#define RESP_MAX (48u << 20)

struct wreader {
	struct ma_imap *s;
	struct ma_session *b;
	mailstream *st;
	struct ma_stream_reader r;
	char *buf;
	size_t len, cap;
	ma_imap_change_cb cb;
	void *ctx;
	/* SEARCH results */
	uint32_t *uids;
	size_t nuids, capuids;
	uint32_t search_from;
	/* FETCH results */
	ma_imap_msg_cb msg_cb;
	void *msg_ctx;
	uint32_t fetch_from;
	bool changed;
};

static unsigned watch_tag;

/* struct ma_imap begins with its struct ma_session (imap.c, session.h):
 * the session base is how this file reaches the connection and stream
 * without a line in imap.c. */
static struct ma_session *base_of(struct ma_imap *s)
{
	return (struct ma_session *)(void *)s;
}

static ma_status start(struct wreader *w, struct ma_imap *s, ma_imap_change_cb cb, void *ctx,
		       struct ma_error *err)
{
	memset(w, 0, sizeof *w);
	w->s = s;
	w->b = base_of(s);
	w->cb = cb;
	w->ctx = ctx;
	ma_status st = ma_session_usable(w->b, err);
	if (st != MA_OK)
		return st;
	w->st = w->b->drv->stream(w->b);
	if (!w->st)
		return ma_fail(err, MA_ERR_NOT_CONNECTED, NULL);
	w->r.st = w->st;
	return MA_OK;
}

static void finish(struct wreader *w)
{
	ma_stream_reader_sync(&w->r);
	free(w->buf);
	w->buf = NULL;
}

static ma_status broken(struct wreader *w, ma_status st, const char *what, struct ma_error *err)
{
	ma_status t = ma_conn_last_error(w->b->conn);
	if (t != MA_OK) {
		const char *d = ma_conn_last_detail(w->b->conn);
		ma_fail(err, t, _("IMAP server %s, during %s%s%s"), w->b->host, what, d[0] ? ": " : "", d);
	} else if (st == MA_ERR_CLOSED) {
		ma_fail(err, st, _("IMAP server %s closed the connection during %s"), w->b->host, what);
	} else if (st != MA_ERR_NOMEM) {
		ma_fail(err, st, _("IMAP server %s, during %s"), w->b->host, what);
	} else {
		ma_fail(err, st, NULL);
	}
	ma_session_mark_broken(w->b, err);
	return err ? err->status : st;
}

static ma_status send_line(struct wreader *w, const char *line, const char *what,
			   struct ma_error *err)
{
	size_t n = strlen(line);
	ma_stream_reader_sync(&w->r);
	if (mailstream_write(w->st, line, n) != (ssize_t)n || mailstream_flush(w->st) != 0)
		return broken(w, MA_ERR_CLOSED, what, err);
	return MA_OK;
}

static bool add(struct wreader *w, const char *p, size_t n)
{
	if (w->len + n + 1 > RESP_MAX)
		return false;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 512;
		while (cap < w->len + n + 1)
			cap *= 2;
		char *b = realloc(w->buf, cap);
		if (!b)
			return false;
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	w->buf[w->len] = '\0';
	return true;
}

/* A literal's length if buf[0..len) (a line without its CRLF) ends with
 * "{N}" or "{N+}", else -1. */
static int64_t literal_len(const char *buf, size_t len)
{
	if (len < 3 || buf[len - 1] != '}')
		return -1;
	size_t i = len - 1;
	if (i > 0 && buf[i - 1] == '+')
		i--;
	size_t end = i;
	while (i > 0 && buf[i - 1] >= '0' && buf[i - 1] <= '9')
		i--;
	if (i == end || i == 0 || buf[i - 1] != '{' || end - i > 9)
		return -1;
	return strtoll(buf + i, NULL, 10);
}

/* Reads one whole response into w->buf (literals inline, no final CRLF). */
static ma_status read_response(struct wreader *w, const char *what, struct ma_error *err)
{
	w->len = 0;
	for (;;) {
		const char *p;
		bool eol = false;
		ssize_t n = ma_stream_reader_line(&w->r, &p, &eol);
		if (n < 0)
			return broken(w, MA_ERR_CLOSED, what, err);
		if (!add(w, p, (size_t)n))
			return broken(w, w->len + (size_t)n + 1 > RESP_MAX ? MA_ERR_TOO_LARGE : MA_ERR_NOMEM,
				      what, err);
		ma_stream_reader_take(&w->r, (size_t)n);
		if (!eol)
			continue;
		size_t l = w->len;
		while (l > 0 && (w->buf[l - 1] == '\n' || w->buf[l - 1] == '\r'))
			l--;
		int64_t lit = literal_len(w->buf, l);
		if (lit < 0) {
			w->len = l;
			w->buf[l] = '\0';
			return MA_OK;
		}
		while (lit > 0) {
			ssize_t m = ma_stream_reader_peek(&w->r, &p);
			if (m < 0)
				return broken(w, MA_ERR_CLOSED, what, err);
			size_t take = (size_t)m < (uint64_t)lit ? (size_t)m : (size_t)lit;
			if (!add(w, p, take))
				return broken(w, MA_ERR_TOO_LARGE, what, err);
			ma_stream_reader_take(&w->r, take);
			lit -= (int64_t)take;
		}
	}
}

static bool word_at(const char *p, const char *word)
{
	size_t n = strlen(word);
	return strncasecmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\0');
}

static ma_status on_search(struct wreader *w, const char *p, struct ma_error *err)
{
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (*p < '0' || *p > '9')
			return ma_fail(err, MA_ERR_PROTOCOL, _("IMAP server %s sent a SEARCH reply "
				       "mailaudit does not understand"), w->b->host);
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		p = end;
		if (v == 0 || v > UINT32_MAX || v < w->search_from)
			continue;
		if (w->nuids == w->capuids) {
			size_t cap = w->capuids ? w->capuids * 2 : 64;
			uint32_t *u = realloc(w->uids, cap * sizeof *u);
			if (!u)
				return ma_fail(err, MA_ERR_NOMEM, NULL);
			w->uids = u;
			w->capuids = cap;
		}
		w->uids[w->nuids++] = (uint32_t)v;
	}
	return MA_OK;
}

static ma_status on_fetch(struct wreader *w, struct ma_error *err)
{
	struct ma_fetch_resp fr;
	if (ma_parse_fetch(w->buf, w->len, &fr) != 0)
		return ma_fail(err, MA_ERR_PROTOCOL, _("IMAP server %s sent a FETCH reply mailaudit "
			       "does not understand"), w->b->host);
	/* A flag change another program made, or a message not asked for. */
	if (!w->msg_cb || !fr.has_uid || fr.uid < w->fetch_from || !fr.has_header)
		return MA_OK;
	struct ma_message m = { .uid = fr.uid, .size = fr.size, .internaldate = fr.internaldate,
				.flags = fr.flags };
	if (fr.header && !fr.header_escaped &&
	    ma_parse_header_fields_raw(fr.header, fr.header_len, &m) != 0) {
		ma_message_clear(&m);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	w->msg_cb(&m, w->msg_ctx);
	ma_message_clear(&m);
	return MA_OK;
}

/* An untagged response in w->buf ("* ..."). */
static ma_status on_untagged(struct wreader *w, const char *what, struct ma_error *err)
{
	const char *p = w->buf + 2;
	if (*p >= '0' && *p <= '9') {
		char *end;
		unsigned long long n = strtoull(p, &end, 10);
		if (*end == ' ' && n <= UINT32_MAX) {
			const char *word = end + 1;
			if (word_at(word, "EXISTS") || word_at(word, "EXPUNGE")) {
				w->changed = true;
				if (w->cb)
					w->cb(word_at(word, "EXISTS") ? MA_IMAP_EXISTS : MA_IMAP_EXPUNGE,
					      (uint32_t)n, w->ctx);
				return MA_OK;
			}
			if (word_at(word, "FETCH"))
				return on_fetch(w, err);
			if (word_at(word, "RECENT"))
				return MA_OK;
		}
		return MA_OK; /* nothing a watch needs */
	}
	if (word_at(p, "SEARCH"))
		return on_search(w, p + 6, err);
	if (word_at(p, "BYE")) {
		char text[300];
		ma_sanitize(text, sizeof text, p + 3, strlen(p + 3));
		ma_fail(err, MA_ERR_CLOSED, _("IMAP server %s closed the session during %s:%s"), w->b->host,
			what, text[0] ? text : " (no reason given)");
		ma_session_mark_broken(w->b, err);
		return MA_ERR_CLOSED;
	}
	return MA_OK; /* OK/NO [ALERT] (the transport keeps those), FLAGS, ... */
}

/* Reads responses up to the tagged one of tag; untagged ones are handled
 * as they come. A "+" continuation ends the read too when plus_ends. */
static ma_status read_to_tag(struct wreader *w, const char *tag, bool plus_ends, const char *what,
			     bool *got_plus, struct ma_error *err)
{
	size_t tl = strlen(tag);
	for (;;) {
		ma_status st = read_response(w, what, err);
		if (st != MA_OK)
			return st;
		if (w->len >= 2 && w->buf[0] == '*' && w->buf[1] == ' ') {
			if ((st = on_untagged(w, what, err)) != MA_OK)
				return st;
			continue;
		}
		if (w->buf[0] == '+') {
			if (plus_ends) {
				*got_plus = true;
				return MA_OK;
			}
			continue;
		}
		if (w->len > tl && strncmp(w->buf, tag, tl) == 0 && w->buf[tl] == ' ') {
			const char *r = w->buf + tl + 1;
			if (word_at(r, "OK"))
				return MA_OK;
			char text[300];
			ma_sanitize(text, sizeof text, r, strlen(r));
			return ma_fail(err, MA_ERR_PROTOCOL, _("IMAP server %s refused %s: %s"), w->b->host, what,
				       text);
		}
		/* Another tag's answer: never ours to wait for. */
	}
}

static ma_status command(struct wreader *w, const char *fmt_args, const char *what,
			 struct ma_error *err)
{
	char tag[16], line[128];
	snprintf(tag, sizeof tag, "W%u", ++watch_tag);
	snprintf(line, sizeof line, "%s %s\r\n", tag, fmt_args);
	ma_conn_reply_done(w->b->conn);
	ma_status st = send_line(w, line, what, err);
	if (st == MA_OK)
		st = read_to_tag(w, tag, false, what, NULL, err);
	return st;
}

/* The tag of the IDLE in progress: one session watches per process. */
static char idle_tag[16];

ma_status ma_imap_idle_start(struct ma_imap *s, ma_imap_change_cb cb, void *ctx,
			     struct ma_error *err)
{
	struct wreader w;
	ma_status st = start(&w, s, cb, ctx, err);
	if (st != MA_OK)
		return st;
	if (!ma_imap_has_cap(s, "IDLE"))
		return ma_fail(err, MA_ERR_PROTOCOL, _("IMAP server %s does not offer IDLE"), w.b->host);
	char line[32];
	snprintf(idle_tag, sizeof idle_tag, "W%u", ++watch_tag);
	snprintf(line, sizeof line, "%s IDLE\r\n", idle_tag);
	ma_conn_reply_done(w.b->conn);
	bool plus = false;
	st = send_line(&w, line, "IDLE", err);
	if (st == MA_OK)
		st = read_to_tag(&w, idle_tag, true, "IDLE", &plus, err);
	if (st == MA_OK && !plus)
		st = ma_fail(err, MA_ERR_PROTOCOL, _("IMAP server %s ended IDLE at once"), w.b->host);
	finish(&w);
	return st;
}

ma_status ma_imap_idle_wait(struct ma_imap *s, int64_t until_ms, ma_imap_change_cb cb,
			    void *ctx, bool *changed, struct ma_error *err)
{
	struct wreader w;
	*changed = false;
	ma_status st = start(&w, s, cb, ctx, err);
	if (st != MA_OK)
		return st;
	for (;;) {
		/* Bytes libetpan or we already read come first. */
		bool buffered = w.st->read_buffer_len > w.r.pos;
		if (!buffered) {
			int64_t left = until_ms - ma_now_ms();
			if (left <= 0)
				break;
			/* The transport's reply clock counts from our last
			 * command; in IDLE the server may rightly say nothing
			 * for many minutes. */
			ma_conn_reply_done(w.b->conn);
			st = ma_conn_wait_readable(w.b->conn, left > 60000 ? 60000 : (int)left);
			if (st == MA_ERR_READ_TIMEOUT) {
				st = MA_OK;
				continue;
			}
			if (st != MA_OK) {
				st = broken(&w, st, "IDLE", err);
				break;
			}
			ma_conn_reply_done(w.b->conn);
		}
		st = read_response(&w, "IDLE", err);
		if (st != MA_OK)
			break;
		if (w.len >= 2 && w.buf[0] == '*' && w.buf[1] == ' ' &&
		    (st = on_untagged(&w, "IDLE", err)) != MA_OK)
			break;
		if (w.changed) {
			*changed = true;
			/* What came in the same packet belongs to the same
			 * change: read it too, without waiting. */
			if (w.st->read_buffer_len > w.r.pos)
				continue;
			break;
		}
	}
	finish(&w);
	return st;
}

ma_status ma_imap_idle_done(struct ma_imap *s, ma_imap_change_cb cb, void *ctx,
			    struct ma_error *err)
{
	struct wreader w;
	ma_status st = start(&w, s, cb, ctx, err);
	if (st != MA_OK)
		return st;
	ma_conn_reply_done(w.b->conn);
	st = send_line(&w, "DONE\r\n", "IDLE", err);
	if (st == MA_OK)
		st = read_to_tag(&w, idle_tag, false, "IDLE", NULL, err);
	finish(&w);
	return st;
}

ma_status ma_imap_noop(struct ma_imap *s, ma_imap_change_cb cb, void *ctx, struct ma_error *err)
{
	struct wreader w;
	ma_status st = start(&w, s, cb, ctx, err);
	if (st == MA_OK)
		st = command(&w, "NOOP", "NOOP", err);
	finish(&w);
	return st;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

ma_status ma_imap_watch_search(struct ma_imap *s, uint32_t from, uint32_t **uids, size_t *n,
			       ma_imap_change_cb cb, void *ctx, struct ma_error *err)
{
	struct wreader w;
	*uids = NULL;
	*n = 0;
	ma_status st = start(&w, s, cb, ctx, err);
	if (st != MA_OK)
		return st;
	char args[64];
	w.search_from = from ? from : 1;
	snprintf(args, sizeof args, "UID SEARCH UID %u:*", w.search_from);
	st = command(&w, args, "UID SEARCH", err);
	finish(&w);
	if (st != MA_OK) {
		free(w.uids);
		return st;
	}
	if (w.nuids > 1)
		qsort(w.uids, w.nuids, sizeof *w.uids, cmp_u32);
	size_t k = 0;
	for (size_t i = 0; i < w.nuids; i++)
		if (!k || w.uids[k - 1] != w.uids[i])
			w.uids[k++] = w.uids[i];
	*uids = w.uids;
	*n = k;
	return MA_OK;
}

ma_status ma_imap_watch_fetch(struct ma_imap *s, uint32_t from, ma_imap_msg_cb msg_cb,
			      void *msg_ctx, ma_imap_change_cb cb, void *ctx,
			      struct ma_error *err)
{
	struct wreader w;
	ma_status st = start(&w, s, cb, ctx, err);
	if (st != MA_OK)
		return st;
	w.msg_cb = msg_cb;
	w.msg_ctx = msg_ctx;
	w.fetch_from = from ? from : 1;
	char args[128];
	snprintf(args, sizeof args, "UID FETCH %u:* (UID RFC822.SIZE INTERNALDATE "
		 "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)])", w.fetch_from);
	st = command(&w, args, "UID FETCH", err);
	finish(&w);
	return st;
}
