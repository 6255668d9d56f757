/* core/store: what mailaudit keeps on disk, above base/ and net/.
 *
 *   history.h  this: the SQLite history of audits and the loss ledger
 *   config.h   the accounts file
 *   account.h  an account as configured (plain data)
 *   rules.h    the provider rules: obsolete server names (data/providers.rules)
 *
 * The history store: what earlier audits of a mailbox saw, so a later audit
 * can tell which messages vanished since, and whether they went to another
 * folder or nowhere (destroyed).
 *
 * One SQLite file, by default $XDG_STATE_HOME/mailaudit/history.db (else
 * ~/.local/state/mailaudit/history.db): directory 0700, file 0600, WAL
 * journal. A file that is damaged, not SQLite, or another program's database
 * is reported as MA_ERR_STATE_CORRUPT and never written, deleted or replaced.
 *
 * A message is one row per identity (account, folder, UIDVALIDITY, UID) with
 * the audits that first and last wrote it. A folder found unchanged is
 * recorded as "the same as" the audit whose rows hold it, without touching
 * those rows, so repeating an audit of an unchanged mailbox adds only an
 * audit row and its folder rows.
 *
 * One audit is one transaction:
 *
 *   ma_history_begin                      (takes the write lock)
 *   per folder: ma_history_put_messages / ma_history_mark_present,
 *               then ma_history_put_folder once its messages are all in;
 *               or ma_history_put_folder_same for an unchanged folder;
 *               or, read incrementally, ma_history_put_messages for what
 *               changed, ma_history_mark_gone for what was expunged, then
 *               ma_history_put_folder_delta
 *   ma_history_put_pop3                   (if POP3 was looked at)
 *   ma_history_detect_gone                (marks what vanished)
 *   ma_history_gone ...                   (the analysis reads the result)
 *   ma_history_commit  or  ma_history_rollback
 *
 * An audit that is cut off (error, Ctrl-C, kill -9) never reaches commit and
 * leaves no trace. Two processes writing the same file serialize: begin
 * waits up to 10 s for the other's commit, so a caller that may run beside
 * another audit should fetch from the network first (ma_history_folder_prev
 * works outside an audit) and begin only to write.
 *
 * Ownership: ma_history_open returns a handle the caller frees with
 * ma_history_close. Strings and blobs passed to callbacks are valid only
 * during that callback call. Every function returning ma_status fills err
 * (if not NULL) on failure; after a failure inside an audit the audit stays
 * open and the caller ends it with ma_history_rollback. */
#ifndef MA_HISTORY_H
#define MA_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/model.h"
#include "base/status.h"

/* Highest schema version this build reads and writes. */
#define MA_HISTORY_SCHEMA 8
/* PRAGMA application_id of our files: 0x4D417564, "MAud" (decimal, as
 * PRAGMA reads hex literals wrongly). */
#define MA_HISTORY_APP_ID 1296136548

struct ma_history;

/* Opens (creating if needed) state_dir/history.db; state_dir NULL means the
 * default above. Directories are created 0700 as needed. Errors: MA_ERR_IO
 * (path and reason), MA_ERR_STATE_CORRUPT (file left untouched; also for a
 * file from a newer mailaudit). */
ma_status ma_history_open(const char *state_dir, struct ma_history **out,
			  struct ma_error *err);
/* The same for a run with a deadline (--deadline), until_ms on
 * ma_now_ms()'s clock (0: none): waiting for another mailaudit's lock
 * ends there, and so does an open transaction, with MA_ERR_DEADLINE. */
ma_status ma_history_open_until(const char *state_dir, int64_t until_ms,
				struct ma_history **out, struct ma_error *err);
/* Full path of the file, owned by h. */
const char *ma_history_path(const struct ma_history *h);
/* Rolls back an open audit, then closes. NULL is fine. */
void ma_history_close(struct ma_history *h);

/* Which server an account's history belongs to, besides login and host:
 * two servers on one host (different ports) never share a history, while
 * switching between a protocol's two standard ports (IMAP 993 and 143)
 * keeps it. For an account with IMAP: 0 for port 993 or 143, else the
 * port. For a POP3-only account (host is then the POP3 host):
 * MA_PORT_KEY_POP3 for 995 or 110, else MA_PORT_KEY_POP3 + port. */
