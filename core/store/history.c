#include "store/history.h"
#include "base/loss.h"
#include "base/parse.h"
#include "base/i18n.h"
#include "base/text.h"   /* ma_now_ms */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef MA_VERSION
#define MA_VERSION "unknown"
#endif

/* Long enough for another audit's commit, short enough to not look hung. */
#define BUSY_TIMEOUT_MS 10000

#define STR_(x) #x
#define STR(x) STR_(x)

/* migrations[i] takes the schema from version i to i + 1 and sets
 * user_version itself, so schema and version commit together. Never edit a
 * released step: append a new one and raise MA_HISTORY_SCHEMA. */
static const char *const migrations[] = {
	"PRAGMA application_id = " STR(MA_HISTORY_APP_ID) ";"
	"CREATE TABLE account ("
	" id INTEGER PRIMARY KEY,"
	" login TEXT NOT NULL,"
	" imap_host TEXT NOT NULL COLLATE NOCASE,"
	" UNIQUE (login, imap_host));"
	"CREATE TABLE audit ("
	" id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL REFERENCES account(id),"
	" started INTEGER NOT NULL,"
	" finished INTEGER,"           /* NULL only inside the open transaction */
	" outcome TEXT,"
	" version TEXT NOT NULL,"
	" folder_list_complete INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX audit_account ON audit(account_id, id);"
	"CREATE TABLE folder_state ("
	" audit_id INTEGER NOT NULL REFERENCES audit(id),"
	" name TEXT NOT NULL,"
	" uidvalidity INTEGER NOT NULL,"
	" uidnext INTEGER NOT NULL,"
	" messages INTEGER NOT NULL,"
	" unseen INTEGER NOT NULL,"
	" deleted INTEGER NOT NULL,"
	" total_size INTEGER NOT NULL,"
	" PRIMARY KEY (audit_id, name)) WITHOUT ROWID;"
	/* One row per message identity; audits only move last_audit forward,
	 * which rewrites the row in place and keeps the file from growing. */
	"CREATE TABLE message ("
	" id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL REFERENCES account(id),"
	" folder TEXT NOT NULL,"
	" uidvalidity INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" internaldate INTEGER NOT NULL,"
	" date TEXT, sender TEXT, subject TEXT,"
	" msgid_hash BLOB,"
	" flags INTEGER NOT NULL,"
	" first_audit INTEGER NOT NULL REFERENCES audit(id),"
	" last_audit INTEGER NOT NULL REFERENCES audit(id),"
	" gone_audit INTEGER REFERENCES audit(id),"
	" gone_to TEXT,"
	" UNIQUE (account_id, folder, uidvalidity, uid));"
	"CREATE INDEX message_hash ON message(account_id, msgid_hash)"
	" WHERE msgid_hash IS NOT NULL;"
	"CREATE INDEX message_date ON message(account_id, internaldate, size);"
	"CREATE INDEX message_gone ON message(gone_audit)"
	" WHERE gone_audit IS NOT NULL;"
	"CREATE TABLE pop3_view ("
	" audit_id INTEGER PRIMARY KEY REFERENCES audit(id),"
	" stat_count INTEGER NOT NULL,"
	" stat_size INTEGER NOT NULL,"
	" capa TEXT NOT NULL,"
	" uidl_complete INTEGER NOT NULL);"
	"CREATE TABLE pop3_message ("
	" id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL REFERENCES account(id),"
	" uidl TEXT NOT NULL,"
	" size INTEGER NOT NULL,"
	" first_audit INTEGER NOT NULL REFERENCES audit(id),"
	" last_audit INTEGER NOT NULL REFERENCES audit(id),"
	" gone_audit INTEGER REFERENCES audit(id),"
	" UNIQUE (account_id, uidl));"
	"CREATE INDEX pop3_gone ON pop3_message(gone_audit)"
	" WHERE gone_audit IS NOT NULL;"
	"PRAGMA user_version = 1;",
	/* 2: the Message-ID and date indexes cost more than half of a first
	 * audit's writes (random inserts into two more b-trees per message)
	 * and served only the search for where a vanished message went, which
	 * now scans the account once, and only when something vanished. */
	"DROP INDEX IF EXISTS message_hash;"
	"DROP INDEX IF EXISTS message_date;"
	/* A folder found unchanged is recorded as the same UIDs as the audit
	 * named here (whose rows hold them) instead of rewriting each of its
	 * rows' last_audit: a repeat audit then writes almost nothing. */
	"ALTER TABLE folder_state ADD COLUMN same_as INTEGER REFERENCES audit(id);"
	"CREATE INDEX folder_state_same ON folder_state(same_as) WHERE same_as IS NOT NULL;"
	"PRAGMA user_version = 2;",
	/* 3: a message row's key is its mailbox's id times 2^32 plus its UID.
	 * An insert then goes into one b-tree, not also into the
	 * (account, folder, UIDVALIDITY, UID) index, and a folder's UIDs in
	 * ascending order append to it; the row no longer repeats the folder
	 * name. A folder's messages are the key range of its mailbox. */
	"CREATE TABLE mailbox ("
	" id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL REFERENCES account(id),"
	" folder TEXT NOT NULL,"
	" uidvalidity INTEGER NOT NULL,"
	" UNIQUE (account_id, folder, uidvalidity));"
	"INSERT INTO mailbox(account_id, folder, uidvalidity)"
	" SELECT DISTINCT account_id, folder, uidvalidity FROM message ORDER BY 1, 2, 3;"
	"CREATE TABLE message_v3 ("
	" id INTEGER PRIMARY KEY,"     /* mailbox.id * 2^32 + uid */
	" size INTEGER NOT NULL,"
	" internaldate INTEGER NOT NULL,"
	" date TEXT, sender TEXT, subject TEXT,"
	" msgid_hash BLOB,"
	" flags INTEGER NOT NULL,"
	" first_audit INTEGER NOT NULL REFERENCES audit(id),"
	" last_audit INTEGER NOT NULL REFERENCES audit(id),"
	" gone_audit INTEGER REFERENCES audit(id),"
	" gone_to TEXT);"
	"INSERT INTO message_v3(id, size, internaldate, date, sender, subject, msgid_hash,"
	" flags, first_audit, last_audit, gone_audit, gone_to)"
	" SELECT b.id * 4294967296 + m.uid, m.size, m.internaldate, m.date, m.sender,"
	" m.subject, m.msgid_hash, m.flags, m.first_audit, m.last_audit, m.gone_audit,"
	" m.gone_to FROM message m JOIN mailbox b ON b.account_id = m.account_id"
	" AND b.folder = m.folder AND b.uidvalidity = m.uidvalidity ORDER BY 1;"
	"DROP TABLE message;"
	"ALTER TABLE message_v3 RENAME TO message;"
	"CREATE INDEX message_gone ON message(gone_audit)"
	" WHERE gone_audit IS NOT NULL;"
	"PRAGMA user_version = 3;",
	/* 4: a POP3 view found the same as the last one (same STAT, and IMAP
	 * proved INBOX holds the same UIDs) is recorded as the same UIDLs as
	 * the audit named here instead of rewriting every UIDL row's
	 * last_audit: an unchanged repeat writes almost nothing. */
	"ALTER TABLE pop3_view ADD COLUMN same_as INTEGER REFERENCES audit(id);"
	"CREATE INDEX pop3_view_same ON pop3_view(same_as) WHERE same_as IS NOT NULL;"
	"PRAGMA user_version = 4;",
	/* 5: the loss ledger, and what it needs.
	 *
	 * An account is keyed on its port too (ma_history_port_key): two
	 * servers on one host must not share a history. SQLite cannot drop
	 * the old UNIQUE (login, imap_host), so the table is copied, ids
	 * kept. Rows from before have no port (NULL); the first lookup of
	 * their login and host takes them over, so histories carry on. */
	"CREATE TABLE account_v5 ("
	" id INTEGER PRIMARY KEY,"
	" login TEXT NOT NULL,"
	" host TEXT NOT NULL COLLATE NOCASE,"
	" port_key INTEGER,"
	" UNIQUE (login, host, port_key));"
	"INSERT INTO account_v5(id, login, host) SELECT id, login, imap_host FROM account ORDER BY id;"
	"DROP TABLE account;"
	"ALTER TABLE account_v5 RENAME TO account;"
	/* What LIST said the folder is for (enum ma_special): its losses
	 * are judged by it (ma_folder_role). */
	"ALTER TABLE folder_state ADD COLUMN special INTEGER NOT NULL DEFAULT 0;"
	/* A gone message matched in its own folder (UIDVALIDITY reset, or
	 * stored again) was renumbered, not moved. Earlier audits matched the
	 * same way, only not one to one: their "moved to its own folder" is
	 * that too. */
	"ALTER TABLE message ADD COLUMN renumbered INTEGER NOT NULL DEFAULT 0;"
	"UPDATE message SET renumbered = 1 WHERE gone_audit IS NOT NULL AND gone_to IS NOT NULL"
	" AND gone_to = (SELECT folder FROM mailbox WHERE id = message.id >> 32);"
	/* The ledger: each loss an audit found, kept until acknowledged. A
	 * row is a copy, not a reference: the message row it came from is
	 * rewritten if the UID ever shows up again. kind: 'message' (one
	 * named message, destroyed) or 'unseen' (count messages that came and
	 * went between two audits). role: role_keys below. */
	"CREATE TABLE loss ("
	" id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL REFERENCES account(id),"
	" found_audit INTEGER NOT NULL REFERENCES audit(id),"
	" kind TEXT NOT NULL,"
	" folder TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" count INTEGER NOT NULL,"
	" size INTEGER, internaldate INTEGER,"
	" date TEXT, sender TEXT, subject TEXT,"   /* raw, as in message */
	" last_seen INTEGER,"
	" folder_gone INTEGER NOT NULL DEFAULT 0,"
	" since INTEGER, uidnext_then INTEGER, uidnext_now INTEGER,"
	" acked INTEGER);"                         /* NULL: not acknowledged */
	"CREATE INDEX loss_account ON loss(account_id, found_audit);"
	"PRAGMA user_version = 5;",
	/* 5 -> 6: the folder's HIGHESTMODSEQ (RFC 7162) when its message rows
	 * were written, so a repeat asks the server only what changed since
	 * (CHANGEDSINCE, VANISHED). NULL: the server gave none (no CONDSTORE,
	 * NOMODSEQ) or an older mailaudit wrote the row: the folder is then
	 * read as before. */
	"ALTER TABLE folder_state ADD COLUMN modseq INTEGER;"
	/* delta: the audit read only what changed (CHANGEDSINCE): it rewrote
	 * the rows of messages whose flags changed or that are new, marked the
	 * expunged ones gone, and left the others' rows (and last_audit) as
	 * they were: they are present all the same (LAST_SEEN). */
	"ALTER TABLE folder_state ADD COLUMN delta INTEGER NOT NULL DEFAULT 0;"
	"PRAGMA user_version = 6;",
	/* 6 -> 7: a POP3 view written as a delta (ma_history_put_pop3_delta):
	 * the UIDLs it listed were compared with those present on record;
	 * only new ones were written and only missing ones marked gone, the
	 * others' rows (and last_audit) left as they were: they are present
	 * all the same (POP3_LAST_SEEN). */
	"ALTER TABLE pop3_view ADD COLUMN delta INTEGER NOT NULL DEFAULT 0;"
	"PRAGMA user_version = 7;",
	/* 7 -> 8: the order of the UIDLs present on record, as the server
	 * numbers them (ascending; gaps allowed): a repeat then probes a few
	 * UIDLs (`UIDL n`) instead of listing them all. The row id is no such
	 * order: a delta writes new rows sorted by UIDL, and a UIDL seen again
	 * keeps its old row. NULL: written by an older mailaudit; the next
	 * complete listing sets it. */
	"ALTER TABLE pop3_message ADD COLUMN ord INTEGER;"
	/* Every unchanged repeat asks for the first and last UIDL on record
	 * (ma_history_pop3_ends): without it, three scans of every UIDL row
	 * (0.07 s of CPU at 100,000). New rows come in ord order, so the
	 * first audit appends to it. */
	"CREATE INDEX pop3_order ON pop3_message(account_id, ord) WHERE gone_audit IS NULL;"
	"PRAGMA user_version = 8;",
};

/* The key range of mailbox B's messages, for "m.id BETWEEN " IN_MAILBOX(b). */
#define IN_MAILBOX(b) b ".id * 4294967296 AND " b ".id * 4294967296 + 4294967295"

_Static_assert(sizeof migrations / sizeof migrations[0] == MA_HISTORY_SCHEMA,
	       "one migration per schema version");

/* Rows per INSERT of messages or UIDLs, largest first (put_sizes). */
#define PUT_SIZES 3

struct ma_history {
	sqlite3 *db;
	char *path;
	int64_t audit_id;     /* the open audit, 0 when none */
	int64_t account_id;   /* its account */
	bool gone_done;       /* detect_gone ran for it */
	bool marked_gone;     /* ma_history_mark_gone marked some in this audit */
	/* Reused across calls: these run once per message. */
	sqlite3_stmt *put_msgs[PUT_SIZES];  /* put_sizes[k] messages at once */
	sqlite3_stmt *put_uidls[PUT_SIZES]; /* put_sizes[k] UIDLs at once */
	sqlite3_stmt *mark_run;
	sqlite3_stmt *find_mailbox;
	sqlite3_stmt *add_mailbox;
	unsigned uidl_batches;    /* put_uidl_batch calls, for flush_pages */
	/* The run's deadline (--deadline, ma_history_open_until): lock waits
	 * and transactions stop there. 0 = none. */
	int64_t until_ms;
	int64_t busy_since;   /* when the current lock wait began */
};

static bool past_deadline(const struct ma_history *h)
{
	return h->until_ms && ma_now_ms() >= h->until_ms;
}

/* Turns the connection's last error into an ma_status naming the file. */
static ma_status db_fail(const struct ma_history *h, struct ma_error *err,
			 const char *what)
{
	int code = sqlite3_errcode(h->db) & 0xff;
	int sys = sqlite3_system_errno(h->db);
	const char *msg = sqlite3_errmsg(h->db);

	switch (code) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return ma_fail(err, MA_ERR_STATE_CORRUPT, "%s: %s: %s", h->path,
			       what, msg);
	case SQLITE_NOMEM:
		return ma_fail(err, MA_ERR_NOMEM, "%s: %s", h->path, what);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_INTERRUPT:
		if (past_deadline(h))
			return ma_fail(err, MA_ERR_DEADLINE, _("%s: %s: stopped at the time limit"),
				       h->path, what);
		if (code == SQLITE_INTERRUPT)
			return ma_fail(err, MA_ERR_IO, "%s: %s: %s", h->path, what, msg);
		return ma_fail(err, MA_ERR_IO,
			       _("%s: %s: still in use by another mailaudit after %d s"),
			       h->path, what, BUSY_TIMEOUT_MS / 1000);
	default:
		if (sys != 0)
			return ma_fail(err, MA_ERR_IO, "%s: %s: %s (%s)", h->path,
				       what, msg, strerror(sys));
		return ma_fail(err, MA_ERR_IO, "%s: %s: %s", h->path, what, msg);
	}
}

