/* net/endpoint.c's additions of issue 16: /ssl as /tls, and what a
 * greeting line says about the port (the sessions' naming of a wrong port). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "net/endpoint.h"

#define L(s) (s), strlen(s)

static void ssl_is_tls(void **state)
{
	(void)state;
	struct ma_endpoint ep;
	struct ma_error err = { 0 };
	assert_int_equal(ma_endpoint_parse(L("mail.example.com/ssl"), MA_PROTO_IMAP, &ep, &err), MA_OK);
	assert_int_equal(ep.security, MA_SEC_TLS);
	assert_int_equal(ep.port, 993);
	assert_int_equal(ma_endpoint_parse(L("pop.example.com:995/SSL"), MA_PROTO_POP3, &ep, &err), MA_OK);
	assert_int_equal(ep.security, MA_SEC_TLS);
	assert_int_equal(ep.port, 995);
	/* An unknown suffix names both spellings of TLS. */
	assert_int_equal(ma_endpoint_parse(L("h/ssl3"), MA_PROTO_IMAP, &ep, &err), MA_ERR_ARGUMENT);
	assert_non_null(strstr(err.detail, "/tls (or /ssl)"));
}

static void expect_proto(const char *line, enum ma_proto want)
{
	enum ma_proto got = (enum ma_proto)-1;
	if (!ma_greeting_proto(L(line), &got) || got != want)
		fail_msg("\"%s\": want %s, got %s", line, ma_proto_name(want), ma_proto_name(got));
}

static void expect_none(const char *line, size_t len)
{
	enum ma_proto got;
	if (ma_greeting_proto(line, len, &got))
		fail_msg("\"%.*s\" taken for %s", (int)len, line, ma_proto_name(got));
}

static void greetings(void **state)
{
	(void)state;
	expect_proto("+OK Dovecot ready.", MA_PROTO_POP3);
	expect_proto("+OK", MA_PROTO_POP3);
	expect_proto("-ERR [SYS/TEMP] go away", MA_PROTO_POP3);
	expect_proto("* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.", MA_PROTO_IMAP);
	expect_proto("* ok lower case", MA_PROTO_IMAP);
	expect_proto("* PREAUTH welcome", MA_PROTO_IMAP);
	expect_proto("* BYE [UNAVAILABLE] shutting down", MA_PROTO_IMAP);
	expect_proto("220 mail.example.com ESMTP", MA_PROTO_SMTP);
	expect_proto("220-mail.example.com ESMTP", MA_PROTO_SMTP);
	expect_proto("554 no service", MA_PROTO_SMTP);

	expect_none(L(""));
	expect_none(NULL, 0);
	expect_none(L("* OKAY"));
	expect_none(L("*OK"));
	expect_none(L("+O"));
	expect_none(L("22 short"));
	expect_none(L("2200 four digits"));
	expect_none(L("abc def"));
	expect_none(L("\x16\x03\x03\x00\x2a"));   /* a TLS handshake record */
	expect_none(L("\x15\x03\x01\x00\x02"));   /* a TLS alert */
	/* Only the given bytes count. */
	expect_none("+OK", 2);
	expect_none("* OK", 3);
}

static void implicit_tls_ports(void **state)
{
	(void)state;
	assert_true(ma_port_implicit_tls(993));
	assert_true(ma_port_implicit_tls(995));
	assert_true(ma_port_implicit_tls(465));
	assert_false(ma_port_implicit_tls(143));
	assert_false(ma_port_implicit_tls(110));
	assert_false(ma_port_implicit_tls(587));
	assert_false(ma_port_implicit_tls(0));
}

static void where_the_protocol_is(void **state)
{
	(void)state;
	char buf[80];
	ma_proto_ports_text(MA_PROTO_IMAP, buf, sizeof buf);
	assert_string_equal(buf, "IMAP is on 993 (SSL/TLS) or 143 (STARTTLS)");
	ma_proto_ports_text(MA_PROTO_POP3, buf, sizeof buf);
	assert_string_equal(buf, "POP3 is on 995 (SSL/TLS) or 110 (STARTTLS)");
	ma_proto_ports_text(MA_PROTO_SMTP, buf, sizeof buf);
	assert_string_equal(buf, "SMTP is on 465 (SSL/TLS) or 587 (STARTTLS)");
	ma_proto_ports_text(MA_PROTO_IMAP, buf, 8);
	assert_string_equal(buf, "IMAP is");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ssl_is_tls),
		cmocka_unit_test(greetings),
		cmocka_unit_test(implicit_tls_ports),
		cmocka_unit_test(where_the_protocol_is),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
