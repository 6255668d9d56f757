/* Sockets, name lookup and the mailstream_low driver (see transport.h).
 *
 * Everything here waits with poll() on a non-blocking socket, bounded by a
 * timeout and watching the cancel pipe, so no call can hang for ever. The
 * TLS half (context, handshake, certificate checks) lives in tls.c; the two
 * share struct ma_conn through transport-internal.h. */
#include "net/stream.h"
#include "net/transport-internal.h"
#include "net/dns.h"
#include "base/i18n.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define DEFAULT_TIMEOUT_S 30

/* ---- process set-up ---- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_process(void)
{
	/* A write to a socket the server closed must give EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
}

void ma_transport_init(void)
{
	pthread_once(&init_once, init_process);
}

/* ---- time and waiting ---- */

/* The end of the next wait: one idle timeout from now, but never past the
 * session deadline. */
int64_t ma_conn_wait_limit(const struct ma_conn *c)
{
	int64_t until = ma_now_ms() + c->timeout_ms;
	if (c->deadline_ms && c->deadline_ms < until)
		until = c->deadline_ms;
	if (c->reply_until_ms && c->reply_until_ms < until)
		until = c->reply_until_ms;
	return until;
}

bool ma_conn_run_deadline_passed(const struct ma_conn *c)
{
	return c->run_deadline && ma_now_ms() >= c->deadline_ms;
}

/* The idle timeout alone lets a server that drips one byte a second keep
 * a session alive for ever; so each reply also gets REPLY_TIMEOUTS idle
 * timeouts in all, counted from our command (or from connecting). */
#define REPLY_TIMEOUTS 3

static void reply_clock_start(struct ma_conn *c)
{
	c->reply_until_ms = ma_now_ms() + (int64_t)REPLY_TIMEOUTS * c->timeout_ms;
}

static bool cancel_pending(int cancel_fd)
{
	if (cancel_fd < 0)
		return false;
	struct pollfd p = { .fd = cancel_fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0;
}

ma_status ma_wait_fd(int fd, short events, int cancel_fd, int64_t until_ms)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = events },
			{ .fd = cancel_fd, .events = POLLIN },
		};
		int64_t left = until_ms - ma_now_ms();
		if (left <= 0)
			return MA_ERR_READ_TIMEOUT;
		int n = poll(p, cancel_fd >= 0 ? 2 : 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno != EINTR)
			return MA_ERR_NETWORK;
		if (n <= 0)
			continue;
		/* Cancel wins over data: the user asked to stop. */
		if (cancel_fd >= 0 && p[1].revents)
			return MA_ERR_CANCELLED;
		/* Errors and hang-ups count as ready: the next call reports them. */
		if (p[0].revents)
			return MA_OK;
	}
}

/* ---- name lookup with a timeout ----
 *
 * getaddrinfo() cannot be interrupted: dns.c runs it on a helper thread,
 * for the doctor's lookups as for ours. */

static ma_status resolve(const struct ma_conn *c, struct addrinfo **out, struct ma_error *err)
{
	struct ma_dns_wait w = { c->cancel_fd, ma_conn_wait_limit(c), c->timeout_ms / 1000 };
	ma_status st = ma_dns_getaddrinfo(c->host, c->port, &w, out, err);
	/* A lookup cut short by the run's --deadline says so. */
	if ((st == MA_ERR_DNS || st == MA_ERR_READ_TIMEOUT) && ma_conn_run_deadline_passed(c))
		st = ma_fail(err, MA_ERR_DEADLINE, _("while looking up %s"), c->host);
	return st;
}

/* ---- connecting ---- */