#define MA_PORT_KEY_POP3 65536
uint32_t ma_history_port_key(bool imap, uint16_t port);

/* The id of (login, host, port_key), created on first use. Host compares
 * case-insensitively. An account recorded by a mailaudit before schema 5
 * (no port known) is taken over by the first lookup of its login and host,
 * whatever its port key: existing histories carry on. */
ma_status ma_history_account(struct ma_history *h, const char *login,
			     const char *host, uint32_t port_key, int64_t *account_id,
			     struct ma_error *err);

/* What the last completed audit that examined this folder knew: its
 * UIDVALIDITY and the highest UID recorded under it. Only UIDs above max_uid
 * need their headers fetched; if the UIDVALIDITY differs now, refetch all.
 * *known is false (and the others 0) for a folder never audited. */
ma_status ma_history_folder_prev(struct ma_history *h, int64_t account_id,
				 const char *folder, uint32_t *uidvalidity,
				 uint32_t *max_uid, bool *known,
				 struct ma_error *err);

/* The folder as the last completed audit that examined it recorded it. A
 * folder whose UIDVALIDITY, UIDNEXT and MESSAGES read the same now holds the
 * same UIDs: no UID below UIDNEXT can appear, and a removal lowers
 * MESSAGES. audit_id is that audit, 0 (known false) if there is none. */
struct ma_folder_prev {
	bool known;
	int64_t audit_id;
	uint32_t uidvalidity, uidnext, messages, unseen, deleted;
	uint64_t total_size;
	int64_t same_as;          /* it found the folder unchanged since this audit; 0: no */
	/* HIGHESTMODSEQ (RFC 7162) when the folder's message rows (flags
	 * included) were written: a folder found unchanged keeps the one of
	 * the audit whose rows it shares. 0: none known. */
	uint64_t modseq;
};
ma_status ma_history_folder_last(struct ma_history *h, int64_t account_id,
				 const char *folder, struct ma_folder_prev *prev,
				 struct ma_error *err);

/* Messages recorded in folder/uidvalidity with their sizes (a UID's size
 * never changes), ascending by UID; present_only leaves out those already
 * found gone. */
typedef int (*ma_known_cb)(uint32_t uid, uint32_t size, void *ctx);
ma_status ma_history_folder_known(struct ma_history *h, int64_t account_id,
				  const char *folder, uint32_t uidvalidity,
				  bool present_only, ma_known_cb cb, void *ctx,
				  struct ma_error *err);

/* The present (not found gone) messages of folder/uidvalidity with their
 * sizes and flags as last recorded, ascending by UID: with the modseq of
 * ma_folder_prev they are the folder as the server had it then. */
typedef int (*ma_known_flags_cb)(uint32_t uid, uint32_t size, unsigned flags, void *ctx);
ma_status ma_history_folder_known_flags(struct ma_history *h, int64_t account_id,
					const char *folder, uint32_t uidvalidity,
					ma_known_flags_cb cb, void *ctx, struct ma_error *err);

/* How many messages are present (not found gone) in folder/uidvalidity
 * and their total size, without listing them. */
ma_status ma_history_folder_count(struct ma_history *h, int64_t account_id,
				  const char *folder, uint32_t uidvalidity,
				  uint32_t *count, uint64_t *total_size,
				  struct ma_error *err);

/* The present (not found gone) messages of folder/uidvalidity that an
 * audit before audit_id recorded already, so were in the folder before
 * this audit and are still there: how many, and the earliest time any of
 * them can have come into the folder: the oldest of, for each, its
 * INTERNALDATE or, if later, the start of the last earlier audit whose
 * UIDNEXT shows its UID not yet given out (0 if there is none, or if the
 * time of one is not known at all). A message first recorded by audit_id
 * may have arrived after whatever removed the others, so it says nothing
 * about them. */
