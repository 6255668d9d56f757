#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/loss.h"

/* One folder's numbers: allocated (UIDNEXT now - then), present, moved_in. */
#define F(name, role, alloc, pres, moved) \
	{ name, MA_ROLE_##role, alloc, pres, moved, 0xdead }

static void arrived_in_inbox_and_deleted(void **state)
{
	(void)state;
	struct ma_arrivals a[] = {
		F("INBOX", INBOX, 5, 0, 0),
		F("Archive", ARCHIVE, 0, 0, 0),
		F("Trash", TRASH, 0, 0, 0),
	};
	ma_loss_unseen(a, 3);
	assert_int_equal(a[0].deleted, 5);
	assert_int_equal(a[1].deleted, 0);
	assert_int_equal(a[2].deleted, 0);
}

static void nothing_arrived_nothing_lost(void **state)
{
	(void)state;
	struct ma_arrivals a[] = { F("INBOX", INBOX, 0, 0, 0), F("Work", ORDINARY, 3, 3, 0) };
	ma_loss_unseen(a, 2);
	assert_int_equal(a[0].deleted, 0);
	assert_int_equal(a[1].deleted, 0);
	ma_loss_unseen(NULL, 0);   /* no folder at all */
}

/* Two arrived; one was moved to Archive, where it still is: the other was
 * deleted (a move needs a UID in another folder, and there is one). */
static void moved_to_archive_and_kept(void **state)
{
	(void)state;
	struct ma_arrivals a[] = { F("INBOX", INBOX, 1, 0, 0), F("Archive", ARCHIVE, 1, 1, 0) };
	ma_loss_unseen(a, 2);
	assert_int_equal(a[0].deleted, 0);
	assert_int_equal(a[1].deleted, 0);

	struct ma_arrivals b[] = { F("INBOX", INBOX, 2, 0, 0), F("Archive", ARCHIVE, 1, 1, 0) };
	ma_loss_unseen(b, 2);
	assert_int_equal(b[0].deleted, 1);
	assert_int_equal(b[1].deleted, 0);
}

/* Arrived, moved to Trash, Trash emptied: deleting on purpose, a warning
 * in Trash, not a critical loss in INBOX. The two folders' UIDs cannot
 * explain each other's departures in a circle: the message was delivered
 * somewhere first. */
static void moved_to_trash_then_emptied(void **state)
{
	(void)state;
	struct ma_arrivals a[] = { F("INBOX", INBOX, 1, 0, 0), F("Trash", TRASH, 1, 0, 0) };
	ma_loss_unseen(a, 2);
	assert_int_equal(a[0].deleted, 0);
	assert_int_equal(a[1].deleted, 1);

	/* Several folders with departures can explain each other's through
	 * one message moved around (Junk to INBOX to Trash to Junk ...): only
	 * the last of such a chain must have been deleted. The bound is the
	 * least loss consistent with the numbers, and it goes to Trash, the
	 * warning folder with the most departures. */
	struct ma_arrivals b[] = {
		F("Junk", JUNK, 2, 0, 0), F("INBOX", INBOX, 3, 0, 0), F("Trash", TRASH, 3, 0, 0),
	};
	ma_loss_unseen(b, 3);
	assert_int_equal(b[0].deleted, 0);
	assert_int_equal(b[1].deleted, 0);
	assert_int_equal(b[2].deleted, 1);
}

/* New messages in Sent and Drafts are the user's own: never where INBOX
 * mail went. */
static void sent_and_drafts_never_explain_inbox(void **state)
{
	(void)state;
	struct ma_arrivals a[] = {
		F("INBOX", INBOX, 3, 0, 0), F("Sent", SENT, 3, 3, 0), F("Drafts", DRAFTS, 4, 1, 0),
	};
	ma_loss_unseen(a, 3);
	assert_int_equal(a[0].deleted, 3);
	assert_int_equal(a[1].deleted, 0);
	assert_int_equal(a[2].deleted, 0);

	/* Sent mail deleted from Sent is a critical loss like any other. */
	struct ma_arrivals b[] = { F("Sent", SENT, 2, 0, 0), F("Work", ORDINARY, 0, 0, 0) };
	ma_loss_unseen(b, 2);
	assert_int_equal(b[0].deleted, 2);
}

static void drafts_churn_is_never_a_loss(void **state)
{
	(void)state;
	struct ma_arrivals a[] = { F("Drafts", DRAFTS, 40, 1, 0), F("INBOX", INBOX, 0, 0, 0) };
	ma_loss_unseen(a, 2);
	assert_int_equal(a[0].deleted, 0);
	assert_int_equal(a[1].deleted, 0);
}

/* UIDs that known messages were matched to (moved_in) are taken. */
static void known_moves_consume_room(void **state)
{
	(void)state;
	struct ma_arrivals a[] = { F("INBOX", INBOX, 2, 0, 0), F("Archive", ARCHIVE, 2, 2, 2) };
	ma_loss_unseen(a, 2);
	assert_int_equal(a[0].deleted, 2);

	struct ma_arrivals b[] = { F("INBOX", INBOX, 2, 0, 0), F("Archive", ARCHIVE, 3, 3, 2) };
	ma_loss_unseen(b, 2);
	assert_int_equal(b[0].deleted, 1);
}

/* INBOX and Work compete for Archive's one free UID. INBOX's departure can
 * go to Work and Work's two to INBOX and Archive (delivered to Work, moved
 * to INBOX, back to Work, then to Archive): nothing need be lost. Handing
 * Archive to whichever folder comes first would leave Work one short. */
static void competing_folders_get_the_exact_bound(void **state)
{
	(void)state;
	struct ma_arrivals a[] = {
		F("INBOX", INBOX, 1, 0, 0), F("Work", ORDINARY, 2, 0, 0), F("Archive", ARCHIVE, 1, 1, 0),
	};
	ma_loss_unseen(a, 3);
	assert_int_equal(a[0].deleted, 0);
	assert_int_equal(a[1].deleted, 0);

	/* Sent has departures but no room (nothing moves into Sent). INBOX's
	 * three can only go to Archive's one free UID: two are lost, in
	 * INBOX; Sent's two fit in INBOX's own UIDs and Archive's. Exactly
	 * the two, not a third for Sent that Archive's UID, given to INBOX
	 * first, could no longer take. */
	struct ma_arrivals c[] = {
		F("INBOX", INBOX, 3, 0, 0), F("Sent", SENT, 2, 0, 0), F("Archive", ARCHIVE, 1, 1, 0),
	};
	ma_loss_unseen(c, 3);
	assert_int_equal(c[0].deleted, 2);
	assert_int_equal(c[1].deleted, 0);
	assert_int_equal(c[2].deleted, 0);
}

/* The critical count is the least consistent with the numbers, and a
 * folder whose own departures exceed all the room elsewhere gets at least
 * the excess. */
static void attribution_by_own_excess(void **state)
{
	(void)state;
	struct ma_arrivals a[] = {
		F("INBOX", INBOX, 10, 0, 0), F("Work", ORDINARY, 1, 0, 0), F("Archive", ARCHIVE, 2, 2, 0),
	};
	ma_loss_unseen(a, 3);
	/* Room outside INBOX: Work 1 + Archive 2 = 3, so INBOX lost at
	 * least 7; Work's departure can have gone to INBOX. */
	assert_int_equal(a[0].deleted, 7);
	assert_int_equal(a[1].deleted, 0);
	assert_int_equal(a[2].deleted, 0);

	/* Two folders emptied of what arrived: one message can have gone
	 * back and forth, but the chain ends deleted. The one loss neither
	 * folder must own goes to the one with the most departures, INBOX on
	 * a tie. */
	struct ma_arrivals b[] = { F("Work", ORDINARY, 2, 0, 0), F("INBOX", INBOX, 2, 0, 0) };
	ma_loss_unseen(b, 2);
	assert_int_equal(b[0].deleted, 0);
	assert_int_equal(b[1].deleted, 1);
}

static void bad_inputs_are_clamped(void **state)
{
	(void)state;
	/* present and moved_in above allocated; deleted's old value ignored */
	struct ma_arrivals a[] = {
		F("INBOX", INBOX, 3, 9, 0), F("Archive", ARCHIVE, 2, 0, 7), F("Odd", ORDINARY, 0, 5, 5),
	};
	ma_loss_unseen(a, 3);
	assert_int_equal(a[0].deleted, 0);   /* nothing departed */
	/* Archive's own UIDs are all taken, but its 2 departures can have
	 * gone to INBOX's 3. */
	assert_int_equal(a[1].deleted, 0);
	assert_int_equal(a[2].deleted, 0);

	struct ma_arrivals b[] = { F("INBOX", INBOX, 4, 0, 9), F("Archive", ARCHIVE, 4, 4, 9) };
	ma_loss_unseen(b, 2);
	assert_int_equal(b[0].deleted, 4);   /* all of Archive's UIDs are taken */

	/* An unknown role counts as an ordinary folder: critical, and a sink. */
	struct ma_arrivals c[] = { { "X", (enum ma_role)99, 2, 0, 0, 0 }, F("INBOX", INBOX, 0, 0, 0) };
	ma_loss_unseen(c, 2);
	assert_int_equal(c[0].deleted, 2);

	/* Sums beyond 32 bits do not wrap. */
	struct ma_arrivals d[] = {
		F("INBOX", INBOX, UINT32_MAX, 0, 0), F("Work", ORDINARY, UINT32_MAX, 0, 0),
		F("Archive", ARCHIVE, UINT32_MAX, UINT32_MAX, 0),
	};
	ma_loss_unseen(d, 3);
	assert_int_equal((uint64_t)d[0].deleted + d[1].deleted, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(arrived_in_inbox_and_deleted),
		cmocka_unit_test(nothing_arrived_nothing_lost),
		cmocka_unit_test(moved_to_archive_and_kept),
		cmocka_unit_test(moved_to_trash_then_emptied),
		cmocka_unit_test(sent_and_drafts_never_explain_inbox),
		cmocka_unit_test(drafts_churn_is_never_a_loss),
		cmocka_unit_test(known_moves_consume_room),
		cmocka_unit_test(competing_folders_get_the_exact_bound),
		cmocka_unit_test(attribution_by_own_excess),
		cmocka_unit_test(bad_inputs_are_clamped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
