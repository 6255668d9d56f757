/* DNS queries over UDP with our own bounded reply parser (see dns.h). */
#include "net/dns.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "base/text.h"   /* ma_now_ms */

/* ---- building ---- */

size_t ma_dns_build_query(uint16_t id, const char *name, uint16_t qtype,
			  unsigned char *buf, size_t len)
{
	size_t nl = strlen(name);
	if (nl > 0 && name[nl - 1] == '.')
		nl--;
	if (nl == 0 || nl > 253 || len < 12 + nl + 2 + 4)
		return 0;
	memset(buf, 0, 12);
	buf[0] = (unsigned char)(id >> 8);
	buf[1] = (unsigned char)id;
	buf[2] = 0x01;               /* RD: the resolver does the recursion */
	buf[5] = 1;                  /* one question */
	size_t o = 12;
	const char *p = name, *end = name + nl;
	while (p < end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t l = dot ? (size_t)(dot - p) : (size_t)(end - p);
		if (l == 0 || l > 63)
			return 0;
		buf[o++] = (unsigned char)l;
		memcpy(buf + o, p, l);
		o += l;
		p += l + (dot ? 1 : 0);
	}
	buf[o++] = 0;
	buf[o++] = (unsigned char)(qtype >> 8);
	buf[o++] = (unsigned char)qtype;
	buf[o++] = 0;
	buf[o++] = 1;                /* class IN */
	return o;
}

/* ---- parsing ---- */

/* Reads a possibly compressed name at *pos into out (dotted, no final
 * dot, control bytes replaced). Advances *pos past the name as it sits in
 * the message. Jumps are bounded, so a pointer loop cannot hang us. */
static bool read_name(const unsigned char *buf, size_t len, size_t *pos, char *out, size_t outlen)
{
	size_t p = *pos, o = 0, after = 0;
	int jumps = 0;
	bool jumped = false;
	for (;;) {
		if (p >= len)
			return false;
		unsigned char l = buf[p];
		if ((l & 0xC0) == 0xC0) {
			if (p + 1 >= len || ++jumps > 32)
				return false;
			if (!jumped)
				after = p + 2;
			jumped = true;
			p = ((size_t)(l & 0x3F) << 8) | buf[p + 1];
			continue;
		}
		if (l & 0xC0)
			return false;
		if (l == 0) {
			p++;
			break;
		}
		if (p + 1 + l > len || o + l + 2 > outlen || o + l + 1 > 254)
			return false;
		if (o)
			out[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			unsigned char c = buf[p + 1 + i];
			out[o++] = (c <= 0x20 || c >= 0x7f || c == '.') ? '?' : (char)c;
		}
		p += 1 + l;
	}
	if (outlen == 0)
		return false;
	out[o] = '\0';
	*pos = jumped ? after : p;
	return true;
}

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

