#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/history.h"
#include "base/parse.h"

#define T0 1700000000

/* ---- fixtures --------------------------------------------------------- */

struct fx {
	char dir[64];
	struct ma_history *h;
	int64_t acct;
};

static int rm_tree(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/ma-history-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	ma_history_close(f->h);
	rm_tree(f->dir);
	free(f);
	return 0;
}

static void open_fx(struct fx *f)
{
	struct ma_error err = { 0 };
	ma_status st = ma_history_open(f->dir, &f->h, &err);
	if (st != MA_OK)
		print_error("open: %s\n", err.detail);
	assert_int_equal(st, MA_OK);
	assert_int_equal(ma_history_account(f->h, "alice", "imap.example.org", 0, &f->acct, &err), MA_OK);
}

/* A fake Message-ID hash: only equality matters here. */
static void fake_hash(uint32_t n, unsigned char out[32])
{
	memset(out, 0xA5, 32);
	memcpy(out, &n, sizeof n);
}

/* One message of a test mailbox; "id" stands for the Message-ID. */
struct tmsg {
	uint32_t uid;
	uint32_t id;
};

struct tfolder {
	const char *name;
	uint32_t uidvalidity;
	const struct tmsg *msgs;
	size_t n;
};

/* tf's messages and folder row, with UIDNEXT uidnext (0: the highest UID
 * + 1) and special-use bits special. */
static void put_folder_as(struct fx *f, int64_t audit, const struct tfolder *tf,
			  uint32_t uidnext, unsigned special)
{
	struct ma_error err = { 0 };
	uint64_t total = 0;
	for (size_t i = 0; i < tf->n; i++) {
		unsigned char hash[32];
		char subject[32];
		snprintf(subject, sizeof subject, "message %u", tf->msgs[i].id);
		struct ma_message m = {
			.uid = tf->msgs[i].uid,
			.size = 1000 + tf->msgs[i].id,
			.internaldate = T0 + tf->msgs[i].id,
			.flags = MA_FLAG_SEEN,
			.date = "Tue, 14 Nov 2023 22:13:20 +0000",
			.from = "Bob <bob@example.org>",
			.subject = subject,
		};
		fake_hash(tf->msgs[i].id, hash);
		assert_int_equal(ma_history_put_message(f->h, audit, tf->name, tf->uidvalidity,
							&m, hash, &err), MA_OK);
		total += m.size;
	}
	struct ma_folder mf = {
		.name = (char *)tf->name,
		.uidvalidity = tf->uidvalidity,
		.uidnext = uidnext ? uidnext : tf->n ? tf->msgs[tf->n - 1].uid + 1 : 1,
		.messages = (uint32_t)tf->n,
		.special = special,
	};
	assert_int_equal(ma_history_put_folder(f->h, audit, &mf, 0, total, &err), MA_OK);
}

static void put_folder(struct fx *f, int64_t audit, const struct tfolder *tf)
{
	put_folder_as(f, audit, tf, 0, 0);
}

/* One whole audit of the given folders; returns its id. */
static int64_t run_audit(struct fx *f, time_t now, const struct tfolder *folders,
			 size_t nfolders, bool complete)
{
	struct ma_error err = { 0 };
	int64_t audit = 0;
	assert_int_equal(ma_history_begin(f->h, f->acct, now, &audit, &err), MA_OK);
	for (size_t i = 0; i < nfolders; i++)
		put_folder(f, audit, &folders[i]);
	assert_int_equal(ma_history_detect_gone(f->h, audit, complete, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, audit, now + 5, "ok", &err), MA_OK);
	return audit;
}

struct gone_list {
	size_t n;
	char folder[16][32];
	uint32_t uid[16];
	char gone_to[16][32];   /* "" = destroyed */
	time_t last_seen[16];
	bool had_hash[16];
	bool renumbered[16], folder_gone[16];
	enum ma_role role[16];
};

static int collect_gone(const struct ma_gone_msg *m, void *ctx)
{
	struct gone_list *g = ctx;
	if (g->n < 16) {
		snprintf(g->folder[g->n], sizeof g->folder[0], "%s", m->folder);
		snprintf(g->gone_to[g->n], sizeof g->gone_to[0], "%s",
			 m->gone_to ? m->gone_to : "");
		g->uid[g->n] = m->uid;
		g->last_seen[g->n] = m->last_seen;
		g->had_hash[g->n] = m->msgid_hash != NULL;
		g->renumbered[g->n] = m->renumbered;
		g->folder_gone[g->n] = m->folder_gone;
		g->role[g->n] = m->role;
	}
	g->n++;
	return 0;
}

static struct gone_list gone_of(struct fx *f, int64_t audit)
{
	struct gone_list g = { 0 };
	struct ma_error err = { 0 };
	assert_int_equal(ma_history_gone(f->h, audit, collect_gone, &g, &err), MA_OK);
	return g;
}

/* The ledger as ma_history_losses hands it out, strings copied. */
struct loss_list {
	size_t n;
	struct ma_loss l[16];
	char folder[16][32], date[16][48], from[16][48], subject[16][48];
};

static int collect_loss(const struct ma_loss *l, void *ctx)
{
	struct loss_list *ll = ctx;
	if (ll->n < 16) {
		size_t i = ll->n;
		ll->l[i] = *l;
		snprintf(ll->folder[i], sizeof ll->folder[i], "%s", l->folder);
		snprintf(ll->date[i], sizeof ll->date[i], "%s", l->date ? l->date : "-");
		snprintf(ll->from[i], sizeof ll->from[i], "%s", l->from ? l->from : "-");
		snprintf(ll->subject[i], sizeof ll->subject[i], "%s", l->subject ? l->subject : "-");
		ll->l[i].folder = ll->l[i].date = ll->l[i].from = ll->l[i].subject = NULL;
	}
	ll->n++;
	return 0;
}

static struct loss_list losses_of(struct fx *f, int64_t audit, bool unacked_only, time_t since)
{
	struct loss_list ll = { 0 };
	struct ma_error err = { 0 };
	assert_int_equal(ma_history_losses(f->h, f->acct, audit, unacked_only, since, collect_loss,
					   &ll, &err), MA_OK);
	return ll;
}

