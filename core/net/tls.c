/* TLS for ma_conn: the shared context, the handshake on a non-blocking
 * socket, and turning OpenSSL's verdict into a sentence.
 *
 * Order of checks, as isync and curl do it: SNI and the expected name are
 * set before the handshake, so OpenSSL checks chain and name together;
 * afterwards SSL_get_verify_result says which check failed. With
 * --insecure (and for the doctor's looks) the same checks run but do not
 * stop the handshake, so the report can still say what was accepted.
 *
 * The certificate verdict is made here and only here (cert_verdict), once
 * per handshake: it stops a checked connection, and ma_conn_cert_verdict
 * hands the same sentence to whoever looked without stopping. */
#include "net/transport-internal.h"
#include "base/i18n.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

struct ma_tls {
	SSL_CTX *ctx;
};

/* ---- the context ---- */

ma_status ma_tls_new(const struct ma_net_opts *opts, struct ma_tls **out, struct ma_error *err)
{
	*out = NULL;
	ma_transport_init();
	ma_status st = MA_OK;
	struct ma_tls *t = calloc(1, sizeof *t);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!t || !ctx) {
		st = ma_fail(err, MA_ERR_NOMEM, _("TLS context"));
		goto cleanup;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Each connection sets its own verify mode; this is the safe default. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

	if (opts && opts->ca_file) {
		/* access() first: its errno names the problem better than
		 * OpenSSL's "system library" message. */
		if (access(opts->ca_file, R_OK) < 0) {
			st = ma_fail(err, MA_ERR_ARGUMENT, _("CA file %s: %s"), opts->ca_file, strerror(errno));
			goto cleanup;
		}
		if (SSL_CTX_load_verify_locations(ctx, opts->ca_file, NULL) != 1) {
			char why[200];
			ma_tls_reason(ERR_peek_error(), false, why, sizeof why);
			st = ma_fail(err, MA_ERR_ARGUMENT, _("CA file %s holds no usable certificate (%s)"),
				     opts->ca_file, why);
			goto cleanup;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		st = ma_fail(err, MA_ERR_ARGUMENT, _("the system's CA certificates could not be loaded"));
		goto cleanup;
	}
	t->ctx = ctx;
	ctx = NULL;
	*out = t;
	t = NULL;
cleanup:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	free(t);
	return st;
}

void ma_tls_free(struct ma_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

SSL_CTX *ma_tls_ctx_ref(struct ma_tls *t)
{
	SSL_CTX_up_ref(t->ctx);
	return t->ctx;
}

void ma_tls_ctx_unref(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

void ma_tls_close(struct ma_conn *c)
{
	if (!c->ssl)
		return;
	/* One try at close_notify; the socket is non-blocking so this never
	 * waits, and the answer does not matter. After a fatal error OpenSSL
	 * forbids it. */
	if (c->tls_up && !c->tls_broken) {
		ERR_clear_error();
		SSL_shutdown(c->ssl);
	}
	ERR_clear_error();
	SSL_free(c->ssl);
	c->ssl = NULL;
	c->tls_up = false;
}

void ma_tls_reason(unsigned long code, bool handshake, char *buf, size_t len)
{
	const char *reason = code ? ERR_reason_error_string(code) : NULL;
	if (!code)
		snprintf(buf, len, "%s", _("unknown TLS error"));
	else if (reason)
		snprintf(buf, len, "%s", reason);
	else
		ERR_error_string_n(code, buf, len);

	if (!handshake || ERR_GET_LIB(code) != ERR_LIB_SSL)
		return;
	const char *hint = NULL;
	switch (ERR_GET_REASON(code)) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_RECORD_LENGTH_MISMATCH:
		hint = _(" (the server does not speak TLS here: is this port plain text or STARTTLS?)");
		break;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		hint = _(" (the server seems to offer only TLS versions older than 1.2)");
		break;
	default:
		break;
	}
	size_t used = strlen(buf);
	if (hint && used < len)
		snprintf(buf + used, len - used, "%s", hint);
}

/* ---- certificate details for the report ---- */

/* Names and SANs come from the server: no control characters reach the
 * report. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void name_text(const X509_NAME *name, char *buf, size_t len)
{
	buf[0] = '\0';
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return;
	/* One line, UTF-8 left as is: "O = Example, CN = mail.example.org". */
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		int n = BIO_read(b, buf, (int)(len - 1));
		buf[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
	sanitize(buf);
}

static void common_name(X509 *cert, char *buf, size_t len)
{
	buf[0] = '\0';
	const X509_NAME *subj = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (i < 0)
		return;
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)));
	if (n >= 0)
		snprintf(buf, len, "%.*s", n, (const char *)utf8);
	OPENSSL_free(utf8);
	sanitize(buf);
}