static ma_status exec(struct ma_history *h, const char *sql, const char *what,
		      struct ma_error *err)
{
	if (sqlite3_exec(h->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(h, err, what);
	return MA_OK;
}

static ma_status need_audit(const struct ma_history *h, int64_t audit_id,
			    struct ma_error *err)
{
	if (h->audit_id == 0 || audit_id != h->audit_id)
		return ma_fail(err, MA_ERR_ARGUMENT,
			       "audit %lld is not the open audit of %s",
			       (long long)audit_id, h->path);
	return MA_OK;
}

/* How loss.role spells each role: words, not enum ma_role's numbers, so
 * the file never depends on the order of an enum. */
static const char *const role_keys[] = {
	[MA_ROLE_ORDINARY] = "folder",
	[MA_ROLE_INBOX] = "inbox",
	[MA_ROLE_SENT] = "sent",
	[MA_ROLE_DRAFTS] = "drafts",
	[MA_ROLE_TRASH] = "trash",
	[MA_ROLE_JUNK] = "junk",
	[MA_ROLE_ARCHIVE] = "archive",
};
#define NROLES (sizeof role_keys / sizeof role_keys[0])

static const char *role_key(enum ma_role r)
{
	return (size_t)r < NROLES ? role_keys[r] : role_keys[MA_ROLE_ORDINARY];
}

/* An unknown word (a newer mailaudit's) reads as an ordinary folder, whose
 * losses are critical: never quieter than it was. */
static enum ma_role role_of_key(const char *key)
{
	for (size_t i = 0; key && i < NROLES; i++)
		if (strcmp(key, role_keys[i]) == 0)
			return (enum ma_role)i;
	return MA_ROLE_ORDINARY;
}

/* SQL ma_role(name, special): role_key(ma_folder_role(name, special)), for
 * the statements that write the ledger. Only this connection knows it:
 * nothing stored in the file (view, index, trigger) may use it. */
static void sql_role(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const char *name = (const char *)sqlite3_value_text(argv[0]);
	unsigned special = (unsigned)sqlite3_value_int64(argv[1]);
	sqlite3_result_text(ctx, role_key(ma_folder_role(name ? name : "", special)), -1,
			    SQLITE_STATIC);
}

static const char *text_or_null(sqlite3_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(s, col);
}

/* Prepares *st once and keeps it, or resets it for the next use. */
static int cached(struct ma_history *h, sqlite3_stmt **st, const char *sql)
{
	if (*st) {
		/* No clear_bindings: every caller binds every parameter. */
		sqlite3_reset(*st);
		return SQLITE_OK;
	}
	return sqlite3_prepare_v2(h->db, sql, -1, st, NULL);
}

/* ---- One statement, prepared, bound, stepped, finalized ------------------
 *
 * Most statements here run once per call. struct query gives that shape
 * once: query_start prepares sql and binds its ?1..?n, query_row steps to
 * the next row (false at the end, or on a failure it records), query_end
 * finalizes and says how it went; query_run is all three for a statement
 * without rows. A failure names what was being done (what) and the file,
 * as db_fail does; after one, the other calls do nothing. The statements
 * that run once per message or UIDL stay prepared instead (cached). */

struct bind {
	enum { BIND_INT, BIND_TEXT, BIND_NULL } type;
	int64_t i;
	const char *t;            /* NULL binds NULL; must outlive the statement */
};
#define B_INT(v) ((struct bind){ .type = BIND_INT, .i = (int64_t)(v) })
#define B_TEXT(v) ((struct bind){ .type = BIND_TEXT, .t = (v) })
#define B_NULL ((struct bind){ .type = BIND_NULL })
/* The list of binds for ?1, ?2, ...: array and count. */
#define BINDS(...) (const struct bind[]){ __VA_ARGS__ }, \
	sizeof((const struct bind[]){ __VA_ARGS__ }) / sizeof(struct bind)

struct query {
	struct ma_history *h;
	const char *what;         /* "reading the last POP3 view" */
	struct ma_error *err;
	sqlite3_stmt *s;          /* NULL until started */
	ma_status st;             /* the first failure */
	bool done;                /* stepped past the last row */
};
#define QUERY(h, what, err) { (h), (what), (err), NULL, MA_OK, false }

/* Binds b[0..n) to ?1..?n of s. */
static void bind_list(sqlite3_stmt *s, const struct bind *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int at = (int)i + 1;
		if (b[i].type == BIND_INT)
			sqlite3_bind_int64(s, at, b[i].i);
		else if (b[i].type == BIND_TEXT)
			sqlite3_bind_text(s, at, b[i].t, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, at);
	}
}

static bool query_start(struct query *q, const char *sql, const struct bind *b, size_t n)
{
	if (q->st != MA_OK)
		return false;
	q->done = false;
	if (sqlite3_prepare_v2(q->h->db, sql, -1, &q->s, NULL) != SQLITE_OK) {
		q->st = db_fail(q->h, q->err, q->what);
		return false;
	}
	bind_list(q->s, b, n);
	return true;
}

static bool query_row(struct query *q)
{
	if (!q->s || q->done || q->st != MA_OK)
		return false;
	int rc = sqlite3_step(q->s);
	if (rc == SQLITE_ROW)
		return true;
	q->done = true;
	if (rc != SQLITE_DONE)
		q->st = db_fail(q->h, q->err, q->what);
	return false;
}

/* The one row a statement must give (an aggregate): no row is a failure. */
static bool query_one(struct query *q)
{
	if (query_row(q))
		return true;
	if (q->st == MA_OK)
		q->st = db_fail(q->h, q->err, q->what);
	return false;
}

static ma_status query_end(struct query *q)
{
	sqlite3_finalize(q->s);
	q->s = NULL;
	return q->st;
}

/* A statement that gives no row (INSERT, UPDATE, DELETE), run to its end. */
static ma_status query_run(struct query *q, const char *sql, const struct bind *b, size_t n)
{
	if (query_start(q, sql, b, n) && query_row(q))
		q->st = db_fail(q->h, q->err, q->what);
	return query_end(q);
}

/* ---- Opening ---------------------------------------------------------- */

static ma_status default_dir(char **out, struct ma_error *err)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	/* The XDG spec says to ignore relative values. */
	if (xdg && xdg[0] == '/') {
		if (asprintf(out, "%s/mailaudit", xdg) < 0)
			return ma_fail(err, MA_ERR_NOMEM, NULL);
		return MA_OK;
	}
	const char *home = getenv("HOME");
	if (!home || !home[0]) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || !home[0])
		return ma_fail(err, MA_ERR_IO,
			       "no home directory to keep the history in (set HOME or XDG_STATE_HOME)");
	if (asprintf(out, "%s/.local/state/mailaudit", home) < 0)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	return MA_OK;
}

/* mkdir -p, each directory we create private whatever the umask. */
static ma_status make_dirs(const char *dir, struct ma_error *err)
{
	char *p = strdup(dir);
	if (!p)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	ma_status st = MA_OK;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) == 0) {
			if (chmod(p, 0700) != 0) {
				st = ma_fail(err, MA_ERR_IO, _("cannot set permissions of %s: %s"),
					     p, strerror(errno));
				break;
			}
		} else if (errno != EEXIST) {
			st = ma_fail(err, MA_ERR_IO, _("cannot create directory %s: %s"),
				     p, strerror(errno));
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	if (st != MA_OK)
		return st;
	struct stat sb;
	if (stat(dir, &sb) != 0)
		return ma_fail(err, MA_ERR_IO, _("cannot use directory %s: %s"), dir,
			       strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return ma_fail(err, MA_ERR_IO, _("cannot use directory %s: %s"), dir,
			       strerror(ENOTDIR));
	return MA_OK;
}

/* The state directory's mode. The default one is mailaudit's own: made
 * private (0700) whatever it was. One named with --state-dir is the
 * user's, so its mode is not changed; but others who can write in it could
 * put a file or link of their choosing where the history is: refused, with
 * the command that fixes it. Readable by others is fine for it: the files
 * themselves are 0600. */
static ma_status check_dir(const char *dir, bool own, struct ma_error *err)
{
	struct stat sb;
	if (stat(dir, &sb) != 0)
		return ma_fail(err, MA_ERR_IO, _("cannot use directory %s: %s"), dir, strerror(errno));
	mode_t mode = sb.st_mode & 07777;
	if (own && sb.st_uid == geteuid() && (mode & 077)) {
		if (chmod(dir, mode & 07700) != 0)
			return ma_fail(err, MA_ERR_IO, _("cannot make %s private (mode %04o): %s; run: chmod 700 %s"),
				       dir, (unsigned)mode, strerror(errno), dir);
		return MA_OK;
	}
	if (mode & 022)
		return ma_fail(err, MA_ERR_IO,
			       "the state directory %s can be changed by other users (mode %04o), who could replace the history; run: chmod go-w %s, or use a private directory",
			       dir, (unsigned)mode, dir);
	return MA_OK;
}

/* A file beside the history (path + suffix) that must be a plain file of
 * ours or absent: checked before SQLite opens anything, as even a
 * read-only connection writes the -shm file and replays into the -wal. */
static ma_status check_plain(const char *path, const char *suffix, bool must_exist,
			     struct ma_error *err)
{
	char name[4096];
	if (snprintf(name, sizeof name, "%s%s", path, suffix) >= (int)sizeof name)
		return ma_fail(err, MA_ERR_IO, _("%s: path too long"), path);
	struct stat sb;
	if (lstat(name, &sb) != 0) {
		if (errno == ENOENT && !must_exist)
			return MA_OK;
		return ma_fail(err, MA_ERR_IO, _("cannot open %s: %s"), name, strerror(errno));
	}
	if (S_ISLNK(sb.st_mode)) {
		char to[256];
		ssize_t n = readlink(name, to, sizeof to - 1);
		to[n > 0 ? n : 0] = '\0';
		return ma_fail(err, MA_ERR_STATE_CORRUPT,
			       "%s is a symbolic link (to %s), left untouched: remove it; mailaudit keeps its history only in a plain file of its own",
			       name, n > 0 ? to : "?");
	}
	if (!S_ISREG(sb.st_mode))
		return ma_fail(err, MA_ERR_STATE_CORRUPT, _("%s is not a regular file; left untouched"),
			       name);
	if (sb.st_uid != geteuid())
		return ma_fail(err, MA_ERR_STATE_CORRUPT,
			       "%s belongs to another user (uid %u, mailaudit runs as uid %u); left untouched",
			       name, (unsigned)sb.st_uid, (unsigned)geteuid());
	return MA_OK;
}

/* Creates the file ourselves so it is 0600 before SQLite ever opens it; an
 * existing one, and the -wal and -shm beside it, must be plain files of
 * ours (check_plain). */
static ma_status create_file(const char *path, bool *created, struct ma_error *err)
{
	*created = false;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		*created = true;
		int rc = fchmod(fd, 0600);
		int saved = errno;
		close(fd);
		if (rc != 0)
			return ma_fail(err, MA_ERR_IO, _("cannot set permissions of %s: %s"),
				       path, strerror(saved));
	} else if (errno != EEXIST) {
		return ma_fail(err, MA_ERR_IO, _("cannot create %s: %s"), path,
			       strerror(errno));
	}
	ma_status st = check_plain(path, "", true, err);
	if (st == MA_OK)
		st = check_plain(path, "-wal", false, err);
	if (st == MA_OK)
		st = check_plain(path, "-shm", false, err);
	return st;
}

/* An existing history found ours, or empty: it, its -wal and its -shm
 * become 0600 if they were more open (SQLite gives the -wal and -shm the
 * mode of the file). A file not ours is never changed: this runs only
 * after check_identity. By name, never through a descriptor of our own:
 * closing one would drop the POSIX locks another handle of this process
 * holds on the file (an audit opens several), and another mailaudit
 * could then reset the -shm under it. */
static ma_status tighten(const char *path, struct ma_error *err)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char name[4096];
		snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
		struct stat sb;
		if (lstat(name, &sb) != 0) {
			if (errno == ENOENT && i > 0)
				continue;
			return ma_fail(err, MA_ERR_IO, _("cannot open %s: %s"), name, strerror(errno));
		}
		if (!S_ISREG(sb.st_mode) || !(sb.st_mode & 077))
			continue;
		if (chmod(name, sb.st_mode & 0700) != 0)
			return ma_fail(err, MA_ERR_IO, _("cannot make %s private: %s; run: chmod 600 %s"), name,
				       strerror(errno), name);
	}
	return MA_OK;
}

/* Decides from the file alone whether it is ours, and at which version.
 * Only reads, and in one statement, so one read transaction: another
 * mailaudit creating the file at the same moment is seen before or after
 * its commit, never half (the header's application_id from before and the
 * table count from after made "another program's SQLite database"). An
 * empty file, or one only switched to WAL, is the same: ours to fill. */
static ma_status check_identity(struct ma_history *h, int64_t *version,
				struct ma_error *err)
{
	int64_t app = 0, ver = 0, objects = 0;
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(h->db,
				    "SELECT (SELECT application_id FROM pragma_application_id),"
				    " (SELECT user_version FROM pragma_user_version),"
				    " (SELECT count(*) FROM sqlite_master)",
				    -1, &q, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		app = sqlite3_column_int64(q, 0);
		ver = sqlite3_column_int64(q, 1);
		objects = sqlite3_column_int64(q, 2);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		int code = sqlite3_errcode(h->db) & 0xff;
		ma_status st = code == SQLITE_NOTADB || code == SQLITE_CORRUPT
			? ma_fail(err, MA_ERR_STATE_CORRUPT,
				  "%s is damaged or not a SQLite database (%s); left untouched",
				  h->path, sqlite3_errmsg(h->db))
			: db_fail(h, err, "reading the file header");
		sqlite3_finalize(q);
		return st;
	}
	sqlite3_finalize(q);
	if ((uint32_t)app == MA_HISTORY_APP_ID) {
		if (ver > MA_HISTORY_SCHEMA)
			return ma_fail(err, MA_ERR_STATE_CORRUPT,
				       "%s was written by a newer mailaudit (history version %lld, this one knows up to %d); left untouched, please upgrade",
				       h->path, (long long)ver, MA_HISTORY_SCHEMA);
		if (ver < 1)
			return ma_fail(err, MA_ERR_STATE_CORRUPT,
				       "%s has mailaudit's id but no version; left untouched",
				       h->path);
		*version = ver;
		return MA_OK;
	}
	if (app != 0)
		return ma_fail(err, MA_ERR_STATE_CORRUPT,
			       "%s belongs to another program (SQLite application_id 0x%08x); left untouched",
			       h->path, (unsigned)app);
	if (ver != 0 || objects != 0)
		return ma_fail(err, MA_ERR_STATE_CORRUPT,
			       "%s is another program's SQLite database (%lld tables or indexes, not mailaudit's); left untouched",
			       h->path, (long long)objects);
	*version = 0;   /* empty: ours to fill */
	return MA_OK;
}

/* Process-wide SQLite settings, before its first use. Without memory
 * statistics each allocation skips a global mutex: a first audit makes
 * millions. Too late (another part of the program used SQLite first) only
 * costs speed. */
static void configure_sqlite(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* NOMUTEX: a handle is used by one thread at a time (the audit hands it to
 * its writer thread and takes it back after joining), so SQLite's
 * per-call locking is pure cost. */
static int open_db(const char *path, int flags, sqlite3 **db)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, configure_sqlite);
	/* NOFOLLOW: a link put in the file's place since create_file looked is
	 * refused, not followed into someone else's file. */
	return sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
}

/* Waits for a lock another mailaudit holds: BUSY_TIMEOUT_MS at most, and
 * never past the deadline. */
static int busy_wait(void *arg, int count)
{
	struct ma_history *h = arg;
	int64_t now = ma_now_ms();
	if (count == 0)
		h->busy_since = now;
	if (now - h->busy_since >= BUSY_TIMEOUT_MS || now >= h->until_ms)
		return 0;
	int64_t nap = h->until_ms - now < 10 ? h->until_ms - now : 10;
	sqlite3_sleep((int)nap);
	return 1;
}

/* Called by SQLite every so many steps: at the deadline, the open
 * transaction stops (and is rolled back by its owner). Outside one nothing
 * is interrupted: those are short reads. */
static int interrupt_at_deadline(void *arg)
{
	struct ma_history *h = arg;
	return !sqlite3_get_autocommit(h->db) && past_deadline(h);
}

/* How this handle waits for locks (and, with a deadline, stops). */
static void set_waits(struct ma_history *h)
{
	if (!h->until_ms) {
		sqlite3_busy_timeout(h->db, BUSY_TIMEOUT_MS);
		return;
	}
	sqlite3_busy_handler(h->db, busy_wait, h);
	sqlite3_progress_handler(h->db, 1000, interrupt_at_deadline, h);
}

/* Looks at an existing file through a read-only connection: a read-write one
 * could replay a journal or checkpoint a WAL into someone else's file. */
static ma_status validate_existing(struct ma_history *h, int64_t *version,
				   struct ma_error *err)
{
	ma_status st;
	if (open_db(h->path, SQLITE_OPEN_READONLY, &h->db) != SQLITE_OK) {
		st = h->db ? db_fail(h, err, "opening read-only")
			   : ma_fail(err, MA_ERR_NOMEM, NULL);
		goto cleanup;
	}
	set_waits(h);
	st = check_identity(h, version, err);
cleanup:
	sqlite3_close(h->db);
	h->db = NULL;
	return st;
}

