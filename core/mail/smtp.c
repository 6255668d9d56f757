/* Look-only SMTP session (see smtp.h). */
#include "mail/smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mail/session.h"
#include "net/stream.h"
#include "mail/session_util.h"
#include "base/i18n.h"

struct ma_smtp {
	struct ma_session base;   /* first: conn, host, broken (session.h) */
	mailsmtp *smtp;
	char caps[512];
};

const char *ma_smtp_caps(const struct ma_smtp *s)
{
	return s ? s->caps : "";
}

const struct ma_cert_info *ma_smtp_cert(const struct ma_smtp *s)
{
	return s ? ma_conn_cert(s->base.conn) : NULL;
}

/* The transport's reason first (it knows timeouts from hang-ups), then
 * the server's own words. */
static ma_status fail(struct ma_smtp *s, int r, const char *what, ma_status otherwise,
		      struct ma_error *err)
{
	ma_status net = ma_conn_last_error(s->base.conn);
	if (r == MAILSMTP_ERROR_STREAM || net != MA_OK) {
		if (net == MA_OK)
			net = MA_ERR_CLOSED;
		struct ma_error e;
		ma_fail(&e, net, _("SMTP server %s during %s%s%s"), s->base.host, what,
			*ma_conn_last_detail(s->base.conn) ? ": " : "", ma_conn_last_detail(s->base.conn));
		if (err)
			*err = e;
		return ma_session_mark_broken(&s->base, &e);
	}
	char text[200] = "";
	if (s->smtp->response)
		ma_sanitize(text, sizeof text, s->smtp->response, strlen(s->smtp->response));
	return ma_fail(err, otherwise, _("SMTP server %s refused %s: %d %s"), s->base.host, what,
		       s->smtp->response_code, text);
}

static void note_caps(struct ma_smtp *s)
{
	static const struct { int flag; const char *name; } esmtp[] = {
		{ MAILSMTP_ESMTP_STARTTLS, "STARTTLS" }, { MAILSMTP_ESMTP_SIZE, "SIZE" },
		{ MAILSMTP_ESMTP_8BITMIME, "8BITMIME" }, { MAILSMTP_ESMTP_PIPELINING, "PIPELINING" },
		{ MAILSMTP_ESMTP_DSN, "DSN" }, { MAILSMTP_ESMTP_ETRN, "ETRN" },
	}, auth[] = {
		{ MAILSMTP_AUTH_PLAIN, "AUTH=PLAIN" }, { MAILSMTP_AUTH_LOGIN, "AUTH=LOGIN" },
		{ MAILSMTP_AUTH_CRAM_MD5, "AUTH=CRAM-MD5" }, { MAILSMTP_AUTH_DIGEST_MD5, "AUTH=DIGEST-MD5" },
		{ MAILSMTP_AUTH_GSSAPI, "AUTH=GSSAPI" }, { MAILSMTP_AUTH_NTLM, "AUTH=NTLM" },
	};
	size_t o = 0;
	s->caps[0] = '\0';
	for (size_t i = 0; i < sizeof esmtp / sizeof esmtp[0]; i++)
		if (s->smtp->esmtp & esmtp[i].flag)
			o += (size_t)snprintf(s->caps + o, sizeof s->caps - o, "%s%s", o ? " " : "", esmtp[i].name);
	for (size_t i = 0; i < sizeof auth / sizeof auth[0]; i++)
		if (s->smtp->auth & auth[i].flag)
			o += (size_t)snprintf(s->caps + o, sizeof s->caps - o, "%s%s", o ? " " : "", auth[i].name);
}

static ma_status ehlo(struct ma_smtp *s, struct ma_error *err)
{
	int r = mailesmtp_ehlo(s->smtp);
	if (r == MAILSMTP_ERROR_NOT_IMPLEMENTED)
		r = mailsmtp_helo(s->smtp);
	if (r != MAILSMTP_NO_ERROR)
		return fail(s, r, "EHLO", MA_ERR_PROTOCOL, err);
	note_caps(s);
	return MA_OK;
}

/* ---- the opening (session.h calls these in order) ---- */

static struct ma_smtp *smtp_of(struct ma_session *b)
{
	return (struct ma_smtp *)b;
}

static const struct ma_smtp *smtp_of_const(const struct ma_session *b)
{
	return (const struct ma_smtp *)b;
}

static ma_status smtp_greet(struct ma_session *b, struct ma_error *err)
{
	struct ma_smtp *s = smtp_of(b);
	mailstream *stream = ma_conn_stream(s->base.conn, 8192);
	if (!stream)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	/* From here the stream belongs to s->smtp. */
	int r = mailsmtp_connect(s->smtp, stream);
	if (r != MAILSMTP_NO_ERROR)
		return fail(s, r, _("the greeting"), MA_ERR_GREETING, err);
	return MA_OK;
}

/* EHLO, also after STARTTLS: the plaintext one may have been forged. */
static ma_status smtp_read_caps(struct ma_session *b, struct ma_error *err)
{
	return ehlo(smtp_of(b), err);
}

static bool smtp_offers_starttls(const struct ma_session *b)
{
	return smtp_of_const(b)->smtp->esmtp & MAILSMTP_ESMTP_STARTTLS;
}

static int smtp_send_starttls(struct ma_session *b)
{
	return mailesmtp_starttls(smtp_of(b)->smtp);
}

static ma_status smtp_starttls_refused(struct ma_session *b, int r, struct ma_error *err)
{
	return fail(smtp_of(b), r, "STARTTLS", MA_ERR_STARTTLS_MISSING, err);
}

