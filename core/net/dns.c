/* Name lookups on helper threads: getaddrinfo, and libresolv's res_nquery
 * read with ns_initparse/ns_parserr (see dns.h). */
#include "net/dns.h"
#include "base/i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

#include "base/text.h"   /* ma_now_ms */

/* ---- blocking calls on a helper thread ----
 *
 * Neither getaddrinfo nor res_nquery can be interrupted, and neither ends
 * at a time one can choose (getaddrinfo tries every nameserver and search
 * domain in turn). Each runs on a detached helper thread that says it is
 * done through a pipe; the caller waits with its deadline and cancel fd and
 * may give up. Whoever lets go last (the caller, or the thread finishing)
 * frees the job. A job is a struct whose first member is a struct helper. */

struct helper {
	pthread_mutex_t lock;
	int refs;
	bool finished;            /* under lock: the work's results may be read */
	int pipe[2];              /* the thread writes one byte when done */
	void (*work)(struct helper *);
	void (*clear)(struct helper *);  /* frees what work made; NULL: nothing */
};

static void helper_unref(struct helper *h)
{
	pthread_mutex_lock(&h->lock);
	bool last = --h->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (!last)
		return;
	if (h->clear)
		h->clear(h);
	close(h->pipe[0]);
	close(h->pipe[1]);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static void *helper_thread(void *arg)
{
	struct helper *h = arg;
	h->work(h);
	/* The unlock publishes what work wrote to whoever locks after it. */
	pthread_mutex_lock(&h->lock);
	h->finished = true;
	pthread_mutex_unlock(&h->lock);
	ssize_t w = write(h->pipe[1], "", 1);
	(void)w;  /* the pipe is empty and ours: one byte always fits */
	helper_unref(h);
	return NULL;
}

/* Starts h->work on a helper thread; the caller then holds one reference.
 * On failure h is freed. */
static ma_status helper_start(struct helper *h, struct ma_error *err)
{
	if (pipe2(h->pipe, O_CLOEXEC) < 0) {
		int e = errno;
		free(h);
		return ma_fail(err, MA_ERR_NETWORK, _("name lookup: %s"), strerror(e));
	}
	pthread_mutex_init(&h->lock, NULL);
	h->refs = 2;
	pthread_attr_t attr;
	pthread_t tid;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int prc = pthread_create(&tid, &attr, helper_thread, h);
	pthread_attr_destroy(&attr);
	if (prc != 0) {
		h->refs = 1;
		helper_unref(h);
		return ma_fail(err, MA_ERR_NETWORK, _("name lookup: %s"), strerror(prc));
	}
	return MA_OK;
}

/* MA_OK once the work is done (its results may be read), else
 * MA_ERR_READ_TIMEOUT, MA_ERR_CANCELLED or MA_ERR_NETWORK. */
static ma_status helper_wait(struct helper *h, const struct ma_dns_wait *w)
{
	for (;;) {
		pthread_mutex_lock(&h->lock);
		bool done = h->finished;
		pthread_mutex_unlock(&h->lock);
		if (done)
			return MA_OK;
		int64_t left = w->until_ms - ma_now_ms();
		if (left <= 0)
			return MA_ERR_READ_TIMEOUT;
		struct pollfd p[2] = {
			{ .fd = h->pipe[0], .events = POLLIN },
			{ .fd = w->cancel_fd, .events = POLLIN },
		};
		int n = poll(p, w->cancel_fd >= 0 ? 2 : 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno != EINTR)
			return MA_ERR_NETWORK;
		if (n > 0 && w->cancel_fd >= 0 && p[1].revents)
			return MA_ERR_CANCELLED;
	}
}

/* ---- getaddrinfo ---- */

struct gai_job {
	struct helper h;
	char host[256];
	char port[8];
	int flags;                /* added to AI_NUMERICSERV */
	int rc;                   /* getaddrinfo's result */
	int sys_errno;
	struct addrinfo *result;  /* taken by the caller, else freed by clear */
};

static void gai_work(struct helper *h)
{
	struct gai_job *j = (struct gai_job *)h;
	/* No AI_ADDRCONFIG: on a machine with only loopback it hides 127.0.0.1. */
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | j->flags,
	};
	j->rc = getaddrinfo(j->host, j->port, &hints, &j->result);
	j->sys_errno = errno;
}

