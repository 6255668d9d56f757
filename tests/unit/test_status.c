#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/status.h"

static void every_status_has_a_message_and_name(void **state)
{
	(void)state;
	for (int s = 0; s < MA_STATUS_COUNT; s++) {
		assert_non_null(ma_status_message((ma_status)s));
		assert_true(strlen(ma_status_message((ma_status)s)) > 3);
		assert_true(strlen(ma_status_name((ma_status)s)) > 1);
	}
	assert_string_equal(ma_status_name(MA_ERR_CERT_EXPIRED), "cert-expired");
	assert_string_equal(ma_status_name(MA_OK), "ok");
}

static void fail_formats_detail(void **state)
{
	(void)state;
	struct ma_error e;
	char buf[600];
	assert_int_equal(ma_fail(&e, MA_ERR_LOGIN, "server said: %s", "[AUTH] no"), MA_ERR_LOGIN);
	ma_error_format(&e, buf, sizeof buf);
	assert_non_null(strstr(buf, "rejected the login"));
	assert_non_null(strstr(buf, "[AUTH] no"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_status_has_a_message_and_name),
		cmocka_unit_test(fail_formats_detail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