/* Appends "sep item" to buf; ends in "..." when buf is full. */
static void append_item(char *buf, size_t len, const char *prefix, const char *item, int item_len)
{
	size_t used = strlen(buf);
	if (used + 4 >= len)
		return;
	int n = snprintf(buf + used, len - used, "%s%s%.*s", used ? ", " : "", prefix, item_len, item);
	if (n < 0 || (size_t)n >= len - used)
		snprintf(buf + len - 4, 4, "...");
}

static void san_list(X509 *cert, char *buf, size_t len)
{
	buf[0] = '\0';
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (!names)
		return;
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		if (g->type == GEN_DNS) {
			const ASN1_IA5STRING *s = g->d.dNSName;
			append_item(buf, len, "DNS:", (const char *)ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
		} else if (g->type == GEN_IPADD) {
			char ip[INET6_ADDRSTRLEN] = "?";
			int n = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
			if (n == 4 || n == 16)
				inet_ntop(n == 4 ? AF_INET : AF_INET6, d, ip, sizeof ip);
			append_item(buf, len, "IP:", ip, (int)strlen(ip));
		} else if (g->type == GEN_EMAIL) {
			const ASN1_IA5STRING *s = g->d.rfc822Name;
			append_item(buf, len, "email:", (const char *)ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
		}
	}
	GENERAL_NAMES_free(names);
	sanitize(buf);
}

static void time_text(const ASN1_TIME *t, char *buf, size_t len, time_t *out)
{
	struct tm tm;
	buf[0] = '\0';
	if (out)
		*out = 0;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return;
	time_t secs = timegm(&tm);
	char when[MA_FMT_LEN];
	ma_fmt_time(secs, when);
	snprintf(buf, len, "%s", when);
	if (out)
		*out = secs;
}

static void fill_cert_info(struct ma_conn *c, X509 *cert)
{
	struct ma_cert_info *ci = &c->cert;
	memset(ci, 0, sizeof *ci);
	ci->verify_result = SSL_get_verify_result(c->ssl);
	snprintf(ci->verify_text, sizeof ci->verify_text, "%s",
		 X509_verify_cert_error_string(ci->verify_result));
	snprintf(ci->tls_version, sizeof ci->tls_version, "%s", SSL_get_version(c->ssl));
	const char *cipher = SSL_get_cipher_name(c->ssl);
	snprintf(ci->cipher, sizeof ci->cipher, "%s", cipher ? cipher : "");
	if (!cert)
		return;
	ci->present = true;
	ci->verified = ci->verify_result == X509_V_OK;
	name_text(X509_get_subject_name(cert), ci->subject, sizeof ci->subject);
	name_text(X509_get_issuer_name(cert), ci->issuer, sizeof ci->issuer);
	san_list(cert, ci->sans, sizeof ci->sans);
	time_text(X509_get0_notBefore(cert), ci->not_before, sizeof ci->not_before, NULL);
	time_text(X509_get0_notAfter(cert), ci->not_after, sizeof ci->not_after, &ci->not_after_t);

	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (X509_digest(cert, EVP_sha256(), md, &n) == 1) {
		for (unsigned int i = 0; i < n && 3 * i + 3 <= sizeof ci->sha256; i++)
			snprintf(ci->sha256 + 3 * i, sizeof ci->sha256 - 3 * i, i + 1 < n ? "%02X:" : "%02X", md[i]);
	}
}

/* The leaf, also when verification failed (OpenSSL then keeps it only in
 * the peer chain). Caller frees. */
static X509 *peer_cert(SSL *ssl)
{
	X509 *x = SSL_get1_peer_certificate(ssl);
	if (x)
		return x;
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	if (chain && sk_X509_num(chain) > 0) {
		x = sk_X509_value(chain, 0);
		X509_up_ref(x);
	}
	return x;
}

/* ---- verdicts ---- */

static ma_status no_certificate(struct ma_error *err)
{
	return ma_fail(err, MA_ERR_CERT_INVALID, _("the server sent no certificate"));
}

/* The certificate in the words of status.h, from what the handshake left
 * (c->cert, the peer chain while c->ssl lives). A leaf that expired is
 * told apart from a certificate further up the chain that did. */
static ma_status cert_verdict(struct ma_conn *c, X509 *cert, struct ma_error *err)
{
	const struct ma_cert_info *ci = &c->cert;
	char text[256];

	switch (ci->verify_result) {
	case X509_V_OK:
		return cert ? ma_fail(err, MA_OK, NULL) : no_certificate(err);
	case X509_V_ERR_CERT_HAS_EXPIRED:
		if (ci->not_after_t && ci->not_after_t < time(NULL))
			return ma_fail(err, MA_ERR_CERT_EXPIRED, _("it expired on %s (%s)"), ci->not_after, ci->subject);
		return ma_fail(err, MA_ERR_CERT_EXPIRED, _("a certificate in its chain has expired (%s)"), ci->subject);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return ma_fail(err, MA_ERR_CERT_NOT_YET_VALID, _("it is valid from %s (%s)"), ci->not_before, ci->subject);
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		if (ci->sans[0]) {
			return ma_fail(err, MA_ERR_CERT_NAME_MISMATCH, _("asked for %s, but the certificate covers: %s"),
				       c->host, ci->sans);
		}
		text[0] = '\0';
		if (cert)
			common_name(cert, text, sizeof text);
		return ma_fail(err, MA_ERR_CERT_NAME_MISMATCH, _("asked for %s, but the certificate covers: CN=%s"),
			       c->host, text);
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED: {
		/* The unknown authority is the issuer of the last certificate
		 * the server sent. */
		STACK_OF(X509) *chain = c->ssl ? SSL_get_peer_cert_chain(c->ssl) : NULL;
		int n = chain ? sk_X509_num(chain) : 0;
		if (n > 0)
			name_text(X509_get_issuer_name(sk_X509_value(chain, n - 1)), text, sizeof text);
		else
			snprintf(text, sizeof text, "%s", ci->issuer);
		return ma_fail(err, MA_ERR_CERT_UNTRUSTED, _("issued by %s"), text);
	}
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return ma_fail(err, MA_ERR_CERT_SELF_SIGNED, _("subject: %s"), ci->subject);
	default:
		return ma_fail(err, MA_ERR_CERT_INVALID, "%s", X509_verify_cert_error_string(ci->verify_result));
	}
}

/* What the handshake found out about the certificate: details and verdict,
 * kept in c for the report and for ma_conn_cert_verdict. */
static void judge_cert(struct ma_conn *c, X509 *cert)
{
	fill_cert_info(c, cert);
	cert_verdict(c, cert, &c->verdict);
}

static ma_status verdict_to(const struct ma_conn *c, struct ma_error *err)
{
	if (err)
		*err = c->verdict;
	return c->verdict.status;
}

ma_status ma_conn_cert_verdict(const struct ma_conn *c, struct ma_error *err)
{
	/* No handshake yet (a plain connection), or one without a certificate. */
	if (!c || !c->cert.present)
		return no_certificate(err);
	return verdict_to(c, err);
}

static bool is_ip_literal(const char *host)
{
	unsigned char bin[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1;
}

/* Why SSL_connect gave up: a certificate verdict when verification failed,
 * else OpenSSL's reason, else the peer hung up. */
static ma_status handshake_failure(struct ma_conn *c, int ssl_err, struct ma_error *err)
{
	if (c->cert.verify_result != X509_V_OK && !c->insecure)
		return verdict_to(c, err);

	unsigned long code = ERR_peek_error();
	bool eof = (ssl_err == SSL_ERROR_SYSCALL && code == 0
		    && (errno == 0 || errno == ECONNRESET || errno == EPIPE))
		|| ssl_err == SSL_ERROR_ZERO_RETURN
		|| (ERR_GET_LIB(code) == ERR_LIB_SSL
		    && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
	if (eof)
		return ma_fail(err, MA_ERR_TLS_HANDSHAKE,
			       _("the server closed the connection during the TLS handshake (is this port plain text?)"));
	if (ssl_err == SSL_ERROR_SYSCALL && code == 0)
		return ma_fail(err, MA_ERR_TLS_HANDSHAKE, "%s", strerror(errno ? errno : EIO));
	char why[256];
	ma_tls_reason(code, true, why, sizeof why);
	return ma_fail(err, MA_ERR_TLS_HANDSHAKE, "%s", why);
}

ma_status ma_conn_start_tls(struct ma_conn *c, struct ma_error *err)
{
	if (!c || c->fd < 0)
		return ma_fail(err, MA_ERR_NOT_CONNECTED, NULL);
	if (c->ssl)
		return ma_fail(err, MA_ERR_ARGUMENT, _("the connection is already encrypted"));
	if (!c->ctx)
		return ma_fail(err, MA_ERR_ARGUMENT, _("the connection was opened as plain text"));

	ma_status st = MA_OK;
	X509 *cert = NULL;
	ERR_clear_error();
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		st = ma_fail(err, MA_ERR_NOMEM, _("TLS session"));
		goto cleanup;
	}
	/* Read-ahead: one read() takes in whatever records have arrived,
	 * instead of two per record (header, then body). Safe because
	 * tls_read always asks SSL_read before it waits in poll(): records
	 * OpenSSL holds are returned first, and with AUTO_RETRY a WANT_READ
	 * means what it holds is no whole record. */
	SSL_set_read_ahead(c->ssl, 1);
	SSL_set_mode(c->ssl, SSL_MODE_AUTO_RETRY);
	/* Verification still runs with --insecure so the report can show the
	 * verdict; it just does not stop the handshake. */
	SSL_set_verify(c->ssl, c->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	bool ok;
	if (is_ip_literal(c->host)) {
		/* RFC 6066: no SNI for addresses. */
		ok = X509_VERIFY_PARAM_set1_ip_asc(param, c->host) == 1;
	} else {
		ok = SSL_set_tlsext_host_name(c->ssl, c->host) == 1 && SSL_set1_host(c->ssl, c->host) == 1;
	}
	if (!ok) {
		st = ma_fail(err, MA_ERR_ARGUMENT, _("%s cannot be used as a TLS server name"), c->host);
		goto cleanup;
	}

	/* The whole handshake gets one idle timeout. */
	int64_t until = ma_conn_wait_limit(c);
	for (;;) {
		if (atomic_load(&c->killed)) {
			st = ma_fail(err, MA_ERR_CANCELLED, _("during the TLS handshake"));
			goto cleanup;
		}
		ERR_clear_error();
		errno = 0;
		int r = SSL_connect(c->ssl);
		if (r == 1)
			break;
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			st = ma_wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, c->cancel_fd, until);
			if (st == MA_ERR_READ_TIMEOUT && ma_conn_run_deadline_passed(c))
				st = ma_fail(err, MA_ERR_DEADLINE, _("during the TLS handshake with %s"), c->host);
			else if (st == MA_ERR_READ_TIMEOUT)
				st = ma_fail(err, st, _("no answer within %d s during the TLS handshake with %s"),
					     c->timeout_ms / 1000, c->host);
			else if (st != MA_OK)
				st = ma_fail(err, st, _("during the TLS handshake with %s"), c->host);
			if (st != MA_OK)
				goto cleanup;
			continue;
		}
		int saved_errno = errno;
		cert = peer_cert(c->ssl);
		judge_cert(c, cert);
		errno = saved_errno;
		st = handshake_failure(c, e, err);
		goto cleanup;
	}

	cert = peer_cert(c->ssl);
	judge_cert(c, cert);
	/* OpenSSL stops a failing handshake itself; this is belt and braces
	 * (and catches a server that sent no certificate at all). */
	if (!c->insecure && c->verdict.status != MA_OK) {
		st = verdict_to(c, err);
		goto cleanup;
	}
	c->tls_up = true;
cleanup:
	X509_free(cert);
	if (st != MA_OK)
		ma_tls_close(c);  /* tls_up is false: no close_notify */
	ERR_clear_error();
	return st;
}
