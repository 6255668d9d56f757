#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "net/dns.h"
#include "audit/findings.h"
#include "base/text.h"
#include "doctor/frontend.h"
#include "doctor/probe.h"

/* ---- rules ---- */

static const char rules_text[] =
	"# comment\n"
	"\n"
	"smtp-#.m#.wedos.net | wesX.smtp.wedos.net | obsolete, may stop without warning\r\n"
	"  *.old.example  |  new.example | retired in 2020\n";

static void rules_parse_and_match(void **state)
{
	(void)state;
	struct ma_rules r;
	struct ma_error err = { 0 };
	assert_int_equal(ma_rules_parse(rules_text, strlen(rules_text), &r, &err), MA_OK);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[0].pattern, "smtp-#.m#.wedos.net");
	assert_string_equal(r.v[0].hint, "wesX.smtp.wedos.net");
	assert_string_equal(r.v[0].note, "obsolete, may stop without warning");
	assert_string_equal(r.v[1].hint, "new.example");

	const struct ma_rule *m = ma_rules_match(&r, "SMTP-12345.m67.wedos.net");
	assert_non_null(m);
	assert_ptr_equal(m, &r.v[0]);
	assert_null(ma_rules_match(&r, "wes1.smtp.wedos.net"));
	assert_null(ma_rules_match(&r, "smtp-.m67.wedos.net"));      /* '#' needs a digit */
	assert_null(ma_rules_match(&r, "smtp-12a.m67.wedos.net"));
	assert_non_null(ma_rules_match(&r, "mail.old.example"));
	assert_null(ma_rules_match(&r, "old.example"));
	ma_rules_free(&r);
}

static void rules_reject_bad_lines(void **state)
{
	(void)state;
	struct ma_rules r;
	struct ma_error err = { 0 };
	const char bad[] = "ok.example | a | b\nmissing bars here\n";
	assert_int_equal(ma_rules_parse(bad, strlen(bad), &r, &err), MA_ERR_ARGUMENT);
	assert_non_null(strstr(err.detail, "line 2"));
	assert_int_equal(r.n, 0);
	assert_null(r.v);
	const char nul[] = "a\0b | c | d\n";
	assert_int_equal(ma_rules_parse(nul, sizeof nul - 1, &r, &err), MA_ERR_ARGUMENT);
	/* empty input: no rules, no error */
	assert_int_equal(ma_rules_parse("", 0, &r, &err), MA_OK);
	assert_int_equal(r.n, 0);
}

/* "mx" lines: which provider serves a domain, by its MX host. Old lines
 * read as before beside them; a malformed mx line names its line. */
static void rules_provider_lines(void **state)
{
	(void)state;
	const char text[] =
		"smtp-#.m#.wedos.net | wesX.smtp.wedos.net | obsolete\n"
		"mx *.wedos.net | WEDOS | wes#.imap.wedos.net | wes#.imap.wedos.net | the Service Addresses table\n"
		"MX\tmx?.example.net | Example | imap.example.net |  | their help page | with a bar\n";
	struct ma_rules r;
	struct ma_error err = { 0 };
	assert_int_equal(ma_rules_parse(text, strlen(text), &r, &err), MA_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.n_prov, 2);
	assert_string_equal(r.prov[0].mx, "*.wedos.net");
	assert_string_equal(r.prov[0].name, "WEDOS");
	assert_string_equal(r.prov[0].imap, "wes#.imap.wedos.net");
	assert_string_equal(r.prov[0].where, "the Service Addresses table");
	assert_string_equal(r.prov[1].pop3, "");
	assert_string_equal(r.prov[1].where, "their help page | with a bar");
	/* An mx rule is no obsolete-name rule, nor the reverse. */
	assert_null(ma_rules_match(&r, "mx1.wedos.net"));
	assert_ptr_equal(ma_rules_provider(&r, "MX1.WEDOS.NET."), &r.prov[0]);
	assert_ptr_equal(ma_rules_provider(&r, "mx2.example.net"), &r.prov[1]);
	assert_null(ma_rules_provider(&r, "mx10.example.net"));
	assert_null(ma_rules_provider(&r, "wedos.net"));
	assert_null(ma_rules_provider(&r, ""));
	assert_null(ma_rules_provider(&r, "."));
	assert_null(ma_rules_provider(NULL, "mx1.wedos.net"));

	char shown[64];
	ma_provider_shown(shown, sizeof shown, r.prov[0].imap);
	assert_string_equal(shown, "wesX.imap.wedos.net");
	ma_provider_shown(shown, 5, r.prov[0].imap);
	assert_string_equal(shown, "wesX");
	assert_true(ma_provider_has_number(r.prov[0].imap));
	assert_false(ma_provider_has_number(r.prov[1].imap));
	/* The customer's number is a glob's digits: a name typed matches. */
	assert_true(ma_glob_match(r.prov[0].imap, "wes7.imap.wedos.net"));
	assert_false(ma_glob_match(r.prov[0].imap, "wesX.imap.wedos.net"));
	ma_rules_free(&r);
	assert_null(r.prov);
	assert_int_equal(r.n_prov, 0);

	static const char *const bad[] = {
		"mx *.wedos.net | WEDOS | wes#.imap.wedos.net | where\n",          /* a field short */
		"mx | WEDOS | a | b | where\n",                                    /* no glob */
		"mx *.x.net y | WEDOS | a | b | where\n",                          /* two globs */
		"mx *.x.net |  | a | b | where\n",                                 /* no provider */
		"mx *.x.net | P |  |  | where\n",                                  /* no server */
		"mx *.x.net | P | imap x.net | b | where\n",                       /* a space */
		"mx *.x.net | P | imap/x.net | b | where\n",                       /* not a name */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char buf[200];
		snprintf(buf, sizeof buf, "# c\n%s", bad[i]);
		assert_int_equal(ma_rules_parse(buf, strlen(buf), &r, &err), MA_ERR_ARGUMENT);
		assert_non_null(strstr(err.detail, "line 2"));
		assert_non_null(strstr(err.detail, "mx MX-GLOB"));
		assert_null(r.prov);
		assert_null(r.v);
	}
	/* "mx" alone, or as the start of a glob, is an obsolete-name pattern. */
	const char old[] = "mx.old.example | new | note\nmx-#.example | new | note\n";
	assert_int_equal(ma_rules_parse(old, strlen(old), &r, &err), MA_OK);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.n_prov, 0);
	ma_rules_free(&r);
}