static void file_bytes(const char *path, char **buf, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	*len = (size_t)ftell(fp);
	rewind(fp);
	*buf = malloc(*len + 1);
	assert_int_equal(fread(*buf, 1, *len, fp), *len);
	fclose(fp);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const struct tmsg five[] = { { 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 4 }, { 5, 5 } };

/* ---- opening ---------------------------------------------------------- */

static void creates_private_dir_and_file(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	char sub[128], path[160];
	struct stat sb;

	snprintf(sub, sizeof sub, "%s/a/b/state", f->dir);
	mode_t old = umask(0);   /* the most permissive umask must not leak */
	ma_status st = ma_history_open(sub, &f->h, &err);
	umask(old);
	assert_int_equal(st, MA_OK);
	snprintf(path, sizeof path, "%s/history.db", sub);
	assert_string_equal(ma_history_path(f->h), path);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	snprintf(path, sizeof path, "%s/a", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(ma_history_path(f->h), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
}

static void default_location_follows_xdg_then_home(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	char want[160], xdg[128];
	struct stat sb;
	char *old_xdg = getenv("XDG_STATE_HOME") ? strdup(getenv("XDG_STATE_HOME")) : NULL;
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	snprintf(xdg, sizeof xdg, "%s/xdg", f->dir);
	setenv("XDG_STATE_HOME", xdg, 1);
	assert_int_equal(ma_history_open(NULL, &f->h, &err), MA_OK);
	snprintf(want, sizeof want, "%s/xdg/mailaudit/history.db", f->dir);
	assert_string_equal(ma_history_path(f->h), want);
	ma_history_close(f->h);

	unsetenv("XDG_STATE_HOME");
	setenv("HOME", f->dir, 1);
	assert_int_equal(ma_history_open(NULL, &f->h, &err), MA_OK);
	snprintf(want, sizeof want, "%s/.local/state/mailaudit/history.db", f->dir);
	assert_string_equal(ma_history_path(f->h), want);
	snprintf(want, sizeof want, "%s/.local/state", f->dir);
	assert_int_equal(stat(want, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);

	if (old_xdg)
		setenv("XDG_STATE_HOME", old_xdg, 1);
	if (old_home)
		setenv("HOME", old_home, 1);
	free(old_xdg);
	free(old_home);
}

static void reopen_keeps_history(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	const struct tfolder inbox = { "INBOX", 7, five, 5 };
	int64_t acct2 = 0, prev = 0;
	time_t prev_time = 0;
	bool found = false;

	open_fx(f);
	int64_t a1 = run_audit(f, T0, &inbox, 1, true);
	ma_history_close(f->h);
	f->h = NULL;
	assert_int_equal(ma_history_open(f->dir, &f->h, &err), MA_OK);
	/* Host names compare case-insensitively. */
	assert_int_equal(ma_history_account(f->h, "alice", "IMAP.Example.ORG", 0, &acct2, &err), MA_OK);
	assert_int_equal(acct2, f->acct);
	assert_int_equal(ma_history_prev_audit(f->h, f->acct, INT64_MAX, &prev, &prev_time,
					       &found, &err), MA_OK);
	assert_true(found);
	assert_int_equal(prev, a1);
	assert_int_equal(prev_time, T0);
}

static void unusable_dir_is_io_error_naming_path(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	char file[128], sub[160];

	/* Root ignores permission bits, so use a path through a regular file. */
	snprintf(file, sizeof file, "%s/plainfile", f->dir);
	FILE *fp = fopen(file, "w");
	assert_non_null(fp);
	fclose(fp);
	snprintf(sub, sizeof sub, "%s/state", file);
	assert_int_equal(ma_history_open(sub, &f->h, &err), MA_ERR_IO);
	assert_null(f->h);
	assert_non_null(strstr(err.detail, file));
	assert_non_null(strstr(err.detail, strerror(ENOTDIR)));
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

/* Opening must fail with MA_ERR_STATE_CORRUPT naming the file, changing no
 * byte of it. */
static void assert_refused_untouched(struct fx *f, const char *needle)
{
	struct ma_error err = { 0 };
	char path[128], *before, *after;
	size_t nb, na;

	snprintf(path, sizeof path, "%s/history.db", f->dir);
	file_bytes(path, &before, &nb);
	assert_int_equal(ma_history_open(f->dir, &f->h, &err), MA_ERR_STATE_CORRUPT);
	assert_null(f->h);
	assert_non_null(strstr(err.detail, path));
	if (!strstr(err.detail, needle))
		print_error("detail: %s\n", err.detail);
	assert_non_null(strstr(err.detail, needle));
	file_bytes(path, &after, &na);
	assert_int_equal(na, nb);
	assert_memory_equal(before, after, nb);
	free(before);
	free(after);
}

static void corrupt_file_is_refused_untouched(void **state)
{
	struct fx *f = *state;
	char path[128], junk[8192];

	srand(42);
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)rand();
	snprintf(path, sizeof path, "%s/history.db", f->dir);
	write_file(path, junk, sizeof junk);
	assert_refused_untouched(f, "not a SQLite database");

	/* A real header with garbage after it. */
	memcpy(junk, "SQLite format 3", 16);
	write_file(path, junk, sizeof junk);
	assert_refused_untouched(f, "left untouched");
}

static void make_sqlite(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void foreign_sqlite_is_refused_untouched(void **state)
{
	struct fx *f = *state;
	char path[128];

	snprintf(path, sizeof path, "%s/history.db", f->dir);
	make_sqlite(path, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
			  "INSERT INTO notes(body) VALUES ('keep me');");
	assert_refused_untouched(f, "another program");
	unlink(path);

	make_sqlite(path, "PRAGMA application_id = 42; PRAGMA user_version = 1;");
	assert_refused_untouched(f, "another program");
	unlink(path);

	/* Another program's database in WAL mode must not get checkpointed. */
	make_sqlite(path, "PRAGMA journal_mode = WAL; CREATE TABLE t(x);");
	assert_refused_untouched(f, "another program");
}

static void newer_schema_is_refused(void **state)
{
	struct fx *f = *state;
	char path[128];

	open_fx(f);
	snprintf(path, sizeof path, "%s", ma_history_path(f->h));
	ma_history_close(f->h);
	f->h = NULL;
	make_sqlite(path, "PRAGMA user_version = 99;");
	assert_refused_untouched(f, "newer mailaudit");
}

static void empty_file_is_adopted(void **state)
{
	struct fx *f = *state;
	char path[128];

	snprintf(path, sizeof path, "%s/history.db", f->dir);
	write_file(path, "", 0);
	open_fx(f);
}

/* ---- the file's neighbours: links, owners, modes, other mailaudits ---- */

static bool exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

static mode_t mode_of(const char *path)
{
	struct stat sb;
	assert_int_equal(lstat(path, &sb), 0);
	return sb.st_mode & 07777;
}

/* history.db as a link to someone else's file (empty, so it would look
 * ours to fill): refused, and nothing appears or changes beside the
 * target. The same for a dangling link and for a linked -wal. */
static void symlinked_file_is_refused_target_untouched(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	char other[128], target[160], path[128], side[192];

	snprintf(other, sizeof other, "%s/other", f->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	snprintf(target, sizeof target, "%s/empty", other);
	write_file(target, "", 0);
	snprintf(path, sizeof path, "%s/history.db", f->dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(ma_history_open(f->dir, &f->h, &err), MA_ERR_STATE_CORRUPT);
	assert_null(f->h);
	if (!strstr(err.detail, "symbolic link"))
		print_error("detail: %s\n", err.detail);
	assert_non_null(strstr(err.detail, "symbolic link"));
	struct stat sb;
	assert_int_equal(stat(target, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	snprintf(side, sizeof side, "%s-wal", target);
	assert_false(exists(side));
	snprintf(side, sizeof side, "%s-shm", target);
	assert_false(exists(side));
	snprintf(side, sizeof side, "%s/history.db-wal", f->dir);
	assert_false(exists(side));
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));

	/* Dangling: not created through the link either. */
	assert_int_equal(unlink(path), 0);
	snprintf(target, sizeof target, "%s/not-yet", other);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(ma_history_open(f->dir, &f->h, &err), MA_ERR_STATE_CORRUPT);
	assert_false(exists(target));

	/* A history of ours with its -wal linked elsewhere. */
	assert_int_equal(unlink(path), 0);
	open_fx(f);
	ma_history_close(f->h);
	f->h = NULL;
	snprintf(side, sizeof side, "%s/history.db-wal", f->dir);
	unlink(side);
	snprintf(target, sizeof target, "%s/wal", other);
	write_file(target, "", 0);
	assert_int_equal(symlink(target, side), 0);
	assert_int_equal(ma_history_open(f->dir, &f->h, &err), MA_ERR_STATE_CORRUPT);
	assert_non_null(strstr(err.detail, "history.db-wal is a symbolic link"));
	assert_int_equal(stat(target, &sb), 0);
	assert_int_equal(sb.st_size, 0);
}

/* A file of another user in our state directory (as root, who can make
 * one) is not ours. */
static void other_users_file_is_refused(void **state)
{
	struct fx *f = *state;
	char path[128];

	if (geteuid() != 0)
		return; /* only root can give a file away */
	open_fx(f);
	ma_history_close(f->h);
	f->h = NULL;
	snprintf(path, sizeof path, "%s/history.db", f->dir);
	assert_int_equal(chown(path, 4242, 4242), 0);
	assert_refused_untouched(f, "belongs to another user (uid 4242");
}

/* Existing files more open than 0600 are made 0600 (the -wal and -shm
 * too); the default directory is made 0700; a directory given with
 * --state-dir keeps its mode, but one others may write in is refused with
 * the command that fixes it. */
static void open_modes_are_tightened(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	char path[128], side[160], dir[128];
	static const char *const suffixes[] = { "", "-wal", "-shm" };

	open_fx(f);
	ma_history_close(f->h);
	f->h = NULL;
	snprintf(path, sizeof path, "%s/history.db", f->dir);
	for (size_t i = 0; i < 3; i++) {
		snprintf(side, sizeof side, "%s%s", path, suffixes[i]);
		if (!exists(side))
			write_file(side, "", 0);   /* an empty -wal/-shm is valid */
		assert_int_equal(chmod(side, 0644), 0);
	}
	assert_int_equal(chmod(f->dir, 0755), 0);
	open_fx(f);
	for (size_t i = 0; i < 3; i++) {
		snprintf(side, sizeof side, "%s%s", path, suffixes[i]);
		assert_int_equal(mode_of(side), 0600);
	}
	assert_int_equal(mode_of(f->dir), 0755);   /* the user's own directory */
	ma_history_close(f->h);
	f->h = NULL;

	/* Writable by others: refused, nothing created in it. */
	snprintf(dir, sizeof dir, "%s/open", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(ma_history_open(dir, &f->h, &err), MA_ERR_IO);
	if (!strstr(err.detail, "chmod go-w"))
		print_error("detail: %s\n", err.detail);
	assert_non_null(strstr(err.detail, "can be changed by other users (mode 1777)"));
	assert_non_null(strstr(err.detail, "run: chmod go-w"));
	snprintf(side, sizeof side, "%s/history.db", dir);
	assert_false(exists(side));
	assert_int_equal(mode_of(dir), 01777);

	/* The default directory is mailaudit's own: made private. */
	char *old_xdg = getenv("XDG_STATE_HOME") ? strdup(getenv("XDG_STATE_HOME")) : NULL;
	snprintf(dir, sizeof dir, "%s/xdg", f->dir);
	setenv("XDG_STATE_HOME", dir, 1);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof dir, "%s/xdg/mailaudit", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(ma_history_open(NULL, &f->h, &err), MA_OK);
	assert_int_equal(mode_of(dir), 0700);
	snprintf(dir, sizeof dir, "%s/xdg", f->dir);
	assert_int_equal(mode_of(dir), 0755);       /* its parent is not ours */
	if (old_xdg)
		setenv("XDG_STATE_HOME", old_xdg, 1);
	else
		unsetenv("XDG_STATE_HOME");
	free(old_xdg);
}

/* Five first audits at once on a new state directory: each opens the
 * history while the others create, switch to WAL and migrate it. Every
 * one must find the file its own (once, a read of the header from before
 * another's commit and of the table count from after it said "another
 * program's SQLite database"). Rounds until 150 or 20 s. */
#define OPENERS 5
static void concurrent_first_opens_agree(void **state)
{
	struct fx *f = *state;
	double end = now_seconds() + 20;
	int rounds = 0;
	for (; rounds < 150 && now_seconds() < end; rounds++) {
		char dir[160];
		snprintf(dir, sizeof dir, "%s/r%d", f->dir, rounds);
		int go[2], report[2];
		assert_int_equal(pipe(go), 0);
		assert_int_equal(pipe(report), 0);
		pid_t kids[OPENERS];
		for (int k = 0; k < OPENERS; k++) {
			kids[k] = fork();
			assert_true(kids[k] >= 0);
			if (kids[k] == 0) {
				close(go[1]);
				close(report[0]);
				char c;
				/* All start together: when the parent closes go. */
				while (read(go[0], &c, 1) < 0 && errno == EINTR)
					;
				struct ma_error err = { 0 };
				struct ma_history *h = NULL;
				ma_status st = ma_history_open(dir, &h, &err);
				ma_history_close(h);
				if (st != MA_OK) {
					char line[700];
					int n = snprintf(line, sizeof line, "%s\n", err.detail);
					if (write(report[1], line, (size_t)n) < 0)
						_exit(2);
				}
				_exit(st == MA_OK ? 0 : 1);
			}
		}
		close(go[0]);
		close(report[1]);
		close(go[1]);
		int failed = 0;
		for (int k = 0; k < OPENERS; k++) {
			int status = 0;
			while (waitpid(kids[k], &status, 0) < 0 && errno == EINTR)
				;
			failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
		}
		char why[2048] = "";
		ssize_t n = read(report[0], why, sizeof why - 1);
		why[n > 0 ? n : 0] = '\0';
		close(report[0]);
		if (failed)
			print_error("round %d: %d of %d opens failed: %s", rounds, failed, OPENERS, why);
		assert_int_equal(failed, 0);
	}
	print_message("%d rounds of %d first opens at once\n", rounds, OPENERS);
}

/* ---- audits ----------------------------------------------------------- */

static void unchanged_repeat_has_nothing_gone(void **state)
{
	struct fx *f = *state;
	const struct tfolder inbox = { "INBOX", 7, five, 5 };

	open_fx(f);
	int64_t a1 = run_audit(f, T0, &inbox, 1, true);
	int64_t a2 = run_audit(f, T0 + 3600, &inbox, 1, true);
	assert_true(a2 > a1);
	assert_int_equal(gone_of(f, a1).n, 0);
	assert_int_equal(gone_of(f, a2).n, 0);

	struct ma_error err = { 0 };
	uint32_t uidvalidity, max_uid;
	bool known;
	assert_int_equal(ma_history_folder_prev(f->h, f->acct, "INBOX", &uidvalidity,
						&max_uid, &known, &err), MA_OK);
	assert_true(known);
	assert_int_equal(uidvalidity, 7);
	assert_int_equal(max_uid, 5);
	assert_int_equal(ma_history_folder_prev(f->h, f->acct, "Nope", &uidvalidity,
						&max_uid, &known, &err), MA_OK);
	assert_false(known);
}

static void removed_messages_are_destroyed(void **state)
{
	struct fx *f = *state;
	const struct tmsg three[] = { { 1, 1 }, { 3, 3 }, { 5, 5 } };
	const struct tfolder before = { "INBOX", 7, five, 5 };
	const struct tfolder after = { "INBOX", 7, three, 3 };

	open_fx(f);
	run_audit(f, T0, &before, 1, true);
	int64_t a2 = run_audit(f, T0 + 3600, &after, 1, true);
	struct gone_list g = gone_of(f, a2);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.uid[0], 2);
	assert_int_equal(g.uid[1], 4);
	assert_string_equal(g.folder[0], "INBOX");
	assert_string_equal(g.gone_to[0], "");
	assert_string_equal(g.gone_to[1], "");
	assert_int_equal(g.last_seen[0], T0);
	/* Gone once is not gone again. */
	int64_t a3 = run_audit(f, T0 + 7200, &after, 1, true);
	assert_int_equal(gone_of(f, a3).n, 0);
}

/* What stayed in a Trash that lost messages (ma_history_folder_kept):
 * only messages an earlier audit saw, not this audit's arrivals, each in
 * Trash since its INTERNALDATE or, if later, since the last audit before
 * its UID was given out. */
static void trash_kept(void **state)
{
	struct fx *f = *state;
	const struct tmsg m1[] = { { 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 4 } };
	const struct tmsg m2[] = { { 3, 3 }, { 4, 4 }, { 5, 9 } };
	const struct tmsg m3[] = { { 5, 9 } };
	const struct tfolder t1 = { "Trash", 7, m1, 4 }, t2 = { "Trash", 7, m2, 3 },
			     t3 = { "Trash", 7, m3, 1 };
	struct ma_error err = { 0 };
	uint32_t kept = 0;
	int64_t oldest = 0;

	open_fx(f);
	/* put_folder dates a message T0 + its id: all before the first audit. */
	run_audit(f, T0 + 100, &t1, 1, true);
	int64_t a2 = 0;
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 3600, &a2, &err), MA_OK);
	put_folder(f, a2, &t2);
	assert_int_equal(ma_history_detect_gone(f->h, a2, true, &err), MA_OK);
	assert_int_equal(ma_history_folder_kept(f->h, f->acct, "Trash", 7, a2, &kept, &oldest, &err),
			 MA_OK);
	assert_int_equal(kept, 2);        /* UIDs 3 and 4; 5 is this audit's */
	assert_int_equal(oldest, T0 + 3); /* by INTERNALDATE */
	/* Another UIDVALIDITY: nothing kept. */
	assert_int_equal(ma_history_folder_kept(f->h, f->acct, "Trash", 8, a2, &kept, &oldest, &err),
			 MA_OK);
	assert_int_equal(kept, 0);
	assert_int_equal(oldest, 0);
	assert_int_equal(ma_history_commit(f->h, a2, T0 + 3605, "ok", &err), MA_OK);

	/* UID 5 came after the first audit (UIDNEXT 5 then), whatever its
	 * date says: in Trash since that audit at the earliest. */
	int64_t a3 = 0;
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 7200, &a3, &err), MA_OK);
	put_folder(f, a3, &t3);
	assert_int_equal(ma_history_detect_gone(f->h, a3, true, &err), MA_OK);
	assert_int_equal(ma_history_folder_kept(f->h, f->acct, "Trash", 7, a3, &kept, &oldest, &err),
			 MA_OK);
	assert_int_equal(kept, 1);
	assert_int_equal(oldest, T0 + 100);

	/* Both Trash losses wait for --ack, the purge's too. */
	assert_int_equal(losses_of(f, a3, true, 0).n, 2);
}

static void moved_messages_name_their_folder(void **state)
{
	struct fx *f = *state;
	const struct tmsg kept[] = { { 1, 1 }, { 2, 2 }, { 5, 5 } };
	const struct tmsg moved[] = { { 1, 3 }, { 2, 4 } };
	const struct tfolder before[] = { { "INBOX", 7, five, 5 }, { "Archive", 9, NULL, 0 } };
	const struct tfolder after[] = { { "INBOX", 7, kept, 3 }, { "Archive", 9, moved, 2 } };

	open_fx(f);
	run_audit(f, T0, before, 2, true);
	int64_t a2 = run_audit(f, T0 + 60, after, 2, true);
	struct gone_list g = gone_of(f, a2);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.uid[0], 3);
	assert_string_equal(g.gone_to[0], "Archive");
	assert_string_equal(g.gone_to[1], "Archive");
}

/* From and Subject as a callback saw them, copied (they last only until
 * it returns). */
struct gone_text {
	size_t n, stop_after;
	char *from[4], *subject[4];
};

static int collect_text(const struct ma_gone_msg *m, void *ctx)
{
	struct gone_text *t = ctx;
	assert_true(t->n < 4);
	t->from[t->n] = m->from ? strdup(m->from) : NULL;
	t->subject[t->n] = m->subject ? strdup(m->subject) : NULL;
	t->n++;
	return t->stop_after && t->n >= t->stop_after;
}

static void gone_text_clear(struct gone_text *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->from[i]);
		free(t->subject[i]);
	}
	memset(t, 0, sizeof *t);
}

/* Audits store From and Subject raw; the history hands them out decoded.
 * Rows written before that hold decoded text, which must come back as it
 * was stored. */
static void gone_from_and_subject_are_decoded(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	int64_t a;
	unsigned char hash[32];
	const char *hdr =
		"From: =?UTF-8?Q?=C5=81ukasz_=C5=BB=C3=B3=C5=82=C4=87?=\r\n <user@example.org>\r\n"
		"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?= \033[2J\r\n";
	struct ma_message msgs[3] = { { .uid = 1 }, { .uid = 2 }, { .uid = 3 } };
	assert_int_equal(ma_parse_header_fields_raw(hdr, strlen(hdr), &msgs[0]), 0);
	assert_string_equal(msgs[0].subject, "=?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?= \033[2J");
	/* what older versions stored: ma_parse_header_fields' decoded text */
	assert_int_equal(ma_parse_header_fields(hdr, strlen(hdr), &msgs[1]), 0);
	const char *old_from = "Łukasz Żółć <user@example.org>";
	const char *old_subject = "Grüße aus München ?[2J";
	assert_string_equal(msgs[1].from, old_from);
	assert_string_equal(msgs[1].subject, old_subject);
	/* msgs[2]: neither field */

	open_fx(f);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	for (size_t i = 0; i < 3; i++) {
		fake_hash(msgs[i].uid, hash);
		assert_int_equal(ma_history_put_message(f->h, a, "INBOX", 7, &msgs[i], hash, &err),
				 MA_OK);
	}
	assert_int_equal(ma_history_put_folder(f->h, a, &(struct ma_folder){
		.name = "INBOX", .uidvalidity = 7, .uidnext = 4, .messages = 3 }, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 5, "ok", &err), MA_OK);
	const struct tfolder empty = { "INBOX", 7, NULL, 0 };
	int64_t a2 = run_audit(f, T0 + 60, &empty, 1, true);

	struct gone_text t = { 0 };
	assert_int_equal(ma_history_gone(f->h, a2, collect_text, &t, &err), MA_OK);
	assert_int_equal(t.n, 3);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(t.from[i], old_from);
		assert_string_equal(t.subject[i], old_subject);
	}
	assert_null(t.from[2]);
	assert_null(t.subject[2]);
	gone_text_clear(&t);

	/* stopping early frees what was decoded (ASan checks) */
	t.stop_after = 1;
	assert_int_equal(ma_history_gone(f->h, a2, collect_text, &t, &err), MA_OK);
	assert_int_equal(t.n, 1);
	gone_text_clear(&t);
	for (size_t i = 0; i < 3; i++)
		ma_message_clear(&msgs[i]);
}

static void moved_without_message_id_matches_size_and_date(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	int64_t a;
	struct ma_message m = { .uid = 10, .size = 4242, .internaldate = T0 + 99, .subject = "x" };
	struct ma_folder inbox = { .name = "INBOX", .uidvalidity = 1 };
	struct ma_folder trash = { .name = "Trash", .uidvalidity = 1 };

	open_fx(f);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	assert_int_equal(ma_history_put_message(f->h, a, "INBOX", 1, &m, NULL, &err), MA_OK);
	assert_int_equal(ma_history_put_folder(f->h, a, &inbox, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_put_folder(f->h, a, &trash, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0, "ok", &err), MA_OK);

	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60, &a, &err), MA_OK);
	m.uid = 3;
	assert_int_equal(ma_history_put_message(f->h, a, "Trash", 1, &m, NULL, &err), MA_OK);
	assert_int_equal(ma_history_put_folder(f->h, a, &inbox, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_put_folder(f->h, a, &trash, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 60, "ok", &err), MA_OK);

	struct gone_list g = gone_of(f, a);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.uid[0], 10);
	assert_string_equal(g.gone_to[0], "Trash");
	assert_false(g.had_hash[0]);
}

static void uidvalidity_change_is_not_destruction(void **state)
{
	struct fx *f = *state;
	const struct tmsg renumbered[] = { { 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 4 }, { 5, 5 } };
	const struct tfolder before = { "INBOX", 7, five, 5 };
	const struct tfolder after = { "INBOX", 8, renumbered, 5 };

	open_fx(f);
	run_audit(f, T0, &before, 1, true);
	int64_t a2 = run_audit(f, T0 + 60, &after, 1, true);
	struct gone_list g = gone_of(f, a2);
	assert_int_equal(g.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(g.gone_to[i], "INBOX");
		assert_true(g.renumbered[i]);   /* renumbered by the server, not moved */
		assert_false(g.folder_gone[i]);
		assert_int_equal(g.role[i], MA_ROLE_INBOX);
	}
	/* All still there: nothing on the ledger, named or unseen. */
	assert_int_equal(losses_of(f, 0, false, 0).n, 0);

	struct ma_error err = { 0 };
	uint32_t uidvalidity, max_uid;
	bool known;
	assert_int_equal(ma_history_folder_prev(f->h, f->acct, "INBOX", &uidvalidity,
						&max_uid, &known, &err), MA_OK);
	assert_int_equal(uidvalidity, 8);
	assert_int_equal(max_uid, 5);
}

