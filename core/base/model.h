/* core/base: the bottom layer, used by every other and using nothing of
 * core but itself. No I/O, no locale, no network, no libetpan.
 *
 *   model.h    this: what a look at a mailbox sees, folder roles
 *   status.h   every outcome core reports, with its sentence
 *   text.h     text for people: growing strings, UTF-8, cleaning, wrapping
 *   parse.h    pure parsers for the bytes servers send (fuzzed)
 *   loss.h     the bound on mail that came and went between audits
 *
 * What one look at a mailbox sees: plain data shared by the sessions, the
 * history store, the analysis and the report. No behaviour lives here except
 * freeing. Strings are owned by the struct that holds them and are UTF-8,
 * except a message's raw From and Subject (see struct ma_message). */
#ifndef MA_MODEL_H
#define MA_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ma_flag {
	MA_FLAG_SEEN = 1 << 0,
	MA_FLAG_ANSWERED = 1 << 1,
	MA_FLAG_FLAGGED = 1 << 2,
	MA_FLAG_DELETED = 1 << 3,
	MA_FLAG_DRAFT = 1 << 4,
	MA_FLAG_RECENT = 1 << 5,
};

struct ma_message {
	uint32_t uid;
	uint32_t size;
	int64_t internaldate;     /* Unix time, 0 = unknown */
	unsigned flags;           /* enum ma_flag bits */
	char *message_id;         /* normalized "<local@domain>", NULL if none */
	char *date;               /* Date: header, unfolded, NULL if none */
	/* From: and Subject:, NULL if none. As an audit fetches them they are
	 * RAW (ma_parse_header_fields_raw): unfolded but not RFC 2047-decoded
	 * nor safe for a screen, and stored so in the history, which decodes
	 * them (ma_rfc2047_decode) when it hands out a lost message. */
	char *from;
	char *subject;
};

/* RFC 6154 special-use attributes, as LIST reports them. */
enum ma_special {
	MA_SPECIAL_SENT = 1 << 0,
	MA_SPECIAL_DRAFTS = 1 << 1,
	MA_SPECIAL_TRASH = 1 << 2,
	MA_SPECIAL_JUNK = 1 << 3,
	MA_SPECIAL_ARCHIVE = 1 << 4,
	MA_SPECIAL_ALL = 1 << 5,
	MA_SPECIAL_FLAGGED = 1 << 6,
};

/* What a folder is for, which decides what its losses mean: mail deleted
 * from INBOX or an ordinary folder is lost (CRITICAL); Trash and Junk
 * emptied is deleting on purpose (WARNING); Drafts churn all the time (a
 * client saving a draft appends a new one and expunges the old), so their
 * losses are never losses; new messages in Sent and Drafts are the user's
 * own, never mail moved there. */
enum ma_role {
	MA_ROLE_ORDINARY = 0,
	MA_ROLE_INBOX,
	MA_ROLE_SENT,
	MA_ROLE_DRAFTS,
	MA_ROLE_TRASH,
	MA_ROLE_JUNK,
	MA_ROLE_ARCHIVE,
};

/* A loss in the loss ledger (history.h). */
enum ma_loss_kind {
	MA_LOSS_MESSAGE,  /* one message, named: it was seen, now it is nowhere */
	MA_LOSS_UNSEEN,   /* messages that arrived after the previous audit and were
			   * deleted before this one: mailaudit never saw them */
};

struct ma_folder {
	char *name;               /* decoded UTF-8, "INBOX" for the inbox */
	char *raw_name;           /* as on the wire (modified UTF-7) */
	char delimiter;
	bool noselect;
	unsigned special;         /* enum ma_special bits from LIST; 0 if none */
	uint32_t messages, uidnext, uidvalidity, unseen;
	uint64_t modseq;          /* HIGHESTMODSEQ from EXAMINE (RFC 7162); 0: none */
	struct ma_message *msgs;  /* by ascending UID */
	size_t nmsgs, capmsgs;
};

/* The longest UIDL RFC 1939 allows. */
#define MA_UIDL_MAX 70

struct ma_pop3_entry {
	uint32_t number;
	uint32_t size;
	/* Never NULL: "" when none was listed. In the view's own blocks
	 * (ma_pop3_view_add_uidl), or a string the filler keeps alive. */
	const char *uidl;
};

/* The UIDL text of a view, block after block: one allocation per 64 KB
 * instead of a fixed 71 bytes inside every entry (a million messages of
 * Dovecot's 16-character UIDLs: 17 MB instead of 71 MB). Blocks never move,
 * so an entry's uidl stays valid while the view lives, moved or not. */
struct ma_text_block {
	struct ma_text_block *next;
	size_t used, cap;
	char text[];
};

struct ma_pop3_view {
	uint32_t stat_count;
	uint64_t stat_size;
	struct ma_pop3_entry *entries; /* by message number (probed: the new ones) */
	size_t nentries;
	char **capa;              /* each CAPA line, e.g. "EXPIRE 30" */
	size_t ncapa;
	struct ma_text_block *uidl_text; /* newest first */
	/* What the POP3 probe of a repeat (core/audit/pop3_probe.h) proved
	 * against the UIDLs present on record: the first kept messages are
	 * those of them still listed, in their order on record, and are not
	 * in entries, which hold only the new ones (numbered from kept + 1);
	 * gone[0..ngone) are the ones no longer listed (their text in
	 * uidl_text, the array the view's own). The history writes such a
	 * view from this alone. valid false: not probed, entries are all. */
	struct {
		bool valid;
		size_t kept;
		const char **gone;
		size_t ngone;
	} probed;
};

/* The role of a folder: from its special-use bits, else from its name
 * (last hierarchy level, case-insensitive, English and Czech names the
 * common clients use: "Trash", "Deleted Items", "Koš", "Junk", "Spam",
 * "Drafts", "Koncepty", "Sent", "Sent Items", "Odeslaná pošta", ...).
 * name is UTF-8 (ma_folder.name); "INBOX" in any case is MA_ROLE_INBOX. */
enum ma_role ma_folder_role(const char *name, unsigned special);
/* "INBOX", "folder", "Sent", "Drafts", "Trash", "Junk", "Archive". */
const char *ma_role_name(enum ma_role role);

void ma_message_clear(struct ma_message *m);
void ma_folder_clear(struct ma_folder *f);
/* Appends a copy of *m (taking ownership of its strings); 0 or -1 on ENOMEM. */
int ma_folder_add_message(struct ma_folder *f, struct ma_message *m);
void ma_pop3_view_clear(struct ma_pop3_view *v);
/* A copy of uidl[0..len) in v's blocks, NUL-terminated; NULL when out of
 * memory. */
const char *ma_pop3_view_add_uidl(struct ma_pop3_view *v, const char *uidl, size_t len);

#endif
