#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/config.h"

static ma_status parse(const char *text, struct ma_config *cfg, struct ma_error *err)
{
	return ma_config_parse(text, strlen(text), "config", cfg, err);
}

/* Parsing must fail with a message that starts with want (which holds the
 * exact "config:LINE:" prefix) and leave the config empty. */
static void expect_error_len(const char *text, size_t len, const char *want)
{
	struct ma_config cfg = { 0 };
	struct ma_error err = { 0 };
	ma_status st = ma_config_parse(text, len, "config", &cfg, &err);
	if (st != MA_ERR_ARGUMENT || strncmp(err.detail, want, strlen(want)) != 0)
		fail_msg("want \"%s\"\n got \"%s\" (%s)", want, err.detail, ma_status_name(st));
	assert_null(cfg.accounts);
	assert_int_equal(cfg.n, 0);
}

static void expect_error(const char *text, const char *want)
{
	expect_error_len(text, strlen(text), want);
}

static const char full_file[] =
	"# mailaudit accounts\n"
	"\n"
	"[account work]\n"
	"address = jana@firma.cz\n"
	"login = jana.login\n"
	"imap = wes1.imap.wedos.net:993/tls\n"
	"pop3 = wes1.imap.wedos.net/tls\n"
	"smtp = wes1.smtp.wedos.net:465/tls\n"
	"password_command = pass show mail/jana # not a comment\n"
	"ca_file = /etc/ssl/my-ca.pem\n"
	"\n"
	"[account home.2]\n"
	"\taddress\t=\tjana@example.org   \n"
	"imap = [2001:db8::1]:143/starttls\n"
	"password_file = /home/jana/.mailpass\n";

static void full_file_two_accounts(void **state)
{
	(void)state;
	struct ma_config cfg;
	struct ma_error err = { 0 };
	assert_int_equal(parse(full_file, &cfg, &err), MA_OK);
	assert_int_equal(cfg.n, 2);

	const struct ma_config_account *w = &cfg.accounts[0];
	assert_string_equal(w->acct.name, "work");
	assert_int_equal(w->line, 3);
	assert_string_equal(w->acct.address, "jana@firma.cz");
	assert_string_equal(w->acct.login, "jana.login");
	assert_true(w->acct.has_imap && w->acct.has_pop3 && w->acct.has_smtp);
	assert_string_equal(w->acct.imap.host, "wes1.imap.wedos.net");
	assert_int_equal(w->acct.imap.port, 993);
	assert_int_equal(w->acct.imap.security, MA_SEC_TLS);
	assert_int_equal(w->acct.pop3.port, 995);
	assert_string_equal(w->acct.smtp.host, "wes1.smtp.wedos.net");
	assert_int_equal(w->acct.smtp.port, 465);
	/* '#' inside a value is part of it. */
	assert_string_equal(w->password_command, "pass show mail/jana # not a comment");
	assert_null(w->password_file);
	assert_string_equal(w->ca_file, "/etc/ssl/my-ca.pem");

	const struct ma_config_account *h = &cfg.accounts[1];
	assert_string_equal(h->acct.name, "home.2");
	assert_int_equal(h->line, 12);
	assert_string_equal(h->acct.address, "jana@example.org");
	assert_string_equal(h->acct.imap.host, "2001:db8::1");
	assert_int_equal(h->acct.imap.port, 143);
	assert_int_equal(h->acct.imap.security, MA_SEC_STARTTLS);
	assert_false(h->acct.has_pop3);
	assert_false(h->acct.has_smtp);
	assert_string_equal(h->password_file, "/home/jana/.mailpass");
	assert_null(h->password_command);
	assert_null(h->ca_file);

	assert_ptr_equal(ma_config_find(&cfg, "work"), w);
	assert_ptr_equal(ma_config_find(&cfg, "HOME.2"), h);
	assert_null(ma_config_find(&cfg, "other"));
	assert_null(ma_config_find(NULL, "work"));
	ma_config_free(&cfg);
	assert_null(cfg.accounts);
	assert_int_equal(cfg.n, 0);
	ma_config_free(&cfg);
}

