/* core/audit/ledger.c: the loss ledger outside an audit (key, list, ack, text). */
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

#include "store/history.h"
#include "audit/ledger.h"

static char tmp[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof tmp, "/tmp/ma-ledger-XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static struct ma_account account(bool imap, unsigned imap_port, bool pop3, unsigned pop3_port)
{
	struct ma_account a = { .has_imap = imap, .has_pop3 = pop3 };
	snprintf(a.login, sizeof a.login, "alice@example.org");
	snprintf(a.imap.host, sizeof a.imap.host, "imap.example.org");
	a.imap.port = imap_port;
	snprintf(a.pop3.host, sizeof a.pop3.host, "pop.example.org");
	a.pop3.port = pop3_port;
	return a;
}

static void key_follows_the_server(void **state)
{
	(void)state;
	const char *host;
	uint32_t key;
	struct ma_account a = account(true, 993, true, 995);
	ma_ledger_key(&a, &host, &key);
	assert_string_equal(host, "imap.example.org");
	assert_int_equal(key, ma_history_port_key(true, 993));
	assert_int_equal(key, 0);
	a = account(true, 1143, false, 0);
	ma_ledger_key(&a, &host, &key);
	assert_int_equal(key, 1143);
	/* POP3 alone: the POP3 server, never confused with an IMAP port. */
	a = account(false, 0, true, 110);
	ma_ledger_key(&a, &host, &key);
	assert_string_equal(host, "pop.example.org");
	assert_int_equal(key, MA_PORT_KEY_POP3);
	a = account(false, 0, true, 1110);
	ma_ledger_key(&a, &host, &key);
	assert_int_equal(key, MA_PORT_KEY_POP3 + 1110);
}

static bool exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

static void missing_history_is_not_created(void **state)
{
	(void)state;
	char dir[128], file[160];
	snprintf(dir, sizeof dir, "%s/never", tmp);
	snprintf(file, sizeof file, "%s/history.db", dir);
	struct ma_account a = account(true, 993, false, 0);
	struct ma_loss_entry *v = (struct ma_loss_entry *)1;
	size_t n = 99;
	uint64_t count = 99;
	struct ma_error err = { 0 };
	assert_int_equal(ma_ledger_list(&a, dir, 0, false, 0, &v, &n, &err), MA_OK);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_int_equal(ma_ledger_ack(&a, dir, INT64_MAX, 1000, &count, &err), MA_OK);
	assert_int_equal(count, 0);
	assert_false(exists(dir));

	/* The default location, from XDG_STATE_HOME. */
	char xdg[128];
	snprintf(xdg, sizeof xdg, "%s/xdg", tmp);
	assert_int_equal(mkdir(xdg, 0700), 0);
	setenv("XDG_STATE_HOME", xdg, 1);
	assert_int_equal(ma_ledger_list(&a, NULL, 0, false, 0, &v, &n, &err), MA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(ma_ledger_ack(&a, NULL, INT64_MAX, 1000, &count, &err), MA_OK);
	snprintf(file, sizeof file, "%s/mailaudit", xdg);
	assert_false(exists(file));
	unsetenv("XDG_STATE_HOME");
}

static void text_one_line_each(void **state)
{
	(void)state;
	struct ma_loss_entry v[] = {
		{ .kind = MA_LOSS_MESSAGE, .found = 1796547600 /* 2026-12-06 09:00 */, .folder = "INBOX",
		  .role = MA_ROLE_INBOX, .count = 1, .internaldate = 1796490720 /* 2026-12-05 17:12 */,
		  .date = "Sat, 05 Dec 2026 18:12:00 +0100", .from = "Jana Nov\xc3\xa1kov\xc3\xa1",
		  .subject = "Faktura 2026-118" },
		{ .kind = MA_LOSS_UNSEEN, .found = 1796547600, .folder = "INBOX", .role = MA_ROLE_INBOX,
		  .count = 5, .since = 1796461200 /* 2026-12-05 09:00 */, .uidnext_then = 38,
		  .uidnext_now = 43 },
		/* Server text is cleaned; what is missing is said. */
		{ .kind = MA_LOSS_MESSAGE, .found = 1796461200, .folder = "Pr\x1b[31mojects", .count = 1,
		  .date = "Fri, 4 Dec 2026 \x07 08:00:00 +0000", .subject = "Evil\r\nInjected: yes",
		  .folder_gone = true },
		{ .kind = MA_LOSS_MESSAGE, .found = 1796461200, .folder = "Trash", .role = MA_ROLE_TRASH,
		  .count = 1, .from = "bob@example.org", .acked = 1796547700 },
		{ .kind = MA_LOSS_UNSEEN, .found = 1796461200, .folder = "Junk", .role = MA_ROLE_JUNK,
		  .count = 1, .since = 1796374800, .acked = 1796547700 },
	};
	char *text = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_ledger_text(v, sizeof v / sizeof v[0], &text, &err), MA_OK);
	assert_string_equal(text,
		"2026-12-06 09:00 UTC  INBOX  2026-12-05 17:12 UTC  Jana Nov\xc3\xa1kov\xc3\xa1  Faktura 2026-118\n"
		"2026-12-06 09:00 UTC  INBOX  5 messages arrived after 2026-12-05 09:00 UTC, never seen\n"
		"2026-12-05 09:00 UTC  Pr?[31mojects  Fri, 4 Dec 2026 ? 08:00:00 +0000  (no sender)  "
		"Evil??Injected: yes  [folder deleted]\n"
		"2026-12-05 09:00 UTC  Trash  date unknown  bob@example.org  (no subject)  [acknowledged]\n"
		"2026-12-05 09:00 UTC  Junk  1 message arrived after 2026-12-04 09:00 UTC, never seen  [acknowledged]\n");
	free(text);
	assert_int_equal(ma_ledger_text(NULL, 0, &text, &err), MA_OK);
	assert_string_equal(text, "");
	free(text);
}

/* One audit of INBOX through the history API, as an audit writes it. */
static void record_audit(struct ma_history *h, int64_t acct, time_t now, const uint32_t *uids, size_t n)
{
	static const char *const subjects[] = { "", "one", "two", "three" };
	struct ma_error err = { 0 };
	int64_t audit = 0;
	assert_int_equal(ma_history_begin(h, acct, now, &audit, &err), MA_OK);
	for (size_t i = 0; i < n; i++) {
		char msgid[32];
		snprintf(msgid, sizeof msgid, "<%u@example.org>", uids[i]);
		struct ma_message m = { .uid = uids[i], .size = 100 * uids[i], .internaldate = 1700000000 + uids[i],
					.message_id = msgid, .date = "Mon, 1 Jan 2024 00:00:00 +0000",
					.from = "sender@example.org", .subject = (char *)subjects[uids[i]] };
		assert_int_equal(ma_history_put_message(h, audit, "INBOX", 7, &m, NULL, &err), MA_OK);
	}
	struct ma_folder f = { .name = "INBOX", .raw_name = "INBOX", .uidvalidity = 7, .uidnext = 4,
			       .messages = (uint32_t)n };
	assert_int_equal(ma_history_put_folder(h, audit, &f, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(h, audit, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(h, audit, now + 10, "ok", &err), MA_OK);
}

/* Needs history.c's ledger (workstream A): a message gone between two
 * audits is on the ledger until acknowledged. */
static void list_and_ack_a_recorded_loss(void **state)
{
	(void)state;
	char dir[128];
	snprintf(dir, sizeof dir, "%s/state", tmp);
	struct ma_account a = account(true, 993, false, 0);
	struct ma_error err = { 0 };
	struct ma_history *h = NULL;
	int64_t acct = 0;
	const char *host;
	uint32_t key;
	ma_ledger_key(&a, &host, &key);
	assert_int_equal(ma_history_open(dir, &h, &err), MA_OK);
	assert_int_equal(ma_history_account(h, a.login, host, key, &acct, &err), MA_OK);
	const uint32_t all[] = { 1, 2, 3 }, left[] = { 1, 3 };
	record_audit(h, acct, 1796461200, all, 3);
	record_audit(h, acct, 1796547600, left, 2);
	ma_history_close(h);

	struct ma_loss_entry *v = NULL;
	size_t n = 0;
	assert_int_equal(ma_ledger_list(&a, dir, 0, true, 0, &v, &n, &err), MA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].kind, MA_LOSS_MESSAGE);
	assert_string_equal(v[0].folder, "INBOX");
	assert_int_equal(v[0].role, MA_ROLE_INBOX);
	assert_string_equal(v[0].subject, "two");
	assert_int_equal(v[0].size, 200);
	assert_int_equal(v[0].found, 1796547600);
	assert_false(v[0].this_audit);
	assert_int_equal(v[0].acked, 0);
	ma_loss_entries_free(v, n);

	/* Another server on the same host has no such loss. */
	struct ma_account other = account(true, 1993, false, 0);
	assert_int_equal(ma_ledger_list(&other, dir, 0, true, 0, &v, &n, &err), MA_OK);
	assert_int_equal(n, 0);
	ma_loss_entries_free(v, n);

	uint64_t count = 0;
	assert_int_equal(ma_ledger_ack(&a, dir, INT64_MAX, 1796547700, &count, &err), MA_OK);
	assert_int_equal(count, 1);
	assert_int_equal(ma_ledger_list(&a, dir, 0, true, 0, &v, &n, &err), MA_OK);
	assert_int_equal(n, 0);
	ma_loss_entries_free(v, n);
	assert_int_equal(ma_ledger_list(&a, dir, 0, false, 0, &v, &n, &err), MA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].acked, 1796547700);
	char *text = NULL;
	assert_int_equal(ma_ledger_text(v, n, &text, &err), MA_OK);
	assert_non_null(strstr(text, "two  [acknowledged]\n"));
	free(text);
	ma_loss_entries_free(v, n);
	/* --since after the finding audit: nothing. */
	assert_int_equal(ma_ledger_list(&a, dir, 0, false, 1796547601, &v, &n, &err), MA_OK);
	assert_int_equal(n, 0);
	ma_loss_entries_free(v, n);
}

/* What a watch saw destroyed (ma_history_put_watch_losses) is on the
 * ledger like an audit's loss, From and Subject decoded when listed; its
 * audit row is no look at the mailbox: the previous audit and the audit
 * list pass it by. */
static void watch_losses_on_the_ledger(void **state)
{
	(void)state;
	char dir[128];
	snprintf(dir, sizeof dir, "%s/watch", tmp);
	struct ma_account a = account(true, 993, false, 0);
	struct ma_error err = { 0 };
	struct ma_history *h = NULL;
	int64_t acct = 0;
	const char *host;
	uint32_t key;
	ma_ledger_key(&a, &host, &key);
	assert_int_equal(ma_history_open(dir, &h, &err), MA_OK);
	assert_int_equal(ma_history_account(h, a.login, host, key, &acct, &err), MA_OK);
	const uint32_t all[] = { 1, 2, 3 };
	record_audit(h, acct, 1796461200, all, 3);
	int64_t audit_id = 0, prev = 0;
	time_t prev_time = 0;
	bool found = false;
	assert_int_equal(ma_history_prev_audit(h, acct, INT64_MAX, &audit_id, &prev_time, &found, &err), MA_OK);
	assert_true(found);
	struct ma_watch_loss l[] = {
		{ .folder = "INBOX", .role = MA_ROLE_INBOX, .size = 321, .internaldate = 1796470000,
		  .date = "Tue, 2 Dec 2026 10:00:00 +0100", .from = "=?UTF-8?Q?Jana_Nov=C3=A1kov=C3=A1?= <j@x.cz>",
		  .subject = "Faktura", .last_seen = 1796470100 },
		{ .folder = "INBOX", .role = MA_ROLE_INBOX, .last_seen = 1796470100 }, /* headers unknown */
	};
	assert_int_equal(ma_history_put_watch_losses(h, acct, 1796470100, l, 2, &err), MA_OK);
	assert_int_equal(ma_history_put_watch_losses(h, acct, 1796470200, l, 0, &err), MA_OK);
	assert_int_equal(ma_history_prev_audit(h, acct, INT64_MAX, &prev, &prev_time, &found, &err), MA_OK);
	assert_int_equal(prev, audit_id);
	assert_int_equal(prev_time, 1796461200);
	ma_history_close(h);

	struct ma_loss_entry *v = NULL;
	size_t n = 0;
	assert_int_equal(ma_ledger_list(&a, dir, 0, true, 0, &v, &n, &err), MA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].found, 1796470100);
	assert_string_equal(v[0].subject, "Faktura");
	assert_string_equal(v[0].from, "Jana Nov\xc3\xa1kov\xc3\xa1 <j@x.cz>");
	assert_int_equal(v[0].size, 321);
	assert_null(v[1].subject);
	ma_loss_entries_free(v, n);
	uint64_t count = 0;
	assert_int_equal(ma_ledger_ack(&a, dir, INT64_MAX, 1796470300, &count, &err), MA_OK);
	assert_int_equal(count, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_follows_the_server),
		cmocka_unit_test(missing_history_is_not_created),
		cmocka_unit_test(text_one_line_each),
		cmocka_unit_test(list_and_ack_a_recorded_loss),
		cmocka_unit_test(watch_losses_on_the_ledger),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