static void address_text(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *bin = sa->sa_family == AF_INET6
		? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
		: (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (!inet_ntop(sa->sa_family, bin, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* How much a failure tells the user: "refused" names the problem exactly,
 * a timeout hints at a firewall, unreachable often just means no IPv6. */
static int telling(ma_status st)
{
	switch (st) {
	case MA_ERR_REFUSED: return 4;
	case MA_ERR_CONNECT_TIMEOUT: return 3;
	case MA_ERR_NETWORK: return 2;
	case MA_ERR_UNREACHABLE: return 1;
	default: return 0;
	}
}

static ma_status errno_status(int e)
{
	switch (e) {
	case ECONNREFUSED: return MA_ERR_REFUSED;
	case ENETUNREACH: case EHOSTUNREACH: case ENETDOWN: case EHOSTDOWN:
	case EADDRNOTAVAIL: case EAFNOSUPPORT:
		return MA_ERR_UNREACHABLE;
	case ETIMEDOUT: return MA_ERR_CONNECT_TIMEOUT;
	default: return MA_ERR_NETWORK;
	}
}

/* Fills src for family from the numeric source address; false if it does
 * not fit this family (an IPv4 source cannot reach an IPv6 server). */
static bool source_for(const char *text, int family, struct sockaddr_storage *src, socklen_t *len)
{
	memset(src, 0, sizeof *src);
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)src;
		s4->sin_family = AF_INET;
		*len = sizeof *s4;
		return inet_pton(AF_INET, text, &s4->sin_addr) == 1;
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)src;
		s6->sin6_family = AF_INET6;
		*len = sizeof *s6;
		return inet_pton(AF_INET6, text, &s6->sin6_addr) == 1;
	}
	return false;
}

/* One address: returns the connected socket in *fd_out or a status with
 * the reason in err, which names the attempt as where. */
static ma_status connect_one(struct ma_conn *c, const struct addrinfo *ai, const char *where,
			     int *fd_out, struct ma_error *err)
{
	ma_status st = MA_OK;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return ma_fail(err, errno_status(errno), "%s: %s", where, strerror(errno));

	if (c->source_addr[0]) {
		struct sockaddr_storage src;
		socklen_t slen;
		if (!source_for(c->source_addr, ai->ai_family, &src, &slen)) {
			st = ma_fail(err, MA_ERR_UNREACHABLE, _("%s: source address %s is of another family"),
				     where, c->source_addr);
			goto cleanup;
		}
		if (bind(fd, (struct sockaddr *)&src, slen) < 0) {
			st = ma_fail(err, MA_ERR_NETWORK, _("cannot use source address %s: %s"),
				     c->source_addr, strerror(errno));
			goto cleanup;
		}
	}

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS && errno != EINTR) {
			st = ma_fail(err, errno_status(errno), "%s: %s", where, strerror(errno));
			goto cleanup;
		}
		st = ma_wait_fd(fd, POLLOUT, c->cancel_fd, ma_conn_wait_limit(c));
		if (st == MA_ERR_CANCELLED) {
			ma_fail(err, st, _("while connecting to %s"), where);
			goto cleanup;
		}
		if (st == MA_ERR_READ_TIMEOUT && ma_conn_run_deadline_passed(c)) {
			st = ma_fail(err, MA_ERR_DEADLINE, _("while connecting to %s"), where);
			goto cleanup;
		}
		if (st == MA_ERR_READ_TIMEOUT) {
			st = ma_fail(err, MA_ERR_CONNECT_TIMEOUT, _("%s: no answer within %d s"),
				     where, c->timeout_ms / 1000);
			goto cleanup;
		}
		int soerr = 0;
		socklen_t slen = sizeof soerr;
		if (st != MA_OK || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) < 0)
			soerr = errno ? errno : EIO;
		if (soerr) {
			st = ma_fail(err, errno_status(soerr), "%s: %s", where, strerror(soerr));
			goto cleanup;
		}
	}
	*fd_out = fd;
	fd = -1;
	st = MA_OK;
cleanup:
	if (fd >= 0)
		close(fd);
	return st;
}

static ma_status connect_any(struct ma_conn *c, struct ma_error *err)
{
	struct addrinfo *list = NULL;
	ma_status st = resolve(c, &list, err);
	if (st != MA_OK)
		return st;

	ma_status best = MA_OK;
	struct ma_error attempt;
	for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		char addr[INET6_ADDRSTRLEN], where[INET6_ADDRSTRLEN + 300];
		address_text(ai->ai_addr, addr, sizeof addr);
		if (strcmp(c->host, addr) == 0)
			snprintf(where, sizeof where, "%s port %u", addr, c->port);
		else
			snprintf(where, sizeof where, "%s (%s) port %u", c->host, addr, c->port);
		int fd = -1;
		st = connect_one(c, ai, where, &fd, &attempt);
		if (st == MA_OK) {
			c->fd = fd;
			snprintf(c->addr, sizeof c->addr, "%s", addr);
			best = MA_OK;
			break;
		}
		/* Cancel and the run's deadline stop at once; otherwise keep the
		 * most telling failure. */
		bool final = st == MA_ERR_CANCELLED || st == MA_ERR_NOMEM || st == MA_ERR_DEADLINE;
		if (final || best == MA_OK || telling(st) > telling(best)) {
			best = st;
			if (err)
				*err = attempt;
		}
		if (final)
			break;
		if (c->deadline_ms && ma_now_ms() >= c->deadline_ms)
			break;
	}
	freeaddrinfo(list);
	if (best == MA_OK && c->fd < 0)
		return ma_fail(err, MA_ERR_HOST_UNKNOWN, _("%s has no IPv4 or IPv6 address"), c->host);
	return best;
}

/* ---- the connection ---- */

/* A connection not yet connected, with opts' timeouts and cancel fd. */
static struct ma_conn *conn_new(const struct ma_net_opts *opts)
{
	struct ma_conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->fd = -1;
	atomic_init(&c->killed, false);
	c->insecure = opts->insecure;
	c->cancel_fd = opts->cancel_fd;
	c->bytes_in = opts->bytes_in;
	c->timeout_ms = (opts->timeout_s > 0 ? opts->timeout_s : DEFAULT_TIMEOUT_S) * 1000;
	if (opts->deadline_s > 0)
		c->deadline_ms = ma_now_ms() + (int64_t)opts->deadline_s * 1000;
	if (opts->run_deadline_ms > 0 && (!c->deadline_ms || opts->run_deadline_ms <= c->deadline_ms)) {
		c->deadline_ms = opts->run_deadline_ms;
		c->run_deadline = true;
	}
	reply_clock_start(c); /* the greeting is the first reply */
	return c;
}

/* Where c goes: ep's host and port (the host as asked for: SNI, the name
 * check and messages use it) and the source address to bind to. */
static void conn_aim(struct ma_conn *c, const struct ma_endpoint *ep, const struct ma_net_opts *opts)
{
	c->port = ep->port;
	/* "[::1]" may still carry its brackets: the resolver wants them off. */
	const char *h = ep->host;
	size_t hl = strlen(h);
	if (h[0] == '[' && hl > 2 && h[hl - 1] == ']')
		snprintf(c->host, sizeof c->host, "%.*s", (int)(hl - 2), h + 1);
	else
		snprintf(c->host, sizeof c->host, "%s", h);
	if (opts->source_addr)
		snprintf(c->source_addr, sizeof c->source_addr, "%s", opts->source_addr);
}