static void gai_clear(struct helper *h)
{
	struct gai_job *j = (struct gai_job *)h;
	if (j->result)
		freeaddrinfo(j->result);
}

/* What getaddrinfo said, once it said something in time. */
struct gai_answer {
	int rc, sys_errno;
	struct addrinfo *list;    /* the caller's, to freeaddrinfo */
};

/* Runs getaddrinfo on a helper thread. MA_OK when it returned in time
 * (whatever it returned: see a->rc); MA_ERR_DNS when it did not,
 * MA_ERR_CANCELLED, or MA_ERR_NOMEM/NETWORK when it could not start. */
static ma_status gai_run(const char *host, unsigned port, int flags, const struct ma_dns_wait *w,
			 struct gai_answer *a, struct ma_error *err)
{
	*a = (struct gai_answer){ 0 };
	struct gai_job *j = calloc(1, sizeof *j);
	if (!j)
		return ma_fail(err, MA_ERR_NOMEM, _("name lookup"));
	j->h.work = gai_work;
	j->h.clear = gai_clear;
	j->flags = flags;
	snprintf(j->host, sizeof j->host, "%s", host);
	snprintf(j->port, sizeof j->port, "%u", port);
	ma_status st = helper_start(&j->h, err);
	if (st != MA_OK)
		return st;
	st = helper_wait(&j->h, w);
	if (st == MA_OK) {
		a->rc = j->rc;
		a->sys_errno = j->sys_errno;
		a->list = j->result;
		j->result = NULL;
	} else if (st == MA_ERR_CANCELLED) {
		ma_fail(err, st, _("while looking up %s"), host);
	} else {
		st = ma_fail(err, MA_ERR_DNS, _("no answer within %d s while looking up %s"), w->timeout_s, host);
	}
	helper_unref(&j->h);
	return st;
}

ma_status ma_dns_getaddrinfo(const char *host, unsigned port, const struct ma_dns_wait *w,
			     struct addrinfo **out, struct ma_error *err)
{
	*out = NULL;
	/* An address written as numbers needs no lookup and cannot block: it
	 * is taken here, so no helper thread (nor a busy machine's delay in
	 * starting one) stands between it and the connection. */
	char sport[16];
	snprintf(sport, sizeof sport, "%u", port);
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	};
	if (getaddrinfo(host, sport, &hints, out) == 0 && *out)
		return MA_OK;
	*out = NULL;
	struct gai_answer a;
	ma_status st = gai_run(host, port, 0, w, &a, err);
	if (st != MA_OK)
		return st;
	*out = a.list;
	switch (a.rc) {
	case 0:
		return a.list ? MA_OK : ma_fail(err, MA_ERR_HOST_UNKNOWN, _("%s has no address"), host);
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
		return ma_fail(err, MA_ERR_HOST_UNKNOWN, "%s", host);
	case EAI_MEMORY:
		return ma_fail(err, MA_ERR_NOMEM, _("looking up %s"), host);
	case EAI_SYSTEM:
		return ma_fail(err, MA_ERR_DNS, "%s: %s", host, strerror(a.sys_errno));
	default:
		return ma_fail(err, MA_ERR_DNS, "%s: %s", host, gai_strerror(a.rc));
	}
}

/* ---- res_nquery ---- */

#define REPLY_MAX 16384

struct res_job {
	struct helper h;
	char name[256];
	int type;
	bool search;              /* res_nsearch: the search list applies */
	bool own_ns;              /* ns replaces the nameservers of resolv.conf */
	struct sockaddr_in ns;
	int retrans;              /* seconds per try */
	int len;                  /* res_nquery's result: the reply's length or -1 */
	int h_err;                /* the state's h_errno after it */
	int sys_errno;
	unsigned char ans[REPLY_MAX];
};