static void defaults(void **state)
{
	(void)state;
	struct ma_config cfg;
	struct ma_error err = { 0 };
	assert_int_equal(parse("[account a]\naddress = a@b.cz\nimap = imap.b.cz\n"
			       "pop3 = pop.b.cz/starttls\nsmtp = smtp.b.cz/plain\n"
			       "[account b]\nlogin = user7\npop3 = pop.b.cz\n",
			       &cfg, &err), MA_OK);
	assert_int_equal(cfg.n, 2);
	const struct ma_account *a = &cfg.accounts[0].acct;
	assert_string_equal(a->login, "a@b.cz");
	assert_int_equal(a->imap.port, 993);
	assert_int_equal(a->imap.security, MA_SEC_TLS);
	assert_int_equal(a->pop3.port, 110);
	assert_int_equal(a->pop3.security, MA_SEC_STARTTLS);
	assert_int_equal(a->smtp.port, 587);
	assert_int_equal(a->smtp.security, MA_SEC_PLAIN);
	const struct ma_account *b = &cfg.accounts[1].acct;
	assert_string_equal(b->login, "user7");
	assert_string_equal(b->address, "");
	assert_false(b->has_imap);
	assert_int_equal(b->pop3.port, 995);
	ma_config_free(&cfg);
}

static void empty_inputs(void **state)
{
	(void)state;
	struct ma_config cfg;
	struct ma_error err = { 0 };
	assert_int_equal(ma_config_parse(NULL, 0, NULL, &cfg, &err), MA_OK);
	assert_int_equal(cfg.n, 0);
	assert_int_equal(parse("\n\n# only comments\n   \n\t\n", &cfg, &err), MA_OK);
	assert_int_equal(cfg.n, 0);
	assert_int_equal(parse("\xEF\xBB\xBF", &cfg, &err), MA_OK);
	assert_int_equal(cfg.n, 0);
}

static void crlf_and_bom(void **state)
{
	(void)state;
	struct ma_config cfg;
	struct ma_error err = { 0 };
	assert_int_equal(parse("\xEF\xBB\xBF[account w]\r\n"
			       "address = x@y.cz\r\n"
			       "\r\n"
			       "imap = imap.y.cz:1993\r\n"
			       "password_command = echo hi\r\n", &cfg, &err), MA_OK);
	assert_int_equal(cfg.n, 1);
	assert_string_equal(cfg.accounts[0].acct.name, "w");
	assert_string_equal(cfg.accounts[0].acct.address, "x@y.cz");
	assert_int_equal(cfg.accounts[0].acct.imap.port, 1993);
	assert_string_equal(cfg.accounts[0].password_command, "echo hi");
	ma_config_free(&cfg);
	/* Line numbers still count right after CRLF lines. */
	expect_error("\xEF\xBB\xBF[account w]\r\n\r\nimapp = x\r\n", "config:3: unknown key");
	/* A BOM anywhere but the start is just a bad line. */
	expect_error("\n\xEF\xBB\xBF[account w]\n", "config:2: expected \"key = value\"");
}

static void errors_keys(void **state)
{
	(void)state;
	expect_error("[account w]\naddress = a@b.cz\n\n# c\nimapp = x\n",
		     "config:5: unknown key \"imapp\" (known: address, login, imap, pop3, "
		     "smtp, password_command, password_file, ca_file)");
	expect_error("# head\n\nimap = x.cz\n[account w]\n",
		     "config:3: \"imap\" before any [account NAME] line");
	expect_error("[account w]\naddress = a@b.cz\nimap = a.cz\nimap = b.cz\n",
		     "config:4: \"imap\" is already set for account \"w\" on line 3");
	expect_error("[account w]\naddress = a@b.cz\nlogin =   \n",
		     "config:3: \"login\" has no value");
	expect_error("[account w]\naddress = a@b.cz\nimap=\n", "config:3: \"imap\" has no value");
	expect_error("[account w]\naddress = a@b.cz\nimap = a.cz:99999\n",
		     "config:3: imap: The port \"99999\" is not a number from 1 to 65535.");
	expect_error("[account w]\npop3 = a.cz/sslv3\n", "config:2: pop3: ");
	expect_error("[account w]\nsmtp = bad host\n", "config:2: smtp: ");
	expect_error("[account w]\naddress a@b.cz\n",
		     "config:2: expected \"key = value\" or [account NAME]");
	expect_error("[account w]\n = x\n", "config:2: there is no key before '='");
	expect_error("[account w]\npassword = hunter2\n", "config:2: unknown key \"password\": "
		     "passwords are not kept in this file");
	expect_error("[account w]\naddress = jana\n", "config:2: address \"jana\" is not an "
		     "e-mail address");
	expect_error("[account w]\npassword_file = /a\npassword_command = b\n",
		     "config:3: account \"w\" already has password_file on line 2");
	expect_error("[account w]\npassword_command = b\npassword_file = /a\n",
		     "config:3: account \"w\" already has password_command on line 2");
	expect_error("[account w]\nlogin = a\x1b[2Jb\n",
		     "config:2: the value of \"login\" contains a control character");
	/* Keys are reset for each account: the same key in two accounts is fine. */
	struct ma_config cfg;
	struct ma_error err = { 0 };
	assert_int_equal(parse("[account a]\nlogin=x\nimap=h\n[account b]\nlogin=y\nimap=h\n",
			       &cfg, &err), MA_OK);
	ma_config_free(&cfg);
}