ma_status ma_history_folder_kept(struct ma_history *h, int64_t account_id,
				 const char *folder, uint32_t uidvalidity, int64_t audit_id,
				 uint32_t *count, int64_t *oldest, struct ma_error *err);

/* The POP3 view of the last completed audit that looked over POP3. */
struct ma_pop3_prev {
	bool known;
	int64_t audit_id;
	uint32_t stat_count;
	uint64_t stat_size;
	bool uidl_complete;
};
ma_status ma_history_pop3_prev(struct ma_history *h, int64_t account_id,
			       struct ma_pop3_prev *prev, struct ma_error *err);

/* Each UIDL present on record (not found gone) with its size. A non-zero
 * return from cb stops the listing. */
typedef int (*ma_pop3_size_cb)(const char *uidl, uint32_t size, void *ctx);
ma_status ma_history_pop3_sizes(struct ma_history *h, int64_t account_id,
				ma_pop3_size_cb cb, void *ctx, struct ma_error *err);

/* The same UIDLs in the order the server numbered them when they were
 * last listed (ord ascending: a POP3 server keeps its messages' order,
 * deletions only close gaps). ord is -1 for a row an older mailaudit
 * wrote, whose order is not known: those come first. A non-zero return
 * from cb stops the listing. */
typedef int (*ma_pop3_order_cb)(const char *uidl, uint32_t size, int64_t ord, void *ctx);
ma_status ma_history_pop3_ordered(struct ma_history *h, int64_t account_id,
				  ma_pop3_order_cb cb, void *ctx, struct ma_error *err);

/* The sum of the sizes on record of those of uidls[0..n) present on
 * record, and how many they are (*found). */
ma_status ma_history_pop3_size_sum(struct ma_history *h, int64_t account_id,
				   const char *const *uidls, size_t n, uint64_t *sum, size_t *found,
				   struct ma_error *err);

/* Gives back the memory the handle's cache holds (after a long read, on
 * a handle kept open). */
void ma_history_shrink(struct ma_history *h);

/* The first and last of them in that order; *known false when there are
 * none, or a row's order is not known. */
ma_status ma_history_pop3_ends(struct ma_history *h, int64_t account_id, char first[MA_UIDL_MAX + 1],
			       char last[MA_UIDL_MAX + 1], bool *known, struct ma_error *err);

/* BEGIN IMMEDIATE and the audit row. One audit at a time per handle. */
ma_status ma_history_begin(struct ma_history *h, int64_t account_id, time_t now,
			   int64_t *audit_id, struct ma_error *err);

/* A point inside the open audit to come back to: an audit writes each
 * folder while the next one is still being fetched, and a folder (or the
 * whole IMAP side) that fails halfway must leave nothing. name is one of
 * the caller's own identifiers (letters only), never user data. Savepoints
 * nest; ma_history_release keeps what was written since (keep) or undoes
 * it, and ends the savepoint either way. */
ma_status ma_history_savepoint(struct ma_history *h, const char *name,
			       struct ma_error *err);
ma_status ma_history_release(struct ma_history *h, const char *name, bool keep,
			     struct ma_error *err);

/* Records that this audit examined folder f completely: only examined folders
 * can lose messages in ma_history_detect_gone. Uses f's name, uidvalidity,
 * uidnext, messages, unseen and special, not f->msgs. */
ma_status ma_history_put_folder(struct ma_history *h, int64_t audit_id,
				const struct ma_folder *f, unsigned deleted_count,
				uint64_t total_size, struct ma_error *err);

/* Records that this audit found folder f unchanged since audit same_as: its
 * messages are the ones recorded as seen by same_as (their rows are left as
 * they are), so none of them is gone now, and a later loss counts them as
 * seen by this audit. same_as is the prev.same_as of ma_history_folder_last
 * if set, else its audit_id. */
ma_status ma_history_put_folder_same(struct ma_history *h, int64_t audit_id,
				     const struct ma_folder *f, unsigned deleted_count,
				     uint64_t total_size, int64_t same_as, struct ma_error *err);