static void res_work(struct helper *h)
{
	struct res_job *j = (struct res_job *)h;
	/* A private state: the process-wide _res is not thread-safe. */
	struct __res_state st;
	memset(&st, 0, sizeof st);
	j->len = -1;
	if (res_ninit(&st) != 0) {
		j->h_err = NETDB_INTERNAL;
		j->sys_errno = errno;
		return;
	}
	if (j->own_ns) {
		/* glibc notices the changed list and uses it. */
		st.nsaddr_list[0] = j->ns;
		st.nscount = 1;
	}
	/* Two tries per nameserver, the second after half the time, so the
	 * thread itself ends soon after the caller stops waiting. */
	st.retrans = j->retrans;
	st.retry = 2;
	memset(j->ans, 0, NS_HFIXEDSZ);
	j->len = j->search ? res_nsearch(&st, j->name, ns_c_in, j->type, j->ans, sizeof j->ans)
			   : res_nquery(&st, j->name, ns_c_in, j->type, j->ans, sizeof j->ans);
	j->sys_errno = errno;
	j->h_err = st.res_h_errno;
	res_nclose(&st);
}

/* Where queries go: MA_RESOLVER's address, or resolv.conf's nameservers
 * (ns->sin_family 0). label names it for messages. */
static ma_status pick_resolver(struct sockaddr_in *ns, char *label, size_t lablen, struct ma_error *err)
{
	memset(ns, 0, sizeof *ns);
	const char *env = getenv("MA_RESOLVER");
	if (!env || !*env) {
		snprintf(label, lablen, "%s", _("the system's resolver"));
		return MA_OK;
	}
	char ip[INET_ADDRSTRLEN];
	unsigned port;
	if (!ma_dns_parse_resolver(env, ip, sizeof ip, &port))
		return ma_fail(err, MA_ERR_ARGUMENT, _("MA_RESOLVER=%s: expected IPv4[:PORT]"), env);
	ns->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &ns->sin_addr);
	ns->sin_port = htons((uint16_t)port);
	snprintf(label, lablen, _("the resolver %s:%u"), ip, port);
	return MA_OK;
}

/* One query on a helper thread, started; NULL (err set) if it could not be. */
static struct res_job *res_start(const char *name, int type, bool search, const struct sockaddr_in *ns,
				 const struct ma_dns_wait *w, struct ma_error *err)
{
	struct res_job *j = calloc(1, sizeof *j);
	if (!j) {
		ma_fail(err, MA_ERR_NOMEM, _("name lookup"));
		return NULL;
	}
	j->h.work = res_work;
	snprintf(j->name, sizeof j->name, "%s", name);
	j->type = type;
	j->search = search;
	j->own_ns = ns->sin_family == AF_INET;
	j->ns = *ns;
	j->retrans = w->timeout_s > 1 ? (w->timeout_s + 1) / 2 : 1;
	return helper_start(&j->h, err) == MA_OK ? j : NULL;
}

/* What became of one query. */
enum res_outcome { RES_REPLY, RES_SILENT, RES_CANCELLED };

/* Waits for j and reads what it got into rep; releases j. A reply with an
 * error code (NXDOMAIN, SERVFAIL, ...) is a reply: res_nquery returns -1
 * for those, and the header it leaves in the buffer, or its h_errno, tells
 * the code. No reply at all (timeout, nothing listening) is RES_SILENT. */
static enum res_outcome res_finish(struct res_job *j, const struct ma_dns_wait *w, struct ma_dns_reply *rep)
{
	memset(rep, 0, sizeof *rep);
	ma_status st = helper_wait(&j->h, w);
	enum res_outcome o = RES_SILENT;
	if (st == MA_ERR_CANCELLED) {
		o = RES_CANCELLED;
	} else if (st != MA_OK) {
		o = RES_SILENT;
	} else if (j->len >= 0) {
		size_t n = (size_t)j->len < sizeof j->ans ? (size_t)j->len : sizeof j->ans;
		o = RES_REPLY;
		/* An answer we cannot read (cut to the buffer, malformed) is
		 * still an answer: its code counts, its records do not. */
		if (ma_dns_parse_reply(j->ans, n, rep) != MA_OK) {
			memset(rep, 0, sizeof *rep);
			rep->rcode = j->ans[3] & 0x0F;
		}
	} else if (j->h_err == HOST_NOT_FOUND) {
		rep->rcode = ns_r_nxdomain;
		o = RES_REPLY;
	} else if (j->h_err == NO_DATA) {
		rep->rcode = ns_r_noerror;
		o = RES_REPLY;
	} else if ((j->ans[2] & 0x80) && (j->ans[3] & 0x0F) != 0) {
		rep->rcode = j->ans[3] & 0x0F;
		o = RES_REPLY;
	}
	helper_unref(&j->h);
	return o;
}

