/* DNS facts for the connection doctor: where a name points (CNAME chain,
 * addresses) and RFC 6186 SRV records, asked of a resolver directly.
 *
 * Why not getaddrinfo: it hides the CNAME chain (the certificate advice
 * needs it), cannot be cancelled, and cannot be pointed at a test resolver.
 * Queries go over UDP to MA_RESOLVER ("IP" or "IP:PORT", tests run their own
 * dnsmasq on loopback) or else to the first IPv4 nameserver of
 * /etc/resolv.conf. Every wait is bounded by the timeout and the cancel fd.
 * No threads, no globals: safe from the probe's cell threads. */
#ifndef MA_DNS_H
#define MA_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define MA_DNS_MAX_CHAIN 8
#define MA_DNS_MAX_ADDRS 8
#define MA_DNS_MAX_RR 32

enum { MA_DNS_A = 1, MA_DNS_CNAME = 5, MA_DNS_AAAA = 28, MA_DNS_SRV = 33 };

struct ma_dns_facts {
	char name[256];                          /* as asked, no trailing dot */
	char chain[MA_DNS_MAX_CHAIN][256];       /* CNAME targets in order */
	size_t n_chain;
	char canonical[256];                     /* last name of the chain (= name if none) */
	char addrs[MA_DNS_MAX_ADDRS][46];        /* numeric, IPv4 first */
	size_t n_addrs;
	char resolver[64];                       /* who answered, for the report */
};

struct ma_dns_srv_rec {
	unsigned priority, weight, port;
	char target[256];                        /* "" for "." (service not offered) */
};

/* One resource record of a parsed reply. */
struct ma_dns_rr {
	char owner[256];
	uint16_t type;
	char text[256];          /* A/AAAA: numeric address; CNAME/SRV: the target name */
	unsigned priority, weight, port;   /* SRV only */
};

struct ma_dns_reply {
	uint16_t id;
	int rcode;               /* 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ... */
	bool truncated;
	struct ma_dns_rr rr[MA_DNS_MAX_RR];
	size_t n_rr;             /* answer section only, unknown types skipped */
};

/* Addresses (A then AAAA) and CNAME chain of name. An IP literal answers
 * itself without a query. NXDOMAIN or no address: MA_ERR_HOST_UNKNOWN;
 * no reply in time or SERVFAIL: MA_ERR_DNS. out is filled as far as known. */
ma_status ma_dns_lookup(const char *name, int timeout_s, int cancel_fd,
			struct ma_dns_facts *out, struct ma_error *err);

/* SRV records of service_name ("_imaps._tcp.example.com"), sorted by
 * priority then weight (highest first). *n = 0 with MA_OK when none. */
ma_status ma_dns_srv(const char *service_name, int timeout_s, int cancel_fd,
		     struct ma_dns_srv_rec *out, size_t max, size_t *n, struct ma_error *err);

/* Builds a query for name/qtype into buf (RD set). Returns the length, 0
 * if the name does not fit or is not a valid DNS name. */
size_t ma_dns_build_query(uint16_t id, const char *name, uint16_t qtype,
			  unsigned char *buf, size_t len);

/* Bounded parser of a reply (any bytes: fuzz-safe). MA_ERR_PROTOCOL when
 * it is not a well-formed reply. */
ma_status ma_dns_parse_reply(const unsigned char *buf, size_t len, struct ma_dns_reply *out);

/* Parses "IP" or "IP:PORT" (IPv4) into a and port; false if malformed. */
bool ma_dns_parse_resolver(const char *text, char *ip, size_t iplen, unsigned *port);

#endif
