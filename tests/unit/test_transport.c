/* core/net/transport.c and core/net/tls.c against real sockets on 127.0.0.1.
 *
 * Certificates are made here with OpenSSL's X509 API (EC P-256, fast) so
 * the test needs no CLI and can back-date an expired one. Each test starts
 * a one-connection server thread (plain, TLS or STARTTLS-style) and talks
 * to it through ma_conn and its mailstream_low driver. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mail/imap.h"
#include "mail/pop3.h"
#include "mail/session.h"
#include "mail/session_util.h"
#include "net/trace.h"
#include "net/transport.h"

/* ---- certificates ---- */

struct keycert {
	EVP_PKEY *key;
	X509 *cert;
};

static char tmpdir[64];
static char ca_path[128];
static struct keycert ca, other_ca, good, wrongname, expired, selfsigned, untrusted;
static long next_serial = 1;

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A certificate for cn valid from_days..to_days from now, signed by issuer
 * (NULL: self-signed). */
static struct keycert make_cert(const char *cn, const struct keycert *issuer, const char *san,
				long from_days, long to_days, bool is_ca)
{
	struct keycert kc = { .key = EVP_EC_gen("P-256"), .cert = X509_new() };
	assert_non_null(kc.key);
	X509 *x = kc.cert;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), next_serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
	X509_set_pubkey(x, kc.key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"mailaudit tests", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert) : name);

	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer ? issuer->cert : x, x, NULL, NULL, 0);
	add_ext(x, &v3, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (is_ca)
		add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
	else
		add_ext(x, &v3, NID_ext_key_usage, "serverAuth");
	if (san)
		add_ext(x, &v3, NID_subject_alt_name, san);
	assert_true(X509_sign(x, issuer ? issuer->key : kc.key, EVP_sha256()) > 0);
	return kc;
}

static void free_keycert(struct keycert *kc)
{
	X509_free(kc->cert);
	EVP_PKEY_free(kc->key);
}

static int setup_certs(void **state)
{
	(void)state;
	ma_transport_init();
	snprintf(tmpdir, sizeof tmpdir, "/tmp/ma-transport-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	const char *san = "DNS:localhost,IP:127.0.0.1";
	ca = make_cert("mailaudit test CA", NULL, NULL, -1, 3650, true);
	other_ca = make_cert("mailaudit other CA", NULL, NULL, -1, 3650, true);
	good = make_cert("server", &ca, san, -1, 365, false);
	wrongname = make_cert("wrongname", &ca, "DNS:other.example,DNS:mail.other.example", -1, 365, false);
	expired = make_cert("expired", &ca, san, -30, -2, false);
	selfsigned = make_cert("localhost", NULL, san, -1, 365, false);
	untrusted = make_cert("untrusted", &other_ca, san, -1, 365, false);

	snprintf(ca_path, sizeof ca_path, "%s/ca.crt", tmpdir);
	FILE *f = fopen(ca_path, "w");
	if (!f)
		return -1;
	int ok = PEM_write_X509(f, ca.cert);
	fclose(f);
	return ok ? 0 : -1;
}

static int teardown_certs(void **state)
{
	(void)state;
	struct keycert *all[] = { &ca, &other_ca, &good, &wrongname, &expired, &selfsigned, &untrusted };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		free_keycert(all[i]);
	unlink(ca_path);
	rmdir(tmpdir);
	return 0;
}

/* ---- a one-connection server in a thread ---- */

enum srv_mode {
	SRV_ECHO,        /* "HELLO", echo one line as "ECHO line", close */
	SRV_SILENT,      /* accept and say nothing until stopped */
	SRV_CLOSE,       /* accept and close at once */
	SRV_PLAIN_GREET, /* a plain-text greeting where TLS was expected */
	SRV_TLS,         /* SRV_ECHO inside TLS */
	SRV_STARTTLS,    /* "HELLO", "STARTTLS" -> "OK", then SRV_TLS */
	SRV_TLS_GARBAGE, /* handshake, then plain bytes inside the TLS stream */
	SRV_TLS_BURST,   /* handshake, BURST_LINES records at once, then silence */
	SRV_IMAP_STARTTLS, /* IMAP with [ALERT]s before and after STARTTLS */
};

#define BURST_LINES 60

struct server {
	enum srv_mode mode;
	const struct keycert *kc;
	SSL_CTX *ctx;
	int lfd;
	unsigned port;
	int stop[2];
	pthread_t thread;
	char peer[INET6_ADDRSTRLEN];
	char last_line[128];
};

struct io {
	int fd;
	SSL *ssl;
};

static void io_write(struct io *io, const char *text)
{
	size_t len = strlen(text);
	if (io->ssl)
		SSL_write(io->ssl, text, (int)len);
	else if (send(io->fd, text, len, MSG_NOSIGNAL) < 0)
		return;
}

static bool io_readline(struct io *io, char *buf, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		char ch;
		int r = io->ssl ? SSL_read(io->ssl, &ch, 1) : (int)recv(io->fd, &ch, 1, 0);
		if (r <= 0)
			return false;
		if (ch == '\n')
			break;
		if (ch != '\r')
			buf[n++] = ch;
	}
	buf[n] = '\0';
	return true;
}

static void echo_once(struct server *s, struct io *io)
{
	char line[128], reply[160];
	io_write(io, "HELLO\r\n");
	if (!io_readline(io, line, sizeof line))
		return;
	snprintf(s->last_line, sizeof s->last_line, "%s", line);
	snprintf(reply, sizeof reply, "ECHO %s\r\n", line);
	io_write(io, reply);
}

static void serve_tls(struct server *s, struct io *io)
{
	io->ssl = SSL_new(s->ctx);
	SSL_set_fd(io->ssl, io->fd);
	if (SSL_accept(io->ssl) == 1) {
		echo_once(s, io);
		SSL_shutdown(io->ssl);
	}
	SSL_free(io->ssl);
	io->ssl = NULL;
	ERR_clear_error();
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct pollfd p = { .fd = s->lfd, .events = POLLIN };
	if (poll(&p, 1, 5000) <= 0)
		return NULL;
	struct sockaddr_in peer;
	socklen_t plen = sizeof peer;
	int fd = accept(s->lfd, (struct sockaddr *)&peer, &plen);
	if (fd < 0)
		return NULL;
	inet_ntop(AF_INET, &peer.sin_addr, s->peer, sizeof s->peer);
	/* Never let a confused test hang the server. */
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

	struct io io = { .fd = fd };
	char line[128];
	struct pollfd stop = { .fd = s->stop[0], .events = POLLIN };
	switch (s->mode) {
	case SRV_ECHO:
		echo_once(s, &io);
		break;
	case SRV_SILENT:
		poll(&stop, 1, 5000);
		break;
	case SRV_CLOSE:
		break;
	case SRV_PLAIN_GREET:
		io_write(&io, "* OK plain text here\r\n");
		poll(&stop, 1, 5000);
		break;
	case SRV_TLS:
		serve_tls(s, &io);
		break;
	case SRV_TLS_GARBAGE:
		io.ssl = SSL_new(s->ctx);
		SSL_set_fd(io.ssl, fd);
		if (SSL_accept(io.ssl) == 1) {
			SSL *ssl = io.ssl;
			io.ssl = NULL;
			io_write(&io, "garbage, not a TLS record\r\n");
			io.ssl = ssl;
			poll(&stop, 1, 5000);
		}
		SSL_free(io.ssl);
		break;
	case SRV_TLS_BURST:
		io.ssl = SSL_new(s->ctx);
		SSL_set_fd(io.ssl, fd);
		if (SSL_accept(io.ssl) == 1) {
			/* One record per line, all sent before the client reads. */
			for (int i = 0; i < BURST_LINES; i++) {
				char l[32];
				snprintf(l, sizeof l, "line %02d\r\n", i);
				io_write(&io, l);
			}
			poll(&stop, 1, 5000);
		}
		SSL_free(io.ssl);
		break;
	case SRV_IMAP_STARTTLS:
		/* libetpan's tags: 1 CAPABILITY, 2 STARTTLS, 3 CAPABILITY,
		 * 4 LOGOUT. */
		io_write(&io, "* OK [ALERT] Plaintext greeting\r\n");
		if (!io_readline(&io, line, sizeof line))
			break;
		io_write(&io, "* CAPABILITY IMAP4rev1 STARTTLS\r\n"
			      "* OK [ALERT] Said on both sides\r\n1 OK done\r\n");
		if (!io_readline(&io, line, sizeof line) || strcmp(line, "2 STARTTLS") != 0)
			break;
		io_write(&io, "2 OK [ALERT] Plaintext STARTTLS reply\r\n");
		io.ssl = SSL_new(s->ctx);
		SSL_set_fd(io.ssl, fd);
		if (SSL_accept(io.ssl) == 1 && io_readline(&io, line, sizeof line)) {
			io_write(&io, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n* OK [ALERT] Over TLS\r\n"
				      "* OK [ALERT] Said on both sides\r\n3 OK done\r\n");
			if (io_readline(&io, line, sizeof line))
				io_write(&io, "* BYE bye\r\n4 OK done\r\n");
			SSL_shutdown(io.ssl);
		}
		SSL_free(io.ssl);
		break;
	case SRV_STARTTLS:
		io_write(&io, "HELLO\r\n");
		if (io_readline(&io, line, sizeof line) && strcmp(line, "STARTTLS") == 0) {
			io_write(&io, "OK\r\n");
			serve_tls(s, &io);
		}
		break;
	}
	close(fd);
	return NULL;
}

