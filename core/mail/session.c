/* The session base (see session.h): the opening and the login checks of
 * every session, and the table of the three protocols. */
#include "mail/session.h"
#include "net/stream.h"

#include <stdio.h>
#include <string.h>

#include "base/text.h"   /* ma_now_ms */
#include "mail/session_util.h"
#include "base/i18n.h"

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
			       _("%s server %s on this port does not list %s (it may have been removed on the way)"),
			       d->name, s->host, d->starttls);
	int r = d->send_starttls(s);
	mailstream *stream = d->stream(s);
	if (stream && stream->read_buffer_len != 0)
		return ma_fail(err, MA_ERR_STARTTLS_INJECTION, P_("%s server %s sent %zu bytes after its %s reply",
				  "%s server %s sent %zu bytes after its %s reply", stream->read_buffer_len),
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

/* ---- a wrong port or security, named ---- */

/* How long a plain-text greeting may take before the port is suspected of
 * waiting for TLS instead. Servers greet at once, a busy one within a
 * second or so; one that is merely slow costs this and one short look. */
#define QUICK_GREETING_MS 2000
/* Each step of the second connection's look (connect, handshake, line). */
#define LOOK_TIMEOUT_S 2

/* What the server's first line says, from a second, short connection to
 * ep's port with security sec: TLS without the certificate check (nothing
 * is sent but the handshake: this only asks whether the port speaks TLS).
 * True when it connected (and, for TLS, the handshake finished); line gets
 * the first line, "" if none came. */
static bool look_at_port(const struct ma_endpoint *ep, const struct ma_net_opts *net,
			 enum ma_security sec, char *line, size_t len)
{
	struct ma_endpoint e = *ep;
	e.security = sec;
	struct ma_net_opts o = *net;
	o.insecure = true;
	if (o.timeout_s <= 0 || o.timeout_s > LOOK_TIMEOUT_S)
		o.timeout_s = LOOK_TIMEOUT_S;
	line[0] = '\0';
	struct ma_conn *c = NULL;
	if (ma_conn_open(&e, &o, &c, NULL) != MA_OK)
		return false;
	mailstream_low *low = ma_conn_low(c);
	if (low) {
		char buf[256];
		ssize_t n = mailstream_low_read(low, buf, sizeof buf - 1);
		size_t k = 0;
		while (n > 0 && k < (size_t)n && k + 1 < len && buf[k] != '\r' && buf[k] != '\n') {
			line[k] = buf[k];
			k++;
		}
		line[k] = '\0';
		mailstream_low_free(low);
	}
	ma_conn_free(c);
	return true;
}

/* "host:port" of ep, for messages, as the sessions name themselves. */
static void ep_label(const struct ma_endpoint *ep, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u", ep->host, ep->port);
}

/* The TLS handshake failed: if the port greets in plain text, say so. */
static ma_status tls_refused(enum ma_proto proto, const struct ma_endpoint *ep,
			     const struct ma_net_opts *net, struct ma_error *err)
{
	char line[200], where[272], ports[80];
	enum ma_proto spoken;
	if (!look_at_port(ep, net, MA_SEC_STARTTLS, line, sizeof line) ||
	    !ma_greeting_proto(line, strlen(line), &spoken))
		return err ? err->status : MA_ERR_TLS_HANDSHAKE;
	ep_label(ep, where, sizeof where);
	ma_proto_ports_text(proto, ports, sizeof ports);
	if (spoken != proto)
		return ma_fail(err, MA_ERR_WRONG_PORT, _("%s server %s: this port speaks %s in plain text, "
			       "not SSL/TLS; %s"), ma_proto_name(proto), where, ma_proto_name(spoken), ports);
	return ma_fail(err, MA_ERR_WRONG_PORT, _("%s server %s: this port speaks %s in plain text, not "
		       "SSL/TLS: use %s/starttls; %s"), ma_proto_name(proto), where, ma_proto_name(proto),
		       where, ports);
}

/* No greeting within QUICK_GREETING_MS over plain text: if the port waits
 * for TLS, say so (true, err set); false when that is not known. look:
 * whether there is time left to look at the port over TLS (without it,
 * only the port number can tell). */
static bool waits_for_tls(enum ma_proto proto, const struct ma_endpoint *ep,
			  const struct ma_net_opts *net, bool look, struct ma_error *err)
{
	char line[200] = "", where[272], ports[80];
	enum ma_proto spoken;
	bool tls = look && look_at_port(ep, net, MA_SEC_TLS, line, sizeof line);
	if (!tls && !ma_port_implicit_tls(ep->port))
		return false;
	ep_label(ep, where, sizeof where);
	ma_proto_ports_text(proto, ports, sizeof ports);
	const char *how = ma_security_name(ep->security);
	if (tls && ma_greeting_proto(line, strlen(line), &spoken) && spoken != proto)
		ma_fail(err, MA_ERR_WRONG_PORT, _("%s server %s: this port speaks %s over SSL/TLS; %s"),
			ma_proto_name(proto), where, ma_proto_name(spoken), ports);
	else if (tls)
		ma_fail(err, MA_ERR_WRONG_PORT, _("%s server %s: this port expects SSL/TLS from the first "
			"byte and says nothing in plain text, so /%s cannot work here: use %s/tls; %s"),
			ma_proto_name(proto), where, how, where, ports);
	else
		ma_fail(err, MA_ERR_WRONG_PORT, _("%s server %s: port %u is an SSL/TLS port and said "
			"nothing in plain text for %d s, so /%s cannot work here: use %s/tls; %s"),
			ma_proto_name(proto), where, ep->port, QUICK_GREETING_MS / 1000, how, where, ports);
	return true;
}

/* The run's --deadline has passed: a wait it cut short is named after it,
 * not after the server's silence (and no second look is begun). */
static bool run_over(const struct ma_net_opts *net)
{
	return net->run_deadline_ms && ma_now_ms() >= net->run_deadline_ms;
}

static ma_status greeting_deadline(enum ma_proto proto, const struct ma_endpoint *ep,
				   struct ma_conn *c, struct ma_error *err)
{
	char where[272];
	ep_label(ep, where, sizeof where);
	ma_conn_free(c);
	return ma_fail(err, MA_ERR_DEADLINE, _("%s server %s, during the greeting"), ma_proto_name(proto),
		       where);
}

ma_status ma_session_connect(enum ma_proto proto, const struct ma_endpoint *ep,
			     const struct ma_net_opts *net, struct ma_conn **out,
			     struct ma_error *err)
{
	*out = NULL;
	struct ma_conn *c = NULL;
	ma_status st = ma_conn_open(ep, net, &c, err);
	if (st == MA_ERR_TLS_HANDSHAKE)
		return tls_refused(proto, ep, net, err);
	if (st != MA_OK || ep->security == MA_SEC_TLS) {
		*out = c;
		return st;
	}
	/* The greeting gets the usual timeout in all, the look included, so a
	 * silent server that does not speak TLS either fails no later than
	 * before; a timeout shorter than the first wait leaves no time to look. */
	int timeout_ms = (net->timeout_s > 0 ? net->timeout_s : 30) * 1000;
	int64_t start = ma_now_ms();
	st = ma_conn_wait_readable(c, timeout_ms < QUICK_GREETING_MS ? timeout_ms : QUICK_GREETING_MS);
	if (st == MA_ERR_READ_TIMEOUT && run_over(net))
		return greeting_deadline(proto, ep, c, err);
	if (st == MA_ERR_READ_TIMEOUT) {
		bool time_left = ma_now_ms() - start < timeout_ms;
		if (waits_for_tls(proto, ep, net, time_left, err)) {
			ma_conn_free(c);
			return err ? err->status : MA_ERR_WRONG_PORT;
		}
		int64_t left = start + timeout_ms - ma_now_ms();
		st = left > 0 ? ma_conn_wait_readable(c, (int)left) : MA_ERR_READ_TIMEOUT;
		if (st == MA_ERR_READ_TIMEOUT && run_over(net))
			return greeting_deadline(proto, ep, c, err);
		if (st == MA_ERR_READ_TIMEOUT) {
			char where[272];
			ep_label(ep, where, sizeof where);
			ma_conn_free(c);
			return ma_fail(err, st, _("%s server %s, during the greeting: nothing for %d s"),
				       ma_proto_name(proto), where, timeout_ms / 1000);
		}
	}
	if (st == MA_ERR_CANCELLED) {
		ma_conn_free(c);
		return ma_fail(err, st, NULL);
	}
	/* A greeting came (or a failure the session's read will name). */
	*out = c;
	return MA_OK;
}

ma_status ma_session_wrong_greeting(const struct ma_session *s, const char *line, size_t len,
				    struct ma_error *err)
{
	enum ma_proto spoken;
	if (!ma_greeting_proto(line, len, &spoken) || spoken == s->drv->proto)
		return MA_OK;
	char ports[80];
	ma_proto_ports_text(s->drv->proto, ports, sizeof ports);
	return ma_fail(err, MA_ERR_WRONG_PORT, _("%s server %s: this port speaks %s; %s"), s->drv->name,
		       s->host, ma_proto_name(spoken), ports);
}

ma_status ma_session_open_conn(enum ma_proto proto, struct ma_conn *c, const char *label,
			       enum ma_security security, bool insecure, struct ma_trace *trace,
			       struct ma_session **out, struct ma_error *err)
{
	*out = NULL;
	const struct ma_session_driver *d = ma_session_driver(proto);
	if (!d) {
		ma_conn_free(c);
		return ma_fail(err, MA_ERR_ARGUMENT, _("no such protocol"));
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
		return ma_fail(err, MA_ERR_UNENCRYPTED, _("%s server %s"), s->drv->name, s->host);
	return s->drv->login(s, login, password, err);
}

void ma_session_close(struct ma_session *s)
{
	if (s)
		s->drv->close(s);
}
