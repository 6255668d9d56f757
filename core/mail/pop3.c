#include "mail/pop3.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "base/parse.h"
#include "mail/session.h"
#include "net/stream.h"
#include "mail/session_util.h"
#include "base/i18n.h"

#define MAX_LINE 4096           /* RFC 1939 says 512; be lenient, but bounded */
#define MAX_ENTRIES 1000000     /* bounds memory against a hostile LIST */
#define MAX_ENTRIES_TEXT "1,000,000"
#define MAX_CAPA 200
/* Commands sent before their replies are read, where the server allows it
 * (RFC 2449 PIPELINING). Each batch costs a round trip: over a 20 ms link
 * a probe of 100 deletions among 80,000 messages took 24 batches of 64
 * (its first round alone asks about 500). 512 replies are under 16 KB,
 * far below any socket's buffer, so neither side can block the other
 * while the batch is written. */
#define PIPELINE_BATCH 512

struct ma_pop3 {
	struct ma_session base;   /* first: conn, host, broken (session.h) */
	mailpop3 *pop3;
	struct ma_trace_tap tap;
	char **capa;
	size_t ncapa;
	char line[MAX_LINE + 1];
	size_t linelen;
	/* Our reads of STAT, UIDL and LIST replies; given back to the stream
	 * (ma_stream_reader_sync) before the public call that read returns. */
	struct ma_stream_reader rd;
};

static void pop3_logger(mailpop3 *p, int log_type, const char *str, size_t size, void *ctx)
{
	(void)p;
	ma_trace_event(ctx, log_type, str, size);
}

static ma_status broken(struct ma_pop3 *s, struct ma_error *err)
{
	return ma_session_mark_broken(&s->base, err);
}

/* Names a failure from the server's bracketed response code (RFC 2449,
 * 3206): the same libetpan code covers a wrong password and a locked box. */
static ma_status from_response(struct ma_pop3 *s, const char *text, ma_status fallback,
			       const char *what, struct ma_error *err)
{
	char clean[300];
	char code[40];
	ma_sanitize(clean, sizeof clean, text ? text : "", text ? strlen(text) : 0);
	ma_status st = fallback;
	if (text && ma_pop3_response_code(text, strlen(text), code, sizeof code) == 1) {
		if (strcasecmp(code, "IN-USE") == 0)
			st = MA_ERR_IN_USE;
		else if (strcasecmp(code, "LOGIN-DELAY") == 0)
			st = MA_ERR_LOGIN_DELAY;
		else if (strcasecmp(code, "SYS/TEMP") == 0)
			st = MA_ERR_SERVER_TEMP;
		else if (strcasecmp(code, "SYS/PERM") == 0)
			st = MA_ERR_SERVER_PERM;
	}
	if (st == MA_ERR_LOGIN && text && strcasestr(text, "plaintext"))
		st = MA_ERR_PLAINTEXT_REFUSED;
	return ma_fail(err, st, _("POP3 server %s, %s: %s"), s->base.host, what,
		       clean[0] ? clean : _("(no reason given)"));
}

/* For libetpan calls: transport first (timeouts, EOF), then libetpan. */
static ma_status fail(struct ma_pop3 *s, int r, const char *what, ma_status fallback,
		      struct ma_error *err)
{
	ma_status st = ma_conn_last_error(s->base.conn);
	if (st != MA_OK) {
		ma_fail(err, st, _("POP3 server %s, during %s%s%s"), s->base.host, what,
			ma_conn_last_detail(s->base.conn)[0] ? ": " : "", ma_conn_last_detail(s->base.conn));
		return broken(s, err);
	}
	if (r == MAILPOP3_ERROR_STREAM) {
		ma_fail(err, MA_ERR_CLOSED, _("POP3 server %s, during %s"), s->base.host, what);
		return broken(s, err);
	}
	if (r == MAILPOP3_ERROR_MEMORY) {
		ma_fail(err, MA_ERR_NOMEM, NULL);
		return broken(s, err);
	}
	return from_response(s, s->pop3->pop3_response, fallback, what, err);
}

static ma_status check_usable(struct ma_pop3 *s, struct ma_error *err)
{
	if (!s || !s->pop3)
		return ma_fail(err, MA_ERR_NOT_CONNECTED, NULL);
	return ma_session_usable(&s->base, err);
}

bool ma_pop3_broken(const struct ma_pop3 *s)
{
	return !s || !s->pop3 || s->base.broken;
}