static void server_start(struct server *s, enum srv_mode mode, const struct keycert *kc)
{
	memset(s, 0, sizeof *s);
	s->mode = mode;
	s->kc = kc;
	if (kc) {
		s->ctx = SSL_CTX_new(TLS_server_method());
		assert_non_null(s->ctx);
		assert_int_equal(SSL_CTX_use_certificate(s->ctx, kc->cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, kc->key), 1);
	}
	assert_int_equal(pipe(s->stop), 0);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
	assert_int_equal(write(s->stop[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
	SSL_CTX_free(s->ctx);
}

/* ---- helpers ---- */

static struct ma_net_opts opts_default(void)
{
	return (struct ma_net_opts){ .timeout_s = 3, .cancel_fd = -1, .ca_file = ca_path };
}

static struct ma_endpoint endpoint(const char *host, unsigned port, enum ma_security sec)
{
	struct ma_endpoint ep = { .port = port, .security = sec };
	snprintf(ep.host, sizeof ep.host, "%s", host);
	return ep;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One line from the stream without CRLF, or NULL. Caller frees. */
static char *read_line(mailstream *stream)
{
	MMAPString *buf = mmap_string_new("");
	char *line = mailstream_read_line_remove_eol(stream, buf);
	char *copy = line ? strdup(line) : NULL;
	mmap_string_free(buf);
	return copy;
}

static void write_line(mailstream *stream, const char *text)
{
	assert_true(mailstream_write(stream, text, strlen(text)) >= 0);
	assert_int_equal(mailstream_flush(stream), 0);
}

static void expect_line(mailstream *stream, const char *want)
{
	char *line = read_line(stream);
	assert_non_null(line);
	assert_string_equal(line, want);
	free(line);
}

/* Connects to a TLS server holding kc and returns the status. */
static ma_status tls_attempt(const struct keycert *kc, const char *host, bool insecure,
			    struct ma_error *err, struct ma_cert_info *info)
{
	struct server s;
	server_start(&s, SRV_TLS, kc);
	struct ma_net_opts o = opts_default();
	o.insecure = insecure;
	struct ma_endpoint ep = endpoint(host, s.port, MA_SEC_TLS);
	struct ma_conn *c = NULL;
	ma_status st = ma_conn_open(&ep, &o, &c, err);
	if (c && info)
		*info = *ma_conn_cert(c);
	ma_conn_free(c);
	server_stop(&s);
	return st;
}

/* What the user would read, as a TAP comment. */
static void note(const struct ma_error *err)
{
	print_message("# %s: %s\n", ma_status_name(err->status), err->detail);
}

/* ---- plain ---- */

static void plain_roundtrip_and_eof(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_ECHO, NULL);
	struct ma_net_opts o = opts_default();
	o.source_addr = "127.0.0.2";
	struct ma_endpoint ep = endpoint("127.0.0.1", s.port, MA_SEC_PLAIN);
	struct ma_conn *c = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_conn_open(&ep, &o, &c, &err), MA_OK);
	assert_false(ma_conn_is_tls(c));

	mailstream_low *low = ma_conn_low(c);
	assert_non_null(low);
	int fd = mailstream_low_get_fd(low);
	assert_true(fd >= 0);
	mailstream *stream = mailstream_new(low, 8192);
	expect_line(stream, "HELLO");
	write_line(stream, "ping\r\n");
	expect_line(stream, "ECHO ping");
	assert_int_equal(ma_conn_last_error(c), MA_OK);

	/* The server closed: the driver says -1, never 0, and why. */
	char buf[16];
	assert_int_equal(mailstream_low_read(low, buf, sizeof buf), -1);
	assert_int_equal(ma_conn_last_error(c), MA_ERR_CLOSED);

	/* Closing the stream leaves the socket to ma_conn. */
	mailstream_close(stream);
	assert_true(fcntl(fd, F_GETFD) != -1);
	ma_conn_free(c);
	server_stop(&s);
	assert_string_equal(s.peer, "127.0.0.2");
}

static void silent_server_times_out(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_SILENT, NULL);
	struct ma_net_opts o = opts_default();
	o.timeout_s = 1;
	struct ma_endpoint ep = endpoint("127.0.0.1", s.port, MA_SEC_PLAIN);
	struct ma_conn *c = NULL;
	assert_int_equal(ma_conn_open(&ep, &o, &c, NULL), MA_OK);
	mailstream_low *low = ma_conn_low(c);
	char buf[16];
	double t0 = now_s();
	assert_int_equal(mailstream_low_read(low, buf, sizeof buf), -1);
	double took = now_s() - t0;
	assert_true(took > 0.8 && took < 2.5);
	assert_int_equal(ma_conn_last_error(c), MA_ERR_READ_TIMEOUT);
	mailstream_low_free(low);
	ma_conn_free(c);
	server_stop(&s);
}

static void session_deadline_bounds_reads(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_SILENT, NULL);
	struct ma_net_opts o = opts_default();
	o.timeout_s = 5;
	o.deadline_s = 1;
	struct ma_endpoint ep = endpoint("127.0.0.1", s.port, MA_SEC_PLAIN);
	struct ma_conn *c = NULL;
	assert_int_equal(ma_conn_open(&ep, &o, &c, NULL), MA_OK);
	mailstream_low *low = ma_conn_low(c);
	char buf[16];
	double t0 = now_s();
	assert_int_equal(mailstream_low_read(low, buf, sizeof buf), -1);
	assert_true(now_s() - t0 < 2.0);
	assert_int_equal(ma_conn_last_error(c), MA_ERR_READ_TIMEOUT);
	assert_non_null(strstr(ma_conn_last_detail(c), "time limit"));
	mailstream_low_free(low);
	ma_conn_free(c);
	server_stop(&s);
}

/* The run's deadline (--deadline) is absolute and shared: a read waiting
 * when it passes ends as MA_ERR_DEADLINE, not as a timeout, and a
 * connection opened after it is not even begun. */
static void run_deadline_ends_every_connection(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_SILENT, NULL);
	struct ma_net_opts o = opts_default();
	o.timeout_s = 30;
	o.run_deadline_ms = ma_now_ms() + 1000;
	struct ma_endpoint ep = endpoint("127.0.0.1", s.port, MA_SEC_PLAIN);
	struct ma_conn *c = NULL;
	assert_int_equal(ma_conn_open(&ep, &o, &c, NULL), MA_OK);
	mailstream_low *low = ma_conn_low(c);
	char buf[16];
	double t0 = now_s();
	assert_int_equal(mailstream_low_read(low, buf, sizeof buf), -1);
	assert_true(now_s() - t0 < 2.0);
	assert_int_equal(ma_conn_last_error(c), MA_ERR_DEADLINE);
	mailstream_low_free(low);
	ma_conn_free(c);

	struct ma_error err = { 0 };
	c = NULL;
	assert_int_equal(ma_conn_open(&ep, &o, &c, &err), MA_ERR_DEADLINE);
	assert_null(c);
	assert_non_null(strstr(err.detail, "before connecting to 127.0.0.1"));
	server_stop(&s);
}

static void *cancel_later(void *arg)
{
	int fd = *(int *)arg;
	struct timespec ts = { .tv_nsec = 200 * 1000000L };
	nanosleep(&ts, NULL);
	ssize_t w = write(fd, "x", 1);
	(void)w;
	return NULL;
}

static void cancel_fd_interrupts_read(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_SILENT, NULL);
	int cancel[2];
	assert_int_equal(pipe(cancel), 0);
	struct ma_net_opts o = opts_default();
	o.timeout_s = 10;
	o.cancel_fd = cancel[0];
	struct ma_endpoint ep = endpoint("127.0.0.1", s.port, MA_SEC_PLAIN);
	struct ma_conn *c = NULL;
	assert_int_equal(ma_conn_open(&ep, &o, &c, NULL), MA_OK);
	mailstream_low *low = ma_conn_low(c);

	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, cancel_later, &cancel[1]), 0);
	char buf[16];
	double t0 = now_s();
	assert_int_equal(mailstream_low_read(low, buf, sizeof buf), -1);
	double took = now_s() - t0;
	pthread_join(th, NULL);
	assert_true(took < 1.0);
	assert_int_equal(ma_conn_last_error(c), MA_ERR_CANCELLED);
	/* Still cancelled: later calls fail at once too. */
	assert_int_equal(mailstream_low_write(low, "a", 1), -1);
	mailstream_low_free(low);
	ma_conn_free(c);
	close(cancel[0]);
	close(cancel[1]);
	server_stop(&s);
}

static void kill_fails_io_at_once(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_SILENT, NULL);
	struct ma_net_opts o = opts_default();
	struct ma_endpoint ep = endpoint("127.0.0.1", s.port, MA_SEC_PLAIN);
	struct ma_conn *c = NULL;
	assert_int_equal(ma_conn_open(&ep, &o, &c, NULL), MA_OK);
	mailstream_low *low = ma_conn_low(c);
	ma_conn_kill(c);
	char buf[16];
	double t0 = now_s();
	assert_int_equal(mailstream_low_write(low, "LOGOUT\r\n", 8), -1);
	assert_int_equal(mailstream_low_read(low, buf, sizeof buf), -1);
	assert_true(now_s() - t0 < 0.5);
	assert_int_equal(ma_conn_last_error(c), MA_ERR_CANCELLED);
	mailstream_low_free(low);
	ma_conn_free(c);
	server_stop(&s);
}

static void closed_port_is_refused(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);  /* nothing listens there now */

	struct ma_net_opts o = opts_default();
	struct ma_endpoint ep = endpoint("127.0.0.1", ntohs(a.sin_port), MA_SEC_PLAIN);
	struct ma_conn *c = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_conn_open(&ep, &o, &c, &err), MA_ERR_REFUSED);
	assert_null(c);
	char port[16];
	snprintf(port, sizeof port, "port %u", ep.port);
	note(&err);
	assert_non_null(strstr(err.detail, "127.0.0.1"));
	assert_non_null(strstr(err.detail, port));
}

static void unknown_host(void **state)
{
	(void)state;
	struct ma_net_opts o = opts_default();
	struct ma_endpoint ep = endpoint("nonexistent.invalid", 143, MA_SEC_PLAIN);
	struct ma_conn *c = NULL;
	struct ma_error err = { 0 };
	ma_status st = ma_conn_open(&ep, &o, &c, &err);
	assert_null(c);
	note(&err);
	/* Without any reachable resolver the lookup cannot say "no such
	 * name", only "lookup failed": both must name the host. */
	assert_true(st == MA_ERR_HOST_UNKNOWN || st == MA_ERR_DNS);
	assert_non_null(strstr(err.detail, "nonexistent.invalid"));
}

/* ---- TLS ---- */