static void unread_folder_loses_nothing_deleted_folder_does(void **state)
{
	struct fx *f = *state;
	const struct tfolder both[] = { { "INBOX", 7, five, 5 }, { "Old", 3, five, 2 } };

	open_fx(f);
	run_audit(f, T0, both, 2, true);
	/* "Old" could not be read, and the folder list is not known complete. */
	int64_t a2 = run_audit(f, T0 + 60, both, 1, false);
	assert_int_equal(gone_of(f, a2).n, 0);
	assert_int_equal(losses_of(f, 0, false, 0).n, 0);
	/* Now the list is complete and "Old" is not in it: deleted. Their
	 * Message-IDs are in INBOX, but those messages were there all along:
	 * copies, and not where these went. */
	int64_t a3 = run_audit(f, T0 + 120, both, 1, true);
	struct gone_list g = gone_of(f, a3);
	assert_int_equal(g.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(g.folder[i], "Old");
		assert_string_equal(g.gone_to[i], "");
		assert_true(g.folder_gone[i]);
		assert_false(g.renumbered[i]);
		assert_int_equal(g.role[i], MA_ROLE_ORDINARY);
		assert_int_equal(g.last_seen[i], T0);
	}
	struct loss_list ll = losses_of(f, a3, false, 0);
	assert_int_equal(ll.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(ll.folder[i], "Old");
		assert_true(ll.l[i].folder_gone);
		assert_int_equal(ll.l[i].kind, MA_LOSS_MESSAGE);
	}
	/* INBOX's messages, still there, are no loss and their folder no
	 * deleted one. */
	assert_int_equal(gone_of(f, a2).n, 0);
}

static void incremental_audit_marks_old_uids_present(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	const struct tmsg newer[] = { { 6, 6 }, { 7, 7 } };
	const struct tfolder first = { "INBOX", 7, five, 5 };
	const struct tfolder fresh = { "INBOX", 7, newer, 2 };
	const uint32_t old_present[] = { 1, 2, 4 };   /* 3 and 5 were expunged */
	int64_t a;

	open_fx(f);
	run_audit(f, T0, &first, 1, true);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60, &a, &err), MA_OK);
	assert_int_equal(ma_history_mark_present(f->h, a, "INBOX", 7, old_present, 3, &err), MA_OK);
	put_folder(f, a, &fresh);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	struct gone_list g = gone_of(f, a);   /* readable before commit */
	assert_int_equal(ma_history_commit(f->h, a, T0 + 61, "critical", &err), MA_OK);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.uid[0], 3);
	assert_int_equal(g.uid[1], 5);
	assert_string_equal(g.gone_to[0], "");

	uint32_t uidvalidity, max_uid;
	bool known;
	assert_int_equal(ma_history_folder_prev(f->h, f->acct, "INBOX", &uidvalidity,
						&max_uid, &known, &err), MA_OK);
	assert_int_equal(max_uid, 7);
}

static void rollback_leaves_previous_history(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	const struct tmsg one[] = { { 1, 1 } };
	const struct tfolder first = { "INBOX", 7, five, 5 };
	const struct tfolder cut = { "INBOX", 7, one, 1 };
	int64_t a, prev;
	time_t when;
	bool found;

	open_fx(f);
	int64_t a1 = run_audit(f, T0, &first, 1, true);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60, &a, &err), MA_OK);
	put_folder(f, a, &cut);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	ma_history_rollback(f->h);
	assert_int_equal(ma_history_prev_audit(f->h, f->acct, INT64_MAX, &prev, &when, &found,
					       &err), MA_OK);
	assert_int_equal(prev, a1);
	/* Writing to the rolled-back audit is refused. */
	assert_int_equal(ma_history_put_folder(f->h, a, &(struct ma_folder){ .name = "X" }, 0, 0,
					       &err), MA_ERR_ARGUMENT);
	int64_t a3 = run_audit(f, T0 + 120, &first, 1, true);
	assert_int_equal(gone_of(f, a3).n, 0);
}

struct audit_rows {
	int n;
	struct ma_audit_row row[4];
	char outcome[4][16];
};

static int collect_audit(const struct ma_audit_row *a, void *ctx)
{
	struct audit_rows *r = ctx;
	if (r->n < 4) {
		r->row[r->n] = *a;
		snprintf(r->outcome[r->n], sizeof r->outcome[0], "%s", a->outcome);
	}
	r->n++;
	return 0;
}

static int collect_pop3_gone(const struct ma_pop3_gone *m, void *ctx)
{
	char *out = ctx;
	strcat(out, m->uidl);
	strcat(out, " ");
	return 0;
}

static int pop3_last_seen(const struct ma_pop3_gone *m, void *ctx)
{
	*(time_t *)ctx = m->last_seen;
	return 0;
}

/* A POP3 view written as a delta against the last complete one: new UIDLs
 * added, missing ones gone in this audit, the others' rows left alone and
 * still present; a UIDL left alone is last seen by the delta audits. A
 * second write of the same audit starts over; a stale base or an
 * incomplete view is written in full. */
static void pop3_delta_writes_only_what_changed(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	struct ma_pop3_entry e[4] = {
		{ 1, 100, "aaa" }, { 2, 200, "bbb" }, { 3, 300, "ccc" }, { 4, 400, "ddd" },
	};
	struct ma_pop3_view v = { .stat_count = 3, .stat_size = 600, .entries = e, .nentries = 3 };
	struct ma_pop3_prev pp;
	char gone[64] = "";
	time_t seen = 0;
	int64_t a;

	open_fx(f);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3_delta(f->h, a, &v, 0, &err), MA_OK); /* no base: in full */
	assert_int_equal(ma_history_commit(f->h, a, T0 + 1, "ok", &err), MA_OK);
	int64_t a1 = a;

	/* "ddd" arrives. */
	v = (struct ma_pop3_view){ .stat_count = 4, .stat_size = 1000, .entries = e, .nentries = 4 };
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60, &a, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3_delta(f->h, a, &v, a1, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 61, "ok", &err), MA_OK);
	int64_t a2 = a;
	assert_int_equal(ma_history_pop3_gone(f->h, a2, collect_pop3_gone, gone, &err), MA_OK);
	assert_string_equal(gone, "");
	assert_int_equal(ma_history_pop3_prev(f->h, f->acct, &pp, &err), MA_OK);
	assert_true(pp.known && pp.uidl_complete);
	assert_int_equal(pp.audit_id, a2);

	/* "bbb" deleted over POP3; written twice (a recount), found once. */
	struct ma_pop3_entry e3[3] = { e[0], e[2], e[3] };
	v = (struct ma_pop3_view){ .stat_count = 3, .stat_size = 800, .entries = e3, .nentries = 3 };
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 120, &a, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3_delta(f->h, a, &v, a2, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3_delta(f->h, a, &v, a2, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 121, "ok", &err), MA_OK);
	int64_t a3 = a;
	assert_int_equal(ma_history_pop3_gone(f->h, a3, collect_pop3_gone, gone, &err), MA_OK);
	assert_string_equal(gone, "bbb ");
	/* Its row was written by a1; a2 (a delta) still saw it. */
	assert_int_equal(ma_history_pop3_gone(f->h, a3, pop3_last_seen, &seen, &err), MA_OK);
	assert_int_equal(seen, T0 + 60);

	/* Against a base that is not the last view: written in full, and the
	 * full listing finds "ddd" gone, last seen by a3 (a delta). */
	struct ma_pop3_entry e2[2] = { e[0], e[2] };
	v = (struct ma_pop3_view){ .stat_count = 2, .stat_size = 400, .entries = e2, .nentries = 2 };
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 180, &a, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3_delta(f->h, a, &v, a1, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 181, "ok", &err), MA_OK);
	int64_t a4 = a;
	gone[0] = '\0';
	assert_int_equal(ma_history_pop3_gone(f->h, a4, collect_pop3_gone, gone, &err), MA_OK);
	assert_string_equal(gone, "ddd ");
	assert_int_equal(ma_history_pop3_gone(f->h, a4, pop3_last_seen, &seen, &err), MA_OK);
	assert_int_equal(seen, T0 + 120);

	/* A view with a UIDL missing proves nothing gone: in full, incomplete. */
	struct ma_pop3_entry e1[2] = { e[0], { 2, 300, "" } };
	v = (struct ma_pop3_view){ .stat_count = 2, .stat_size = 400, .entries = e1, .nentries = 2 };
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 240, &a, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3_delta(f->h, a, &v, a4, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 241, "ok", &err), MA_OK);
	gone[0] = '\0';
	assert_int_equal(ma_history_pop3_gone(f->h, a, collect_pop3_gone, gone, &err), MA_OK);
	assert_string_equal(gone, "");
	assert_int_equal(ma_history_pop3_prev(f->h, f->acct, &pp, &err), MA_OK);
	assert_false(pp.uidl_complete);
}

static int collect_ordered(const char *uidl, uint32_t size, int64_t ord, void *ctx)
{
	(void)size;
	char *out = ctx;
	if (ord < 0)
		strcat(out, "?");
	strcat(out, uidl);
	strcat(out, " ");
	return 0;
}

/* One audit writing v as a delta against base (0: in full). */
static int64_t pop3_audit(struct fx *f, time_t t, const struct ma_pop3_view *v, int64_t base)
{
	struct ma_error err = { 0 };
	int64_t a;
	assert_int_equal(ma_history_begin(f->h, f->acct, t, &a, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3_delta(f->h, a, v, base, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, t + 1, "ok", &err), MA_OK);
	return a;
}

/* The UIDLs on record come back in the server's order (what the POP3
 * probe compares with), not by UIDL or row id: after a full view, after a
 * delta whose new UIDLs sort before the old ones, and after a UIDL seen
 * again in the middle (everything renumbered). */
static void pop3_order_follows_the_server(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	char out[128] = "", first[MA_UIDL_MAX + 1], last[MA_UIDL_MAX + 1];
	bool known = false;

	open_fx(f);
	struct ma_pop3_entry e1[3] = { { 1, 10, "zzz" }, { 2, 10, "aaa" }, { 3, 10, "mmm" } };
	struct ma_pop3_view v = { .stat_count = 3, .stat_size = 30, .entries = e1, .nentries = 3 };
	int64_t a = pop3_audit(f, T0, &v, 0);
	assert_int_equal(ma_history_pop3_ordered(f->h, f->acct, collect_ordered, out, &err), MA_OK);
	assert_string_equal(out, "zzz aaa mmm ");

	/* "aaa" deleted, "ccc" and "bbb" arrive (in that order). */
	struct ma_pop3_entry e2[4] = { { 1, 10, "zzz" }, { 2, 10, "mmm" }, { 3, 10, "ccc" }, { 4, 10, "bbb" } };
	v = (struct ma_pop3_view){ .stat_count = 4, .stat_size = 40, .entries = e2, .nentries = 4 };
	a = pop3_audit(f, T0 + 60, &v, a);
	out[0] = '\0';
	assert_int_equal(ma_history_pop3_ordered(f->h, f->acct, collect_ordered, out, &err), MA_OK);
	assert_string_equal(out, "zzz mmm ccc bbb ");
	assert_int_equal(ma_history_pop3_ends(f->h, f->acct, first, last, &known, &err), MA_OK);
	assert_true(known);
	assert_string_equal(first, "zzz");
	assert_string_equal(last, "bbb");

	/* "aaa" is back, in the middle: not where new mail goes. */
	struct ma_pop3_entry e3[5] = { { 1, 10, "zzz" }, { 2, 10, "aaa" }, { 3, 10, "mmm" }, { 4, 10, "ccc" },
				       { 5, 10, "bbb" } };
	v = (struct ma_pop3_view){ .stat_count = 5, .stat_size = 50, .entries = e3, .nentries = 5 };
	pop3_audit(f, T0 + 120, &v, a);
	out[0] = '\0';
	assert_int_equal(ma_history_pop3_ordered(f->h, f->acct, collect_ordered, out, &err), MA_OK);
	assert_string_equal(out, "zzz aaa mmm ccc bbb ");
}

/* A view of 4 messages, 40 bytes, as the probe leaves it: entries the new
 * ones, kept on record, gone[0..ngone) gone. */
static struct ma_pop3_view probed_view(struct ma_pop3_entry *e, size_t n, size_t kept,
				       const char **gone, size_t ngone)
{
	struct ma_pop3_view v = { .stat_count = 4, .stat_size = 40, .entries = e, .nentries = n };
	v.probed.valid = true;
	v.probed.kept = kept;
	v.probed.gone = gone;
	v.probed.ngone = ngone;
	return v;
}

/* A delta the POP3 probe proved (ma_pop3_view.probed: the view holds only
 * the new UIDLs) records what the same listing compared in full records.
 * Findings that no longer fit the record (a gone UIDL not present, a
 * count that differs) are not trusted: nothing is marked, the view is
 * recorded as not complete, and the next audit, listed in full, finds
 * what went. */
static void pop3_probed_delta_as_full(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	char out[128] = "", gone[64] = "";
	struct ma_pop3_prev pp;

	open_fx(f);
	struct ma_pop3_entry e1[4] = { { 1, 10, "zzz" }, { 2, 10, "aaa" }, { 3, 10, "mmm" }, { 4, 10, "qqq" } };
	struct ma_pop3_view v = { .stat_count = 4, .stat_size = 40, .entries = e1, .nentries = 4 };
	int64_t a = pop3_audit(f, T0, &v, 0);

	/* "aaa" and "qqq" deleted, "ccc" and "bbb" arrive: as proved. */
	const char *went[] = { "aaa", "qqq" };
	struct ma_pop3_entry e2[2] = { { 3, 10, "ccc" }, { 4, 10, "bbb" } };
	v = probed_view(e2, 2, 2, went, 2);
	a = pop3_audit(f, T0 + 60, &v, a);
	assert_int_equal(ma_history_pop3_ordered(f->h, f->acct, collect_ordered, out, &err), MA_OK);
	assert_string_equal(out, "zzz mmm ccc bbb ");
	assert_int_equal(ma_history_pop3_gone(f->h, a, collect_pop3_gone, gone, &err), MA_OK);
	assert_string_equal(gone, "aaa qqq ");
	assert_int_equal(ma_history_pop3_prev(f->h, f->acct, &pp, &err), MA_OK);
	assert_true(pp.known && pp.uidl_complete);
	assert_int_equal(pp.audit_id, a);

	/* Findings that do not fit: "qqq" is gone already. Nothing marked,
	 * the new "aaa" (back) written, the view not complete. */
	const char *went2[] = { "qqq" };
	struct ma_pop3_entry e3[1] = { { 4, 10, "aaa" } };
	v = probed_view(e3, 1, 3, went2, 1);
	a = pop3_audit(f, T0 + 120, &v, a);
	gone[0] = '\0';
	assert_int_equal(ma_history_pop3_gone(f->h, a, collect_pop3_gone, gone, &err), MA_OK);
	assert_string_equal(gone, "");
	assert_int_equal(ma_history_pop3_prev(f->h, f->acct, &pp, &err), MA_OK);
	assert_true(pp.known);
	assert_false(pp.uidl_complete);

	/* The next audit lists in full: "mmm" went. */
	struct ma_pop3_entry e4[4] = { { 1, 10, "zzz" }, { 2, 10, "ccc" }, { 3, 10, "bbb" }, { 4, 10, "aaa" } };
	v = (struct ma_pop3_view){ .stat_count = 4, .stat_size = 40, .entries = e4, .nentries = 4 };
	a = pop3_audit(f, T0 + 180, &v, a);
	out[0] = gone[0] = '\0';
	assert_int_equal(ma_history_pop3_ordered(f->h, f->acct, collect_ordered, out, &err), MA_OK);
	assert_string_equal(out, "zzz ccc bbb aaa ");
	assert_int_equal(ma_history_pop3_gone(f->h, a, collect_pop3_gone, gone, &err), MA_OK);
	assert_string_equal(gone, "mmm ");
}

/* The writer writes a POP3 view in slices between its other jobs: the
 * slices, however cut, record what the view written at once does. */
static void pop3_view_in_slices(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	char names[40][4], out[256] = "", want[256] = "";
	struct ma_pop3_entry e[40];
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof names[i], "%c%02d", 'z' - i % 3, i);
		e[i] = (struct ma_pop3_entry){ (uint32_t)i + 1, 10, names[i] };
		if (i == 5) {
			e[i].uidl = ""; /* none listed: no row, and the view is not complete */
			continue;
		}
		strcat(want, names[i]);
		strcat(want, " ");
	}
	struct ma_pop3_view v = { .stat_count = 40, .stat_size = 400, .entries = e, .nentries = 40 };
	int64_t a;

	open_fx(f);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3_start(f->h, a, &v, &err), MA_OK);
	const size_t cuts[] = { 0, 3, 3, 36, 37, 99 };
	for (size_t i = 0; i + 1 < sizeof cuts / sizeof *cuts; i++)
		assert_int_equal(ma_history_put_pop3_rows(f->h, a, &v, cuts[i], cuts[i + 1], &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 1, "ok", &err), MA_OK);
	struct ma_pop3_prev prev;
	assert_int_equal(ma_history_pop3_prev(f->h, f->acct, &prev, &err), MA_OK);
	assert_true(prev.known);
	assert_int_equal(prev.stat_count, 40);
	assert_false(prev.uidl_complete);
	assert_int_equal(ma_history_pop3_ordered(f->h, f->acct, collect_ordered, out, &err), MA_OK);
	/* All but the one without a UIDL, in the server's order. */
	assert_string_equal(out, want);
}

