/* core/base/model.c: what a folder is for (ma_folder_role, ma_role_name). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/model.h"

static void expect_role(const char *name, unsigned special, enum ma_role want)
{
	enum ma_role got = ma_folder_role(name, special);
	if (got != want)
		fail_msg("\"%s\" (special %#x): %s, want %s", name ? name : "(null)", special,
			 ma_role_name(got), ma_role_name(want));
}

static void role_from_special_use(void **state)
{
	(void)state;
	/* The attributes win over any name. */
	expect_role("Papierkorb", MA_SPECIAL_TRASH, MA_ROLE_TRASH);
	expect_role("Trash", MA_SPECIAL_SENT, MA_ROLE_SENT);
	expect_role("x", MA_SPECIAL_DRAFTS, MA_ROLE_DRAFTS);
	expect_role("x", MA_SPECIAL_JUNK, MA_ROLE_JUNK);
	expect_role("Projects/Old", MA_SPECIAL_ARCHIVE, MA_ROLE_ARCHIVE);
	/* Of several, the one whose losses count most. */
	expect_role("x", MA_SPECIAL_DRAFTS | MA_SPECIAL_ARCHIVE, MA_ROLE_ARCHIVE);
	expect_role("x", MA_SPECIAL_TRASH | MA_SPECIAL_SENT, MA_ROLE_SENT);
	expect_role("x", MA_SPECIAL_DRAFTS | MA_SPECIAL_TRASH, MA_ROLE_TRASH);
	expect_role("x", MA_SPECIAL_JUNK | MA_SPECIAL_TRASH, MA_ROLE_TRASH);
	/* \All and \Flagged name no role: the name decides. */
	expect_role("All Mail", MA_SPECIAL_ALL, MA_ROLE_ORDINARY);
	expect_role("Trash", MA_SPECIAL_FLAGGED, MA_ROLE_TRASH);
	/* INBOX is INBOX, whatever a server says of it. */
	expect_role("INBOX", MA_SPECIAL_TRASH, MA_ROLE_INBOX);
}