/* ---- reading replies ---- */

static bool put_name(char *dst, size_t len, const char *src)
{
	int n = snprintf(dst, len, "%s", src);
	return n >= 0 && (size_t)n < len;
}

/* One answer record into out; false for types we do not read and records
 * that do not fit or are malformed. */
static bool read_rr(const ns_msg *msg, const ns_rr *rr, struct ma_dns_rr *out)
{
	memset(out, 0, sizeof *out);
	if (ns_rr_class(*rr) != ns_c_in || !put_name(out->owner, sizeof out->owner, ns_rr_name(*rr)))
		return false;
	out->type = ns_rr_type(*rr);
	const unsigned char *rd = ns_rr_rdata(*rr);
	int rdlen = ns_rr_rdlen(*rr);
	char name[NS_MAXDNAME];
	int used;
	switch (out->type) {
	case MA_DNS_A:
		return rdlen == 4 && inet_ntop(AF_INET, rd, out->text, sizeof out->text);
	case MA_DNS_AAAA:
		return rdlen == 16 && inet_ntop(AF_INET6, rd, out->text, sizeof out->text);
	case MA_DNS_CNAME:
		used = ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), rd, name, sizeof name);
		return used > 0 && used <= rdlen && put_name(out->text, sizeof out->text, name);
	case MA_DNS_SRV:
		if (rdlen < 7)
			return false;
		out->priority = ns_get16(rd);
		out->weight = ns_get16(rd + 2);
		out->port = ns_get16(rd + 4);
		used = ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), rd + 6, name, sizeof name);
		return used > 0 && used <= rdlen - 6 && put_name(out->text, sizeof out->text, name);
	case MA_DNS_MX:
		if (rdlen < 3)
			return false;
		out->priority = ns_get16(rd);
		used = ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), rd + 2, name, sizeof name);
		return used > 0 && used <= rdlen - 2 && put_name(out->text, sizeof out->text, name);
	default:
		return false;
	}
}

ma_status ma_dns_parse_reply(const unsigned char *buf, size_t len, struct ma_dns_reply *out)
{
	memset(out, 0, sizeof *out);
	ns_msg msg;
	if (len > NS_MAXMSG || ns_initparse(buf, (int)len, &msg) < 0)
		return MA_ERR_PROTOCOL;
	out->id = ns_msg_id(msg);
	if (!ns_msg_getflag(msg, ns_f_qr))
		return MA_ERR_PROTOCOL;  /* not a response */
	out->truncated = ns_msg_getflag(msg, ns_f_tc);
	out->rcode = ns_msg_getflag(msg, ns_f_rcode);
	ns_rr rr;
	if (ns_msg_count(msg, ns_s_qd) > 0) {
		if (ns_parserr(&msg, ns_s_qd, 0, &rr) < 0)
			return MA_ERR_PROTOCOL;
		if (!put_name(out->qname, sizeof out->qname, ns_rr_name(rr)))
			out->qname[0] = '\0';
	}
	int an = ns_msg_count(msg, ns_s_an);
	for (int i = 0; i < an && out->n_rr < MA_DNS_MAX_RR; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return MA_ERR_PROTOCOL;
		if (read_rr(&msg, &rr, &out->rr[out->n_rr]))
			out->n_rr++;
	}
	return MA_OK;
}

static bool same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static void add_addr(struct ma_dns_facts *f, const char *addr)
{
	for (size_t i = 0; i < f->n_addrs; i++)
		if (strcmp(f->addrs[i], addr) == 0)
			return;
	if (f->n_addrs < MA_DNS_MAX_ADDRS)
		snprintf(f->addrs[f->n_addrs++], sizeof f->addrs[0], "%s", addr);
}