static void pop3_view_and_audit_list(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	const struct tfolder inbox = { "INBOX", 7, five, 5 };
	struct ma_pop3_entry entries[3] = {
		{ 1, 100, "aaa" }, { 2, 200, "bbb" }, { 3, 300, "ccc" },
	};
	char *capa[] = { "UIDL", "EXPIRE 30" };
	struct ma_pop3_view v = { .stat_count = 3, .stat_size = 600, .entries = entries, .nentries = 3, .capa = capa, .ncapa = 2 };
	int64_t a;
	char gone[64] = "";

	open_fx(f);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	put_folder(f, a, &inbox);
	assert_int_equal(ma_history_put_pop3(f->h, a, &v, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 1, "ok", &err), MA_OK);

	/* "bbb" downloaded and deleted by a POP3 client. */
	entries[1] = entries[2];
	v.stat_count = 2;
	v.nentries = 2;
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60, &a, &err), MA_OK);
	put_folder(f, a, &inbox);
	assert_int_equal(ma_history_put_pop3(f->h, a, &v, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 61, "warning", &err), MA_OK);
	assert_int_equal(ma_history_pop3_gone(f->h, a, collect_pop3_gone, gone, &err), MA_OK);
	assert_string_equal(gone, "bbb ");

	/* Without UIDLs nothing can be called gone. */
	v.nentries = 0;
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 120, &a, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3(f->h, a, &v, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 121, NULL, &err), MA_OK);
	gone[0] = '\0';
	assert_int_equal(ma_history_pop3_gone(f->h, a, collect_pop3_gone, gone, &err), MA_OK);
	assert_string_equal(gone, "");

	struct audit_rows r = { 0 };
	assert_int_equal(ma_history_audits(f->h, f->acct, 2, collect_audit, &r, &err), MA_OK);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.outcome[0], "unknown");
	assert_int_equal(r.row[0].inbox_messages, -1);   /* no IMAP in that one */
	assert_int_equal(r.row[0].pop3_count, 2);
	assert_string_equal(r.outcome[1], "warning");
	assert_int_equal(r.row[1].inbox_messages, 5);
	assert_int_equal(r.row[1].total_messages, 5);
	assert_int_equal(r.row[1].started, T0 + 60);
	assert_int_equal(r.row[1].finished, T0 + 61);
}

/* ---- size and speed --------------------------------------------------- */

static off_t closed_size(struct fx *f)
{
	struct stat sb;
	char path[160];
	snprintf(path, sizeof path, "%s", ma_history_path(f->h));
	/* mailaudit leaves the checkpoint to the next audit (see
	 * ma_history_open); a plain connection checkpoints the WAL into the
	 * file and removes it when it closes. */
	ma_history_close(f->h);
	f->h = NULL;
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(stat(path, &sb), 0);
	strcat(path, "-wal");
	assert_int_equal(access(path, F_OK), -1);
	open_fx(f);
	return sb.st_size;
}

static void repeat_audit_grows_under_4k(void **state)
{
	struct fx *f = *state;
	enum { N = 1000, REPEATS = 20 };
	static struct tmsg msgs[N];
	for (uint32_t i = 0; i < N; i++)
		msgs[i] = (struct tmsg){ i + 1, i + 1 };
	const struct tfolder inbox = { "INBOX", 7, msgs, N };

	open_fx(f);
	run_audit(f, T0, &inbox, 1, true);
	run_audit(f, T0 + 1, &inbox, 1, true);
	off_t start = closed_size(f), prev = start, worst = 0;
	for (int i = 0; i < REPEATS; i++) {
		run_audit(f, T0 + 10 + i, &inbox, 1, true);
		off_t size = closed_size(f);
		if (size - prev > worst)
			worst = size - prev;
		prev = size;
	}
	double per = (double)(prev - start) / REPEATS;
	printf("# history: %lld bytes for %d messages; %.0f bytes per unchanged repeat audit"
	       " (largest single step %lld)\n", (long long)start, N, per, (long long)worst);
	assert_true(per < 4096);
}

static void hundred_thousand_messages_timing(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	enum { N = 100000 };
	int64_t a;
	unsigned char hash[32];

	open_fx(f);
	double t0 = now_seconds();
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	for (uint32_t i = 1; i <= N; i++) {
		struct ma_message m = {
			.uid = i, .size = 2000 + i % 5000, .internaldate = T0 - i,
			.date = "Tue, 14 Nov 2023 22:13:20 +0000",
			.from = "Some Sender <sender@example.org>",
			.subject = "A fairly ordinary subject line for a message",
		};
		fake_hash(i, hash);
		assert_int_equal(ma_history_put_message(f->h, a, "INBOX", 1, &m, hash, &err), MA_OK);
	}
	assert_int_equal(ma_history_put_folder(f->h, a, &(struct ma_folder){
		.name = "INBOX", .uidvalidity = 1, .messages = N }, 0, 0, &err), MA_OK);
	/* A first audit has nothing to compare: detect_gone reads no message. */
	double tg = now_seconds();
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	double first_gone = now_seconds() - tg;
	assert_int_equal(ma_history_commit(f->h, a, T0, "ok", &err), MA_OK);
	double t1 = now_seconds();

	/* Repeat audit: all old UIDs in one mark_present call. */
	uint32_t *uids = malloc(N * sizeof *uids);
	for (uint32_t i = 0; i < N; i++)
		uids[i] = i + 1 + (i >= N / 2);   /* one gap: UID N/2+1 expunged */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60, &a, &err), MA_OK);
	assert_int_equal(ma_history_mark_present(f->h, a, "INBOX", 1, uids, N - 1, &err), MA_OK);
	assert_int_equal(ma_history_put_folder(f->h, a, &(struct ma_folder){
		.name = "INBOX", .uidvalidity = 1, .messages = N - 1 }, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 60, "ok", &err), MA_OK);
	double t2 = now_seconds();
	free(uids);
	printf("# history: 100000 put_message + commit in %.3f s (of which detect_gone %.6f s);"
	       " mark_present of 99999 + gone detection + commit in %.3f s\n",
	       t1 - t0, first_gone, t2 - t1);
	struct gone_list g = gone_of(f, a);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.uid[0], N / 2 + 1);
	struct loss_list ll = losses_of(f, a, false, 0);
	assert_int_equal(ll.n, 1);
	assert_int_equal(ll.l[0].kind, MA_LOSS_MESSAGE);
}

/* Rows go in statements of 128, 16 and 1 (history.c, put_sizes): a count
 * that needs all three, in one call, is written whole and in order. */
struct batch_seen {
	uint32_t n, next;   /* rows seen; the UID or ord expected next */
	bool in_order;
};

static int batch_uid(uint32_t uid, void *ctx)
{
	struct batch_seen *b = ctx;
	b->in_order &= uid == b->next;
	b->next = uid + 1;
	b->n++;
	return 0;
}

static int batch_uidl(const char *uidl, uint32_t size, int64_t ord, void *ctx)
{
	struct batch_seen *b = ctx;
	char want[16];
	snprintf(want, sizeof want, "u%u", b->next);
	b->in_order &= ord == (int64_t)b->next && size == 1000 + b->next && strcmp(uidl, want) == 0;
	b->next++;
	b->n++;
	return 0;
}

static void batched_rows_are_written_whole(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	enum { N = 128 * 2 + 16 * 3 + 5 };
	static struct ma_message msgs[N];
	static unsigned char hash[N][32];
	static const unsigned char *hashp[N];
	static struct ma_pop3_entry entries[N];
	static char uidls[N][16];
	int64_t a;

	for (uint32_t i = 0; i < N; i++) {
		msgs[i] = (struct ma_message){ .uid = i + 1, .size = 1000 + i, .internaldate = T0 - i,
					       .date = "Tue, 14 Nov 2023 22:13:20 +0000",
					       .from = "Sender <s@example.org>", .subject = "Subject" };
		fake_hash(i + 1, hash[i]);
		hashp[i] = hash[i];
		entries[i].number = i + 1;
		entries[i].size = 1000 + i + 1;
		snprintf(uidls[i], sizeof uidls[i], "u%u", i + 1);
		entries[i].uidl = uidls[i];
	}
	struct ma_pop3_view v = { .stat_count = N, .stat_size = 0, .entries = entries, .nentries = N };
	open_fx(f);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	assert_int_equal(ma_history_put_messages(f->h, a, "INBOX", 1, msgs, N, hashp, &err), MA_OK);
	assert_int_equal(ma_history_put_folder(f->h, a, &(struct ma_folder){
		.name = "INBOX", .uidvalidity = 1, .messages = N }, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3(f->h, a, &v, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 1, "ok", &err), MA_OK);

	uint32_t count = 0;
	uint64_t total = 0;
	assert_int_equal(ma_history_folder_count(f->h, f->acct, "INBOX", 1, &count, &total, &err), MA_OK);
	assert_int_equal(count, N);
	assert_int_equal(total, (uint64_t)N * 1000 + (uint64_t)N * (N - 1) / 2);
	struct batch_seen b = { 0, 1, true };
	assert_int_equal(ma_history_folder_uids(f->h, f->acct, "INBOX", 1, batch_uid, &b, &err), MA_OK);
	assert_int_equal(b.n, N);
	assert_true(b.in_order);
	b = (struct batch_seen){ 0, 1, true };
	assert_int_equal(ma_history_pop3_ordered(f->h, f->acct, batch_uidl, &b, &err), MA_OK);
	assert_int_equal(b.n, N);
	assert_true(b.in_order);
}

/* Many gone at once: where they went is found by one scan, not one search
 * per gone message (schema 2 has no Message-ID index). */
struct gone_count {
	size_t n, moved;
};

static int count_gone(const struct ma_gone_msg *m, void *ctx)
{
	struct gone_count *c = ctx;
	c->n++;
	if (m->gone_to && strcmp(m->gone_to, "Archive") == 0)
		c->moved++;
	return 0;
}

static void ten_thousand_gone_timing(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	enum { N = 100000, GONE = 10000 };
	int64_t a;
	unsigned char hash[32];

	open_fx(f);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	for (uint32_t i = 1; i <= N; i++) {
		struct ma_message m = { .uid = i, .size = 2000 + i, .internaldate = T0 - i,
					.subject = "s" };
		fake_hash(i, hash);
		assert_int_equal(ma_history_put_message(f->h, a, "INBOX", 1, &m, hash, &err), MA_OK);
	}
	assert_int_equal(ma_history_put_folder(f->h, a, &(struct ma_folder){
		.name = "INBOX", .uidvalidity = 1, .messages = N }, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_put_folder(f->h, a, &(struct ma_folder){
		.name = "Archive", .uidvalidity = 2 }, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0, "ok", &err), MA_OK);

	/* The first GONE leave INBOX; half of them turn up in Archive. */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60, &a, &err), MA_OK);
	uint32_t *uids = malloc((N - GONE) * sizeof *uids);
	for (uint32_t i = 0; i < N - GONE; i++)
		uids[i] = GONE + 1 + i;
	assert_int_equal(ma_history_mark_present(f->h, a, "INBOX", 1, uids, N - GONE, &err), MA_OK);
	free(uids);
	for (uint32_t i = 1; i <= GONE / 2; i++) {
		struct ma_message m = { .uid = i, .size = 2000 + i, .internaldate = T0 - i,
					.subject = "s" };
		fake_hash(i, hash);
		assert_int_equal(ma_history_put_message(f->h, a, "Archive", 2, &m, hash, &err), MA_OK);
	}
	assert_int_equal(ma_history_put_folder(f->h, a, &(struct ma_folder){
		.name = "INBOX", .uidvalidity = 1, .messages = N - GONE }, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_put_folder(f->h, a, &(struct ma_folder){
		.name = "Archive", .uidvalidity = 2, .messages = GONE / 2 }, 0, 0, &err), MA_OK);
	double t0 = now_seconds();
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	double t1 = now_seconds();
	struct gone_count c = { 0 };
	assert_int_equal(ma_history_gone(f->h, a, count_gone, &c, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 60, "ok", &err), MA_OK);
	assert_int_equal(c.n, GONE);
	assert_int_equal(c.moved, GONE / 2);
	printf("# history: %d gone of %d (half moved) detected in %.3f s\n", GONE, N, t1 - t0);
}

/* Savepoints: a folder that failed halfway leaves nothing of itself. */
static void savepoint_undoes_a_folder(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	int64_t a;
	const struct tfolder inbox = { "INBOX", 7, five, 5 };
	const struct tfolder archive = { "Archive", 9, five, 5 };

	open_fx(f);
	assert_int_not_equal(ma_history_savepoint(f->h, "folder", &err), MA_OK);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	assert_int_equal(ma_history_savepoint(f->h, "all", &err), MA_OK);
	assert_int_equal(ma_history_savepoint(f->h, "folder", &err), MA_OK);
	put_folder(f, a, &inbox);
	assert_int_equal(ma_history_release(f->h, "folder", false, &err), MA_OK);
	assert_int_equal(ma_history_savepoint(f->h, "folder", &err), MA_OK);
	put_folder(f, a, &archive);
	assert_int_equal(ma_history_release(f->h, "folder", true, &err), MA_OK);
	assert_int_equal(ma_history_release(f->h, "all", true, &err), MA_OK);
	assert_int_equal(ma_history_savepoint(f->h, "x; DROP TABLE audit", &err), MA_ERR_ARGUMENT);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 5, "ok", &err), MA_OK);

	uint32_t uidvalidity, max_uid;
	bool known;
	assert_int_equal(ma_history_folder_prev(f->h, f->acct, "INBOX", &uidvalidity, &max_uid,
						&known, &err), MA_OK);
	assert_false(known);
	assert_int_equal(ma_history_folder_prev(f->h, f->acct, "Archive", &uidvalidity, &max_uid,
						&known, &err), MA_OK);
	assert_true(known);
	assert_int_equal(max_uid, 5);
}

/* The history writes a folder's pages into the WAL between statements
 * (flush_pages): a folder rolled back after many of them leaves nothing,
 * and the folder kept before it stays whole. */