/* TLS settings before connecting: a bad CA file is a setting error, found
 * before any network traffic. Plain endpoints get none. */
static ma_status conn_tls_ctx(struct ma_conn *c, const struct ma_endpoint *ep,
			      const struct ma_net_opts *opts, struct ma_error *err)
{
	if (ep->security == MA_SEC_PLAIN)
		return MA_OK;
	if (opts->tls) {
		c->ctx = ma_tls_ctx_ref(opts->tls);
		return MA_OK;
	}
	struct ma_tls *own = NULL;
	ma_status st = ma_tls_new(opts, &own, err);
	if (st != MA_OK)
		return st;
	c->ctx = ma_tls_ctx_ref(own);
	ma_tls_free(own);
	return MA_OK;
}

static bool endpoint_ok(const struct ma_endpoint *ep)
{
	return ep && ep->host[0] && ep->port != 0 && ep->port <= 65535;
}

ma_status ma_conn_open(const struct ma_endpoint *ep, const struct ma_net_opts *opts,
		       struct ma_conn **out, struct ma_error *err)
{
	*out = NULL;
	ma_transport_init();
	if (!opts || !endpoint_ok(ep))
		return ma_fail(err, MA_ERR_ARGUMENT, _("no server name or port"));

	struct ma_conn *c = conn_new(opts);
	if (!c)
		return ma_fail(err, MA_ERR_NOMEM, _("connection"));
	conn_aim(c, ep, opts);
	ma_status st = conn_tls_ctx(c, ep, opts, err);
	if (st != MA_OK)
		goto cleanup;
	/* A session begun after the run's end (a recount, a second session)
	 * does not even look the name up. */
	if (ma_conn_run_deadline_passed(c)) {
		st = ma_fail(err, MA_ERR_DEADLINE, _("before connecting to %s"), c->host);
		goto cleanup;
	}
	st = connect_any(c, err);
	if (st != MA_OK)
		goto cleanup;
	if (ep->security == MA_SEC_TLS)
		st = ma_conn_start_tls(c, err);
cleanup:
	if (st != MA_OK) {
		ma_conn_free(c);
		return st;
	}
	*out = c;
	return MA_OK;
}

ma_status ma_conn_open_addr(const struct ma_endpoint *ep, const char *addr,
			    const struct ma_net_opts *opts, struct ma_conn **out,
			    struct ma_error *err)
{
	*out = NULL;
	ma_transport_init();
	if (!opts || !addr || !endpoint_ok(ep))
		return ma_fail(err, MA_ERR_ARGUMENT, _("no server name or port"));
	/* Numeric only: no name lookup happens here. */
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	};
	struct addrinfo *ai = NULL;
	char port[8];
	snprintf(port, sizeof port, "%u", ep->port);
	if (getaddrinfo(addr, port, &hints, &ai) != 0 || !ai)
		return ma_fail(err, MA_ERR_ARGUMENT, _("%s is not an address"), addr);

	ma_status st;
	struct ma_conn *c = conn_new(opts);
	if (!c) {
		st = ma_fail(err, MA_ERR_NOMEM, _("connection"));
		goto cleanup;
	}
	conn_aim(c, ep, opts);
	c->insecure = true;  /* a look: the verdict is kept, not enforced */
	st = conn_tls_ctx(c, ep, opts, err);
	if (st != MA_OK)
		goto cleanup;
	char where[INET6_ADDRSTRLEN + 300];
	snprintf(where, sizeof where, "%s port %u", addr, ep->port);
	st = connect_one(c, ai, where, &c->fd, err);
	if (st != MA_OK)
		goto cleanup;
	snprintf(c->addr, sizeof c->addr, "%s", addr);
	if (ep->security == MA_SEC_TLS)
		st = ma_conn_start_tls(c, err);
cleanup:
	freeaddrinfo(ai);
	if (st != MA_OK) {
		ma_conn_free(c);
		return st;
	}
	*out = c;
	return MA_OK;
}

