#include "mail/imap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "base/parse.h"
#include "mail/session.h"
#include "net/stream.h"
#include "mail/session_util.h"
#include "base/i18n.h"

/* UIDs per UID FETCH command: bounds one reply (the transport's 64 MB per
 * reply guard never comes near) and the command's length (~28 KB at worst,
 * 2500 scattered UIDs); with FETCH_WINDOW commands in flight the server
 * always has the next one queued, so larger chunks would buy nothing. */
#define FETCH_CHUNK 2500
/* Commands in flight, and their bytes: we write while the server writes to
 * us, so what we send must fit the socket buffers or both sides could block
 * writing (the transport would end that with a timeout, not a hang). At
 * least one command is always in flight. */
#define FETCH_WINDOW 4
#define FETCH_WINDOW_BYTES 65536
/* Our own caps on one FETCH response, so a malformed count cannot make us
 * allocate: a literal (the transport refuses larger announcements before we
 * see them) and the whole response with its literals. */
#define FETCH_LITERAL_MAX (1 << 20)
#define FETCH_RESP_MAX (4 << 20)
#define MAX_FOLDERS 100000
/* Messages in one folder: a server saying more is not believed. Far past
 * any mailbox mailaudit is for, and it bounds the work a count decides
 * (a FETCH command per FETCH_CHUNK of them, a UID in memory for each). */
#define MAX_FOLDER_MESSAGES 10000000
#define MAX_FOLDER_MESSAGES_TEXT "10,000,000"

struct ma_imap {
	struct ma_session base;   /* first: conn, host, broken (session.h) */
	mailimap *imap;
	struct ma_trace_tap tap;
	char *caps;
	unsigned fetch_tag;       /* our own UID FETCH tags: "F1", "F2", ... */
	bool qresync;             /* ENABLE QRESYNC accepted (ma_imap_enable_qresync) */
	bool condstore;           /* CONDSTORE offered: EXAMINE (CONDSTORE), CHANGEDSINCE */
	unsigned events;          /* EXISTS/EXPUNGE/VANISHED seen by our FETCH reader */
};

static void imap_logger(mailimap *imap, int log_type, const char *str, size_t size, void *ctx)
{
	(void)imap;
	ma_trace_event(ctx, log_type, str, size);
}

/* Turns a libetpan result into a status: our transport's view first (it
 * knows timeouts and EOF), then libetpan's code, then the server's words. */
static ma_status fail(struct ma_imap *s, int r, const char *what, struct ma_error *err)
{
	ma_status st = ma_conn_last_error(s->base.conn);
	char text[300] = "";
	if (s->imap->imap_response)
		ma_sanitize(text, sizeof text, s->imap->imap_response, strlen(s->imap->imap_response));
	const char *code = NULL;
	if (s->imap->imap_response_info && s->imap->imap_response_info->rsp_atom)
		code = s->imap->imap_response_info->rsp_atom;

	if (st != MA_OK) {
		ma_fail(err, st, _("IMAP server %s, during %s%s%s"), s->base.host, what,
			ma_conn_last_detail(s->base.conn)[0] ? ": " : "", ma_conn_last_detail(s->base.conn));
	} else if (r == MAILIMAP_ERROR_STREAM) {
		st = ma_fail(err, MA_ERR_CLOSED, _("IMAP server %s, during %s"), s->base.host, what);
	} else if (r == MAILIMAP_ERROR_PARSE) {
		st = ma_fail(err, MA_ERR_PROTOCOL, _("IMAP server %s sent an unparsable reply to %s"), s->base.host, what);
	} else if (r == MAILIMAP_ERROR_MEMORY) {
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
	} else if (code && (strcasecmp(code, "UNAVAILABLE") == 0 || strcasecmp(code, "INUSE") == 0)) {
		st = ma_fail(err, MA_ERR_SERVER_TEMP, _("IMAP server %s said: %s"), s->base.host, text);
	} else if (code && strcasecmp(code, "LIMIT") == 0) {
		/* RFC 5530: an implementation limit, in practice the connections
		 * one user may have open at once; a NO to LOGIN with it is no
		 * verdict on the password. */
		st = ma_fail(err, MA_ERR_SERVER_TEMP,
			     _("IMAP server %s refused %s with [LIMIT]: too many connections to this mailbox "
			     "at once, or another limit of the server; it said: %s"),
			     s->base.host, what, text[0] ? text : _("(no reason given)"));
	} else if (code && strcasecmp(code, "PRIVACYREQUIRED") == 0) {
		st = ma_fail(err, MA_ERR_PLAINTEXT_REFUSED, _("IMAP server %s said: %s"), s->base.host, text);
	} else if (r == MAILIMAP_ERROR_LOGIN || r == MAILIMAP_ERROR_CUSTOM_COMMAND) {
		st = ma_fail(err, MA_ERR_LOGIN, _("IMAP server %s said: %s"), s->base.host,
			     text[0] ? text : _("(no reason given)"));
	} else if (r == MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION || r == MAILIMAP_ERROR_CONNECTION_REFUSED) {
		st = ma_fail(err, MA_ERR_GREETING, _("IMAP server %s said: %s"), s->base.host, text);
	} else if (r == MAILIMAP_ERROR_BAD_STATE) {
		st = ma_fail(err, MA_ERR_NOT_CONNECTED, NULL);
	} else {
		st = ma_fail(err, MA_ERR_PROTOCOL, _("IMAP server %s refused %s: %s"), s->base.host, what,
			     text[0] ? text : _("(no reason given)"));
	}
	/* Only a failed command with a live stream (NO/BAD) lets us go on. */
	if (r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_PARSE || ma_conn_last_error(s->base.conn) != MA_OK ||
	    r == MAILIMAP_ERROR_MEMORY)
		ma_session_mark_broken(&s->base, err);
	return st;
}

static ma_status check_usable(struct ma_imap *s, struct ma_error *err)
{
	if (!s || !s->imap)
		return ma_fail(err, MA_ERR_NOT_CONNECTED, NULL);
	return ma_session_usable(&s->base, err);
}

/* RFC 3501 7.1: an [ALERT] text must be shown to the user. libetpan
 * keeps only the last one of each response, so the transport collects
 * them all from the bytes it reads (greeting, every command, our FETCH
 * reader's replies alike). */
const char *const *ma_imap_alerts(const struct ma_imap *s, size_t *n)
{
	return ma_conn_alerts(s ? s->base.conn : NULL, n);
}

/* mailimap_capability step by step. libetpan's own copies its capability
 * cache once the reply is done, and a "* CAPABILITY" line with nothing
 * after it leaves that cache NULL: the copy then dereferences NULL
 * (found by fuzz_session). Here the caller reads the cache, NULL or not. */
static int capability_cmd(mailimap *im)
{
	static const char cmd[] = "CAPABILITY\r\n";
	int r = mailimap_send_current_tag(im);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	if (mailstream_write(im->imap_stream, cmd, sizeof cmd - 1) != (ssize_t)(sizeof cmd - 1) ||
	    mailstream_flush(im->imap_stream) == -1 || !mailimap_read_line(im))
		return MAILIMAP_ERROR_STREAM;
	struct mailimap_response *resp = NULL;
	r = mailimap_parse_response(im, &resp);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	const struct mailimap_response_done *done = resp->rsp_resp_done;
	bool ok = done && done->rsp_type == MAILIMAP_RESP_DONE_TYPE_TAGGED &&
		  done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type == MAILIMAP_RESP_COND_STATE_OK;
	mailimap_response_free(resp);
	return ok ? MAILIMAP_NO_ERROR : MAILIMAP_ERROR_CAPABILITY;
}

/* Replaces libetpan's capability cache by an empty list (false: out of
 * memory, the cache left as it was). */
static bool empty_cap_cache(struct mailimap_connection_info *ci)
{
	clist *none = clist_new();
	struct mailimap_capability_data *fresh = none ? mailimap_capability_data_new(none) : NULL;
	if (!fresh) {
		if (none)
			clist_free(none);
		return false;
	}
	if (ci->imap_capability)
		mailimap_capability_data_free(ci->imap_capability);
	ci->imap_capability = fresh;
	return true;
}

/* Whether libetpan's cache holds a list the server sent: libetpan keeps
 * the last one, from a CAPABILITY reply, a greeting's [CAPABILITY] or
 * whatever the login's reply carried. */
static bool cache_has_caps(const struct ma_imap *s)
{
	const struct mailimap_connection_info *ci = s->imap->imap_connection_info;
	return ci && ci->imap_capability && ci->imap_capability->cap_list &&
	       !clist_isempty(ci->imap_capability->cap_list);
}

static ma_status caps_from_cache(struct ma_imap *s, struct ma_error *err);

static ma_status read_caps(struct ma_imap *s, struct ma_error *err)
{
	/* libetpan answers CAPABILITY with a copy of its cache: a server that
	 * sends no capability data leaves that NULL and libetpan dereferences
	 * it (segfault), and after STARTTLS the cache would still hold the
	 * plaintext list. So each read starts from an empty cache. */
	struct mailimap_connection_info *ci = s->imap->imap_connection_info;
	if (!ci || !empty_cap_cache(ci))
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	int r = capability_cmd(s->imap);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, r, "CAPABILITY", err);
	return caps_from_cache(s, err);
}

