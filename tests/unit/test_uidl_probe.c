/* The UIDL probe planner (core/audit/uidl_probe.h), against simulated
 * servers: the old list L is 1..old_n, a new list holds old indexes or 0
 * for a new UIDL (so the "server" answers with the index directly). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "audit/uidl_probe.h"

struct sim {
	size_t *list;             /* by number - 1: old index, 0 for new */
	size_t n;
	size_t questions, rounds;
	bool *deleted;            /* what the planner said vanished, by old index - 1 */
	size_t ndeleted;
};

static void on_deleted(size_t old_index, void *ctx)
{
	struct sim *s = ctx;
	s->deleted[old_index - 1] = true;
	s->ndeleted++;
}

/* Runs the planner to its end against s; returns its last step. */
static enum uidl_probe_step drive(struct sim *s, size_t old_n, size_t fresh, size_t vanished)
{
	struct uidl_probe p;
	if (!uidl_probe_init(&p, old_n, s->n, fresh, vanished))
		return PROBE_FAIL;
	enum uidl_probe_step step;
	for (;;) {
		const size_t *ask;
		size_t nask;
		step = uidl_probe_next(&p, &ask, &nask);
		if (step != PROBE_ASK)
			break;
		s->rounds++;
		s->questions += nask;
		for (size_t i = 0; i < nask; i++) {
			assert_true(ask[i] >= 1 && ask[i] <= s->n);
			assert_true(i == 0 || ask[i] > ask[i - 1]);
			uidl_probe_answer(&p, ask[i], s->list[ask[i] - 1]);
		}
	}
	if (step == PROBE_DONE) {
		s->deleted = calloc(old_n ? old_n : 1, sizeof *s->deleted);
		assert_non_null(s->deleted);
		uidl_probe_deleted(&p, on_deleted, s);
	}
	uidl_probe_clear(&p);
	return step;
}

/* L = 1..old_n without gone[0..ngone) (ascending), then fresh new ones. */
static struct sim make(size_t old_n, const size_t *gone, size_t ngone, size_t fresh)
{
	struct sim s = { 0 };
	s.list = calloc(old_n + fresh + 1, sizeof *s.list);
	assert_non_null(s.list);
	for (size_t i = 1, g = 0; i <= old_n; i++) {
		if (g < ngone && gone[g] == i) {
			g++;
			continue;
		}
		s.list[s.n++] = i;
	}
	for (size_t j = 0; j < fresh; j++)
		s.list[s.n++] = 0;
	return s;
}

static void done_sim(struct sim *s)
{
	free(s->list);
	free(s->deleted);
}

/* Checks that exactly gone[] were found. */
static void found_exactly(const struct sim *s, size_t old_n, const size_t *gone, size_t ngone)
{
	assert_int_equal(s->ndeleted, ngone);
	for (size_t g = 0; g < ngone; g++)
		assert_true(s->deleted[gone[g] - 1]);
	size_t marked = 0;
	for (size_t i = 0; i < old_n; i++)
		marked += s->deleted[i];
	assert_int_equal(marked, ngone);
}

static void deletions_in_the_middle_and_at_both_ends(void **state)
{
	(void)state;
	size_t gone[] = { 1, 2, 500, 501, 502, 777, 999, 1000 };
	struct sim s = make(1000, gone, 8, 3);
	assert_int_equal(drive(&s, 1000, 3, 8), PROBE_DONE);
	found_exactly(&s, 1000, gone, 8);
	done_sim(&s);
}

static void nothing_changed_costs_two_questions(void **state)
{
	(void)state;
	struct sim s = make(100000, NULL, 0, 0);
	assert_int_equal(drive(&s, 100000, 0, 0), PROBE_DONE);
	assert_int_equal(s.ndeleted, 0);
	assert_int_equal(s.questions, 2);
	done_sim(&s);
}