static void rollback_after_flushed_pages(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	enum { N = 3000 };
	static struct ma_message msgs[N];
	static struct ma_pop3_entry entries[N];
	static char uidls[N][16];
	int64_t a;

	for (uint32_t i = 0; i < N; i++) {
		msgs[i] = (struct ma_message){ .uid = i + 1, .size = 100 + i, .internaldate = T0 - i,
					       .subject = "A subject long enough to fill pages quickly" };
		snprintf(uidls[i], sizeof uidls[i], "p%u", i + 1);
		entries[i] = (struct ma_pop3_entry){ .number = i + 1, .size = 100 + i, .uidl = uidls[i] };
	}
	struct ma_pop3_view v = { .stat_count = N, .stat_size = 0, .entries = entries, .nentries = N };
	open_fx(f);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	assert_int_equal(ma_history_savepoint(f->h, "imap", &err), MA_OK);
	assert_int_equal(ma_history_savepoint(f->h, "folder", &err), MA_OK);
	for (size_t i = 0; i < N; i += 1000)
		assert_int_equal(ma_history_put_messages(f->h, a, "INBOX", 1, msgs + i, 1000, NULL, &err), MA_OK);
	assert_int_equal(ma_history_put_folder(f->h, a, &(struct ma_folder){
		.name = "INBOX", .uidvalidity = 1, .messages = N }, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_release(f->h, "folder", true, &err), MA_OK);
	assert_int_equal(ma_history_savepoint(f->h, "folder", &err), MA_OK);
	for (size_t i = 0; i < N; i += 1000)
		assert_int_equal(ma_history_put_messages(f->h, a, "Archive", 2, msgs + i, 1000, NULL, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3(f->h, a, &v, &err), MA_OK);
	assert_int_equal(ma_history_release(f->h, "folder", false, &err), MA_OK);
	assert_int_equal(ma_history_release(f->h, "imap", true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 1, "ok", &err), MA_OK);

	uint32_t count = 0;
	uint64_t total = 0;
	assert_int_equal(ma_history_folder_count(f->h, f->acct, "INBOX", 1, &count, &total, &err), MA_OK);
	assert_int_equal(count, N);
	assert_int_equal(ma_history_folder_count(f->h, f->acct, "Archive", 2, &count, &total, &err), MA_OK);
	assert_int_equal(count, 0);
	struct batch_seen b = { 0, 1, true };
	assert_int_equal(ma_history_folder_uids(f->h, f->acct, "INBOX", 1, batch_uid, &b, &err), MA_OK);
	assert_int_equal(b.n, N);
	assert_true(b.in_order);
	b = (struct batch_seen){ 0, 1, true };
	assert_int_equal(ma_history_pop3_ordered(f->h, f->acct, batch_uidl, &b, &err), MA_OK);
	assert_int_equal(b.n, 0);
}

/* ---- schema 2 to 3: a file written by schema 2 reads the same --------- */

/* Every answer of the reading API about the migration fixture's accounts,
 * folders and audits, one per line. */
static const char *const dump_folders[] = { "INBOX", "Archive", "Trash", "Junk", "Sent", "Nope" };
static const uint32_t dump_validities[] = { 3, 4, 5, 7, 8, 9 };

static int dump_gone(const struct ma_gone_msg *m, void *ctx)
{
	fprintf(ctx, "  gone %s/%u/%u size %u date %lld \"%s\" \"%s\" \"%s\" flags %u hash %02x%02x"
		" seen %lld to %s\n", m->folder, m->uidvalidity, m->uid, m->size,
		(long long)m->internaldate, m->date ? m->date : "-", m->from ? m->from : "-",
		m->subject ? m->subject : "-", m->flags, m->msgid_hash ? m->msgid_hash[0] : 0,
		m->msgid_hash ? m->msgid_hash[1] : 0, (long long)m->last_seen,
		m->gone_to ? m->gone_to : "-");
	return 0;
}

static int dump_pop3_gone(const struct ma_pop3_gone *m, void *ctx)
{
	fprintf(ctx, "  pop3 gone %s size %u seen %lld\n", m->uidl, m->size, (long long)m->last_seen);
	return 0;
}

static int dump_audit(const struct ma_audit_row *a, void *ctx)
{
	fprintf(ctx, " audit %lld %lld-%lld %s inbox %lld total %lld pop3 %lld\n", (long long)a->id,
		(long long)a->started, (long long)a->finished, a->outcome, (long long)a->inbox_messages,
		(long long)a->total_messages, (long long)a->pop3_count);
	return 0;
}

static int dump_known(uint32_t uid, uint32_t size, void *ctx)
{
	fprintf(ctx, " %u:%u", uid, size);
	return 0;
}

static int dump_uid(uint32_t uid, void *ctx)
{
	fprintf(ctx, " %u", uid);
	return 0;
}

static int dump_account(struct ma_history *h, FILE *out, const char *login)
{
	struct ma_error err = { 0 };
	int64_t acct, prev;
	time_t prev_time;
	bool found;
	struct ma_pop3_prev pp;
	int bad = 0;

	bad |= ma_history_account(h, login, "imap.example.org", 0, &acct, &err) != MA_OK;
	fprintf(out, "account %s\n", login);
	bad |= ma_history_audits(h, acct, 0, dump_audit, out, &err) != MA_OK;
	for (int64_t a = 1; a <= 8; a++) {
		fprintf(out, " gone in audit %lld\n", (long long)a);
		bad |= ma_history_gone(h, a, dump_gone, out, &err) != MA_OK;
		bad |= ma_history_pop3_gone(h, a, dump_pop3_gone, out, &err) != MA_OK;
		bad |= ma_history_prev_audit(h, acct, a, &prev, &prev_time, &found, &err) != MA_OK;
		fprintf(out, "  prev %d %lld %lld\n", found, (long long)prev, (long long)prev_time);
	}
	bad |= ma_history_pop3_prev(h, acct, &pp, &err) != MA_OK;
	fprintf(out, " pop3 prev %d %lld %u %llu %d\n", pp.known, (long long)pp.audit_id,
		pp.stat_count, (unsigned long long)pp.stat_size, pp.uidl_complete);
	for (size_t i = 0; i < sizeof dump_folders / sizeof dump_folders[0]; i++) {
		const char *name = dump_folders[i];
		uint32_t uv, max_uid;
		struct ma_folder_prev fp;
		bad |= ma_history_folder_prev(h, acct, name, &uv, &max_uid, &found, &err) != MA_OK;
		bad |= ma_history_folder_last(h, acct, name, &fp, &err) != MA_OK;
		fprintf(out, " %s prev %d %u %u last %d %lld %u %u %u %u %u %llu %lld\n", name, found,
			uv, max_uid, fp.known, (long long)fp.audit_id, fp.uidvalidity, fp.uidnext,
			fp.messages, fp.unseen, fp.deleted, (unsigned long long)fp.total_size,
			(long long)fp.same_as);
		for (size_t j = 0; j < sizeof dump_validities / sizeof dump_validities[0]; j++) {
			uint32_t v = dump_validities[j], count;
			uint64_t total;
			bad |= ma_history_folder_count(h, acct, name, v, &count, &total, &err) != MA_OK;
			fprintf(out, "  %s/%u count %u %llu present", name, v, count,
				(unsigned long long)total);
			bad |= ma_history_folder_known(h, acct, name, v, true, dump_known, out,
						       &err) != MA_OK;
			fprintf(out, " all");
			bad |= ma_history_folder_known(h, acct, name, v, false, dump_known, out,
						       &err) != MA_OK;
			fprintf(out, " uids");
			bad |= ma_history_folder_uids(h, acct, name, v, dump_uid, out, &err) != MA_OK;
			fprintf(out, "\n");
		}
	}
	return bad;
}

static void fixture_msgs(struct ma_history *h, int64_t audit, const char *folder, uint32_t uv,
			 const uint32_t *uids, const uint32_t *ids, size_t n)
{
	struct ma_error err = { 0 };
	for (size_t i = 0; i < n; i++) {
		unsigned char hash[32];
		char subject[32];
		snprintf(subject, sizeof subject, "message %u", ids[i]);
		memset(hash, 0, sizeof hash);
		hash[0] = (unsigned char)ids[i];
		hash[1] = 0x5A;
		struct ma_message m = {
			.uid = uids[i], .size = 1000 + ids[i], .internaldate = 1700000000 + ids[i],
			.flags = ids[i] % 4, .date = ids[i] % 3 ? "Tue, 14 Nov 2023 22:13:20 +0000" : NULL,
			.from = "Bob <bob@example.org>", .subject = subject,
		};
		/* ids from 50 have no Message-ID: found by size and date */
		const unsigned char *hp = ids[i] < 50 ? hash : NULL;
		ma_history_put_messages(h, audit, folder, uv, &m, 1, &hp, &err);
	}
}

static void fixture_folder(struct ma_history *h, int64_t audit, const char *name, uint32_t uv,
			   uint32_t n, int64_t same_as)
{
	struct ma_error err = { 0 };
	struct ma_folder f = { .name = (char *)name, .uidvalidity = uv, .uidnext = 100,
			       .messages = n, .unseen = 1 };
	if (same_as)
		ma_history_put_folder_same(h, audit, &f, 0, 1000 * n, same_as, &err);
	else
		ma_history_put_folder(h, audit, &f, 1, 1000 * n, &err);
}

static void fixture_audit_end(struct ma_history *h, int64_t audit, bool complete, time_t t)
{
	struct ma_error err = { 0 };
	ma_history_detect_gone(h, audit, complete, &err);
	ma_history_commit(h, audit, t + 5, "ok", &err);
}

/* The continuation after the file is read: one more audit of each kind of
 * change, written by whichever schema opened it. */
static void fixture_continue(struct ma_history *h)
{
	struct ma_error err = { 0 };
	int64_t alice, a;
	const uint32_t inbox_uids[] = { 1, 2, 3 }, inbox_ids[] = { 1, 2, 60 };
	const uint32_t sent[] = { 1 };
	struct ma_pop3_entry pe[] = { { 1, 100, "aaa" }, { 2, 300, "ccc" } };
	struct ma_pop3_view pv = { .stat_count = 2, .stat_size = 400, .entries = pe, .nentries = 1 };   /* incomplete UIDL list */

	ma_history_account(h, "alice", "imap.example.org", 0, &alice, &err);
	ma_history_begin(h, alice, 1700000300, &a, &err);
	ma_history_mark_present(h, a, "INBOX", 8, inbox_uids, 2, &err);
	fixture_msgs(h, a, "INBOX", 8, inbox_uids + 2, inbox_ids + 2, 1);
	fixture_folder(h, a, "INBOX", 8, 3, 0);
	ma_history_mark_present(h, a, "Sent", 5, sent, 1, &err);
	fixture_folder(h, a, "Sent", 5, 1, 0);
	ma_history_put_pop3(h, a, &pv, &err);
	fixture_audit_end(h, a, false, 1700000300);
}

#define V2_SQL "tests/unit/expected/history_v2.sql"
#define V2_API "tests/unit/expected/history_v2_api.txt"

/* Makes f's history file from the schema 2 fixture, then runs `extra` on it. */
static void load_v2_fixture(struct fx *f, const char *extra)
{
	char path[128], *sql;
	size_t len;
	sqlite3 *db;

	file_bytes(V2_SQL, &sql, &len);
	sql[len] = '\0';
	snprintf(path, sizeof path, "%s/history.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	if (extra)
		assert_int_equal(sqlite3_exec(db, extra, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(sql);
}

static int file_pragma(struct fx *f, const char *sql)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *q;

	snprintf(path, sizeof path, "%s/history.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	int v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

/* Schema 3 keys messages by mailbox and UID instead of by folder name.
 * Every answer of the reading API about a schema 2 file, before and after
 * one more audit, is what schema 2 mailaudit answered (V2_API is the output
 * of these same dump and continue helpers built at a2fdf4a). */
static void schema_2_file_reads_the_same(void **state)
{
	struct fx *f = *state;
	char *got = NULL, *want;
	size_t got_len = 0, want_len;

	load_v2_fixture(f, NULL);
	open_fx(f);
	assert_int_equal(file_pragma(f, "PRAGMA user_version"), MA_HISTORY_SCHEMA);
	assert_int_equal(file_pragma(f, "PRAGMA freelist_count"), 0);   /* vacuumed */
	FILE *out = open_memstream(&got, &got_len);
	assert_non_null(out);
	assert_int_equal(dump_account(f->h, out, "alice"), 0);
	assert_int_equal(dump_account(f->h, out, "bob"), 0);
	fixture_continue(f->h);
	fprintf(out, "after one more audit\n");
	assert_int_equal(dump_account(f->h, out, "alice"), 0);
	assert_int_equal(dump_account(f->h, out, "bob"), 0);
	fclose(out);
	file_bytes(V2_API, &want, &want_len);
	if (got_len != want_len || memcmp(got, want, got_len) != 0) {
		FILE *fp = fopen("/tmp/ma-history-v2-api.txt", "w");
		if (fp) {
			fwrite(got, 1, got_len, fp);
			fclose(fp);
		}
		print_error("differs from %s: see /tmp/ma-history-v2-api.txt\n", V2_API);
		fail();
	}
	free(got);
	free(want);
}

/* A file written by schema 1 (two more indexes, no folder_state.same_as)
 * is brought to the current schema on open and keeps working. */
static void schema_1_file_is_updated(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	char path[128];
	sqlite3 *db;

	load_v2_fixture(f,
		"DROP INDEX folder_state_same;"
		"ALTER TABLE folder_state DROP COLUMN same_as;"
		"CREATE INDEX message_hash ON message(account_id, msgid_hash)"
		" WHERE msgid_hash IS NOT NULL;"
		"CREATE INDEX message_date ON message(account_id, internaldate, size);"
		"PRAGMA user_version = 1;");
	open_fx(f);
	struct gone_list g = gone_of(f, 3);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.gone_to[0], "Archive");
	assert_string_equal(g.gone_to[1], "");
	assert_string_equal(g.folder[2], "Trash");
	assert_string_equal(g.gone_to[2], "Junk");
	fixture_continue(f->h);
	uint32_t count = 0;
	uint64_t total = 0;
	assert_int_equal(ma_history_folder_count(f->h, f->acct, "INBOX", 8, &count, &total, &err),
			 MA_OK);
	assert_int_equal(count, 3);
	snprintf(path, sizeof path, "%s/history.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT user_version FROM pragma_user_version),"
		" (SELECT count(*) FROM sqlite_master WHERE name IN ('message_hash', 'message_date'))",
		-1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), MA_HISTORY_SCHEMA);
	assert_int_equal(sqlite3_column_int(q, 1), 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* A folder recorded as unchanged keeps its rows as they are: nothing of it
 * is gone in that audit, a later loss is last seen by the unchanged audit,
 * and a copy in an unchanged folder, there before, is not where a message
 * went. */
static void unchanged_folder_is_recorded_as_same(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	const struct tmsg one[] = { { 1, 1 } };
	const struct tmsg four[] = { { 1, 1 }, { 2, 2 }, { 3, 3 }, { 5, 5 } };
	const struct tfolder before[] = { { "INBOX", 7, five, 5 }, { "Archive", 9, one, 1 } };
	int64_t a;

	open_fx(f);
	int64_t a1 = run_audit(f, T0, before, 2, true);
	/* Audit 2: both folders unchanged since audit 1. */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60, &a, &err), MA_OK);
	struct ma_folder inbox = { .name = "INBOX", .uidvalidity = 7, .uidnext = 6, .messages = 5 };
	struct ma_folder archive = { .name = "Archive", .uidvalidity = 9, .uidnext = 2, .messages = 1 };
	assert_int_equal(ma_history_put_folder_same(f->h, a, &inbox, 0, 0, a1, &err), MA_OK);
	assert_int_equal(ma_history_put_folder_same(f->h, a, &archive, 0, 0, a1, &err), MA_OK);
	assert_int_equal(ma_history_put_folder_same(f->h, a, &archive, 0, 0, a, &err), MA_ERR_ARGUMENT);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 65, "ok", &err), MA_OK);
	assert_int_equal(gone_of(f, a).n, 0);
	struct ma_folder_prev prev;
	assert_int_equal(ma_history_folder_last(f->h, f->acct, "INBOX", &prev, &err), MA_OK);
	assert_int_equal(prev.same_as, a1);
	uint32_t count = 0;
	uint64_t total = 0;
	assert_int_equal(ma_history_folder_count(f->h, f->acct, "INBOX", 7, &count, &total, &err), MA_OK);
	assert_int_equal(count, 5);

	/* Audit 3: INBOX lost UID 4 (destroyed, last seen by audit 2) and
	 * UID 1, whose Message-ID is still in the unchanged Archive: on an
	 * older message, so UID 1 is destroyed too. */
	const struct tfolder after[] = { { "INBOX", 7, four + 1, 3 } };
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 120, &a, &err), MA_OK);
	put_folder(f, a, &after[0]);
	assert_int_equal(ma_history_put_folder_same(f->h, a, &archive, 0, 0, a1, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 125, "ok", &err), MA_OK);
	struct gone_list g = gone_of(f, a);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.uid[0], 1);
	assert_string_equal(g.gone_to[0], "");
	assert_int_equal(g.uid[1], 4);
	assert_string_equal(g.gone_to[1], "");
	assert_int_equal(g.last_seen[1], T0 + 60);
}