/* The rules shipped: the obsolete WEDOS names and WEDOS's MX. */
static void rules_shipped_file(void **state)
{
	(void)state;
	char *saved = getenv("MA_RULES") ? strdup(getenv("MA_RULES")) : NULL;
	unsetenv("MA_RULES");
	struct ma_rules r;
	struct ma_error err = { 0 };
	assert_int_equal(ma_rules_load(&r, &err), MA_OK);
	assert_false(r.missing);
	assert_non_null(ma_rules_match(&r, "smtp-12345.m67.wedos.net"));
	const struct ma_provider *p = ma_rules_provider(&r, "mx1.wedos.net");
	assert_non_null(p);
	assert_string_equal(p->name, "WEDOS");
	assert_true(ma_provider_has_number(p->imap));
	assert_string_equal(p->imap, p->pop3);  /* the help page: POP3 too */
	assert_non_null(strstr(p->where, "Service Addresses"));
	/* The exchangers WEDOS's knowledge base names, Webhosting's and
	 * Mailhosting's. */
	static const char *const wedos_mx[] = { "wes1-mx1.wedos.net", "wes1-mx-backup.wedos.net",
						 "mx1.wedos.email", "mx1.wedos.global", "mx1.wedos.com",
						 "mx1.wedos.mx", "mx1.wedos.online" };
	for (size_t i = 0; i < sizeof wedos_mx / sizeof *wedos_mx; i++) {
		p = ma_rules_provider(&r, wedos_mx[i]);
		assert_non_null(p);
		assert_string_equal(p->name, "WEDOS");
	}
	assert_null(ma_rules_provider(&r, "mx1.wedos.example"));
	ma_rules_free(&r);
	if (saved)
		setenv("MA_RULES", saved, 1);
	free(saved);
}

static void glob_edge_cases(void **state)
{
	(void)state;
	assert_true(ma_glob_match("*", ""));
	assert_true(ma_glob_match("a?c", "abc"));
	assert_false(ma_glob_match("a?c", "ac"));
	assert_true(ma_glob_match("#", "0123"));
	assert_false(ma_glob_match("#", ""));
	/* a pathological pattern must finish quickly */
	char text[256];
	memset(text, 'a', 250);
	text[250] = '\0';
	assert_false(ma_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", text));
}

/* The same parser on arbitrary bytes (ASan/UBSan watch): a deterministic
 * generator, no crash and no overrun is the test. */
static void rules_parse_garbage(void **state)
{
	(void)state;
	unsigned x = 12345;
	char buf[512];
	for (int round = 0; round < 2000; round++) {
		size_t n = round % sizeof buf;
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			const char alphabet[] = "ab#*?|\n\r \t.\0";
			buf[i] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
		}
		struct ma_rules r;
		if (ma_rules_parse(buf, n, &r, NULL) == MA_OK) {
			for (size_t k = 0; k < r.n; k++)
				(void)ma_glob_match(r.v[k].pattern, "smtp-1.m2.wedos.net");
			ma_rules_free(&r);
		}
	}
}

/* ---- DNS ---- */

/* Reply to "mail.example.test A": CNAME to wes1.imap.example.net (with
 * a compression pointer back into the question), then its A record. */