/* Tests and fuzzing: an fd someone else connected (a socketpair). */
ma_status ma_conn_from_fd(int fd, const struct ma_net_opts *opts, struct ma_conn **out,
			  struct ma_error *err)
{
	*out = NULL;
	ma_transport_init();
	if (fd < 0 || !opts)
		return ma_fail(err, MA_ERR_ARGUMENT, _("no connection"));
	struct ma_conn *c = conn_new(opts);
	if (!c) {
		close(fd);
		return ma_fail(err, MA_ERR_NOMEM, _("connection"));
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	c->fd = fd;
	snprintf(c->host, sizeof c->host, "test");
	snprintf(c->addr, sizeof c->addr, "fd");
	*out = c;
	return MA_OK;
}

ma_status ma_conn_last_error(const struct ma_conn *c)
{
	return c ? c->last_error : MA_ERR_NOT_CONNECTED;
}

const char *ma_conn_last_detail(const struct ma_conn *c)
{
	return c ? c->last_detail : "";
}

const struct ma_cert_info *ma_conn_cert(const struct ma_conn *c)
{
	static const struct ma_cert_info none;
	return c ? &c->cert : &none;
}

bool ma_conn_is_tls(const struct ma_conn *c)
{
	return c && c->ssl && c->tls_up;
}

ma_status ma_conn_wait_readable(struct ma_conn *c, int ms)
{
	if (!c)
		return MA_ERR_NOT_CONNECTED;
	if (c->ssl && SSL_pending(c->ssl) > 0)
		return MA_OK;
	int64_t until = ma_now_ms() + ms, limit = ma_conn_wait_limit(c);
	return ma_wait_fd(c->fd, POLLIN, c->cancel_fd, until < limit ? until : limit);
}

void ma_conn_kill(struct ma_conn *c)
{
	if (c)
		atomic_store(&c->killed, true);
}

void ma_conn_free(struct ma_conn *c)
{
	if (!c)
		return;
	ma_tls_close(c);
	if (c->fd >= 0)
		close(c->fd);
	ma_tls_ctx_unref(c->ctx);
	ma_conn_drop_alerts(c);
	free(c);
}

/* Records why I/O failed; the first reason sticks because later failures
 * (a LOGOUT after a timeout) are consequences, not causes. */
void ma_conn_set_error(struct ma_conn *c, ma_status st, const char *detail)
{
	if (c->last_error != MA_OK)
		return;
	c->last_error = st;
	snprintf(c->last_detail, sizeof c->last_detail, "%s", detail ? detail : "");
}

/* Before every read/write: a killed or cancelled connection fails at once. */
static bool may_continue(struct ma_conn *c)
{
	if (atomic_load(&c->killed)) {
		ma_conn_set_error(c, MA_ERR_CANCELLED, _("connection closed by mailaudit"));
		return false;
	}
	if (cancel_pending(c->cancel_fd)) {
		ma_conn_set_error(c, MA_ERR_CANCELLED, NULL);
		return false;
	}
	/* Waits end at the deadline; this stops a server that never makes us
	 * wait (a fast, endless stream) there too. */
	if (c->deadline_ms && ma_now_ms() >= c->deadline_ms) {
		if (c->run_deadline)
			ma_conn_set_error(c, MA_ERR_DEADLINE, NULL);
		else
			ma_conn_set_error(c, MA_ERR_READ_TIMEOUT, _("the session time limit was reached"));
		return false;
	}
	return true;
}

static bool wait_io(struct ma_conn *c, short events)
{
	ma_status st = ma_wait_fd(c->fd, events, c->cancel_fd, ma_conn_wait_limit(c));
	if (st == MA_OK)
		return true;
	if (st == MA_ERR_READ_TIMEOUT && ma_conn_run_deadline_passed(c)) {
		ma_conn_set_error(c, MA_ERR_DEADLINE, NULL);
	} else if (st == MA_ERR_READ_TIMEOUT) {
		char why[256];
		int64_t now = ma_now_ms();
		if (c->deadline_ms && now >= c->deadline_ms)
			snprintf(why, sizeof why, "%s", _("the session time limit was reached"));
		else if (c->reply_until_ms && now >= c->reply_until_ms)
			snprintf(why, sizeof why, _("a reply took over %d s (the server sends too slowly)"),
				 REPLY_TIMEOUTS * c->timeout_ms / 1000);
		else
			snprintf(why, sizeof why, _("nothing for %d s"), c->timeout_ms / 1000);
		ma_conn_set_error(c, st, why);
	} else {
		ma_conn_set_error(c, st, NULL);
	}
	return false;
}

static ssize_t plain_read(struct ma_conn *c, void *buf, size_t len)
{
	while (may_continue(c)) {
		ssize_t n = recv(c->fd, buf, len, 0);
		if (n > 0)
			return n;
		if (n == 0) {
			ma_conn_set_error(c, MA_ERR_CLOSED, NULL);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			ma_conn_set_error(c, errno == ECONNRESET ? MA_ERR_CLOSED : MA_ERR_NETWORK,
					  strerror(errno));
			return -1;
		}
		if (!wait_io(c, POLLIN))
			return -1;
	}
	return -1;
}

static ssize_t plain_write(struct ma_conn *c, const void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		if (!may_continue(c))
			return -1;
		ssize_t n = send(c->fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			ma_conn_set_error(c, errno == EPIPE || errno == ECONNRESET ? MA_ERR_CLOSED : MA_ERR_NETWORK,
					  strerror(errno));
			return -1;
		}
		if (!wait_io(c, POLLOUT))
			return -1;
	}
	return (ssize_t)len;
}

/* What SSL_read/SSL_write want next: true to retry after waiting, false
 * (with the reason recorded) to give up. */
static bool tls_retry(struct ma_conn *c, int ret)
{
	int e = SSL_get_error(c->ssl, ret);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		return wait_io(c, POLLIN);
	case SSL_ERROR_WANT_WRITE:
		return wait_io(c, POLLOUT);
	case SSL_ERROR_ZERO_RETURN:
		ma_conn_set_error(c, MA_ERR_CLOSED, NULL);
		return false;
	case SSL_ERROR_SYSCALL:
		/* errno 0 means the peer hung up without close_notify. */
		c->tls_broken = true;
		if (errno == 0 || errno == ECONNRESET || errno == EPIPE)
			ma_conn_set_error(c, MA_ERR_CLOSED, NULL);
		else
			ma_conn_set_error(c, MA_ERR_NETWORK, strerror(errno));
		ERR_clear_error();
		return false;
	default: {
		c->tls_broken = true;
		unsigned long code = ERR_peek_error();
		char why[200];
		if (ERR_GET_LIB(code) == ERR_LIB_SSL
		    && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ma_conn_set_error(c, MA_ERR_CLOSED, NULL);
		} else {
			char reason[160];
			ma_tls_reason(code, false, reason, sizeof reason);
			snprintf(why, sizeof why, "TLS error: %s", reason);
			ma_conn_set_error(c, MA_ERR_TLS_HANDSHAKE, why);
		}
		ERR_clear_error();
		return false;
	}
	}
}