ma_status ma_dns_parse_reply(const unsigned char *buf, size_t len, struct ma_dns_reply *out)
{
	memset(out, 0, sizeof *out);
	if (len < 12)
		return MA_ERR_PROTOCOL;
	out->id = (uint16_t)get16(buf);
	if (!(buf[2] & 0x80))
		return MA_ERR_PROTOCOL;  /* not a response */
	out->truncated = buf[2] & 0x02;
	out->rcode = buf[3] & 0x0F;
	unsigned qd = get16(buf + 4), an = get16(buf + 6);
	size_t pos = 12;
	char name[256];
	for (unsigned i = 0; i < qd; i++) {
		if (!read_name(buf, len, &pos, name, sizeof name) || pos + 4 > len)
			return MA_ERR_PROTOCOL;
		pos += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		struct ma_dns_rr rr = { 0 };
		if (!read_name(buf, len, &pos, rr.owner, sizeof rr.owner) || pos + 10 > len)
			return MA_ERR_PROTOCOL;
		rr.type = (uint16_t)get16(buf + pos);
		unsigned cls = get16(buf + pos + 2);
		size_t rdlen = get16(buf + pos + 8);
		pos += 10;
		if (pos + rdlen > len)
			return MA_ERR_PROTOCOL;
		size_t rd = pos, rdend = pos + rdlen;
		pos = rdend;
		if (cls != 1 || out->n_rr >= MA_DNS_MAX_RR)
			continue;
		bool keep = true;
		switch (rr.type) {
		case MA_DNS_A:
			keep = rdlen == 4 && inet_ntop(AF_INET, buf + rd, rr.text, sizeof rr.text);
			break;
		case MA_DNS_AAAA:
			keep = rdlen == 16 && inet_ntop(AF_INET6, buf + rd, rr.text, sizeof rr.text);
			break;
		case MA_DNS_CNAME: {
			size_t q = rd;
			keep = read_name(buf, len, &q, rr.text, sizeof rr.text) && q <= rdend;
			break;
		}
		case MA_DNS_SRV: {
			size_t q = rd + 6;
			keep = rdlen >= 7 && read_name(buf, len, &q, rr.text, sizeof rr.text) && q <= rdend;
			if (keep) {
				rr.priority = get16(buf + rd);
				rr.weight = get16(buf + rd + 2);
				rr.port = get16(buf + rd + 4);
			}
			break;
		}
		default:
			keep = false;
		}
		if (keep)
			out->rr[out->n_rr++] = rr;
	}
	return MA_OK;
}

/* ---- the resolver ---- */

bool ma_dns_parse_resolver(const char *text, char *ip, size_t iplen, unsigned *port)
{
	if (!text || !*text)
		return false;
	const char *colon = strchr(text, ':');
	size_t l = colon ? (size_t)(colon - text) : strlen(text);
	if (l == 0 || l >= iplen || l >= INET_ADDRSTRLEN)
		return false;
	memcpy(ip, text, l);
	ip[l] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1)
		return false;
	*port = 53;
	if (colon) {
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);
		if (*end || end == colon + 1 || p == 0 || p > 65535)
			return false;
		*port = (unsigned)p;
	}
	return true;
}

static ma_status pick_resolver(struct sockaddr_in *sa, char *label, size_t lablen, struct ma_error *err)
{
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	const char *env = getenv("MA_RESOLVER");
	if (env && *env) {
		char ip[INET_ADDRSTRLEN];
		unsigned port;
		if (!ma_dns_parse_resolver(env, ip, sizeof ip, &port))
			return ma_fail(err, MA_ERR_ARGUMENT, "MA_RESOLVER=%s: expected IPv4[:PORT]", env);
		inet_pton(AF_INET, ip, &sa->sin_addr);
		sa->sin_port = htons((uint16_t)port);
	} else {
		/* A private resolver state: the process-wide _res is not thread-safe. */
		struct __res_state st;
		memset(&st, 0, sizeof st);
		bool found = false;
		if (res_ninit(&st) == 0) {
			for (int i = 0; i < st.nscount && i < MAXNS; i++) {
				if (st.nsaddr_list[i].sin_family == AF_INET) {
					*sa = st.nsaddr_list[i];
					found = true;
					break;
				}
			}
			res_nclose(&st);
		}
		if (!found) {
			/* glibc's own default when resolv.conf names none */
			inet_pton(AF_INET, "127.0.0.1", &sa->sin_addr);
			sa->sin_port = htons(53);
		}
	}
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip);
	snprintf(label, lablen, "%s:%u", ip, (unsigned)ntohs(sa->sin_port));
	return MA_OK;
}

static uint16_t random_id(void)
{
	uint16_t id = 0;
	if (getrandom(&id, sizeof id, GRND_NONBLOCK) != (ssize_t)sizeof id)
		id = (uint16_t)(ma_now_ms() ^ (int64_t)getpid());
	return id;
}

/* Sends every query in qtype[] for name and waits for all replies on one
 * socket; a query without reply is sent once more half-way through. */