/* Records that this audit read folder f incrementally (RFC 7162): the rows
 * of its new messages and of those whose flags changed were put, those
 * expunged since were marked with ma_history_mark_gone, and every other
 * present row of f is present now too, its row left as it was (so
 * detect_gone does not look for gone messages in it, and "last seen" of a
 * message counts this audit). */
ma_status ma_history_put_folder_delta(struct ma_history *h, int64_t audit_id,
				      const struct ma_folder *f, unsigned deleted_count,
				      uint64_t total_size, struct ma_error *err);
/* Marks these known messages of folder/uidvalidity gone in this audit (a
 * delta folder's expunged ones); UIDs not recorded or already gone are
 * ignored. detect_gone then finds where they went, as for any other. */
ma_status ma_history_mark_gone(struct ma_history *h, int64_t audit_id, const char *folder,
			       uint32_t uidvalidity, const uint32_t *uids, size_t n,
			       struct ma_error *err);

/* Records that m is in folder now. A new identity stores everything; a known
 * one updates only flags and last seen, so for a known UID a struct with just
 * uid and flags is enough. msgid_hash: 32-byte SHA-256 of the normalized
 * Message-ID, or NULL. */
ma_status ma_history_put_message(struct ma_history *h, int64_t audit_id,
				 const char *folder, uint32_t uidvalidity,
				 const struct ma_message *m,
				 const unsigned char *msgid_hash,
				 struct ma_error *err);

/* The same for msgs[0..n-1], several rows per statement (a first audit puts
 * every message: per-statement costs matter). hashes[i] is msgs[i]'s hash or
 * NULL; hashes itself may be NULL (no hashes). */
ma_status ma_history_put_messages(struct ma_history *h, int64_t audit_id,
				  const char *folder, uint32_t uidvalidity,
				  const struct ma_message *msgs, size_t n,
				  const unsigned char *const *hashes,
				  struct ma_error *err);

/* Marks known messages as seen by this audit without their headers. Fastest
 * with uids ascending (runs of consecutive UIDs become one update). UIDs not
 * in the history are ignored: put those with ma_history_put_message. */
ma_status ma_history_mark_present(struct ma_history *h, int64_t audit_id,
				  const char *folder, uint32_t uidvalidity,
				  const uint32_t *uids, size_t n,
				  struct ma_error *err);

/* STAT, CAPA and each UIDL with its size. POP3 messages are tracked by UIDL
 * like IMAP ones; if some UIDL is missing, none is marked gone this audit. */
ma_status ma_history_put_pop3(struct ma_history *h, int64_t audit_id,
			      const struct ma_pop3_view *v, struct ma_error *err);

/* ma_history_put_pop3 in slices, for a writer that has other rows to
 * write meanwhile: _start (the view's row) once, then _rows for entries
 * [from, to) until every entry is written. */
ma_status ma_history_put_pop3_start(struct ma_history *h, int64_t audit_id,
				    const struct ma_pop3_view *v, struct ma_error *err);
ma_status ma_history_put_pop3_rows(struct ma_history *h, int64_t audit_id,
				   const struct ma_pop3_view *v, size_t from, size_t to,
				   struct ma_error *err);

/* Like ma_history_put_pop3 for a POP3 view known to be the one audit
 * prev_audit recorded in full (same STAT, INBOX unchanged over IMAP): v holds
 * STAT and CAPA only. The view is recorded as the same UIDLs as the audit
 * that listed them (no UIDL row is rewritten), so nothing is gone in it. */
ma_status ma_history_put_pop3_same(struct ma_history *h, int64_t audit_id,
				   const struct ma_pop3_view *v, int64_t prev_audit,
				   struct ma_error *err);

/* Like ma_history_put_pop3 for a complete POP3 view v (every UIDL listed)
 * taken when prev_audit holds the last completed, complete view: v is
 * compared with the UIDLs present on record, and only what differs is
 * written (new UIDLs added, missing ones marked gone by this audit); the
 * others' rows are left alone. The history then says what a full write
 * would. Anything else (another audit recorded since, v incomplete) is
 * written in full. May be called again for the same audit: it starts over. */