static ma_status migrate(struct ma_history *h, struct ma_error *err)
{
	int64_t version = 0;
	ma_status st = exec(h, "BEGIN IMMEDIATE", "preparing the history file", err);
	if (st != MA_OK)
		return st;
	/* Again under the write lock: another mailaudit may have just done it. */
	st = check_identity(h, &version, err);
	for (int64_t v = version; st == MA_OK && v < MA_HISTORY_SCHEMA; v++)
		st = exec(h, migrations[v], "updating the history format", err);
	if (st == MA_OK)
		st = exec(h, "COMMIT", "updating the history format", err);
	if (st != MA_OK) {
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
		return st;
	}
	/* Schema 3 copied every message row into a new table, which leaves
	 * the old one's pages free inside the file (as large again as the
	 * rows): give them back once. Best effort: if another mailaudit holds
	 * the file, later audits reuse the pages instead. */
	if (version >= 1 && version < 3)
		sqlite3_exec(h->db, "VACUUM", NULL, NULL, NULL);
	return MA_OK;
}

/* WAL: readers never block the writer, and a killed writer leaves only
 * uncommitted frames that recovery ignores. The switch of a new file needs
 * it alone; when several first audits hold it to read and each asks,
 * SQLite answers BUSY at once rather than wait (waiting could deadlock):
 * ask again, within the busy timeout. */
static ma_status switch_to_wal(struct ma_history *h, struct ma_error *err)
{
	int64_t end = ma_now_ms() + BUSY_TIMEOUT_MS;
	for (;;) {
		sqlite3_stmt *q = NULL;
		int rc = sqlite3_prepare_v2(h->db, "PRAGMA journal_mode = WAL", -1, &q, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			const char *mode = (const char *)sqlite3_column_text(q, 0);
			bool wal = mode && strcmp(mode, "wal") == 0;
			sqlite3_finalize(q);
			if (!wal)
				return ma_fail(err, MA_ERR_IO,
					       "%s: the file system does not support WAL journaling", h->path);
			return MA_OK;
		}
		int code = rc & 0xff;
		if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || ma_now_ms() >= end) {
			ma_status st = db_fail(h, err, "switching to WAL");
			sqlite3_finalize(q);
			return st;
		}
		sqlite3_finalize(q);
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000000 }, NULL);
	}
}