static ma_status query(const char *name, const uint16_t *qtype, size_t nq, int timeout_s,
		       int cancel_fd, struct ma_dns_reply *replies, char *label, size_t lablen,
		       struct ma_error *err)
{
	struct sockaddr_in sa;
	ma_status st = pick_resolver(&sa, label, lablen, err);
	if (st != MA_OK)
		return st;
	unsigned char q[2][300];
	size_t ql[2];
	uint16_t ids[2];
	bool got[2] = { false, false };
	if (nq > 2)
		nq = 2;
	for (size_t i = 0; i < nq; i++) {
		ids[i] = random_id();
		ql[i] = ma_dns_build_query(ids[i], name, qtype[i], q[i], sizeof q[i]);
		if (!ql[i])
			return ma_fail(err, MA_ERR_HOST_UNKNOWN, "%s is not a valid server name", name);
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ma_fail(err, MA_ERR_DNS, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		return ma_fail(err, MA_ERR_DNS, "resolver %s: %s", label, strerror(e));
	}
	int64_t start = ma_now_ms(), limit = (int64_t)(timeout_s > 0 ? timeout_s : 5) * 1000;
	bool resent = false;
	for (size_t i = 0; i < nq; i++)
		(void)send(fd, q[i], ql[i], 0);
	st = MA_OK;
	size_t left = nq;
	while (left > 0) {
		int64_t el = ma_now_ms() - start;
		if (el >= limit) {
			st = ma_fail(err, MA_ERR_DNS, "no answer from the resolver %s within %d s for %s",
				     label, (int)(limit / 1000), name);
			break;
		}
		if (!resent && el >= limit / 2) {
			resent = true;
			for (size_t i = 0; i < nq; i++)
				if (!got[i])
					(void)send(fd, q[i], ql[i], 0);
		}
		int64_t wait = (resent ? limit : limit / 2) - el;
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = cancel_fd, .events = POLLIN } };
		int n = poll(p, cancel_fd >= 0 ? 2 : 1, wait > 1000 ? 1000 : (int)(wait > 0 ? wait : 1));
		if (n < 0 && errno != EINTR) {
			st = ma_fail(err, MA_ERR_DNS, "poll: %s", strerror(errno));
			break;
		}
		if (cancel_fd >= 0 && n > 0 && p[1].revents) {
			st = ma_fail(err, MA_ERR_CANCELLED, "while looking up %s", name);
			break;
		}
		if (n <= 0 || !p[0].revents)
			continue;
		unsigned char buf[1500];
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			/* ICMP port unreachable: nothing listens at the resolver */
			st = ma_fail(err, MA_ERR_DNS, "resolver %s: %s", label, strerror(errno));
			break;
		}
		struct ma_dns_reply rep;
		if (ma_dns_parse_reply(buf, (size_t)r, &rep) != MA_OK)
			continue;
		for (size_t i = 0; i < nq; i++) {
			if (!got[i] && rep.id == ids[i]) {
				replies[i] = rep;
				got[i] = true;
				left--;
			}
		}
	}
	close(fd);
	return st;
}

static bool is_literal(const char *name)
{
	unsigned char bin[16];
	return inet_pton(AF_INET, name, bin) == 1 || inet_pton(AF_INET6, name, bin) == 1;
}

static void add_addrs(struct ma_dns_facts *f, const struct ma_dns_reply *r, uint16_t type)
{
	for (size_t i = 0; i < r->n_rr; i++) {
		const struct ma_dns_rr *rr = &r->rr[i];
		if (rr->type != type || strcasecmp(rr->owner, f->canonical) != 0)
			continue;
		if (f->n_addrs < MA_DNS_MAX_ADDRS)
			snprintf(f->addrs[f->n_addrs++], sizeof f->addrs[0], "%s", rr->text);
	}
}