static void errors_sections(void **state)
{
	(void)state;
	expect_error("[account w]\nlogin = a\nimap = h\n\n[account w]\n",
		     "config:5: account \"w\" is already defined on line 1");
	expect_error("[account Work]\nlogin = a\nimap = h\n[account work]\n",
		     "config:4: account \"Work\" is already defined on line 1");
	expect_error("\n[account w] # mine\n",
		     "config:2: a comment must be on a line of its own");
	expect_error("[account w\n", "config:1: a section line must look like [account NAME]");
	expect_error("[server w]\n", "config:1: unknown section \"[server w]\"");
	expect_error("[accountw]\n", "config:1: unknown section \"[accountw]\"");
	expect_error("[account]\n", "config:1: [account] needs a name");
	expect_error("[account   ]\n", "config:1: [account] needs a name");
	expect_error("[account a b]\n", "config:1: the account name \"a b\" may only contain");
	expect_error("[account a/b]\n", "config:1: the account name \"a/b\" may only contain");
	expect_error("[account "
		     "0123456789012345678901234567890123456789012345678901234567890123]\n",
		     "config:1: the account name is longer than 63 characters");
	/* 63 characters and surrounding blanks are fine. */
	struct ma_config cfg;
	struct ma_error err = { 0 };
	assert_int_equal(parse("[ account\t012345678901234567890123456789012345678901234567890"
			       "123456789012 ]\nlogin=a\npop3=h\n", &cfg, &err), MA_OK);
	assert_int_equal(strlen(cfg.accounts[0].acct.name), 63);
	ma_config_free(&cfg);
}

static void errors_incomplete_accounts(void **state)
{
	(void)state;
	expect_error("[account a]\nlogin=x\nimap=h\n\n[account b]\nlogin = x\nsmtp = s\n",
		     "config:5: account \"b\" has neither imap nor pop3");
	expect_error("[account a]\nlogin=x\nimap=h\n[account b]\npop3 = p\n",
		     "config:4: account \"b\" has neither login nor address");
	expect_error("[account a]\n", "config:1: account \"a\" has neither imap nor pop3");
}

static void errors_bytes(void **state)
{
	(void)state;
	static const char nul[] = "[account w]\nlogin = a\0b\nimap = h\n";
	expect_error_len(nul, sizeof nul - 1, "config:2: the line contains a NUL byte");

	size_t n = MA_CONFIG_MAX_LINE + 200;
	char *big = malloc(n + 1);
	assert_non_null(big);
	/* Exactly 4096 bytes before the line break is allowed, also with CRLF. */
	int k = snprintf(big, n, "[account w]\nimap = h\nlogin = ");
	memset(big + k, 'x', MA_CONFIG_MAX_LINE - 8);
	memcpy(big + k + MA_CONFIG_MAX_LINE - 8, "\r\n", 3);
	struct ma_config cfg;
	struct ma_error err = { 0 };
	/* Valid length, but too long for the login field. */
	assert_int_equal(parse(big, &cfg, &err), MA_ERR_ARGUMENT);
	assert_string_equal(err.detail, "config:3: \"login\" is longer than 255 bytes");
	memcpy(big + k - 8, "# comme ", 8);
	assert_int_equal(parse(big, &cfg, &err), MA_ERR_ARGUMENT);
	assert_non_null(strstr(err.detail, "has neither login nor address"));
	memcpy(big + k + MA_CONFIG_MAX_LINE - 8, "x\n", 3);
	expect_error(big, "config:3: the line is longer than 4096 bytes");
	free(big);
}

