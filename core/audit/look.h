/* The IMAP look (internal to core/audit): LIST, then per folder STATUS
 * (when the history knows it), EXAMINE, UID SEARCH and UID FETCH, by one
 * session or two. A second IMAP session starts on a thread of its own once
 * the folders are listed (or once the only folder turns out large enough
 * to share); both take the next folder not yet taken, and a large folder
 * read for the first time is fetched in UID ranges that either session
 * takes a share of. Each fetched batch and each finished folder goes to the
 * history writer (writer.h).
 *
 * Ownership: struct imap_look lives in the audit's frame (audit.c). The
 * caller sets its "set before" fields, calls look_init, then look_imap
 * (on its own thread); what look_imap found is the caller's to read once
 * it returns, and look_clear frees it (the folders, their names, the
 * alerts, the capabilities). The first session (s) stays open for the
 * recount: the caller closes it. The password is borrowed, never copied. */
#ifndef MA_AUDIT_LOOK_H
#define MA_AUDIT_LOOK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/model.h"
#include "base/status.h"
#include "net/net.h"

struct ma_history;
struct ma_imap;
struct writer;
struct helper;

/* What the IMAP side saw of one folder, messages included (the result
 * keeps only the counts). Owned by the look's folder table; the writer's
 * jobs borrow it (writer.h). */
struct look_folder {
	struct ma_folder f;
	bool examined;            /* every message of it was read */
	/* The same UIDs as the last audit recorded (see look_folder): nothing
	 * fetched. */
	bool unchanged;
	int64_t prev_audit;       /* unchanged since this audit */
	int64_t same_as;          /* ...whose rows were written by this one */
	/* Read incrementally (RFC 7162): only the rows of what changed were
	 * written, the expunged marked gone (writer_gone). */
	bool delta;
	unsigned deleted;
	uint32_t unseen;          /* counted from the fetched flags */
	uint64_t size;
	bool had_prev;            /* an earlier audit examined this folder */
	uint32_t prev_messages;   /* ...and counted this many messages */
	/* Compared with prev_audit's messages, all of them on record: fresh
	 * of the present ones are new, above every recorded UID. */
	bool fresh_known;
	uint32_t fresh;
	/* A folder both IMAP sessions read at once (see share_folder),
	 * under imap_look.lock: */
	bool shared;
	uint32_t range_next, range_end, range_width; /* UIDs not yet handed out */
	int readers;              /* sessions reading it; the last one ends it */
	bool failed;              /* a session could not read its part */
	bool settled;             /* known to be shared or not (see join_folder) */
	atomic_size_t read;       /* messages read, for the progress */
};

/* Whether IMAP found INBOX unchanged since the audit that recorded it: the
 * POP3 look, which sees the same INBOX, waits for this after a STAT equal
 * to that audit's. Decided once, always (look_imap may fail early, and the
 * audit decides "changed" once the look is over). */
struct inbox_verdict {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool decided;
	bool unchanged;
	int64_t audit;            /* the audit INBOX matched, or was compared with */
	uint32_t messages;
	/* Changed or not: INBOX was compared with that audit's messages under
	 * the same UIDVALIDITY, which held prev_messages; fresh of the
	 * messages now are new since (UIDs not on record, all above every
	 * UID on record), so prev_messages - (messages - fresh) vanished. The
	 * POP3 look then probes its UIDLs instead of listing them
	 * (audit.c). */
	bool counted;
	uint32_t prev_messages, fresh;
};
void verdict_init(struct inbox_verdict *v);
/* The first decision stands; later ones are ignored. lf: INBOX as the
 * look saw it, NULL: not looked at (or the look failed). */
struct look_folder;
void verdict_decide(struct inbox_verdict *v, const struct look_folder *lf);
void verdict_destroy(struct inbox_verdict *v);

struct imap_look {
	/* Set before look_init; read-only while the look runs. */
	const struct ma_account *acct;
	const char *password;     /* borrowed */
	const struct ma_audit_opts *opts;
	int64_t account;          /* the history's id of the account */
	struct writer *w;         /* takes what is read; NULL: no history */
	struct inbox_verdict *verdict; /* decided when INBOX is looked at */

	/* What look_imap found. */
	struct look_folder *folders;
	size_t n;
	/* INBOX looked at before LIST (look_imap, inbox_first): the writer's
	 * jobs borrow this one, so it stays until look_clear; folders[0] is
	 * its copy from LIST on (or from the look's end, without a LIST). */
	struct look_folder *early;
	bool list_ok;
	struct ma_imap *s;        /* kept open for the recount */
	bool ok;
	struct ma_cert_info cert; /* of the first session, if tls */
	bool tls;
	char *caps;               /* space separated; NULL: not logged in */
	bool all_examined;
	struct ma_error err;
	/* Out of memory somewhere in the look (audit.h's policy): the audit
	 * has no result. Under lock while the sessions run. */
	bool oom;
	/* [ALERT] texts of the second session, taken before it closes (under
	 * lock); the first session's are read from s once the look is over. */
	char **alerts2;
	size_t nalerts2;

	/* Messages over all folders, for the progress (count_messages): the
	 * number STATUS gave before the look (0: not counted), and those read
	 * so far by either session. */
	size_t expect_all;
	atomic_size_t read_all;

	/* Two sessions share the folders; under lock: */
	pthread_mutex_t lock;
	size_t next;              /* the next folder to look at */
	bool stop;                /* a session failed: the look has failed */
	size_t opening;           /* folders taken, not yet known to be shared or not */
	pthread_cond_t cond;      /* one of those became known */
	struct helper *helper;    /* the second session, if one may start (look_imap) */
	bool helper_started;
	pthread_t helper_tid;
	/* Still connecting when the first session has nothing left for it:
	 * abandoned, so that a second connection that hangs cannot hold the
	 * audit until its timeout. */
	enum { HELPER_CONNECTING, HELPER_WORKING, HELPER_ABANDONED } helper_state;
};

void look_init(struct imap_look *l);
/* The whole IMAP look, on the calling thread (and, if it may, a second
 * session on a thread of its own). h: the earlier audits, read through
 * this handle of the caller's (never the writer's); NULL: every folder is
 * read in full. Failures end up in l->err, l->ok false. */
void look_imap(struct imap_look *l, struct ma_history *h);
/* Frees what look_imap found, but for s (which the caller closes). */
void look_clear(struct imap_look *l);

/* Incremental looks (RFC 7162, look.c): ENABLE QRESYNC on a session just
 * logged in, where the server offers it and no full look is forced. A
 * refusal is no error. */
struct ma_imap;
ma_status look_enable_changes(struct ma_imap *s, struct ma_error *err);
/* MA_FORCE_FULL_LOOK=1 in the environment: every folder is read as
 * without CONDSTORE/QRESYNC (for the tests that compare both). */
bool look_force_full(void);

/* Appends the texts of a[0..n) not yet in *list, up to the most an audit
 * keeps. false: out of memory (what was added stays). */
bool look_add_alerts(char ***list, size_t *len, const char *const *a, size_t n);

/* Progress for opts' callback, from any thread (audit.c). */
void audit_progress(const struct ma_audit_opts *o, enum ma_step step, const char *what,
		    size_t done, size_t total);
/* The same with the messages over all folders (ma_progress's all_done,
 * all_total). */
void audit_progress_all(const struct ma_audit_opts *o, enum ma_step step, const char *what,
			size_t done, size_t total, size_t all_done, size_t all_total);

#endif