/* With read-ahead (tls.c) OpenSSL may hold records that poll() on the
 * socket cannot see, so SSL_read is always asked before any wait: a
 * WANT_READ then means nothing whole is held (an incomplete record, which
 * needs the socket). Decrypted bytes still pending would be a reply left
 * waiting for a timeout: those are read at once. */
static ssize_t tls_read(struct ma_conn *c, void *buf, size_t len)
{
	int want = len > INT_MAX ? INT_MAX : (int)len;
	while (may_continue(c)) {
		ERR_clear_error();
		errno = 0;
		int n = SSL_read(c->ssl, buf, want);
		if (n > 0)
			return n;
		if (SSL_get_error(c->ssl, n) == SSL_ERROR_WANT_READ && SSL_pending(c->ssl) > 0)
			continue;
		if (!tls_retry(c, n))
			return -1;
	}
	return -1;
}

static ssize_t tls_write(struct ma_conn *c, const void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		if (!may_continue(c))
			return -1;
		size_t left = len - done;
		int want = left > INT_MAX ? INT_MAX : (int)left;
		ERR_clear_error();
		errno = 0;
		/* After WANT_*, OpenSSL needs the same buffer and length again:
		 * done only moves on success, so the retry repeats them. */
		int n = SSL_write(c->ssl, (const char *)buf + done, want);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (!tls_retry(c, n))
			return -1;
	}
	return (ssize_t)len;
}

/* ---- the mailstream_low driver ---- */

struct ma_low {
	struct ma_conn *c;
	bool tls;    /* made after start_tls: talks through c->ssl */
};

/* A TLS driver whose connection lost its SSL (a failed re-handshake)
 * must not fall back to plain text. */
static bool low_usable(struct ma_low *l)
{
	if (l->tls && !l->c->ssl) {
		ma_conn_set_error(l->c, MA_ERR_NOT_CONNECTED, NULL);
		return false;
	}
	return true;
}

/* Only the limits and the reply budget: the literal watch follows the
 * stream, and a call between two commands (LIST has its own budget) must
 * not take a literal still arriving for text. */
void ma_conn_set_limits(struct ma_conn *c, uint64_t max_literal, uint64_t max_reply)
{
	c->guard.max_literal = max_literal;
	c->guard.max_reply = max_reply;
	c->guard.used = 0;
}

/* ---- [ALERT] lines ----
 *
 * RFC 3501 7.1: an [ALERT] text must be shown to the user. libetpan keeps
 * only the last one of a response, and our FETCH reader reads its lines
 * itself; so alerts are taken here, from the bytes the guard below sees
 * outside literals: a message quoting "* OK [ALERT]" in a fetched literal
 * never counts. Every byte of a 40 MB first audit passes here, so only a
 * line's first bytes are looked at, one at a time, until they cannot be
 * "tag SP keyword SP [ALERT]" (a FETCH line at its third byte, "* 1");
 * the rest of the line is skipped with memchr, and only an alert's text
 * is copied. */

enum {
	ALERT_START,   /* at a line's start (0: where a connection begins) */
	ALERT_TAG,     /* in the tag: "*" or ours ("5", "F12") */
	ALERT_SP1,     /* spaces after the tag */
	ALERT_KW,      /* the keyword: OK, NO, BAD, BYE, PREAUTH */
	ALERT_SP2,     /* spaces after it */
	ALERT_CODE,    /* in "[ALERT]" */
	ALERT_SP3,     /* spaces before the text */
	ALERT_TEXT,    /* the text, kept until the line ends */
	ALERT_SKIP,    /* nothing of interest until the line ends */
};

/* Bytes of a line before its text, at most: "* PREAUTH [ALERT] " takes 18
 * and tags are short (libetpan's "12", our "F12"); past this the line is
 * no alert, and nothing of it is looked at any more. */
#define ALERT_HEAD_MAX 64

static bool alert_keyword(const unsigned char *kw, unsigned len)
{
	static const char *const words[] = { "OK", "NO", "BAD", "BYE", "PREAUTH" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i]) == len && strncasecmp((const char *)kw, words[i], len) == 0)
			return true;
	return false;
}

/* The text collected for a line now ended, kept unless already kept: cut
 * to MA_CONN_ALERT_MAX_LEN bytes at a character boundary, dropped past
 * MA_CONN_MAX_ALERTS or on ENOMEM (an alert is worth showing, not worth
 * failing the audit). */
static void alert_keep(struct ma_conn *c)
{
	const char *t = c->alerts.text;
	size_t len = c->alerts.text_len;
	/* The texts are C strings: a NUL ends one. */
	const char *nul = memchr(t, '\0', len);
	if (nul)
		len = (size_t)(nul - t);
	if (len > MA_CONN_ALERT_MAX_LEN) {
		len = MA_CONN_ALERT_MAX_LEN;
		while (len > 0 && ((unsigned char)t[len] & 0xC0) == 0x80)
			len--;
	}
	while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\r'))
		len--;
	if (len == 0 || c->alerts.nkept == MA_CONN_MAX_ALERTS)
		return;
	for (size_t i = 0; i < c->alerts.nkept; i++)
		if (strlen(c->alerts.kept[i]) == len && memcmp(c->alerts.kept[i], t, len) == 0)
			return;
	char *a = malloc(len + 1);
	if (!a)
		return;
	memcpy(a, t, len);
	a[len] = '\0';
	c->alerts.kept[c->alerts.nkept++] = a;
}

