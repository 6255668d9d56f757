/* The session base (see session.h): the opening and the login checks of
 * every session, and the table of the three protocols. */
#include "mail/session.h"
#include "net/stream.h"

#include <stdio.h>
#include <string.h>

#include "mail/session_util.h"

static const struct ma_session_driver *const drivers[] = {
	[MA_PROTO_IMAP] = &ma_imap_driver,
	[MA_PROTO_POP3] = &ma_pop3_driver,
	[MA_PROTO_SMTP] = &ma_smtp_driver,
};

const struct ma_session_driver *ma_session_driver(enum ma_proto proto)
{
	return (unsigned)proto < sizeof drivers / sizeof drivers[0] ? drivers[proto] : NULL;
}

void ma_session_init(struct ma_session *s, const struct ma_session_driver *drv, struct ma_conn *c,
		     const char *label, bool insecure)
{
	s->drv = drv;
	s->conn = c;
	snprintf(s->host, sizeof s->host, "%s", label);
	s->allow_plain = insecure;
}

ma_status ma_session_mark_broken(struct ma_session *s, const struct ma_error *err)
{
	s->broken = true;
	if (err)
		s->broken_err = *err;
	else
		ma_fail(&s->broken_err, MA_ERR_NOT_CONNECTED, NULL);
	return s->broken_err.status;
}

ma_status ma_session_usable(const struct ma_session *s, struct ma_error *err)
{
	if (!s)
		return ma_fail(err, MA_ERR_NOT_CONNECTED, NULL);
	if (s->broken) {
		if (err)
			*err = s->broken_err;
		return s->broken_err.status;
	}
	return MA_OK;
}

/* The TLS handshake on the socket the plain stream used, then a TLS low
 * driver in place of the plain one. */
static ma_status upgrade(struct ma_session *s, mailstream *stream, struct ma_error *err)
{
	ma_status st = ma_conn_start_tls(s->conn, err);
	if (st != MA_OK)
		return st;
	mailstream_low *low = ma_conn_low(s->conn);
	if (!low)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	/* The old driver does not own the socket: freeing it keeps the fd. */
	mailstream_low_free(mailstream_get_low(stream));
	mailstream_set_low(stream, low);
	return MA_OK;
}

/* STARTTLS, only if the server lists it. Whatever the reply says, bytes
 * already waiting behind it came before TLS and would be read as if
 * protected (CVE-2020-15953): that is refused before the reply counts. */
static ma_status starttls(struct ma_session *s, struct ma_error *err)
{
	const struct ma_session_driver *d = s->drv;
	if (!d->offers_starttls(s))
		return ma_fail(err, MA_ERR_STARTTLS_MISSING,
			       "%s server %s on this port does not list %s (it may have been removed on the way)",
			       d->name, s->host, d->starttls);
	int r = d->send_starttls(s);
	mailstream *stream = d->stream(s);
	if (stream && stream->read_buffer_len != 0)
		return ma_fail(err, MA_ERR_STARTTLS_INJECTION, "%s server %s sent %zu bytes after its %s reply",
			       d->name, s->host, stream->read_buffer_len, d->starttls);
	if (r != 0)
		return d->starttls_refused(s, r, err);
	return upgrade(s, stream, err);
}

ma_status ma_session_start(struct ma_session *s, enum ma_security security, struct ma_error *err)
{
	const struct ma_session_driver *d = s->drv;
	ma_status st = d->greet(s, err);
	if (st != MA_OK) {
		ma_session_mark_broken(s, err);
		return st;
	}
	st = d->read_caps(s, err);
	if (st != MA_OK || security != MA_SEC_STARTTLS)
		return st;
	st = starttls(s, err);
	if (st != MA_OK) {
		ma_session_mark_broken(s, err);
		return st;
	}
	if (d->tls_started)
		d->tls_started(s);
	return d->read_caps(s, err);
}

ma_status ma_session_open_conn(enum ma_proto proto, struct ma_conn *c, const char *label,
			       enum ma_security security, bool insecure, struct ma_trace *trace,
			       struct ma_session **out, struct ma_error *err)
{
	*out = NULL;
	const struct ma_session_driver *d = ma_session_driver(proto);
	if (!d) {
		ma_conn_free(c);
		return ma_fail(err, MA_ERR_ARGUMENT, "no such protocol");
	}
	return d->open_conn(c, label, security, insecure, trace, out, err);
}

void ma_session_caps(const struct ma_session *s, char *buf, size_t len)
{
	if (len == 0)
		return;
	buf[0] = '\0';
	if (s)
		s->drv->caps(s, buf, len);
}

const struct ma_cert_info *ma_session_cert(const struct ma_session *s)
{
	return s ? ma_conn_cert(s->conn) : NULL;
}

ma_status ma_session_cert_verdict(const struct ma_session *s, struct ma_error *err)
{
	return ma_conn_cert_verdict(s ? s->conn : NULL, err);
}

ma_status ma_session_login(struct ma_session *s, const char *login, const char *password,
			   struct ma_error *err)
{
	ma_status st = ma_session_usable(s, err);
	if (st != MA_OK)
		return st;
	if (!ma_credential_ok(login) || !ma_credential_ok(password))
		return ma_fail(err, MA_ERR_BAD_CREDENTIAL, NULL);
	if (!ma_conn_is_tls(s->conn) && !s->allow_plain)
		return ma_fail(err, MA_ERR_UNENCRYPTED, "%s server %s", s->drv->name, s->host);
	return s->drv->login(s, login, password, err);
}

void ma_session_close(struct ma_session *s)
{
	if (s)
		s->drv->close(s);
}