static void errors_too_many_accounts(void **state)
{
	(void)state;
	size_t cap = (MA_CONFIG_MAX_ACCOUNTS + 1) * 40, len = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	for (int i = 0; i < MA_CONFIG_MAX_ACCOUNTS; i++)
		len += (size_t)snprintf(buf + len, cap - len, "[account a%d]\nlogin=x\npop3=p\n", i);
	struct ma_config cfg;
	struct ma_error err = { 0 };
	assert_int_equal(ma_config_parse(buf, len, "c", &cfg, &err), MA_OK);
	assert_int_equal(cfg.n, MA_CONFIG_MAX_ACCOUNTS);
	assert_non_null(ma_config_find(&cfg, "a999"));
	ma_config_free(&cfg);
	len += (size_t)snprintf(buf + len, cap - len, "[account last]\n");
	assert_int_equal(ma_config_parse(buf, len, "c", &cfg, &err), MA_ERR_ARGUMENT);
	assert_string_equal(err.detail, "c:3001: more than 1000 accounts");
	assert_int_equal(cfg.n, 0);
	free(buf);
}

static void message_names_file_and_hides_controls(void **state)
{
	(void)state;
	struct ma_config cfg;
	struct ma_error err = { 0 };
	const char text[] = "[account w]\nimap\x1b[31m = x\n";
	assert_int_equal(ma_config_parse(text, sizeof text - 1, "/home/j/my\nconf", &cfg, &err),
			 MA_ERR_ARGUMENT);
	assert_string_equal(err.detail, "/home/j/my?conf:2: unknown key \"imap?[31m\" (known: "
			    "address, login, imap, pop3, smtp, password_command, password_file, "
			    "ca_file)");
	/* Neither the value of a password key nor an unreadable line is quoted. */
	assert_int_equal(parse("[account w]\npassword_command = secret1\npassword_file = s2\n",
			       &cfg, &err), MA_ERR_ARGUMENT);
	assert_null(strstr(err.detail, "secret1"));
	assert_null(strstr(err.detail, "s2"));
	assert_int_equal(parse("[account w]\nhunter2\n", &cfg, &err), MA_ERR_ARGUMENT);
	assert_null(strstr(err.detail, "hunter2"));
	assert_int_equal(parse("[account w]\npassword = hunter2\n", &cfg, &err), MA_ERR_ARGUMENT);
	assert_null(strstr(err.detail, "hunter2"));
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/ma-config-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void default_path(void **state)
{
	(void)state;
	char buf[256];
	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	setenv("HOME", "/home/j", 1);
	ma_config_default_path(buf, sizeof buf);
	assert_string_equal(buf, "/x/cfg/mailaudit/config");
	setenv("XDG_CONFIG_HOME", "relative", 1);
	ma_config_default_path(buf, sizeof buf);
	assert_string_equal(buf, "/home/j/.config/mailaudit/config");
	unsetenv("XDG_CONFIG_HOME");
	ma_config_default_path(buf, sizeof buf);
	assert_string_equal(buf, "/home/j/.config/mailaudit/config");
	ma_config_default_path(buf, 10);
	assert_string_equal(buf, "");
	unsetenv("HOME");
	ma_config_default_path(buf, sizeof buf);
	assert_string_equal(buf, "");
}

/* "~" in password_file and ca_file is the home directory, as in a shell. */
static void tilde_paths(void **state)
{
	(void)state;
	struct ma_config cfg;
	struct ma_error err = { 0 };
	setenv("HOME", "/home/jana", 1);
	assert_int_equal(parse("[account a]\naddress = j@x.cz\nimap = h\n"
			       "password_file = ~/.mailpass\nca_file = ~/ca/my ca.pem\n", &cfg, &err), MA_OK);
	assert_string_equal(cfg.accounts[0].password_file, "/home/jana/.mailpass");
	assert_string_equal(cfg.accounts[0].ca_file, "/home/jana/ca/my ca.pem");
	ma_config_free(&cfg);

	/* Only a leading '~' counts; a command is left to its shell. */
	assert_int_equal(parse("[account a]\naddress = j@x.cz\nimap = h\n"
			       "password_command = cat ~/p\nca_file = /etc/~ca\n", &cfg, &err), MA_OK);
	assert_string_equal(cfg.accounts[0].password_command, "cat ~/p");
	assert_string_equal(cfg.accounts[0].ca_file, "/etc/~ca");
	ma_config_free(&cfg);

	/* ~USER: the password database's home ("root" is in every one). */
	assert_int_equal(parse("[account a]\naddress = j@x.cz\nimap = h\nca_file = ~root/ca.pem\n",
			       &cfg, &err), MA_OK);
	assert_true(strlen(cfg.accounts[0].ca_file) > strlen("/ca.pem"));
	assert_string_equal(cfg.accounts[0].ca_file + strlen(cfg.accounts[0].ca_file) - 7, "/ca.pem");
	assert_int_equal(cfg.accounts[0].ca_file[0], '/');
	ma_config_free(&cfg);

	expect_error("[account a]\naddress = j@x.cz\nimap = h\npassword_file = ~no-such-user-xq/p\n",
		     "config:4: password_file: \"~no-such-user-xq\": there is no user");

	/* The home directory alone, and one that is "/". */
	char *out = NULL;
	assert_int_equal(ma_path_expand("~", &out, &err), MA_OK);
	assert_string_equal(out, "/home/jana");
	free(out);
	setenv("HOME", "/", 1);
	assert_int_equal(ma_path_expand("~/x", &out, &err), MA_OK);
	assert_string_equal(out, "/x");
	free(out);
	setenv("HOME", "/home/j/", 1);
	assert_int_equal(ma_path_expand("~/x", &out, &err), MA_OK);
	assert_string_equal(out, "/home/j/x");
	free(out);
	assert_int_equal(ma_path_expand("rel/~x", &out, &err), MA_OK);
	assert_string_equal(out, "rel/~x");
	free(out);
	unsetenv("HOME");
}

static void load_files(void **state)
{
	(void)state;
	char path[200], dir[100];
	struct ma_config cfg;
	struct ma_error err = { 0 };

	/* Default location missing: an empty config, not an error. */
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	assert_int_equal(ma_config_load(NULL, &cfg, &err), MA_OK);
	assert_int_equal(cfg.n, 0);

	/* Default location present. */
	snprintf(dir, sizeof dir, "%s/mailaudit", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof path, "%s/config", dir);
	write_file(path, full_file, sizeof full_file - 1);
	assert_int_equal(ma_config_load(NULL, &cfg, &err), MA_OK);
	assert_int_equal(cfg.n, 2);
	ma_config_free(&cfg);

	/* Explicit file, and errors name it with the line. */
	write_file(path, "[account w]\nimapp = x\n", 22);
	assert_int_equal(ma_config_load(path, &cfg, &err), MA_ERR_ARGUMENT);
	char want[256];
	snprintf(want, sizeof want, "%s:2: unknown key", path);
	assert_memory_equal(err.detail, want, strlen(want));

	/* Explicit file missing. */
	snprintf(path, sizeof path, "%s/nope", tmpdir);
	assert_int_equal(ma_config_load(path, &cfg, &err), MA_ERR_IO);
	assert_non_null(strstr(err.detail, path));
	assert_int_equal(cfg.n, 0);

	/* A directory. */
	assert_int_equal(ma_config_load(dir, &cfg, &err), MA_ERR_IO);
	assert_non_null(strstr(err.detail, "directory"));

	/* Over 1 MiB is refused; exactly 1 MiB of comments is read. */
	size_t n = MA_CONFIG_MAX_FILE;
	char *big = malloc(n + 1);
	assert_non_null(big);
	for (size_t i = 0; i < n; i += 64) {
		memset(big + i, '#', 63);
		big[i + 63] = '\n';
	}
	snprintf(path, sizeof path, "%s/big", tmpdir);
	write_file(path, big, n);
	assert_int_equal(ma_config_load(path, &cfg, &err), MA_OK);
	assert_int_equal(cfg.n, 0);
	big[n] = '\n';
	write_file(path, big, n + 1);
	assert_int_equal(ma_config_load(path, &cfg, &err), MA_ERR_ARGUMENT);
	assert_non_null(strstr(err.detail, "larger than 1 MiB"));
	free(big);
	unsetenv("XDG_CONFIG_HOME");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_file_two_accounts),
		cmocka_unit_test(defaults),
		cmocka_unit_test(empty_inputs),
		cmocka_unit_test(crlf_and_bom),
		cmocka_unit_test(errors_keys),
		cmocka_unit_test(errors_sections),
		cmocka_unit_test(errors_incomplete_accounts),
		cmocka_unit_test(errors_bytes),
		cmocka_unit_test(errors_too_many_accounts),
		cmocka_unit_test(message_names_file_and_hides_controls),
		cmocka_unit_test(default_path),
		cmocka_unit_test(tilde_paths),
		cmocka_unit_test_setup_teardown(load_files, make_tmpdir, remove_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