static void tls_verified_with_cert_info(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_TLS, &good);
	struct ma_net_opts o = opts_default();
	struct ma_error err = { 0 };
	/* A shared context, as a run with several sessions uses it. */
	assert_int_equal(ma_tls_new(&o, &o.tls, &err), MA_OK);
	struct ma_endpoint ep = endpoint("localhost", s.port, MA_SEC_TLS);
	struct ma_conn *c = NULL;
	assert_int_equal(ma_conn_open(&ep, &o, &c, &err), MA_OK);
	ma_tls_free(o.tls);  /* the connection keeps its own reference */
	assert_true(ma_conn_is_tls(c));

	const struct ma_cert_info *ci = ma_conn_cert(c);
	assert_true(ci->present);
	assert_true(ci->verified);
	assert_int_equal(ci->verify_result, X509_V_OK);
	assert_string_equal(ci->sans, "DNS:localhost, IP:127.0.0.1");
	assert_non_null(strstr(ci->subject, "CN = server"));
	assert_non_null(strstr(ci->issuer, "mailaudit test CA"));
	assert_int_equal(strncmp(ci->tls_version, "TLSv1.", 6), 0);
	assert_true(ci->cipher[0] != '\0');
	assert_int_equal(strlen(ci->not_after), strlen("2026-01-01 00:00 UTC"));
	assert_non_null(strstr(ci->not_after, " UTC"));
	assert_true(ci->not_after_t > time(NULL) + 300 * 86400);

	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char want[100] = "";
	X509_digest(good.cert, EVP_sha256(), md, &n);
	for (unsigned int i = 0; i < n; i++)
		snprintf(want + strlen(want), sizeof want - strlen(want), i ? ":%02X" : "%02X", md[i]);
	assert_int_equal(strlen(ci->sha256), 95);
	assert_string_equal(ci->sha256, want);

	mailstream *stream = mailstream_new(ma_conn_low(c), 8192);
	expect_line(stream, "HELLO");
	write_line(stream, "secret\r\n");
	expect_line(stream, "ECHO secret");
	char *line = read_line(stream);  /* close_notify then EOF */
	assert_null(line);
	assert_int_equal(ma_conn_last_error(c), MA_ERR_CLOSED);
	mailstream_close(stream);
	ma_conn_free(c);
	server_stop(&s);
	assert_string_equal(s.last_line, "secret");
}

static void tls_ip_literal_checks_ip_san(void **state)
{
	(void)state;
	struct ma_error err = { 0 };
	struct ma_cert_info ci;
	assert_int_equal(tls_attempt(&good, "127.0.0.1", false, &err, &ci), MA_OK);
	assert_true(ci.verified);
}

static void tls_wrong_ca_is_untrusted(void **state)
{
	(void)state;
	struct ma_error err = { 0 };
	assert_int_equal(tls_attempt(&untrusted, "localhost", false, &err, NULL), MA_ERR_CERT_UNTRUSTED);
	note(&err);
	assert_non_null(strstr(err.detail, "mailaudit other CA"));
}

static void tls_name_mismatch_lists_names(void **state)
{
	(void)state;
	struct ma_error err = { 0 };
	assert_int_equal(tls_attempt(&wrongname, "localhost", false, &err, NULL), MA_ERR_CERT_NAME_MISMATCH);
	assert_non_null(strstr(err.detail, "localhost"));
	note(&err);
	assert_non_null(strstr(err.detail, "the certificate covers: DNS:other.example, DNS:mail.other.example"));
}

static void tls_expired(void **state)
{
	(void)state;
	struct ma_error err = { 0 };
	assert_int_equal(tls_attempt(&expired, "localhost", false, &err, NULL), MA_ERR_CERT_EXPIRED);
	note(&err);
	assert_non_null(strstr(err.detail, "expired on"));
}

static void tls_self_signed(void **state)
{
	(void)state;
	struct ma_error err = { 0 };
	assert_int_equal(tls_attempt(&selfsigned, "localhost", false, &err, NULL), MA_ERR_CERT_SELF_SIGNED);
	note(&err);
}

static void tls_insecure_accepts_but_says_unverified(void **state)
{
	(void)state;
	struct ma_error err = { 0 };
	struct ma_cert_info ci;
	assert_int_equal(tls_attempt(&untrusted, "localhost", true, &err, &ci), MA_OK);
	assert_true(ci.present);
	assert_false(ci.verified);
	assert_int_not_equal(ci.verify_result, X509_V_OK);
	assert_non_null(strstr(ci.verify_text, "issuer"));
	assert_non_null(strstr(ci.subject, "untrusted"));
}

/* The doctor's look (ma_conn_open_addr): connects to the address it was
 * given, names the host, finishes the handshake whatever the certificate,
 * and keeps the verdict, which is the very sentence a checked connection
 * fails with. */
static void look_at_address_keeps_the_verdict(void **state)
{
	(void)state;
	const struct keycert *kcs[] = { &good, &untrusted, &wrongname, &expired, &selfsigned };
	for (size_t i = 0; i < sizeof kcs / sizeof kcs[0]; i++) {
		struct ma_error checked = { 0 }, looked = { 0 }, verdict = { 0 };
		ma_status want = tls_attempt(kcs[i], "localhost", false, &checked, NULL);
		struct server s;
		server_start(&s, SRV_TLS, kcs[i]);
		struct ma_net_opts o = opts_default();
		struct ma_endpoint ep = endpoint("localhost", s.port, MA_SEC_TLS);
		struct ma_conn *c = NULL;
		assert_int_equal(ma_conn_open_addr(&ep, "127.0.0.1", &o, &c, &looked), MA_OK);
		assert_true(ma_conn_is_tls(c));
		assert_true(ma_conn_cert(c)->present);
		assert_int_equal(ma_conn_cert_verdict(c, &verdict), want);
		assert_int_equal(verdict.status, want);
		assert_string_equal(verdict.detail, want == MA_OK ? "" : checked.detail);
		note(&verdict);
		ma_conn_free(c);
		server_stop(&s);
	}
	struct ma_error err = { 0 };
	assert_int_equal(ma_conn_cert_verdict(NULL, &err), MA_ERR_CERT_INVALID);
	assert_string_equal(err.detail, "the server sent no certificate");
	struct ma_net_opts o = opts_default();
	struct ma_endpoint ep = endpoint("localhost", 993, MA_SEC_TLS);
	struct ma_conn *c = NULL;
	assert_int_equal(ma_conn_open_addr(&ep, "localhost", &o, &c, &err), MA_ERR_ARGUMENT);
	assert_null(c);
	assert_string_equal(err.detail, "localhost is not an address");
}

static void look_at_closed_port_names_the_address(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);  /* nothing listens there now */

	struct ma_net_opts o = opts_default();
	struct ma_endpoint ep = endpoint("mail.example.test", ntohs(a.sin_port), MA_SEC_STARTTLS);
	struct ma_conn *c = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_conn_open_addr(&ep, "127.0.0.1", &o, &c, &err), MA_ERR_REFUSED);
	assert_null(c);
	note(&err);
	char want[64];
	snprintf(want, sizeof want, "127.0.0.1 port %u: ", ep.port);
	assert_int_equal(strncmp(err.detail, want, strlen(want)), 0);
}

static void tls_to_closing_server(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_CLOSE, NULL);
	struct ma_net_opts o = opts_default();
	struct ma_endpoint ep = endpoint("127.0.0.1", s.port, MA_SEC_TLS);
	struct ma_conn *c = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_conn_open(&ep, &o, &c, &err), MA_ERR_TLS_HANDSHAKE);
	note(&err);
	assert_non_null(strstr(err.detail, "closed the connection during the TLS handshake"));
	server_stop(&s);
}

static void tls_to_plain_port(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_PLAIN_GREET, NULL);
	struct ma_net_opts o = opts_default();
	struct ma_endpoint ep = endpoint("127.0.0.1", s.port, MA_SEC_TLS);
	struct ma_conn *c = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_conn_open(&ep, &o, &c, &err), MA_ERR_TLS_HANDSHAKE);
	note(&err);
	assert_non_null(strstr(err.detail, "plain text"));
	server_stop(&s);
}

static void bad_ca_file_is_a_setting_error(void **state)
{
	(void)state;
	struct ma_net_opts o = opts_default();
	o.ca_file = "/nonexistent/ca.pem";
	struct ma_endpoint ep = endpoint("127.0.0.1", 1, MA_SEC_TLS);
	struct ma_conn *c = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_conn_open(&ep, &o, &c, &err), MA_ERR_ARGUMENT);
	note(&err);
	assert_non_null(strstr(err.detail, "/nonexistent/ca.pem"));
}

static void tls_garbage_mid_stream(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_TLS_GARBAGE, &good);
	struct ma_net_opts o = opts_default();
	struct ma_endpoint ep = endpoint("localhost", s.port, MA_SEC_TLS);
	struct ma_conn *c = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_conn_open(&ep, &o, &c, &err), MA_OK);
	mailstream_low *low = ma_conn_low(c);
	char buf[64];
	assert_int_equal(mailstream_low_read(low, buf, sizeof buf), -1);
	assert_int_equal(ma_conn_last_error(c), MA_ERR_TLS_HANDSHAKE);
	assert_true(ma_conn_last_detail(c)[0] != '\0');
	print_message("# %s\n", ma_conn_last_detail(c));
	mailstream_low_free(low);
	ma_conn_free(c);
	server_stop(&s);
}

/* Records OpenSSL read ahead are in its buffer, not in the socket: a read
 * that waited for the socket first would sit until the timeout. The
 * server sends them all at once and then nothing, not even EOF. */
static void tls_buffered_records_are_read_at_once(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_TLS_BURST, &good);
	struct ma_net_opts o = opts_default();
	o.timeout_s = 1;
	struct ma_endpoint ep = endpoint("localhost", s.port, MA_SEC_TLS);
	struct ma_conn *c = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_conn_open(&ep, &o, &c, &err), MA_OK);
	mailstream_low *low = ma_conn_low(c);
	mailstream *stream = mailstream_new(low, 8192);
	double t0 = now_s();
	char want[32];
	int i = 0;
	for (; i < BURST_LINES / 2; i++) {
		snprintf(want, sizeof want, "line %02d", i);
		expect_line(stream, want);
	}
	/* The rest a few bytes at a time, so that decrypted bytes of a
	 * record stay pending in OpenSSL between reads. */
	assert_int_equal(stream->read_buffer_len, 0);
	char got[BURST_LINES * 16];
	size_t used = 0, total = (BURST_LINES - i) * strlen("line 00\r\n");
	while (used < total) {
		ssize_t n = mailstream_low_read(low, got + used, 3);
		assert_true(n > 0);
		used += (size_t)n;
	}
	assert_true(now_s() - t0 < 0.5);
	assert_int_equal(ma_conn_last_error(c), MA_OK);
	for (size_t k = 0; i < BURST_LINES; i++, k += strlen("line 00\r\n")) {
		snprintf(want, sizeof want, "line %02d\r\n", i);
		assert_memory_equal(got + k, want, strlen(want));
	}
	mailstream_close(stream);
	ma_conn_free(c);
	server_stop(&s);
}

