/* What one look at a mailbox sees: plain data shared by the sessions, the
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

struct ma_folder {
	char *name;               /* decoded UTF-8, "INBOX" for the inbox */
	char *raw_name;           /* as on the wire (modified UTF-7) */
	char delimiter;
	bool noselect;
	uint32_t messages, uidnext, uidvalidity, unseen;
	struct ma_message *msgs;  /* by ascending UID */
	size_t nmsgs, capmsgs;
};

struct ma_pop3_entry {
	uint32_t number;
	uint32_t size;
	char uidl[71];            /* RFC 1939: up to 70 chars */
};

struct ma_pop3_view {
	uint32_t stat_count;
	uint64_t stat_size;
	struct ma_pop3_entry *entries; /* by message number */
	size_t nentries;
	char **capa;              /* each CAPA line, e.g. "EXPIRE 30" */
	size_t ncapa;
};

void ma_message_clear(struct ma_message *m);
void ma_folder_clear(struct ma_folder *f);
/* Appends a copy of *m (taking ownership of its strings); 0 or -1 on ENOMEM. */
int ma_folder_add_message(struct ma_folder *f, struct ma_message *m);
void ma_pop3_view_clear(struct ma_pop3_view *v);

#endif
