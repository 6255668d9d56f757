/* libFuzzer target for the accounts file parser (core/store/config.c). The input is
 * copied to an exact-size buffer so ASan sees any read past the end, and the
 * result is checked against the promises config.h makes.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icore \
 *     tests/fuzz/fuzz_config.c core/store/config.c core/net/endpoint.c core/base/status.c \
 *     -o /tmp/fuzz_config
 *   /tmp/fuzz_config -max_total_time=60 tests/fuzz/corpus/config
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Messages reach the terminal: printable ASCII only. */
static void check_message(const char *s)
{
	for (size_t i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

static void check_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", s[i]))
			abort();
}

static void check_value(const char *s)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
		abort();
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	struct ma_config cfg = { .n = 12345 };
	struct ma_error err = { .status = MA_OK };
	ma_status st = ma_config_parse(buf, size, "fuzz", &cfg, &err);
	if (st == MA_OK) {
		if (cfg.n > MA_CONFIG_MAX_ACCOUNTS || (cfg.n == 0) != (cfg.accounts == NULL))
			abort();
		for (size_t i = 0; i < cfg.n; i++) {
			const struct ma_config_account *a = &cfg.accounts[i];
			check_name(a->acct.name);
			if (!a->acct.login[0] || !(a->acct.has_imap || a->acct.has_pop3))
				abort();
			if (a->acct.address[0] && !strchr(a->acct.address, '@'))
				abort();
			if (a->line < 1 || (a->password_command && a->password_file))
				abort();
			check_value(a->acct.login);
			check_value(a->password_command);
			check_value(a->password_file);
			check_value(a->ca_file);
			if (ma_config_find(&cfg, a->acct.name) != a)
				abort();
		}
	} else {
		if (st != MA_ERR_ARGUMENT && st != MA_ERR_NOMEM)
			abort();
		if (cfg.n != 0 || cfg.accounts != NULL || err.status != st)
			abort();
		if (strncmp(err.detail, "fuzz:", 5) != 0)
			abort();
		check_message(err.detail);
	}
	ma_config_free(&cfg);
	free(buf);
	return 0;
}