static void tls_handshake_timeout_and_cancel(void **state)
{
	(void)state;
	struct server s;
	struct ma_net_opts o = opts_default();
	struct ma_endpoint ep;
	struct ma_conn *c = NULL;
	struct ma_error err = { 0 };

	/* A server that never answers the ClientHello. */
	server_start(&s, SRV_SILENT, NULL);
	o.timeout_s = 1;
	ep = endpoint("127.0.0.1", s.port, MA_SEC_TLS);
	double t0 = now_s();
	assert_int_equal(ma_conn_open(&ep, &o, &c, &err), MA_ERR_READ_TIMEOUT);
	assert_true(now_s() - t0 < 2.5);
	note(&err);
	assert_non_null(strstr(err.detail, "TLS handshake"));
	server_stop(&s);

	/* The same, cancelled from another thread after 0.2 s. */
	server_start(&s, SRV_SILENT, NULL);
	int cancel[2];
	assert_int_equal(pipe(cancel), 0);
	o.timeout_s = 10;
	o.cancel_fd = cancel[0];
	ep = endpoint("127.0.0.1", s.port, MA_SEC_TLS);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, cancel_later, &cancel[1]), 0);
	t0 = now_s();
	assert_int_equal(ma_conn_open(&ep, &o, &c, &err), MA_ERR_CANCELLED);
	assert_true(now_s() - t0 < 1.0);
	pthread_join(th, NULL);
	assert_null(c);
	close(cancel[0]);
	close(cancel[1]);
	server_stop(&s);
}

static void starttls_upgrade(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_STARTTLS, &good);
	struct ma_net_opts o = opts_default();
	struct ma_endpoint ep = endpoint("localhost", s.port, MA_SEC_STARTTLS);
	struct ma_conn *c = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_conn_open(&ep, &o, &c, &err), MA_OK);
	assert_false(ma_conn_is_tls(c));

	mailstream *stream = mailstream_new(ma_conn_low(c), 8192);
	expect_line(stream, "HELLO");
	write_line(stream, "STARTTLS\r\n");
	expect_line(stream, "OK");
	assert_int_equal(stream->read_buffer_len, 0);

	mailstream_low *old = mailstream_get_low(stream);
	assert_int_equal(ma_conn_start_tls(c, &err), MA_OK);
	mailstream_low_free(old);
	mailstream_set_low(stream, ma_conn_low(c));
	assert_true(ma_conn_is_tls(c));
	assert_true(ma_conn_cert(c)->verified);
	assert_int_equal(ma_conn_start_tls(c, &err), MA_ERR_ARGUMENT);

	expect_line(stream, "HELLO");
	write_line(stream, "inside\r\n");
	expect_line(stream, "ECHO inside");
	mailstream_close(stream);
	ma_conn_free(c);
	server_stop(&s);
	assert_string_equal(s.last_line, "inside");
}

/* ---- the reply guard ----
 *
 * A connection over a socketpair (ma_conn_from_fd): the test writes the
 * server's bytes on the other end in pieces of its choosing and reads each
 * piece whole through the driver before sending the next, so every piece
 * reaches the guard as one read. */

struct pair {
	int peer;
	struct ma_conn *c;
	mailstream_low *low;
};

static void pair_open(struct pair *p, uint64_t max_literal, uint64_t max_reply, int timeout_s)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	struct ma_net_opts o = opts_default();
	o.timeout_s = timeout_s;
	p->peer = sv[1];
	p->c = NULL;
	assert_int_equal(ma_conn_from_fd(sv[0], &o, &p->c, NULL), MA_OK);
	ma_conn_set_limits(p->c, max_literal, max_reply);
	p->low = ma_conn_low(p->c);
	assert_non_null(p->low);
}

static void pair_close(struct pair *p)
{
	mailstream_low_free(p->low);
	ma_conn_free(p->c);
	close(p->peer);
}

/* Sends len bytes as one piece and reads them back through the guard:
 * false as soon as a read fails. */
static bool feed(struct pair *p, const char *data, size_t len)
{
	if (len == 0)
		return true;
	assert_int_equal(send(p->peer, data, len, MSG_NOSIGNAL), (ssize_t)len);
	size_t got = 0;
	while (got < len) {
		char buf[512];
		ssize_t n = mailstream_low_read(p->low, buf, sizeof buf);
		if (n < 0)
			return false;
		assert_true(n > 0);
		got += (size_t)n;
	}
	return true;
}

static bool feed_text(struct pair *p, const char *text)
{
	return feed(p, text, strlen(text));
}

static void expect_refused(struct pair *p, const char *detail)
{
	assert_int_equal(ma_conn_last_error(p->c), MA_ERR_TOO_LARGE);
	assert_string_equal(ma_conn_last_detail(p->c), detail);
}

/* text is refused exactly at its last byte, however it is cut in two. */
static void refused_at_end_at_every_split(const char *text, const char *detail)
{
	size_t len = strlen(text);
	for (size_t k = 0; k <= len; k++) {
		struct pair p;
		pair_open(&p, 1000, 0, 3);
		bool first = feed(&p, text, k);
		if (k == len) {
			assert_false(first);
		} else {
			assert_true(first);
			assert_false(feed(&p, text + k, len - k));
		}
		expect_refused(&p, detail);
		pair_close(&p);
	}
	/* And one byte per read. */
	struct pair p;
	pair_open(&p, 1000, 0, 3);
	for (size_t i = 0; i + 1 < len; i++)
		assert_true(feed(&p, text + i, 1));
	assert_false(feed(&p, text + len - 1, 1));
	expect_refused(&p, detail);
	pair_close(&p);
}

static void guard_literal_split_anywhere(void **state)
{
	(void)state;
	refused_at_end_at_every_split("* 1 FETCH (BODY[] {2000}\r\n",
				      "the server announced a literal of 2000 bytes (limit 1000)");
	/* The number as sent, however far past the limit (once it stopped
	 * growing there: 104857600 was named 10485760)... */
	refused_at_end_at_every_split("* 1 FETCH (BODY[] {104857600}\r\n",
				      "the server announced a literal of 104857600 bytes (limit 1000)");
	refused_at_end_at_every_split("{18446744073709551614}\r\n",
				      "the server announced a literal of 18446744073709551614 bytes (limit 1000)");
	/* ... up to what 64 bits hold. */
	refused_at_end_at_every_split("{18446744073709551615}\r\n",
				      "the server announced a literal of over 2^64 bytes (limit 1000)");
	refused_at_end_at_every_split("{99999999999999999999999}\r\n",
				      "the server announced a literal of over 2^64 bytes (limit 1000)");
	/* An allowed literal is skipped exactly: the "{99999}" inside it is
	 * data, its last byte '{' must not join the "2000}" after it, and the
	 * "{3000}" after that is seen again. */
	refused_at_end_at_every_split("* 1 FETCH (BODY[] {10}\r\n{99999}\r\n{2000}\r\n{3000}\r\n",
				      "the server announced a literal of 3000 bytes (limit 1000)");
	/* ... and not one byte more. */
	refused_at_end_at_every_split("* 1 FETCH (BODY[] {10}\r\n{99999}\r\n{{2000}\r\n",
				      "the server announced a literal of 2000 bytes (limit 1000)");
}

static void guard_crlf_split(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, 1000, 0, 3);
	assert_true(feed_text(&p, "* 1 FETCH (BODY[] {2000}\r"));
	assert_false(feed_text(&p, "\n"));
	expect_refused(&p, "the server announced a literal of 2000 bytes (limit 1000)");
	pair_close(&p);

	/* CR and LF apart are no line end. */
	pair_open(&p, 1000, 0, 3);
	assert_true(feed_text(&p, "* OK {2000}\r"));
	assert_true(feed_text(&p, "x\n{2000}\r\r\n{2000}\n\r\n"));
	assert_int_equal(ma_conn_last_error(p.c), MA_OK);
	pair_close(&p);
}

static void guard_braces_in_text(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, 1000, 0, 3);
	/* Not at a line's end, not digits only, or inside a literal. */
	assert_true(feed_text(&p, "* OK [ALERT] {braces} {} {12 } {1x} {-5} {2000}x\r\n"));
	assert_true(feed_text(&p, "* 1 FETCH (BODY[] \"a{2000}b\" UID 1)\r\n"));
	assert_true(feed_text(&p, "* 2 FETCH (BODY[] {12}\r\n{2000}\r\n{{{)\r\n"));
	assert_true(feed_text(&p, "* 3 FETCH (BODY[] {1000}\r\n"));
	assert_int_equal(ma_conn_last_error(p.c), MA_OK);
	pair_close(&p);

	/* A brace that breaks one announcement may start the next. */
	const char *const starts[] = { "{{2000}\r\n", "a{b{2000}\r\n", "{20{2000}\r\n", "}{2000}\r\n",
				       "{1}{2000}\r\n" };
	for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
		pair_open(&p, 1000, 0, 3);
		assert_false(feed_text(&p, starts[i]));
		expect_refused(&p, "the server announced a literal of 2000 bytes (limit 1000)");
		pair_close(&p);
	}
}

static void guard_reply_budget(void **state)
{
	(void)state;
	char chunk[60];
	memset(chunk, 'x', sizeof chunk);
	struct pair p;

	/* POP3's setting: no literal watch, only the reply size. */
	pair_open(&p, 0, 100, 3);
	assert_true(feed(&p, chunk, sizeof chunk));
	assert_false(feed(&p, chunk, sizeof chunk));
	assert_int_equal(ma_conn_last_error(p.c), MA_ERR_TOO_LARGE);
	assert_non_null(strstr(ma_conn_last_detail(p.c), "one reply exceeded"));
	pair_close(&p);

	/* Our write starts a new reply, and so does ma_conn_reply_done. */
	pair_open(&p, 1000, 100, 3);
	assert_true(feed(&p, chunk, sizeof chunk));
	assert_int_equal(mailstream_low_write(p.low, "a\r\n", 3), 3);
	assert_true(feed(&p, chunk, sizeof chunk));
	ma_conn_reply_done(p.c);
	assert_true(feed(&p, chunk, sizeof chunk));
	ma_conn_reply_done(p.c);
	assert_true(feed(&p, chunk, sizeof chunk));
	assert_false(feed(&p, chunk, sizeof chunk));
	assert_int_equal(ma_conn_last_error(p.c), MA_ERR_TOO_LARGE);
	pair_close(&p);

	/* A new reply does not forget a literal in progress. */
	pair_open(&p, 1000, 100, 3);
	assert_true(feed_text(&p, "* 1 FETCH (BODY[] {9}\r\n"));
	ma_conn_reply_done(p.c);
	assert_true(feed_text(&p, "{2000}\r\n)\r\n"));
	assert_int_equal(ma_conn_last_error(p.c), MA_OK);
	ma_conn_reply_done(NULL);
	pair_close(&p);
}