/* The benchmark's case: 100 of 100,000 gone at random, 100 new. */
static void hundred_out_hundred_in_at_100000(void **state)
{
	(void)state;
	size_t gone[100];
	unsigned x = 12345;
	for (size_t g = 0; g < 100;) {
		x = x * 1103515245u + 12345u;
		size_t v = 1 + (x >> 8) % 100000;
		bool dup = false;
		for (size_t k = 0; k < g; k++)
			dup |= gone[k] == v;
		if (!dup)
			gone[g++] = v;
	}
	for (size_t i = 1; i < 100; i++) /* ascending, for make */
		for (size_t k = i; k > 0 && gone[k - 1] > gone[k]; k--) {
			size_t t = gone[k];
			gone[k] = gone[k - 1];
			gone[k - 1] = t;
		}
	struct sim s = make(100000, gone, 100, 100);
	assert_int_equal(drive(&s, 100000, 100, 100), PROBE_DONE);
	found_exactly(&s, 100000, gone, 100);
	/* About 4V + 2 + A, then 3 x log4(250) per deletion: far below the
	 * 100,000 lines of a listing. Each round is a round trip: the first,
	 * then four splitting the gaps in four (halving took eight). */
	print_message("%zu questions in %zu rounds\n", s.questions, s.rounds);
	assert_true(s.questions < 2000);
	assert_true(s.rounds <= 6);
	done_sim(&s);
}

/* A run of deletions inside one gap between two first-round answers, and
 * arrivals in the same audit. */
static void a_run_of_deletions_and_arrivals(void **state)
{
	(void)state;
	size_t gone[40];
	for (size_t g = 0; g < 40; g++)
		gone[g] = 301 + g;
	struct sim s = make(5000, gone, 40, 7);
	assert_int_equal(drive(&s, 5000, 7, 40), PROBE_DONE);
	found_exactly(&s, 5000, gone, 40);
	done_sim(&s);
}