static mailstream *smtp_stream(const struct ma_session *b)
{
	return smtp_of_const(b)->smtp->stream;
}

ma_status ma_smtp_open_conn(struct ma_conn *c, const char *label, enum ma_security security,
			    struct ma_smtp **out, struct ma_error *err)
{
	*out = NULL;
	ma_status st;
	struct ma_smtp *s = calloc(1, sizeof *s);
	if (!s) {
		ma_conn_free(c);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	/* Never a password over plain text: no --insecure here. */
	ma_session_init(&s->base, &ma_smtp_driver, c, label, false);
	s->smtp = mailsmtp_new(0, NULL);
	if (!s->smtp) {
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
		ma_session_mark_broken(&s->base, err);
		goto cleanup;
	}
	st = ma_session_start(&s->base, security, err);
	if (st != MA_OK)
		goto cleanup;
	*out = s;
	return MA_OK;
cleanup:
	ma_smtp_close(s);
	return st;
}

/* One reply, continuation lines included; its code, or -1 on a broken
 * stream or a line that is not a reply. */
static int read_reply(struct ma_smtp *s, char *text, size_t len)
{
	text[0] = '\0';
	for (int lines = 0; lines < 50; lines++) {
		char *line = mailstream_read_line_remove_eol(s->smtp->stream, s->smtp->line_buffer);
		if (!line || strlen(line) < 3)
			return -1;
		int code = atoi(line);
		if (code < 200 || code > 599)
			return -1;
		ma_sanitize(text, len, line, strlen(line));
		if (line[3] != '-')
			return code;
	}
	return -1;
}

ma_status ma_smtp_login(struct ma_smtp *s, const char *login, const char *password,
			struct ma_error *err)
{
	return ma_session_login(s ? &s->base : NULL, login, password, err);
}

/* After ma_session_login's checks. */
static ma_status smtp_login(struct ma_session *b, const char *login, const char *password,
			    struct ma_error *err)
{
	struct ma_smtp *s = smtp_of(b);
	if (!(s->smtp->auth & MAILSMTP_AUTH_PLAIN))
		return ma_fail(err, MA_ERR_PROTOCOL, _("SMTP server %s does not offer AUTH PLAIN (offers: %s)"),
			       s->base.host, s->caps);
	char *cmd = ma_sasl_plain_command("AUTH PLAIN ", login, password);
	if (!cmd)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	size_t cl = strlen(cmd);
	/* No logger is installed on this stream, so the line is never traced. */
	bool sent = mailstream_write(s->smtp->stream, cmd, cl) == (ssize_t)cl
		&& mailstream_write(s->smtp->stream, "\r\n", 2) == 2
		&& mailstream_flush(s->smtp->stream) == 0;
	OPENSSL_cleanse(cmd, cl);
	free(cmd);
	char text[200];
	int code = sent ? read_reply(s, text, sizeof text) : -1;
	if (code < 0)
		return fail(s, MAILSMTP_ERROR_STREAM, "AUTH", MA_ERR_PROTOCOL, err);
	if (code == 235)
		return MA_OK;
	if (code == 535 || code == 530)
		return ma_fail(err, MA_ERR_LOGIN, _("SMTP server %s said: %s"), s->base.host, text);
	if (code == 538)
		return ma_fail(err, MA_ERR_PLAINTEXT_REFUSED, _("SMTP server %s said: %s"), s->base.host, text);
	if (code >= 400 && code < 500)
		return ma_fail(err, MA_ERR_SERVER_TEMP, _("SMTP server %s said: %s"), s->base.host, text);
	return ma_fail(err, MA_ERR_PROTOCOL, _("SMTP server %s said: %s"), s->base.host, text);
}

void ma_smtp_close(struct ma_smtp *s)
{
	if (!s)
		return;
	if (s->smtp) {
		if (!s->base.broken && s->smtp->stream)
			mailsmtp_quit(s->smtp);
		/* Whatever free still wants to say goes nowhere. */
		ma_conn_kill(s->base.conn);
		mailsmtp_free(s->smtp);
	}
	ma_conn_free(s->base.conn);
	free(s);
}

/* ---- the session base's table (session.h) ---- */

static ma_status smtp_open_conn(struct ma_conn *c, const char *label, enum ma_security security,
				bool insecure, struct ma_trace *trace, struct ma_session **out,
				struct ma_error *err)
{
	(void)insecure;
	(void)trace;
	struct ma_smtp *s = NULL;
	ma_status st = ma_smtp_open_conn(c, label, security, &s, err);
	*out = s ? &s->base : NULL;
	return st;
}

static void smtp_caps(const struct ma_session *b, char *buf, size_t len)
{
	snprintf(buf, len, "%s", smtp_of_const(b)->caps);
}

static void smtp_close(struct ma_session *b)
{
	ma_smtp_close(smtp_of(b));
}

const struct ma_session_driver ma_smtp_driver = {
	.proto = MA_PROTO_SMTP,
	.name = "SMTP",
	.starttls = "STARTTLS",
	.greet = smtp_greet,
	.read_caps = smtp_read_caps,
	.offers_starttls = smtp_offers_starttls,
	.send_starttls = smtp_send_starttls,
	.starttls_refused = smtp_starttls_refused,
	.stream = smtp_stream,
	.open_conn = smtp_open_conn,
	.caps = smtp_caps,
	.login = smtp_login,
	.close = smtp_close,
};
