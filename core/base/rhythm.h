/* The deleting device's rhythm: from when destroyed messages arrived and
 * when they were deleted, what deletes them. Numbers in, a sentence out; no
 * I/O, so the watch (audit/watch.h) and the tests share it.
 *
 * A POP3 program without "leave a copy on the server" deletes what it
 * downloads each time it checks for mail: shortly after arrival, in bursts
 * at its polling interval. One set to "remove from the server after N days"
 * deletes each message about N days after it arrived, whatever the hour.
 * Anything else is named as irregular: a person, or a program acting on
 * its own schedule. */
#ifndef MA_RHYTHM_H
#define MA_RHYTHM_H

#include <stddef.h>
#include <stdint.h>

/* Deletions closer together than this belong to one burst: one run of a
 * POP3 program deletes all it downloaded within seconds. */
#define MA_RHYTHM_BURST_GAP_S 2
/* Fewer destroyed messages than this make no rhythm. */
#define MA_RHYTHM_MIN 3

struct ma_rhythm_event {
	int64_t arrived;          /* Unix time it arrived; 0: unknown */
	int64_t deleted;          /* Unix time it was deleted */
};

enum ma_rhythm_kind {
	MA_RHYTHM_NONE,           /* fewer than MA_RHYTHM_MIN deletions */
	MA_RHYTHM_POLLING,        /* soon after arrival, in bursts at a steady interval */
	MA_RHYTHM_SOON,           /* soon after arrival, at no steady interval */
	MA_RHYTHM_AFTER_DAYS,     /* about the same number of days after arrival */
	MA_RHYTHM_IRREGULAR,      /* none of those */
};

struct ma_rhythm {
	enum ma_rhythm_kind kind;
	size_t n;                 /* deletions looked at */
	size_t bursts;
	int64_t delay_min, delay_max; /* seconds after arrival, over those with arrival known */
	int64_t period;           /* seconds between bursts when steady, else 0 */
	unsigned days;            /* MA_RHYTHM_AFTER_DAYS: the N of "after N days" */
	char text[640];           /* the sentence, "" for MA_RHYTHM_NONE (room for a translation) */
};

/* Analyses v[0..n) (any order). */
void ma_rhythm_analyze(const struct ma_rhythm_event *v, size_t n, struct ma_rhythm *out);

#endif
