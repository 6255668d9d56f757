/* Probing a POP3 listing instead of reading it (internal to core/audit).
 *
 * A repeat audit knows the old list L of UIDLs (old_n of them, in the
 * server's order) and, from IMAP, how many of them vanished (V) and how
 * many new messages arrived (A). A POP3 server keeps its messages in
 * order and puts new mail last, so the new list should be L without V of
 * its entries, then A UIDLs not in L. The planner says which message
 * numbers to ask with `UIDL n`; each answer is the UIDL's index in L (0:
 * not in L). It asks a few evenly spaced numbers, the ends and the whole
 * tail, then splits every gap whose offset (old index - new number)
 * changes in four until each deletion is located exactly. Any contradiction (an
 * old UIDL in the tail, a new one before it, indexes that do not ascend,
 * more UIDLs between two answers than L has there, too many questions)
 * fails: the caller then lists every UIDL, never guesses.
 *
 * Pure: no I/O, no UIDL strings (the caller maps them to indexes), so the
 * unit tests can feed it any list. Positions and indexes are 1-based. */
#ifndef MA_AUDIT_UIDL_PROBE_H
#define MA_AUDIT_UIDL_PROBE_H

#include <stdbool.h>
#include <stddef.h>

struct uidl_probe {
	size_t old_n, new_n, fresh, vanished;
	size_t head;          /* new_n - fresh: the numbers that hold old UIDLs */
	size_t budget;        /* questions left before giving up */
	/* Answers for numbers 1..head: number and its index in L. */
	size_t *pos, *idx;
	size_t np, cap;
	size_t fresh_seen;    /* new numbers answered (each must be) */
	size_t *ask;          /* the questions of the current round */
	size_t nask;
	bool started, failed;
};

enum uidl_probe_step { PROBE_ASK, PROBE_DONE, PROBE_FAIL };

/* The most new messages probed one by one; more: the caller lists. */
#define UIDL_PROBE_FRESH_MAX 1000

/* false: the counts do not add up (new_n != old_n - vanished + fresh) or
 * there are too many new ones to probe; nothing to clear then. */
bool uidl_probe_init(struct uidl_probe *p, size_t old_n, size_t new_n, size_t fresh,
		     size_t vanished);
/* The next round: *ask (owned by p, ascending, valid until the next call)
 * holds *nask numbers to ask, each answered with uidl_probe_answer before
 * the next call. PROBE_DONE: every deletion is located
 * (uidl_probe_deleted). PROBE_FAIL also for out of memory. */
enum uidl_probe_step uidl_probe_next(struct uidl_probe *p, const size_t **ask, size_t *nask);
/* old_index: the answer's index in L, 0 when not in L. A contradiction
 * that needs no other answer fails at once (false). */
bool uidl_probe_answer(struct uidl_probe *p, size_t number, size_t old_index);
/* After PROBE_DONE: calls cb with each index of L that vanished,
 * ascending (exactly vanished of them). */
void uidl_probe_deleted(const struct uidl_probe *p, void (*cb)(size_t old_index, void *ctx), void *ctx);
void uidl_probe_clear(struct uidl_probe *p);

#endif