/* ---- [ALERT]s, taken by the transport ----
 *
 * Over a socket pair as the guard's tests: each piece the test sends
 * reaches the watch as one read. */

/* The alerts c holds, joined with "|". */
static const char *alerts_joined(const struct ma_conn *c)
{
	static char buf[MA_CONN_MAX_ALERTS * (MA_CONN_ALERT_MAX_LEN + 1) + 1];
	size_t n = 0, used = 0;
	const char *const *a = ma_conn_alerts(c, &n);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? "|" : "", a[i]);
	return buf;
}

/* A reply as the hostile imap-alert scenario sends it, with fetched
 * literals that quote status responses: at the literal's start, inside,
 * right after one (the line goes on there) and after an empty one. */
static size_t alert_script(char *buf, size_t len)
{
	const char *lit = "* OK [ALERT] forged at its start\r\nSubject: x\r\n"
			  "* OK [ALERT] forged in a header\r\n\r\n";
	int n = snprintf(buf, len,
			 "* OK [ALERT] Greeting alert\r\n"
			 "* CAPABILITY IMAP4rev1\r\n"
			 "* 1 FETCH (UID 1 BODY[HEADER] {%zu}\r\n%s FLAGS ())\r\n"
			 "* 2 FETCH (UID 2 BODY[HEADER] {3}\r\nabc* OK [ALERT] forged after a literal\r\n"
			 "* 3 FETCH (UID 3 BODY[HEADER] {0}\r\n* OK [ALERT] forged after an empty one\r\n"
			 "* OK [ALERT] Maintenance tonight at 22:00\r\n"
			 "* ok [alert] evil \x1b[31m red\r\n"
			 "5 NO [ALERT] Tagged alert\r\n",
			 strlen(lit), lit);
	assert_true(n > 0 && (size_t)n < len);
	return (size_t)n;
}

#define ALERTS_WANTED "Greeting alert|Maintenance tonight at 22:00|evil \x1b[31m red|Tagged alert"

static void alerts_several_in_one_reply(void **state)
{
	(void)state;
	char script[1024];
	size_t len = alert_script(script, sizeof script);
	struct pair p;
	pair_open(&p, 1000, 0, 3);
	assert_true(feed(&p, script, len));
	assert_string_equal(alerts_joined(p.c), ALERTS_WANTED);
	pair_close(&p);
}

static void alerts_split_anywhere(void **state)
{
	(void)state;
	char script[1024];
	size_t len = alert_script(script, sizeof script);
	for (size_t k = 0; k <= len; k++) {
		struct pair p;
		pair_open(&p, 1000, 0, 3);
		assert_true(feed(&p, script, k));
		assert_true(feed(&p, script + k, len - k));
		assert_string_equal(alerts_joined(p.c), ALERTS_WANTED);
		pair_close(&p);
	}
	/* And one byte per read. */
	struct pair p;
	pair_open(&p, 1000, 0, 3);
	for (size_t i = 0; i < len; i++)
		assert_true(feed(&p, script + i, 1));
	assert_string_equal(alerts_joined(p.c), ALERTS_WANTED);
	pair_close(&p);
}

static void alerts_only_in_status_responses(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, 1000, 0, 3);
	/* Every keyword a status response has, in any case, tagged or not,
	 * spaces doubled, a bare LF as line end. */
	assert_true(feed_text(&p, "* NO [ALERT] no\r\n* BAD [ALERT] bad\r\n* BYE [ALERT] bye\r\n"
				  "* PREAUTH [ALERT] preauth\r\nA0001 ok [alert] tagged\r\n"
				  "* Ok  [Alert]   spaced  \r\n* OK [ALERT] bare LF\n"));
	/* None of these is one: a continuation request, other responses and
	 * codes, a line not starting at its start, a tab, the code alone, a
	 * start longer than any status response's. */
	assert_true(feed_text(&p, "+ [ALERT] continuation\r\n* CAPABILITY [ALERT] x\r\n"
				  "* OKAY [ALERT] x\r\n* OK [ALERTS] x\r\n* OK [ALERT} x\r\n"
				  "* OK [PARSE] [ALERT] x\r\n * OK [ALERT] x\r\n*\tOK [ALERT] x\r\n"
				  "* 1 OK [ALERT] x\r\n* OK ALERT x\r\n* OK [ALERT]\r\n* OK [ALERT]   \r\n"
				  "* OK [ALERT] with a literal {5}\r\nhello\r\n"));
	assert_true(feed_text(&p, "t0123456789012345678901234567890123456789012345678901234 OK "
				  "[ALERT] x\r\n"));
	assert_string_equal(alerts_joined(p.c), "no|bad|bye|preauth|tagged|spaced|bare LF");
	pair_close(&p);
}

/* A NUL outside a literal is no IMAP (and libetpan 1.9.4 dereferences
 * NULL on one inside a response code): the guard refuses it; inside a
 * literal it is message data. */
static void nul_refused_outside_literals(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, 1000, 0, 3);
	assert_true(feed(&p, "* 1 FETCH (BODY[] {4}\r\na\0b\n)\r\n", 30));
	assert_false(feed(&p, "* OK [PERMANENTFLAGS (\001\0 x\r\n", 28));
	assert_int_equal(ma_conn_last_error(p.c), MA_ERR_PROTOCOL);
	pair_close(&p);
	/* Nor a control byte in a PERMANENTFLAGS list (0x03, fuzz_session). */
	pair_open(&p, 1000, 0, 3);
	assert_true(feed_text(&p, "* OK [ALERT] \033[31m red\r\n"));
	assert_false(feed_text(&p, "* OK [PERMANENTFLAGS (\003+OK x\r\n"));
	assert_int_equal(ma_conn_last_error(p.c), MA_ERR_PROTOCOL);
	pair_close(&p);
}

/* libetpan 1.9.4 crashes on a PERMANENTFLAGS list whose first flag does
 * not parse (unless ")" follows): every such byte fuzz_session found is
 * refused, also when the list comes in two reads; lists as servers send
 * them, and the same bytes inside a literal, pass. */
static void permanentflags_checked(void **state)
{
	(void)state;
	static const char *const bad[] = { "\r\n", "(", "{", "%", "*", "\\\\", "\\)", "\"x\"",
					   "\\Seen \003", "\\Seen  %" };
	struct pair p;
	pair_open(&p, 1000, 0, 3);
	assert_true(feed_text(&p, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
				  "\\Draft $Forwarded \\*)] Flags permitted.\r\n"));
	assert_true(feed_text(&p, "* ok [permanentflags ()] none\r\n* OK [PERMANENTFLAGS (\\*)] x\r\n"));
	assert_true(feed_text(&p, "* OK [PERMANENTFLAGS  ( Junk  \\* )] spaced\r\n"));
	assert_true(feed_text(&p, "* 1 FETCH (BODY[] {20}\r\n[PERMANENTFLAGS (%\r\n)\r\n"));
	pair_close(&p);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char line[64];
		snprintf(line, sizeof line, "* OK [PERMANENTFLAGS (%s x\r\n", bad[i]);
		pair_open(&p, 1000, 0, 3);
		assert_false(feed_text(&p, line));
		assert_int_equal(ma_conn_last_error(p.c), MA_ERR_PROTOCOL);
		pair_close(&p);
	}
	pair_open(&p, 1000, 0, 3);
	assert_true(feed_text(&p, "* OK [PERMANENT"));
	assert_false(feed_text(&p, "FLAGS (%x\r\n"));
	pair_close(&p);
	pair_open(&p, 1000, 0, 3);
	assert_true(feed_text(&p, "* OK [PERMANENTFLAGS (\\Seen \\"));
	assert_false(feed_text(&p, ")\r\n"));
	pair_close(&p);
}

static void alerts_capped_and_cut(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, 1000, 0, 3);
	char line[1600];
	/* Each text once; trailing spaces and CR are no part of it. */
	assert_true(feed_text(&p, "* OK [ALERT] same\r\n* OK [ALERT] same  \r\n3 OK [ALERT] same\r\n"));
	assert_true(feed_text(&p, "* OK [ALERT] before\r\n"));
	/* Exactly 1000 bytes stay whole; past them the text is cut there,
	 * or before a character cut in two (two- and four-byte ones). */
	snprintf(line, sizeof line, "* OK [ALERT] %s\r\n", "");
	memset(line + 13, 'a', 1000);
	memcpy(line + 1013, "\r\n", 3);
	assert_true(feed_text(&p, line));
	memset(line + 13, 'b', 1000);
	memcpy(line + 1013, "cdef\r\n", 7);
	assert_true(feed_text(&p, line));
	char text[1500] = "x";
	for (int i = 0; i < 700; i++)
		strcat(text, "\xc3\xa9");
	snprintf(line, sizeof line, "* OK [ALERT] %s\r\n", text);
	assert_true(feed_text(&p, line));
	snprintf(text, sizeof text, "y");
	for (int i = 0; i < 300; i++)
		strcat(text, "\xf0\x9f\x98\x80");
	snprintf(line, sizeof line, "* OK [ALERT] %s\r\n", text);
	assert_true(feed_text(&p, line));
	/* Up to the cap of 16 texts. */
	for (int i = 1; i <= 20; i++) {
		snprintf(line, sizeof line, "* OK [ALERT] number %d\r\n", i);
		assert_true(feed_text(&p, line));
	}
	size_t n = 0;
	const char *const *a = ma_conn_alerts(p.c, &n);
	assert_int_equal(n, MA_CONN_MAX_ALERTS);
	assert_string_equal(a[0], "same");
	assert_string_equal(a[1], "before");
	assert_int_equal(strlen(a[2]), 1000);
	assert_int_equal(strspn(a[2], "a"), 1000);
	assert_int_equal(strlen(a[3]), 1000);
	assert_int_equal(strspn(a[3], "b"), 1000);
	assert_int_equal(strlen(a[4]), 999); /* "x" and 499 whole characters */
	assert_int_equal(memcmp(a[4], "x\xc3\xa9", 3), 0);
	assert_int_equal(strlen(a[5]), 997); /* "y" and 249 whole characters */
	assert_int_equal(memcmp(a[5] + 993, "\xf0\x9f\x98\x80", 4), 0);
	for (size_t i = 6; i < n; i++) {
		char want[32];
		snprintf(want, sizeof want, "number %zu", i - 5);
		assert_string_equal(a[i], want);
	}
	pair_close(&p);
}

