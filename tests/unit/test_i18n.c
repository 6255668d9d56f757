/* The message catalogue: Czech plural forms (1 zpráva, 2 zprávy, 5 zpráv),
 * English by default and in the C locale, and the severity words: the
 * label translated, the name (the monitoring line's) never. Needs the
 * cs_CZ.UTF-8 locale (make deps generates it) and the build's locale tree:
 * without either it fails, never skips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit/findings.h"
#include "base/i18n.h"

static const char *lost(unsigned long long n)
{
	static char buf[200];
	snprintf(buf, sizeof buf, P_("%llu lost message", "%llu lost messages", n), n);
	return buf;
}

static void use(const char *locale)
{
	setenv("LC_ALL", locale, 1);
	unsetenv("LANGUAGE");
	const char *dir = ma_i18n_init();
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
}

static void czech_plurals(void **state)
{
	(void)state;
	use("cs_CZ.UTF-8");
	assert_non_null(setlocale(LC_MESSAGES, NULL));
	assert_string_equal(setlocale(LC_MESSAGES, NULL), "cs_CZ.UTF-8");
	assert_string_equal(lost(1), "1 ztracená zpráva");
	assert_string_equal(lost(2), "2 ztracené zprávy");
	assert_string_equal(lost(3), "3 ztracené zprávy");
	assert_string_equal(lost(4), "4 ztracené zprávy");
	assert_string_equal(lost(5), "5 ztracených zpráv");
	assert_string_equal(lost(0), "0 ztracených zpráv");
	/* Czech, unlike Polish or Russian, does not go back to "zprávy" at 22. */
	assert_string_equal(lost(22), "22 ztracených zpráv");
	assert_string_equal(lost(101), "101 ztracených zpráv");
}

static void czech_words(void **state)
{
	(void)state;
	use("cs_CZ.UTF-8");
	assert_string_equal(_("Findings"), "Nálezy");
	assert_string_equal(ma_severity_label(MA_SEV_CRITICAL), "KRITICKÉ");
	assert_string_equal(ma_severity_label(MA_SEV_WARNING), "VAROVÁNÍ");
	/* The monitoring line's words are never translated. */
	assert_string_equal(ma_severity_name(MA_SEV_CRITICAL), "CRITICAL");
	assert_string_equal(ma_severity_name(MA_SEV_WARNING), "WARNING");
	/* Numbers keep the decimal point whatever the language. */
	char num[16];
	snprintf(num, sizeof num, "%.1f", 1.5);
	assert_string_equal(num, "1.5");
}

static void english_default(void **state)
{
	(void)state;
	use("C.UTF-8");
	assert_string_equal(lost(1), "1 lost message");
	assert_string_equal(lost(5), "5 lost messages");
	assert_string_equal(_("Findings"), "Findings");
	assert_string_equal(ma_severity_label(MA_SEV_CRITICAL), "CRITICAL");
	use("C");
	assert_string_equal(lost(2), "2 lost messages");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(czech_plurals),
		cmocka_unit_test(czech_words),
		cmocka_unit_test(english_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