static const unsigned char reply_cname[] = {
	0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
	/* question at 12: mail.example.test */
	4, 'm', 'a', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,
	0x00, 0x01, 0x00, 0x01,
	/* answer 1: ptr to 12, CNAME, IN, ttl, rdlen 22 */
	0xC0, 0x0C, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x17,
	4, 'w', 'e', 's', '1', 4, 'i', 'm', 'a', 'p', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	3, 'n', 'e', 't', 0,
	/* answer 2: ptr to the CNAME target (offset 47), A 192.0.2.7 */
	0xC0, 0x2F, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x04,
	192, 0, 2, 7,
};

static void dns_parse_cname_chain(void **state)
{
	(void)state;
	struct ma_dns_reply r;
	assert_int_equal(ma_dns_parse_reply(reply_cname, sizeof reply_cname, &r), MA_OK);
	assert_int_equal(r.id, 0x1234);
	assert_int_equal(r.rcode, 0);
	assert_string_equal(r.qname, "mail.example.test");
	assert_int_equal(r.n_rr, 2);
	assert_int_equal(r.rr[0].type, MA_DNS_CNAME);
	assert_string_equal(r.rr[0].owner, "mail.example.test");
	assert_string_equal(r.rr[0].text, "wes1.imap.example.net");
	assert_int_equal(r.rr[1].type, MA_DNS_A);
	assert_string_equal(r.rr[1].owner, "wes1.imap.example.net");
	assert_string_equal(r.rr[1].text, "192.0.2.7");
}