/* Follows p[0..n), bytes outside literals in stream order, line by line;
 * a line may end in any later call. */
static void alert_watch(struct ma_conn *c, const unsigned char *p, size_t n)
{
	const unsigned char *end = p + n;
	int state = c->alerts.state; /* in a register across the memchr calls */
	while (p < end) {
		if (state == ALERT_SKIP) {
			const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				break;
			p = nl + 1;
			c->alerts.head = 0;
			/* Most lines are "* N FETCH" (or EXISTS, EXPUNGE): no
			 * alert from the third byte on, seen without the byte
			 * loop below. */
			if (end - p >= 3 && p[0] == '*' && p[1] == ' ' && p[2] >= '0' && p[2] <= '9')
				p += 3;
			else
				state = ALERT_START;
			continue;
		}
		if (state == ALERT_TEXT) {
			const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = (size_t)((nl ? nl : end) - p);
			size_t room = sizeof c->alerts.text - c->alerts.text_len;
			memcpy(c->alerts.text + c->alerts.text_len, p, len < room ? len : room);
			c->alerts.text_len += len < room ? len : room;
			if (!nl)
				break;
			alert_keep(c);
			p = nl + 1;
			state = ALERT_START;
			c->alerts.head = 0;
			continue;
		}
		/* The line's first bytes, one at a time. */
		unsigned char b = *p++;
		if (b == '\n') {
			state = ALERT_START;
			c->alerts.head = 0;
			continue;
		}
		if (++c->alerts.head > ALERT_HEAD_MAX) {
			state = ALERT_SKIP;
			continue;
		}
		bool letter = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
		switch (state) {
		case ALERT_START:
			/* A tag or "*"; "+" starts a continuation request. */
			state = b > ' ' && b < 0x7f && b != '+' ? ALERT_TAG : ALERT_SKIP;
			break;
		case ALERT_TAG:
			if (b == ' ')
				state = ALERT_SP1;
			else if (b <= ' ' || b >= 0x7f)
				state = ALERT_SKIP;
			break;
		case ALERT_SP1:
			if (letter) {
				c->alerts.kw[0] = b;
				c->alerts.kw_len = 1;
				state = ALERT_KW;
			} else if (b != ' ') {
				state = ALERT_SKIP; /* "* 1 FETCH", "* 3 EXISTS" */
			}
			break;
		case ALERT_KW:
			if (letter && c->alerts.kw_len < sizeof c->alerts.kw)
				c->alerts.kw[c->alerts.kw_len++] = b;
			else if (b == ' ' && alert_keyword(c->alerts.kw, c->alerts.kw_len))
				state = ALERT_SP2;
			else
				state = ALERT_SKIP;
			break;
		case ALERT_SP2:
			if (b == '[') {
				c->alerts.code_len = 1;
				state = ALERT_CODE;
			} else if (b != ' ') {
				state = ALERT_SKIP;
			}
			break;
		case ALERT_CODE: {
			unsigned char want = (unsigned char)"[ALERT]"[c->alerts.code_len];
			if (b == want || (letter && (b & 0xDF) == want)) {
				if (++c->alerts.code_len == 7)
					state = ALERT_SP3;
			} else {
				state = ALERT_SKIP;
			}
			break;
		}
		case ALERT_SP3:
			if (b == ' ')
				break;
			/* Past the cap a text would only be dropped. */
			if (c->alerts.nkept == MA_CONN_MAX_ALERTS) {
				state = ALERT_SKIP;
				break;
			}
			c->alerts.text_len = 0;
			state = ALERT_TEXT;
			p--; /* the text's first byte */
			break;
		default:
			state = ALERT_SKIP;
			break;
		}
	}
	c->alerts.state = state;
}

const char *const *ma_conn_alerts(const struct ma_conn *c, size_t *n)
{
	*n = c ? c->alerts.nkept : 0;
	return c ? (const char *const *)c->alerts.kept : NULL;
}

void ma_conn_drop_alerts(struct ma_conn *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->alerts.nkept; i++)
		free(c->alerts.kept[i]);
	c->alerts.nkept = 0;
	/* A line begun before is dropped with the rest. */
	if (c->alerts.state != ALERT_START)
		c->alerts.state = ALERT_SKIP;
}

/* ---- the reply guard ---- */

/* Guard states between two reads: a literal announcement may arrive split
 * anywhere, so how far into "{digits}CRLF" the last read ended is kept. */
enum { GUARD_TEXT, GUARD_DIGITS, GUARD_BRACE, GUARD_CR };

static bool literal_announced(struct ma_conn *c)
{
	if (c->guard.num > c->guard.max_literal) {
		char why[256];
		/* The number as announced: the user compares it with what the
		 * server sent (UINT64_MAX stands for anything larger). */
		if (c->guard.num == UINT64_MAX)
			snprintf(why, sizeof why,
				 _("the server announced a literal of over 2^64 bytes (limit %llu)"),
				 (unsigned long long)c->guard.max_literal);
		else
			snprintf(why, sizeof why, _("the server announced a literal of %llu bytes (limit %llu)"),
				 (unsigned long long)c->guard.num,
				 (unsigned long long)c->guard.max_literal);
		ma_conn_set_error(c, MA_ERR_TOO_LARGE, why);
		return false;
	}
	c->guard.lit_left = c->guard.num;
	c->guard.state = GUARD_TEXT;
	return true;
}