static void alerts_dropped_and_not_for_pop3(void **state)
{
	(void)state;
	struct pair p;
	/* After a drop (STARTTLS), what came before is gone, also the rest
	 * of a line begun before; a text dropped may be kept again. */
	pair_open(&p, 1000, 0, 3);
	assert_true(feed_text(&p, "* OK [ALERT] plaintext\r\n* OK [ALERT] half"));
	assert_string_equal(alerts_joined(p.c), "plaintext");
	ma_conn_drop_alerts(p.c);
	assert_string_equal(alerts_joined(p.c), "");
	assert_true(feed_text(&p, " a line\r\n* OK [ALERT] protected\r\n* OK [ALERT] plaintext\r\n"));
	assert_string_equal(alerts_joined(p.c), "protected|plaintext");
	pair_close(&p);

	/* A new reply budget (LIST has its own) keeps the literal watch: a
	 * literal still arriving stays unread. */
	pair_open(&p, 1000, 0, 3);
	const char *lit = "x\r\n* OK [ALERT] forged in a literal\r\nyz";
	char head[64];
	snprintf(head, sizeof head, "* 1 FETCH (BODY[] {%zu}\r\n", strlen(lit));
	assert_true(feed_text(&p, head));
	ma_conn_set_limits(p.c, 1000, 8 << 20);
	assert_true(feed_text(&p, lit));
	assert_true(feed_text(&p, ")\r\n"));
	assert_string_equal(alerts_joined(p.c), "");
	pair_close(&p);

	/* POP3 (no literal watch) keeps none. */
	pair_open(&p, 0, 1000, 3);
	assert_true(feed_text(&p, "+OK [ALERT] pop3\r\n* OK [ALERT] pop3\r\n"));
	assert_string_equal(alerts_joined(p.c), "");
	pair_close(&p);
	pair_open(&p, 0, 0, 3);
	assert_true(feed_text(&p, "* OK [ALERT] pop3\r\n"));
	assert_string_equal(alerts_joined(p.c), "");
	pair_close(&p);

	size_t n = 1;
	assert_null(ma_conn_alerts(NULL, &n));
	assert_int_equal(n, 0);
	ma_conn_drop_alerts(NULL);
}

/* The session drops the alerts it received before STARTTLS. */
static void imap_starttls_drops_plaintext_alerts(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, SRV_IMAP_STARTTLS, &good);
	struct ma_net_opts o = opts_default();
	struct ma_endpoint ep = endpoint("localhost", s.port, MA_SEC_STARTTLS);
	struct ma_imap *is = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_imap_open(&ep, &o, NULL, &is, &err), MA_OK);
	size_t n = 0;
	const char *const *a = ma_imap_alerts(is, &n);
	assert_int_equal(n, 2);
	assert_string_equal(a[0], "Over TLS");
	assert_string_equal(a[1], "Said on both sides");
	ma_imap_close(is);
	server_stop(&s);
}

/* A server that sends one byte every 300 ms for 5.5 s, and a reader that
 * waits for each byte (for 4.5 s at most), calling ma_conn_reply_done
 * after done_after_ms if that is not 0. */
struct drip {
	struct pair p;
	pthread_t writer;
	int done_after_ms;
	double lasted;            /* seconds until a read failed */
	bool failed;
};

static void *drip_writer(void *arg)
{
	struct drip *d = arg;
	double t0 = now_s();
	while (now_s() - t0 < 5.5) {
		struct timespec ts = { .tv_nsec = 300 * 1000000L };
		nanosleep(&ts, NULL);
		if (send(d->p.peer, "x", 1, MSG_NOSIGNAL) != 1)
			break;
	}
	return NULL;
}

static void *drip_reader(void *arg)
{
	struct drip *d = arg;
	double t0 = now_s();
	bool done = false;
	while (now_s() - t0 < 4.5) {
		if (d->done_after_ms && !done && now_s() - t0 > d->done_after_ms / 1000.0) {
			ma_conn_reply_done(d->p.c);
			done = true;
		}
		char buf[8];
		if (mailstream_low_read(d->p.low, buf, sizeof buf) < 0) {
			d->failed = true;
			break;
		}
	}
	d->lasted = now_s() - t0;
	return NULL;
}

static void reply_done_restarts_the_clock(void **state)
{
	(void)state;
	/* Side by side, to keep the test short: with --timeout 1 a reply may
	 * take 3 s. One reader calls ma_conn_reply_done after 2 s and reads
	 * on to 4.5 s; the other does not and is stopped after 3 s. */
	struct drip with = { .done_after_ms = 2000 }, without = { 0 };
	pair_open(&with.p, 0, 0, 1);
	pair_open(&without.p, 0, 0, 1);
	assert_int_equal(pthread_create(&with.writer, NULL, drip_writer, &with), 0);
	assert_int_equal(pthread_create(&without.writer, NULL, drip_writer, &without), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, drip_reader, &without), 0);
	drip_reader(&with);
	pthread_join(th, NULL);
	pthread_join(with.writer, NULL);
	pthread_join(without.writer, NULL);
	assert_false(with.failed);
	assert_int_equal(ma_conn_last_error(with.p.c), MA_OK);
	assert_true(without.failed);
	assert_true(without.lasted > 2.5 && without.lasted < 3.8);
	assert_int_equal(ma_conn_last_error(without.p.c), MA_ERR_READ_TIMEOUT);
	assert_non_null(strstr(ma_conn_last_detail(without.p.c), "a reply took over 3 s"));
	pair_close(&with.p);
	pair_close(&without.p);
}

/* ---- reading lines out of the stream's buffer (session_util) ---- */

/* One line through r, LF removed, into buf (NUL-terminated); false when
 * the stream failed. */
static bool reader_line(struct ma_stream_reader *r, char *buf, size_t len)
{
	size_t used = 0;
	for (;;) {
		const char *p;
		bool eol;
		ssize_t n = ma_stream_reader_line(r, &p, &eol);
		if (n < 0)
			return false;
		size_t text = (size_t)n - (eol ? 1 : 0);
		assert_true(used + text < len);
		memcpy(buf + used, p, text);
		used += text;
		ma_stream_reader_take(r, (size_t)n);
		if (eol)
			break;
	}
	buf[used] = '\0';
	return true;
}

static void stream_reader_lines_and_sync(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, 0, 0, 3);
	/* A 16-byte buffer: lines end in the middle of one fill and run
	 * over several. */
	mailstream *stream = mailstream_new(p.low, 16);
	assert_non_null(stream);
	const char *text = "+OK\r\n1 a-unique-id-longer-than-the-buffer\r\n\r\n2 b\r\n.\r\nNEXT\r\nrest";
	assert_int_equal(send(p.peer, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
	struct ma_stream_reader r = { .st = stream };
	const char *const want[] = { "+OK\r", "1 a-unique-id-longer-than-the-buffer\r", "\r", "2 b\r", ".\r" };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char line[128];
		assert_true(reader_line(&r, line, sizeof line));
		assert_string_equal(line, want[i]);
	}
	/* Given back, libetpan reads on exactly there. */
	ma_stream_reader_sync(&r);
	ma_stream_reader_sync(&r);
	expect_line(stream, "NEXT");
	char buf[8];
	assert_int_equal(mailstream_read(stream, buf, 4), 4);
	assert_memory_equal(buf, "rest", 4);

	/* The peer hangs up: -1, and the transport knows why. */
	r = (struct ma_stream_reader){ .st = stream };
	close(p.peer);
	p.peer = -1;
	const char *q;
	bool eol;
	assert_int_equal(ma_stream_reader_line(&r, &q, &eol), -1);
	assert_int_equal(ma_conn_last_error(p.c), MA_ERR_CLOSED);
	mailstream_close(stream);  /* frees p.low */
	ma_conn_free(p.c);
}

/* ---- a login cut off never traces the password ----
 *
 * A cancel (Esc, or the second IMAP session abandoned) can stop the login
 * command before it leaves libetpan's buffer; libetpan traces what it
 * flushes later, even while the session is freed. The session must stay
 * redacted to its end. */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void cut_off_login(bool imap, const char *password, const char *needle)
{
	char path[] = "/tmp/ma-trace-XXXXXX";
	int tfd = mkstemp(path);
	assert_true(tfd >= 0);
	close(tfd);
	struct ma_trace *t = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_trace_open(path, &t, &err), MA_OK);

	int sv[2], cp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe(cp), 0);
	/* The server's side, written ahead: greeting and capabilities. */
	const char *server = imap ? "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\r\n"
				    "* CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN\r\n1 OK done\r\n"
				  : "+OK hi\r\n+OK\r\nUSER\r\nUIDL\r\n.\r\n";
	assert_int_equal(send(sv[1], server, strlen(server), MSG_NOSIGNAL), (ssize_t)strlen(server));
	struct ma_net_opts o = opts_default();
	o.timeout_s = 3;
	o.insecure = true;
	o.cancel_fd = cp[0];
	struct ma_conn *c = NULL;
	assert_int_equal(ma_conn_from_fd(sv[0], &o, &c, &err), MA_OK);
	struct ma_imap *is = NULL;
	struct ma_pop3 *ps = NULL;
	if (imap)
		assert_int_equal(ma_imap_open_conn(c, "test:143", MA_SEC_PLAIN, true, t, &is, &err), MA_OK);
	else
		assert_int_equal(ma_pop3_open_conn(c, "test:110", MA_SEC_PLAIN, true, t, &ps, &err), MA_OK);
	assert_int_equal(write(cp[1], "x", 1), 1);
	ma_status st = imap ? ma_imap_login(is, "user@example.test", password, &err)
			    : ma_pop3_login(ps, "user@example.test", password, &err);
	assert_int_not_equal(st, MA_OK);
	ma_imap_close(is);
	ma_pop3_close(ps);
	ma_trace_close(t);
	assert_null(strstr(slurp(path), needle));
	unlink(path);
	close(sv[1]);
	close(cp[0]);
	close(cp[1]);
}

