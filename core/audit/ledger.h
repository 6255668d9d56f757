/* The loss ledger outside an audit: list what audits found lost, and
 * acknowledge it. No network and no password: only the history file.
 *
 * An account's history is found as an audit finds it (login, host and port
 * key, see ma_history_port_key): the same account options or -a NAME that
 * audit it reach its ledger.
 *
 * Ownership: arrays returned here belong to the caller, freed with
 * ma_loss_entries_free (loss_entry.h); text with free. */
#ifndef MA_LEDGER_H
#define MA_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "audit/loss_entry.h"
#include "base/status.h"
#include "store/account.h"

/* The host and port key under which acct's history is kept. */
void ma_ledger_key(const struct ma_account *acct, const char **host, uint32_t *port_key);

/* The account's losses, newest first: found by audit_id only (0: any
 * audit), only unacknowledged ones if unacked_only, found at or after
 * since (0: any time). An account never audited has none (MA_OK, *n 0);
 * a missing history file is not created. */
ma_status ma_ledger_list(const struct ma_account *acct, const char *state_dir,
			 int64_t audit_id, bool unacked_only, time_t since,
			 struct ma_loss_entry **out, size_t *n, struct ma_error *err);

/* Acknowledges every loss not yet acknowledged that was found by a
 * completed audit with id <= up_to_audit (INT64_MAX: all), at time now.
 * *count: how many lost messages that was. */
ma_status ma_ledger_ack(const struct ma_account *acct, const char *state_dir,
			int64_t up_to_audit, time_t now, uint64_t *count, struct ma_error *err);

/* What ma_ledger_list reads, over a history already open (inside an open
 * audit too, whose own losses are then included): for the audit, which
 * fills its result's ledger so. Entries found by this_audit (0: none) are
 * marked this_audit. */
struct ma_history;
ma_status ma_ledger_collect(struct ma_history *h, int64_t account_id, int64_t this_audit,
			    int64_t audit_id, bool unacked_only, time_t since,
			    struct ma_loss_entry **out, size_t *n, struct ma_error *err);

/* --lost: one line per loss, newest first, e.g.
 *   2026-12-06 09:00  INBOX  2026-12-05 17:12  Jana Nováková  Faktura 2026-118
 *   2026-12-06 09:00  INBOX  5 messages arrived after 2026-12-05 09:00, never seen
 * (found, folder, the message's date, from, subject; "[acknowledged]" after
 * an acknowledged one). Server text is cleaned as for the report. "" when
 * there is nothing. */
ma_status ma_ledger_text(const struct ma_loss_entry *v, size_t n, char **out,
			 struct ma_error *err);

#endif