/* ---- repeat audits from the recorded state ---------------------------- */

struct known_list {
	size_t n;
	uint32_t uid[8], size[8];
};

static int collect_known(uint32_t uid, uint32_t size, void *ctx)
{
	struct known_list *k = ctx;
	if (k->n < 8) {
		k->uid[k->n] = uid;
		k->size[k->n] = size;
	}
	k->n++;
	return 0;
}

/* ---- incremental (delta) folders, RFC 7162 --------------------------- */

/* One message as put_folder_as writes it. */
static void put_one(struct fx *f, int64_t audit, const char *folder, uint32_t uv, uint32_t uid, uint32_t id)
{
	struct ma_error err = { 0 };
	unsigned char hash[32];
	char subject[32];
	snprintf(subject, sizeof subject, "message %u", id);
	struct ma_message m = { .uid = uid, .size = 1000 + id, .internaldate = T0 + id, .flags = MA_FLAG_SEEN,
				.date = "Tue, 14 Nov 2023 22:13:20 +0000", .from = "Bob <bob@example.org>",
				.subject = subject };
	fake_hash(id, hash);
	assert_int_equal(ma_history_put_message(f->h, audit, folder, uv, &m, hash, &err), MA_OK);
}

static int count_known_flags(uint32_t uid, uint32_t size, unsigned flags, void *ctx)
{
	(void)size;
	(void)flags;
	struct known_list *k = ctx;
	if (k->n < 8)
		k->uid[k->n] = uid;
	k->n++;
	return 0;
}

/* A delta folder: only what changed is written; the rows left alone are
 * present, the expunged marked gone are matched like any other, and "last
 * seen" counts the delta audits. */
static void delta_folder_keeps_rows_and_last_seen(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	const struct tfolder before[] = { { "INBOX", 7, five, 5 }, { "Archive", 9, NULL, 0 } };
	int64_t a;

	open_fx(f);
	run_audit(f, T0, before, 2, true);
	/* Audit 2, INBOX by delta: UID 2 moved to Archive, UID 4 expunged, UID
	 * 6 new; UIDs 1, 3, 5 unchanged and not written. */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60, &a, &err), MA_OK);
	const uint32_t gone2[] = { 2, 4 };
	assert_int_equal(ma_history_mark_gone(f->h, a, "INBOX", 7, gone2, 2, &err), MA_OK);
	put_one(f, a, "INBOX", 7, 6, 6);
	struct ma_folder inbox = { .name = "INBOX", .uidvalidity = 7, .uidnext = 7, .messages = 4, .modseq = 42 };
	assert_int_equal(ma_history_put_folder_delta(f->h, a, &inbox, 0, 0, &err), MA_OK);
	put_one(f, a, "Archive", 9, 1, 2);
	struct ma_folder archive = { .name = "Archive", .uidvalidity = 9, .uidnext = 2, .messages = 1 };
	assert_int_equal(ma_history_put_folder(f->h, a, &archive, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 65, "ok", &err), MA_OK);
	struct gone_list g = gone_of(f, a);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.uid[0], 2);
	assert_string_equal(g.gone_to[0], "Archive");
	assert_int_equal(g.uid[1], 4);
	assert_string_equal(g.gone_to[1], "");
	assert_int_equal(g.last_seen[1], T0);
	struct ma_folder_prev prev;
	assert_int_equal(ma_history_folder_last(f->h, f->acct, "INBOX", &prev, &err), MA_OK);
	assert_int_equal(prev.modseq, 42);
	struct known_list k = { 0 };
	assert_int_equal(ma_history_folder_known_flags(f->h, f->acct, "INBOX", 7, count_known_flags, &k, &err),
			 MA_OK);
	assert_int_equal(k.n, 4);
	assert_int_equal(k.uid[0], 1);
	assert_int_equal(k.uid[1], 3);
	assert_int_equal(k.uid[2], 5);
	assert_int_equal(k.uid[3], 6);

	/* Audit 3, delta again: UID 3 expunged, last seen by audit 2. */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 120, &a, &err), MA_OK);
	const uint32_t gone3[] = { 3 };
	assert_int_equal(ma_history_mark_gone(f->h, a, "INBOX", 7, gone3, 1, &err), MA_OK);
	inbox.messages = 3;
	inbox.modseq = 50;
	assert_int_equal(ma_history_put_folder_delta(f->h, a, &inbox, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_put_folder_same(f->h, a, &archive, 0, 0, a - 1, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 125, "ok", &err), MA_OK);
	g = gone_of(f, a);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.uid[0], 3);
	assert_string_equal(g.gone_to[0], "");
	assert_int_equal(g.last_seen[0], T0 + 60);

	/* Audit 4, a full look that sees UIDs 1 and 5: UID 6 (written by
	 * audit 2, left alone by audit 3) was last seen by audit 3. */
	const struct tmsg two[] = { { 1, 1 }, { 5, 5 } };
	const struct tfolder after[] = { { "INBOX", 7, two, 2 } };
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 180, &a, &err), MA_OK);
	put_folder(f, a, &after[0]);
	assert_int_equal(ma_history_put_folder_same(f->h, a, &archive, 0, 0, a - 2, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 185, "ok", &err), MA_OK);
	g = gone_of(f, a);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.uid[0], 6);
	assert_int_equal(g.last_seen[0], T0 + 120);
}

static void repeat_from_recorded_state(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	const struct tmsg three[] = { { 1, 1 }, { 2, 2 }, { 4, 4 } };
	const struct tmsg two[] = { { 1, 1 }, { 4, 4 } };
	const struct tfolder inbox = { "INBOX", 7, three, 3 };
	struct ma_pop3_entry entries[2] = { { 1, 100, "aaa" }, { 2, 200, "bbb" } };
	struct ma_pop3_view v = { .stat_count = 2, .stat_size = 300, .entries = entries, .nentries = 2 };
	struct ma_folder_prev fp;
	struct ma_pop3_prev pp;
	int64_t a;

	open_fx(f);
	assert_int_equal(ma_history_folder_last(f->h, f->acct, "INBOX", &fp, &err), MA_OK);
	assert_false(fp.known);
	assert_int_equal(ma_history_pop3_prev(f->h, f->acct, &pp, &err), MA_OK);
	assert_false(pp.known);

	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	put_folder(f, a, &inbox);
	assert_int_equal(ma_history_put_pop3(f->h, a, &v, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 1, "ok", &err), MA_OK);
	int64_t a1 = a;

	assert_int_equal(ma_history_folder_last(f->h, f->acct, "INBOX", &fp, &err), MA_OK);
	assert_true(fp.known);
	assert_int_equal(fp.audit_id, a1);
	assert_int_equal(fp.uidvalidity, 7);
	assert_int_equal(fp.uidnext, 5);
	assert_int_equal(fp.messages, 3);
	struct known_list k = { 0 };
	assert_int_equal(ma_history_folder_known(f->h, f->acct, "INBOX", 7, true, collect_known, &k,
						 &err), MA_OK);
	assert_int_equal(k.n, 3);
	assert_int_equal(k.uid[2], 4);
	assert_int_equal(k.size[2], 1004);
	assert_int_equal(ma_history_pop3_prev(f->h, f->acct, &pp, &err), MA_OK);
	assert_true(pp.known && pp.uidl_complete);
	assert_int_equal(pp.audit_id, a1);
	assert_int_equal(pp.stat_count, 2);
	assert_int_equal(pp.stat_size, 300);

	/* An unchanged repeat: the known UIDs marked present, the POP3 view
	 * carried over. Nothing is gone, and the next audit starts from it. */
	uint32_t uids[] = { 1, 2, 4 };
	struct ma_pop3_view same = { .stat_count = 2, .stat_size = 300 };
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60, &a, &err), MA_OK);
	assert_int_equal(ma_history_mark_present(f->h, a, "INBOX", 7, uids, 3, &err), MA_OK);
	assert_int_equal(ma_history_put_folder(f->h, a, &(struct ma_folder){
		.name = "INBOX", .uidvalidity = 7, .uidnext = 5, .messages = 3 }, 0, 0, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3_same(f->h, a, &same, a1, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 61, "ok", &err), MA_OK);
	int64_t a2 = a;
	char gone[64] = "";
	assert_int_equal(ma_history_pop3_gone(f->h, a2, collect_pop3_gone, gone, &err), MA_OK);
	assert_string_equal(gone, "");
	assert_int_equal(gone_of(f, a2).n, 0);
	assert_int_equal(ma_history_pop3_prev(f->h, f->acct, &pp, &err), MA_OK);
	assert_int_equal(pp.audit_id, a2);
	assert_true(pp.uidl_complete);
	/* A second carry-over, from the first: still the UIDLs a1 listed. */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 90, &a, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3_same(f->h, a, &same, a2, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(f->h, a, false, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 91, "ok", &err), MA_OK);
	assert_int_equal(ma_history_pop3_gone(f->h, a, collect_pop3_gone, gone, &err), MA_OK);
	assert_string_equal(gone, "");

	/* Then a real change: "bbb" and UID 2 gone, found against the carried
	 * audit as against any other. */
	entries[1] = (struct ma_pop3_entry){ 2, 300, "ccc" };
	v.stat_size = 400;
	const struct tfolder after = { "INBOX", 7, two, 2 };
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 120, &a, &err), MA_OK);
	put_folder(f, a, &after);
	assert_int_equal(ma_history_put_pop3(f->h, a, &v, &err), MA_OK);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 121, "ok", &err), MA_OK);
	assert_int_equal(ma_history_pop3_gone(f->h, a, collect_pop3_gone, gone, &err), MA_OK);
	assert_string_equal(gone, "bbb ");
	/* Last seen by the latest audit whose view was the same. */
	time_t seen = 0;
	assert_int_equal(ma_history_pop3_gone(f->h, a, pop3_last_seen, &seen, &err), MA_OK);
	assert_int_equal(seen, T0 + 90);
	struct gone_list g = gone_of(f, a);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.uid[0], 2);
	k.n = 0;
	assert_int_equal(ma_history_folder_known(f->h, f->acct, "INBOX", 7, true, collect_known, &k,
						 &err), MA_OK);
	assert_int_equal(k.n, 2);
	k.n = 0;
	assert_int_equal(ma_history_folder_known(f->h, f->acct, "INBOX", 7, false, collect_known, &k,
						 &err), MA_OK);
	assert_int_equal(k.n, 3);

	/* Carrying over from anything but an earlier audit is refused. */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 180, &a, &err), MA_OK);
	assert_int_equal(ma_history_put_pop3_same(f->h, a, &same, a, &err), MA_ERR_ARGUMENT);
	ma_history_rollback(f->h);
}

/* ---- schema 5: accounts keyed on the port ------------------------------ */

static void port_keys_keep_servers_apart(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	int64_t a993, a143, a1993, pop, pop_odd, other_host;

	assert_int_equal(ma_history_port_key(true, 993), 0);
	assert_int_equal(ma_history_port_key(true, 143), 0);
	assert_int_equal(ma_history_port_key(true, 1993), 1993);
	assert_int_equal(ma_history_port_key(false, 995), MA_PORT_KEY_POP3);
	assert_int_equal(ma_history_port_key(false, 110), MA_PORT_KEY_POP3);
	assert_int_equal(ma_history_port_key(false, 10995), MA_PORT_KEY_POP3 + 10995);
	assert_int_not_equal(ma_history_port_key(false, 993), ma_history_port_key(true, 993));

	open_fx(f);
	const uint32_t k993 = ma_history_port_key(true, 993), k143 = ma_history_port_key(true, 143);
	assert_int_equal(ma_history_account(f->h, "alice", "imap.example.org", k993, &a993, &err), MA_OK);
	assert_int_equal(ma_history_account(f->h, "alice", "IMAP.example.org", k143, &a143, &err), MA_OK);
	assert_int_equal(a993, a143);
	assert_int_equal(a993, f->acct);
	/* Two servers on one host: two histories. */
	assert_int_equal(ma_history_account(f->h, "alice", "imap.example.org",
					    ma_history_port_key(true, 1993), &a1993, &err), MA_OK);
	assert_int_not_equal(a1993, a993);
	assert_int_equal(ma_history_account(f->h, "alice", "imap.example.org",
					    ma_history_port_key(false, 995), &pop, &err), MA_OK);
	assert_int_equal(ma_history_account(f->h, "alice", "imap.example.org",
					    ma_history_port_key(false, 1995), &pop_odd, &err), MA_OK);
	assert_int_equal(ma_history_account(f->h, "alice", "imap2.example.org", k993, &other_host,
					    &err), MA_OK);
	int64_t ids[] = { a993, a1993, pop, pop_odd, other_host };
	for (size_t i = 0; i < 5; i++)
		for (size_t j = i + 1; j < 5; j++)
			assert_int_not_equal(ids[i], ids[j]);

	/* The second server's audits are not the first's: its first audit
	 * is a first audit, and the other's messages are not gone from it. */
	const struct tfolder inbox = { "INBOX", 7, five, 5 };
	const struct tfolder other = { "INBOX", 7, five, 2 };
	run_audit(f, T0, &inbox, 1, true);
	f->acct = a1993;
	int64_t b1 = run_audit(f, T0 + 10, &other, 1, true);
	assert_int_equal(gone_of(f, b1).n, 0);
	f->acct = a993;
	int64_t a2 = run_audit(f, T0 + 20, &inbox, 1, true);
	assert_int_equal(gone_of(f, a2).n, 0);
	assert_int_equal(losses_of(f, 0, false, 0).n, 0);
	assert_int_equal(ma_history_account(f->h, NULL, "imap.example.org", 0, &a1993, &err),
			 MA_ERR_ARGUMENT);
}

/* ---- schema 4 to 5 ----------------------------------------------------- */

#define V4_SQL "tests/unit/expected/history_v4.sql"
#define V4_API "tests/unit/expected/history_v4_api.txt"

static int count_rows(struct fx *f, const char *sql)
{
	return file_pragma(f, sql);
}

/* A schema 4 file reads as schema 4 mailaudit read it (V4_API is the
 * output of dump_account built at 148d581); its accounts, which know no
 * port, are taken over by the first lookup of their login and host with
 * any port key; matches in a message's own folder become renumbered; the
 * ledger starts empty; and audits carry on. */