static void dns_parse_srv_and_rcode(void **state)
{
	(void)state;
	const unsigned char srv[] = {
		0x00, 0x07, 0x81, 0x80, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		1, 'x', 0, 0x00, 0x21, 0x00, 0x01, 0, 0, 0, 60, 0x00, 0x0A,
		0x00, 0x05, 0x00, 0x0A, 0x03, 0xE1, 1, 'h', 0, 0,
	};
	struct ma_dns_reply r;
	assert_int_equal(ma_dns_parse_reply(srv, sizeof srv, &r), MA_OK);
	assert_int_equal(r.n_rr, 1);
	assert_int_equal(r.rr[0].type, MA_DNS_SRV);
	assert_int_equal(r.rr[0].priority, 5);
	assert_int_equal(r.rr[0].weight, 10);
	assert_int_equal(r.rr[0].port, 993);
	assert_string_equal(r.rr[0].text, "h");

	/* MX: the preference, and the exchange through a compression pointer
	 * to the question's name ("mx" + "x"). */
	const unsigned char mx[] = {
		0x00, 0x08, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
		1, 'x', 0, 0x00, 0x0F, 0x00, 0x01,
		0xC0, 0x0C, 0x00, 0x0F, 0x00, 0x01, 0, 0, 0, 60, 0x00, 0x07,
		0x00, 0x0A, 2, 'm', 'x', 0xC0, 0x0C,
		/* a record too short for its preference: skipped */
		0xC0, 0x0C, 0x00, 0x0F, 0x00, 0x01, 0, 0, 0, 60, 0x00, 0x01, 0x00,
	};
	assert_int_equal(ma_dns_parse_reply(mx, sizeof mx, &r), MA_OK);
	assert_string_equal(r.qname, "x");
	assert_int_equal(r.n_rr, 1);
	assert_int_equal(r.rr[0].type, MA_DNS_MX);
	assert_int_equal(r.rr[0].priority, 10);
	assert_string_equal(r.rr[0].text, "mx.x");
	/* Cut anywhere, it is read safely (ASan watches). */
	for (size_t cut = 12; cut < sizeof mx; cut++)
		(void)ma_dns_parse_reply(mx, cut, &r);

	const unsigned char nx[] = { 0, 1, 0x81, 0x83, 0, 0, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(ma_dns_parse_reply(nx, sizeof nx, &r), MA_OK);
	assert_int_equal(r.rcode, 3);
	/* a query, not a reply */
	const unsigned char q[] = { 0, 1, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(ma_dns_parse_reply(q, sizeof q, &r), MA_ERR_PROTOCOL);
}

static void dns_parse_hostile(void **state)
{
	(void)state;
	struct ma_dns_reply r;
	/* a name that points at itself */
	const unsigned char loop[] = { 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1 };
	assert_int_equal(ma_dns_parse_reply(loop, sizeof loop, &r), MA_ERR_PROTOCOL);
	/* every truncation of a good reply is handled */
	for (size_t n = 0; n < sizeof reply_cname; n++)
		(void)ma_dns_parse_reply(reply_cname, n, &r);
	/* and random single-byte mutations of it */
	unsigned char buf[sizeof reply_cname];
	unsigned x = 7;
	for (int round = 0; round < 5000; round++) {
		memcpy(buf, reply_cname, sizeof buf);
		for (int k = 0; k < 3; k++) {
			x = x * 1103515245u + 12345u;
			buf[(x >> 8) % sizeof buf] = (unsigned char)(x >> 20);
		}
		if (ma_dns_parse_reply(buf, sizeof buf, &r) == MA_OK)
			for (size_t i = 0; i < r.n_rr; i++)
				assert_true(strlen(r.rr[i].owner) < 256 && strlen(r.rr[i].text) < 256);
	}
}

static void dns_parse_resolver(void **state)
{
	(void)state;
	char ip[64];
	unsigned port;
	assert_true(ma_dns_parse_resolver("127.0.0.1:5353", ip, sizeof ip, &port));
	assert_string_equal(ip, "127.0.0.1");
	assert_int_equal(port, 5353);
	assert_true(ma_dns_parse_resolver("10.0.0.1", ip, sizeof ip, &port));
	assert_int_equal(port, 53);
	assert_false(ma_dns_parse_resolver("127.0.0.1:", ip, sizeof ip, &port));
	assert_false(ma_dns_parse_resolver("localhost:53", ip, sizeof ip, &port));
	assert_false(ma_dns_parse_resolver("127.0.0.1:70000", ip, sizeof ip, &port));
}

static void dns_literal_needs_no_query(void **state)
{
	(void)state;
	struct ma_dns_facts f;
	assert_int_equal(ma_dns_lookup("127.0.0.1", 1, -1, &f, NULL), MA_OK);
	assert_int_equal(f.n_addrs, 1);
	assert_string_equal(f.addrs[0], "127.0.0.1");
	/* not a name at all: said so, without asking anyone */
	struct ma_error err = { 0 };
	assert_int_equal(ma_dns_lookup("a..b", 1, -1, &f, &err), MA_ERR_HOST_UNKNOWN);
	assert_non_null(strstr(err.detail, "not a valid server name"));
}

/* MA_RESOLVER unset: the system's way, so /etc/hosts answers for
 * localhost (the doctor used to ask resolv.conf's nameserver, which
 * said NXDOMAIN). */
static void dns_localhost_from_hosts_file(void **state)
{
	(void)state;
	char *saved = getenv("MA_RESOLVER") ? strdup(getenv("MA_RESOLVER")) : NULL;
	unsetenv("MA_RESOLVER");
	struct ma_dns_facts f;
	struct ma_error err = { 0 };
	ma_status st = ma_dns_lookup("localhost", 5, -1, &f, &err);
	if (saved)
		setenv("MA_RESOLVER", saved, 1);
	free(saved);
	if (st != MA_OK)
		fail_msg("localhost: %s", err.detail);
	assert_true(f.exists);
	assert_true(f.n_addrs >= 1);
	bool loopback = false;
	for (size_t i = 0; i < f.n_addrs; i++)
		loopback |= strcmp(f.addrs[i], "127.0.0.1") == 0 || strcmp(f.addrs[i], "::1") == 0;
	assert_true(loopback);
	assert_int_equal(f.n_chain, 0);
	assert_string_equal(f.resolver, "the system's resolver");
}

/* A resolver that never answers: every wait ends by the timeout or at
 * once by the cancel fd, as MA_ERR_DNS (no answer), never "does not
 * exist". */
static void dns_silent_resolver_bounded_and_cancellable(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	socklen_t sl = sizeof sa;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	char env[64];
	snprintf(env, sizeof env, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	char *saved = getenv("MA_RESOLVER") ? strdup(getenv("MA_RESOLVER")) : NULL;
	setenv("MA_RESOLVER", env, 1);

	struct ma_dns_facts f;
	struct ma_error err = { 0 };
	int64_t t0 = ma_now_ms();
	assert_int_equal(ma_dns_lookup("mail.example.test", 1, -1, &f, &err), MA_ERR_DNS);
	int64_t took = ma_now_ms() - t0;
	assert_true(took >= 900 && took < 2500);
	assert_non_null(strstr(err.detail, "no answer"));
	assert_false(f.exists);

	struct ma_dns_srv_rec srv[2];
	size_t n = 9;
	assert_int_equal(ma_dns_srv("_imaps._tcp.example.test", 1, -1, srv, 2, &n, &err), MA_ERR_DNS);
	assert_int_equal(n, 0);
	struct ma_dns_mx_rec mx[2];
	n = 9;
	assert_int_equal(ma_dns_mx("example.test", 1, -1, mx, 2, &n, &err), MA_ERR_DNS);
	assert_int_equal(n, 0);

	int cancel[2];
	assert_int_equal(pipe(cancel), 0);
	assert_int_equal(write(cancel[1], "x", 1), 1);
	t0 = ma_now_ms();
	assert_int_equal(ma_dns_lookup("mail.example.test", 30, cancel[0], &f, &err), MA_ERR_CANCELLED);
	assert_true(ma_now_ms() - t0 < 2000);
	t0 = ma_now_ms();
	assert_int_equal(ma_dns_mx("example.test", 30, cancel[0], mx, 2, &n, &err), MA_ERR_CANCELLED);
	assert_true(ma_now_ms() - t0 < 2000);
	close(cancel[0]);
	close(cancel[1]);
	close(fd);
	if (saved)
		setenv("MA_RESOLVER", saved, 1);
	else
		unsetenv("MA_RESOLVER");
	free(saved);
}

/* The chain through the records of two replies: bounded (a loop ends),
 * owners compared without case, addresses of the end only, A first. */
static void dns_follow_chain(void **state)
{
	(void)state;
	static struct ma_dns_reply rep[2];
	memset(rep, 0, sizeof rep);
	struct ma_dns_rr *r = rep[0].rr;
	r[0] = (struct ma_dns_rr){ .owner = "Mail.Example.Test", .type = MA_DNS_CNAME, .text = "mid.example.test" };
	r[1] = (struct ma_dns_rr){ .owner = "mid.example.test", .type = MA_DNS_CNAME, .text = "end.example.net" };
	r[2] = (struct ma_dns_rr){ .owner = "end.example.net", .type = MA_DNS_AAAA, .text = "2001:db8::1" };
	r[3] = (struct ma_dns_rr){ .owner = "other.example", .type = MA_DNS_A, .text = "192.0.2.99" };
	rep[0].n_rr = 4;
	rep[1].rr[0] = (struct ma_dns_rr){ .owner = "END.example.net", .type = MA_DNS_A, .text = "192.0.2.7" };
	rep[1].n_rr = 1;
	struct ma_dns_facts f = { .name = "mail.example.test", .canonical = "mail.example.test" };
	ma_dns_follow(&f, rep, 2, true);
	assert_int_equal(f.n_chain, 2);
	assert_string_equal(f.chain[1], "end.example.net");
	assert_string_equal(f.canonical, "end.example.net");
	assert_int_equal(f.n_addrs, 2);
	assert_string_equal(f.addrs[0], "192.0.2.7");
	assert_string_equal(f.addrs[1], "2001:db8::1");

	memset(rep, 0, sizeof rep);
	rep[0].rr[0] = (struct ma_dns_rr){ .owner = "a.test", .type = MA_DNS_CNAME, .text = "b.test" };
	rep[0].rr[1] = (struct ma_dns_rr){ .owner = "b.test", .type = MA_DNS_CNAME, .text = "a.test" };
	rep[0].n_rr = 2;
	struct ma_dns_facts g = { .name = "a.test", .canonical = "a.test" };
	ma_dns_follow(&g, rep, 1, true);
	assert_int_equal(g.n_chain, MA_DNS_MAX_CHAIN);
	assert_int_equal(g.n_addrs, 0);
}

/* ---- certificates and text ---- */

static void cert_covers_names(void **state)
{
	(void)state;
	const char *sans = "DNS:wes1.imap.wedos.net, DNS:*.smtp.wedos.net, IP:192.0.2.1";
	assert_true(ma_cert_covers(sans, "WES1.imap.wedos.net"));
	assert_true(ma_cert_covers(sans, "wes2.smtp.wedos.net"));
	assert_false(ma_cert_covers(sans, "a.b.smtp.wedos.net"));
	assert_false(ma_cert_covers(sans, "smtp.wedos.net"));
	assert_true(ma_cert_covers(sans, "192.0.2.1"));
	assert_false(ma_cert_covers(sans, "imap.mydomain.cz"));
	assert_false(ma_cert_covers("", "x"));
}

static void text_fits_78_columns(void **state)
{
	(void)state;
	struct ma_probe_result r = { 0 };
	snprintf(r.address, sizeof r.address, "ladik@wds-test.cz");
	snprintf(r.login, sizeof r.login, "ladik");
	r.n_cells = 2;
	struct ma_probe_cell *c = &r.cells[0];
	c->slot = MA_PROBE_IMAPS;
	c->proto = MA_PROTO_IMAP;
	snprintf(c->ep.host, sizeof c->ep.host, "smtp-12345.m67.wedos.net");
	c->ep.port = 993;
	c->ep.security = MA_SEC_TLS;
	snprintf(c->how_found, sizeof c->how_found, "given");
	c->status = MA_ERR_CERT_NAME_MISMATCH;
	snprintf(c->err.detail, sizeof c->err.detail,
		 "asked for smtp-12345.m67.wedos.net, but the certificate covers: DNS:wes1.imap.wedos.net, "
		 "DNS:wes2.imap.wedos.net, DNS:wes3.imap.wedos.net, DNS:averyveryveryveryveryveryveryveryvery"
		 "veryveryveryveryveryverylongname.example");
	c->dns_ok = true;
	c->dns.n_chain = 1;
	snprintf(c->dns.chain[0], sizeof c->dns.chain[0], "wes1.imap.wedos.net");
	c->dns.n_addrs = 1;
	snprintf(c->dns.addrs[0], sizeof c->dns.addrs[0], "192.0.2.10");
	c = &r.cells[1];
	c->slot = MA_PROBE_SUBMISSION;
	c->proto = MA_PROTO_SMTP;
	snprintf(c->ep.host, sizeof c->ep.host, "wes1.smtp.wedos.net");
	c->ep.port = 587;
	c->ep.security = MA_SEC_STARTTLS;
	c->status = MA_OK;
	c->cert_ok = c->login_tried = c->login_ok = true;
	snprintf(c->cert.tls_version, sizeof c->cert.tls_version, "TLSv1.3");
	snprintf(c->caps, sizeof c->caps, "STARTTLS SIZE 8BITMIME PIPELINING AUTH=PLAIN AUTH=LOGIN");

	char title[] = "smtp-12345.m67.wedos.net is an obsolete server name";
	char evidence[] = "Addresses of the form smtp-12345.m67.wedos.net are obsolete and servers with "
			  "these addresses may shut down without warning.\nCurrent names look like: "
			  "wesX.smtp.wedos.net";
	struct ma_finding f = { "host-obsolete", MA_SEV_WARNING, title, evidence, "why text", "fix text" };
	r.findings = &f;
	r.n_findings = 1;

	char *text = NULL;
	assert_int_equal(ma_probe_text(&r, &text), MA_OK);
	assert_non_null(text);
	assert_non_null(strstr(text, "[WARNING] host-obsolete"));
	assert_non_null(strstr(text, "-> wes1.imap.wedos.net = 192.0.2.10"));
	assert_non_null(strstr(text, "cert-name-mismatch"));
	assert_non_null(strstr(text, "login accepted"));
	for (const char *p = text; *p;) {
		size_t l = strcspn(p, "\n");
		if (l > 78)
			fail_msg("line longer than 78 columns: %.*s", (int)l, p);
		p += l + (p[l] == '\n');
	}
	free(text);
}

/* ---- findings: one table for the audit and the doctor ---- */

static void findings_table_is_whole(void **state)
{
	(void)state;
	for (int k = 0; k < MA_KIND_COUNT; k++) {
		const char *code = ma_kind_code((enum ma_kind)k);
		assert_true(code[0] != '\0' && strcmp(code, "?") != 0);
		for (int j = 0; j < k; j++)
			if (strcmp(code, ma_kind_code((enum ma_kind)j)) == 0)
				fail_msg("code %s twice in the table", code);
		for (int g = MA_GRADE_MILD; g <= MA_GRADE_GRAVE; g++) {
			enum ma_severity sev = ma_kind_severity((enum ma_kind)k, (enum ma_grade)g);
			assert_true(sev >= MA_SEV_OK && sev <= MA_SEV_CRITICAL);
		}
		/* Grades go from mild to grave. */
		assert_true(ma_kind_severity((enum ma_kind)k, MA_GRADE_MILD)
			    <= ma_kind_severity((enum ma_kind)k, MA_GRADE_USUAL));
	}
	assert_string_equal(ma_kind_code(MA_K_HOST_UNKNOWN), "host-unknown");
	assert_string_equal(ma_kind_code(MA_K_BEST_SETTINGS), "best-settings");
	assert_string_equal(ma_kind_code(MA_KIND_COUNT), "?");
	assert_int_equal(ma_kind_severity(MA_K_LOGIN, MA_GRADE_USUAL), MA_SEV_INFO);
	assert_int_equal(ma_kind_severity(MA_K_LOGIN, MA_GRADE_GRAVE), MA_SEV_WARNING);
	assert_int_equal(ma_kind_severity(MA_K_BEST_SETTINGS, MA_GRADE_MILD), MA_SEV_OK);
	assert_int_equal(ma_kind_severity(MA_K_BEST_SETTINGS, MA_GRADE_USUAL), MA_SEV_INFO);
	assert_int_equal(ma_kind_severity(MA_K_BEST_SETTINGS, MA_GRADE_GRAVE), MA_SEV_CRITICAL);
	assert_int_equal(ma_kind_severity(MA_K_DNS_FAILED, MA_GRADE_USUAL), MA_SEV_UNKNOWN);
	assert_int_equal(ma_kind_severity(MA_K_CERT_SOON, MA_GRADE_USUAL), MA_SEV_WARNING);
}

static const struct ma_finding *finding(const struct ma_probe_result *r, const char *code)
{
	for (size_t i = 0; i < r->n_findings; i++)
		if (strcmp(r->findings[i].code, code) == 0)
			return &r->findings[i];
	return NULL;
}

/* The doctor's checks over cells filled by hand: severities from the table,
 * worst first, and the kinds it shares with the audit say what the audit
 * says. */
static void doctor_findings_from_cells(void **state)
{
	(void)state;
	struct ma_probe_result r = { 0 };
	snprintf(r.address, sizeof r.address, "ladik@wds-test.cz");
	snprintf(r.login, sizeof r.login, "ladik");
	r.n_cells = 3;
	struct ma_probe_cell *c = &r.cells[0];
	c->proto = MA_PROTO_IMAP;
	c->ep.security = MA_SEC_TLS;
	c->ep.port = 993;
	snprintf(c->ep.host, sizeof c->ep.host, "imap.example.test");
	c->dns_ok = c->greeting_ok = c->cert_ok = true;
	c->login_tried = c->alt_login_tried = c->alt_login_ok = true;
	c->status = c->login_status = MA_ERR_LOGIN;
	c->cert.not_after_t = time(NULL) + 5 * 86400;
	snprintf(c->cert.not_after, sizeof c->cert.not_after, "2030-01-01 00:00:00 UTC");
	c = &r.cells[1];
	c->proto = MA_PROTO_POP3;
	c->ep.security = MA_SEC_STARTTLS;
	c->ep.port = 110;
	snprintf(c->ep.host, sizeof c->ep.host, "smtp-12345.m67.wedos.net");
	c->dns_ok = c->greeting_ok = true;
	c->status = MA_ERR_STARTTLS_MISSING;
	c = &r.cells[2];
	c->proto = MA_PROTO_SMTP;
	c->ep.security = MA_SEC_TLS;
	c->ep.port = 465;
	snprintf(c->ep.host, sizeof c->ep.host, "smtp.example.test");
	c->status = MA_ERR_HOST_UNKNOWN;
	snprintf(c->err.detail, sizeof c->err.detail, "smtp.example.test");

	static const char rules_txt[] = "smtp-#.m#.wedos.net | wesX.smtp.wedos.net | obsolete\n";
	struct ma_rules rules;
	assert_int_equal(ma_rules_parse(rules_txt, strlen(rules_txt), &rules, NULL), MA_OK);
	assert_int_equal(ma_probe_analyze(&r, &rules), MA_OK);
	ma_rules_free(&rules);

	for (size_t i = 1; i < r.n_findings; i++)
		assert_true(r.findings[i - 1].severity >= r.findings[i].severity);
	const struct ma_finding *f = finding(&r, "host-unknown");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_CRITICAL);
	assert_non_null(f = finding(&r, "host-obsolete"));
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_non_null(f = finding(&r, "starttls-missing"));
	assert_string_equal(f->title, "STARTTLS is not offered on 1 port(s)");
	assert_non_null(f = finding(&r, "best-settings"));
	assert_int_equal(f->severity, MA_SEV_INFO);
	assert_null(finding(&r, "login-rejected"));

	/* The kinds the audit reports too: its texts, the table's severity. */
	struct ma_findings audit = { 0 };
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, "x");
	ma_findings_add(&audit, MA_K_LOGIN, MA_GRADE_USUAL, &t, &e, NULL);
	t = (struct ma_buf){ 0 };
	e = (struct ma_buf){ 0 };
	ma_buf_printf(&t, "y");
	ma_findings_add(&audit, MA_K_CERT_SOON, MA_GRADE_USUAL, &t, &e, NULL);
	assert_int_equal(audit.n, 2);
	assert_non_null(f = finding(&r, "login-not-full-address"));
	assert_int_equal(f->severity, MA_SEV_WARNING);   /* refused: graver than the audit's INFO */
	assert_int_equal(audit.v[0].severity, MA_SEV_INFO);
	assert_string_equal(f->why, audit.v[0].why);
	assert_string_equal(f->fix, audit.v[0].fix);
	assert_string_equal(f->evidence, "login \"ladik\" was refused; \"ladik@wds-test.cz\" was accepted");
	assert_non_null(f = finding(&r, "cert-expires-soon"));
	assert_int_equal(f->severity, audit.v[1].severity);
	assert_string_equal(f->why, audit.v[1].why);
	assert_string_equal(f->fix, audit.v[1].fix);
	assert_string_equal(f->evidence, "IMAP 993 (SSL/TLS): expires 2030-01-01 00:00:00 UTC");
	ma_findings_clear(&audit);
	assert_null(audit.v);

	for (size_t i = 0; i < r.n_findings; i++)
		ma_finding_clear(&r.findings[i]);
	free(r.findings);
}

/* text with each line break and the indent after it made one space, so a
 * phrase is found wherever the wrapping broke it. */
static void unwrap(char *text)
{
	char *o = text;
	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			while (p[1] == ' ')
				p++;
			*o++ = ' ';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

static void free_findings(struct ma_probe_result *r)
{
	for (size_t i = 0; i < r->n_findings; i++)
		ma_finding_clear(&r->findings[i]);
	free(r->findings);
	r->findings = NULL;
	r->n_findings = 0;
}

/* One cell per protocol on localhost, each connecting with a valid
 * certificate and ending in st (with login refused when st is
 * MA_ERR_LOGIN), or failing at DNS when st is MA_ERR_DNS. */
static void three_cells(struct ma_probe_result *r, ma_status st)
{
	memset(r, 0, sizeof *r);
	snprintf(r->address, sizeof r->address, "alice@example.test");
	snprintf(r->login, sizeof r->login, "alice@example.test");
	static const enum ma_proto protos[3] = { MA_PROTO_IMAP, MA_PROTO_POP3, MA_PROTO_SMTP };
	static const unsigned ports[3] = { 993, 995, 465 };
	r->n_cells = 3;
	for (size_t i = 0; i < 3; i++) {
		struct ma_probe_cell *c = &r->cells[i];
		c->proto = protos[i];
		c->ep.security = MA_SEC_TLS;
		c->ep.port = ports[i];
		snprintf(c->ep.host, sizeof c->ep.host, "localhost");
		c->status = st;
		if (st == MA_ERR_DNS) {
			snprintf(c->err.detail, sizeof c->err.detail, "no answer from the system's resolver");
			continue;
		}
		c->dns_ok = c->tcp_ok = c->greeting_ok = c->tls_ok = c->cert_ok = true;
		snprintf(c->cert.tls_version, sizeof c->cert.tls_version, "TLSv1.3");
		if (st == MA_ERR_LOGIN) {
			c->login_tried = true;
			c->login_status = MA_ERR_LOGIN;
			snprintf(c->err.detail, sizeof c->err.detail, "[AUTHENTICATIONFAILED] Authentication failed.");
		}
	}
}

/* Issue 16: a wrong password was "[OK] best-settings ... login refused",
 * and its cells said "login failed: login". */
static void doctor_wrong_password_is_nothing_working(void **state)
{
	(void)state;
	struct ma_probe_result r;
	three_cells(&r, MA_ERR_LOGIN);
	assert_int_equal(ma_probe_analyze(&r, NULL), MA_OK);
	const struct ma_finding *f = finding(&r, "best-settings");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_CRITICAL);
	assert_non_null(strstr(f->title, "Nothing works"));
	assert_null(strstr(f->evidence, "login refused"));
	assert_non_null(strstr(f->evidence, "IMAP: no working combination; localhost port 993 SSL/TLS connects, "
				"but the server refused the login name or password"));
	assert_int_equal(ma_probe_worst(&r), MA_SEV_CRITICAL);
	char *text = NULL;
	assert_int_equal(ma_probe_text(&r, &text), MA_OK);
	unwrap(text);
	assert_null(strstr(text, "login failed: login"));
	assert_null(strstr(text, "[OK] best-settings"));
	assert_non_null(strstr(text, "login failed: the server rejected the login name or password"));
	free(text);
	free_findings(&r);

	/* without a password nothing was refused: the same cells work */
	three_cells(&r, MA_OK);
	assert_int_equal(ma_probe_analyze(&r, NULL), MA_OK);
	assert_non_null(f = finding(&r, "best-settings"));
	assert_int_equal(f->severity, MA_SEV_OK);
	assert_int_equal(ma_probe_worst(&r), MA_SEV_OK);
	free_findings(&r);

	/* every port closed: nothing works, CRITICAL */
	three_cells(&r, MA_ERR_REFUSED);
	for (size_t i = 0; i < 3; i++)
		r.cells[i].greeting_ok = r.cells[i].tls_ok = r.cells[i].cert_ok = false;
	assert_int_equal(ma_probe_analyze(&r, NULL), MA_OK);
	assert_non_null(f = finding(&r, "best-settings"));
	assert_int_equal(f->severity, MA_SEV_CRITICAL);
	assert_int_equal(ma_severity_exit_code(ma_probe_worst(&r)), 2);
	free_findings(&r);
}

/* No resolver answered: nothing could be tested, which is UNKNOWN (exit
 * 3), not CRITICAL and not OK. */
static void doctor_dns_silence_is_unknown(void **state)
{
	(void)state;
	struct ma_probe_result r;
	three_cells(&r, MA_ERR_DNS);
	assert_int_equal(ma_probe_analyze(&r, NULL), MA_OK);
	const struct ma_finding *f = finding(&r, "dns-failed");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_UNKNOWN);
	assert_non_null(strstr(f->evidence, "no answer from the system's resolver"));
	assert_non_null(f = finding(&r, "best-settings"));
	assert_int_equal(f->severity, MA_SEV_INFO);
	assert_non_null(strstr(f->title, "could not be looked up"));
	assert_null(finding(&r, "host-unknown"));
	assert_int_equal(ma_probe_worst(&r), MA_SEV_UNKNOWN);
	assert_int_equal(ma_severity_exit_code(ma_probe_worst(&r)), 3);
	free_findings(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rules_parse_and_match),
		cmocka_unit_test(rules_reject_bad_lines),
		cmocka_unit_test(rules_provider_lines),
		cmocka_unit_test(rules_shipped_file),
		cmocka_unit_test(glob_edge_cases),
		cmocka_unit_test(rules_parse_garbage),
		cmocka_unit_test(dns_parse_cname_chain),
		cmocka_unit_test(dns_parse_srv_and_rcode),
		cmocka_unit_test(dns_parse_hostile),
		cmocka_unit_test(dns_parse_resolver),
		cmocka_unit_test(dns_literal_needs_no_query),
		cmocka_unit_test(dns_localhost_from_hosts_file),
		cmocka_unit_test(dns_silent_resolver_bounded_and_cancellable),
		cmocka_unit_test(dns_follow_chain),
		cmocka_unit_test(cert_covers_names),
		cmocka_unit_test(text_fits_78_columns),
		cmocka_unit_test(findings_table_is_whole),
		cmocka_unit_test(doctor_findings_from_cells),
		cmocka_unit_test(doctor_wrong_password_is_nothing_working),
		cmocka_unit_test(doctor_dns_silence_is_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