ma_status ma_history_put_pop3_delta(struct ma_history *h, int64_t audit_id,
				    const struct ma_pop3_view *v, int64_t prev_audit,
				    struct ma_error *err);

/* Marks as gone every message present before but not seen by this audit, in
 * the folders recorded with ma_history_put_folder; if folder_list_complete
 * (the LIST succeeded and every selectable folder was put), also those of
 * folders this audit did not record, i.e. deleted folders.
 *
 * Where each went (gone_to) is matched one to one: a message that is new in
 * this audit (first recorded by it) explains at most one gone message, by
 * the same Message-ID hash, or, when either has no hash, by the same Date,
 * From, Subject and size (at least one of the three headers present; never
 * INTERNALDATE alone). Two messages sharing a Message-ID are two messages:
 * one of them gone while the other stays is a loss. A gone message whose
 * match is in the same folder (a UIDVALIDITY reset, or the same message
 * stored again) is renumbered, not moved (ma_gone_msg.renumbered).
 *
 * Then it records this audit's losses in the loss ledger (see
 * ma_history_losses): every gone message matched nowhere (destroyed),
 * except in Drafts; and the messages that arrived since the previous audit
 * and were deleted before this one was (MA_LOSS_UNSEEN), counted per folder
 * from UIDNEXT then and now and the UIDs present now, less what moves to
 * other folders can explain (ma_loss_unseen in loss.h).
 * Call once; ma_history_commit calls it with false if the caller did not. */
ma_status ma_history_detect_gone(struct ma_history *h, int64_t audit_id,
				 bool folder_list_complete, struct ma_error *err);

/* Stores finish time and outcome ("ok", "warning", "critical", "unknown",
 * "failed: reason"; NULL = "unknown") and commits. On failure the audit is
 * rolled back. */
ma_status ma_history_commit(struct ma_history *h, int64_t audit_id, time_t now,
			    const char *outcome, struct ma_error *err);

/* Discards the open audit, if any. */
void ma_history_rollback(struct ma_history *h);

/* Callbacks return 0 to go on, non-zero to stop early (not an error). */

struct ma_gone_msg {
	const char *folder;
	uint32_t uidvalidity, uid, size;
	int64_t internaldate;              /* 0 = unknown */
	const char *date, *from, *subject; /* NULL if unknown; from and subject
					    * RFC 2047-decoded screen text */
	unsigned flags;                    /* as last seen, enum ma_flag */
	const unsigned char *msgid_hash;   /* 32 bytes or NULL */
	time_t last_seen;                  /* start of the last audit that saw it */
	const char *gone_to;               /* NULL = found nowhere: destroyed */
	bool renumbered;                   /* gone_to is its own folder (see detect_gone) */
	bool folder_gone;                  /* its folder no longer exists */
	enum ma_role role;                 /* of its folder */
};
typedef int (*ma_gone_cb)(const struct ma_gone_msg *m, void *ctx);

/* Messages found gone by audit_id (open or committed), by folder and UID.
 * The strings of *m last until cb returns. */
ma_status ma_history_gone(struct ma_history *h, int64_t audit_id, ma_gone_cb cb,
			  void *ctx, struct ma_error *err);

/* ---- The loss ledger ----------------------------------------------------
 *
 * Every loss an audit finds stays on record, with the audit that found it,
 * until the user acknowledges it: a deleting device is not forgotten after
 * one report, and a monitoring check that is retried still sees it. */

struct ma_loss {
	int64_t id;
	enum ma_loss_kind kind;
	int64_t found_audit;     /* the audit that found it */
	time_t found;            /* that audit's start */
	const char *folder;
	enum ma_role role;       /* of the folder when the loss was found */
	uint32_t count;          /* 1 for MA_LOSS_MESSAGE */
	/* MA_LOSS_MESSAGE: as last seen (from and subject decoded) */
	uint32_t size;
	int64_t internaldate;    /* 0 = unknown */
	const char *date, *from, *subject; /* NULL if unknown */
	time_t last_seen;
	bool folder_gone;        /* its whole folder was deleted */
	/* MA_LOSS_UNSEEN */
	time_t since;            /* the previous audit's start */
	uint32_t uidnext_then, uidnext_now;
	time_t acked;            /* 0 = not acknowledged */
};
typedef int (*ma_loss_cb)(const struct ma_loss *l, void *ctx);