void ma_dns_follow(struct ma_dns_facts *f, const struct ma_dns_reply *rep, size_t nrep, bool addrs)
{
	while (f->n_chain < MA_DNS_MAX_CHAIN) {
		const char *next = NULL;
		for (size_t r = 0; r < nrep && !next; r++)
			for (size_t i = 0; i < rep[r].n_rr && !next; i++)
				if (rep[r].rr[i].type == MA_DNS_CNAME && same_name(rep[r].rr[i].owner, f->canonical))
					next = rep[r].rr[i].text;
		if (!next)
			break;
		snprintf(f->chain[f->n_chain++], sizeof f->chain[0], "%s", next);
		snprintf(f->canonical, sizeof f->canonical, "%s", next);
	}
	if (!addrs)
		return;
	static const uint16_t order[2] = { MA_DNS_A, MA_DNS_AAAA };
	for (size_t t = 0; t < 2; t++)
		for (size_t r = 0; r < nrep; r++)
			for (size_t i = 0; i < rep[r].n_rr; i++)
				if (rep[r].rr[i].type == order[t] && same_name(rep[r].rr[i].owner, f->canonical))
					add_addr(f, rep[r].rr[i].text);
}

/* ---- the doctor's lookups ---- */

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

static bool is_literal(const char *name)
{
	unsigned char bin[16];
	return inet_pton(AF_INET, name, bin) == 1 || inet_pton(AF_INET6, name, bin) == 1;
}

static struct ma_dns_wait wait_for(int timeout_s, int cancel_fd)
{
	if (timeout_s <= 0)
		timeout_s = 5;
	return (struct ma_dns_wait){ cancel_fd, ma_now_ms() + (int64_t)timeout_s * 1000, timeout_s };
}

/* The chain of a name getaddrinfo found under another name (canon): asked
 * as getaddrinfo asks it (the search list applies), starting from the name
 * the answer is for. Best effort: on any failure the chain is just canon. */
static void system_chain(struct ma_dns_facts *f, const char *canon, const struct ma_dns_wait *w)
{
	/* Half the time at most: the name may have come from /etc/hosts, and
	 * a dead DNS server must not hold up a cell whose address is known. */
	struct ma_dns_wait half = *w;
	int64_t soon = ma_now_ms() + (w->timeout_s > 1 ? (int64_t)w->timeout_s * 500 : 1000);
	if (soon < half.until_ms)
		half.until_ms = soon;
	struct sockaddr_in none = { 0 };
	struct ma_dns_reply *rep = malloc(sizeof *rep);
	struct res_job *j = rep ? res_start(f->name, MA_DNS_A, true, &none, &half, NULL) : NULL;
	if (j && res_finish(j, &half, rep) == RES_REPLY && rep->rcode == ns_r_noerror) {
		if (rep->qname[0])
			snprintf(f->canonical, sizeof f->canonical, "%s", rep->qname);
		ma_dns_follow(f, rep, 1, false);
	}
	free(rep);
	if (f->n_chain == 0) {
		snprintf(f->chain[f->n_chain++], sizeof f->chain[0], "%s", canon);
		snprintf(f->canonical, sizeof f->canonical, "%s", canon);
	}
}