/* The connection's settings, for every handle. */
static ma_status set_up(struct ma_history *h, struct ma_error *err)
{
	ma_status st;
	set_waits(h);
	if (sqlite3_create_function_v2(h->db, "ma_role", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
				       NULL, sql_role, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(h, err, "opening");
	if ((st = switch_to_wal(h, err)) != MA_OK)
		return st;
	/* NORMAL: in WAL mode a commit then costs no fsync, and the file
	 * still survives a crash or kill -9 intact; only a power cut may lose
	 * the last audits (they are re-done by the next one). */
	if ((st = exec(h, "PRAGMA synchronous = NORMAL", "opening", err)) != MA_OK)
		return st;
	/* The checkpoint that copies an audit's rows from the WAL into the
	 * file, and syncs both, would cost a first audit of 100,000 messages
	 * a tenth of a second at its very end. The next audit does it at its
	 * start instead (ma_history_begin), while it waits for the network
	 * anyway; until then readers find the rows in the WAL. The size
	 * limit shrinks the WAL file back once it is reused. */
	sqlite3_db_config(h->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if ((st = exec(h, "PRAGMA wal_autocheckpoint = 0", "opening", err)) != MA_OK)
		return st;
	return exec(h, "PRAGMA journal_size_limit = 4194304", "opening", err);
}

ma_status ma_history_open(const char *state_dir, struct ma_history **out,
			  struct ma_error *err)
{
	return ma_history_open_until(state_dir, 0, out, err);
}

ma_status ma_history_open_until(const char *state_dir, int64_t until_ms,
				struct ma_history **out, struct ma_error *err)
{
	char *dir = NULL;
	bool created = false;
	int64_t version = 0;
	ma_status st;

	*out = NULL;
	struct ma_history *h = calloc(1, sizeof *h);
	if (!h)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	h->until_ms = until_ms;
	if (state_dir && !state_dir[0]) {
		st = ma_fail(err, MA_ERR_ARGUMENT, "empty state directory");
		goto cleanup;
	}
	if (state_dir) {
		dir = strdup(state_dir);
		st = dir ? MA_OK : ma_fail(err, MA_ERR_NOMEM, NULL);
	} else {
		st = default_dir(&dir, err);
	}
	if (st != MA_OK || (st = make_dirs(dir, err)) != MA_OK ||
	    (st = check_dir(dir, !state_dir, err)) != MA_OK)
		goto cleanup;
	if (asprintf(&h->path, "%s/history.db", dir) < 0) {
		h->path = NULL;
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
		goto cleanup;
	}
	if ((st = create_file(h->path, &created, err)) != MA_OK)
		goto cleanup;
	if (!created && ((st = validate_existing(h, &version, err)) != MA_OK ||
			 (st = tighten(h->path, err)) != MA_OK))
		goto cleanup;

	if (open_db(h->path, SQLITE_OPEN_READWRITE, &h->db) != SQLITE_OK) {
		st = h->db ? db_fail(h, err, "opening")
			   : ma_fail(err, MA_ERR_NOMEM, NULL);
		goto cleanup;
	}
	if ((st = set_up(h, err)) != MA_OK)
		goto cleanup;
	if (version < MA_HISTORY_SCHEMA && (st = migrate(h, err)) != MA_OK)
		goto cleanup;
	*out = h;
	h = NULL;
cleanup:
	free(dir);
	ma_history_close(h);
	return st;
}

const char *ma_history_path(const struct ma_history *h)
{
	return h->path;
}

void ma_history_close(struct ma_history *h)
{
	if (!h)
		return;
	ma_history_rollback(h);
	for (int k = 0; k < PUT_SIZES; k++) {
		sqlite3_finalize(h->put_msgs[k]);
		sqlite3_finalize(h->put_uidls[k]);
	}
	sqlite3_finalize(h->mark_run);
	sqlite3_finalize(h->find_mailbox);
	sqlite3_finalize(h->add_mailbox);
	sqlite3_close(h->db);
	free(h->path);
	free(h);
}

/* ---- Writing an audit ------------------------------------------------- */

uint32_t ma_history_port_key(bool imap, uint16_t port)
{
	/* The two standard ports of a protocol reach the same server (one with
	 * TLS from the start, one with STARTTLS), and a user switching between
	 * them must keep the history. */
	if (imap)
		return port == 993 || port == 143 ? 0 : port;
	return MA_PORT_KEY_POP3 + (port == 995 || port == 110 ? 0 : port);
}

ma_status ma_history_account(struct ma_history *h, const char *login,
			     const char *host, uint32_t port_key, int64_t *account_id,
			     struct ma_error *err)
{
	sqlite3_stmt *sel = NULL, *claim = NULL, *ins = NULL;
	ma_status st = MA_OK;
	int rc;

	if (!login || !host)
		return ma_fail(err, MA_ERR_ARGUMENT, "account needs a login and a host");
	if (sqlite3_prepare_v2(h->db,
			       "SELECT id FROM account WHERE login = ?1 AND host = ?2 AND port_key = ?3",
			       -1, &sel, NULL) != SQLITE_OK ||
	    /* A row from before schema 5 (no port) is the history of this
	     * login and host: the first lookup takes it over. OR IGNORE: if
	     * another mailaudit has just created this key, that row wins and
	     * the old one waits for the next port key. */
	    sqlite3_prepare_v2(h->db,
			       "UPDATE OR IGNORE account SET port_key = ?3 WHERE id = (SELECT id FROM account"
			       " WHERE login = ?1 AND host = ?2 AND port_key IS NULL ORDER BY id LIMIT 1)",
			       -1, &claim, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h->db,
			       "INSERT INTO account(login, host, port_key) VALUES (?1, ?2, ?3)"
			       " ON CONFLICT DO NOTHING", -1, &ins, NULL) != SQLITE_OK) {
		st = db_fail(h, err, "looking up the account");
		goto cleanup;
	}
	sqlite3_stmt *all[] = { sel, claim, ins };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		sqlite3_bind_text(all[i], 1, login, -1, SQLITE_STATIC);
		sqlite3_bind_text(all[i], 2, host, -1, SQLITE_STATIC);
		sqlite3_bind_int64(all[i], 3, port_key);
	}
	/* Read first: a known account (every audit but the first) then takes
	 * no write lock, so a lookup never waits for another audit's commit. */
	rc = sqlite3_step(sel);
	if (rc == SQLITE_DONE) {
		if (sqlite3_step(claim) != SQLITE_DONE || sqlite3_step(ins) != SQLITE_DONE) {
			st = db_fail(h, err, "recording the account");
			goto cleanup;
		}
		sqlite3_reset(sel);
		rc = sqlite3_step(sel);
	}
	if (rc != SQLITE_ROW) {
		st = db_fail(h, err, "looking up the account");
		goto cleanup;
	}
	*account_id = sqlite3_column_int64(sel, 0);
cleanup:
	sqlite3_finalize(sel);
	sqlite3_finalize(claim);
	sqlite3_finalize(ins);
	return st;
}

ma_status ma_history_folder_prev(struct ma_history *h, int64_t account_id,
				 const char *folder, uint32_t *uidvalidity,
				 uint32_t *max_uid, bool *known,
				 struct ma_error *err)
{
	struct query q = QUERY(h, "reading the last audit of a folder", err);

	*uidvalidity = 0;
	*max_uid = 0;
	*known = false;
	if (query_start(&q, "SELECT f.uidvalidity FROM folder_state f"
			" JOIN audit a ON a.id = f.audit_id"
			" WHERE a.account_id = ?1 AND f.name = ?2"
			" AND a.finished IS NOT NULL"
			" ORDER BY a.id DESC LIMIT 1",
			BINDS(B_INT(account_id), B_TEXT(folder))) && query_row(&q)) {
		*known = true;
		*uidvalidity = (uint32_t)sqlite3_column_int64(q.s, 0);
	}
	if (query_end(&q) != MA_OK || !*known)
		return q.st;
	/* ORDER BY ... LIMIT 1, not max(): a rowid range then reads one row,
	 * not the folder. No row: no message under this UIDVALIDITY. */
	if (query_start(&q, "SELECT (SELECT m.id FROM message m WHERE m.id BETWEEN "
			IN_MAILBOX("b") " ORDER BY m.id DESC LIMIT 1) & 4294967295"
			" FROM mailbox b WHERE b.account_id = ?1"
			" AND b.folder = ?2 AND b.uidvalidity = ?3",
			BINDS(B_INT(account_id), B_TEXT(folder), B_INT(*uidvalidity))) &&
	    query_row(&q))
		*max_uid = (uint32_t)sqlite3_column_int64(q.s, 0);
	return query_end(&q);
}

ma_status ma_history_folder_last(struct ma_history *h, int64_t account_id,
				 const char *folder, struct ma_folder_prev *prev,
				 struct ma_error *err)
{
	struct query q = QUERY(h, "reading the last audit of a folder", err);

	memset(prev, 0, sizeof *prev);
	if (query_start(&q, "SELECT f.audit_id, f.uidvalidity, f.uidnext, f.messages,"
			" f.unseen, f.deleted, f.total_size, f.same_as, f.modseq FROM folder_state f"
			" JOIN audit a ON a.id = f.audit_id"
			" WHERE a.account_id = ?1 AND f.name = ?2"
			" AND a.finished IS NOT NULL"
			" ORDER BY a.id DESC LIMIT 1",
			BINDS(B_INT(account_id), B_TEXT(folder))) && query_row(&q)) {
		prev->known = true;
		prev->audit_id = sqlite3_column_int64(q.s, 0);
		prev->uidvalidity = (uint32_t)sqlite3_column_int64(q.s, 1);
		prev->uidnext = (uint32_t)sqlite3_column_int64(q.s, 2);
		prev->messages = (uint32_t)sqlite3_column_int64(q.s, 3);
		prev->unseen = (uint32_t)sqlite3_column_int64(q.s, 4);
		prev->deleted = (uint32_t)sqlite3_column_int64(q.s, 5);
		prev->total_size = (uint64_t)sqlite3_column_int64(q.s, 6);
		prev->same_as = sqlite3_column_int64(q.s, 7);
		/* Stored as SQLite's signed 64 bits: a modseq past 2^63 - 1
		 * (RFC 7162 allows them) reads back as the same bits. */
		prev->modseq = (uint64_t)sqlite3_column_int64(q.s, 8);
	}
	return query_end(&q);
}

ma_status ma_history_folder_known(struct ma_history *h, int64_t account_id,
				  const char *folder, uint32_t uidvalidity,
				  bool present_only, ma_known_cb cb, void *ctx,
				  struct ma_error *err)
{
	struct query q = QUERY(h, "listing a folder's known messages", err);

	query_start(&q, "SELECT m.id & 4294967295, m.size FROM mailbox b"
		    " JOIN message m ON m.id BETWEEN " IN_MAILBOX("b")
		    " WHERE b.account_id = ?1 AND b.folder = ?2 AND b.uidvalidity = ?3"
		    " AND (NOT ?4 OR m.gone_audit IS NULL) ORDER BY m.id",
		    BINDS(B_INT(account_id), B_TEXT(folder), B_INT(uidvalidity), B_INT(present_only)));
	while (query_row(&q))
		if (cb((uint32_t)sqlite3_column_int64(q.s, 0), (uint32_t)sqlite3_column_int64(q.s, 1),
		       ctx) != 0)
			break;
	return query_end(&q);
}

ma_status ma_history_folder_known_flags(struct ma_history *h, int64_t account_id,
					const char *folder, uint32_t uidvalidity,
					ma_known_flags_cb cb, void *ctx, struct ma_error *err)
{
	struct query q = QUERY(h, "listing a folder's known messages", err);

	query_start(&q, "SELECT m.id & 4294967295, m.size, m.flags FROM mailbox b"
		    " JOIN message m ON m.id BETWEEN " IN_MAILBOX("b")
		    " WHERE b.account_id = ?1 AND b.folder = ?2 AND b.uidvalidity = ?3"
		    " AND m.gone_audit IS NULL ORDER BY m.id",
		    BINDS(B_INT(account_id), B_TEXT(folder), B_INT(uidvalidity)));
	while (query_row(&q))
		if (cb((uint32_t)sqlite3_column_int64(q.s, 0), (uint32_t)sqlite3_column_int64(q.s, 1),
		       (unsigned)sqlite3_column_int64(q.s, 2), ctx) != 0)
			break;
	return query_end(&q);
}

ma_status ma_history_folder_count(struct ma_history *h, int64_t account_id,
				  const char *folder, uint32_t uidvalidity,
				  uint32_t *count, uint64_t *total_size,
				  struct ma_error *err)
{
	struct query q = QUERY(h, "counting a folder's known messages", err);

	*count = 0;
	*total_size = 0;
	if (query_start(&q, "SELECT count(*), total(m.size) FROM mailbox b"
			" JOIN message m ON m.id BETWEEN " IN_MAILBOX("b")
			" WHERE b.account_id = ?1 AND b.folder = ?2 AND b.uidvalidity = ?3"
			" AND m.gone_audit IS NULL",
			BINDS(B_INT(account_id), B_TEXT(folder), B_INT(uidvalidity))) &&
	    query_one(&q)) {
		*count = (uint32_t)sqlite3_column_int64(q.s, 0);
		*total_size = (uint64_t)sqlite3_column_double(q.s, 1);
	}
	return query_end(&q);
}

/* An earlier audit's UIDNEXT of a folder and when that audit started: a
 * message with a UID at or above it arrived in the folder after then. */
struct arrival_bound {
	uint32_t uidnext;
	int64_t after;
};

/* The latest start among v[0..n) (sorted by uidnext, after a running
 * maximum) of an audit whose UIDNEXT was at most uid; 0 if none. */
static int64_t arrived_after(const struct arrival_bound *v, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].uidnext <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? v[lo - 1].after : 0;
}

ma_status ma_history_folder_kept(struct ma_history *h, int64_t account_id,
				 const char *folder, uint32_t uidvalidity, int64_t audit_id,
				 uint32_t *count, int64_t *oldest, struct ma_error *err)
{
	struct query q = QUERY(h, "reading the messages a folder kept", err);
	struct arrival_bound *v = NULL;
	size_t n = 0, cap = 0;
	bool unknown = false;

	*count = 0;
	*oldest = 0;
	/* The folder's UIDNEXT at each earlier completed audit under this
	 * UIDVALIDITY: UIDs are given out on arrival, so they bound when a
	 * message came into the folder (a message moved into Trash keeps its
	 * INTERNALDATE but gets a new UID). One row per audit; read only for a
	 * Trash that lost messages. */
	if (query_start(&q, "SELECT f.uidnext, a.started FROM audit a"
			" JOIN folder_state f ON f.audit_id = a.id AND f.name = ?2"
			" WHERE a.account_id = ?1 AND a.id < ?4 AND a.finished IS NOT NULL"
			" AND f.uidvalidity = ?3 ORDER BY f.uidnext, a.started",
			BINDS(B_INT(account_id), B_TEXT(folder), B_INT(uidvalidity), B_INT(audit_id)))) {
		while (query_row(&q)) {
			if (n == cap) {
				size_t ncap = cap ? 2 * cap : 64;
				struct arrival_bound *nv = realloc(v, ncap * sizeof *nv);
				if (!nv) {
					q.st = ma_fail(err, MA_ERR_NOMEM, "%s", q.what);
					break;
				}
				v = nv;
				cap = ncap;
			}
			v[n].uidnext = (uint32_t)sqlite3_column_int64(q.s, 0);
			v[n].after = sqlite3_column_int64(q.s, 1);
			if (n && v[n].after < v[n - 1].after)
				v[n].after = v[n - 1].after;
			n++;
		}
	}
	ma_status st = query_end(&q);
	/* Each message kept: in the folder since its INTERNALDATE, or since the
	 * last audit that had not yet given out its UID, whichever is later. */
	if (st == MA_OK &&
	    query_start(&q, "SELECT m.id & 4294967295, m.internaldate FROM mailbox b"
			" JOIN message m ON m.id BETWEEN " IN_MAILBOX("b")
			" WHERE b.account_id = ?1 AND b.folder = ?2 AND b.uidvalidity = ?3"
			" AND m.gone_audit IS NULL AND m.first_audit < ?4",
			BINDS(B_INT(account_id), B_TEXT(folder), B_INT(uidvalidity), B_INT(audit_id)))) {
		while (query_row(&q)) {
			uint32_t uid = (uint32_t)sqlite3_column_int64(q.s, 0);
			int64_t since = sqlite3_column_int64(q.s, 1), after = arrived_after(v, n, uid);
			if (after > since)
				since = after;
			unknown |= since <= 0;
			if (!*count || since < *oldest)
				*oldest = since;
			(*count)++;
		}
		st = query_end(&q);
	}
	free(v);
	if (st != MA_OK || unknown)
		*oldest = 0;
	return st;
}

ma_status ma_history_pop3_prev(struct ma_history *h, int64_t account_id,
			       struct ma_pop3_prev *prev, struct ma_error *err)
{
	struct query q = QUERY(h, "reading the last POP3 view", err);

	memset(prev, 0, sizeof *prev);
	if (query_start(&q, "SELECT p.audit_id, p.stat_count, p.stat_size, p.uidl_complete"
			" FROM pop3_view p JOIN audit a ON a.id = p.audit_id"
			" WHERE a.account_id = ?1 AND a.finished IS NOT NULL"
			" ORDER BY a.id DESC LIMIT 1", BINDS(B_INT(account_id))) &&
	    query_row(&q)) {
		prev->known = true;
		prev->audit_id = sqlite3_column_int64(q.s, 0);
		prev->stat_count = (uint32_t)sqlite3_column_int64(q.s, 1);
		prev->stat_size = (uint64_t)sqlite3_column_int64(q.s, 2);
		prev->uidl_complete = sqlite3_column_int(q.s, 3) != 0;
	}
	return query_end(&q);
}

ma_status ma_history_pop3_sizes(struct ma_history *h, int64_t account_id,
				ma_pop3_size_cb cb, void *ctx, struct ma_error *err)
{
	struct query q = QUERY(h, "reading the recorded POP3 sizes", err);

	query_start(&q, "SELECT uidl, size FROM pop3_message WHERE account_id = ?1 AND gone_audit IS NULL",
		    BINDS(B_INT(account_id)));
	while (query_row(&q)) {
		const unsigned char *u = sqlite3_column_text(q.s, 0);
		if (cb(u ? (const char *)u : "", (uint32_t)sqlite3_column_int64(q.s, 1), ctx) != 0)
			break;
	}
	return query_end(&q);
}

ma_status ma_history_pop3_ordered(struct ma_history *h, int64_t account_id,
				  ma_pop3_order_cb cb, void *ctx, struct ma_error *err)
{
	struct query q = QUERY(h, "reading the recorded POP3 order", err);

	/* NULLs first: the caller stops at the first one. */
	query_start(&q, "SELECT uidl, size, coalesce(ord, -1) FROM pop3_message"
		    " WHERE account_id = ?1 AND gone_audit IS NULL ORDER BY ord, id",
		    BINDS(B_INT(account_id)));
	while (query_row(&q)) {
		const unsigned char *u = sqlite3_column_text(q.s, 0);
		if (cb(u ? (const char *)u : "", (uint32_t)sqlite3_column_int64(q.s, 1),
		       sqlite3_column_int64(q.s, 2), ctx) != 0)
			break;
	}
	return query_end(&q);
}

ma_status ma_history_pop3_size_sum(struct ma_history *h, int64_t account_id,
				   const char *const *uidls, size_t n, uint64_t *sum, size_t *found,
				   struct ma_error *err)
{
	struct query q = QUERY(h, "reading the recorded POP3 sizes", err);
	*sum = 0;
	*found = 0;
	for (size_t i = 0; i < n && q.st == MA_OK; i++) {
		if (query_start(&q, "SELECT size FROM pop3_message WHERE account_id = ?1"
				" AND uidl = ?2 AND gone_audit IS NULL",
				BINDS(B_INT(account_id), B_TEXT(uidls[i]))) && query_row(&q)) {
			*sum += (uint64_t)sqlite3_column_int64(q.s, 0);
			(*found)++;
		}
		query_end(&q);
	}
	return q.st;
}

void ma_history_shrink(struct ma_history *h)
{
	if (h && h->db)
		sqlite3_db_release_memory(h->db);
}

ma_status ma_history_pop3_ends(struct ma_history *h, int64_t account_id, char first[MA_UIDL_MAX + 1],
			       char last[MA_UIDL_MAX + 1], bool *known, struct ma_error *err)
{
	struct query q = QUERY(h, "reading the recorded POP3 order", err);

	*known = false;
	first[0] = last[0] = '\0';
	/* NULLs sort first: a first row without ord says the order is not
	 * known. Both through the index pop3_order. */
	if (query_start(&q, "SELECT"
			" (SELECT uidl FROM pop3_message WHERE account_id = ?1 AND gone_audit IS NULL"
			"  ORDER BY ord LIMIT 1),"
			" (SELECT ord IS NULL FROM pop3_message WHERE account_id = ?1 AND gone_audit IS NULL"
			"  ORDER BY ord LIMIT 1),"
			" (SELECT uidl FROM pop3_message WHERE account_id = ?1 AND gone_audit IS NULL"
			"  ORDER BY ord DESC LIMIT 1)", BINDS(B_INT(account_id))) &&
	    query_row(&q)) {
		const unsigned char *a = sqlite3_column_text(q.s, 0), *b = sqlite3_column_text(q.s, 2);
		if (a && b && sqlite3_column_int(q.s, 1) == 0) {
			snprintf(first, MA_UIDL_MAX + 1, "%s", (const char *)a);
			snprintf(last, MA_UIDL_MAX + 1, "%s", (const char *)b);
			*known = true;
		}
	}
	return query_end(&q);
}

ma_status ma_history_begin(struct ma_history *h, int64_t account_id, time_t now,
			   int64_t *audit_id, struct ma_error *err)
{
	struct query q = QUERY(h, "starting an audit", err);
	ma_status st;

	if (h->audit_id != 0)
		return ma_fail(err, MA_ERR_ARGUMENT, "an audit is already open in %s",
			       h->path);
	/* The last audit's checkpoint (see ma_history_open). PASSIVE: it
	 * never waits for readers; what it cannot copy now, a later one does. */
	sqlite3_wal_checkpoint_v2(h->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	/* IMMEDIATE: wait for another writer now, not fail halfway through. */
	if ((st = exec(h, "BEGIN IMMEDIATE", "starting an audit", err)) != MA_OK)
		return st;
	bool started = query_start(&q, "SELECT 1 FROM account WHERE id = ?1",
				   BINDS(B_INT(account_id)));
	bool known = started && query_row(&q);
	query_end(&q);
	if (started && !known)
		q.st = ma_fail(err, MA_ERR_ARGUMENT, "no account %lld in %s",
			       (long long)account_id, h->path);
	st = query_run(&q, "INSERT INTO audit(account_id, started, version) VALUES (?1, ?2, ?3)",
		       BINDS(B_INT(account_id), B_INT(now), B_TEXT(MA_VERSION)));
	if (st != MA_OK) {
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
		return st;
	}
	h->audit_id = sqlite3_last_insert_rowid(h->db);
	h->account_id = account_id;
	h->gone_done = false;
	h->marked_gone = false;
	*audit_id = h->audit_id;
	return MA_OK;
}

static bool plain_name(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return false;
	return true;
}

/* Writes the pages this audit changed so far into the WAL, as frames of
 * its still open transaction (a crash leaves them ignored, as before).
 * SQLite writes them anyway once its page cache is full, but from inside
 * the next statement: each page written then that existed before the
 * statement is first copied into the statement journal, and while a
 * folder's savepoint is open, one that existed before the folder into the
 * savepoint's part of it too. Written between statements, no page needs a
 * copy: 6,600 fewer temp-file page writes in a first audit of 100,000
 * messages. A failure leaves the pages in the cache for SQLite to write
 * later. */
static void flush_pages(struct ma_history *h)
{
	if (h->db && !sqlite3_get_autocommit(h->db))
		sqlite3_db_cacheflush(h->db);
}

ma_status ma_history_savepoint(struct ma_history *h, const char *name,
			       struct ma_error *err)
{
	char sql[80];
	ma_status st = need_audit(h, h->audit_id, err);
	if (st != MA_OK)
		return st;
	if (!plain_name(name) || strlen(name) > 32)
		return ma_fail(err, MA_ERR_ARGUMENT, "bad savepoint name");
	snprintf(sql, sizeof sql, "SAVEPOINT \"%s\"", name);
	flush_pages(h);
	return exec(h, sql, "recording a folder", err);
}

ma_status ma_history_release(struct ma_history *h, const char *name, bool keep,
			     struct ma_error *err)
{
	char sql[120];
	ma_status st = need_audit(h, h->audit_id, err);
	if (st != MA_OK)
		return st;
	if (!plain_name(name) || strlen(name) > 32)
		return ma_fail(err, MA_ERR_ARGUMENT, "bad savepoint name");
	if (keep)
		snprintf(sql, sizeof sql, "RELEASE \"%s\"", name);
	else
		snprintf(sql, sizeof sql, "ROLLBACK TO \"%s\"; RELEASE \"%s\"", name, name);
	return exec(h, sql, "recording a folder", err);
}

static ma_status put_folder(struct ma_history *h, int64_t audit_id, const struct ma_folder *f,
			    unsigned deleted_count, uint64_t total_size, int64_t same_as, bool delta,
			    struct ma_error *err)
{
	struct query q = QUERY(h, "recording a folder", err);
	ma_status st = need_audit(h, audit_id, err);

	if (st != MA_OK)
		return st;
	if (!f->name)
		return ma_fail(err, MA_ERR_ARGUMENT, "folder without a name");
	return query_run(&q, "INSERT OR REPLACE INTO folder_state(audit_id, name, uidvalidity,"
			 " uidnext, messages, unseen, deleted, total_size, same_as, special, modseq, delta)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
			 BINDS(B_INT(audit_id), B_TEXT(f->name), B_INT(f->uidvalidity),
			       B_INT(f->uidnext), B_INT(f->messages), B_INT(f->unseen),
			       B_INT(deleted_count), B_INT(total_size),
			       same_as > 0 ? B_INT(same_as) : B_NULL, B_INT(f->special),
			       f->modseq ? B_INT((int64_t)f->modseq) : B_NULL, B_INT(delta)));
}

ma_status ma_history_put_folder(struct ma_history *h, int64_t audit_id,
				const struct ma_folder *f, unsigned deleted_count,
				uint64_t total_size, struct ma_error *err)
{
	return put_folder(h, audit_id, f, deleted_count, total_size, 0, false, err);
}

ma_status ma_history_put_folder_delta(struct ma_history *h, int64_t audit_id,
				      const struct ma_folder *f, unsigned deleted_count,
				      uint64_t total_size, struct ma_error *err)
{
	return put_folder(h, audit_id, f, deleted_count, total_size, 0, true, err);
}

ma_status ma_history_put_folder_same(struct ma_history *h, int64_t audit_id,
				     const struct ma_folder *f, unsigned deleted_count,
				     uint64_t total_size, int64_t same_as, struct ma_error *err)
{
	if (same_as <= 0 || same_as >= audit_id)
		return ma_fail(err, MA_ERR_ARGUMENT, "no earlier audit to be the same as");
	return put_folder(h, audit_id, f, deleted_count, total_size, same_as, false, err);
}

/* Rows per INSERT of messages or UIDLs, largest first, a remainder going
 * down the sizes. One statement per row spends as much time starting and
 * ending the statement as inserting. A statement of several rows has SQLite
 * copy each page it changes that existed before it into its statement
 * journal (a temporary file), in case it fails half way: at 32 rows that
 * was 35,000 page copies (146 MB of writes) in a first audit of 100,000
 * messages, and about a sixth of the client's CPU. More rows per statement,
 * fewer copies; past about 256 rows a statement costs more again. */
static const size_t put_sizes[PUT_SIZES] = { 128, 16, 1 };
#define PUT_ROWS 128 /* put_sizes[0] */
#define PUT_COLS 9

/* Whether a statement of put_sizes[k] rows of cols parameters each fits
 * this SQLite's limit on parameters (999 before 3.32, 32766 since). */
static bool size_fits(const struct ma_history *h, int k, size_t cols)
{
	return put_sizes[k] * cols <= (size_t)sqlite3_limit(h->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
}

/* head, then n groups "(?b+1, ..., ?b+cols, ?b+cols)" (the last parameter,
 * the audit, fills both first_audit and last_audit), then tail. */
static char *rows_sql(const char *head, size_t cols, const char *tail, size_t n)
{
	size_t cap = strlen(head) + strlen(tail) + n * (cols + 1) * 8 + 1;
	char *sql = malloc(cap), *o = sql;
	if (!sql)
		return NULL;
	o += sprintf(o, "%s", head);
	for (size_t i = 0; i < n; i++) {
		*o++ = i ? ',' : ' ';
		*o++ = '(';
		for (size_t c = 1; c <= cols; c++)
			o += sprintf(o, "?%zu,", i * cols + c);
		o += sprintf(o, "?%zu)", i * cols + cols);
	}
	sprintf(o, "%s", tail);
	return sql;
}

/* INSERT of n message rows; a reappearing identity is present again, so
 * its gone mark goes. */
static char *put_sql(size_t n)
{
	return rows_sql("INSERT INTO message(id, size, internaldate, date, sender, subject,"
			" msgid_hash, flags, first_audit, last_audit) VALUES", PUT_COLS,
			" ON CONFLICT (id) DO UPDATE SET"
			" flags = excluded.flags, last_audit = excluded.last_audit,"
			" gone_audit = NULL, gone_to = NULL", n);
}

static int64_t message_key(int64_t mailbox, uint32_t uid)
{
	return mailbox * ((int64_t)1 << 32) + uid;
}

static void bind_message(sqlite3_stmt *s, int b, int64_t audit_id, int64_t mailbox,
			 const struct ma_message *m, const unsigned char *msgid_hash)
{
	sqlite3_bind_int64(s, b + 1, message_key(mailbox, m->uid));
	sqlite3_bind_int64(s, b + 2, m->size);
	sqlite3_bind_int64(s, b + 3, m->internaldate);
	sqlite3_bind_text(s, b + 4, m->date, -1, SQLITE_STATIC);
	/* Raw From and Subject (see struct ma_message): ma_history_gone
	 * decodes them. Rows from before hold them decoded, which decoding
	 * again leaves as they are. */
	sqlite3_bind_text(s, b + 5, m->from, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, b + 6, m->subject, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, b + 7, msgid_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, b + 8, m->flags);
	sqlite3_bind_int64(s, b + 9, audit_id);
}

/* The open audit's account's mailbox (folder, uidvalidity): its id in *id,
 * created if create, else 0 when it has no messages recorded. Looked up per
 * call rather than remembered: a rolled-back savepoint may have removed it. */
static ma_status find_mailbox(struct ma_history *h, const char *folder, uint32_t uidvalidity,
			      bool create, int64_t *id, struct ma_error *err)
{
	*id = 0;
	if (cached(h, &h->find_mailbox,
		   "SELECT id FROM mailbox WHERE account_id = ?1 AND folder = ?2"
		   " AND uidvalidity = ?3") != SQLITE_OK)
		return db_fail(h, err, "looking up a folder");
	sqlite3_stmt *s = h->find_mailbox;
	sqlite3_bind_int64(s, 1, h->account_id);
	sqlite3_bind_text(s, 2, folder, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, uidvalidity);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(h, err, "looking up a folder");
	if (*id != 0 || !create)
		return MA_OK;
	if (cached(h, &h->add_mailbox,
		   "INSERT INTO mailbox(account_id, folder, uidvalidity) VALUES (?1, ?2, ?3)")
	    != SQLITE_OK)
		return db_fail(h, err, "recording a folder");
	s = h->add_mailbox;
	sqlite3_bind_int64(s, 1, h->account_id);
	sqlite3_bind_text(s, 2, folder, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, uidvalidity);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_fail(h, err, "recording a folder");
	*id = sqlite3_last_insert_rowid(h->db);
	/* Beyond this, id * 2^32 + uid would overflow the 64-bit key. */
	if (*id >= (int64_t)1 << 31)
		return ma_fail(err, MA_ERR_STATE_CORRUPT, "%s: too many folders recorded", h->path);
	return MA_OK;
}

/* One prepared INSERT of `rows` rows, kept in *st. */
static ma_status put_rows(struct ma_history *h, sqlite3_stmt **st, size_t rows, int64_t audit_id,
			  int64_t mailbox, const struct ma_message *m,
			  const unsigned char *const *hashes, struct ma_error *err)
{
	if (!*st) {
		char *sql = put_sql(rows);
		if (!sql)
			return ma_fail(err, MA_ERR_NOMEM, NULL);
		int rc = sqlite3_prepare_v2(h->db, sql, -1, st, NULL);
		free(sql);
		if (rc != SQLITE_OK)
			return db_fail(h, err, "recording a message");
	} else {
		sqlite3_reset(*st);
	}
	for (size_t i = 0; i < rows; i++)
		bind_message(*st, (int)(i * PUT_COLS), audit_id, mailbox, &m[i],
			     hashes ? hashes[i] : NULL);
	ma_status res = MA_OK;
	if (sqlite3_step(*st) != SQLITE_DONE)
		res = db_fail(h, err, "recording a message");
	sqlite3_reset(*st);
	return res;
}

ma_status ma_history_put_messages(struct ma_history *h, int64_t audit_id,
				  const char *folder, uint32_t uidvalidity,
				  const struct ma_message *msgs, size_t n,
				  const unsigned char *const *hashes,
				  struct ma_error *err)
{
	int64_t mailbox = 0;
	ma_status st = need_audit(h, audit_id, err);
	if (st == MA_OK && n > 0)
		st = find_mailbox(h, folder, uidvalidity, true, &mailbox, err);
	size_t i = 0;
	for (int k = 0; k < PUT_SIZES; k++) {
		if (!size_fits(h, k, PUT_COLS))
			continue;
		for (; st == MA_OK && i + put_sizes[k] <= n; i += put_sizes[k])
			st = put_rows(h, &h->put_msgs[k], put_sizes[k], audit_id, mailbox, msgs + i,
				      hashes ? hashes + i : NULL, err);
	}
	flush_pages(h);
	return st;
}

ma_status ma_history_put_message(struct ma_history *h, int64_t audit_id,
				 const char *folder, uint32_t uidvalidity,
				 const struct ma_message *m,
				 const unsigned char *msgid_hash,
				 struct ma_error *err)
{
	return ma_history_put_messages(h, audit_id, folder, uidvalidity, m, 1, &msgid_hash, err);
}

ma_status ma_history_mark_present(struct ma_history *h, int64_t audit_id,
				  const char *folder, uint32_t uidvalidity,
				  const uint32_t *uids, size_t n,
				  struct ma_error *err)
{
	int64_t mailbox = 0;
	ma_status st = need_audit(h, audit_id, err);
	if (st == MA_OK && n > 0)
		st = find_mailbox(h, folder, uidvalidity, false, &mailbox, err);
	if (st != MA_OK || mailbox == 0)   /* 0: none of these UIDs is known */
		return st;
	size_t i = 0;
	while (i < n) {
		/* Expunges are rare, so UIDs come in long consecutive runs. */
		size_t j = i;
		while (j + 1 < n && uids[j] != UINT32_MAX && uids[j + 1] == uids[j] + 1)
			j++;
		if (cached(h, &h->mark_run,
			   "UPDATE message SET last_audit = ?1, gone_audit = NULL,"
			   " gone_to = NULL WHERE id BETWEEN ?2 AND ?3") != SQLITE_OK)
			return db_fail(h, err, "marking messages present");
		sqlite3_stmt *s = h->mark_run;
		sqlite3_bind_int64(s, 1, audit_id);
		sqlite3_bind_int64(s, 2, message_key(mailbox, uids[i]));
		sqlite3_bind_int64(s, 3, message_key(mailbox, uids[j]));
		int rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return db_fail(h, err, "marking messages present");
		i = j + 1;
	}
	return MA_OK;
}

ma_status ma_history_mark_gone(struct ma_history *h, int64_t audit_id, const char *folder,
			       uint32_t uidvalidity, const uint32_t *uids, size_t n,
			       struct ma_error *err)
{
	struct query q = QUERY(h, "marking messages gone", err);
	int64_t mailbox = 0;
	ma_status st = need_audit(h, audit_id, err);
	if (st == MA_OK && n > 0)
		st = find_mailbox(h, folder, uidvalidity, false, &mailbox, err);
	if (st != MA_OK || mailbox == 0)
		return st;
	for (size_t i = 0; i < n && st == MA_OK; i++) {
		st = query_run(&q, "UPDATE message SET gone_audit = ?1, gone_to = NULL, renumbered = 0"
			       " WHERE id = ?2 AND gone_audit IS NULL",
			       BINDS(B_INT(audit_id), B_INT(message_key(mailbox, uids[i]))));
		if (st == MA_OK && sqlite3_changes(h->db) > 0)
			h->marked_gone = true;
	}
	return st;
}

/* CAPA lines joined by newlines; NULL when out of memory. */
static char *join_capa(const struct ma_pop3_view *v)
{
	size_t len = 1;
	for (size_t i = 0; i < v->ncapa; i++)
		len += strlen(v->capa[i]) + 1;
	char *s = malloc(len), *p = s;
	if (!s)
		return NULL;
	for (size_t i = 0; i < v->ncapa; i++) {
		size_t l = strlen(v->capa[i]);
		memcpy(p, v->capa[i], l);
		p += l;
		if (i + 1 < v->ncapa)
			*p++ = '\n';
	}
	*p = '\0';
	return s;
}

/* The pop3_view row of this audit; same_as 0: its own UIDL rows (all of
 * them rewritten, or with delta only the new ones). */
static ma_status put_pop3_view(struct ma_history *h, int64_t audit_id,
			       const struct ma_pop3_view *v, bool complete, int64_t same_as,
			       bool delta, struct ma_error *err)
{
	struct query q = QUERY(h, "recording the POP3 view", err);
	char *capa = join_capa(v);

	if (!capa)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	ma_status st = query_run(&q, "INSERT OR REPLACE INTO pop3_view(audit_id, stat_count,"
				 " stat_size, capa, uidl_complete, same_as, delta)"
				 " VALUES (?1, ?2, ?3, ?4, ?5, nullif(?6, 0), ?7)",
				 BINDS(B_INT(audit_id), B_INT(v->stat_count), B_INT(v->stat_size),
				       B_TEXT(capa), B_INT(complete), B_INT(same_as), B_INT(delta)));
	free(capa);
	return st;
}

/* UIDL rows: 5 parameters each (account, uidl, size, ord, audit: rows_sql
 * repeats the last for first_audit and last_audit). */
#define UIDL_COLS 5

/* Each row's ord is base + its message number (see migration 8). */
static ma_status put_uidls(struct ma_history *h, sqlite3_stmt **st, int64_t audit_id,
			   const struct ma_pop3_entry *const *e, size_t rows, int64_t base,
			   struct ma_error *err)
{
	if (!*st) {
		char *sql = rows_sql("INSERT INTO pop3_message(account_id, uidl, size,"
				     " ord, first_audit, last_audit) VALUES", UIDL_COLS,
				     " ON CONFLICT (account_id, uidl) DO UPDATE SET"
				     " last_audit = excluded.last_audit, gone_audit = NULL,"
				     " ord = excluded.ord", rows);
		if (!sql)
			return ma_fail(err, MA_ERR_NOMEM, NULL);
		int rc = sqlite3_prepare_v2(h->db, sql, -1, st, NULL);
		free(sql);
		if (rc != SQLITE_OK)
			return db_fail(h, err, "recording a POP3 message");
	}
	for (size_t i = 0; i < rows; i++) {
		int b = (int)(i * UIDL_COLS);
		sqlite3_bind_int64(*st, b + 1, h->account_id);
		sqlite3_bind_text(*st, b + 2, e[i]->uidl, -1, SQLITE_STATIC);
		sqlite3_bind_int64(*st, b + 3, e[i]->size);
		sqlite3_bind_int64(*st, b + 4, base + e[i]->number);
		sqlite3_bind_int64(*st, b + 5, audit_id);
	}
	ma_status res = MA_OK;
	if (sqlite3_step(*st) != SQLITE_DONE)
		res = db_fail(h, err, "recording a POP3 message");
	sqlite3_reset(*st);
	return res;
}

/* n (at most PUT_ROWS) UIDL rows, in statements of put_sizes. */
static ma_status put_uidl_batch(struct ma_history *h, int64_t audit_id,
				const struct ma_pop3_entry *const *e, size_t n, int64_t base,
				struct ma_error *err)
{
	ma_status st = MA_OK;
	size_t i = 0;
	for (int k = 0; k < PUT_SIZES; k++) {
		if (!size_fits(h, k, UIDL_COLS))
			continue;
		for (; st == MA_OK && i + put_sizes[k] <= n; i += put_sizes[k])
			st = put_uidls(h, &h->put_uidls[k], audit_id, e + i, put_sizes[k], base, err);
	}
	/* As often as a batch of messages (ma_history_put_messages). */
	if ((h->uidl_batches = (h->uidl_batches + 1) % 8) == 0)
		flush_pages(h);
	return st;
}

/* Takes back what a delta view of this audit marked gone, if one was
 * written: the view is being written anew. Nothing else marks a POP3
 * message gone before ma_history_detect_gone. */
static ma_status undo_pop3_delta(struct ma_history *h, int64_t audit_id, struct ma_error *err)
{
	struct query q = QUERY(h, "recording the POP3 view", err);
	bool was = query_start(&q, "SELECT 1 FROM pop3_view WHERE audit_id = ?1 AND delta",
			       BINDS(B_INT(audit_id))) && query_row(&q);
	ma_status st = query_end(&q);
	if (st == MA_OK && was)
		st = query_run(&q, "UPDATE pop3_message SET gone_audit = NULL"
			       " WHERE account_id = ?1 AND gone_audit = ?2",
			       BINDS(B_INT(h->account_id), B_INT(audit_id)));
	return st;
}

ma_status ma_history_put_pop3_start(struct ma_history *h, int64_t audit_id,
				    const struct ma_pop3_view *v, struct ma_error *err)
{
	ma_status st = need_audit(h, audit_id, err);

	if (st != MA_OK)
		return st;
	/* Without every UIDL, absence from the list proves nothing. */
	bool complete = v->nentries == v->stat_count;
	for (size_t i = 0; i < v->nentries; i++)
		if (v->entries[i].uidl[0] == '\0')
			complete = false;
	if ((st = undo_pop3_delta(h, audit_id, err)) != MA_OK)
		return st;
	return put_pop3_view(h, audit_id, v, complete, 0, false, err);
}

ma_status ma_history_put_pop3_rows(struct ma_history *h, int64_t audit_id,
				   const struct ma_pop3_view *v, size_t from, size_t to,
				   struct ma_error *err)
{
	ma_status st = need_audit(h, audit_id, err);
	const struct ma_pop3_entry *batch[PUT_ROWS];
	size_t n = 0;
	if (to > v->nentries)
		to = v->nentries;
	for (size_t i = from; st == MA_OK && i < to; i++) {
		if (v->entries[i].uidl[0] == '\0')
			continue;
		batch[n++] = &v->entries[i];
		if (n == PUT_ROWS) {
			st = put_uidl_batch(h, audit_id, batch, n, 0, err);
			n = 0;
		}
	}
	if (st == MA_OK)
		st = put_uidl_batch(h, audit_id, batch, n, 0, err);
	return st;
}

ma_status ma_history_put_pop3(struct ma_history *h, int64_t audit_id,
			      const struct ma_pop3_view *v, struct ma_error *err)
{
	ma_status st = ma_history_put_pop3_start(h, audit_id, v, err);
	if (st == MA_OK)
		st = ma_history_put_pop3_rows(h, audit_id, v, 0, v->nentries, err);
	return st;
}

ma_status ma_history_put_pop3_same(struct ma_history *h, int64_t audit_id,
				   const struct ma_pop3_view *v, int64_t prev_audit,
				   struct ma_error *err)
{
	struct query q = QUERY(h, "recording the POP3 view", err);
	ma_status st = need_audit(h, audit_id, err);

	if (st != MA_OK)
		return st;
	if (prev_audit <= 0 || prev_audit >= audit_id)
		return ma_fail(err, MA_ERR_ARGUMENT, "no earlier POP3 view to carry over");
	/* The UIDLs prev_audit saw are the rows of the audit that listed
	 * them: prev_audit itself, or the one it was the same as. Their
	 * last_audit stays there (a complete view marked the others gone). */
	int64_t listed = 0;
	if (query_start(&q, "SELECT coalesce(same_as, audit_id) FROM pop3_view"
			" WHERE audit_id = ?1 AND uidl_complete", BINDS(B_INT(prev_audit))) &&
	    query_row(&q))
		listed = sqlite3_column_int64(q.s, 0);
	if ((st = query_end(&q)) != MA_OK)
		return st;
	if (!listed)
		return ma_fail(err, MA_ERR_ARGUMENT, "no complete POP3 view in audit %lld to carry over",
			       (long long)prev_audit);
	return put_pop3_view(h, audit_id, v, true, listed, false, err);
}

/* By UIDL, for bsearch. */
static int cmp_entry(const void *a, const void *b)
{
	const struct ma_pop3_entry *const *x = a, *const *y = b;
	return strcmp((*x)->uidl, (*y)->uidl);
}

/* Whether v lists every message with a UIDL: only then does absence from
 * it prove a message gone. */
static bool view_complete(const struct ma_pop3_view *v)
{
	size_t listed = v->nentries + (v->probed.valid ? v->probed.kept : 0);
	if (listed != v->stat_count)
		return false;
	for (size_t i = 0; i < v->nentries; i++)
		if (v->entries[i].uidl[0] == '\0')
			return false;
	return true;
}

/* Past the ord of every row present (the only ones read in order; a gone
 * one that returns is given a new ord): a lookup in pop3_order, where all
 * rows took a scan, 0.1 s at a million. */
static ma_status max_present_ord(struct ma_history *h, int64_t *base, struct ma_error *err)
{
	struct query q = QUERY(h, "recording the POP3 view", err);
	*base = 0;
	if (query_start(&q, "SELECT coalesce(max(ord), 0) FROM pop3_message"
			" WHERE account_id = ?1 AND gone_audit IS NULL",
			BINDS(B_INT(h->account_id))) && query_row(&q))
		*base = sqlite3_column_int64(q.s, 0);
	return query_end(&q);
}

/* The ord of the rows a delta leaves: new UIDLs get *base + their number,
 * *base from max_present_ord, so they sort after the ones on record. That
 * is the server's order only if the known ones' ords ascend in message
 * number order and every new UIDL comes after them (as new mail does);
 * otherwise (a NULL ord of an older mailaudit, a UIDL seen again in
 * the middle, a server that reorders) every UIDL listed is renumbered,
 * base + number, a full rewrite of ord that is rare. row_ord: by entry,
 * NOT_ON_RECORD for a new one, -1 for a NULL ord; a row on record is found
 * again by its UIDL (unique in the account), which at a million messages
 * saves an array of row ids 8 MB long. */
#define NOT_ON_RECORD INT64_MIN

static ma_status renumber_pop3(struct ma_history *h, const struct ma_pop3_view *v,
			       const int64_t *row_ord, int64_t *base,
			       struct ma_error *err)
{
	struct query q = QUERY(h, "recording the POP3 view", err);
	ma_status st = max_present_ord(h, base, err);
	if (st != MA_OK)
		return st;
	bool ascending = true;
	int64_t last = -1;
	for (size_t i = 0; i < v->nentries && ascending; i++) {
		int64_t o = row_ord[i] != NOT_ON_RECORD ? row_ord[i] : *base + v->entries[i].number;
		ascending = o > last;
		last = o;
	}
	for (size_t i = 0; i < v->nentries && !ascending && st == MA_OK; i++)
		if (row_ord[i] != NOT_ON_RECORD)
			st = query_run(&q, "UPDATE pop3_message SET ord = ?1 WHERE account_id = ?2 AND uidl = ?3",
				       BINDS(B_INT(*base + v->entries[i].number), B_INT(h->account_id),
					     B_TEXT(v->entries[i].uidl)));
	return st;
}

/* A delta the POP3 probe proved (ma_pop3_view.probed): the UIDLs still
 * listed are those on record, in the same order, so nothing is compared
 * or renumbered; the gone ones are marked and the new ones (v's entries)
 * written after every ord on record. At 80,000 UIDLs this skips reading
 * and sorting them all again (about 0.05 s, after the network). prev is
 * the last view on record, which the probe read: the rows present are
 * its UIDLs (what every write of a complete view leaves), so the probe's
 * kept and gone must add up to its count, and each gone one must be
 * present; where not, the marks are taken back: *fits false. (Counting
 * the present rows instead took 0.05 s at a million.) */
static ma_status put_probed_delta(struct ma_history *h, int64_t audit_id,
				  const struct ma_pop3_view *v, const struct ma_pop3_prev *prev,
				  bool *fits, struct ma_error *err)
{
	struct query q = QUERY(h, "recording the POP3 view", err);
	ma_status st = MA_OK;
	*fits = false;
	if (v->probed.kept + v->probed.ngone != prev->stat_count)
		return st;
	size_t marked = 0;
	for (size_t i = 0; i < v->probed.ngone && st == MA_OK; i++) {
		st = query_run(&q, "UPDATE pop3_message SET gone_audit = ?1"
			       " WHERE account_id = ?2 AND uidl = ?3 AND gone_audit IS NULL",
			       BINDS(B_INT(audit_id), B_INT(h->account_id), B_TEXT(v->probed.gone[i])));
		marked += st == MA_OK ? (size_t)sqlite3_changes(h->db) : 0;
	}
	if (st == MA_OK && marked != v->probed.ngone)
		return query_run(&q, "UPDATE pop3_message SET gone_audit = NULL"
				 " WHERE account_id = ?1 AND gone_audit = ?2",
				 BINDS(B_INT(h->account_id), B_INT(audit_id)));
	int64_t base = 0;
	if (st == MA_OK)
		st = max_present_ord(h, &base, err);
	if (st == MA_OK)
		st = put_pop3_view(h, audit_id, v, true, 0, true, err);
	const struct ma_pop3_entry *batch[PUT_ROWS];
	size_t n = 0;
	for (size_t i = 0; st == MA_OK && i < v->nentries; i++) {
		batch[n++] = &v->entries[i];
		if (n == PUT_ROWS) {
			st = put_uidl_batch(h, audit_id, batch, n, base, err);
			n = 0;
		}
	}
	if (st == MA_OK)
		st = put_uidl_batch(h, audit_id, batch, n, base, err);
	*fits = st == MA_OK;
	return st;
}

ma_status ma_history_put_pop3_delta(struct ma_history *h, int64_t audit_id,
				    const struct ma_pop3_view *v, int64_t prev_audit,
				    struct ma_error *err)
{
	struct query q = QUERY(h, "recording the POP3 view", err);
	ma_status st = need_audit(h, audit_id, err);

	if (st != MA_OK)
		return st;
	/* Only against the last completed view, and a complete one: the UIDLs
	 * present on record are then exactly the ones it saw. Anything else
	 * (another mailaudit recorded an audit since, a view with a UIDL
	 * missing) is written in full. Again undone first: a second call for
	 * the same audit (after a rollback, a recount) starts over. */
	struct ma_pop3_prev now;
	if ((st = undo_pop3_delta(h, audit_id, err)) != MA_OK ||
	    (st = ma_history_pop3_prev(h, h->account_id, &now, err)) != MA_OK)
		return st;
	if (!view_complete(v) || prev_audit <= 0 || !now.known || now.audit_id != prev_audit ||
	    !now.uidl_complete)
		return ma_history_put_pop3(h, audit_id, v, err);
	if (v->probed.valid) {
		/* Not what the probe read (another mailaudit wrote meanwhile):
		 * without the kept UIDLs in hand, the view is recorded as not
		 * complete (proving nothing gone), and the next audit lists. */
		bool fits;
		if ((st = put_probed_delta(h, audit_id, v, &now, &fits, err)) != MA_OK || fits)
			return st;
		return ma_history_put_pop3(h, audit_id, v, err);
	}
	size_t slots = v->nentries ? v->nentries : 1;
	const struct ma_pop3_entry **by_uidl = malloc(slots * sizeof *by_uidl);
	bool *known = calloc(slots, sizeof *known);
	/* By message number: the ord of each UIDL on record. */
	int64_t *row_ord = malloc(slots * sizeof *row_ord);
	int64_t *gone = NULL;
	size_t ngone = 0, capgone = 0;
	if (!by_uidl || !known || !row_ord) {
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
		goto cleanup;
	}
	for (size_t i = 0; i < v->nentries; i++)
		by_uidl[i] = &v->entries[i];
	qsort(by_uidl, v->nentries, sizeof *by_uidl, cmp_entry);
	/* Only now: glibc's qsort takes a copy of the array for its merge. */
	for (size_t i = 0; i < v->nentries; i++)
		row_ord[i] = NOT_ON_RECORD;
	/* Present on record and listed now: left alone. Present and not
	 * listed: gone in this audit, as a full listing would find it. */
	query_start(&q, "SELECT id, uidl, coalesce(ord, -1) FROM pop3_message"
		    " WHERE account_id = ?1 AND gone_audit IS NULL", BINDS(B_INT(h->account_id)));
	while (query_row(&q)) {
		const unsigned char *u = sqlite3_column_text(q.s, 1);
		struct ma_pop3_entry key = { .uidl = u ? (const char *)u : "" };
		const struct ma_pop3_entry *kp = &key;
		const struct ma_pop3_entry **hit = bsearch(&kp, by_uidl, v->nentries, sizeof *by_uidl,
							   cmp_entry);
		if (hit) {
			known[hit - by_uidl] = true;
			size_t at = (size_t)(*hit - v->entries);
			row_ord[at] = sqlite3_column_int64(q.s, 2);
			continue;
		}
		if (ngone == capgone) {
			size_t cap = capgone ? capgone * 2 : 64;
			int64_t *n = realloc(gone, cap * sizeof *n);
			if (!n) {
				query_end(&q);
				st = ma_fail(err, MA_ERR_NOMEM, NULL);
				goto cleanup;
			}
			gone = n;
			capgone = cap;
		}
		gone[ngone++] = sqlite3_column_int64(q.s, 0);
	}
	if ((st = query_end(&q)) != MA_OK)
		goto cleanup;
	for (size_t i = 0; i < ngone && st == MA_OK; i++)
		st = query_run(&q, "UPDATE pop3_message SET gone_audit = ?1 WHERE id = ?2",
			       BINDS(B_INT(audit_id), B_INT(gone[i])));
	int64_t base = 0;
	if (st == MA_OK)
		st = renumber_pop3(h, v, row_ord, &base, err);
	if (st == MA_OK)
		st = put_pop3_view(h, audit_id, v, true, 0, true, err);
	/* The new ones, as the full listing writes them (a UIDL listed twice
	 * by the server is written once either way: the upsert). */
	const struct ma_pop3_entry *batch[PUT_ROWS];
	size_t n = 0;
	for (size_t i = 0; st == MA_OK && i < v->nentries; i++) {
		if (known[i] || (i > 0 && strcmp(by_uidl[i]->uidl, by_uidl[i - 1]->uidl) == 0))
			continue;
		batch[n++] = by_uidl[i];
		if (n == PUT_ROWS) {
			st = put_uidl_batch(h, audit_id, batch, n, base, err);
			n = 0;
		}
	}
	if (st == MA_OK)
		st = put_uidl_batch(h, audit_id, batch, n, base, err);
cleanup:
	free(row_ord);
	free(by_uidl);
	free(known);
	free(gone);
	return st;
}

/* Runs steps[] in order, binding ?1 the audit, ?2 its account and ?3 the
 * previous completed audit, to whichever each statement uses; q says what
 * is being done and keeps the first failure. */
static ma_status run_steps(struct query *q, const char *const *steps, size_t n,
			   int64_t audit_id, int64_t prev_id)
{
	const struct bind values[] = { B_INT(audit_id), B_INT(q->h->account_id), B_INT(prev_id) };
	for (size_t i = 0; i < n && query_start(q, steps[i], NULL, 0); i++) {
		int nparams = sqlite3_bind_parameter_count(q->s);
		bind_list(q->s, values, nparams < 3 ? (size_t)nparams : 3);
		if (query_row(q))
			q->st = db_fail(q->h, q->err, q->what); /* a row where none was expected */
		query_end(q);
	}
	return q->st;
}

/* Pairs gone messages with candidates by identity, the i-th of each
 * identity with the i-th, among those neither side has paired yet. The
 * identity must hold a header: two messages alike only in size (and
 * INTERNALDATE, which COPY keeps but so does a mass import) prove
 * nothing. Only identities found on both sides are numbered (a whole
 * identity is in or out, so the numbers stay the same): a big deletion
 * with few candidates then sorts next to nothing. */
#define SAME_IDENTITY(x, y)								\
	x ".size = " y ".size AND " x ".date IS " y ".date AND " x ".sender IS " y	\
	".sender AND " x ".subject IS " y ".subject"
#define PAIR_BY_IDENTITY(gone_where, cand_where, cand_order)				\
	"INSERT INTO temp.matched(gone_id, cand_id) SELECT g.id, c.id FROM"		\
	" (SELECT id, date, sender, subject, size, row_number() OVER"			\
	"   (PARTITION BY date, sender, subject, size ORDER BY id) AS n"		\
	"  FROM temp.gone_m g0 WHERE " gone_where					\
	"  AND coalesce(date, sender, subject) IS NOT NULL"				\
	"  AND id NOT IN (SELECT gone_id FROM temp.matched)"				\
	"  AND EXISTS (SELECT 1 FROM temp.cand c0 WHERE " SAME_IDENTITY("c0", "g0")	\
	"   AND " cand_where " AND c0.id NOT IN (SELECT cand_id FROM temp.matched))) g"	\
	" JOIN (SELECT id, date, sender, subject, size, row_number() OVER"		\
	"   (PARTITION BY date, sender, subject, size ORDER BY " cand_order "id) AS n"	\
	"  FROM temp.cand c0 WHERE " cand_where						\
	"  AND coalesce(date, sender, subject) IS NOT NULL"				\
	"  AND id NOT IN (SELECT cand_id FROM temp.matched)"				\
	"  AND EXISTS (SELECT 1 FROM temp.gone_m g0 WHERE " SAME_IDENTITY("g0", "c0")	\
	"   AND " gone_where " AND g0.id NOT IN (SELECT gone_id FROM temp.matched))) c"	\
	" ON " SAME_IDENTITY("c", "g") " AND c.n = g.n"

/* Where the messages this audit found gone went, one to one (see
 * ma_history_detect_gone in history.h). Called only when something
 * vanished.
 *
 * A candidate is a message first recorded by this audit: a move or copy
 * gives the message a new UID in its destination, so an older message
 * cannot be where a message went, however alike. They are the newest UIDs
 * of the folders this audit read: only UIDs from the previous audit's
 * UIDNEXT on (a UID below it was there then, and recorded) are scanned,
 * not the account. The gone messages and the candidates that could match
 * one go into temporary tables; window functions then number each side
 * within a Message-ID (then within an identity) and pair equal numbers,
 * so a present message explains at most one gone message. Hashes first:
 * a Message-ID is better evidence than headers alike. Then gone messages
 * without a hash, preferring candidates with one (those without can also
 * serve a gone message with a hash, in the last pass). */
static ma_status match_gone(struct ma_history *h, int64_t audit_id, int64_t prev_id,
			    struct ma_error *err)
{
	static const char *const steps[] = {
		"DELETE FROM temp.gone_m",
		"DELETE FROM temp.cand",
		"DELETE FROM temp.matched",
		"INSERT INTO temp.gone_m(id, hash, date, sender, subject, size, folder)"
		" SELECT m.id, m.msgid_hash, m.date, m.sender, m.subject, m.size, b.folder"
		" FROM message m JOIN mailbox b ON b.id = m.id >> 32 WHERE m.gone_audit = ?1",
		"INSERT INTO temp.cand(id, hash, date, sender, subject, size, folder)"
		" SELECT c.id, c.msgid_hash, c.date, c.sender, c.subject, c.size, b.folder"
		" FROM folder_state s"
		" JOIN mailbox b ON b.account_id = ?2 AND b.folder = s.name"
		"  AND b.uidvalidity = s.uidvalidity"
		" LEFT JOIN folder_state p ON p.audit_id = ?3 AND p.name = s.name"
		"  AND p.uidvalidity = s.uidvalidity"
		" JOIN message c ON c.id BETWEEN b.id * 4294967296"
		"  + CASE WHEN p.uidnext <= s.uidnext THEN p.uidnext ELSE 0 END"
		"  AND b.id * 4294967296 + 4294967295"
		" WHERE s.audit_id = ?1 AND s.same_as IS NULL AND c.first_audit = ?1"
		" AND (c.msgid_hash IN (SELECT hash FROM temp.gone_m)"
		"  OR EXISTS (SELECT 1 FROM temp.gone_m g WHERE g.size = c.size"
		"   AND g.date IS c.date AND g.sender IS c.sender AND g.subject IS c.subject"
		"   AND (g.hash IS NULL OR c.msgid_hash IS NULL)"
		"   AND coalesce(g.date, g.sender, g.subject) IS NOT NULL))",
		/* By Message-ID hash: the i-th gone with the i-th candidate. */
		"INSERT INTO temp.matched(gone_id, cand_id) SELECT g.id, c.id FROM"
		" (SELECT id, hash, row_number() OVER (PARTITION BY hash ORDER BY id) AS n"
		"  FROM temp.gone_m WHERE hash IN (SELECT hash FROM temp.cand)) g"
		" JOIN (SELECT id, hash, row_number() OVER (PARTITION BY hash ORDER BY id) AS n"
		"  FROM temp.cand WHERE hash IS NOT NULL) c ON c.hash = g.hash AND c.n = g.n",
		PAIR_BY_IDENTITY("g0.hash IS NULL", "1", "c0.hash IS NULL, "),
		PAIR_BY_IDENTITY("g0.hash IS NOT NULL", "c0.hash IS NULL", ""),
		"UPDATE message SET gone_to = t.folder, renumbered = t.folder = t.gone_folder"
		" FROM (SELECT x.gone_id, c.folder, g.folder AS gone_folder FROM temp.matched x"
		"  JOIN temp.cand c ON c.id = x.cand_id JOIN temp.gone_m g ON g.id = x.gone_id) t"
		" WHERE message.id = t.gone_id",
	};
	ma_status st = exec(h,
			    "CREATE TEMP TABLE IF NOT EXISTS gone_m(id INTEGER PRIMARY KEY, hash BLOB,"
			    " date TEXT, sender TEXT, subject TEXT, size INTEGER, folder TEXT);"
			    "CREATE INDEX IF NOT EXISTS temp.gone_m_hash ON gone_m(hash);"
			    "CREATE INDEX IF NOT EXISTS temp.gone_m_size ON gone_m(size);"
			    "CREATE TEMP TABLE IF NOT EXISTS cand(id INTEGER PRIMARY KEY, hash BLOB,"
			    " date TEXT, sender TEXT, subject TEXT, size INTEGER, folder TEXT);"
			    "CREATE INDEX IF NOT EXISTS temp.cand_hash ON cand(hash);"
			    "CREATE INDEX IF NOT EXISTS temp.cand_size ON cand(size);"
			    "CREATE TEMP TABLE IF NOT EXISTS matched(gone_id INTEGER PRIMARY KEY,"
			    " cand_id INTEGER NOT NULL UNIQUE);",
			    "finding where vanished messages went", err);
	if (st != MA_OK)
		return st;
	struct query q = QUERY(h, "finding where vanished messages went", err);
	return run_steps(&q, steps, sizeof steps / sizeof steps[0], audit_id, prev_id);
}

/* The folders with messages found gone by audit ?1, each with what LIST
 * said it is for when it was last recorded (the special-use bits of the
 * newest folder_state row up to that audit), and whether it was deleted
 * (not recorded by that audit, whose folder list was then complete: a
 * message of an unrecorded folder is marked gone only then). */
#define GONE_FOLDERS									\
	"SELECT g.folder AS folder, coalesce((SELECT s.special FROM folder_state s"	\
	"  JOIN audit sa ON sa.id = s.audit_id WHERE s.name = g.folder"		\
	"  AND s.audit_id <= ?1 AND sa.account_id = (SELECT account_id FROM audit"	\
	"  WHERE id = ?1) ORDER BY s.audit_id DESC LIMIT 1), 0) AS special,"		\
	" NOT EXISTS (SELECT 1 FROM folder_state s WHERE s.audit_id = ?1"		\
	"  AND s.name = g.folder) AS folder_gone"					\
	" FROM (SELECT DISTINCT b.folder AS folder FROM message m"			\
	"  JOIN mailbox b ON b.id = m.id >> 32 WHERE m.gone_audit = ?1) g"

/* When message m (in mailbox b, last written by audit a) was last seen:
 * by the audit that wrote its row, or a later one that found its folder
 * unchanged since. */
#define LAST_SEEN									\
	"coalesce((SELECT max(a2.started) FROM folder_state s"				\
	"  JOIN audit a2 ON a2.id = s.audit_id WHERE s.audit_id > m.last_audit"		\
	"  AND s.audit_id < coalesce(m.gone_audit, 9223372036854775807)"		\
	"  AND (s.same_as IS NOT NULL OR s.delta)"					\
	"  AND s.name = b.folder AND s.uidvalidity = b.uidvalidity"			\
	"  AND a2.finished IS NOT NULL), a.started)"

/* The ledger's named losses: every message this audit found gone and
 * matched nowhere, except in Drafts, copied as last seen. */
static ma_status record_destroyed(struct ma_history *h, int64_t audit_id,
				  struct ma_error *err)
{
	static const char *const steps[] = {
		"INSERT INTO loss(account_id, found_audit, kind, folder, role, count, size,"
		" internaldate, date, sender, subject, last_seen, folder_gone)"
		" SELECT ?2, ?1, 'message', f.folder, ma_role(f.folder, f.special), 1, m.size,"
		" m.internaldate, m.date, m.sender, m.subject, " LAST_SEEN ", f.folder_gone"
		" FROM message m JOIN mailbox b ON b.id = m.id >> 32"
		" JOIN audit a ON a.id = m.last_audit"
		" JOIN (" GONE_FOLDERS ") f ON f.folder = b.folder"
		" WHERE m.gone_audit = ?1 AND m.gone_to IS NULL"
		" AND ma_role(f.folder, f.special) <> 'drafts'"
		" ORDER BY b.folder, m.id",
	};
	struct query q = QUERY(h, "recording lost messages", err);
	return run_steps(&q, steps, 1, audit_id, 0);
}

/* One folder's numbers for the came-and-went count. */
struct unseen_row {
	int64_t mailbox;              /* 0: no message recorded in it */
	bool compared;                /* examined by the previous audit too */
	uint32_t uidnext_then, uidnext_now;
};

static ma_status count_keys(struct ma_history *h, sqlite3_stmt **st, const char *sql,
			    int64_t lo, int64_t hi, uint32_t *count, struct ma_error *err)
{
	if (cached(h, st, sql) != SQLITE_OK)
		return db_fail(h, err, "counting arrivals");
	sqlite3_bind_int64(*st, 1, lo);
	sqlite3_bind_int64(*st, 2, hi);
	if (sqlite3_step(*st) != SQLITE_ROW) {
		ma_status res = db_fail(h, err, "counting arrivals");
		sqlite3_reset(*st);
		return res;
	}
	*count = (uint32_t)sqlite3_column_int64(*st, 0);
	sqlite3_reset(*st);
	return MA_OK;
}

/* The folders of the came-and-went count: what loss.c reads (a) and what
 * the count needs besides (r), side by side. */
struct unseen {
	struct ma_arrivals *a;    /* a[i].folder owned */
	struct unseen_row *r;
	size_t n, cap;
	bool departures;          /* a compared folder had UIDs given out */
};

/* Room for one more folder in u. false: out of memory. */
static bool unseen_grow(struct unseen *u)
{
	if (u->n < u->cap)
		return true;
	size_t cap = u->cap ? u->cap * 2 : 16;
	struct ma_arrivals *na = realloc(u->a, cap * sizeof *na);
	if (na)
		u->a = na;
	struct unseen_row *nr = realloc(u->r, cap * sizeof *nr);
	if (nr)
		u->r = nr;
	if (!na || !nr)
		return false;
	u->cap = cap;
	return true;
}

/* The folders this audit read, with UIDNEXT now and, if the previous
 * audit read them under the same UIDVALIDITY, then. */
static ma_status unseen_read(struct ma_history *h, int64_t audit_id, int64_t prev_id,
			     struct unseen *u, struct ma_error *err)
{
	struct query q = QUERY(h, "counting arrivals", err);
	query_start(&q, "SELECT s.name, s.special, s.uidnext, s.messages, p.uidnext, b.id"
		    " FROM folder_state s"
		    " LEFT JOIN folder_state p ON p.audit_id = ?3 AND p.name = s.name"
		    "  AND p.uidvalidity = s.uidvalidity"
		    " LEFT JOIN mailbox b ON b.account_id = ?2 AND b.folder = s.name"
		    "  AND b.uidvalidity = s.uidvalidity"
		    " WHERE s.audit_id = ?1 AND s.same_as IS NULL ORDER BY s.name",
		    BINDS(B_INT(audit_id), B_INT(h->account_id), B_INT(prev_id)));
	while (query_row(&q)) {
		const char *name = text_or_null(q.s, 0);
		char *copy = NULL;
		if (!unseen_grow(u) || !(copy = strdup(name ? name : ""))) {
			q.st = ma_fail(err, MA_ERR_NOMEM, NULL);
			break;
		}
		struct ma_arrivals *a = &u->a[u->n];
		struct unseen_row *r = &u->r[u->n++];
		*a = (struct ma_arrivals){
			.folder = copy,
			.role = ma_folder_role(copy, (unsigned)sqlite3_column_int64(q.s, 1)),
		};
		*r = (struct unseen_row){
			.mailbox = sqlite3_column_int64(q.s, 5),
			.compared = sqlite3_column_type(q.s, 4) != SQLITE_NULL,
			.uidnext_now = (uint32_t)sqlite3_column_int64(q.s, 2),
		};
		if (r->compared) {
			r->uidnext_then = (uint32_t)sqlite3_column_int64(q.s, 4);
			if (r->uidnext_now > r->uidnext_then)
				a->allocated = r->uidnext_now - r->uidnext_then;
			if (a->allocated > 0 && a->role != MA_ROLE_DRAFTS)
				u->departures = true;
		} else {
			a->allocated = a->present = (uint32_t)sqlite3_column_int64(q.s, 3);
		}
	}
	return query_end(&q);
}

/* Of the UIDs given out in each folder, those present and those known
 * messages were matched to (matched: match_gone ran). */
static ma_status unseen_count(struct ma_history *h, struct unseen *u, bool matched,
			      struct ma_error *err)
{
	sqlite3_stmt *cnt = NULL, *moved = NULL;
	ma_status st = MA_OK;
	for (size_t i = 0; st == MA_OK && i < u->n; i++) {
		const struct unseen_row *r = &u->r[i];
		struct ma_arrivals *a = &u->a[i];
		if (r->mailbox == 0 || a->allocated == 0)
			continue;
		int64_t lo = message_key(r->mailbox, 0), hi = message_key(r->mailbox, UINT32_MAX);
		if (r->compared) {
			lo = message_key(r->mailbox, r->uidnext_then);
			hi = message_key(r->mailbox, r->uidnext_now - 1);
			st = count_keys(h, &cnt, "SELECT count(*) FROM message WHERE id BETWEEN ?1 AND ?2",
					lo, hi, &a->present, err);
		}
		if (st == MA_OK && matched)
			st = count_keys(h, &moved,
					"SELECT count(*) FROM temp.matched WHERE cand_id BETWEEN ?1 AND ?2",
					lo, hi, &a->moved_in, err);
	}
	sqlite3_finalize(cnt);
	sqlite3_finalize(moved);
	return st;
}

/* A ledger row for each folder where ma_loss_unseen counted deletions. */
static ma_status unseen_record(struct ma_history *h, int64_t audit_id, time_t prev_time,
			       const struct unseen *u, struct ma_error *err)
{
	sqlite3_stmt *ins = NULL;
	ma_status st = MA_OK;
	for (size_t i = 0; st == MA_OK && i < u->n; i++) {
		const struct ma_arrivals *a = &u->a[i];
		if (a->deleted == 0)
			continue;
		if (cached(h, &ins,
			   "INSERT INTO loss(account_id, found_audit, kind, folder, role, count,"
			   " since, uidnext_then, uidnext_now)"
			   " VALUES (?1, ?2, 'unseen', ?3, ?4, ?5, ?6, ?7, ?8)") != SQLITE_OK) {
			st = db_fail(h, err, "recording lost messages");
			break;
		}
		bind_list(ins, BINDS(B_INT(h->account_id), B_INT(audit_id), B_TEXT(a->folder),
				     B_TEXT(role_key(a->role)), B_INT(a->deleted), B_INT(prev_time),
				     B_INT(u->r[i].uidnext_then), B_INT(u->r[i].uidnext_now)));
		if (sqlite3_step(ins) != SQLITE_DONE)
			st = db_fail(h, err, "recording lost messages");
	}
	sqlite3_finalize(ins);
	return st;
}

/* The ledger's unseen losses: messages that arrived since the previous
 * audit and left before this one, less what moves can explain
 * (ma_loss_unseen). Per folder this audit read (a folder found unchanged
 * has nothing new):
 *  - read by the previous audit too, same UIDVALIDITY: the UIDs given out
 *    since are UIDNEXT now minus then; those still recorded (present now,
 *    or recorded by the previous audit and so named on their own if gone)
 *    are present; those a known message was matched to are moved_in;
 *  - new since, or renumbered: no departures to count, but its messages
 *    can be where another folder's went: all of them count as given out
 *    and present, less those matched to known messages.
 * matched: match_gone ran (temp.matched is this audit's). Only UID ranges
 * of new messages are counted, and nothing at all unless some folder
 * compared with the previous audit had UIDs given out. */
static ma_status record_unseen(struct ma_history *h, int64_t audit_id, int64_t prev_id,
			       time_t prev_time, bool matched, struct ma_error *err)
{
	struct unseen u = { 0 };
	ma_status st = unseen_read(h, audit_id, prev_id, &u, err);
	/* Nothing new in any folder to compare: nothing to count. */
	if (st == MA_OK && u.departures && (st = unseen_count(h, &u, matched, err)) == MA_OK) {
		ma_loss_unseen(u.a, u.n);
		st = unseen_record(h, audit_id, prev_time, &u, err);
	}
	for (size_t i = 0; i < u.n; i++)
		free((char *)u.a[i].folder);
	free(u.a);
	free(u.r);
	return st;
}

ma_status ma_history_detect_gone(struct ma_history *h, int64_t audit_id,
				 bool folder_list_complete, struct ma_error *err)
{
	struct query q = QUERY(h, "finding vanished messages", err);
	ma_status st = need_audit(h, audit_id, err);

	if (st != MA_OK)
		return st;
	if (h->gone_done)
		return ma_fail(err, MA_ERR_ARGUMENT, "gone messages already detected");
	/* Before the account's first completed audit nothing can vanish and
	 * nothing is on record to compare: skip every scan (a first audit of
	 * a big mailbox waits for them), and record no loss. */
	int64_t prev_id;
	time_t prev_time;
	bool found;
	if ((st = ma_history_prev_audit(h, h->account_id, audit_id, &prev_id, &prev_time, &found,
					err)) != MA_OK)
		return st;
	bool listed = false;
	if (found) {
		st = query_run(&q, "UPDATE message SET gone_audit = ?1, gone_to = NULL, renumbered = 0"
			       " FROM mailbox b"
			       " WHERE b.account_id = ?2 AND message.id BETWEEN " IN_MAILBOX("b")
			       " AND message.gone_audit IS NULL AND message.last_audit < ?1"
			       " AND (?3 OR b.folder IN (SELECT name FROM folder_state"
			       "  WHERE audit_id = ?1))"
			       " AND (b.folder, b.uidvalidity) NOT IN (SELECT name, uidvalidity"
			       "  FROM folder_state WHERE audit_id = ?1 AND (same_as IS NOT NULL OR delta))",
			       BINDS(B_INT(audit_id), B_INT(h->account_id), B_INT(folder_list_complete)));
		if (st != MA_OK)
			return st;
		/* Matching scans only this audit's new UIDs, and only when
		 * something vanished: an unchanged repeat pays nothing. */
		bool vanished = sqlite3_changes(h->db) > 0 || h->marked_gone;
		if (vanished && ((st = match_gone(h, audit_id, prev_id, err)) != MA_OK ||
				 (st = record_destroyed(h, audit_id, err)) != MA_OK))
			return st;
		if ((st = record_unseen(h, audit_id, prev_id, prev_time, vanished, err)) != MA_OK)
			return st;
		/* Only a complete listing of its own tells what is gone: a view
		 * the same as an earlier one lost nothing. */
		listed = query_start(&q, "SELECT 1 FROM pop3_view WHERE audit_id = ?1 AND uidl_complete"
				     " AND same_as IS NULL AND NOT delta", BINDS(B_INT(audit_id))) && query_row(&q);
		query_end(&q);
	}
	if (listed)
		query_run(&q, "UPDATE pop3_message SET gone_audit = ?1"
			  " WHERE account_id = ?2 AND gone_audit IS NULL AND last_audit < ?1",
			  BINDS(B_INT(audit_id), B_INT(h->account_id)));
	if ((st = query_run(&q, "UPDATE audit SET folder_list_complete = ?2 WHERE id = ?1",
			    BINDS(B_INT(audit_id), B_INT(folder_list_complete)))) != MA_OK)
		return st;
	h->gone_done = true;
	return MA_OK;
}

ma_status ma_history_commit(struct ma_history *h, int64_t audit_id, time_t now,
			    const char *outcome, struct ma_error *err)
{
	struct query q = QUERY(h, "finishing the audit", err);
	ma_status st = need_audit(h, audit_id, err);

	if (st != MA_OK)
		return st;
	if (h->gone_done || (st = ma_history_detect_gone(h, audit_id, false, err)) == MA_OK)
		st = query_run(&q, "UPDATE audit SET finished = ?2, outcome = ?3 WHERE id = ?1",
			       BINDS(B_INT(audit_id), B_INT(now),
				     B_TEXT(outcome ? outcome : "unknown")));
	if (st == MA_OK)
		st = exec(h, "COMMIT", "saving the audit", err);
	if (st != MA_OK)
		ma_history_rollback(h);
	h->audit_id = 0;
	return st;
}

void ma_history_rollback(struct ma_history *h)
{
	if (h->db && !sqlite3_get_autocommit(h->db)) {
		/* Statements still stepping would make ROLLBACK fail. */
		for (int k = 0; k < PUT_SIZES; k++) {
			if (h->put_msgs[k])
				sqlite3_reset(h->put_msgs[k]);
			if (h->put_uidls[k])
				sqlite3_reset(h->put_uidls[k]);
		}
		if (h->mark_run)
			sqlite3_reset(h->mark_run);
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	}
	h->audit_id = 0;
	h->gone_done = false;
	h->marked_gone = false;
}

/* ---- Reading ---------------------------------------------------------- */

/* A stored From or Subject as screen text: *out is NULL for NULL, else
 * decoded (ma_rfc2047_decode) and the caller's to free. -1 on ENOMEM. */
static int decoded_column(sqlite3_stmt *s, int col, char **out)
{
	const char *raw = text_or_null(s, col);
	*out = NULL;
	if (!raw)
		return 0;
	*out = ma_rfc2047_decode(raw, (size_t)sqlite3_column_bytes(s, col));
	return *out ? 0 : -1;
}

ma_status ma_history_gone(struct ma_history *h, int64_t audit_id, ma_gone_cb cb,
			  void *ctx, struct ma_error *err)
{
	struct query q = QUERY(h, "listing vanished messages", err);
	char *from = NULL, *subject = NULL;

	query_start(&q, "SELECT b.folder, b.uidvalidity, m.id & 4294967295, m.size, m.internaldate,"
		    " m.date, m.sender, m.subject, m.flags, m.msgid_hash, " LAST_SEEN ","
		    " m.gone_to, m.renumbered, f.folder_gone, f.special"
		    " FROM message m JOIN mailbox b ON b.id = m.id >> 32"
		    " JOIN audit a ON a.id = m.last_audit"
		    " JOIN (" GONE_FOLDERS ") f ON f.folder = b.folder"
		    " WHERE m.gone_audit = ?1"
		    " ORDER BY b.folder, b.uidvalidity, m.id", BINDS(B_INT(audit_id)));
	while (query_row(&q)) {
		sqlite3_stmt *s = q.s;
		/* Audits store From and Subject raw; decoding waits until here,
		 * for the few messages that are ever shown. */
		if (decoded_column(s, 6, &from) < 0 || decoded_column(s, 7, &subject) < 0) {
			q.st = ma_fail(err, MA_ERR_NOMEM, NULL);
			break;
		}
		struct ma_gone_msg g = {
			.folder = text_or_null(s, 0),
			.uidvalidity = (uint32_t)sqlite3_column_int64(s, 1),
			.uid = (uint32_t)sqlite3_column_int64(s, 2),
			.size = (uint32_t)sqlite3_column_int64(s, 3),
			.internaldate = sqlite3_column_int64(s, 4),
			.date = text_or_null(s, 5),
			.from = from,
			.subject = subject,
			.flags = (unsigned)sqlite3_column_int64(s, 8),
			.last_seen = (time_t)sqlite3_column_int64(s, 10),
			.gone_to = text_or_null(s, 11),
			.renumbered = sqlite3_column_int(s, 12) != 0,
			.folder_gone = sqlite3_column_int(s, 13) != 0,
		};
		g.role = ma_folder_role(g.folder ? g.folder : "", (unsigned)sqlite3_column_int64(s, 14));
		if (sqlite3_column_bytes(s, 9) == 32)
			g.msgid_hash = sqlite3_column_blob(s, 9);
		int stop = cb(&g, ctx);
		free(from);
		free(subject);
		from = subject = NULL;
		if (stop)
			break;
	}
	free(from);
	free(subject);
	return query_end(&q);
}

/* ---- The loss ledger -------------------------------------------------- */

/* The outcome of a watch's audit row: it holds losses, not a look at the
 * mailbox. */
#define WATCH_OUTCOME "watch"

ma_status ma_history_put_watch_losses(struct ma_history *h, int64_t account_id, time_t now,
				      const struct ma_watch_loss *v, size_t n,
				      struct ma_error *err)
{
	struct query q = QUERY(h, "recording what the watch saw destroyed", err);
	ma_status st;

	if (!n)
		return MA_OK;
	if (h->audit_id != 0)
		return ma_fail(err, MA_ERR_ARGUMENT, "an audit is already open in %s", h->path);
	if ((st = exec(h, "BEGIN IMMEDIATE", q.what, err)) != MA_OK)
		return st;
	query_run(&q, "INSERT INTO audit(account_id, started, finished, outcome, version)"
		  " VALUES (?1, ?2, ?2, '" WATCH_OUTCOME "', ?3)",
		  BINDS(B_INT(account_id), B_INT(now), B_TEXT(MA_VERSION)));
	int64_t audit = sqlite3_last_insert_rowid(h->db);
	for (size_t i = 0; i < n && q.st == MA_OK; i++) {
		const struct ma_watch_loss *l = &v[i];
		query_run(&q, "INSERT INTO loss(account_id, found_audit, kind, folder, role, count,"
			  " size, internaldate, date, sender, subject, last_seen, folder_gone)"
			  " VALUES (?1, ?2, 'message', ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9, ?10, 0)",
			  BINDS(B_INT(account_id), B_INT(audit), B_TEXT(l->folder),
				B_TEXT(role_key(l->role)), B_INT(l->size),
				l->internaldate ? B_INT(l->internaldate) : B_NULL, B_TEXT(l->date),
				B_TEXT(l->from), B_TEXT(l->subject), B_INT(l->last_seen)));
	}
	if (q.st == MA_OK && (st = exec(h, "COMMIT", q.what, err)) != MA_OK)
		q.st = st;
	if (q.st != MA_OK)
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	return q.st;
}

ma_status ma_history_losses(struct ma_history *h, int64_t account_id, int64_t audit_id,
			    bool unacked_only, time_t since, ma_loss_cb cb, void *ctx,
			    struct ma_error *err)
{
	struct query q = QUERY(h, "listing lost messages", err);
	char *from = NULL, *subject = NULL;

	/* No test of audit.finished: only this handle's open audit is
	 * visible unfinished, and its losses belong in the answer. */
	query_start(&q, "SELECT l.id, l.kind, l.found_audit, a.started, l.folder, l.role,"
		    " l.count, l.size, l.internaldate, l.date, l.sender, l.subject,"
		    " l.last_seen, l.folder_gone, l.since, l.uidnext_then, l.uidnext_now,"
		    " l.acked FROM loss l JOIN audit a ON a.id = l.found_audit"
		    " WHERE l.account_id = ?1 AND (?2 = 0 OR l.found_audit = ?2)"
		    " AND (NOT ?3 OR l.acked IS NULL) AND a.started >= ?4"
		    /* Within an audit and folder, what came and went
		     * arrived after every named loss was last seen. */
		    " ORDER BY l.found_audit DESC, l.folder, l.kind = 'unseen' DESC,"
		    " l.internaldate DESC, l.id",
		    BINDS(B_INT(account_id), B_INT(audit_id), B_INT(unacked_only), B_INT(since)));
	while (query_row(&q)) {
		sqlite3_stmt *s = q.s;
		if (decoded_column(s, 10, &from) < 0 || decoded_column(s, 11, &subject) < 0) {
			q.st = ma_fail(err, MA_ERR_NOMEM, NULL);
			break;
		}
		const char *kind = text_or_null(s, 1);
		struct ma_loss l = {
			.id = sqlite3_column_int64(s, 0),
			.kind = kind && strcmp(kind, "unseen") == 0 ? MA_LOSS_UNSEEN : MA_LOSS_MESSAGE,
			.found_audit = sqlite3_column_int64(s, 2),
			.found = (time_t)sqlite3_column_int64(s, 3),
			.folder = text_or_null(s, 4),
			.role = role_of_key(text_or_null(s, 5)),
			.count = (uint32_t)sqlite3_column_int64(s, 6),
			.size = (uint32_t)sqlite3_column_int64(s, 7),
			.internaldate = sqlite3_column_int64(s, 8),
			.date = text_or_null(s, 9),
			.from = from,
			.subject = subject,
			.last_seen = (time_t)sqlite3_column_int64(s, 12),
			.folder_gone = sqlite3_column_int(s, 13) != 0,
			.since = (time_t)sqlite3_column_int64(s, 14),
			.uidnext_then = (uint32_t)sqlite3_column_int64(s, 15),
			.uidnext_now = (uint32_t)sqlite3_column_int64(s, 16),
			.acked = (time_t)sqlite3_column_int64(s, 17),
		};
		int stop = cb(&l, ctx);
		free(from);
		free(subject);
		from = subject = NULL;
		if (stop)
			break;
	}
	free(from);
	free(subject);
	return query_end(&q);
}

ma_status ma_history_ack(struct ma_history *h, int64_t account_id, int64_t up_to_audit,
			 time_t now, uint64_t *count, struct ma_error *err)
{
	struct query q = QUERY(h, "acknowledging losses", err);
	ma_status st;

	if (count)
		*count = 0;
	/* The open audit's own losses are not on record yet (they may still
	 * be rolled back), and its transaction is not one to end here. */
	if (h->audit_id != 0)
		return ma_fail(err, MA_ERR_ARGUMENT,
			       "cannot acknowledge losses while an audit is open in %s", h->path);
	/* acked NULL is "not acknowledged": a time of 0 would read as that. */
	if (now <= 0)
		now = 1;
	if ((st = exec(h, "BEGIN IMMEDIATE", "acknowledging losses", err)) != MA_OK)
		return st;
	uint64_t n = 0;
	if (query_start(&q, "SELECT total(l.count) FROM loss l JOIN audit a ON a.id = l.found_audit"
			" WHERE l.account_id = ?1 AND l.acked IS NULL AND l.found_audit <= ?2"
			" AND a.finished IS NOT NULL", BINDS(B_INT(account_id), B_INT(up_to_audit))) &&
	    query_one(&q))
		n = (uint64_t)sqlite3_column_double(q.s, 0);
	/* Statements done before COMMIT, or it fails as busy. */
	query_end(&q);
	st = query_run(&q, "UPDATE loss SET acked = ?3 WHERE account_id = ?1 AND acked IS NULL"
		       " AND found_audit <= ?2 AND found_audit IN (SELECT id FROM audit"
		       "  WHERE account_id = ?1 AND finished IS NOT NULL)",
		       BINDS(B_INT(account_id), B_INT(up_to_audit), B_INT(now)));
	if (st == MA_OK && (st = exec(h, "COMMIT", "acknowledging losses", err)) == MA_OK && count)
		*count = n;
	if (st != MA_OK)
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	return st;
}

ma_status ma_history_pop3_gone(struct ma_history *h, int64_t audit_id,
			       ma_pop3_gone_cb cb, void *ctx,
			       struct ma_error *err)
{
	struct query q = QUERY(h, "listing vanished POP3 messages", err);

	/* Last seen: the audit that listed it, or a later one whose view was
	 * the same or a delta (which left its row alone): every complete view
	 * between those two held it, or it would have been found gone there. */
	query_start(&q, "SELECT m.uidl, m.size, coalesce((SELECT max(a2.started)"
		    "  FROM pop3_view v JOIN audit a2 ON a2.id = v.audit_id"
		    "  WHERE v.audit_id > m.last_audit AND v.audit_id < m.gone_audit"
		    "  AND (v.same_as IS NOT NULL OR v.delta) AND v.uidl_complete"
		    "  AND a2.finished IS NOT NULL),"
		    " a.started) FROM pop3_message m"
		    " JOIN audit a ON a.id = m.last_audit"
		    " WHERE m.gone_audit = ?1 ORDER BY m.id", BINDS(B_INT(audit_id)));
	while (query_row(&q)) {
		struct ma_pop3_gone g = {
			.uidl = text_or_null(q.s, 0),
			.size = (uint32_t)sqlite3_column_int64(q.s, 1),
			.last_seen = (time_t)sqlite3_column_int64(q.s, 2),
		};
		if (cb(&g, ctx) != 0)
			break;
	}
	return query_end(&q);
}

ma_status ma_history_audits(struct ma_history *h, int64_t account_id, int limit,
			    ma_audit_cb cb, void *ctx, struct ma_error *err)
{
	struct query q = QUERY(h, "listing audits", err);

	query_start(&q, "SELECT a.id, a.started, a.finished, a.outcome, a.version,"
		    " (SELECT messages FROM folder_state f"
		    "  WHERE f.audit_id = a.id AND f.name = 'INBOX'),"
		    " (SELECT total(messages) FROM folder_state f WHERE f.audit_id = a.id),"
		    " (SELECT stat_count FROM pop3_view p WHERE p.audit_id = a.id)"
		    " FROM audit a WHERE a.account_id = ?1 AND a.finished IS NOT NULL"
		    " AND a.outcome IS NOT '" WATCH_OUTCOME "'"
		    " ORDER BY a.id DESC LIMIT ?2",
		    BINDS(B_INT(account_id), B_INT(limit > 0 ? limit : -1))); /* -1: no limit */
	while (query_row(&q)) {
		sqlite3_stmt *s = q.s;
		struct ma_audit_row a = {
			.id = sqlite3_column_int64(s, 0),
			.started = (time_t)sqlite3_column_int64(s, 1),
			.finished = (time_t)sqlite3_column_int64(s, 2),
			.outcome = text_or_null(s, 3),
			.version = text_or_null(s, 4),
			.inbox_messages = sqlite3_column_type(s, 5) == SQLITE_NULL
				? -1 : sqlite3_column_int64(s, 5),
			.total_messages = sqlite3_column_int64(s, 6),
			.pop3_count = sqlite3_column_type(s, 7) == SQLITE_NULL
				? -1 : sqlite3_column_int64(s, 7),
		};
		if (cb(&a, ctx) != 0)
			break;
	}
	return query_end(&q);
}

ma_status ma_history_prev_audit(struct ma_history *h, int64_t account_id,
				int64_t before_audit_id, int64_t *prev_id,
				time_t *prev_time, bool *found,
				struct ma_error *err)
{
	struct query q = QUERY(h, "finding the previous audit", err);

	*prev_id = 0;
	*prev_time = 0;
	*found = false;
	if (query_start(&q, "SELECT id, started FROM audit WHERE account_id = ?1"
			" AND id < ?2 AND finished IS NOT NULL AND outcome IS NOT '" WATCH_OUTCOME "'"
			" ORDER BY id DESC LIMIT 1", BINDS(B_INT(account_id), B_INT(before_audit_id))) &&
	    query_row(&q)) {
		*found = true;
		*prev_id = sqlite3_column_int64(q.s, 0);
		*prev_time = (time_t)sqlite3_column_int64(q.s, 1);
	}
	return query_end(&q);
}

struct uid_only {
	ma_uid_cb cb;
	void *ctx;
};

static int uid_only(uint32_t uid, uint32_t size, unsigned flags, void *ctx)
{
	(void)size;
	(void)flags;
	const struct uid_only *u = ctx;
	return u->cb(uid, u->ctx);
}

/* The same rows as ma_history_folder_known_flags, UIDs only. */
ma_status ma_history_folder_uids(struct ma_history *h, int64_t account_id,
				 const char *folder, uint32_t uidvalidity,
				 ma_uid_cb cb, void *ctx, struct ma_error *err)
{
	struct uid_only u = { cb, ctx };
	return ma_history_folder_known_flags(h, account_id, folder, uidvalidity, uid_only, &u, err);
}