/* The account's losses, newest first (by finding audit, then folder and
 * date): those found by audit_id only (0: by any audit), only the
 * unacknowledged ones if unacked_only, only those found at or after since
 * (0: any time). Works inside and outside an audit; inside one, the open
 * audit's own losses are included. Strings last until cb returns. */
ma_status ma_history_losses(struct ma_history *h, int64_t account_id, int64_t audit_id,
			    bool unacked_only, time_t since, ma_loss_cb cb, void *ctx,
			    struct ma_error *err);

/* Acknowledges, at time now, every loss of the account not yet
 * acknowledged that was found by a completed audit with id <= up_to_audit
 * (INT64_MAX: all): losses found later, by an audit the user has not seen,
 * stay. *count (if not NULL) is the number of losses acknowledged (a
 * MA_LOSS_UNSEEN row counts its messages). One transaction; never inside
 * an open audit of this handle. */
ma_status ma_history_ack(struct ma_history *h, int64_t account_id, int64_t up_to_audit,
			 time_t now, uint64_t *count, struct ma_error *err);

/* Messages a watch (audit/watch.h) saw destroyed: each one a loss on the
 * ledger like an audit's, so --report, --check and --lost show it until
 * acknowledged. from and subject raw, as fetched (the ledger decodes them
 * when it hands them out). */
struct ma_watch_loss {
	const char *folder;
	enum ma_role role;
	uint32_t size;
	int64_t internaldate;             /* 0 = unknown */
	const char *date, *from, *subject; /* NULL if unknown */
	time_t last_seen;                 /* when the watch last saw it: its deletion */
};

/* Records v[0..n) as found at time now, in one transaction of their own:
 * an audit row of outcome "watch" that later audits do not take for a look
 * at the mailbox (ma_history_prev_audit and ma_history_audits pass it by),
 * and a ledger row per message. Never inside an open audit of h. */
ma_status ma_history_put_watch_losses(struct ma_history *h, int64_t account_id, time_t now,
				      const struct ma_watch_loss *v, size_t n,
				      struct ma_error *err);

struct ma_pop3_gone {
	const char *uidl;
	uint32_t size;
	time_t last_seen;
};
typedef int (*ma_pop3_gone_cb)(const struct ma_pop3_gone *m, void *ctx);

/* POP3 messages (by UIDL) found gone by audit_id. */
ma_status ma_history_pop3_gone(struct ma_history *h, int64_t audit_id,
			       ma_pop3_gone_cb cb, void *ctx,
			       struct ma_error *err);

struct ma_audit_row {
	int64_t id;
	time_t started, finished;
	const char *outcome;
	const char *version;       /* mailaudit version that wrote it */
	int64_t inbox_messages;    /* -1 if INBOX was not examined */
	int64_t total_messages;    /* over examined folders */
	int64_t pop3_count;        /* STAT count, -1 without POP3 */
};
typedef int (*ma_audit_cb)(const struct ma_audit_row *a, void *ctx);

/* The account's completed audits, newest first, at most limit (<= 0: all). */
ma_status ma_history_audits(struct ma_history *h, int64_t account_id, int limit,
			    ma_audit_cb cb, void *ctx, struct ma_error *err);

/* The newest completed audit of the account with id < before_audit_id
 * (INT64_MAX: the newest of all). */
ma_status ma_history_prev_audit(struct ma_history *h, int64_t account_id,
				int64_t before_audit_id, int64_t *prev_id,
				time_t *prev_time, bool *found,
				struct ma_error *err);

typedef int (*ma_uid_cb)(uint32_t uid, void *ctx);

/* UIDs of the messages present at their last audit in folder/uidvalidity,
 * ascending. */
ma_status ma_history_folder_uids(struct ma_history *h, int64_t account_id,
				 const char *folder, uint32_t uidvalidity,
				 ma_uid_cb cb, void *ctx, struct ma_error *err);

#endif