static void login_cut_off_is_never_traced(void **state)
{
	(void)state;
	cut_off_login(true, "s3cret-pass", "s3cret-pass");
	/* 8-bit: AUTHENTICATE PLAIN, base64 of "\0user@example.test\0p\xc3\xa4ss". */
	cut_off_login(true, "p\xc3\xa4ss", "AHVzZXJAZXhhbXBsZS50ZXN0AHDDpHNz");
	cut_off_login(false, "s3cret-pass", "s3cret-pass");
}

/* ---- what a scripted server says: special-use folders, [ALERT]s ----
 *
 * The server's side is written ahead into a socket pair: libetpan numbers
 * its tags 1, 2, ... and our FETCH reader F1, F2, ..., so the replies can
 * be known in advance. */

/* A session over a socket pair whose server side has already sent script. */
static struct ma_conn *scripted_conn(const char *script, int *server_fd)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	size_t len = strlen(script);
	assert_int_equal(send(sv[1], script, len, MSG_NOSIGNAL), (ssize_t)len);
	struct ma_net_opts o = opts_default();
	o.insecure = true;
	struct ma_conn *c = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_conn_from_fd(sv[0], &o, &c, &err), MA_OK);
	*server_fd = sv[1];
	return c;
}

static const struct ma_folder *folder_named(const struct ma_folder *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	fail_msg("no folder %s", name);
	return NULL;
}

static int count_fetched(struct ma_message *m, void *ctx)
{
	(void)m;
	(*(int *)ctx)++;
	return 0;
}

static void imap_special_use_and_alerts(void **state)
{
	(void)state;
	/* An alert of 2 + 2 * 700 bytes: cut to at most 1000 bytes, never
	 * inside a character. */
	char longer[1500] = "x";
	for (int i = 0; i < 700; i++)
		strcat(longer, "\xc3\xa9");
	char fetch_alerts[2048] = "";
	for (int i = 1; i <= 20; i++)
		snprintf(fetch_alerts + strlen(fetch_alerts), sizeof fetch_alerts - strlen(fetch_alerts),
			 "* OK [ALERT] fetch %d\r\n", i);
	const char *quoting = "Subject: quoting a server\r\n* OK [ALERT] forged in a header\r\n\r\n";
	char script[8192];
	snprintf(script, sizeof script,
		 "* OK [ALERT] Greeting alert\r\n"
		 "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n1 OK done\r\n"
		 /* LOGIN */
		 "* OK [ALERT] Your mailbox is 95%% full\r\n2 OK logged in\r\n"
		 "* CAPABILITY IMAP4rev1 SPECIAL-USE\r\n3 OK done\r\n"
		 /* LIST: the attributes in any case, several on one folder */
		 "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
		 "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n"
		 "* LIST (\\HasNoChildren \\Trash) \"/\" Deleted\r\n"
		 "* LIST (\\HasNoChildren \\junk) \"/\" Spam\r\n"
		 "* LIST (\\DRAFTS \\Archive) \"/\" Both\r\n"
		 "* LIST (\\All \\Flagged) \"/\" \"All Mail\"\r\n"
		 "* LIST (\\Noselect \\HasChildren) \"/\" Parent\r\n"
		 "* LIST (\\HasNoChildren \\Important) \"/\" Plain\r\n"
		 "* OK [ALERT] Your mailbox is 95%% full\r\n"
		 "4 OK done\r\n"
		 /* STATUS INBOX: the tagged reply carries it */
		 "* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 7 UNSEEN 0)\r\n"
		 "5 OK [ALERT] Second alert\r\n"
		 /* EXAMINE INBOX: two alerts in one reply (libetpan keeps
		  * only the last) */
		 "* 1 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT 2] x\r\n"
		 "* OK [ALERT] Maintenance tonight at 22:00\r\n"
		 "* OK [ALERT] %s\r\n"
		 "6 OK [READ-ONLY] done\r\n"
		 /* UID FETCH 1 through our own reader: a header quoting an
		  * alert is no alert; then alerts up to the cap */
		 "* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 10 INTERNALDATE \"01-Jan-2024 00:00:00 +0000\" "
		 "BODY[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)] {%zu}\r\n%s)\r\n"
		 "%s"
		 "F1 OK done\r\n"
		 /* LOGOUT */
		 "* BYE\r\n7 OK bye\r\n",
		 longer, strlen(quoting), quoting, fetch_alerts);
	int server;
	struct ma_conn *c = scripted_conn(script, &server);
	struct ma_imap *s = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_imap_open_conn(c, "test:143", MA_SEC_PLAIN, true, NULL, &s, &err), MA_OK);
	assert_int_equal(ma_imap_login(s, "user@example.test", "pw", &err), MA_OK);
	struct ma_folder *f = NULL;
	size_t n = 0;
	assert_int_equal(ma_imap_list(s, &f, &n, &err), MA_OK);
	assert_int_equal(n, 8);
	assert_int_equal(folder_named(f, n, "INBOX")->special, 0);
	assert_int_equal(folder_named(f, n, "Sent Items")->special, MA_SPECIAL_SENT);
	assert_int_equal(folder_named(f, n, "Deleted")->special, MA_SPECIAL_TRASH);
	assert_int_equal(folder_named(f, n, "Spam")->special, MA_SPECIAL_JUNK);
	assert_int_equal(folder_named(f, n, "Both")->special, MA_SPECIAL_DRAFTS | MA_SPECIAL_ARCHIVE);
	assert_int_equal(folder_named(f, n, "All Mail")->special, MA_SPECIAL_ALL | MA_SPECIAL_FLAGGED);
	assert_int_equal(folder_named(f, n, "Parent")->special, 0);
	assert_true(folder_named(f, n, "Parent")->noselect);
	assert_int_equal(folder_named(f, n, "Plain")->special, 0);
	struct ma_folder inbox = { .name = "INBOX", .raw_name = "INBOX" };
	assert_int_equal(ma_imap_status(s, &inbox, &err), MA_OK);
	assert_int_equal(ma_imap_examine(s, &inbox, &err), MA_OK);
	uint32_t uid = 1;
	int fetched = 0;
	assert_int_equal(ma_imap_fetch(s, &uid, 1, true, count_fetched, &fetched, &err), MA_OK);
	assert_int_equal(fetched, 1);

	size_t na = 0;
	const char *const *a = ma_imap_alerts(s, &na);
	assert_int_equal(na, 16);
	assert_string_equal(a[0], "Greeting alert");
	assert_string_equal(a[1], "Your mailbox is 95% full");
	assert_string_equal(a[2], "Second alert");
	assert_string_equal(a[3], "Maintenance tonight at 22:00");
	size_t cut = strlen(a[4]);
	assert_true(cut <= 1000 && cut >= 998);
	assert_int_equal(cut % 2, 1); /* "x" and whole two-byte characters */
	assert_memory_equal(a[4], longer, cut);
	for (int i = 5; i < 16; i++) {
		char want[32];
		snprintf(want, sizeof want, "fetch %d", i - 4);
		assert_string_equal(a[i], want);
	}
	for (size_t i = 0; i < n; i++)
		ma_folder_clear(&f[i]);
	free(f);
	ma_imap_close(s);
	close(server);
}

/* What each fetched message carried, for imap_fetch_counts_each_uid_once. */
struct seen_msgs {
	uint32_t uid[8], size[8];
	unsigned flags[8];
	int n;
};

static int keep_fetched(struct ma_message *m, void *ctx)
{
	struct seen_msgs *s = ctx;
	if (s->n < 8) {
		s->uid[s->n] = m->uid;
		s->size[s->n] = m->size;
		s->flags[s->n] = m->flags;
	}
	s->n++;
	return 0;
}

/* Each message is handed over once, however the server repeats it: a
 * flag update before the answer does not take its place, a repeated
 * answer and a message not asked for are no messages, and a UID that got
 * only a flag update still counts. Then a FETCH by sequence number the
 * server runs out of ends the session with a named error; an EXISTS past
 * UIDNEXT - 1 is refused (red-team item 9). */
static void imap_fetch_counts_each_uid_once(void **state)
{
	(void)state;
	const char *d = "INTERNALDATE \"01-Jan-2024 00:00:00 +0000\"";
	char script[4096];
	snprintf(script, sizeof script,
		 "* OK hi\r\n"
		 "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n1 OK done\r\n"
		 "2 OK logged in\r\n"
		 "* CAPABILITY IMAP4rev1\r\n3 OK done\r\n"
		 "* 3 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT 9] x\r\n4 OK [READ-ONLY] done\r\n"
		 /* F1 UID FETCH 3,5,8 */
		 "* 2 FETCH (UID 5 FLAGS (\\Seen))\r\n"
		 "* 1 FETCH (UID 3 FLAGS () RFC822.SIZE 10 %s)\r\n"
		 "* 2 FETCH (UID 5 FLAGS (\\Seen) RFC822.SIZE 20 %s)\r\n"
		 "* 2 FETCH (UID 5 FLAGS () RFC822.SIZE 999 %s)\r\n"
		 "* 9 FETCH (UID 99 FLAGS () RFC822.SIZE 999 %s)\r\n"
		 "* 3 FETCH (UID 8 FLAGS (\\Deleted))\r\n"
		 "F1 OK done\r\n"
		 /* F2 FETCH 1:3: message 3 never comes */
		 "* 1 FETCH (UID 3 FLAGS () RFC822.SIZE 10 %s)\r\n"
		 "* 2 FETCH (UID 5 FLAGS () RFC822.SIZE 20 %s)\r\n"
		 "F2 OK done\r\n",
		 d, d, d, d, d, d);
	int server;
	struct ma_conn *c = scripted_conn(script, &server);
	struct ma_imap *s = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_imap_open_conn(c, "test:143", MA_SEC_PLAIN, true, NULL, &s, &err), MA_OK);
	assert_int_equal(ma_imap_login(s, "user@example.test", "pw", &err), MA_OK);
	struct ma_folder inbox = { .name = "INBOX", .raw_name = "INBOX" };
	assert_int_equal(ma_imap_examine(s, &inbox, &err), MA_OK);
	assert_int_equal(inbox.messages, 3);
	const uint32_t uids[] = { 3, 5, 8 };
	struct seen_msgs m = { 0 };
	assert_int_equal(ma_imap_fetch(s, uids, 3, false, keep_fetched, &m, &err), MA_OK);
	assert_int_equal(m.n, 3);
	assert_int_equal(m.uid[0], 3);
	assert_int_equal(m.size[0], 10);
	assert_int_equal(m.uid[1], 5);
	assert_int_equal(m.size[1], 20);
	assert_int_equal(m.flags[1], MA_FLAG_SEEN);
	assert_int_equal(m.uid[2], 8);          /* a flag update alone: counted, size unknown */
	assert_int_equal(m.size[2], 0);
	assert_int_equal(m.flags[2], MA_FLAG_DELETED);

	struct seen_msgs all = { 0 };
	assert_int_equal(ma_imap_fetch_all(s, 3, false, keep_fetched, &all, &err), MA_ERR_PROTOCOL);
	assert_int_equal(all.n, 2);
	assert_non_null(strstr(err.detail, "said the folder holds 3 messages (EXISTS) but sent none after message 2"));
	assert_true(ma_imap_broken(s));
	ma_imap_close(s);
	close(server);

	/* EXISTS past UIDNEXT - 1, and past the cap without UIDNEXT. */
	const char *const examines[] = {
		"* 4294967295 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT 2] x\r\n4 OK [READ-ONLY] done\r\n",
		"* 4294967295 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n4 OK [READ-ONLY] done\r\n",
	};
	const ma_status want[] = { MA_ERR_PROTOCOL, MA_ERR_TOO_LARGE };
	const char *const says[] = { "holds 4294967295 messages (EXISTS), but their UIDs are all below 2",
				     "mailaudit reads at most 10,000,000 in one folder" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(script, sizeof script,
			 "* OK hi\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n1 OK done\r\n2 OK logged in\r\n"
			 "* CAPABILITY IMAP4rev1\r\n3 OK done\r\n%s", examines[i]);
		c = scripted_conn(script, &server);
		assert_int_equal(ma_imap_open_conn(c, "test:143", MA_SEC_PLAIN, true, NULL, &s, &err), MA_OK);
		assert_int_equal(ma_imap_login(s, "user@example.test", "pw", &err), MA_OK);
		struct ma_folder f = { .name = "INBOX", .raw_name = "INBOX" };
		assert_int_equal(ma_imap_examine(s, &f, &err), want[i]);
		assert_non_null(strstr(err.detail, says[i]));
		assert_int_equal(f.messages, 0);
		assert_true(ma_imap_broken(s));
		ma_imap_close(s);
		close(server);
	}
}

