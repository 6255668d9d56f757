/* The POP3 listing of a repeat audit, probed instead of read (internal to
 * core/audit; the planner is uidl_probe.h). IMAP has counted INBOX
 * against the audit whose POP3 view is on record: fresh messages new
 * since, vanished gone. The UIDLs on record, in the server's order, are
 * then checked with a few hundred `UIDL n` instead of a listing of every
 * message (at 100,000 messages the listing is most of what a repeat
 * receives). The UIDLs are never derived from IMAP's UIDs (the server's
 * UIDL format may change): every one taken is either asked, or lies
 * between two asked ones that prove nothing else is there. */
#ifndef MA_AUDIT_POP3_PROBE_H
#define MA_AUDIT_POP3_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/model.h"
#include "base/status.h"

struct ma_history;
struct ma_pop3;

/* Whether the server takes pipelined `UIDL n` (CAPA PIPELINING and UIDL). */
bool pop3_probe_possible(const struct ma_pop3 *s);

/* IMAP's count of INBOX against the audit of the last POP3 view: fresh
 * new messages, vanished gone. false: it has none that fits. */
typedef bool (*pop3_counts_fn)(void *ctx, uint32_t *fresh, uint32_t *vanished);

/* The UIDLs of the last POP3 view, read from the history ahead of need
 * (while the server answers the login: a thread of the POP3 look's). */
struct pop3_probe_old;

/* h: a handle of the reader's own, whose last POP3 view held old_n UIDLs;
 * the result keeps it (the gone ones' sizes are asked later) and
 * pop3_probe_old_free closes it; closed at once where the result is NULL:
 * they cannot serve a probe (order not known, not exactly old_n of them,
 * out of memory: then *oom). */
struct pop3_probe_old *pop3_probe_load(struct ma_history *h, int64_t account, uint32_t old_n,
				       bool *oom);
void pop3_probe_old_free(struct pop3_probe_old *o);

/* v holds STAT (and CAPA) of this session, old the UIDLs on record, read
 * while IMAP may still be looking; then counts (which may wait for IMAP).
 * MA_OK with *done: v's entries are the complete listing, UIDLs and sizes
 * (new ones by `LIST n`), in message order, and v->probed says which were
 * on record (old's text now v's). MA_OK without: the probe proved nothing
 * (v untouched but for entries freed); list in full. Anything else: the
 * session failed. */
ma_status pop3_probe_view(struct ma_pop3 *s, struct pop3_probe_old *old, pop3_counts_fn counts,
			  void *ctx, struct ma_pop3_view *v, bool *done, struct ma_error *err);

/* For a STAT equal to the last one, with IMAP's proof that INBOX holds
 * the same UIDs: `UIDL 1` and `UIDL n` (one round trip) must give the first
 * and last UIDL on record, or the server's UIDLs are not those on record
 * any more (pop3_uidl_format changed) and the listing must be read.
 * MA_OK with *same. */
ma_status pop3_probe_ends(struct ma_pop3 *s, struct ma_history *h, int64_t account, uint32_t count,
			  bool *same, struct ma_error *err);

#endif