/* A "[PERMANENTFLAGS (...)" response code is checked before libetpan 1.9.4
 * parses it: when the first flag of the list does not parse and the next
 * byte is not ")", libetpan frees a list it never made (clist_foreach on
 * NULL). fuzz_session found NUL and 0x03 there; CR, LF, "(", "{", "%",
 * "*" and "\\" crash it as well (tried by hand). So the list must be
 * what RFC 3501 allows: "\*" or ["\"] atom, separated by spaces, then
 * ")". Bytes of 0x80 and up and "]" pass as atom bytes, as libetpan
 * takes them. The state lives in the connection, as a list may arrive
 * split over two reads. */
enum {
	PF_NONE = 0,
	/* 1 .. sizeof pf_word - 1: that many bytes of pf_word matched */
	PF_SPACE = 32,  /* after the word: spaces, then "(" */
	PF_FLAG,        /* a flag or ")" expected (spaces skipped) */
	PF_BACKSLASH,   /* after "\": "*" or an atom byte */
	PF_ATOM,        /* inside a flag: atom bytes, " " or ")" */
	PF_STAR         /* after "\*": " " or ")" */
};
static const char pf_word[] = "[PERMANENTFLAGS";

static bool pf_atom_byte(unsigned char b)
{
	return b > 0x20 && b != 0x7f ? !strchr("(){%*\"\\", b) : b >= 0x80;
}

/* Feeds text (never literal contents) to the PERMANENTFLAGS check; false:
 * the list is one libetpan would crash on. */
static bool pf_feed(struct ma_conn *c, const unsigned char *p, const unsigned char *end)
{
	int st = c->guard.pf;
	while (p < end) {
		unsigned char b = *p;
		if (st == PF_NONE) {
			const unsigned char *open = memchr(p, '[', (size_t)(end - p));
			if (!open)
				break;
			p = open + 1;
			st = 1;
			continue;
		}
		if (st < PF_SPACE) {
			if (toupper(b) == (unsigned char)pf_word[st]) {
				p++;
				if (!pf_word[++st])
					st = PF_SPACE;
			} else {
				st = PF_NONE; /* looked at again: it may be "[" */
			}
			continue;
		}
		p++;
		switch (st) {
		case PF_SPACE:
			if (b == '(')
				st = PF_FLAG;
			else if (b != ' ')
				st = PF_NONE; /* not the code libetpan crashes in */
			break;
		case PF_FLAG:
			if (b == ')')
				st = PF_NONE;
			else if (b == '\\')
				st = PF_BACKSLASH;
			else if (pf_atom_byte(b))
				st = PF_ATOM;
			else if (b != ' ')
				goto bad;
			break;
		case PF_BACKSLASH:
			if (b == '*')
				st = PF_STAR;
			else if (pf_atom_byte(b))
				st = PF_ATOM;
			else
				goto bad;
			break;
		case PF_ATOM:
		case PF_STAR:
			if (b == ')')
				st = PF_NONE;
			else if (b == ' ')
				st = PF_FLAG;
			else if (st == PF_STAR || !pf_atom_byte(b))
				goto bad;
			break;
		}
	}
	c->guard.pf = st;
	return true;
bad:
	c->guard.pf = PF_NONE;
	ma_conn_set_error(c, MA_ERR_PROTOCOL, _("the server sent a malformed PERMANENTFLAGS list"));
	return false;
}

/* Watches received bytes for IMAP literal announcements ("{N}" CRLF at the
 * end of a line) and for the size of the current reply, so a hostile server
 * is stopped before libetpan allocates what it announces. Literal contents
 * are skipped: "{5}" inside a message header is not an announcement.
 * Every byte read passes here, so text is searched with memchr for the
 * next '{' and literals are skipped whole rather than looked at byte by
 * byte. A byte that breaks an announcement is looked at again as text, as
 * it may start the next one ("{{9}"). The text between literals goes on
 * to alert_watch. */