static void schema_4_file_is_updated(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	char path[128], *sql, *got = NULL, *want;
	size_t len, got_len = 0, want_len;
	sqlite3 *db;

	file_bytes(V4_SQL, &sql, &len);
	sql[len] = '\0';
	snprintf(path, sizeof path, "%s/history.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(sql);

	assert_int_equal(ma_history_open(f->dir, &f->h, &err), MA_OK);
	assert_int_equal(file_pragma(f, "PRAGMA user_version"), MA_HISTORY_SCHEMA);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM account WHERE port_key IS NULL"), 3);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM folder_state WHERE special <> 0"), 0);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM loss"), 0);

	/* carol is a POP3-only account: her row is taken over by a POP3 key,
	 * and after that the standard POP3 port is another server. */
	int64_t carol, carol2;
	assert_int_equal(ma_history_account(f->h, "carol", "POP.example.net",
					    ma_history_port_key(false, 1995), &carol, &err), MA_OK);
	assert_int_equal(carol, 3);
	assert_int_equal(ma_history_account(f->h, "carol", "pop.example.net",
					    ma_history_port_key(false, 995), &carol2, &err), MA_OK);
	assert_int_not_equal(carol2, carol);
	assert_int_equal(ma_history_account(f->h, "carol", "pop.example.net",
					    ma_history_port_key(false, 1995), &carol2, &err), MA_OK);
	assert_int_equal(carol2, carol);

	FILE *out = open_memstream(&got, &got_len);
	assert_non_null(out);
	assert_int_equal(dump_account(f->h, out, "alice"), 0);   /* takes over with key 0 */
	assert_int_equal(dump_account(f->h, out, "bob"), 0);
	fclose(out);
	file_bytes(V4_API, &want, &want_len);
	if (got_len != want_len || memcmp(got, want, got_len) != 0) {
		FILE *fp = fopen("/tmp/ma-history-v4-api.txt", "w");
		if (fp) {
			fwrite(got, 1, got_len, fp);
			fclose(fp);
		}
		print_error("differs from %s: see /tmp/ma-history-v4-api.txt\n", V4_API);
		fail();
	}
	free(got);
	free(want);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM account WHERE port_key IS NULL"), 0);
	int64_t alice, alice2;
	assert_int_equal(ma_history_account(f->h, "alice", "imap.example.org", 0, &alice, &err), MA_OK);
	assert_int_equal(alice, 1);
	assert_int_equal(ma_history_account(f->h, "alice", "imap.example.org", 1143, &alice2, &err),
			 MA_OK);
	assert_int_not_equal(alice2, alice);

	/* Audit 4 found INBOX/7's UIDs 1 and 2 "gone to INBOX" (its
	 * UIDVALIDITY changed): renumbered. UID 5 was destroyed. */
	f->acct = alice;
	struct gone_list g = gone_of(f, 4);
	assert_int_equal(g.n, 4);
	assert_true(g.renumbered[0] && g.renumbered[1]);
	assert_false(g.renumbered[2]);
	assert_string_equal(g.gone_to[2], "");
	assert_false(g.folder_gone[0]);
	assert_int_equal(g.role[3], MA_ROLE_SENT);     /* Sent/5/2, by its name */
	g = gone_of(f, 3);
	assert_string_equal(g.folder[2], "Trash");
	assert_int_equal(g.role[2], MA_ROLE_TRASH);
	assert_false(g.renumbered[2]);                  /* went to Junk */

	/* The next audit works on the migrated file and writes the ledger:
	 * INBOX/8's UID 3 is deleted; 2 more arrived since audit 6 (UIDNEXT
	 * 100 then 102) and are gone too. */
	const struct tmsg left[] = { { 1, 1 }, { 2, 2 } };
	const struct tfolder inbox = { "INBOX", 8, left, 2 };
	int64_t a;
	assert_int_equal(ma_history_begin(f->h, alice, 1700000700, &a, &err), MA_OK);
	put_folder_as(f, a, &inbox, 102, 0);
	assert_int_equal(ma_history_detect_gone(f->h, a, false, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, 1700000705, "critical", &err), MA_OK);
	struct loss_list ll = losses_of(f, a, false, 0);
	assert_int_equal(ll.n, 2);
	assert_int_equal(ll.l[0].kind, MA_LOSS_UNSEEN);
	assert_int_equal(ll.l[0].count, 2);
	assert_int_equal(ll.l[0].since, 1700000400);
	assert_int_equal(ll.l[1].kind, MA_LOSS_MESSAGE);
	assert_string_equal(ll.subject[1], "message 60");
	uint64_t acked = 0;
	assert_int_equal(ma_history_ack(f->h, alice, INT64_MAX, 1700000800, &acked, &err), MA_OK);
	assert_int_equal(acked, 3);
}

/* ---- one-to-one matching ---------------------------------------------- */

/* A message of a test mailbox with its headers spelled out. */
struct hmsg {
	uint32_t uid;
	int hash;              /* -1: no Message-ID */
	const char *date, *from, *subject;
	uint32_t size;
	int64_t internaldate;
};

static void put_hmsgs(struct fx *f, int64_t audit, const char *folder, uint32_t uv,
		      const struct hmsg *m, size_t n, uint32_t uidnext, unsigned special)
{
	struct ma_error err = { 0 };
	for (size_t i = 0; i < n; i++) {
		unsigned char hash[32];
		const unsigned char *hp = NULL;
		if (m[i].hash >= 0) {
			fake_hash((uint32_t)m[i].hash, hash);
			hp = hash;
		}
		struct ma_message mm = {
			.uid = m[i].uid, .size = m[i].size, .internaldate = m[i].internaldate,
			.date = (char *)m[i].date, .from = (char *)m[i].from,
			.subject = (char *)m[i].subject,
		};
		assert_int_equal(ma_history_put_message(f->h, audit, folder, uv, &mm, hp, &err), MA_OK);
	}
	struct ma_folder mf = { .name = (char *)folder, .uidvalidity = uv, .messages = (uint32_t)n,
				.uidnext = uidnext, .special = special };
	assert_int_equal(ma_history_put_folder(f->h, audit, &mf, 0, 0, &err), MA_OK);
}

/* Folders of one audit, each a list of hmsgs. */
struct hfolder {
	const char *name;
	const struct hmsg *msgs;
	size_t n;
	uint32_t uidnext;
};

static int64_t run_haudit(struct fx *f, time_t now, const struct hfolder *hf, size_t n)
{
	struct ma_error err = { 0 };
	int64_t a;
	assert_int_equal(ma_history_begin(f->h, f->acct, now, &a, &err), MA_OK);
	for (size_t i = 0; i < n; i++)
		put_hmsgs(f, a, hf[i].name, 1, hf[i].msgs, hf[i].n, hf[i].uidnext, 0);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, now + 5, "ok", &err), MA_OK);
	return a;
}

#define D1 "Tue, 14 Nov 2023 22:13:20 +0000"

/* Two different scanner mails share <scanner@localhost>: one deleted while
 * the other stays is a loss, not "moved from INBOX to INBOX". And of two
 * gone copies, a new one explains one only. */
static void shared_message_id_is_two_messages(void **state)
{
	struct fx *f = *state;
	const struct hmsg before[] = {
		{ 1, 7, D1, "scanner@localhost", "Scan 1", 100, T0 },
		{ 2, 7, D1, "scanner@localhost", "Scan 2", 200, T0 },
		{ 3, 8, D1, "bob@example.org", "hello", 300, T0 },
		{ 4, 9, D1, "list@example.org", "digest", 400, T0 },
		{ 5, 9, D1, "list@example.org", "digest", 400, T0 },
	};
	const struct hmsg after_inbox[] = { before[0], before[2] };
	const struct hmsg after_archive[] = { { 1, 9, D1, "list@example.org", "digest", 400, T0 } };
	const struct hfolder a1f[] = { { "INBOX", before, 5, 6 }, { "Archive", NULL, 0, 1 } };
	const struct hfolder a2f[] = { { "INBOX", after_inbox, 2, 6 },
				       { "Archive", after_archive, 1, 2 } };

	open_fx(f);
	run_haudit(f, T0, a1f, 2);
	int64_t a2 = run_haudit(f, T0 + 60, a2f, 2);
	struct gone_list g = gone_of(f, a2);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.uid[0], 2);
	assert_string_equal(g.gone_to[0], "");           /* the other scan stayed: no match */
	assert_int_equal(g.uid[1], 4);
	assert_string_equal(g.gone_to[1], "Archive");    /* the i-th with the i-th */
	assert_false(g.renumbered[1]);
	assert_int_equal(g.uid[2], 5);
	assert_string_equal(g.gone_to[2], "");
	struct loss_list ll = losses_of(f, a2, false, 0);
	assert_int_equal(ll.n, 2);
	assert_string_equal(ll.subject[0], "Scan 2");
	assert_int_equal(ll.l[0].size, 200);
	assert_string_equal(ll.subject[1], "digest");
}

/* Without a Message-ID on either side, Date, From, Subject and size are
 * the identity, one to one; never INTERNALDATE (and size) alone. */
static void hashless_identity_matches_one_to_one(void **state)
{
	struct fx *f = *state;
	const struct hmsg before[] = {
		{ 1, -1, D1, "a@example.org", "twin", 500, T0 + 1 },
		{ 2, -1, D1, "a@example.org", "twin", 500, T0 + 2 },
		{ 3, 33, D1, "b@example.org", "hashed", 600, T0 + 3 },
		{ 4, -1, NULL, NULL, "only a subject", 700, T0 + 4 },
		{ 5, -1, NULL, NULL, NULL, 800, T0 + 5 },      /* no header at all */
		{ 6, -1, D1, "c@example.org", "edited", 900, T0 + 6 },
		{ 7, -1, NULL, NULL, NULL, 950, T0 + 7 },
	};
	const struct hmsg moved[] = {
		/* one of the twins (another INTERNALDATE: an APPEND, say) */
		{ 1, -1, D1, "a@example.org", "twin", 500, T0 + 99 },
		/* the hashed one, stored again without its Message-ID */
		{ 2, -1, D1, "b@example.org", "hashed", 600, T0 + 3 },
		{ 3, 44, NULL, NULL, "only a subject", 700, T0 + 4 },
		/* same INTERNALDATE and size as UID 5, nothing else to go by */
		{ 4, -1, NULL, NULL, NULL, 800, T0 + 5 },
		/* same INTERNALDATE and size as UID 6, another subject */
		{ 5, -1, D1, "c@example.org", "edited!", 900, T0 + 6 },
		/* UID 7 stored again with a Message-ID: nothing to compare */
		{ 6, 77, NULL, NULL, NULL, 950, T0 + 7 },
	};
	const struct hfolder a1f[] = { { "INBOX", before, 7, 8 }, { "Archive", NULL, 0, 1 } };
	const struct hfolder a2f[] = { { "INBOX", NULL, 0, 8 }, { "Archive", moved, 6, 7 } };

	open_fx(f);
	run_haudit(f, T0, a1f, 2);
	int64_t a2 = run_haudit(f, T0 + 60, a2f, 2);
	struct gone_list g = gone_of(f, a2);
	assert_int_equal(g.n, 7);
	const char *want[] = { "Archive", "", "Archive", "Archive", "", "", "" };
	for (size_t i = 0; i < 7; i++) {
		if (strcmp(g.gone_to[i], want[i]) != 0)
			print_error("UID %u went to \"%s\", want \"%s\"\n", g.uid[i], g.gone_to[i],
				    want[i]);
		assert_string_equal(g.gone_to[i], want[i]);
	}
	assert_int_equal(losses_of(f, a2, false, 0).n, 4);
}

/* A message matched in its own folder was renumbered or stored again: never
 * "moved from INBOX to INBOX", and it is no loss. */
static void stored_again_in_its_folder_is_renumbered(void **state)
{
	struct fx *f = *state;
	const struct hmsg before[] = { { 1, 1, D1, "a@example.org", "one", 100, T0 },
				       { 2, 2, D1, "a@example.org", "two", 200, T0 } };
	const struct hmsg after[] = { before[0], { 3, 2, D1, "a@example.org", "two", 200, T0 } };
	const struct hfolder a1f[] = { { "INBOX", before, 2, 3 } };
	const struct hfolder a2f[] = { { "INBOX", after, 2, 4 } };

	open_fx(f);
	run_haudit(f, T0, a1f, 1);
	int64_t a2 = run_haudit(f, T0 + 60, a2f, 1);
	struct gone_list g = gone_of(f, a2);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.gone_to[0], "INBOX");
	assert_true(g.renumbered[0]);
	/* UID 3 is the new UID (UIDNEXT 3 to 4), taken by a known message:
	 * nothing came and went. */
	assert_int_equal(losses_of(f, 0, false, 0).n, 0);
}

/* ---- the ledger ------------------------------------------------------- */

static void ledger_records_destroyed_messages(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	const struct hmsg inbox1[] = {
		{ 1, 1, D1, "=?UTF-8?Q?J=C3=B3zef?= <j@example.org>", "=?UTF-8?B?w6lsw6k=?=", 1234,
		  T0 - 50 },
		{ 2, 2, NULL, NULL, NULL, 55, 0 },
	};
	const struct hmsg stuff[] = { { 1, 3, D1, "x@example.org", "in Stuff", 10, T0 } };
	int64_t a;

	open_fx(f);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	put_hmsgs(f, a, "INBOX", 1, inbox1, 2, 3, 0);
	put_hmsgs(f, a, "Stuff", 1, stuff, 1, 2, 0);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 5, "ok", &err), MA_OK);
	assert_int_equal(losses_of(f, 0, false, 0).n, 0);   /* a first audit finds nothing */

	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 3600, &a, &err), MA_OK);
	put_hmsgs(f, a, "INBOX", 1, NULL, 0, 3, 0);
	/* \Trash by its special-use bit as LIST says it now, not by name */
	put_hmsgs(f, a, "Stuff", 1, NULL, 0, 2, MA_SPECIAL_TRASH);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	/* Inside the audit, its own losses are there already. */
	struct loss_list ll = losses_of(f, 0, true, 0);
	assert_int_equal(ll.n, 3);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 3605, "critical", &err), MA_OK);

	ll = losses_of(f, a, false, 0);
	assert_int_equal(ll.n, 3);
	/* By folder, then newest first. */
	assert_string_equal(ll.folder[0], "INBOX");
	assert_int_equal(ll.l[0].kind, MA_LOSS_MESSAGE);
	assert_int_equal(ll.l[0].found_audit, a);
	assert_int_equal(ll.l[0].found, T0 + 3600);
	assert_int_equal(ll.l[0].role, MA_ROLE_INBOX);
	assert_int_equal(ll.l[0].count, 1);
	assert_int_equal(ll.l[0].size, 1234);
	assert_int_equal(ll.l[0].internaldate, T0 - 50);
	assert_string_equal(ll.date[0], D1);
	assert_string_equal(ll.from[0], "Józef <j@example.org>");
	assert_string_equal(ll.subject[0], "élé");
	assert_int_equal(ll.l[0].last_seen, T0);
	assert_false(ll.l[0].folder_gone);
	assert_int_equal(ll.l[0].acked, 0);
	assert_int_equal(ll.l[1].size, 55);
	assert_string_equal(ll.from[1], "-");
	assert_int_equal(ll.l[1].internaldate, 0);
	assert_string_equal(ll.folder[2], "Stuff");
	assert_int_equal(ll.l[2].role, MA_ROLE_TRASH);
	struct gone_list g = gone_of(f, a);
	assert_int_equal(g.role[2], MA_ROLE_TRASH);
}

/* Drafts churn: a draft replaced or sent is never a loss, named or not. */
static void drafts_are_never_on_the_ledger(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	const struct hmsg d1[] = { { 1, 1, D1, "me@example.org", "draft", 10, T0 } };
	const struct hmsg d2[] = { { 9, 2, D1, "me@example.org", "draft v5", 12, T0 } };
	int64_t a;

	open_fx(f);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60 * i, &a, &err), MA_OK);
		put_hmsgs(f, a, "INBOX", 1, NULL, 0, 1, 0);
		/* one by its special-use bit, one by its name; UIDNEXT 2 to 10:
		 * seven more drafts came and went */
		put_hmsgs(f, a, "Entwürfe", 1, i ? d2 : d1, 1, i ? 10 : 2, MA_SPECIAL_DRAFTS);
		put_hmsgs(f, a, "Drafts", 1, i ? d2 : d1, 1, i ? 10 : 2, 0);
		assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
		assert_int_equal(ma_history_commit(f->h, a, T0 + 60 * i + 5, "ok", &err), MA_OK);
	}
	struct gone_list g = gone_of(f, a);
	assert_int_equal(g.n, 2);   /* gone, and said so, but no loss */
	assert_string_equal(g.folder[0], "Drafts");
	assert_int_equal(g.role[0], MA_ROLE_DRAFTS);
	assert_int_equal(g.role[1], MA_ROLE_DRAFTS);
	assert_string_equal(g.gone_to[1], "");
	assert_int_equal(losses_of(f, 0, false, 0).n, 0);
}

/* Messages that arrived after one audit and were deleted before the next:
 * counted from UIDNEXT then and now, less what moves can explain. */
