/* Look-only SMTP session (see smtp.h). */
#include "mail/smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mail/session_util.h"

struct ma_smtp {
	struct ma_conn *conn;     /* owned */
	mailsmtp *smtp;
	char host[272];           /* "host:port" for messages */
	char caps[512];
	bool starttls_first;
	bool broken;              /* no more I/O: libetpan must not be called */
};

const char *ma_smtp_caps(const struct ma_smtp *s)
{
	return s ? s->caps : "";
}

bool ma_smtp_starttls_offered(const struct ma_smtp *s)
{
	return s && s->starttls_first;
}

const struct ma_cert_info *ma_smtp_cert(const struct ma_smtp *s)
{
	return s ? ma_conn_cert(s->conn) : NULL;
}

/* The transport's reason first (it knows timeouts from hang-ups), then
 * the server's own words. */
static ma_status fail(struct ma_smtp *s, int r, const char *what, ma_status otherwise,
		      struct ma_error *err)
{
	ma_status net = ma_conn_last_error(s->conn);
	if (r == MAILSMTP_ERROR_STREAM || net != MA_OK) {
		s->broken = true;
		if (net == MA_OK)
			net = MA_ERR_CLOSED;
		return ma_fail(err, net, "SMTP server %s during %s%s%s", s->host, what,
			       *ma_conn_last_detail(s->conn) ? ": " : "", ma_conn_last_detail(s->conn));
	}
	char text[200] = "";
	if (s->smtp->response)
		ma_sanitize(text, sizeof text, s->smtp->response, strlen(s->smtp->response));
	return ma_fail(err, otherwise, "SMTP server %s refused %s: %d %s", s->host, what,
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
	s->conn = c;
	snprintf(s->host, sizeof s->host, "%s", label);
	s->smtp = mailsmtp_new(0, NULL);
	mailstream *stream = s->smtp ? mailstream_new(ma_conn_low(c), 8192) : NULL;
	if (!stream) {
		s->broken = true;
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
		goto cleanup;
	}
	/* From here the stream belongs to s->smtp. */
	int r = mailsmtp_connect(s->smtp, stream);
	if (r != MAILSMTP_NO_ERROR) {
		st = fail(s, r, "the greeting", MA_ERR_GREETING, err);
		s->broken = true;
		goto cleanup;
	}
	st = ehlo(s, err);
	if (st != MA_OK)
		goto cleanup;
	s->starttls_first = s->smtp->esmtp & MAILSMTP_ESMTP_STARTTLS;
	if (security == MA_SEC_STARTTLS) {
		if (!s->starttls_first) {
			st = ma_fail(err, MA_ERR_STARTTLS_MISSING,
				     "SMTP server %s on this port does not list STARTTLS", s->host);
			goto cleanup;
		}
		r = mailesmtp_starttls(s->smtp);
		if (r != MAILSMTP_NO_ERROR) {
			st = fail(s, r, "STARTTLS", MA_ERR_STARTTLS_MISSING, err);
			goto cleanup;
		}
		st = ma_session_upgrade(s->smtp->stream, c, s->host, err);
		if (st != MA_OK) {
			s->broken = true;
			goto cleanup;
		}
		/* The plaintext EHLO may have been forged: ask again. */
		st = ehlo(s, err);
		if (st != MA_OK)
			goto cleanup;
	}
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
	if (!s || s->broken)
		return ma_fail(err, MA_ERR_NOT_CONNECTED, NULL);
	if (!ma_credential_ok(login) || !ma_credential_ok(password))
		return ma_fail(err, MA_ERR_BAD_CREDENTIAL, NULL);
	if (!ma_conn_is_tls(s->conn))
		return ma_fail(err, MA_ERR_UNENCRYPTED, "SMTP server %s", s->host);
	if (!(s->smtp->auth & MAILSMTP_AUTH_PLAIN))
		return ma_fail(err, MA_ERR_PROTOCOL, "SMTP server %s does not offer AUTH PLAIN (offers: %s)",
			       s->host, s->caps);
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
		return ma_fail(err, MA_ERR_LOGIN, "SMTP server %s said: %s", s->host, text);
	if (code == 538)
		return ma_fail(err, MA_ERR_PLAINTEXT_REFUSED, "SMTP server %s said: %s", s->host, text);
	if (code >= 400 && code < 500)
		return ma_fail(err, MA_ERR_SERVER_TEMP, "SMTP server %s said: %s", s->host, text);
	return ma_fail(err, MA_ERR_PROTOCOL, "SMTP server %s said: %s", s->host, text);
}

void ma_smtp_close(struct ma_smtp *s)
{
	if (!s)
		return;
	if (s->smtp) {
		if (!s->broken && s->smtp->stream)
			mailsmtp_quit(s->smtp);
		/* Whatever free still wants to say goes nowhere. */
		ma_conn_kill(s->conn);
		mailsmtp_free(s->smtp);
	}
	ma_conn_free(s->conn);
	free(s);
}