ma_status ma_dns_lookup(const char *name, int timeout_s, int cancel_fd,
			struct ma_dns_facts *out, struct ma_error *err)
{
	memset(out, 0, sizeof *out);
	if (!name || !*name)
		return ma_fail(err, MA_ERR_ARGUMENT, "no server name");
	snprintf(out->name, sizeof out->name, "%s", name);
	size_t nl = strlen(out->name);
	if (nl > 0 && out->name[nl - 1] == '.')
		out->name[nl - 1] = '\0';
	snprintf(out->canonical, sizeof out->canonical, "%s", out->name);
	if (is_literal(out->name)) {
		/* A literal address always fits (at most 45 characters). */
		size_t n = strlen(out->name);
		if (n >= sizeof out->addrs[0])
			n = sizeof out->addrs[0] - 1;
		memcpy(out->addrs[0], out->name, n);
		out->addrs[0][n] = '\0';
		out->n_addrs = 1;
		return MA_OK;
	}
	const uint16_t types[2] = { MA_DNS_A, MA_DNS_AAAA };
	struct ma_dns_reply rep[2];
	memset(rep, 0, sizeof rep);
	ma_status st = query(out->name, types, 2, timeout_s, cancel_fd, rep, out->resolver,
			     sizeof out->resolver, err);
	if (st != MA_OK)
		return st;
	/* Follow the chain from the asked name through the A reply's CNAMEs;
	 * a bounded number of steps, so a CNAME loop ends too. */
	for (size_t step = 0; step < MA_DNS_MAX_CHAIN; step++) {
		const char *next = NULL;
		for (size_t i = 0; i < rep[0].n_rr; i++)
			if (rep[0].rr[i].type == MA_DNS_CNAME && strcasecmp(rep[0].rr[i].owner, out->canonical) == 0)
				next = rep[0].rr[i].text;
		if (!next)
			break;
		snprintf(out->chain[out->n_chain++], sizeof out->chain[0], "%s", next);
		snprintf(out->canonical, sizeof out->canonical, "%s", next);
	}
	add_addrs(out, &rep[0], MA_DNS_A);
	add_addrs(out, &rep[1], MA_DNS_AAAA);
	if (out->n_addrs > 0)
		return MA_OK;
	if (rep[0].rcode == 3 || rep[1].rcode == 3)
		return ma_fail(err, MA_ERR_HOST_UNKNOWN, "%s does not exist (DNS says NXDOMAIN)", out->name);
	if (rep[0].rcode != 0)
		return ma_fail(err, MA_ERR_DNS, "the resolver %s failed for %s (DNS error %d)",
			       out->resolver, out->name, rep[0].rcode);
	return ma_fail(err, MA_ERR_HOST_UNKNOWN, "%s exists but has no address", out->name);
}

static int srv_cmp(const void *a, const void *b)
{
	const struct ma_dns_srv_rec *x = a, *y = b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return 0;
}

ma_status ma_dns_srv(const char *service_name, int timeout_s, int cancel_fd,
		     struct ma_dns_srv_rec *out, size_t max, size_t *n, struct ma_error *err)
{
	*n = 0;
	const uint16_t types[1] = { MA_DNS_SRV };
	struct ma_dns_reply rep;
	memset(&rep, 0, sizeof rep);
	char label[64];
	ma_status st = query(service_name, types, 1, timeout_s, cancel_fd, &rep, label, sizeof label, err);
	if (st != MA_OK)
		return st;
	for (size_t i = 0; i < rep.n_rr && *n < max; i++) {
		const struct ma_dns_rr *rr = &rep.rr[i];
		if (rr->type != MA_DNS_SRV)
			continue;
		struct ma_dns_srv_rec *s = &out[(*n)++];
		s->priority = rr->priority;
		s->weight = rr->weight;
		s->port = rr->port;
		/* RFC 2782: a target of "." means "not offered here" */
		snprintf(s->target, sizeof s->target, "%s", strcmp(rr->text, ".") == 0 ? "" : rr->text);
	}
	qsort(out, *n, sizeof *out, srv_cmp);
	return MA_OK;
}
