/* Helper for tests/integration/t_history_crash.sh: proves that an audit
 * killed halfway leaves the history as it was.
 *
 *   history_crash --write DIR N     commits audit 1 (N messages), begins
 *                                   audit 2, writes 10*N messages, prints
 *                                   READY and waits to be killed
 *   history_crash --verify DIR N    exit 0 if exactly audit 1 is there, whole,
 *                                   and the file passes integrity_check
 *   history_crash --open DIR        exit 0 if the history opens; else the
 *                                   error on stderr, exit 1
 *   history_crash --foreign FILE    makes FILE another program's database */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/history.h"

#define ACCOUNT "crash@example.org", "imap.example.org"
#define UIDVALIDITY 42
#define T0 1700000000

static int die(const struct ma_error *err, const char *what)
{
	char buf[700];
	ma_error_format(err, buf, sizeof buf);
	fprintf(stderr, "history_crash: %s: %s\n", what, buf);
	return 1;
}

static ma_status put_messages(struct ma_history *h, int64_t audit, uint32_t n,
			      struct ma_error *err)
{
	for (uint32_t uid = 1; uid <= n; uid++) {
		char subject[64];
		unsigned char hash[32];
		snprintf(subject, sizeof subject, "message number %u of the crash test", uid);
		memset(hash, 0x5A, sizeof hash);
		memcpy(hash, &uid, sizeof uid);
		struct ma_message m = {
			.uid = uid, .size = 3000 + uid, .internaldate = T0 + uid,
			.date = "Tue, 14 Nov 2023 22:13:20 +0000",
			.from = "Sender <sender@example.org>", .subject = subject,
		};
		ma_status st = ma_history_put_message(h, audit, "INBOX", UIDVALIDITY, &m,
						      hash, err);
		if (st != MA_OK)
			return st;
	}
	struct ma_folder f = { .name = "INBOX", .uidvalidity = UIDVALIDITY,
			       .uidnext = n + 1, .messages = n };
	return ma_history_put_folder(h, audit, &f, 0, 0, err);
}

static int write_then_hang(const char *dir, uint32_t n)
{
	struct ma_error err = { 0 };
	struct ma_history *h = NULL;
	int64_t acct, audit;

	if (ma_history_open(dir, &h, &err) != MA_OK)
		return die(&err, "open");
	if (ma_history_account(h, ACCOUNT, 0, &acct, &err) != MA_OK ||
	    ma_history_begin(h, acct, T0, &audit, &err) != MA_OK ||
	    put_messages(h, audit, n, &err) != MA_OK ||
	    ma_history_commit(h, audit, T0 + 1, "ok", &err) != MA_OK)
		return die(&err, "first audit");
	/* Ten times more than the first, so the page cache spills uncommitted
	 * pages into the WAL before the kill. */
	if (ma_history_begin(h, acct, T0 + 60, &audit, &err) != MA_OK ||
	    put_messages(h, audit, 10 * n, &err) != MA_OK ||
	    ma_history_detect_gone(h, audit, true, &err) != MA_OK)
		return die(&err, "second audit");
	printf("READY\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int count_uid(uint32_t uid, void *ctx)
{
	(void)uid;
	(*(uint32_t *)ctx)++;
	return 0;
}

struct audits_seen {
	int count;
	struct ma_audit_row newest;
	bool outcome_ok;
};

static int note_audit(const struct ma_audit_row *a, void *ctx)
{
	struct audits_seen *seen = ctx;
	if (seen->count++ == 0) {
		seen->newest = *a;
		/* The string dies with the callback: judge it now. */
		seen->outcome_ok = a->outcome && strcmp(a->outcome, "ok") == 0;
		seen->newest.outcome = NULL;
		seen->newest.version = NULL;
	}
	return 0;
}

static int integrity_ok(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ok = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);
		ok = r && strcmp(r, "ok") == 0;
		if (!ok)
			fprintf(stderr, "history_crash: integrity_check: %s\n", r ? r : "?");
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok;
}

static int verify(const char *dir, uint32_t n)
{
	struct ma_error err = { 0 };
	struct ma_history *h = NULL;
	struct audits_seen seen = { 0 };
	uint32_t present = 0, uidvalidity = 0, max_uid = 0;
	bool known = false;
	int64_t acct;
	int bad = 0;

	if (ma_history_open(dir, &h, &err) != MA_OK)
		return die(&err, "open");
	if (ma_history_account(h, ACCOUNT, 0, &acct, &err) != MA_OK ||
	    ma_history_audits(h, acct, 0, note_audit, &seen, &err) != MA_OK ||
	    ma_history_folder_uids(h, acct, "INBOX", UIDVALIDITY, count_uid, &present,
				   &err) != MA_OK ||
	    ma_history_folder_prev(h, acct, "INBOX", &uidvalidity, &max_uid, &known,
				   &err) != MA_OK) {
		ma_history_close(h);
		return die(&err, "reading");
	}
	if (seen.count != 1) {
		fprintf(stderr, "history_crash: %d audits recorded, want 1\n", seen.count);
		bad = 1;
	} else if (seen.newest.started != T0 || seen.newest.inbox_messages != n ||
		   !seen.outcome_ok) {
		fprintf(stderr, "history_crash: audit 1 is not as written\n");
		bad = 1;
	}
	if (present != n || !known || max_uid != n || uidvalidity != UIDVALIDITY) {
		fprintf(stderr, "history_crash: %u messages present, highest UID %u; want %u\n",
			present, max_uid, n);
		bad = 1;
	}
	if (!integrity_ok(ma_history_path(h)))
		bad = 1;
	ma_history_close(h);
	if (!bad)
		printf("verified: 1 audit, %u messages, integrity ok\n", n);
	return bad;
}

static int open_only(const char *dir)
{
	struct ma_error err = { 0 };
	struct ma_history *h = NULL;
	if (ma_history_open(dir, &h, &err) != MA_OK)
		return die(&err, "open");
	ma_history_close(h);
	return 0;
}

static int make_foreign(const char *file)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(file, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "CREATE TABLE recipes(id INTEGER PRIMARY KEY, name TEXT);"
				  "INSERT INTO recipes(name) VALUES ('bread');", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "history_crash: %s: %s\n", file, sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc != SQLITE_OK;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 2000;
	if (argc >= 3 && strcmp(argv[1], "--write") == 0)
		return write_then_hang(argv[2], n);
	if (argc >= 3 && strcmp(argv[1], "--verify") == 0)
		return verify(argv[2], n);
	if (argc == 3 && strcmp(argv[1], "--open") == 0)
		return open_only(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--foreign") == 0)
		return make_foreign(argv[2]);
	fprintf(stderr, "usage: history_crash --write|--verify DIR [N] | --open DIR | --foreign FILE\n");
	return 2;
}
