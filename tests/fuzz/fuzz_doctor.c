/* libFuzzer target for the connection doctor's input surfaces: the provider
 * rules file, glob and certificate-name matching, and DNS replies.
 *
 * The first byte picks the surface; the rest is the input. For matching,
 * the input is split at the first NUL into pattern (or SAN list) and host. */
#include <stddef.h>
#include <stdint.h>
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
		struct ma_dns_reply rep;
		(void)ma_dns_parse_reply(p, n, &rep);
		break;
	}
	}
	return 0;
}
