/* The UIDL probe planner: see uidl_probe.h. */
#include "audit/uidl_probe.h"

#include <stdlib.h>
#include <string.h>

/* Questions allowed in all: beyond this, listing every UIDL costs less
 * (a probe's reply is about as long as a line of the listing, plus the
 * command sent). */
static size_t budget_for(size_t new_n)
{
	return 64 + new_n / 8;
}

bool uidl_probe_init(struct uidl_probe *p, size_t old_n, size_t new_n, size_t fresh,
		     size_t vanished)
{
	memset(p, 0, sizeof *p);
	if (fresh > new_n || vanished > old_n || old_n - vanished != new_n - fresh ||
	    fresh > UIDL_PROBE_FRESH_MAX)
		return false;
	p->old_n = old_n;
	p->new_n = new_n;
	p->fresh = fresh;
	p->vanished = vanished;
	p->head = new_n - fresh;
	p->budget = budget_for(new_n);
	return true;
}

void uidl_probe_clear(struct uidl_probe *p)
{
	free(p->pos);
	free(p->idx);
	free(p->ask);
	memset(p, 0, sizeof *p);
}

/* Adds number to the round's questions unless it is the last one asked
 * (the callers add in ascending order). false: more than cap. */
static bool ask(struct uidl_probe *p, size_t number, size_t cap)
{
	size_t n = p->nask;
	if (n > 0 && p->ask[n - 1] == number)
		return true;
	if (n >= cap)
		return false;
	p->ask[n] = number;
	p->nask = n + 1;
	return true;
}

/* The first round: both ends of the old part, about 4V + 2 numbers
 * evenly spaced in it (so that most gaps hold at most one deletion), and
 * every new one (they must all be new, and last). */
static bool first_round(struct uidl_probe *p)
{
	size_t even = 4 * p->vanished + 2;
	if (even > p->head)
		even = p->head;
	size_t cap = even + 2 + p->fresh;
	p->nask = 0;
	if (!(p->ask = calloc(cap, sizeof *p->ask)))
		return false;
	if (p->head && !ask(p, 1, cap))
		return false;
	for (size_t i = 1; even > 1 && i + 1 < even; i++)
		if (!ask(p, 1 + i * (p->head - 1) / (even - 1), cap))
			return false;
	if (p->head && !ask(p, p->head, cap))
		return false;
	for (size_t n = p->head + 1; n <= p->new_n; n++)
		if (!ask(p, n, cap))
			return false;
	return true;
}

struct answer {
	size_t pos, idx;
};

static int cmp_answer(const void *a, const void *b)
{
	const struct answer *x = a, *y = b;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Answer i of the sorted answers, between the sentinels (0, 0) and
 * (head + 1, old_n + 1): what L must look like around them. */
static struct answer at(const struct uidl_probe *p, size_t i)
{
	if (i == 0)
		return (struct answer){ 0, 0 };
	if (i > p->np)
		return (struct answer){ p->head + 1, p->old_n + 1 };
	return (struct answer){ p->pos[i - 1], p->idx[i - 1] };
}

/* Sorts the answers and checks them: numbers distinct, indexes
 * ascending, never more numbers between two answers than L has indexes
 * there. */
static bool sort_and_check(struct uidl_probe *p)
{
	struct answer *a = malloc((p->np ? p->np : 1) * sizeof *a);
	if (!a)
		return false;
	for (size_t i = 0; i < p->np; i++)
		a[i] = (struct answer){ p->pos[i], p->idx[i] };
	qsort(a, p->np, sizeof *a, cmp_answer);
	for (size_t i = 0; i < p->np; i++) {
		p->pos[i] = a[i].pos;
		p->idx[i] = a[i].idx;
	}
	free(a);
	for (size_t i = 0; i <= p->np; i++) {
		struct answer x = at(p, i), y = at(p, i + 1);
		if (!(y.pos > x.pos && y.idx > x.idx && y.idx - x.idx >= y.pos - x.pos))
			return false;
	}
	return true;
}

/* Each round splits a gap in this many parts. Every round is a round
 * trip (a batch of pipelined UIDLs); questions are cheap (30 bytes each).
 * Halving took 8 rounds to locate 100 deletions among 80,000 messages,
 * quartering takes 4, for about half again as many questions. */
#define SPLIT 4

/* The next round: SPLIT - 1 numbers evenly inside every gap whose offset
 * changes and that still has a number inside (its deletions are not
 * located yet). */
static bool split_round(struct uidl_probe *p)
{
	size_t cap = (p->np + 1) * (SPLIT - 1);
	free(p->ask);
	p->nask = 0;
	if (!(p->ask = malloc(cap * sizeof *p->ask)))
		return false;
	for (size_t i = 0; i <= p->np; i++) {
		struct answer x = at(p, i), y = at(p, i + 1);
		size_t d = y.pos - x.pos;
		if (d <= 1 || y.idx - x.idx == d)
			continue;
		for (size_t j = 1; j < SPLIT; j++) {
			size_t n = x.pos + j * d / SPLIT;
			if (n > x.pos && !ask(p, n, cap))
				return false;
		}
	}
	return true;
}

enum uidl_probe_step uidl_probe_next(struct uidl_probe *p, const size_t **asked, size_t *nasked)
{
	*asked = NULL;
	*nasked = 0;
	if (p->failed)
		goto fail;
	bool first = !p->started;
	p->started = true;
	if (first ? !first_round(p) : !sort_and_check(p) || !split_round(p))
		goto fail;
	if (p->nask == 0) {
		/* Every new one must have been answered, and new. */
		if (p->fresh_seen != p->fresh || (first && !sort_and_check(p)))
			goto fail;
		return PROBE_DONE;
	}
	if (p->nask > p->budget)
		goto fail;
	p->budget -= p->nask;
	*asked = p->ask;
	*nasked = p->nask;
	return PROBE_ASK;
fail:
	p->failed = true;
	return PROBE_FAIL;
}

bool uidl_probe_answer(struct uidl_probe *p, size_t number, size_t old_index)
{
	if (p->failed || number == 0 || number > p->new_n || old_index > p->old_n)
		goto fail;
	/* A new message must be new; an old place must hold an old UIDL. */
	if (number > p->head) {
		if (old_index != 0)
			goto fail;
		p->fresh_seen++;
		return true;
	}
	if (old_index == 0)
		goto fail;
	if (p->np == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		size_t *np = realloc(p->pos, cap * sizeof *np);
		if (!np)
			goto fail;
		p->pos = np;
		size_t *ni = realloc(p->idx, cap * sizeof *ni);
		if (!ni)
			goto fail;
		p->idx = ni;
		p->cap = cap;
	}
	p->pos[p->np] = number;
	p->idx[p->np] = old_index;
	p->np++;
	return true;
fail:
	p->failed = true;
	return false;
}

void uidl_probe_deleted(const struct uidl_probe *p, void (*cb)(size_t old_index, void *ctx), void *ctx)
{
	struct answer prev = { 0, 0 };
	for (size_t i = 0; i <= p->np; i++) {
		struct answer next = i < p->np ? (struct answer){ p->pos[i], p->idx[i] }
					       : (struct answer){ p->head + 1, p->old_n + 1 };
		if (next.idx - prev.idx != next.pos - prev.pos)
			for (size_t k = prev.idx + 1; k < next.idx; k++)
				cb(k, ctx);
		prev = next;
	}
}
