#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "doctor/frontend.h"

static void endpoint(struct ma_endpoint *ep, const char *host, unsigned port, enum ma_security s)
{
	snprintf(ep->host, sizeof ep->host, "%s", host);
	ep->port = port;
	ep->security = s;
}

/* Protocols without a server of their own go to the audited host; a
 * configured port lands in the cell of its security. */
static void request_for_imap_account(void **state)
{
	(void)state;
	struct ma_account a;
	memset(&a, 0, sizeof a);
	snprintf(a.login, sizeof a.login, "jo@example.com");
	a.has_imap = true;
	endpoint(&a.imap, "imap.example.com", 1143, MA_SEC_STARTTLS);
	struct ma_probe_request req;
	memset(&req, 0xff, sizeof req);
	ma_probe_request_for(&a, &req);
	assert_string_equal(req.address, "jo@example.com");
	assert_string_equal(req.login, "jo@example.com");
	assert_ptr_equal(req.imap_host, a.imap.host);
	assert_ptr_equal(req.pop3_host, a.imap.host);
	assert_ptr_equal(req.smtp_host, a.imap.host);
	assert_int_equal(req.port[MA_PROBE_IMAP], 1143);
	assert_int_equal(req.port[MA_PROBE_IMAPS], 0);
	assert_int_equal(req.port[MA_PROBE_POP3S], 0);
	assert_null(req.password);
	assert_null(req.rules);
	assert_int_equal(req.slots, 0);
}

static void request_for_pop3_account(void **state)
{
	(void)state;
	struct ma_account a;
	memset(&a, 0, sizeof a);
	snprintf(a.login, sizeof a.login, "jo");
	snprintf(a.address, sizeof a.address, "jo@example.net");
	a.has_pop3 = a.has_smtp = true;
	endpoint(&a.pop3, "pop.example.net", 995, MA_SEC_TLS);
	endpoint(&a.smtp, "smtp.example.net", 2525, MA_SEC_PLAIN);
	struct ma_probe_request req;
	ma_probe_request_for(&a, &req);
	assert_string_equal(req.address, "jo@example.net");
	assert_string_equal(req.login, "jo");
	assert_ptr_equal(req.imap_host, a.pop3.host);
	assert_ptr_equal(req.pop3_host, a.pop3.host);
	assert_ptr_equal(req.smtp_host, a.smtp.host);
	assert_int_equal(req.port[MA_PROBE_POP3S], 995);
	assert_int_equal(req.port[MA_PROBE_SUBMISSION], 2525);  /* plain: the STARTTLS cell */

	/* Neither an address nor a login with '@': no address, no login. */
	memset(&a, 0, sizeof a);
	ma_probe_request_for(&a, &req);
	assert_null(req.address);
	assert_null(req.login);
	assert_null(req.imap_host);
}

static void worst(void **state)
{
	(void)state;
	struct ma_probe_result r;
	memset(&r, 0, sizeof r);
	assert_int_equal(ma_probe_worst(&r), MA_SEV_OK);
	struct ma_finding f[3] = {
		{ .severity = MA_SEV_INFO }, { .severity = MA_SEV_CRITICAL }, { .severity = MA_SEV_WARNING },
	};
	r.findings = f;
	r.n_findings = 3;
	assert_int_equal(ma_probe_worst(&r), MA_SEV_CRITICAL);
	r.n_findings = 1;
	assert_int_equal(ma_probe_worst(&r), MA_SEV_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_for_imap_account),
		cmocka_unit_test(request_for_pop3_account),
		cmocka_unit_test(worst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
