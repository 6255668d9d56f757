/* A loss on record in the loss ledger (history.h), as the audit's result,
 * the report, --lost and the screens hold it: a copy of the history row
 * with its strings owned by the entry.
 *
 * Apart from audit.h and ledger.h so that both can include it: the result
 * of an audit holds the ledger, and the ledger outside an audit (ledger.h)
 * needs no audit.
 *
 * Ownership: arrays of entries are made by ma_ledger_collect and
 * ma_ledger_list (ledger.c) and freed, strings included, with
 * ma_loss_entries_free. */
#ifndef MA_LOSS_ENTRY_H
#define MA_LOSS_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/model.h"

struct ma_loss_entry {
	int64_t id;
	enum ma_loss_kind kind;
	int64_t found_audit;
	time_t found;             /* start of the audit that found it */
	bool this_audit;          /* found by this audit */
	char *folder;
	enum ma_role role;
	uint32_t count;           /* 1 for a message */
	uint32_t size;            /* MA_LOSS_MESSAGE: as last seen */
	int64_t internaldate;
	char *date, *from, *subject; /* NULL if unknown; screen-safe UTF-8 not guaranteed */
	time_t last_seen;
	bool folder_gone;
	time_t since;             /* MA_LOSS_UNSEEN: arrived after this */
	uint32_t uidnext_then, uidnext_now;
	time_t acked;             /* 0: not acknowledged */
	/* Set by ma_analyze (findings.h): removed from Trash by the server's
	 * own purge of old mail, not by a device. Not stored. */
	bool policy;
};

/* Frees v[0..n) and their strings. NULL ok. */
void ma_loss_entries_free(struct ma_loss_entry *v, size_t n);

#endif