/* s->caps from the cache itself, not a copy: what the server left there. */
static ma_status caps_from_cache(struct ma_imap *s, struct ma_error *err)
{
	struct mailimap_connection_info *ci = s->imap->imap_connection_info;
	struct mailimap_capability_data *cap = ci->imap_capability;
	if (!cap || !cap->cap_list) {
		free(s->caps);
		s->caps = strdup("");
		/* Never NULL for libetpan's own readers of the cache. */
		return s->caps && empty_cap_cache(ci) ? MA_OK : ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	size_t len = 0, used = 0;
	for (clistiter *it = clist_begin(cap->cap_list); it; it = clist_next(it)) {
		struct mailimap_capability *c = clist_content(it);
		if (c->cap_type == MAILIMAP_CAPABILITY_AUTH_TYPE)
			len += strlen(c->cap_data.cap_auth_type) + 6;
		else
			len += strlen(c->cap_data.cap_name) + 1;
	}
	free(s->caps);
	s->caps = malloc(len + 1);
	if (!s->caps)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	s->caps[0] = '\0';
	for (clistiter *it = clist_begin(cap->cap_list); it; it = clist_next(it)) {
		struct mailimap_capability *c = clist_content(it);
		int w;
		if (c->cap_type == MAILIMAP_CAPABILITY_AUTH_TYPE)
			w = snprintf(s->caps + used, len + 1 - used, "%sAUTH=%s", used ? " " : "",
				     c->cap_data.cap_auth_type);
		else
			w = snprintf(s->caps + used, len + 1 - used, "%s%s", used ? " " : "",
				     c->cap_data.cap_name);
		if (w > 0 && (size_t)w < len + 1 - used)
			used += (size_t)w;
	}
	/* libetpan lets 8-bit bytes into atoms; the list goes to the screen. */
	char *clean = ma_sanitize_dup(s->caps, used);
	if (!clean)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	free(s->caps);
	s->caps = clean;
	return MA_OK;
}

bool ma_imap_has_cap(const struct ma_imap *s, const char *name)
{
	if (!s || !s->caps)
		return false;
	size_t n = strlen(name);
	for (const char *p = s->caps; *p;) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && strncasecmp(p, name, n) == 0)
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

const char *ma_imap_caps(const struct ma_imap *s)
{
	return s && s->caps ? s->caps : "";
}

const struct ma_cert_info *ma_imap_cert(const struct ma_imap *s)
{
	return s ? ma_conn_cert(s->base.conn) : NULL;
}

/* ---- the opening (session.h calls these in order) ---- */

static struct ma_imap *imap_of(struct ma_session *b)
{
	return (struct ma_imap *)b;
}

static const struct ma_imap *imap_of_const(const struct ma_session *b)
{
	return (const struct ma_imap *)b;
}

static ma_status imap_greet(struct ma_session *b, struct ma_error *err)
{
	struct ma_imap *s = imap_of(b);
	mailstream *stream = ma_conn_stream(s->base.conn, 8192);
	if (!stream)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	/* From here the stream belongs to s->imap, even if connect fails. */
	int r = mailimap_connect(s->imap, stream);
	if (r == MAILIMAP_NO_ERROR_AUTHENTICATED || r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED)
		return MA_OK;
	/* A greeting from another protocol's server (libetpan cannot parse
	 * "+OK"): a wrong port, named. The line is still in libetpan's buffer. */
	MMAPString *line = s->imap->imap_stream_buffer;
	if (ma_conn_last_error(s->base.conn) == MA_OK && line && line->str) {
		ma_status wrong = ma_session_wrong_greeting(&s->base, line->str, line->len, err);
		if (wrong != MA_OK)
			return wrong;
	}
	ma_status st = fail(s, r, _("the greeting"), err);
	/* A response code in a BYE greeting ([UNAVAILABLE], seen now that the
	 * response_info exists) names no other failure than the greeting's:
	 * the server's words are in the detail. */
	if (st == MA_ERR_SERVER_TEMP || st == MA_ERR_PLAINTEXT_REFUSED)
		st = err->status = MA_ERR_GREETING;
	if (st == MA_ERR_PROTOCOL || st == MA_ERR_LOGIN)
		st = ma_fail(err, MA_ERR_GREETING, _("IMAP server %s did not greet as an IMAP server"), s->base.host);
	return st;
}

static ma_status imap_read_caps(struct ma_session *b, struct ma_error *err)
{
	/* A greeting with [CAPABILITY ...] says what a CAPABILITY would
	 * (RFC 3501, 7.1): a round trip spared. Only for the first read:
	 * after STARTTLS the cache still holds the plaintext list. */
	struct ma_imap *s = imap_of(b);
	if (!s->caps && cache_has_caps(s))
		return caps_from_cache(s, err);
	return read_caps(s, err);
}

static bool imap_offers_starttls(const struct ma_session *b)
{
	return ma_imap_has_cap(imap_of_const(b), "STARTTLS");
}

static int imap_send_starttls(struct ma_session *b)
{
	struct ma_imap *s = imap_of(b);
	int r = mailimap_starttls(s->imap);
	return r;
}

static ma_status imap_starttls_refused(struct ma_session *b, int r, struct ma_error *err)
{
	struct ma_imap *s = imap_of(b);
	ma_status st = fail(s, r, "STARTTLS", err);
	if (ma_conn_last_error(s->base.conn) != MA_OK || r == MAILIMAP_ERROR_STREAM ||
	    r == MAILIMAP_ERROR_PARSE || st == MA_ERR_NOMEM || st == MA_ERR_NOT_CONNECTED)
		return st;
	/* The server answered NO or BAD: whatever its code made of it (a
	 * temporary failure for [UNAVAILABLE]), the words say it was STARTTLS
	 * it refused. */
	char text[300] = "";
	if (s->imap->imap_response)
		ma_sanitize(text, sizeof text, s->imap->imap_response, strlen(s->imap->imap_response));
	char code[64] = "";
	if (s->imap->imap_response_info && s->imap->imap_response_info->rsp_atom) {
		const char *a = s->imap->imap_response_info->rsp_atom;
		char clean[48];
		ma_sanitize(clean, sizeof clean, a, strlen(a));
		snprintf(code, sizeof code, "[%s] ", clean);
	}
	if (st == MA_ERR_PROTOCOL)
		st = MA_ERR_STARTTLS_MISSING;
	return ma_fail(err, st, _("IMAP server %s refused STARTTLS: %s%s"), s->base.host, code,
		       text[0] || code[0] ? text : _("(no reason given)"));
}

static mailstream *imap_stream(const struct ma_session *b)
{
	return imap_of_const(b)->imap->imap_stream;
}

/* Like the plaintext capabilities, a plaintext alert may have been put
 * there by whoever sits on the way ("[ALERT] your account is blocked, log
 * in at ..."): only protected ones are shown. */
static void imap_tls_started(struct ma_session *b)
{
	struct ma_imap *s = imap_of(b);
	ma_conn_drop_alerts(s->base.conn);
}

static ma_status open_conn(struct ma_conn *c, const char *label, enum ma_security security,
			   bool insecure, struct ma_trace *trace, const char *trace_name,
			   struct ma_imap **out, struct ma_error *err);

ma_status ma_imap_open(const struct ma_endpoint *ep, const struct ma_net_opts *net,
		       struct ma_trace *trace, struct ma_imap **out, struct ma_error *err)
{
	return ma_imap_open_as(ep, net, trace, "imap", out, err);
}

ma_status ma_imap_open_as(const struct ma_endpoint *ep, const struct ma_net_opts *net,
			  struct ma_trace *trace, const char *trace_name, struct ma_imap **out,
			  struct ma_error *err)
{
	*out = NULL;
	char label[272];
	snprintf(label, sizeof label, "%s:%u", ep->host, ep->port);
	struct ma_conn *c = NULL;
	ma_status st = ma_session_connect(MA_PROTO_IMAP, ep, net, &c, err);
	if (st != MA_OK)
		return st;
	return open_conn(c, label, ep->security, net->insecure, trace, trace_name, out, err);
}

ma_status ma_imap_open_conn(struct ma_conn *c, const char *label, enum ma_security security,
			    bool insecure, struct ma_trace *trace, struct ma_imap **out,
			    struct ma_error *err)
{
	return open_conn(c, label, security, insecure, trace, "imap", out, err);
}

static ma_status open_conn(struct ma_conn *c, const char *label, enum ma_security security,
			   bool insecure, struct ma_trace *trace, const char *trace_name,
			   struct ma_imap **out, struct ma_error *err)
{
	ma_status st;
	*out = NULL;
	struct ma_imap *s = calloc(1, sizeof *s);
	if (!s) {
		ma_conn_free(c);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	ma_session_init(&s->base, &ma_imap_driver, c, label, insecure);
	/* We fetch four header fields, never bodies: 1 MB is a generous
	 * literal; 64 MB covers a SEARCH of millions of UIDs. */
	ma_conn_set_limits(c, 1 << 20, 64 << 20);
	s->tap.trace = trace;
	s->tap.proto = trace_name;
	ma_trace_note(&s->tap, "connected to %s (%s)", s->base.host, ma_security_name(security));

	s->imap = mailimap_new(0, NULL);
	if (!s->imap) {
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
		goto cleanup;
	}
	if (trace)
		mailimap_set_logger(s->imap, imap_logger, &s->tap);
	/* libetpan stores the greeting's response codes only into a
	 * response_info that exists (mailimap_new makes none); fail() reads
	 * them as after any command. The greeting's [ALERT] no longer needs
	 * it (the transport keeps alerts). mailimap_free frees it. */
	s->imap->imap_response_info = mailimap_response_info_new();
	st = ma_session_start(&s->base, security, err);
	if (st != MA_OK)
		goto cleanup;
	*out = s;
	return MA_OK;
cleanup:
	ma_imap_close(s);
	return st;
}

static bool has_8bit(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return true;
	return false;
}

ma_status ma_imap_login(struct ma_imap *s, const char *login, const char *password,
			struct ma_error *err)
{
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		return st;
	return ma_session_login(&s->base, login, password, err);
}

/* After ma_session_login's checks. */
static ma_status imap_login(struct ma_session *b, const char *login, const char *password,
			    struct ma_error *err)
{
	struct ma_imap *s = imap_of(b);
	ma_status st;
	if (ma_imap_has_cap(s, "LOGINDISABLED"))
		return ma_fail(err, MA_ERR_PLAINTEXT_REFUSED,
			       _("IMAP server %s advertises LOGINDISABLED on this connection"), s->base.host);

	/* A PREAUTH greeting: already logged in, libetpan would refuse LOGIN
	 * (BAD_STATE). Send no credentials. */
	if (s->imap->imap_state == MAILIMAP_STATE_AUTHENTICATED) {
		ma_trace_note(&s->tap, "server greeted with PREAUTH: no login sent");
		return MA_OK;
	}

	/* Emptied, so that what the login's reply carries can be told from
	 * what was there before. */
	struct mailimap_connection_info *ci = s->imap->imap_connection_info;
	if (!ci || !empty_cap_cache(ci))
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	int r;
	s->tap.phase = MA_TRACE_SECRET;
	if (has_8bit(password) && ma_imap_has_cap(s, "SASL-IR") && ma_imap_has_cap(s, "AUTH=PLAIN")) {
		/* LOGIN's quoted string is 7-bit by the book; SASL PLAIN carries
		 * UTF-8. The whole command is traced as redacted (phase). */
		char *cmd = ma_sasl_plain_command("AUTHENTICATE PLAIN ", login, password);
		if (!cmd) {
			s->tap.phase = MA_TRACE_NORMAL;
			return ma_fail(err, MA_ERR_NOMEM, NULL);
		}
		r = mailimap_custom_command(s->imap, cmd);
		OPENSSL_cleanse(cmd, strlen(cmd));
		free(cmd);
		/* libetpan does not know this command logged in: without this
		 * every later LIST/STATUS/... fails with BAD_STATE. */
		if (r == MAILIMAP_NO_ERROR)
			s->imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
	} else {
		r = mailimap_login(s->imap, login, password);
	}
	if (r != MAILIMAP_NO_ERROR) {
		st = fail(s, r, _("login"), err);
		/* A login cut off (cancelled, timed out, closed) may leave the
		 * command in the stream's buffer, and libetpan traces what it
		 * flushes later, even while freeing: the session stays in the
		 * secret phase to its end. */
		if (!s->base.broken)
			s->tap.phase = MA_TRACE_NORMAL;
		if (st == MA_ERR_PROTOCOL && !s->base.broken)
			st = err->status = MA_ERR_LOGIN; /* a NO to LOGIN or AUTHENTICATE */
		return st;
	}
	s->tap.phase = MA_TRACE_NORMAL;
	/* Servers may have more capabilities after login. Many say which in
	 * the login's reply (Dovecot does); the others are asked. */
	if (cache_has_caps(s))
		return caps_from_cache(s, err);
	return read_caps(s, err);
}

/* An RFC 6154 attribute (libetpan hands it over without its backslash)
 * as enum ma_special; 0 for any other. */
static unsigned special_use(const char *flag)
{
	static const struct {
		const char *name;
		unsigned bit;
	} uses[] = {
		{ "Sent", MA_SPECIAL_SENT }, { "Drafts", MA_SPECIAL_DRAFTS },
		{ "Trash", MA_SPECIAL_TRASH }, { "Junk", MA_SPECIAL_JUNK },
		{ "Archive", MA_SPECIAL_ARCHIVE }, { "All", MA_SPECIAL_ALL },
		{ "Flagged", MA_SPECIAL_FLAGGED },
	};
	for (size_t i = 0; i < sizeof uses / sizeof uses[0]; i++)
		if (strcasecmp(flag, uses[i].name) == 0)
			return uses[i].bit;
	return 0;
}

ma_status ma_imap_list(struct ma_imap *s, struct ma_folder **folders, size_t *n,
		       struct ma_error *err)
{
	*folders = NULL;
	*n = 0;
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		return st;
	clist *list = NULL;
	/* libetpan parses the whole LIST before we can count it, at ~300
	 * bytes of structures per folder: 8 MB of reply (100,000 folders
	 * of ordinary names fit) bounds that. */
	ma_conn_set_limits(s->base.conn, 1 << 20, 8 << 20);
	int r = mailimap_list(s->imap, "", "*", &list);
	ma_conn_set_limits(s->base.conn, 1 << 20, 64 << 20);
	if (r != MAILIMAP_NO_ERROR) {
		/* libetpan hands over the list before it looks at NO/BAD. */
		if (list)
			mailimap_list_result_free(list);
		return fail(s, r, "LIST", err);
	}
	size_t count = (size_t)clist_count(list);
	if (count > MAX_FOLDERS) {
		mailimap_list_result_free(list);
		return ma_fail(err, MA_ERR_TOO_LARGE, P_("IMAP server %s lists %zu folders", "IMAP server %s lists %zu folders", count),
			       s->base.host, count);
	}
	struct ma_folder *out = calloc(count ? count : 1, sizeof *out);
	if (!out) {
		mailimap_list_result_free(list);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	size_t i = 0;
	for (clistiter *it = clist_begin(list); it; it = clist_next(it)) {
		struct mailimap_mailbox_list *mb = clist_content(it);
		if (!mb->mb_name)
			continue;
		struct ma_folder *f = &out[i];
		f->raw_name = strdup(mb->mb_name);
		if (strcasecmp(mb->mb_name, "INBOX") == 0)
			f->name = strdup("INBOX");
		else
			f->name = ma_mutf7_decode(mb->mb_name, strlen(mb->mb_name));
		/* Not valid modified UTF-7: show it as sent, made safe. (Not
		 * when memory ran out: the raw name would then be compared with
		 * the decoded one of earlier audits, a phantom move.) */
		if (!f->name && errno != ENOMEM)
			f->name = ma_sanitize_dup(mb->mb_name, strlen(mb->mb_name));
		f->delimiter = mb->mb_delimiter;
		/* libetpan sends a name back as a quoted string with CR and LF
		 * raw: a name holding them (a literal in LIST, say from another
		 * user's shared folder) would smuggle commands into STATUS or
		 * EXAMINE. Show it, never send it. */
		if (strpbrk(mb->mb_name, "\r\n"))
			f->noselect = true;
		if (mb->mb_flag) {
			if (mb->mb_flag->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
			    mb->mb_flag->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
				f->noselect = true;
			for (clistiter *o = clist_begin(mb->mb_flag->mbf_oflags); o; o = clist_next(o)) {
				struct mailimap_mbx_list_oflag *of = clist_content(o);
				if (of->of_type != MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT || !of->of_flag_ext)
					continue;
				if (strcasecmp(of->of_flag_ext, "NonExistent") == 0)
					f->noselect = true;
				f->special |= special_use(of->of_flag_ext);
			}
		}
		if (!f->raw_name || !f->name) {
			mailimap_list_result_free(list);
			for (size_t j = 0; j <= i; j++)
				ma_folder_clear(&out[j]);
			free(out);
			return ma_fail(err, MA_ERR_NOMEM, NULL);
		}
		i++;
	}
	mailimap_list_result_free(list);
	ma_folders_sort(out, i);
	*folders = out;
	*n = i;
	return MA_OK;
}

/* A folder's message count as the server gives it (EXISTS, or STATUS
 * MESSAGES): every message has a UID of its own below UIDNEXT (RFC 3501
 * 2.3.1.1), so more messages than that is impossible, and more than
 * MAX_FOLDER_MESSAGES is not believed. Either is said, before the count
 * decides how much to fetch (`* 4294967295 EXISTS` meant 1.7 million
 * FETCH commands) or reaches the report; and as nothing this server says
 * about the mailbox can be relied on then, the session ends (broken), so
 * the audit reports it rather than a folder quietly left out. */
static ma_status plausible_count(struct ma_imap *s, const char *folder, const char *what,
				 uint32_t messages, uint32_t uidnext, struct ma_error *err)
{
	if (uidnext && messages > uidnext - 1)
		ma_fail(err, MA_ERR_PROTOCOL,
			P_("IMAP server %s says folder \"%s\" holds %lu messages (%s), but their "
			   "UIDs are all below %lu (UIDNEXT): that is not possible",
			   "IMAP server %s says folder \"%s\" holds %lu messages (%s), but their "
			   "UIDs are all below %lu (UIDNEXT): that is not possible", messages),
			s->base.host, folder, (unsigned long)messages, what, (unsigned long)uidnext);
	else if (messages > MAX_FOLDER_MESSAGES)
		ma_fail(err, MA_ERR_TOO_LARGE,
			P_("IMAP server %s says folder \"%s\" holds %lu messages (%s); mailaudit "
			   "reads at most %s in one folder",
			   "IMAP server %s says folder \"%s\" holds %lu messages (%s); mailaudit "
			   "reads at most %s in one folder", messages),
			s->base.host, folder, (unsigned long)messages, what, MAX_FOLDER_MESSAGES_TEXT);
	else
		return MA_OK;
	return ma_session_mark_broken(&s->base, err);
}

ma_status ma_imap_status(struct ma_imap *s, struct ma_folder *f, struct ma_error *err)
{
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		return st;
	struct mailimap_status_att_list *atts = mailimap_status_att_list_new_empty();
	if (!atts)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_MESSAGES);
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UIDNEXT);
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UIDVALIDITY);
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UNSEEN);
	struct mailimap_mailbox_data_status *res = NULL;
	int r = mailimap_status(s->imap, f->raw_name, atts, &res);
	mailimap_status_att_list_free(atts);
	if (r != MAILIMAP_NO_ERROR) {
		if (res) /* set even on NO/BAD */
			mailimap_mailbox_data_status_free(res);
		char what[300];
		snprintf(what, sizeof what, "STATUS of folder \"%s\"", f->name);
		return fail(s, r, what, err);
	}
	/* "* STATUS x ()" leaves no list, and an OK without any STATUS line
	 * leaves no result: keep the counts as they were. */
	if (!res)
		return MA_OK;
	struct ma_folder got = *f;
	bool has_messages = false;
	for (clistiter *it = res->st_info_list ? clist_begin(res->st_info_list) : NULL; it;
	     it = clist_next(it)) {
		struct mailimap_status_info *si = clist_content(it);
		switch (si->st_att) {
		case MAILIMAP_STATUS_ATT_MESSAGES: got.messages = si->st_value, has_messages = true; break;
		case MAILIMAP_STATUS_ATT_UIDNEXT: got.uidnext = si->st_value; break;
		case MAILIMAP_STATUS_ATT_UIDVALIDITY: got.uidvalidity = si->st_value; break;
		case MAILIMAP_STATUS_ATT_UNSEEN: got.unseen = si->st_value; break;
		default: break;
		}
	}
	mailimap_mailbox_data_status_free(res);
	if (has_messages && (st = plausible_count(s, f->name, "STATUS MESSAGES", got.messages, got.uidnext,
						  err)) != MA_OK)
		return st;
	f->messages = got.messages;
	f->uidnext = got.uidnext;
	f->uidvalidity = got.uidvalidity;
	f->unseen = got.unseen;
	return MA_OK;
}