static void came_and_went_is_counted(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	const struct tmsg one[] = { { 1, 100 } }, two[] = { { 1, 200 } };
	const struct tfolder inbox = { "INBOX", 7, five, 5 };
	const struct tfolder archive0 = { "Archive", 3, NULL, 0 };
	const struct tfolder archive1 = { "Archive", 3, one, 1 };
	const struct tfolder trash = { "Trash", 4, NULL, 0 };
	const struct tfolder trash2 = { "Papierkorb", 4, two, 1 };
	int64_t a;

	open_fx(f);
	/* 1: INBOX UIDNEXT 6. */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	put_folder_as(f, a, &inbox, 6, 0);
	put_folder_as(f, a, &archive0, 1, 0);
	put_folder_as(f, a, &trash, 1, 0);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 5, "ok", &err), MA_OK);

	/* 2: five arrived (UIDNEXT 11) and are gone; INBOX holds the same 5. */
	uint32_t uids[] = { 1, 2, 3, 4, 5 };
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 3600, &a, &err), MA_OK);
	assert_int_equal(ma_history_mark_present(f->h, a, "INBOX", 7, uids, 5, &err), MA_OK);
	put_folder_as(f, a, &(struct tfolder){ "INBOX", 7, NULL, 0 }, 11, 0);
	put_folder_as(f, a, &archive0, 1, 0);
	put_folder_as(f, a, &trash, 1, 0);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 3605, "critical", &err), MA_OK);
	int64_t a2 = a;
	assert_int_equal(gone_of(f, a2).n, 0);
	struct loss_list ll = losses_of(f, a2, false, 0);
	assert_int_equal(ll.n, 1);
	assert_int_equal(ll.l[0].kind, MA_LOSS_UNSEEN);
	assert_string_equal(ll.folder[0], "INBOX");
	assert_int_equal(ll.l[0].role, MA_ROLE_INBOX);
	assert_int_equal(ll.l[0].count, 5);
	assert_int_equal(ll.l[0].since, T0);
	assert_int_equal(ll.l[0].uidnext_then, 6);
	assert_int_equal(ll.l[0].uidnext_now, 11);
	assert_int_equal(ll.l[0].found, T0 + 3600);

	/* 3: three more arrived (UIDNEXT 14); one new message in Archive
	 * could be one of them, moved: 2 deleted. */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 7200, &a, &err), MA_OK);
	assert_int_equal(ma_history_mark_present(f->h, a, "INBOX", 7, uids, 5, &err), MA_OK);
	put_folder_as(f, a, &(struct tfolder){ "INBOX", 7, NULL, 0 }, 14, 0);
	put_folder_as(f, a, &archive1, 2, 0);
	put_folder_as(f, a, &trash, 1, 0);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 7205, "critical", &err), MA_OK);
	ll = losses_of(f, a, false, 0);
	assert_int_equal(ll.n, 1);
	assert_int_equal(ll.l[0].count, 2);
	assert_int_equal(ll.l[0].since, T0 + 3600);

	/* 4: one arrived, was moved to Trash and Trash emptied: a warning
	 * in Trash, not a critical loss in INBOX. */
	uint32_t archived[] = { 1 };
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 10800, &a, &err), MA_OK);
	assert_int_equal(ma_history_mark_present(f->h, a, "INBOX", 7, uids, 5, &err), MA_OK);
	put_folder_as(f, a, &(struct tfolder){ "INBOX", 7, NULL, 0 }, 15, 0);
	assert_int_equal(ma_history_mark_present(f->h, a, "Archive", 3, archived, 1, &err), MA_OK);
	put_folder_as(f, a, &(struct tfolder){ "Archive", 3, NULL, 0 }, 2, 0);
	put_folder_as(f, a, &trash, 2, MA_SPECIAL_TRASH);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 10805, "warning", &err), MA_OK);
	ll = losses_of(f, a, false, 0);
	assert_int_equal(ll.n, 1);
	assert_string_equal(ll.folder[0], "Trash");
	assert_int_equal(ll.l[0].role, MA_ROLE_TRASH);
	assert_int_equal(ll.l[0].count, 1);

	/* 5: a folder new since the last audit holds a new message, so one
	 * of INBOX's arrivals can be there: nothing lost. */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 14400, &a, &err), MA_OK);
	assert_int_equal(ma_history_mark_present(f->h, a, "INBOX", 7, uids, 5, &err), MA_OK);
	put_folder_as(f, a, &(struct tfolder){ "INBOX", 7, NULL, 0 }, 16, 0);
	put_folder_as(f, a, &trash2, 2, 0);
	assert_int_equal(ma_history_detect_gone(f->h, a, false, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 14405, "ok", &err), MA_OK);
	assert_int_equal(losses_of(f, a, false, 0).n, 0);
	assert_int_equal(losses_of(f, 0, false, 0).n, 3);
}

/* Known messages moved into a folder take the UIDs they were given: those
 * cannot also be where unseen arrivals went. */
static void known_moves_take_their_uids(void **state)
{
	struct fx *f = *state;
	const struct tmsg kept[] = { { 1, 1 }, { 2, 2 }, { 3, 3 } };
	const struct tmsg moved[] = { { 1, 4 }, { 2, 5 } };
	const struct tfolder before[] = { { "INBOX", 7, five, 5 }, { "Archive", 9, NULL, 0 } };
	const struct tfolder after[] = { { "INBOX", 7, kept, 3 }, { "Archive", 9, moved, 2 } };
	struct ma_error err = { 0 };
	int64_t a;

	open_fx(f);
	run_audit(f, T0, before, 2, true);
	/* INBOX UIDNEXT 6 to 9: 3 came and went; 4 and 5 moved to Archive
	 * (UIDs 1 and 2, all Archive gave out). */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60, &a, &err), MA_OK);
	put_folder_as(f, a, &after[0], 9, 0);
	put_folder_as(f, a, &after[1], 3, 0);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 65, "critical", &err), MA_OK);
	struct gone_list g = gone_of(f, a);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.gone_to[0], "Archive");
	struct loss_list ll = losses_of(f, a, false, 0);
	assert_int_equal(ll.n, 1);
	assert_int_equal(ll.l[0].kind, MA_LOSS_UNSEEN);
	assert_int_equal(ll.l[0].count, 3);
	assert_int_equal(ll.l[0].uidnext_then, 6);
	assert_int_equal(ll.l[0].uidnext_now, 9);
}

/* The first audit of an account has nothing to compare: no loss, however
 * its folders look (a drained INBOX with a high UIDNEXT included). */
static void first_audit_records_nothing(void **state)
{
	struct fx *f = *state;
	const struct tfolder inbox = { "INBOX", 7, NULL, 0 };
	struct ma_error err = { 0 };
	int64_t a;

	open_fx(f);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0, &a, &err), MA_OK);
	put_folder_as(f, a, &inbox, 31, 0);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 5, "ok", &err), MA_OK);
	assert_int_equal(losses_of(f, 0, false, 0).n, 0);
	assert_int_equal(gone_of(f, a).n, 0);
	/* A cut-off audit leaves no loss either. */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 60, &a, &err), MA_OK);
	put_folder_as(f, a, &inbox, 40, 0);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	assert_int_equal(losses_of(f, 0, false, 0).n, 1);
	ma_history_rollback(f->h);
	assert_int_equal(losses_of(f, 0, false, 0).n, 0);
}

/* Losses found by three audits: filters, then acknowledging. */
static void losses_filter_and_ack(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	const struct tmsg four[] = { { 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 4 } };
	const struct tmsg three[] = { { 1, 1 }, { 2, 2 }, { 3, 3 } };
	const struct tmsg two[] = { { 1, 1 }, { 2, 2 } };
	const struct tmsg one[] = { { 1, 1 } };
	uint64_t n = 99;
	int64_t a;

	open_fx(f);
	run_audit(f, T0, &(struct tfolder){ "INBOX", 7, five, 5 }, 1, true);
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 100, &a, &err), MA_OK);
	put_folder_as(f, a, &(struct tfolder){ "INBOX", 7, four, 4 }, 6, 0);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 105, "critical", &err), MA_OK);
	int64_t a2 = a;
	/* a3: UID 4 gone, and 2 came and went (UIDNEXT 6 to 8). */
	assert_int_equal(ma_history_begin(f->h, f->acct, T0 + 200, &a, &err), MA_OK);
	put_folder_as(f, a, &(struct tfolder){ "INBOX", 7, three, 3 }, 8, 0);
	assert_int_equal(ma_history_detect_gone(f->h, a, true, &err), MA_OK);
	/* Never inside an open audit. */
	assert_int_equal(ma_history_ack(f->h, f->acct, INT64_MAX, T0 + 250, &n, &err), MA_ERR_ARGUMENT);
	assert_int_equal(n, 0);
	assert_int_equal(ma_history_commit(f->h, a, T0 + 205, "critical", &err), MA_OK);
	int64_t a3 = a;

	struct loss_list ll = losses_of(f, 0, false, 0);
	assert_int_equal(ll.n, 3);
	assert_int_equal(ll.l[0].found_audit, a3);   /* newest first */
	assert_int_equal(ll.l[2].found_audit, a2);
	assert_int_equal(losses_of(f, a2, false, 0).n, 1);
	assert_int_equal(losses_of(f, a3, false, 0).n, 2);
	assert_int_equal(losses_of(f, 0, false, T0 + 200).n, 2);
	assert_int_equal(losses_of(f, 0, false, T0 + 201).n, 0);
	assert_int_equal(losses_of(f, 0, true, 0).n, 3);

	/* Up to a2 only: the user saw a2's report, not a3's. */
	assert_int_equal(ma_history_ack(f->h, f->acct, a2, T0 + 300, &n, &err), MA_OK);
	assert_int_equal(n, 1);
	ll = losses_of(f, 0, true, 0);
	assert_int_equal(ll.n, 2);
	assert_int_equal(ll.l[0].found_audit, a3);
	ll = losses_of(f, a2, false, 0);
	assert_int_equal(ll.n, 1);
	assert_int_equal(ll.l[0].acked, T0 + 300);
	/* All: a3's message and its 2 unseen. */
	assert_int_equal(ma_history_ack(f->h, f->acct, INT64_MAX, T0 + 400, &n, &err), MA_OK);
	assert_int_equal(n, 3);
	assert_int_equal(losses_of(f, 0, true, 0).n, 0);
	/* Acknowledged stays acknowledged, at its time. */
	assert_int_equal(ma_history_ack(f->h, f->acct, INT64_MAX, T0 + 500, &n, &err), MA_OK);
	assert_int_equal(n, 0);
	ll = losses_of(f, 0, false, 0);
	assert_int_equal(ll.n, 3);
	assert_int_equal(ll.l[2].acked, T0 + 300);
	assert_int_equal(ll.l[0].acked, T0 + 400);

	/* A later loss is new. */
	int64_t a4 = run_audit(f, T0 + 600, &(struct tfolder){ "INBOX", 7, two, 2 }, 1, true);
	ll = losses_of(f, 0, true, 0);
	assert_int_equal(ll.n, 1);
	assert_int_equal(ll.l[0].found_audit, a4);
	/* Another account's losses are its own. */
	int64_t mine = f->acct, other;
	assert_int_equal(ma_history_account(f->h, "bob", "imap.example.org", 0, &other, &err), MA_OK);
	f->acct = other;
	run_audit(f, T0 + 700, &(struct tfolder){ "INBOX", 7, two, 2 }, 1, true);
	run_audit(f, T0 + 800, &(struct tfolder){ "INBOX", 7, one, 1 }, 1, true);
	assert_int_equal(losses_of(f, 0, true, 0).n, 1);
	assert_int_equal(ma_history_ack(f->h, mine, INT64_MAX, T0 + 900, &n, &err), MA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(losses_of(f, 0, true, 0).n, 1);
}

/* ---- two writers ------------------------------------------------------ */

struct holder {
	struct ma_history *h;
	int64_t audit;
	ma_status committed;
};

static void *commit_later(void *arg)
{
	struct holder *hold = arg;
	struct timespec ts = { 0, 400 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	struct ma_error err = { 0 };
	hold->committed = ma_history_commit(hold->h, hold->audit, T0, "ok", &err);
	return NULL;
}

static void second_writer_waits_for_first(void **state)
{
	struct fx *f = *state;
	struct ma_error err = { 0 };
	struct ma_history *other = NULL;
	struct holder hold = { 0 };
	pthread_t t;
	int64_t a2;

	open_fx(f);
	assert_int_equal(ma_history_open(f->dir, &other, &err), MA_OK);
	hold.h = other;
	assert_int_equal(ma_history_begin(other, f->acct, T0, &hold.audit, &err), MA_OK);
	assert_int_equal(pthread_create(&t, NULL, commit_later, &hold), 0);
	double t0 = now_seconds();
	ma_status st = ma_history_begin(f->h, f->acct, T0 + 1, &a2, &err);
	double waited = now_seconds() - t0;
	pthread_join(t, NULL);
	assert_int_equal(hold.committed, MA_OK);
	assert_int_equal(st, MA_OK);
	assert_true(waited > 0.2);
	assert_true(a2 > hold.audit);
	assert_int_equal(ma_history_commit(f->h, a2, T0 + 2, "ok", &err), MA_OK);
	ma_history_close(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(creates_private_dir_and_file, setup, teardown),
		cmocka_unit_test_setup_teardown(default_location_follows_xdg_then_home, setup, teardown),
		cmocka_unit_test_setup_teardown(reopen_keeps_history, setup, teardown),
		cmocka_unit_test_setup_teardown(unusable_dir_is_io_error_naming_path, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupt_file_is_refused_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(foreign_sqlite_is_refused_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(newer_schema_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_file_is_adopted, setup, teardown),
		cmocka_unit_test_setup_teardown(symlinked_file_is_refused_target_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(other_users_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(open_modes_are_tightened, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_first_opens_agree, setup, teardown),
		cmocka_unit_test_setup_teardown(unchanged_repeat_has_nothing_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(removed_messages_are_destroyed, setup, teardown),
		cmocka_unit_test_setup_teardown(trash_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(moved_messages_name_their_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(gone_from_and_subject_are_decoded, setup, teardown),
		cmocka_unit_test_setup_teardown(moved_without_message_id_matches_size_and_date, setup, teardown),
		cmocka_unit_test_setup_teardown(uidvalidity_change_is_not_destruction, setup, teardown),
		cmocka_unit_test_setup_teardown(unread_folder_loses_nothing_deleted_folder_does, setup, teardown),
		cmocka_unit_test_setup_teardown(incremental_audit_marks_old_uids_present, setup, teardown),
		cmocka_unit_test_setup_teardown(rollback_leaves_previous_history, setup, teardown),
		cmocka_unit_test_setup_teardown(pop3_view_and_audit_list, setup, teardown),
		cmocka_unit_test_setup_teardown(repeat_audit_grows_under_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(hundred_thousand_messages_timing, setup, teardown),
		cmocka_unit_test_setup_teardown(batched_rows_are_written_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(ten_thousand_gone_timing, setup, teardown),
		cmocka_unit_test_setup_teardown(savepoint_undoes_a_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(rollback_after_flushed_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(schema_1_file_is_updated, setup, teardown),
		cmocka_unit_test_setup_teardown(schema_2_file_reads_the_same, setup, teardown),
		cmocka_unit_test_setup_teardown(unchanged_folder_is_recorded_as_same, setup, teardown),
		cmocka_unit_test_setup_teardown(delta_folder_keeps_rows_and_last_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(repeat_from_recorded_state, setup, teardown),
		cmocka_unit_test_setup_teardown(second_writer_waits_for_first, setup, teardown),
		cmocka_unit_test_setup_teardown(port_keys_keep_servers_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(schema_4_file_is_updated, setup, teardown),
		cmocka_unit_test_setup_teardown(shared_message_id_is_two_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(hashless_identity_matches_one_to_one, setup, teardown),
		cmocka_unit_test_setup_teardown(stored_again_in_its_folder_is_renumbered, setup, teardown),
		cmocka_unit_test_setup_teardown(ledger_records_destroyed_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(drafts_are_never_on_the_ledger, setup, teardown),
		cmocka_unit_test_setup_teardown(came_and_went_is_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(known_moves_take_their_uids, setup, teardown),
		cmocka_unit_test_setup_teardown(first_audit_records_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(pop3_order_follows_the_server, setup, teardown),
		cmocka_unit_test_setup_teardown(pop3_view_in_slices, setup, teardown),
		cmocka_unit_test_setup_teardown(pop3_delta_writes_only_what_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(pop3_probed_delta_as_full, setup, teardown),
		cmocka_unit_test_setup_teardown(losses_filter_and_ack, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