static void role_from_name(void **state)
{
	(void)state;
	expect_role("INBOX", 0, MA_ROLE_INBOX);
	expect_role("inbox", 0, MA_ROLE_INBOX);
	expect_role("InBox", 0, MA_ROLE_INBOX);
	expect_role(NULL, 0, MA_ROLE_ORDINARY);
	expect_role("", 0, MA_ROLE_ORDINARY);
	expect_role("Work", 0, MA_ROLE_ORDINARY);

	const struct {
		const char *name;
		enum ma_role role;
	} names[] = {
		{ "Trash", MA_ROLE_TRASH }, { "TRASH", MA_ROLE_TRASH }, { "Deleted Items", MA_ROLE_TRASH },
		{ "deleted messages", MA_ROLE_TRASH }, { "Deleted", MA_ROLE_TRASH },
		{ "Ko\xc5\xa1", MA_ROLE_TRASH }, { "KO\xc5\xa0", MA_ROLE_TRASH }, { "Kos", MA_ROLE_TRASH },
		/* "Koš" decomposed: s + COMBINING CARON (macOS names files so) */
		{ "Kos\xcc\x8c", MA_ROLE_TRASH },
		{ "Junk", MA_ROLE_JUNK }, { "Spam", MA_ROLE_JUNK }, { "Junk E-mail", MA_ROLE_JUNK },
		{ "Bulk Mail", MA_ROLE_JUNK }, { "Nevy\xc5\xbe\xc3\xa1\x64\x61n\xc3\xa1 po\xc5\xa1ta", MA_ROLE_JUNK },
		{ "NEVY\xc5\xbd\xc3\x81\x44\x41N\xc3\x81 PO\xc5\xa0TA", MA_ROLE_JUNK },
		{ "Nevyzadana posta", MA_ROLE_JUNK },
		{ "Drafts", MA_ROLE_DRAFTS }, { "Draft", MA_ROLE_DRAFTS }, { "Koncepty", MA_ROLE_DRAFTS },
		{ "Rozepsan\xc3\xa9", MA_ROLE_DRAFTS },
		{ "Sent", MA_ROLE_SENT }, { "Sent Items", MA_ROLE_SENT }, { "Sent Messages", MA_ROLE_SENT },
		{ "Sent Mail", MA_ROLE_SENT }, { "Odeslan\xc3\xa1 po\xc5\xa1ta", MA_ROLE_SENT },
		{ "Odeslane", MA_ROLE_SENT }, { "Odeslan\xc3\xa1", MA_ROLE_SENT },
		{ "Archive", MA_ROLE_ARCHIVE }, { "Archives", MA_ROLE_ARCHIVE }, { "Archiv", MA_ROLE_ARCHIVE },
		/* Near misses stay ordinary folders. */
		{ "Trash2", MA_ROLE_ORDINARY }, { "Old Trash", MA_ROLE_ORDINARY }, { "Sent ", MA_ROLE_ORDINARY },
		{ "Archived", MA_ROLE_ORDINARY }, { "Ko\xc5\xa1\xc3\xadk", MA_ROLE_ORDINARY },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		expect_role(names[i].name, 0, names[i].role);
}

static void role_from_hierarchy(void **state)
{
	(void)state;
	/* Below INBOX (Cyrus, Courier: "." and "/") or [Gmail]: the last level. */
	expect_role("INBOX.Trash", 0, MA_ROLE_TRASH);
	expect_role("INBOX/Sent", 0, MA_ROLE_SENT);
	expect_role("inbox.Drafts", 0, MA_ROLE_DRAFTS);
	expect_role("INBOX.Spam", 0, MA_ROLE_JUNK);
	expect_role("[Gmail]/Spam", 0, MA_ROLE_JUNK);
	expect_role("[Google Mail]/Bin", 0, MA_ROLE_ORDINARY);
	expect_role("[Google Mail]/Sent Mail", 0, MA_ROLE_SENT);
	/* A user's own folder of that name elsewhere is an ordinary folder:
	 * its losses must stay critical. */
	expect_role("Projects/Trash", 0, MA_ROLE_ORDINARY);
	expect_role("Old.Junk", 0, MA_ROLE_ORDINARY);
	expect_role("INBOX.Work.Trash", 0, MA_ROLE_ORDINARY);
	expect_role("INBOXES/Trash", 0, MA_ROLE_ORDINARY);
	expect_role("INBOX.", 0, MA_ROLE_ORDINARY);
	/* A dot inside a top-level name is no hierarchy. */
	expect_role("Mr. Smith", 0, MA_ROLE_ORDINARY);
}

static void odd_bytes(void **state)
{
	(void)state;
	/* Invalid UTF-8 compares as itself: never a match, never a crash. */
	expect_role("Tr\xff" "ash", 0, MA_ROLE_ORDINARY);
	expect_role("Ko\xc5", 0, MA_ROLE_ORDINARY);
	expect_role("\xc5", 0, MA_ROLE_ORDINARY);
	expect_role("\xf0\x9f\x97\x91 Trash", 0, MA_ROLE_ORDINARY);
}

static void role_names(void **state)
{
	(void)state;
	assert_string_equal(ma_role_name(MA_ROLE_INBOX), "INBOX");
	assert_string_equal(ma_role_name(MA_ROLE_ORDINARY), "folder");
	assert_string_equal(ma_role_name(MA_ROLE_SENT), "Sent");
	assert_string_equal(ma_role_name(MA_ROLE_DRAFTS), "Drafts");
	assert_string_equal(ma_role_name(MA_ROLE_TRASH), "Trash");
	assert_string_equal(ma_role_name(MA_ROLE_JUNK), "Junk");
	assert_string_equal(ma_role_name(MA_ROLE_ARCHIVE), "Archive");
	assert_string_equal(ma_role_name((enum ma_role)99), "folder");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(role_from_special_use),
		cmocka_unit_test(role_from_name),
		cmocka_unit_test(role_from_hierarchy),
		cmocka_unit_test(odd_bytes),
		cmocka_unit_test(role_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