/* LOGIN-DELAY as CAPA announces it before login (RFC 2449 6.5). */
static void pop3_login_delay_from_capa(void **state)
{
	(void)state;
	const struct {
		const char *capa;
		bool announced;
		uint32_t seconds;
	} cases[] = {
		{ "USER\r\nUIDL\r\n", false, 0 },
		{ "USER\r\nLOGIN-DELAY 60\r\n", true, 60 },
		{ "login-delay 900 USER\r\nUIDL\r\n", true, 900 },
		{ "LOGIN-DELAY 0\r\n", true, 0 },
		{ "LOGIN-DELAY soon\r\n", true, UINT32_MAX },
		{ "LOGIN-DELAY 99999999999\r\n", true, UINT32_MAX },
		{ "LOGIN-DELAYED 60\r\n", false, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char script[256];
		snprintf(script, sizeof script, "+OK hi\r\n+OK\r\n%s.\r\n+OK bye\r\n", cases[i].capa);
		int server;
		struct ma_conn *c = scripted_conn(script, &server);
		struct ma_pop3 *s = NULL;
		struct ma_error err = { 0 };
		assert_int_equal(ma_pop3_open_conn(c, "test:110", MA_SEC_PLAIN, true, NULL, &s, &err), MA_OK);
		uint32_t seconds = 12345;
		assert_int_equal(ma_pop3_login_delay(s, &seconds), cases[i].announced);
		assert_int_equal(seconds, cases[i].seconds);
		ma_pop3_close(s);
		close(server);
	}
}

/* ---- the session base: STARTTLS once for the three protocols ---- */

/* Everything the client sent, once it has let go of its end. */
static void client_said(int server, char *buf, size_t len)
{
	size_t used = 0;
	ssize_t n;
	while (used + 1 < len && (n = recv(server, buf + used, len - 1 - used, MSG_DONTWAIT)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
}

/* Greeting and capabilities as each protocol asks for them, then a STARTTLS
 * reply: with bytes behind it (an injection), refused, or never offered.
 * The step is the same for all three (session.c), and after it fails the
 * client says nothing more: no LOGOUT, no QUIT. */
static void starttls_step_for_every_protocol(void **state)
{
	(void)state;
	static const struct {
		enum ma_proto proto;
		const char *open, *open_no_tls, *yes, *no;
		const char *last;       /* the last thing the client may say */
		ma_status refused;
	} p[] = {
		{ MA_PROTO_IMAP, "* OK hi\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\n1 OK done\r\n",
		  "* OK hi\r\n* CAPABILITY IMAP4rev1\r\n1 OK done\r\n",
		  "2 OK begin TLS\r\n", "2 NO not now\r\n", "2 STARTTLS\r\n", MA_ERR_STARTTLS_MISSING },
		{ MA_PROTO_POP3, "+OK hi\r\n+OK\r\nUSER\r\nSTLS\r\n.\r\n", "+OK hi\r\n+OK\r\nUSER\r\n.\r\n",
		  "+OK begin TLS\r\n", "-ERR not now\r\n", "STLS\r\n", MA_ERR_STARTTLS_MISSING },
		{ MA_PROTO_SMTP, "220 hi\r\n250-hi\r\n250 STARTTLS\r\n", "220 hi\r\n250-hi\r\n250 SIZE\r\n",
		  "220 go ahead\r\n", "454 not now\r\n", "STARTTLS\r\n", MA_ERR_STARTTLS_MISSING },
	};
	for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
		const struct ma_session_driver *d = ma_session_driver(p[i].proto);
		assert_non_null(d);
		assert_int_equal(d->proto, p[i].proto);
		for (int k = 0; k < 3; k++) {
			char script[512], want[256], said[1024];
			if (k == 0)
				snprintf(script, sizeof script, "%s%s* injected\r\n", p[i].open, p[i].yes);
			else if (k == 1)
				snprintf(script, sizeof script, "%s%s", p[i].open, p[i].no);
			else
				snprintf(script, sizeof script, "%s", p[i].open_no_tls);
			int server;
			struct ma_conn *c = scripted_conn(script, &server);
			struct ma_session *s = NULL;
			struct ma_error err = { 0 };
			ma_status st = ma_session_open_conn(p[i].proto, c, "test:1", MA_SEC_STARTTLS, false, NULL,
							    &s, &err);
			assert_null(s);
			note(&err);
			if (k == 0) {
				assert_int_equal(st, MA_ERR_STARTTLS_INJECTION);
				snprintf(want, sizeof want, "%s server test:1 sent 12 bytes after its %s reply", d->name,
					 d->starttls);
				assert_string_equal(err.detail, want);
			} else if (k == 1) {
				assert_int_equal(st, p[i].refused);
			} else {
				assert_int_equal(st, MA_ERR_STARTTLS_MISSING);
				snprintf(want, sizeof want,
					 "%s server test:1 on this port does not list %s (it may have been removed on the way)",
					 d->name, d->starttls);
				assert_string_equal(err.detail, want);
			}
			client_said(server, said, sizeof said);
			size_t sl = strlen(said), ll = strlen(p[i].last);
			if (k < 2) {
				assert_true(sl >= ll);
				assert_string_equal(said + sl - ll, p[i].last);
			} else {
				assert_null(strstr(said, "STARTTLS"));
				assert_null(strstr(said, "STLS"));
				assert_null(strstr(said, "LOGOUT"));
				assert_null(strstr(said, "QUIT"));
			}
			close(server);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_roundtrip_and_eof),
		cmocka_unit_test(silent_server_times_out),
		cmocka_unit_test(session_deadline_bounds_reads),
		cmocka_unit_test(run_deadline_ends_every_connection),
		cmocka_unit_test(cancel_fd_interrupts_read),
		cmocka_unit_test(kill_fails_io_at_once),
		cmocka_unit_test(closed_port_is_refused),
		cmocka_unit_test(unknown_host),
		cmocka_unit_test(tls_verified_with_cert_info),
		cmocka_unit_test(tls_ip_literal_checks_ip_san),
		cmocka_unit_test(tls_wrong_ca_is_untrusted),
		cmocka_unit_test(tls_name_mismatch_lists_names),
		cmocka_unit_test(tls_expired),
		cmocka_unit_test(tls_self_signed),
		cmocka_unit_test(tls_insecure_accepts_but_says_unverified),
		cmocka_unit_test(look_at_address_keeps_the_verdict),
		cmocka_unit_test(look_at_closed_port_names_the_address),
		cmocka_unit_test(tls_to_closing_server),
		cmocka_unit_test(tls_to_plain_port),
		cmocka_unit_test(bad_ca_file_is_a_setting_error),
		cmocka_unit_test(tls_garbage_mid_stream),
		cmocka_unit_test(tls_buffered_records_are_read_at_once),
		cmocka_unit_test(tls_handshake_timeout_and_cancel),
		cmocka_unit_test(starttls_upgrade),
		cmocka_unit_test(guard_literal_split_anywhere),
		cmocka_unit_test(guard_crlf_split),
		cmocka_unit_test(guard_braces_in_text),
		cmocka_unit_test(guard_reply_budget),
		cmocka_unit_test(alerts_several_in_one_reply),
		cmocka_unit_test(alerts_split_anywhere),
		cmocka_unit_test(alerts_only_in_status_responses),
		cmocka_unit_test(alerts_capped_and_cut),
		cmocka_unit_test(nul_refused_outside_literals),
		cmocka_unit_test(permanentflags_checked),
		cmocka_unit_test(alerts_dropped_and_not_for_pop3),
		cmocka_unit_test(imap_starttls_drops_plaintext_alerts),
		cmocka_unit_test(reply_done_restarts_the_clock),
		cmocka_unit_test(stream_reader_lines_and_sync),
		cmocka_unit_test(login_cut_off_is_never_traced),
		cmocka_unit_test(imap_special_use_and_alerts),
		cmocka_unit_test(imap_fetch_counts_each_uid_once),
		cmocka_unit_test(pop3_login_delay_from_capa),
		cmocka_unit_test(starttls_step_for_every_protocol),
	};
	return cmocka_run_group_tests(tests, setup_certs, teardown_certs);
}