static void everything_gone_and_empty(void **state)
{
	(void)state;
	size_t gone[5] = { 1, 2, 3, 4, 5 };
	struct sim s = make(5, gone, 5, 2);
	assert_int_equal(drive(&s, 5, 2, 5), PROBE_DONE);
	found_exactly(&s, 5, gone, 5);
	done_sim(&s);
	struct sim e = make(5, gone, 5, 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(drive(&e, 5, 0, 5), PROBE_DONE);
	found_exactly(&e, 5, gone, 5);
	done_sim(&e);
}

static void counts_that_do_not_add_up(void **state)
{
	(void)state;
	struct uidl_probe p;
	assert_false(uidl_probe_init(&p, 10, 10, 1, 0));  /* 10 - 0 + 1 != 10 */
	assert_false(uidl_probe_init(&p, 10, 12, 3, 2));
	assert_false(uidl_probe_init(&p, 3, 5, 6, 4));    /* more new than there are */
	assert_false(uidl_probe_init(&p, 3, 1, 0, 4));    /* more gone than there were */
	assert_false(uidl_probe_init(&p, 10, 10 + UIDL_PROBE_FRESH_MAX + 1, UIDL_PROBE_FRESH_MAX + 1, 0));
	assert_true(uidl_probe_init(&p, 10, 11, 1, 0));
	uidl_probe_clear(&p);
}

/* An old UIDL where only new ones may be (the tail). */
static void an_old_uidl_in_the_tail_fails(void **state)
{
	(void)state;
	struct sim s = make(100, NULL, 0, 2);
	s.list[101] = 50; /* the last "new" one is old */
	assert_int_equal(drive(&s, 100, 2, 0), PROBE_FAIL);
	done_sim(&s);
}

/* A new UIDL before the tail: the first number is always asked. */
static void a_new_uidl_before_the_tail_fails(void **state)
{
	(void)state;
	struct sim s = make(100, NULL, 0, 0);
	s.list[0] = 0;
	assert_int_equal(drive(&s, 100, 0, 0), PROBE_FAIL);
	done_sim(&s);
	/* Where bisection has to go: 3 gone, one replaced by a stranger. */
	size_t gone[] = { 10, 40, 70 };
	struct sim t = make(100, gone, 3, 0);
	t.list[38] = 0; /* number 39, just after the deletion of 40 */
	/* Locating that deletion asks both its neighbours. (A stranger
	 * between two answers of the same offset is what the planner cannot
	 * see: IMAP's counts and STAT's size cover that, pop3_probe.c.) */
	assert_int_equal(drive(&t, 100, 0, 3), PROBE_FAIL);
	done_sim(&t);
}

/* Old UIDLs out of their order, or one twice. */
static void disorder_and_repeats_fail(void **state)
{
	(void)state;
	struct sim s = make(1000, NULL, 0, 0);
	s.list[0] = 1000;
	s.list[999] = 1;
	assert_int_equal(drive(&s, 1000, 0, 0), PROBE_FAIL);
	done_sim(&s);
	size_t gone[] = { 500 };
	struct sim t = make(1000, gone, 1, 0);
	for (size_t i = 0; i < t.n; i++) /* every answer from 300 on repeats */
		if (t.list[i] > 300)
			t.list[i] = 300;
	assert_int_equal(drive(&t, 1000, 0, 1), PROBE_FAIL);
	done_sim(&t);
}

/* More UIDLs between two answers than L holds there. */
static void a_list_too_long_between_answers_fails(void **state)
{
	(void)state;
	/* Nothing gone: numbers 1 and 10 (the only ones asked) hold
	 * indexes 1 and 5, which leave 3 indexes for 8 numbers. */
	struct sim s = make(10, NULL, 0, 0);
	s.list[9] = 5;
	assert_int_equal(drive(&s, 10, 0, 0), PROBE_FAIL);
	assert_int_equal(s.questions, 2);
	done_sim(&s);
}

/* So many deletions that probing would cost more than listing. */
static void too_many_questions_fail(void **state)
{
	(void)state;
	size_t n = 20000, ngone = 5000;
	size_t *gone = malloc(ngone * sizeof *gone);
	assert_non_null(gone);
	for (size_t g = 0; g < ngone; g++)
		gone[g] = 1 + g * 4;
	struct sim s = make(n, gone, ngone, 0);
	assert_int_equal(drive(&s, n, 0, ngone), PROBE_FAIL);
	done_sim(&s);
	free(gone);
}

static void answers_out_of_range_fail(void **state)
{
	(void)state;
	struct uidl_probe p;
	assert_true(uidl_probe_init(&p, 10, 10, 0, 0));
	assert_false(uidl_probe_answer(&p, 0, 1));
	uidl_probe_clear(&p);
	assert_true(uidl_probe_init(&p, 10, 10, 0, 0));
	assert_false(uidl_probe_answer(&p, 11, 1));
	uidl_probe_clear(&p);
	assert_true(uidl_probe_init(&p, 10, 10, 0, 0));
	assert_false(uidl_probe_answer(&p, 1, 11));
	const size_t *ask;
	size_t nask;
	assert_int_equal(uidl_probe_next(&p, &ask, &nask), PROBE_FAIL);
	uidl_probe_clear(&p);
}

/* A new one never answered: not done. */
static void an_unanswered_new_one_fails(void **state)
{
	(void)state;
	struct uidl_probe p;
	assert_true(uidl_probe_init(&p, 3, 4, 1, 0));
	const size_t *ask;
	size_t nask;
	assert_int_equal(uidl_probe_next(&p, &ask, &nask), PROBE_ASK);
	for (size_t i = 0; i < nask; i++)
		if (ask[i] <= 3)
			assert_true(uidl_probe_answer(&p, ask[i], ask[i]));
	assert_int_equal(uidl_probe_next(&p, &ask, &nask), PROBE_FAIL);
	uidl_probe_clear(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(deletions_in_the_middle_and_at_both_ends),
		cmocka_unit_test(nothing_changed_costs_two_questions),
		cmocka_unit_test(hundred_out_hundred_in_at_100000),
		cmocka_unit_test(a_run_of_deletions_and_arrivals),
		cmocka_unit_test(everything_gone_and_empty),
		cmocka_unit_test(counts_that_do_not_add_up),
		cmocka_unit_test(an_old_uidl_in_the_tail_fails),
		cmocka_unit_test(a_new_uidl_before_the_tail_fails),
		cmocka_unit_test(disorder_and_repeats_fail),
		cmocka_unit_test(a_list_too_long_between_answers_fails),
		cmocka_unit_test(too_many_questions_fail),
		cmocka_unit_test(answers_out_of_range_fail),
		cmocka_unit_test(an_unanswered_new_one_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