static void free_capa(struct ma_pop3 *s)
{
	for (size_t i = 0; i < s->ncapa; i++)
		free(s->capa[i]);
	free(s->capa);
	s->capa = NULL;
	s->ncapa = 0;
}

static ma_status read_capa(struct ma_pop3 *s, struct ma_error *err)
{
	clist *res = NULL;
	free_capa(s);
	int r = mailpop3_capa(s->pop3, &res);
	if (r != MAILPOP3_NO_ERROR) {
		/* CAPA is optional (RFC 2449): a -ERR just means no list. */
		if (ma_conn_last_error(s->base.conn) != MA_OK || r == MAILPOP3_ERROR_STREAM)
			return fail(s, r, "CAPA", MA_ERR_PROTOCOL, err);
		return MA_OK;
	}
	size_t n = (size_t)clist_count(res);
	if (n > MAX_CAPA)
		n = MAX_CAPA;
	s->capa = calloc(n ? n : 1, sizeof *s->capa);
	if (!s->capa)
		goto nomem;
	for (clistiter *it = clist_begin(res); it && s->ncapa < n; it = clist_next(it)) {
		struct mailpop3_capa *c = clist_content(it);
		char buf[512];
		size_t used = (size_t)snprintf(buf, sizeof buf, "%s", c->cap_name ? c->cap_name : "");
		for (clistiter *p = clist_begin(c->cap_param); p && used < sizeof buf; p = clist_next(p))
			used += (size_t)snprintf(buf + used, sizeof buf - used, " %s", (char *)clist_content(p));
		if (!(s->capa[s->ncapa] = ma_sanitize_dup(buf, strlen(buf))))
			goto nomem;
		s->ncapa++;
	}
	mailpop3_capa_resp_free(res);
	return MA_OK;
nomem:
	mailpop3_capa_resp_free(res);
	return ma_fail(err, MA_ERR_NOMEM, NULL);
}

bool ma_pop3_has_capa(const struct ma_pop3 *s, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; s && i < s->ncapa; i++)
		if (strncasecmp(s->capa[i], name, n) == 0 && (s->capa[i][n] == '\0' || s->capa[i][n] == ' '))
			return true;
	return false;
}

