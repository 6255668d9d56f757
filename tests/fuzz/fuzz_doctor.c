/* libFuzzer target for the connection doctor's input surfaces: the provider
 * rules file (obsolete names and providers' mx lines), glob and
 * certificate-name matching, and DNS replies (CNAME, A, AAAA, SRV, MX).
 *
 * The first byte picks the surface; the rest is the input. For matching,
 * the input is split at the first NUL into pattern (or SAN list) and host.
 * A DNS reply is what a resolver sends back to res_nquery: our reading of
 * it (ns_initparse, ns_parserr, ns_name_uncompress and what we take from
 * each record), then the CNAME chain and addresses followed through it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"
#include "doctor/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splits buf at the first NUL into two NUL-terminated copies. */
static void split(const uint8_t *buf, size_t len, char **a, char **b)
{
	const uint8_t *nul = memchr(buf, 0, len);
	size_t la = nul ? (size_t)(nul - buf) : len;
	size_t lb = nul ? len - la - 1 : 0;
	*a = malloc(la + 1);
	*b = malloc(lb + 1);
	if (!*a || !*b)
		abort();
	memcpy(*a, buf, la);
	(*a)[la] = '\0';
	if (lb)
		memcpy(*b, nul + 1, lb);
	(*b)[lb] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (data[0] % 4) {
	case 0: {
		struct ma_rules rules = { 0 };
		struct ma_error err;
		if (ma_rules_parse((const char *)p, n, &rules, &err) == MA_OK) {
			/* Every parsed rule must be usable against any host. */
			(void)ma_rules_match(&rules, "smtp-12345.m67.wedos.net");
			(void)ma_rules_match(&rules, "");
			(void)ma_rules_provider(&rules, "mx1.wedos.net.");
			(void)ma_rules_provider(&rules, "");
			/* What the form shows of a provider's names. */
			for (size_t i = 0; i < rules.n_prov; i++) {
				char shown[128];
				ma_provider_shown(shown, sizeof shown, rules.prov[i].imap);
				ma_provider_shown(shown, sizeof shown, rules.prov[i].pop3);
				if (strlen(shown) >= sizeof shown || (ma_provider_has_number(rules.prov[i].pop3)
								      && !strchr(shown, 'X')))
					abort();
			}
		}
		ma_rules_free(&rules);
		break;
	}
	case 1: {
		char *pat, *host;
		split(p, n, &pat, &host);
		(void)ma_glob_match(pat, host);
		free(pat);
		free(host);
		break;
	}
	case 2: {
		char *sans, *host;
		split(p, n, &sans, &host);
		(void)ma_cert_covers(sans, host);
		free(sans);
		free(host);
		break;
	}
	default: {
		static struct ma_dns_reply rep;
		if (ma_dns_parse_reply(p, n, &rep) != MA_OK)
			break;
		if (rep.n_rr > MA_DNS_MAX_RR)
			abort();
		for (size_t i = 0; i < rep.n_rr; i++)
			if (strnlen(rep.rr[i].owner, 256) == 256 || strnlen(rep.rr[i].text, 256) == 256)
				abort();
		/* The chain as the doctor follows it, from the question's name. */
		static struct ma_dns_facts f;
		memset(&f, 0, sizeof f);
		snprintf(f.name, sizeof f.name, "%s", rep.qname);
		snprintf(f.canonical, sizeof f.canonical, "%s", rep.qname);
		ma_dns_follow(&f, &rep, 1, true);
		if (f.n_chain > MA_DNS_MAX_CHAIN || f.n_addrs > MA_DNS_MAX_ADDRS
		    || strnlen(f.canonical, sizeof f.canonical) == sizeof f.canonical)
			abort();
		break;
	}
	}
	return 0;
}