static bool guard_ok(struct ma_conn *c, const unsigned char *p, size_t n)
{
	if (!c->guard.max_literal && !c->guard.max_reply)
		return true;
	c->guard.used += n;
	if (c->guard.max_reply && c->guard.used > c->guard.max_reply) {
		char why[256];
		snprintf(why, sizeof why, _("one reply exceeded %llu MB"),
			 (unsigned long long)(c->guard.max_reply >> 20));
		ma_conn_set_error(c, MA_ERR_TOO_LARGE, why);
		return false;
	}
	if (!c->guard.max_literal)
		return true;
	const unsigned char *end = p + n;
	const unsigned char *text = p; /* text not yet shown to alert_watch */
	while (p < end) {
		if (c->guard.lit_left) {
			size_t skip = (size_t)(end - p) < c->guard.lit_left ? (size_t)(end - p)
									     : (size_t)c->guard.lit_left;
			c->guard.lit_left -= skip;
			p += skip;
			text = p;
			continue;
		}
		switch (c->guard.state) {
		case GUARD_TEXT: {
			const unsigned char *brace = memchr(p, '{', (size_t)(end - p));
			/* IMAP has no NUL outside a literal (RFC 3501 CHAR8 and
			 * TEXT-CHAR), and libetpan 1.9.4 dereferences NULL on one
			 * inside a response code ("* OK [PERMANENTFLAGS (" NUL):
			 * refused here, before it parses. */
			if (memchr(p, '\0', (size_t)((brace ? brace : end) - p))) {
				ma_conn_set_error(c, MA_ERR_PROTOCOL,
						  _("the server sent a NUL byte, which IMAP does not allow"));
				return false;
			}
			/* The brace too: "{" is no flag. */
			if (!pf_feed(c, p, brace ? brace + 1 : end))
				return false;
			if (!brace) {
				p = end;
				break;
			}
			p = brace + 1;
			c->guard.state = GUARD_DIGITS;
			c->guard.num = 0;
			break;
		}
		case GUARD_DIGITS:
			for (; p < end && *p >= '0' && *p <= '9'; p++) {
				/* Exact up to what 64 bits hold, then UINT64_MAX:
				 * the refusal names the number the server sent
				 * (stopping at the limit once named 104857600 as
				 * 10485760). */
				uint64_t d = (uint64_t)(*p - '0');
				if (c->guard.num > (UINT64_MAX - 1 - d) / 10)
					c->guard.num = UINT64_MAX;
				else
					c->guard.num = c->guard.num * 10 + d;
			}
			if (p == end)
				break;
			if (*p == '}') {
				c->guard.state = GUARD_BRACE;
				p++;
			} else {
				c->guard.state = GUARD_TEXT;
			}
			break;
		case GUARD_BRACE:
			if (*p == '\r') {
				c->guard.state = GUARD_CR;
				p++;
			} else {
				c->guard.state = GUARD_TEXT;
			}
			break;
		case GUARD_CR:
			if (*p != '\n') {
				c->guard.state = GUARD_TEXT;
				break;
			}
			/* The line goes on after the literal, so its LF is no
			 * line end; and a status response has no literal, so
			 * what the line began as is dropped. */
			alert_watch(c, text, (size_t)(p - text));
			c->alerts.state = ALERT_SKIP;
			p++;
			text = p;
			if (!literal_announced(c))
				return false;
			break;
		}
	}
	alert_watch(c, text, (size_t)(end - text));
	return true;
}

static ssize_t low_read(mailstream_low *s, void *buf, size_t len)
{
	struct ma_low *l = s->data;
	if (len == 0)
		return 0;
	if (!low_usable(l))
		return -1;
	ssize_t got = l->tls ? tls_read(l->c, buf, len) : plain_read(l->c, buf, len);
	if (got > 0 && !guard_ok(l->c, buf, (size_t)got))
		return -1;
	if (got > 0 && l->c->bytes_in)
		atomic_fetch_add_explicit(l->c->bytes_in, (uint64_t)got, memory_order_relaxed);
	return got;
}

/* With one command at a time, our write is where a reply starts. The
 * pipelined UID FETCH keeps several commands in flight and writes the last
 * of them long before its reply comes: without a call here per finished
 * reply, every reply after that write would share one byte budget and one
 * clock, and a long fetch would end as "too large" or "too slow" although
 * no single reply was. */
void ma_conn_reply_done(struct ma_conn *c)
{
	if (!c)
		return;
	c->guard.used = 0;
	reply_clock_start(c);
}

static ssize_t low_write(mailstream_low *s, const void *buf, size_t len)
{
	struct ma_low *l = s->data;
	if (len == 0)
		return 0;
	ma_conn_reply_done(l->c); /* a new command: a new reply budget and clock */
	if (!low_usable(l))
		return -1;
	return l->tls ? tls_write(l->c, buf, len) : plain_write(l->c, buf, len);
}

/* The fd belongs to ma_conn: a STARTTLS upgrade frees this driver and wraps
 * the same socket in a new one, so closing here would cut the session. */
static int low_close(mailstream_low *s)
{
	(void)s;
	return 0;
}

static int low_get_fd(mailstream_low *s)
{
	struct ma_low *l = s->data;
	return l->c->fd;
}

/* libetpan's mailstream_low_free leaves freeing the low struct itself to
 * the driver. */
static void low_free(mailstream_low *s)
{
	free(s->data);
	free(s);
}

static void low_cancel(mailstream_low *s)
{
	struct ma_low *l = s->data;
	ma_conn_kill(l->c);
}

static carray *low_cert_chain(mailstream_low *s)
{
	(void)s;
	return NULL;
}

static mailstream_low_driver ma_low_driver = {
	.mailstream_read = low_read,
	.mailstream_write = low_write,
	.mailstream_close = low_close,
	.mailstream_get_fd = low_get_fd,
	.mailstream_free = low_free,
	.mailstream_cancel = low_cancel,
	.mailstream_get_certificate_chain = low_cert_chain,
};

mailstream *ma_conn_stream(struct ma_conn *c, size_t bufsize)
{
	mailstream_low *low = ma_conn_low(c);
	if (!low)
		return NULL;
	mailstream *s = mailstream_new(low, bufsize);
	if (!s)
		mailstream_low_free(low); /* ours: frees its struct, keeps the socket */
	return s;
}

mailstream_low *ma_conn_low(struct ma_conn *c)
{
	if (!c)
		return NULL;
	struct ma_low *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->c = c;
	l->tls = ma_conn_is_tls(c);
	mailstream_low *s = mailstream_low_new(l, &ma_low_driver);
	if (!s)
		free(l);
	return s;
}