bool ma_pop3_login_delay(const struct ma_pop3 *s, uint32_t *seconds)
{
	*seconds = 0;
	for (size_t i = 0; s && i < s->ncapa; i++) {
		const char *c = s->capa[i];
		if (strncasecmp(c, "LOGIN-DELAY", 11) != 0 || (c[11] != '\0' && c[11] != ' '))
			continue;
		const char *p = c + 11;
		while (*p == ' ')
			p++;
		uint64_t v = 0;
		const char *d = p;
		while (*d >= '0' && *d <= '9' && v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(*d++ - '0');
		*seconds = d == p || (*d && *d != ' ') || v >= UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		return true;
	}
	return false;
}

const struct ma_cert_info *ma_pop3_cert(const struct ma_pop3 *s)
{
	return s ? ma_conn_cert(s->base.conn) : NULL;
}

/* ---- the opening (session.h calls these in order) ---- */

static struct ma_pop3 *pop3_of(struct ma_session *b)
{
	return (struct ma_pop3 *)b;
}

static const struct ma_pop3 *pop3_of_const(const struct ma_session *b)
{
	return (const struct ma_pop3 *)b;
}

static ma_status pop3_greet(struct ma_session *b, struct ma_error *err)
{
	struct ma_pop3 *s = pop3_of(b);
	mailstream *stream = ma_conn_stream(s->base.conn, 8192);
	if (!stream)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	/* From here the stream belongs to s->pop3, even if connect fails. */
	int r = mailpop3_connect(s->pop3, stream);
	if (r == MAILPOP3_NO_ERROR)
		return MA_OK;
	/* A greeting from another protocol's server ("* OK" of IMAP leaves
	 * libetpan no "reason"): a wrong port, named. libetpan's buffer still
	 * holds the line. */
	MMAPString *line = s->pop3->pop3_stream_buffer;
	if (r == MAILPOP3_ERROR_UNAUTHORIZED && ma_conn_last_error(s->base.conn) == MA_OK && line &&
	    line->str) {
		struct ma_error wrong = { .status = MA_OK };
		if (ma_session_wrong_greeting(&s->base, line->str, line->len, &wrong) != MA_OK) {
			if (err)
				*err = wrong;
			return broken(s, &wrong);
		}
	}
	return fail(s, r, _("the greeting"), MA_ERR_GREETING, err);
}

static ma_status pop3_read_caps(struct ma_session *b, struct ma_error *err)
{
	return read_capa(pop3_of(b), err);
}

static bool pop3_offers_starttls(const struct ma_session *b)
{
	return ma_pop3_has_capa(pop3_of_const(b), "STLS");
}

static int pop3_send_starttls(struct ma_session *b)
{
	return mailpop3_stls(pop3_of(b)->pop3);
}

static ma_status pop3_starttls_refused(struct ma_session *b, int r, struct ma_error *err)
{
	return fail(pop3_of(b), r, "STLS", MA_ERR_STARTTLS_MISSING, err);
}

static mailstream *pop3_stream(const struct ma_session *b)
{
	return pop3_of_const(b)->pop3->pop3_stream;
}

ma_status ma_pop3_open(const struct ma_endpoint *ep, const struct ma_net_opts *net,
		       struct ma_trace *trace, struct ma_pop3 **out, struct ma_error *err)
{
	*out = NULL;
	char label[272];
	snprintf(label, sizeof label, "%s:%u", ep->host, ep->port);
	struct ma_conn *c = NULL;
	ma_status st = ma_session_connect(MA_PROTO_POP3, ep, net, &c, err);
	if (st != MA_OK)
		return st;
	return ma_pop3_open_conn(c, label, ep->security, net->insecure, trace, out, err);
}

ma_status ma_pop3_open_conn(struct ma_conn *c, const char *label, enum ma_security security,
			    bool insecure, struct ma_trace *trace, struct ma_pop3 **out,
			    struct ma_error *err)
{
	ma_status st;
	*out = NULL;
	struct ma_pop3 *s = calloc(1, sizeof *s);
	if (!s) {
		ma_conn_free(c);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	ma_session_init(&s->base, &ma_pop3_driver, c, label, insecure);
	/* POP3 has no literals; UIDL of a million messages is ~30 MB. */
	ma_conn_set_limits(c, 0, 64 << 20);
	s->tap.trace = trace;
	s->tap.proto = "pop3";
	ma_trace_note(&s->tap, "connected to %s (%s)", s->base.host, ma_security_name(security));
	s->pop3 = mailpop3_new(0, NULL);
	if (!s->pop3) {
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
		goto cleanup;
	}
	if (trace)
		mailpop3_set_logger(s->pop3, pop3_logger, &s->tap);
	st = ma_session_start(&s->base, security, err);
	if (st != MA_OK)
		goto cleanup;
	*out = s;
	return MA_OK;
cleanup:
	ma_pop3_close(s);
	return st;
}

ma_status ma_pop3_login(struct ma_pop3 *s, const char *login, const char *password,
			struct ma_error *err)
{
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		return st;
	return ma_session_login(&s->base, login, password, err);
}

static ma_status read_line(struct ma_pop3 *s, const char *what, struct ma_error *err);

/* USER and PASS in one write where the server pipelines (RFC 2449): one
 * round trip instead of two. Only over TLS: in plain text a server that
 * refuses USER ("plaintext authentication disallowed") must never get
 * the PASS. Both replies are read; the first -ERR is the one reported.
 * libetpan stays in its AUTHORIZATION state, from which its QUIT (all it
 * is still asked to send) works as well. */
static ma_status login_pipelined(struct ma_pop3 *s, const char *login, const char *password,
				 struct ma_error *err)
{
	mailstream *stream = s->pop3->pop3_stream;
	char cmd[2 * 255 + 16];
	int n = snprintf(cmd, sizeof cmd, "USER %s\r\nPASS %s\r\n", login, password);
	mailstream_set_privacy(stream, 0); /* libetpan's own mark for a secret */
	bool sent = n > 0 && (size_t)n < sizeof cmd && mailstream_write(stream, cmd, (size_t)n) == n &&
		    mailstream_flush(stream) == 0;
	OPENSSL_cleanse(cmd, sizeof cmd);
	if (!sent) {
		ma_status cs = ma_conn_last_error(s->base.conn);
		ma_fail(err, cs != MA_OK ? cs : MA_ERR_CLOSED, _("POP3 server %s, during %s"), s->base.host,
			_("login"));
		return broken(s, err);
	}
	ma_status st = MA_OK;
	for (int k = 0; k < 2; k++) {
		/* A server may hang up after refusing USER: its words are
		 * what the user needs, not the hang-up's. */
		struct ma_error rerr = { 0 };
		ma_status rs = read_line(s, _("login"), &rerr);
		if (rs != MA_OK) {
			if (st == MA_OK)
				*err = rerr;
			return st != MA_OK ? st : rs;
		}
		if (strncmp(s->line, "-ERR", 4) == 0) {
			const char *text = s->line + 4;
			while (*text == ' ')
				text++;
			if (st == MA_OK)
				st = from_response(s, text, MA_ERR_LOGIN, _("login"), err);
		} else if (strncmp(s->line, "+OK", 3) != 0) {
			ma_fail(err, MA_ERR_PROTOCOL, _("POP3 server %s answered %s with neither +OK nor -ERR"),
				s->base.host, _("login"));
			return broken(s, err);
		}
	}
	ma_stream_reader_sync(&s->rd);
	return st;
}

/* After ma_session_login's checks. */
static ma_status pop3_login(struct ma_session *b, const char *login, const char *password,
			    struct ma_error *err)
{
	struct ma_pop3 *s = pop3_of(b);
	if (strlen(login) > 255 || strlen(password) > 255)
		return ma_fail(err, MA_ERR_BAD_CREDENTIAL, _("longer than POP3 allows (255 bytes)"));
	s->tap.phase = MA_TRACE_SECRET;
	if (ma_conn_is_tls(s->base.conn) && ma_pop3_has_capa(s, "PIPELINING") && ma_pop3_has_capa(s, "USER")) {
		ma_status ls = login_pipelined(s, login, password, err);
		if (!s->base.broken)
			s->tap.phase = MA_TRACE_NORMAL;
		return ls;
	}
	int r = mailpop3_user(s->pop3, login);
	if (r == MAILPOP3_NO_ERROR)
		r = mailpop3_pass(s->pop3, password);
	if (r != MAILPOP3_NO_ERROR) {
		ma_status ls = fail(s, r, _("login"), MA_ERR_LOGIN, err);
		/* As in ma_imap_login: a login cut off may leave PASS in the
		 * stream's buffer, traced when libetpan flushes it later. */
		if (!s->base.broken && ma_conn_last_error(s->base.conn) == MA_OK)
			s->tap.phase = MA_TRACE_NORMAL;
		return ls;
	}
	s->tap.phase = MA_TRACE_NORMAL;
	return MA_OK;
}

/* One line of a reply into s->line (CRLF removed). Longer than MAX_LINE is
 * a broken server: the rest of the stream can no longer be trusted. Taken
 * from the stream's buffer a run at a time (UIDL and LIST of 80,000
 * messages were 2.5 million one-byte reads). */
static ma_status read_line(struct ma_pop3 *s, const char *what, struct ma_error *err)
{
	s->rd.st = s->pop3->pop3_stream;
	s->linelen = 0;
	for (;;) {
		const char *p;
		bool eol;
		ssize_t got = ma_stream_reader_line(&s->rd, &p, &eol);
		if (got < 0) {
			ma_status st = ma_conn_last_error(s->base.conn);
			ma_fail(err, st != MA_OK ? st : MA_ERR_CLOSED, _("POP3 server %s, during %s%s%s"), s->base.host, what,
				ma_conn_last_detail(s->base.conn)[0] ? ": " : "", ma_conn_last_detail(s->base.conn));
			return broken(s, err);
		}
		size_t text = (size_t)got - (eol ? 1 : 0);
		if (text > MAX_LINE - s->linelen) {
			ma_fail(err, MA_ERR_TOO_LARGE, _("POP3 server %s sent a line longer than %d bytes in %s"),
				s->base.host, MAX_LINE, what);
			return broken(s, err);
		}
		memcpy(s->line + s->linelen, p, text);
		s->linelen += text;
		ma_stream_reader_take(&s->rd, (size_t)got);
		if (eol)
			break;
	}
	if (s->linelen > 0 && s->line[s->linelen - 1] == '\r')
		s->linelen--;
	s->line[s->linelen] = '\0';
	return MA_OK;
}

/* Sends cmd and reads the status line. -ERR returns MA_ERR_PROTOCOL with
 * the server's words, and leaves the session usable. */
static ma_status command(struct ma_pop3 *s, const char *cmd, struct ma_error *err)
{
	mailstream *stream = s->pop3->pop3_stream;
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%s\r\n", cmd);
	/* libetpan leaves the stream private after PASS, which would trace
	 * STAT, UIDL and LIST as redacted credentials. They hold no secret. */
	mailstream_set_privacy(stream, 1);
	if (mailstream_write(stream, buf, (size_t)n) != n || mailstream_flush(stream) != 0) {
		ma_status st = ma_conn_last_error(s->base.conn);
		ma_fail(err, st != MA_OK ? st : MA_ERR_CLOSED, _("POP3 server %s, sending %s"), s->base.host, cmd);
		return broken(s, err);
	}
	ma_status st = read_line(s, cmd, err);
	if (st != MA_OK)
		return st;
	if (strncmp(s->line, "+OK", 3) == 0)
		return MA_OK;
	if (strncmp(s->line, "-ERR", 4) == 0)
		return from_response(s, s->line + 4, MA_ERR_PROTOCOL, cmd, err);
	ma_fail(err, MA_ERR_PROTOCOL, _("POP3 server %s answered %s with neither +OK nor -ERR"), s->base.host, cmd);
	return broken(s, err);
}

ma_status ma_pop3_stat(struct ma_pop3 *s, uint32_t *count, uint64_t *size, struct ma_error *err)
{
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		return st;
	st = command(s, "STAT", err);
	ma_stream_reader_sync(&s->rd);
	if (st != MA_OK)
		return st;
	if (ma_pop3_parse_stat(s->line, s->linelen, count, size) != 0)
		return ma_fail(err, MA_ERR_PROTOCOL, _("POP3 server %s sent a malformed STAT reply"), s->base.host);
	return MA_OK;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct ma_pop3_entry *x = a, *y = b;
	return x->number < y->number ? -1 : x->number > y->number;
}

static struct ma_pop3_entry *find_entry(struct ma_pop3_view *v, uint32_t number)
{
	struct ma_pop3_entry key = { .number = number };
	if (v->nentries == 0)
		return NULL; /* entries is NULL then: not for bsearch */
	return bsearch(&key, v->entries, v->nentries, sizeof key, entry_cmp);
}

/* What the line readers return: 0, -1 for a line no server may send,
 * LINE_NOMEM (never taken for the server's fault: the view would be
 * wrong without anyone knowing), or LINE_TOO_MANY past MAX_ENTRIES (a
 * limit of ours, not a malformed reply). */
#define LINE_NOMEM (-2)
#define LINE_TOO_MANY (-3)

/* Reads a multi-line reply line by line; parse is called for each
 * unstuffed line. Runs to the terminating "." even after a bad line, so
 * the stream stays in step. */
typedef int (*line_fn)(struct ma_pop3_view *v, const char *buf, size_t len, bool first_pass);

static ma_status multiline(struct ma_pop3 *s, const char *what, struct ma_pop3_view *v,
			   line_fn fn, bool first_pass, struct ma_error *err)
{
	bool bad = false, oom = false, too_many = false;
	for (;;) {
		ma_status st = read_line(s, what, err);
		if (st != MA_OK)
			return st;
		const char *p;
		size_t len;
		bool end = false;
		if (ma_pop3_unstuff(s->line, s->linelen, &p, &len, &end) != 0)
			bad = true;
		else if (end)
			break;
		else if (!bad && !oom && !too_many) {
			int rc = fn(v, p, len, first_pass);
			oom = rc == LINE_NOMEM;
			too_many = rc == LINE_TOO_MANY;
			bad = rc != 0 && !oom && !too_many;
		}
	}
	/* The rest of the reply is read either way: the stream stays in step. */
	if (oom)
		return ma_fail(err, MA_ERR_NOMEM, _("reading the POP3 %s list"), what);
	if (too_many)
		return ma_fail(err, MA_ERR_TOO_LARGE,
			       _("POP3 server %s lists more than %s messages in its %s reply, the most "
				 "mailaudit reads"), s->base.host, MAX_ENTRIES_TEXT, what);
	if (bad)
		return ma_fail(err, MA_ERR_PROTOCOL, _("POP3 server %s sent a malformed %s reply"), s->base.host, what);
	return MA_OK;
}

static int add_entry(struct ma_pop3_view *v, uint32_t number)
{
	if (v->nentries >= MAX_ENTRIES)
		return LINE_TOO_MANY;
	if (v->nentries > 0 && number <= v->entries[v->nentries - 1].number)
		return -1; /* numbers must ascend: a repeat or disorder is hostile */
	/* Capacity is the next power of two (at least 64): grow when full. */
	size_t n = v->nentries;
	if (n == 0 || (n >= 64 && (n & (n - 1)) == 0)) {
		size_t cap = n == 0 ? 64 : n * 2;
		struct ma_pop3_entry *e = realloc(v->entries, cap * sizeof *e);
		if (!e)
			return LINE_NOMEM;
		v->entries = e;
	}
	memset(&v->entries[n], 0, sizeof v->entries[0]);
	v->entries[n].number = number;
	v->entries[n].uidl = "";
	v->nentries++;
	return 0;
}

static int uidl_line(struct ma_pop3_view *v, const char *buf, size_t len, bool first_pass)
{
	(void)first_pass;
	uint32_t num;
	char uidl[MA_UIDL_MAX + 1];
	if (ma_pop3_parse_uidl_line(buf, len, &num, uidl) != 0)
		return -1;
	int rc = add_entry(v, num);
	if (rc != 0)
		return rc;
	const char *u = ma_pop3_view_add_uidl(v, uidl, strlen(uidl));
	if (!u)
		return LINE_NOMEM;
	v->entries[v->nentries - 1].uidl = u;
	return 0;
}

static int list_line(struct ma_pop3_view *v, const char *buf, size_t len, bool first_pass)
{
	uint32_t num, size;
	if (ma_pop3_parse_list_line(buf, len, &num, &size) != 0)
		return -1;
	if (first_pass) {
		int rc = add_entry(v, num);
		if (rc != 0)
			return rc;
		v->entries[v->nentries - 1].size = size;
		return 0;
	}
	struct ma_pop3_entry *e = find_entry(v, num);
	if (!e)
		return -1; /* LIST names a message UIDL did not */
	e->size = size;
	return 0;
}

ma_status ma_pop3_scan_stat(struct ma_pop3 *s, struct ma_pop3_view *v, struct ma_error *err)
{
	memset(v, 0, sizeof *v);
	ma_status st = ma_pop3_stat(s, &v->stat_count, &v->stat_size, err);
	if (st != MA_OK)
		return st;
	v->capa = calloc(s->ncapa ? s->ncapa : 1, sizeof *v->capa);
	if (!v->capa)
		goto nomem;
	for (size_t i = 0; i < s->ncapa; i++) {
		if (!(v->capa[i] = strdup(s->capa[i])))
			goto nomem;
		v->ncapa++;
	}
	return MA_OK;
nomem:
	ma_pop3_view_clear(v);
	return ma_fail(err, MA_ERR_NOMEM, NULL);
}

ma_status ma_pop3_scan_lists(struct ma_pop3 *s, struct ma_pop3_view *v, struct ma_error *err)
{
	bool have_uidl = false;
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		goto fail;
	st = command(s, "UIDL", err);
	if (st == MA_OK) {
		s->tap.phase = MA_TRACE_BULK;
		st = multiline(s, "UIDL", v, uidl_line, false, err);
		s->tap.phase = MA_TRACE_NORMAL;
		if (st != MA_OK)
			goto fail;
		have_uidl = true;
	} else if (s->base.broken) {
		goto fail;
	}
	/* LIST only for the sizes; a POP3 size is that message's octets as
	 * POP3 counts them, which IMAP's RFC822.SIZE need not equal. */
	st = command(s, "LIST", err);
	if (st != MA_OK)
		goto fail;
	s->tap.phase = MA_TRACE_BULK;
	st = multiline(s, "LIST", v, list_line, !have_uidl, err);
	s->tap.phase = MA_TRACE_NORMAL;
	if (st != MA_OK)
		goto fail;
	ma_stream_reader_sync(&s->rd);
	return MA_OK;
fail:
	if (s)
		ma_stream_reader_sync(&s->rd);
	ma_pop3_view_clear(v);
	return st;
}

ma_status ma_pop3_scan_uidls(struct ma_pop3 *s, struct ma_pop3_view *v, bool *have_uidl,
			     struct ma_error *err)
{
	*have_uidl = false;
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		goto fail;
	st = command(s, "UIDL", err);
	if (st != MA_OK) {
		if (s->base.broken)
			goto fail;
		ma_stream_reader_sync(&s->rd);
		return MA_OK;
	}
	s->tap.phase = MA_TRACE_BULK;
	st = multiline(s, "UIDL", v, uidl_line, false, err);
	s->tap.phase = MA_TRACE_NORMAL;
	if (st != MA_OK)
		goto fail;
	ma_stream_reader_sync(&s->rd);
	*have_uidl = true;
	return MA_OK;
fail:
	if (s)
		ma_stream_reader_sync(&s->rd);
	ma_pop3_view_clear(v);
	return st;
}

ma_status ma_pop3_scan_sizes(struct ma_pop3 *s, struct ma_pop3_view *v, struct ma_error *err)
{
	ma_status st = check_usable(s, err);
	if (st == MA_OK)
		st = command(s, "LIST", err);
	if (st == MA_OK) {
		s->tap.phase = MA_TRACE_BULK;
		st = multiline(s, "LIST", v, list_line, false, err);
		s->tap.phase = MA_TRACE_NORMAL;
	}
	if (s)
		ma_stream_reader_sync(&s->rd);
	if (st != MA_OK)
		ma_pop3_view_clear(v);
	return st;
}

/* "+OK NUM SIZE" for entry e, in s->line. */
static ma_status take_list_reply(struct ma_pop3 *s, struct ma_pop3_entry *e, struct ma_error *err)
{
	const char *p = s->line + 3;
	while (*p == ' ')
		p++;
	uint32_t num, size;
	if (ma_pop3_parse_list_line(p, strlen(p), &num, &size) != 0 || num != e->number)
		return ma_fail(err, MA_ERR_PROTOCOL, _("POP3 server %s sent a malformed LIST reply"), s->base.host);
	e->size = size;
	return MA_OK;
}

ma_status ma_pop3_list_each(struct ma_pop3 *s, struct ma_pop3_entry *const *e, size_t n,
			    struct ma_error *err)
{
	/* One round trip per batch where the server allows pipelining (RFC
	 * 2449), else one per message: over a real network that is what it
	 * costs, and the caller keeps n small. */
	size_t batch = ma_pop3_has_capa(s, "PIPELINING") ? PIPELINE_BATCH : 1;
	ma_status st = check_usable(s, err);
	for (size_t i = 0; i < n && st == MA_OK; i += batch) {
		size_t m = n - i < batch ? n - i : batch;
		mailstream *stream = s->pop3->pop3_stream;
		mailstream_set_privacy(stream, 1);
		bool sent = true;
		for (size_t k = 0; k < m && sent; k++) {
			char buf[32];
			int len = snprintf(buf, sizeof buf, "LIST %" PRIu32 "\r\n", e[i + k]->number);
			sent = mailstream_write(stream, buf, (size_t)len) == len;
		}
		if (!sent || mailstream_flush(stream) != 0) {
			ma_status cs = ma_conn_last_error(s->base.conn);
			ma_fail(err, cs != MA_OK ? cs : MA_ERR_CLOSED, _("POP3 server %s, sending LIST"), s->base.host);
			return broken(s, err);
		}
		/* Every reply is read, also after a bad one: the stream stays in step. */
		for (size_t k = 0; k < m; k++) {
			ma_status rs = read_line(s, "LIST", err);
			if (rs != MA_OK)
				return rs;
			if (strncmp(s->line, "+OK", 3) == 0) {
				if (st == MA_OK)
					st = take_list_reply(s, e[i + k], err);
			} else if (strncmp(s->line, "-ERR", 4) == 0) {
				if (st == MA_OK)
					st = from_response(s, s->line + 4, MA_ERR_PROTOCOL, "LIST", err);
			} else {
				ma_fail(err, MA_ERR_PROTOCOL, _("POP3 server %s answered %s with neither +OK nor -ERR"),
					s->base.host, "LIST");
				return broken(s, err);
			}
		}
	}
	ma_stream_reader_sync(&s->rd);
	return st;
}

/* Sends one batch of "VERB n" commands (pipelined where allowed). */
static ma_status send_each(struct ma_pop3 *s, const char *verb, const uint32_t *numbers, size_t m,
			   struct ma_error *err)
{
	mailstream *stream = s->pop3->pop3_stream;
	mailstream_set_privacy(stream, 1);
	bool sent = true;
	for (size_t k = 0; k < m && sent; k++) {
		char buf[32];
		int len = snprintf(buf, sizeof buf, "%s %" PRIu32 "\r\n", verb, numbers[k]);
		sent = mailstream_write(stream, buf, (size_t)len) == len;
	}
	if (!sent || mailstream_flush(stream) != 0) {
		ma_status cs = ma_conn_last_error(s->base.conn);
		ma_fail(err, cs != MA_OK ? cs : MA_ERR_CLOSED, _("POP3 server %s, sending %s"), s->base.host, verb);
		return broken(s, err);
	}
	return MA_OK;
}

ma_status ma_pop3_uidl_each(struct ma_pop3 *s, const uint32_t *numbers, size_t n, ma_pop3_uidl_fn fn,
			    void *ctx, struct ma_error *err)
{
	/* As ma_pop3_list_each: a batch to a round trip where the server
	 * pipelines, else one at a time. */
	size_t batch = ma_pop3_has_capa(s, "PIPELINING") ? PIPELINE_BATCH : 1;
	ma_status st = check_usable(s, err);
	for (size_t i = 0; i < n && st == MA_OK; i += batch) {
		size_t m = n - i < batch ? n - i : batch;
		ma_status ss = send_each(s, "UIDL", numbers + i, m, err);
		if (ss != MA_OK)
			return ss;
		/* Every reply is read, also after a bad one: the stream stays in step. */
		for (size_t k = 0; k < m; k++) {
			ma_status rs = read_line(s, "UIDL", err);
			if (rs != MA_OK)
				return rs;
			uint32_t num;
			char uidl[MA_UIDL_MAX + 1];
			if (strncmp(s->line, "+OK", 3) == 0) {
				if (st != MA_OK)
					continue;
				if (ma_pop3_parse_uidl_reply(s->line, s->linelen, &num, uidl) != 0 ||
				    num != numbers[i + k])
					st = ma_fail(err, MA_ERR_PROTOCOL, _("POP3 server %s sent a malformed %s reply"),
						     s->base.host, "UIDL");
				else
					fn(num, uidl, ctx);
			} else if (strncmp(s->line, "-ERR", 4) == 0) {
				if (st == MA_OK)
					st = from_response(s, s->line + 4, MA_ERR_PROTOCOL, "UIDL", err);
			} else {
				ma_fail(err, MA_ERR_PROTOCOL, _("POP3 server %s answered %s with neither +OK nor -ERR"),
					s->base.host, "UIDL");
				return broken(s, err);
			}
		}
	}
	ma_stream_reader_sync(&s->rd);
	return st;
}

ma_status ma_pop3_scan(struct ma_pop3 *s, struct ma_pop3_view *v, struct ma_error *err)
{
	ma_status st = ma_pop3_scan_stat(s, v, err);
	if (st == MA_OK)
		st = ma_pop3_scan_lists(s, v, err);
	return st;
}

void ma_pop3_close(struct ma_pop3 *s)
{
	if (!s)
		return;
	if (s->pop3) {
		/* mailpop3_free sends QUIT on an open stream; a dead one must
		 * fail at once rather than wait. */
		if (s->base.broken)
			ma_conn_kill(s->base.conn);
		if (s->pop3->pop3_stream && !s->base.broken)
			mailpop3_quit(s->pop3);
		mailpop3_free(s->pop3);
	}
	ma_conn_free(s->base.conn);
	free_capa(s);
	free(s);
}

/* ---- the session base's table (session.h) ---- */

static ma_status pop3_open_conn(struct ma_conn *c, const char *label, enum ma_security security,
				bool insecure, struct ma_trace *trace, struct ma_session **out,
				struct ma_error *err)
{
	struct ma_pop3 *s = NULL;
	ma_status st = ma_pop3_open_conn(c, label, security, insecure, trace, &s, err);
	*out = s ? &s->base : NULL;
	return st;
}

/* The CAPA names a report shows, in this order: the ones that say how a
 * client may log in and read. */
static void pop3_caps(const struct ma_session *b, char *buf, size_t len)
{
	static const char *const names[] = { "USER", "SASL", "STLS", "UIDL", "TOP", "RESP-CODES",
		"AUTH-RESP-CODE", "PIPELINING", "LOGIN-DELAY", "EXPIRE" };
	const struct ma_pop3 *s = pop3_of_const(b);
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0] && o < len; i++)
		if (ma_pop3_has_capa(s, names[i]))
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "", names[i]);
}

static void pop3_close(struct ma_session *b)
{
	ma_pop3_close(pop3_of(b));
}

const struct ma_session_driver ma_pop3_driver = {
	.proto = MA_PROTO_POP3,
	.name = "POP3",
	.starttls = "STLS",
	.greet = pop3_greet,
	.read_caps = pop3_read_caps,
	.offers_starttls = pop3_offers_starttls,
	.send_starttls = pop3_send_starttls,
	.starttls_refused = pop3_starttls_refused,
	.stream = pop3_stream,
	.open_conn = pop3_open_conn,
	.caps = pop3_caps,
	.login = pop3_login,
	.close = pop3_close,
};
