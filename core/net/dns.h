/* Name lookups: the addresses a connection goes to (the audit's and the
 * doctor's), the DNS facts the connection doctor shows (CNAME chain,
 * RFC 6186 SRV records), and a domain's SRV and MX records for the
 * full-screen form's server suggestions.
 *
 * Addresses come from getaddrinfo, as every other program on the machine
 * gets them: /etc/hosts, nsswitch, every nameserver of resolv.conf (IPv6
 * ones too), its search list and options. The CNAME chain and SRV records
 * come from libresolv (res_nquery in a private resolver state, read with
 * ns_initparse/ns_parserr), which reads the same resolv.conf. Neither call
 * can be interrupted or trusted to end soon, so each runs on a helper
 * thread and every wait is bounded by a deadline and the cancel fd.
 *
 * MA_RESOLVER ("IPv4" or "IPv4:PORT") points the doctor (and the form's
 * SRV and MX lookups) at a resolver of its own instead, for tests that run their own dnsmasq: it becomes the one
 * nameserver of the resolver state, and the doctor's addresses (A and AAAA)
 * are asked of it through res_nquery too, since its test names
 * (mail.alias.test) exist nowhere else. The audit's connections never look
 * at MA_RESOLVER.
 *
 * "Does not exist" is said only when a resolver says so: NXDOMAIN, or
 * getaddrinfo's EAI_NONAME. No answer in time, SERVFAIL and the like are
 * MA_ERR_DNS. No globals: safe from the doctor's cell threads. */
#ifndef MA_DNS_H
#define MA_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

struct addrinfo;

#define MA_DNS_MAX_CHAIN 8
#define MA_DNS_MAX_ADDRS 8
#define MA_DNS_MAX_RR 32

enum { MA_DNS_A = 1, MA_DNS_CNAME = 5, MA_DNS_MX = 15, MA_DNS_AAAA = 28, MA_DNS_SRV = 33 };

/* How long a lookup may wait, and what ends it early. */
struct ma_dns_wait {
	int cancel_fd;           /* readable: give up with MA_ERR_CANCELLED; -1: none */
	int64_t until_ms;        /* monotonic (ma_now_ms): give up then */
	int timeout_s;           /* the bound as the user set it, for messages */
};

/* getaddrinfo(host, port) for TCP, waited for as w says: the addresses a
 * connection tries, in the order the system prefers (freed with
 * freeaddrinfo). No name: MA_ERR_HOST_UNKNOWN; no answer in time or a
 * resolver failure: MA_ERR_DNS; MA_ERR_CANCELLED. */
ma_status ma_dns_getaddrinfo(const char *host, unsigned port, const struct ma_dns_wait *w,
			     struct addrinfo **out, struct ma_error *err);

struct ma_dns_facts {
	char name[256];                          /* as asked, no trailing dot */
	char chain[MA_DNS_MAX_CHAIN][256];       /* CNAME targets in order */
	size_t n_chain;
	char canonical[256];                     /* last name of the chain (= name if none) */
	char addrs[MA_DNS_MAX_ADDRS][46];        /* numeric, in the order a connection tries them */
	size_t n_addrs;
	bool exists;                             /* a resolver knows the name, address or not */
	char resolver[64];                       /* who answered: "the system's resolver" or MA_RESOLVER */
};

struct ma_dns_srv_rec {
	unsigned priority, weight, port;
	char target[256];                        /* "" for "." (service not offered) */
};

struct ma_dns_mx_rec {
	unsigned preference;
	char host[256];                          /* "" for "." (RFC 7505: no mail) */
};

/* One resource record of a parsed reply. */
struct ma_dns_rr {
	char owner[256];
	uint16_t type;
	char text[256];          /* A/AAAA: numeric address; CNAME/SRV/MX: the target name */
	unsigned priority, weight, port;   /* SRV; MX: priority is the preference */
};

struct ma_dns_reply {
	uint16_t id;
	int rcode;               /* 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ... */
	bool truncated;
	char qname[256];         /* the question's name ("" without one) */
	struct ma_dns_rr rr[MA_DNS_MAX_RR];
	size_t n_rr;             /* answer section only, unknown types skipped */
};

/* Addresses and CNAME chain of name. An IP literal answers itself without
 * a query. The resolver says the name does not exist, or it has no
 * address: MA_ERR_HOST_UNKNOWN (out->exists tells which); no answer in time
 * or a resolver failure: MA_ERR_DNS. The chain is best effort: a failure
 * to get it never fails the lookup. out is filled as far as known. */
ma_status ma_dns_lookup(const char *name, int timeout_s, int cancel_fd,
			struct ma_dns_facts *out, struct ma_error *err);

/* SRV records of service_name ("_imaps._tcp.example.com"), sorted by
 * priority then weight (highest first). *n = 0 with MA_OK when none (the
 * name does not exist, has no SRV record, or the resolver failed for it);
 * MA_ERR_DNS only when no resolver answered at all. */
ma_status ma_dns_srv(const char *service_name, int timeout_s, int cancel_fd,
		     struct ma_dns_srv_rec *out, size_t max, size_t *n, struct ma_error *err);

/* MX records of domain, sorted by preference (lowest first), as
 * ma_dns_srv: *n = 0 with MA_OK when none; MA_ERR_DNS only when no
 * resolver answered at all. */
ma_status ma_dns_mx(const char *domain, int timeout_s, int cancel_fd,
		    struct ma_dns_mx_rec *out, size_t max, size_t *n, struct ma_error *err);

/* Reads a reply (any bytes: fuzz-safe) through libresolv's ns_initparse
 * and ns_parserr. MA_ERR_PROTOCOL when it is not a well-formed reply. */
ma_status ma_dns_parse_reply(const unsigned char *buf, size_t len, struct ma_dns_reply *out);

/* Follows the CNAME chain from f->canonical through the records of the
 * replies, at most MA_DNS_MAX_CHAIN steps (a loop ends too), appending to
 * f->chain and moving f->canonical along. With addrs, then adds the A and
 * AAAA records of the chain's end (A first) to f->addrs. Pure: fuzz-safe. */
void ma_dns_follow(struct ma_dns_facts *f, const struct ma_dns_reply *rep, size_t nrep, bool addrs);

/* Parses "IP" or "IP:PORT" (IPv4) into ip and port; false if malformed. */
bool ma_dns_parse_resolver(const char *text, char *ip, size_t iplen, unsigned *port);

#endif