/* Addresses as the audit gets them (getaddrinfo), then the chain. */
static ma_status lookup_system(struct ma_dns_facts *f, const struct ma_dns_wait *w, struct ma_error *err)
{
	struct gai_answer a;
	ma_status st = gai_run(f->name, 0, AI_CANONNAME, w, &a, err);
	if (st == MA_ERR_DNS)
		return ma_fail(err, st, _("no answer from %s within %d s for %s"), f->resolver, w->timeout_s,
			       f->name);
	if (st != MA_OK)
		return st;
	switch (a.rc) {
	case 0:
		break;
	case EAI_NONAME:
		return ma_fail(err, MA_ERR_HOST_UNKNOWN, _("%s does not exist (%s says so)"), f->name, f->resolver);
#ifdef EAI_NODATA
	case EAI_NODATA:
		f->exists = true;
		return ma_fail(err, MA_ERR_HOST_UNKNOWN, _("%s exists but has no address"), f->name);
#endif
	case EAI_MEMORY:
		return ma_fail(err, MA_ERR_NOMEM, _("looking up %s"), f->name);
	case EAI_SYSTEM:
		return ma_fail(err, MA_ERR_DNS, "%s: %s", f->name, strerror(a.sys_errno));
	default:
		return ma_fail(err, MA_ERR_DNS, _("%s failed for %s: %s"), f->resolver, f->name, gai_strerror(a.rc));
	}
	f->exists = true;
	char canon[256] = "";
	for (const struct addrinfo *ai = a.list; ai; ai = ai->ai_next) {
		if (ai->ai_canonname && !canon[0])
			snprintf(canon, sizeof canon, "%s", ai->ai_canonname);
		const void *bin = ai->ai_family == AF_INET6
			? (const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
			: (const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
		char text[INET6_ADDRSTRLEN];
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
		    && inet_ntop(ai->ai_family, bin, text, sizeof text))
			add_addr(f, text);
	}
	freeaddrinfo(a.list);
	if (f->n_addrs == 0)
		return ma_fail(err, MA_ERR_HOST_UNKNOWN, _("%s has no IPv4 or IPv6 address"), f->name);
	/* The same name back: no alias, nothing more to ask. */
	if (canon[0] && !same_name(canon, f->name))
		system_chain(f, canon, w);
	return MA_OK;
}

/* A and AAAA asked of MA_RESOLVER, both at once. */
static ma_status lookup_own(struct ma_dns_facts *f, const struct sockaddr_in *ns, const struct ma_dns_wait *w,
			    struct ma_error *err)
{
	struct ma_dns_reply *rep = calloc(2, sizeof *rep);
	if (!rep)
		return ma_fail(err, MA_ERR_NOMEM, _("name lookup"));
	struct res_job *j4 = res_start(f->name, MA_DNS_A, false, ns, w, err), *j6 = NULL;
	if (j4 && !(j6 = res_start(f->name, MA_DNS_AAAA, false, ns, w, err)))
		helper_unref(&j4->h);
	if (!j6) {
		free(rep);
		return err ? err->status : MA_ERR_NOMEM;
	}
	enum res_outcome o4 = res_finish(j4, w, &rep[0]), o6 = res_finish(j6, w, &rep[1]);
	ma_status st = MA_OK;
	/* A query without a reply left its reply empty: nothing to follow. */
	ma_dns_follow(f, rep, 2, true);
	f->exists = (o4 == RES_REPLY && rep[0].rcode == ns_r_noerror)
		|| (o6 == RES_REPLY && rep[1].rcode == ns_r_noerror);
	if (o4 == RES_CANCELLED || o6 == RES_CANCELLED)
		st = ma_fail(err, MA_ERR_CANCELLED, _("while looking up %s"), f->name);
	else if (f->n_addrs > 0)
		st = MA_OK;
	else if ((o4 == RES_REPLY && rep[0].rcode == ns_r_nxdomain)
		 || (o6 == RES_REPLY && rep[1].rcode == ns_r_nxdomain))
		st = ma_fail(err, MA_ERR_HOST_UNKNOWN, _("%s does not exist (%s says NXDOMAIN)"), f->name,
			     f->resolver);
	else if (o4 != RES_REPLY)
		st = ma_fail(err, MA_ERR_DNS, _("no answer from %s within %d s for %s"), f->resolver, w->timeout_s,
			     f->name);
	else if (rep[0].rcode != ns_r_noerror)
		st = ma_fail(err, MA_ERR_DNS, _("%s failed for %s (DNS error %d)"), f->resolver, f->name,
			     rep[0].rcode);
	else
		st = ma_fail(err, MA_ERR_HOST_UNKNOWN, _("%s exists but has no address"), f->name);
	free(rep);
	return st;
}

ma_status ma_dns_lookup(const char *name, int timeout_s, int cancel_fd,
			struct ma_dns_facts *out, struct ma_error *err)
{
	memset(out, 0, sizeof *out);
	if (!name || !*name)
		return ma_fail(err, MA_ERR_ARGUMENT, _("no server name"));
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
		out->exists = true;
		return MA_OK;
	}
	unsigned char wire[NS_MAXCDNAME];
	if (!out->name[0] || ns_name_pton(out->name, wire, sizeof wire) < 0)
		return ma_fail(err, MA_ERR_HOST_UNKNOWN, _("%s is not a valid server name"), name);
	struct sockaddr_in ns;
	ma_status st = pick_resolver(&ns, out->resolver, sizeof out->resolver, err);
	if (st != MA_OK)
		return st;
	struct ma_dns_wait w = wait_for(timeout_s, cancel_fd);
	return ns.sin_family == AF_INET ? lookup_own(out, &ns, &w, err) : lookup_system(out, &w, err);
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

/* One query of type for name, through MA_RESOLVER or the system's
 * resolvers: *rep is the reply (empty records when it had an error code).
 * MA_ERR_DNS when nobody answered in time, MA_ERR_CANCELLED. */
static ma_status query(const char *name, int type, int timeout_s, int cancel_fd, struct ma_dns_reply *rep,
		       struct ma_error *err)
{
	struct sockaddr_in ns;
	char label[64];
	ma_status st = pick_resolver(&ns, label, sizeof label, err);
	if (st != MA_OK)
		return st;
	struct ma_dns_wait w = wait_for(timeout_s, cancel_fd);
	struct res_job *j = res_start(name, type, false, &ns, &w, err);
	if (!j)
		return err ? err->status : MA_ERR_NOMEM;
	switch (res_finish(j, &w, rep)) {
	case RES_CANCELLED:
		return ma_fail(err, MA_ERR_CANCELLED, _("while looking up %s"), name);
	case RES_SILENT:
		return ma_fail(err, MA_ERR_DNS, _("no answer from %s within %d s for %s"), label, w.timeout_s,
			       name);
	case RES_REPLY:
		break;
	}
	return MA_OK;
}

/* RFC 2782 and RFC 7505: a target of "." means "not offered here". */
static void target_copy(char *dst, size_t len, const char *text)
{
	snprintf(dst, len, "%s", strcmp(text, ".") == 0 ? "" : text);
}

ma_status ma_dns_srv(const char *service_name, int timeout_s, int cancel_fd,
		     struct ma_dns_srv_rec *out, size_t max, size_t *n, struct ma_error *err)
{
	*n = 0;
	struct ma_dns_reply *rep = malloc(sizeof *rep);
	if (!rep)
		return ma_fail(err, MA_ERR_NOMEM, _("name lookup"));
	ma_status st = query(service_name, MA_DNS_SRV, timeout_s, cancel_fd, rep, err);
	for (size_t i = 0; st == MA_OK && i < rep->n_rr && *n < max; i++) {
		const struct ma_dns_rr *rr = &rep->rr[i];
		if (rr->type != MA_DNS_SRV)
			continue;
		struct ma_dns_srv_rec *s = &out[(*n)++];
		s->priority = rr->priority;
		s->weight = rr->weight;
		s->port = rr->port;
		target_copy(s->target, sizeof s->target, rr->text);
	}
	qsort(out, *n, sizeof *out, srv_cmp);
	free(rep);
	return st;
}

static int mx_cmp(const void *a, const void *b)
{
	const struct ma_dns_mx_rec *x = a, *y = b;
	return x->preference < y->preference ? -1 : x->preference > y->preference;
}

ma_status ma_dns_mx(const char *domain, int timeout_s, int cancel_fd,
		    struct ma_dns_mx_rec *out, size_t max, size_t *n, struct ma_error *err)
{
	*n = 0;
	struct ma_dns_reply *rep = malloc(sizeof *rep);
	if (!rep)
		return ma_fail(err, MA_ERR_NOMEM, _("name lookup"));
	ma_status st = query(domain, MA_DNS_MX, timeout_s, cancel_fd, rep, err);
	for (size_t i = 0; st == MA_OK && i < rep->n_rr && *n < max; i++) {
		const struct ma_dns_rr *rr = &rep->rr[i];
		if (rr->type != MA_DNS_MX)
			continue;
		out[*n].preference = rr->priority;
		target_copy(out[*n].host, sizeof out[*n].host, rr->text);
		(*n)++;
	}
	qsort(out, *n, sizeof *out, mx_cmp);
	free(rep);
	return st;
}