ma_status ma_imap_examine(struct ma_imap *s, struct ma_folder *f, struct ma_error *err)
{
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		return st;
	/* With QRESYNC enabled, EXAMINE reports HIGHESTMODSEQ (or NOMODSEQ:
	 * 0). libetpan's condstore variant sends "EXAMINE box (CONDSTORE)",
	 * still read-only. */
	uint64_t modseq = 0;
	int r = s->condstore ? mailimap_examine_condstore(s->imap, f->raw_name, &modseq)
			     : mailimap_examine(s->imap, f->raw_name);
	/* A server that announces CONDSTORE yet refuses the parameter is
	 * asked as before, and the session goes on without it. */
	if (r == MAILIMAP_ERROR_EXAMINE && s->condstore && !s->qresync &&
	    ma_conn_last_error(s->base.conn) == MA_OK) {
		modseq = 0;
		r = mailimap_examine(s->imap, f->raw_name);
		if (r == MAILIMAP_NO_ERROR)
			s->condstore = false;
	}
	f->modseq = r == MAILIMAP_NO_ERROR ? modseq : 0;
	if (r != MAILIMAP_NO_ERROR) {
		char what[300];
		snprintf(what, sizeof what, "EXAMINE of folder \"%s\"", f->name);
		return fail(s, r, what, err);
	}
	struct mailimap_selection_info *si = s->imap->imap_selection_info;
	if (si) {
		if (si->sel_has_exists &&
		    (st = plausible_count(s, f->name, "EXISTS", si->sel_exists, si->sel_uidnext, err)) != MA_OK)
			return st;
		if (si->sel_has_exists)
			f->messages = si->sel_exists;
		if (si->sel_uidnext)
			f->uidnext = si->sel_uidnext;
		if (si->sel_uidvalidity)
			f->uidvalidity = si->sel_uidvalidity;
	}
	return MA_OK;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* UID SEARCH with one key in the examined folder; takes key. */
static ma_status search(struct ma_imap *s, struct mailimap_search_key *key, uint32_t **uids,
			 size_t *n, struct ma_error *err)
{
	*uids = NULL;
	*n = 0;
	ma_status st = check_usable(s, err);
	if (st != MA_OK) {
		if (key)
			mailimap_search_key_free(key);
		return st;
	}
	if (!key)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	clist *res = NULL;
	int r = mailimap_uid_search(s->imap, NULL, key, &res);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR) {
		if (res) /* set even on NO/BAD */
			mailimap_search_result_free(res);
		return fail(s, r, "UID SEARCH", err);
	}
	size_t count = (size_t)clist_count(res);
	uint32_t *out = malloc((count ? count : 1) * sizeof *out);
	if (!out) {
		mailimap_search_result_free(res);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	size_t i = 0;
	for (clistiter *it = clist_begin(res); it; it = clist_next(it))
		out[i++] = *(uint32_t *)clist_content(it);
	mailimap_search_result_free(res);
	qsort(out, i, sizeof *out, cmp_u32);
	/* A UID the server lists twice is one message. */
	size_t k = 0;
	for (size_t j = 0; j < i; j++)
		if (k == 0 || out[j] != out[k - 1])
			out[k++] = out[j];
	*uids = out;
	*n = k;
	return MA_OK;
}

ma_status ma_imap_search_all(struct ma_imap *s, uint32_t **uids, size_t *n, struct ma_error *err)
{
	return search(s, mailimap_search_key_new_all(), uids, n, err);
}

ma_status ma_imap_search_deleted(struct ma_imap *s, uint32_t **uids, size_t *n,
				 struct ma_error *err)
{
	/* libetpan has no helper for the flag keys: the general constructor
	 * with every operand empty. */
	struct mailimap_search_key *key = mailimap_search_key_new(MAILIMAP_SEARCH_KEY_DELETED,
		NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL);
	return search(s, key, uids, n, err);
}

/* ---- UID FETCH: our own pipelined reader ----
 *
 * libetpan parses every FETCH reply into a tree of small allocations and
 * frees it again: at 100,000 messages that cost more CPU than the server
 * spent producing them. So UID FETCH is written and read here, over the
 * same mailstream: commands with our own tags ("F1", "F2", ...: libetpan's
 * are numbers), FETCH_WINDOW of them in flight, each untagged response
 * assembled (line, literals, continuation) in one reused buffer and handed
 * to ma_parse_fetch. We read only from the mailstream's own buffer and only
 * up to the end of the last tagged reply, so libetpan finds the stream
 * exactly where a reply of its own would have left it. */

/* The UIDs one fetch has handed over, so a UID the server sends twice
 * (in two responses, or two sessions' ranges) is counted once. They are
 * kept as runs of consecutive UIDs: a folder's UIDs come in ascending
 * order, but for the answers to pipelined commands (Dovecot may run them
 * at once and interleave their answers), so a few runs hold a whole
 * folder where a hash set took 8 to 16 bytes per UID (12 MB at 800,000
 * messages). A UID that would start a run far below the highest one goes
 * into a hash set instead (open addressing; 0, never a UID, marks a free
 * slot), so a server that answers in any order costs what it did before
 * and no insertion moves more than RUNS_MOVE_MAX runs. A UID is in the
 * runs or in the hash set, never in both. */
struct uid_run {
	uint32_t lo, hi;
};
struct uidset {
	struct uid_run *runs;     /* ascending, disjoint */
	size_t nruns, capruns;
	uint32_t *v;              /* the hash set */
	size_t cap, n;
};

#define RUNS_MOVE_MAX 64

/* The first run whose hi >= uid (nruns: none). */
static size_t run_at(const struct uidset *u, uint32_t uid)
{
	size_t lo = 0, hi = u->nruns;
	if (hi && u->runs[hi - 1].hi < uid)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (u->runs[mid].hi < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* 1 if uid was added to the hash set, 0 if it was there, -1 out of memory. */
static int hash_add(struct uidset *u, uint32_t uid)
{
	if ((u->n + 1) * 2 > u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 1024;
		uint32_t *v = calloc(cap, sizeof *v);
		if (!v)
			return -1;
		for (size_t i = 0; i < u->cap; i++) {
			if (!u->v[i])
				continue;
			size_t j = (u->v[i] * 2654435761u) & (cap - 1);
			while (v[j])
				j = (j + 1) & (cap - 1);
			v[j] = u->v[i];
		}
		free(u->v);
		u->v = v;
		u->cap = cap;
	}
	size_t j = (uid * 2654435761u) & (u->cap - 1);
	for (; u->v[j]; j = (j + 1) & (u->cap - 1))
		if (u->v[j] == uid)
			return 0;
	u->v[j] = uid;
	u->n++;
	return 1;
}

static bool hash_has(const struct uidset *u, uint32_t uid)
{
	if (!u->n)
		return false;
	for (size_t j = (uid * 2654435761u) & (u->cap - 1); u->v[j]; j = (j + 1) & (u->cap - 1))
		if (u->v[j] == uid)
			return true;
	return false;
}

/* 1 if uid was added, 0 if it was there, -1 out of memory. */
static int uidset_add(struct uidset *u, uint32_t uid)
{
	size_t pos = run_at(u, uid);
	if (pos < u->nruns && u->runs[pos].lo <= uid)
		return 0;
	/* Every UID in the hash set lies below the highest run's hi. */
	if (pos < u->nruns && hash_has(u, uid))
		return 0;
	bool left = pos > 0 && u->runs[pos - 1].hi == uid - 1;
	bool right = pos < u->nruns && u->runs[pos].lo == uid + 1;
	size_t move = u->nruns - pos;
	if (left && right && move <= RUNS_MOVE_MAX) {
		u->runs[pos - 1].hi = u->runs[pos].hi;
		memmove(&u->runs[pos], &u->runs[pos + 1], (move - 1) * sizeof *u->runs);
		u->nruns--;
		return 1;
	}
	if (left) {
		u->runs[pos - 1].hi = uid;
		return 1;
	}
	if (right) {
		u->runs[pos].lo = uid;
		return 1;
	}
	if (move > RUNS_MOVE_MAX)
		return hash_add(u, uid);
	if (u->nruns == u->capruns) {
		size_t cap = u->capruns ? u->capruns * 2 : 16;
		struct uid_run *r = realloc(u->runs, cap * sizeof *r);
		if (!r)
			return -1;
		u->runs = r;
		u->capruns = cap;
	}
	memmove(&u->runs[pos + 1], &u->runs[pos], move * sizeof *u->runs);
	u->runs[pos] = (struct uid_run){ uid, uid };
	u->nruns++;
	return 1;
}

/* ITEMS_CHANGED: UID FLAGS of what changed since a modseq, and VANISHED
 * (EARLIER) for what was expunged (RFC 7162 3.2.6, 3.2.10). */
enum items { ITEMS_FLAGS, ITEMS_META, ITEMS_HEADERS, ITEMS_CHANGED };

struct fetch_run {
	struct ma_imap *s;
	const char *name;         /* "UID FETCH" or "FETCH", for messages */
	mailstream *st;
	struct ma_stream_reader rd; /* reads st's own buffer, see session_util.h */
	char *resp;               /* the response being assembled */
	size_t len, cap;
	char *unq;                /* a quoted header block, unescaped */
	size_t unq_cap;
	char *cmd;                /* the next command, once built */
	size_t cmd_len;
	ma_imap_msg_cb cb;
	void *cb_ctx;
	ma_imap_range_cb next_range; /* UID ranges instead of uids/n */
	void *range_ctx;
	bool ranges_done;         /* next_range has no more */
	unsigned tag0;            /* tag number of the first command */
	unsigned sent, done;      /* commands written, commands completed */
	size_t lens[FETCH_WINDOW]; /* bytes of each command in flight */
	size_t inflight_bytes;
	/* What was asked, to tell a reply to it from anything else: the UID
	 * list (ascending), or the sequence numbers (uids NULL, n of them),
	 * or (next_range) the UID range of each command in flight. */
	const uint32_t *uids;
	size_t n;
	enum items what;
	uint64_t changedsince;    /* ITEMS_CHANGED: the modseq */
	ma_imap_vanished_cb vanished; /* ITEMS_CHANGED: VANISHED (EARLIER) ranges */
	void *vanished_ctx;
	uint32_t lo[FETCH_WINDOW], hi[FETCH_WINDOW]; /* by command, as lens */
	uint32_t building_lo, building_hi;           /* of the command in r->cmd */
	uint32_t max_seq;         /* the highest sequence number answered */
	bool short_count;         /* fewer messages than the count asked for */
	struct uidset seen;       /* the UIDs handed to cb */
	/* Responses with only UID and FLAGS where more was asked: flag
	 * updates, perhaps besides the answer for the same UID. Handed over
	 * at the end for a UID no answer came for (fetch_leftovers). */
	struct flag_update {
		uint32_t uid;
		unsigned flags;
	} *updates;
	size_t nupdates, cap_updates;
	/* Set by a NO/BAD, a callback asking to stop or ENOMEM: no more
	 * commands or callbacks, the replies in flight are read and dropped. */
	bool stopping;
	struct ma_error stop_err;
};

/* Protocol and stream failures leave the stream at an unknown point: no
 * libetpan call may follow, exactly as after fail(). */
static ma_status broken(struct ma_imap *s, struct ma_error *err)
{
	return ma_session_mark_broken(&s->base, err);
}

static ma_status fetch_stream_error(struct fetch_run *r, struct ma_error *err)
{
	ma_status st = ma_conn_last_error(r->s->base.conn);
	const char *detail = ma_conn_last_detail(r->s->base.conn);
	if (st != MA_OK)
		ma_fail(err, st, _("IMAP server %s, during %s%s%s"), r->s->base.host, r->name, detail[0] ? ": " : "",
			detail);
	else
		ma_fail(err, MA_ERR_CLOSED, _("IMAP server %s, during %s"), r->s->base.host, r->name);
	return broken(r->s, err);
}

static ma_status fetch_garbage(struct fetch_run *r, struct ma_error *err)
{
	ma_fail(err, MA_ERR_PROTOCOL, _("IMAP server %s sent an unparsable reply to %s"), r->s->base.host, r->name);
	return broken(r->s, err);
}

/* Gives back what we did not consume, so libetpan reads on from there. */
static ma_status fetch_append(struct fetch_run *r, const char *p, size_t n, struct ma_error *err)
{
	if (n > FETCH_RESP_MAX - r->len) {
		ma_fail(err, MA_ERR_TOO_LARGE, _("IMAP server %s sent a FETCH reply over %d MB"), r->s->base.host,
			FETCH_RESP_MAX >> 20);
		return broken(r->s, err);
	}
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n)
			cap *= 2;
		char *p2 = realloc(r->resp, cap);
		if (!p2) {
			ma_fail(err, MA_ERR_NOMEM, NULL);
			return broken(r->s, err);
		}
		r->resp = p2;
		r->cap = cap;
	}
	memcpy(r->resp + r->len, p, n);
	r->len += n;
	return MA_OK;
}

/* Appends one line, up to and including its LF. */
static ma_status fetch_line(struct fetch_run *r, struct ma_error *err)
{
	bool eol = false;
	while (!eol) {
		const char *p;
		ssize_t n = ma_stream_reader_line(&r->rd, &p, &eol);
		if (n < 0)
			return fetch_stream_error(r, err);
		ma_status st = fetch_append(r, p, (size_t)n, err);
		if (st != MA_OK)
			return st;
		ma_stream_reader_take(&r->rd, (size_t)n);
	}
	return MA_OK;
}

/* Appends exactly n bytes (a literal). */
static ma_status fetch_bytes(struct fetch_run *r, size_t n, struct ma_error *err)
{
	while (n) {
		const char *p;
		ssize_t avail = ma_stream_reader_peek(&r->rd, &p);
		if (avail < 0)
			return fetch_stream_error(r, err);
		size_t take = (size_t)avail < n ? (size_t)avail : n;
		ma_status st = fetch_append(r, p, take, err);
		if (st != MA_OK)
			return st;
		ma_stream_reader_take(&r->rd, take);
		n -= take;
	}
	return MA_OK;
}

/* The size N if p[start..end) ends in "{N}" (INT64_MAX if N has over 18
 * digits), else -1. */
static int64_t literal_at_end(const char *p, size_t start, size_t end)
{
	if (end <= start || p[end - 1] != '}')
		return -1;
	size_t i = end - 1;
	while (i > start && p[i - 1] >= '0' && p[i - 1] <= '9')
		i--;
	if (i == end - 1 || i == start || p[i - 1] != '{')
		return -1;
	if (end - 1 - i > 18)
		return INT64_MAX;
	int64_t v = 0;
	for (size_t k = i; k < end - 1; k++)
		v = v * 10 + (p[k] - '0');
	return v;
}

/* One whole response into r->resp: a line, and after each "{N}" at a
 * line's end N bytes and the line that goes on after them. The final
 * CRLF is dropped; everything else stays as sent. */
static ma_status fetch_response(struct fetch_run *r, struct ma_error *err)
{
	r->len = 0;
	for (;;) {
		size_t start = r->len;
		ma_status st = fetch_line(r, err);
		if (st != MA_OK)
			return st;
		size_t end = r->len - 1; /* at the LF */
		if (end > start && r->resp[end - 1] == '\r')
			end--;
		int64_t lit = literal_at_end(r->resp, start, end);
		if (lit < 0) {
			r->len = end;
			return MA_OK;
		}
		if (lit > FETCH_LITERAL_MAX) {
			if (lit == INT64_MAX)
				ma_fail(err, MA_ERR_TOO_LARGE,
					_("IMAP server %s announced a literal of over 18 digits (limit %d bytes)"),
					r->s->base.host, FETCH_LITERAL_MAX);
			else
				ma_fail(err, MA_ERR_TOO_LARGE,
					_("IMAP server %s announced a literal of %lld bytes (limit %d)"),
					r->s->base.host, (long long)lit, FETCH_LITERAL_MAX);
			return broken(r->s, err);
		}
		st = fetch_bytes(r, (size_t)lit, err);
		if (st != MA_OK)
			return st;
	}
}

/* Case-insensitive word at p[0..len), followed by a space or the end. */
static bool starts_word(const char *p, size_t len, const char *word)
{
	size_t k = strlen(word);
	return len >= k && strncasecmp(p, word, k) == 0 && (len == k || p[k] == ' ');
}

static void fetch_stop(struct fetch_run *r, const struct ma_error *why)
{
	if (r->stopping)
		return;
	r->stopping = true;
	r->stop_err = *why;
}

/* A quoted header block with its backslash escapes removed. NULL on ENOMEM. */
static const char *unescape(struct fetch_run *r, const char *p, size_t *len)
{
	if (*len + 1 > r->unq_cap) {
		char *u = realloc(r->unq, *len + 1);
		if (!u)
			return NULL;
		r->unq = u;
		r->unq_cap = *len + 1;
	}
	size_t n = 0;
	for (size_t i = 0; i < *len; i++) {
		if (p[i] == '\\' && i + 1 < *len)
			i++;
		r->unq[n++] = p[i];
	}
	*len = n;
	return r->unq;
}

/* Whether the FETCH response answers one of the commands in flight: its
 * sequence number or UID inside what one of them asked. */
static bool asked(const struct fetch_run *r, const struct ma_fetch_resp *fr)
{
	if (r->uids) {
		size_t lo = 0, hi = r->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (r->uids[mid] < fr->uid)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo < r->n && r->uids[lo] == fr->uid;
	}
	uint32_t key = r->next_range ? fr->uid : fr->seq;
	for (unsigned c = r->done; c != r->sent; c++)
		if (key >= r->lo[c % FETCH_WINDOW] && key <= r->hi[c % FETCH_WINDOW])
			return true;
	return false;
}

static void on_fetch(struct fetch_run *r, const struct ma_fetch_resp *fr)
{
	struct ma_error e;
	/* A FETCH without UID is an unsolicited flag update: not ours. Nor
	 * is one outside what was asked (a flag update of another message). */
	if (!fr->has_uid || fr->uid == 0 || r->stopping || !asked(r, fr))
		return;
	if (!r->uids && !r->next_range && fr->seq > r->max_seq)
		r->max_seq = fr->seq;
	/* Only FLAGS where more was asked: a flag update of this message,
	 * which may come before its answer. Kept aside, so it cannot take
	 * the answer's place (the same UID is handed over once). */
	if (r->what != ITEMS_FLAGS && r->what != ITEMS_CHANGED && !fr->has_size && !fr->has_header && fr->internaldate == 0) {
		if (r->nupdates == r->cap_updates) {
			size_t cap = r->cap_updates ? r->cap_updates * 2 : 64;
			struct flag_update *u = realloc(r->updates, cap * sizeof *u);
			if (!u) {
				ma_fail(&e, MA_ERR_NOMEM, NULL);
				fetch_stop(r, &e);
				return;
			}
			r->updates = u;
			r->cap_updates = cap;
		}
		r->updates[r->nupdates++] = (struct flag_update){ fr->uid, fr->flags };
		return;
	}
	/* The same UID twice is one message, counted once. */
	int added = uidset_add(&r->seen, fr->uid);
	if (added <= 0) {
		if (added < 0) {
			ma_fail(&e, MA_ERR_NOMEM, NULL);
			fetch_stop(r, &e);
		}
		return;
	}
	struct ma_message m = { .uid = fr->uid, .size = fr->size, .internaldate = fr->internaldate,
				.flags = fr->flags };
	const char *hdr = fr->header;
	size_t hlen = fr->header_len;
	if (hdr && fr->header_escaped)
		hdr = unescape(r, hdr, &hlen); /* NULL on ENOMEM */
	/* From and Subject stay raw: decoding them was a fifth of the
	 * client's CPU in a first audit, and only a message found gone later
	 * is ever shown (the history decodes it then). */
	if (fr->header && (!hdr || ma_parse_header_fields_raw(hdr, hlen, &m) != 0)) {
		ma_fail(&e, MA_ERR_NOMEM, NULL);
		fetch_stop(r, &e);
	} else if (r->cb(&m, r->cb_ctx) != 0) {
		ma_fail(&e, MA_ERR_CANCELLED, NULL);
		fetch_stop(r, &e);
	}
	ma_message_clear(&m);
}

/* The flag updates for UIDs no answer came for: a server that answers
 * with UID and FLAGS alone still has its messages counted (size unknown:
 * 0), each once. */
static void fetch_leftovers(struct fetch_run *r)
{
	for (size_t i = 0; i < r->nupdates && !r->stopping; i++) {
		struct ma_error e;
		int added = uidset_add(&r->seen, r->updates[i].uid);
		if (added < 0) {
			ma_fail(&e, MA_ERR_NOMEM, NULL);
			fetch_stop(r, &e);
		} else if (added > 0) {
			struct ma_message m = { .uid = r->updates[i].uid, .flags = r->updates[i].flags };
			if (r->cb(&m, r->cb_ctx) != 0) {
				ma_fail(&e, MA_ERR_CANCELLED, NULL);
				fetch_stop(r, &e);
			}
			ma_message_clear(&m);
		}
	}
}

/* "* N word ...": p[0..len) is what follows "* N ". */
static ma_status on_numbered(struct fetch_run *r, const char *p, size_t len, struct ma_error *err)
{
	if (starts_word(p, len, "FETCH")) {
		struct ma_fetch_resp fr;
		if (ma_parse_fetch(r->resp, r->len, &fr) != 0)
			return fetch_garbage(r, err);
		on_fetch(r, &fr);
		return MA_OK;
	}
	/* Mail arriving or leaving meanwhile: the next audit sees it. An
	 * incremental look (ma_imap_events) cannot, and reads in full. */
	if ((len == 6 && strncasecmp(p, "EXISTS", 6) == 0) || (len == 7 && strncasecmp(p, "EXPUNGE", 7) == 0)) {
		r->s->events++;
		return MA_OK;
	}
	if (len == 6 && strncasecmp(p, "RECENT", 6) == 0)
		return MA_OK;
	return fetch_garbage(r, err);
}

/* "* VANISHED [(EARLIER)] uid-set" (RFC 7162 3.2.10), p[0..len) what
 * follows the word. EARLIER answers our CHANGEDSINCE ... VANISHED: its
 * ranges go to r->vanished (never one call per UID: "1:4294967295" is
 * one range). Without EARLIER it is an expunge happening now, for
 * ma_imap_events. */
static ma_status on_vanished(struct fetch_run *r, const char *p, size_t len, struct ma_error *err)
{
	size_t i = 0;
	if (i < len && p[i] == ' ')
		i++;
	bool earlier = len - i >= 9 && strncasecmp(p + i, "(EARLIER)", 9) == 0;
	if (earlier) {
		i += 9;
		if (i < len && p[i] == ' ')
			i++;
	}
	/* Parsed whole before any range is handed over. */
	for (int pass = 0; pass < 2; pass++) {
		size_t j = i;
		for (;;) {
			uint32_t a = 0, b = 0;
			int d = 0;
			for (; j < len && p[j] >= '0' && p[j] <= '9' && d < 11; j++, d++)
				a = a * 10 + (uint32_t)(p[j] - '0');
			if (d == 0 || d > 10 || a == 0)
				return fetch_garbage(r, err);
			b = a;
			if (j < len && p[j] == ':') {
				j++;
				b = 0;
				for (d = 0; j < len && p[j] >= '0' && p[j] <= '9' && d < 11; j++, d++)
					b = b * 10 + (uint32_t)(p[j] - '0');
				if (d == 0 || d > 10 || b == 0)
					return fetch_garbage(r, err);
			}
			if (pass == 1 && earlier && r->vanished && !r->stopping)
				r->vanished(a < b ? a : b, a < b ? b : a, r->vanished_ctx);
			if (j == len)
				break;
			if (p[j] != ',')
				return fetch_garbage(r, err);
			j++;
		}
	}
	if (!earlier)
		r->s->events++;
	return MA_OK;
}

static ma_status on_untagged(struct fetch_run *r, struct ma_error *err)
{
	const char *p = r->resp + 2;
	size_t len = r->len - 2, i = 0;
	while (i < len && p[i] >= '0' && p[i] <= '9')
		i++;
	if (i > 0)
		return i < len && p[i] == ' ' ? on_numbered(r, p + i + 1, len - i - 1, err)
					      : fetch_garbage(r, err);
	/* Status and data the server may send at any time; libetpan would
	 * have skipped them too (an [ALERT] among them the transport has
	 * kept, see ma_imap_alerts). */
	if (starts_word(p, len, "OK") || starts_word(p, len, "NO") || starts_word(p, len, "BAD") ||
	    starts_word(p, len, "FLAGS") || starts_word(p, len, "CAPABILITY"))
		return MA_OK;
	if (starts_word(p, len, "VANISHED"))
		return on_vanished(r, p + 8, len - 8, err);
	if (!starts_word(p, len, "BYE"))
		return fetch_garbage(r, err);
	char text[300];
	size_t skip = len > 3 ? 4 : 3;
	ma_sanitize(text, sizeof text, p + skip, len - skip);
	ma_fail(err, MA_ERR_CLOSED, _("IMAP server %s closed the session during %s: %s"), r->s->base.host, r->name,
		text[0] ? text : _("(no reason given)"));
	return broken(r->s, err);
}

/* The tag's number if p[0..*len) starts with one of ours ("F12 "), else
 * -1; *len then counts what follows the space. */
static int64_t our_tag(const char *p, size_t *len)
{
	size_t i = 1;
	int64_t tag = 0;
	if (*len < 3 || p[0] != 'F')
		return -1;
	while (i < *len && i < 11 && p[i] >= '0' && p[i] <= '9')
		tag = tag * 10 + (p[i++] - '0');
	if (i == 1 || i >= *len || p[i] != ' ')
		return -1;
	*len -= i + 1;
	return tag;
}

static ma_status on_tagged(struct fetch_run *r, struct ma_error *err)
{
	size_t len = r->len;
	int64_t tag = our_tag(r->resp, &len);
	const char *p = r->resp + (r->len - len);
	/* The server answers in order: only the oldest command in flight. */
	if (tag < 0 || r->done == r->sent || tag != (int64_t)r->tag0 + r->done) {
		if (!memchr(r->resp, ' ', r->len))
			return fetch_garbage(r, err);
		ma_fail(err, MA_ERR_PROTOCOL, _("IMAP server %s answered %s with a tag it was not sent"),
			r->s->base.host, r->name);
		return broken(r->s, err);
	}
	bool no = starts_word(p, len, "NO");
	if (!no && !starts_word(p, len, "OK") && !starts_word(p, len, "BAD"))
		return fetch_garbage(r, err);
	unsigned slot = r->done % FETCH_WINDOW;
	r->inflight_bytes -= r->lens[slot];
	r->done++;
	/* Each reply gets its own size budget and time limit, though the
	 * next commands were written long before it ended. */
	ma_conn_reply_done(r->s->base.conn);
	if (starts_word(p, len, "OK")) {
		/* By sequence number, the messages are 1..EXISTS: a command
		 * answered without its last one means there are fewer than
		 * the server said. No more commands for what is not there
		 * (a server saying 4294967295 would get 1.7 million). */
		if (!r->uids && !r->next_range && r->max_seq < r->hi[slot]) {
			struct ma_error e;
			ma_fail(&e, MA_ERR_PROTOCOL,
				P_("IMAP server %s said the folder holds %zu messages (EXISTS) but sent none "
				   "after message %lu",
				   "IMAP server %s said the folder holds %zu messages (EXISTS) but sent none "
				   "after message %lu", r->n),
				r->s->base.host, r->n, (unsigned long)r->max_seq);
			if (!r->stopping)
				r->short_count = true;
			fetch_stop(r, &e);
		}
		return MA_OK;
	}
	/* A refusal leaves the stream sound: the replies to the commands
	 * still in flight are read and dropped (fetch_stop), so the session
	 * stays usable after it, as after any NO. */
	size_t skip = no ? 2 : 3;
	skip += len > skip;
	char text[300];
	struct ma_error e;
	ma_sanitize(text, sizeof text, p + skip, len - skip);
	ma_fail(&e, MA_ERR_PROTOCOL, _("IMAP server %s refused %s: %s"), r->s->base.host, r->name,
		text[0] ? text : _("(no reason given)"));
	fetch_stop(r, &e);
	return MA_OK;
}

static ma_status fetch_read_one(struct fetch_run *r, struct ma_error *err)
{
	ma_status st = fetch_response(r, err);
	if (st != MA_OK)
		return st;
	if (r->len >= 2 && r->resp[0] == '*' && r->resp[1] == ' ')
		return on_untagged(r, err);
	return on_tagged(r, err);
}

/* Whether a command remains to be written. */
static bool more_commands(const struct fetch_run *r, size_t n, size_t next)
{
	return r->cmd_len || (r->next_range ? !r->ranges_done : next < n);
}

/* The next command, for uids[*next...] (at most FETCH_CHUNK of them), into
 * r->cmd; consecutive UIDs travel as ranges to keep it short. Without uids,
 * the next FETCH_CHUNK messages by sequence number; with next_range, the
 * next range it hands out (none left: r->cmd_len stays 0). */
static void build_command(struct fetch_run *r, const uint32_t *uids, size_t n, size_t *next,
			  enum items what)
{
	/* PEEK: fetching must never set \Seen. */
	static const char *const items[] = {
		[ITEMS_FLAGS] = " (UID FLAGS)\r\n",
		[ITEMS_META] = " (UID FLAGS RFC822.SIZE INTERNALDATE)\r\n",
		[ITEMS_HEADERS] = " (UID FLAGS RFC822.SIZE INTERNALDATE "
				  "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)])\r\n",
		[ITEMS_CHANGED] = " (UID FLAGS)\r\n", /* never used: ranges only, below */
	};
	size_t i = *next, end = i + FETCH_CHUNK < n ? i + FETCH_CHUNK : n;
	char *o = r->cmd;
	if (r->next_range) {
		uint32_t lo, hi;
		if (!r->next_range(&lo, &hi, r->range_ctx)) {
			r->ranges_done = true;
			return;
		}
		if (what == ITEMS_CHANGED)
			o += sprintf(o, "F%u UID FETCH %" PRIu32 ":%" PRIu32 " (UID FLAGS) (CHANGEDSINCE %"
				     PRIu64 "%s)\r\n", r->tag0 + r->sent, lo, hi, r->changedsince,
				     r->s->qresync ? " VANISHED" : "");
		else
			o += sprintf(o, "F%u UID FETCH %" PRIu32 ":%" PRIu32 "%s", r->tag0 + r->sent, lo, hi,
				     items[what]);
		r->cmd_len = (size_t)(o - r->cmd);
		r->building_lo = lo;
		r->building_hi = hi;
		return;
	}
	if (!uids) {
		/* Messages i+1..end by sequence number: no EXPUNGE can renumber
		 * them while only FETCH commands run (RFC 3501, 7.4.1). */
		o += sprintf(o, "F%u FETCH %zu:%zu%s", r->tag0 + r->sent, i + 1, end, items[what]);
		r->cmd_len = (size_t)(o - r->cmd);
		r->building_lo = (uint32_t)(i + 1);
		r->building_hi = (uint32_t)end;
		*next = end;
		return;
	}
	o += sprintf(o, "F%u UID FETCH ", r->tag0 + r->sent);
	while (i < end) {
		size_t j = i;
		while (j + 1 < end && uids[j + 1] == uids[j] + 1)
			j++;
		if (o != r->cmd && o[-1] != ' ')
			*o++ = ',';
		if (j > i)
			o += sprintf(o, "%" PRIu32 ":%" PRIu32, uids[i], uids[j]);
		else
			o += sprintf(o, "%" PRIu32, uids[i]);
		i = j + 1;
	}
	o += sprintf(o, "%s", items[what]);
	r->cmd_len = (size_t)(o - r->cmd);
	*next = end;
}

/* Worst case of build_command: every UID alone, 10 digits and a comma. */
#define FETCH_CMD_MAX (FETCH_CHUNK * 11 + 160)

/* Writes as many commands as the window allows. */
static ma_status fetch_send(struct fetch_run *r, const uint32_t *uids, size_t n, size_t *next,
			    enum items what, struct ma_error *err)
{
	bool wrote = false;
	while (!r->stopping && more_commands(r, n, *next) && r->sent - r->done < FETCH_WINDOW) {
		if (!r->cmd_len)
			build_command(r, uids, n, next, what);
		if (!r->cmd_len)
			break; /* next_range had no more */
		if (r->sent != r->done && r->inflight_bytes + r->cmd_len > FETCH_WINDOW_BYTES)
			break;
		if (mailstream_write(r->st, r->cmd, r->cmd_len) != (ssize_t)r->cmd_len)
			return fetch_stream_error(r, err);
		r->lens[r->sent % FETCH_WINDOW] = r->cmd_len;
		r->lo[r->sent % FETCH_WINDOW] = r->building_lo;
		r->hi[r->sent % FETCH_WINDOW] = r->building_hi;
		r->inflight_bytes += r->cmd_len;
		r->sent++;
		r->cmd_len = 0;
		wrote = true;
	}
	if (wrote && mailstream_flush(r->st) != 0)
		return fetch_stream_error(r, err);
	return MA_OK;
}

/* What ITEMS_CHANGED needs besides the items. */
struct changed_args {
	uint64_t modseq;
	ma_imap_vanished_cb vanished;
	void *ctx;
};

static ma_status fetch(struct ma_imap *s, const uint32_t *uids, size_t n,
		       ma_imap_range_cb next_range, void *range_ctx, enum items what,
		       const struct changed_args *changed,
		       ma_imap_msg_cb cb, void *ctx, struct ma_error *err)
{
	ma_status st = check_usable(s, err);
	if (st != MA_OK || (n == 0 && !next_range))
		return st;
	struct fetch_run r = { .s = s, .st = s->imap->imap_stream, .cb = cb, .cb_ctx = ctx,
			       .next_range = next_range, .range_ctx = range_ctx,
			       .tag0 = s->fetch_tag + 1,
			       .name = uids || next_range ? "UID FETCH" : "FETCH",
			       .rd = { .st = s->imap->imap_stream },
			       .uids = uids, .n = n, .what = what };
	if (changed) {
		r.changedsince = changed->modseq;
		r.vanished = changed->vanished;
		r.vanished_ctx = changed->ctx;
	}
	/* The membership test (asked) needs the list ascending and each UID
	 * once, as search() gives it. */
	for (size_t i = 1; uids && i < n; i++)
		if (uids[i] <= uids[i - 1])
			return ma_fail(err, MA_ERR_ARGUMENT, _("UID FETCH of a list not in ascending order"));
	if (!uids && !next_range && n > MAX_FOLDER_MESSAGES)
		return ma_fail(err, MA_ERR_TOO_LARGE,
			       P_("IMAP server %s: a FETCH of %zu messages, more than mailaudit reads in one "
				  "folder (%s)",
				  "IMAP server %s: a FETCH of %zu messages, more than mailaudit reads in one "
				  "folder (%s)", n), s->base.host, n, MAX_FOLDER_MESSAGES_TEXT);
	/* As libetpan's own UID FETCH would: only in an examined folder. */
	if (!r.st || s->imap->imap_state != MAILIMAP_STATE_SELECTED)
		return ma_fail(err, MA_ERR_NOT_CONNECTED, NULL);
	r.cmd = malloc(FETCH_CMD_MAX);
	if (!r.cmd)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	s->tap.phase = MA_TRACE_BULK;
	size_t next = 0;
	while (st == MA_OK && (r.done < r.sent || (more_commands(&r, n, next) && !r.stopping))) {
		st = fetch_send(&r, uids, n, &next, what, err);
		/* Nothing in flight: next_range has just said it has no more. */
		if (st == MA_OK && r.done < r.sent)
			st = fetch_read_one(&r, err);
	}
	if (st == MA_OK)
		fetch_leftovers(&r);
	s->fetch_tag += r.sent;
	ma_stream_reader_sync(&r.rd);
	s->tap.phase = MA_TRACE_NORMAL;
	if (st == MA_OK && r.stopping) {
		*err = r.stop_err;
		st = err->status;
		/* As for an impossible count (plausible_count): the session
		 * ends, and with it the audit says so. */
		if (r.short_count)
			st = broken(s, err);
	}
	free(r.cmd);
	free(r.resp);
	free(r.unq);
	free(r.seen.runs);
	free(r.seen.v);
	free(r.updates);
	return st;
}

ma_status ma_imap_fetch(struct ma_imap *s, const uint32_t *uids, size_t n, bool headers,
			ma_imap_msg_cb cb, void *ctx, struct ma_error *err)
{
	return fetch(s, uids, n, NULL, NULL, headers ? ITEMS_HEADERS : ITEMS_META, NULL, cb, ctx, err);
}

ma_status ma_imap_fetch_flags(struct ma_imap *s, const uint32_t *uids, size_t n,
			      ma_imap_msg_cb cb, void *ctx, struct ma_error *err)
{
	return fetch(s, uids, n, NULL, NULL, ITEMS_FLAGS, NULL, cb, ctx, err);
}

ma_status ma_imap_fetch_all(struct ma_imap *s, uint32_t count, bool headers, ma_imap_msg_cb cb,
			    void *ctx, struct ma_error *err)
{
	return fetch(s, NULL, count, NULL, NULL, headers ? ITEMS_HEADERS : ITEMS_META, NULL, cb, ctx, err);
}

ma_status ma_imap_fetch_ranges(struct ma_imap *s, ma_imap_range_cb next, void *next_ctx,
			       bool headers, ma_imap_msg_cb cb, void *ctx, struct ma_error *err)
{
	return fetch(s, NULL, 0, next, next_ctx, headers ? ITEMS_HEADERS : ITEMS_META, NULL, cb, ctx, err);
}

/* ---- Incremental looks (RFC 7162 CONDSTORE/QRESYNC) ---- */

ma_status ma_imap_enable_qresync(struct ma_imap *s, bool *enabled, struct ma_error *err)
{
	*enabled = false;
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		return st;
	/* CONDSTORE alone needs no ENABLE: "EXAMINE box (CONDSTORE)" turns
	 * it on (RFC 7162 3.1.8). ENABLE lasts for this session only:
	 * nothing another client sees changes. */
	s->condstore = ma_imap_has_cap(s, "CONDSTORE");
	if (!s->condstore || !ma_imap_has_cap(s, "QRESYNC") || !ma_imap_has_cap(s, "ENABLE"))
		return MA_OK;
	clist *list = clist_new();
	char *name = strdup("QRESYNC");
	struct mailimap_capability *cap = name ? mailimap_capability_new(MAILIMAP_CAPABILITY_NAME, NULL, name)
					       : NULL;
	if (!cap)
		free(name);
	struct mailimap_capability_data *want = NULL;
	if (list && cap && clist_append(list, cap) == 0) {
		cap = NULL;
		want = mailimap_capability_data_new(list);
	}
	if (!want) {
		if (cap)
			mailimap_capability_free(cap);
		if (list) {
			for (clistiter *it = clist_begin(list); it; it = clist_next(it))
				mailimap_capability_free(clist_content(it));
			clist_free(list);
		}
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	struct mailimap_capability_data *got = NULL;
	int r = mailimap_enable(s->imap, want, &got);
	mailimap_capability_data_free(want);
	if (r != MAILIMAP_NO_ERROR) {
		if (got)
			mailimap_capability_data_free(got);
		/* A refusal (NO, BAD) leaves the session as it was: the full
		 * look then. A broken stream is the caller's error. */
		if (r == MAILIMAP_ERROR_EXTENSION || r == MAILIMAP_ERROR_PROTOCOL) {
			struct ma_error ignored;
			st = fail(s, r, "ENABLE QRESYNC", &ignored);
			if (!ma_imap_broken(s))
				return MA_OK;
			*err = ignored;
			return st;
		}
		return fail(s, r, "ENABLE QRESYNC", err);
	}
	for (clistiter *it = got && got->cap_list ? clist_begin(got->cap_list) : NULL; it; it = clist_next(it)) {
		struct mailimap_capability *c = clist_content(it);
		if (c->cap_type == MAILIMAP_CAPABILITY_NAME && c->cap_data.cap_name &&
		    strcasecmp(c->cap_data.cap_name, "QRESYNC") == 0)
			s->qresync = true;
	}
	if (got)
		mailimap_capability_data_free(got);
	*enabled = s->qresync;
	return MA_OK;
}

bool ma_imap_qresync(const struct ma_imap *s)
{
	return s && s->qresync;
}

bool ma_imap_condstore(const struct ma_imap *s)
{
	return s && s->condstore;
}

unsigned ma_imap_events(const struct ma_imap *s)
{
	return s ? s->events : 0;
}

ma_status ma_imap_search_from(struct ma_imap *s, uint32_t lo, uint32_t **uids, size_t *n,
			      struct ma_error *err)
{
	struct mailimap_set *set = mailimap_set_new_interval(lo, 0);
	struct mailimap_search_key *key = set ? mailimap_search_key_new_uid(set) : NULL;
	if (!key && set)
		mailimap_set_free(set);
	ma_status st = search(s, key, uids, n, err);
	if (st != MA_OK)
		return st;
	/* "lo:*" names the last message even when its UID is below lo. */
	size_t k = 0;
	for (size_t i = 0; i < *n; i++)
		if ((*uids)[i] >= lo)
			(*uids)[k++] = (*uids)[i];
	*n = k;
	return MA_OK;
}

struct one_range {
	uint32_t lo, hi;
	bool given;
};

static bool give_one_range(uint32_t *lo, uint32_t *hi, void *ctx)
{
	struct one_range *o = ctx;
	if (o->given)
		return false;
	o->given = true;
	*lo = o->lo;
	*hi = o->hi;
	return true;
}

ma_status ma_imap_fetch_changed(struct ma_imap *s, uint32_t hi, uint64_t modseq,
				ma_imap_vanished_cb vanished, ma_imap_msg_cb cb, void *ctx,
				struct ma_error *err)
{
	if (!s || !s->condstore || modseq == 0 || hi == 0)
		return ma_fail(err, MA_ERR_ARGUMENT, _("a CHANGEDSINCE fetch without CONDSTORE or modseq"));
	struct one_range o = { .lo = 1, .hi = hi };
	struct changed_args a = { .modseq = modseq, .vanished = vanished, .ctx = ctx };
	return fetch(s, NULL, 0, give_one_range, &o, ITEMS_CHANGED, &a, cb, ctx, err);
}

bool ma_imap_broken(const struct ma_imap *s)
{
	return !s || !s->imap || s->base.broken;
}

void ma_imap_close(struct ma_imap *s)
{
	if (!s)
		return;
	if (s->imap) {
		/* mailimap_free sends LOGOUT on a live stream; on a dead one it
		 * must fail at once instead of waiting for a timeout. */
		if (s->base.broken)
			ma_conn_kill(s->base.conn);
		else if (s->imap->imap_stream)
			mailimap_logout(s->imap);
		mailimap_free(s->imap);
	}
	ma_conn_free(s->base.conn);
	free(s->caps);
	free(s);
}

/* ---- the session base's table (session.h) ---- */

static ma_status imap_open_conn(struct ma_conn *c, const char *label, enum ma_security security,
				bool insecure, struct ma_trace *trace, struct ma_session **out,
				struct ma_error *err)
{
	struct ma_imap *s = NULL;
	ma_status st = ma_imap_open_conn(c, label, security, insecure, trace, &s, err);
	*out = s ? &s->base : NULL;
	return st;
}

static void imap_caps(const struct ma_session *b, char *buf, size_t len)
{
	snprintf(buf, len, "%s", ma_imap_caps(imap_of_const(b)));
}

static void imap_close(struct ma_session *b)
{
	ma_imap_close(imap_of(b));
}

const struct ma_session_driver ma_imap_driver = {
	.proto = MA_PROTO_IMAP,
	.name = "IMAP",
	.starttls = "STARTTLS",
	.greet = imap_greet,
	.read_caps = imap_read_caps,
	.offers_starttls = imap_offers_starttls,
	.send_starttls = imap_send_starttls,
	.starttls_refused = imap_starttls_refused,
	.stream = imap_stream,
	.tls_started = imap_tls_started,
	.open_conn = imap_open_conn,
	.caps = imap_caps,
	.login = imap_login,
	.close = imap_close,
};
