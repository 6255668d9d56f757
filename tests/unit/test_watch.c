/* The watch's pure parts: the deleting device's rhythm (base/rhythm.h) and
 * its batch line (ma_watch_line). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "audit/watch.h"
#include "base/rhythm.h"

#define T0 1765000000LL
#define MIN 60
#define DAY 86400

static void fewer_than_three_is_no_rhythm(void **state)
{
	(void)state;
	struct ma_rhythm_event v[] = { { T0, T0 + 60 }, { T0 + 300, T0 + 360 } };
	struct ma_rhythm r;
	ma_rhythm_analyze(v, 2, &r);
	assert_int_equal(r.kind, MA_RHYTHM_NONE);
	assert_string_equal(r.text, "");
	ma_rhythm_analyze(NULL, 0, &r);
	assert_int_equal(r.kind, MA_RHYTHM_NONE);
}

/* The example: deleted 0-5 minutes after arrival, a poll every 5
 * minutes; two messages fetched in one poll are one burst. */
static void pop3_poll_every_five_minutes(void **state)
{
	(void)state;
	struct ma_rhythm_event v[] = {
		{ T0 + 10, T0 + 5 * MIN },
		{ T0 + 200, T0 + 5 * MIN + 1 },           /* same burst */
		{ T0 + 5 * MIN + 30, T0 + 10 * MIN + 2 },
		{ T0 + 12 * MIN, T0 + 15 * MIN + 1 },
		{ T0 + 20 * MIN - 5, T0 + 20 * MIN },
	};
	struct ma_rhythm r;
	ma_rhythm_analyze(v, 5, &r);
	assert_int_equal(r.kind, MA_RHYTHM_POLLING);
	assert_int_equal(r.bursts, 4);
	assert_true(r.period >= 5 * MIN - 2 && r.period <= 5 * MIN + 2);
	assert_string_equal(r.text,
			    "messages are deleted 0-5 minutes after they arrive, in bursts about every "
			    "5 minutes: a device fetching every 5 minutes over POP3 without \"leave a "
			    "copy on the server\"");
}

/* A poll that found nothing makes no burst: gaps of 1 and 2 periods are
 * still the same rhythm. */
static void polls_without_mail_keep_the_rhythm(void **state)
{
	(void)state;
	struct ma_rhythm_event v[] = {
		{ T0, T0 + 30 },
		{ T0 + 400, T0 + 630 },          /* +10 min */
		{ T0 + 1000, T0 + 1230 },        /* +10 min */
		{ T0 + 2300, T0 + 2430 },        /* +20 min: one empty poll */
	};
	struct ma_rhythm r;
	ma_rhythm_analyze(v, 4, &r);
	assert_int_equal(r.kind, MA_RHYTHM_POLLING);
	assert_int_equal(r.period, 600);
	assert_non_null(strstr(r.text, "in bursts about every 10 minutes"));
}

static void thunderbird_after_fourteen_days(void **state)
{
	(void)state;
	struct ma_rhythm_event v[] = {
		{ T0, T0 + 14 * DAY + 300 },
		{ T0 + 7 * 3600, T0 + 7 * 3600 + 14 * DAY + 120 },
		{ T0 + DAY, T0 + 15 * DAY + 900 },
	};
	struct ma_rhythm r;
	ma_rhythm_analyze(v, 3, &r);
	assert_int_equal(r.kind, MA_RHYTHM_AFTER_DAYS);
	assert_int_equal(r.days, 14);
	assert_non_null(strstr(r.text, "deleted about 14 days after they arrive"));
	assert_non_null(strstr(r.text, "after 14 days (Thunderbird's \"For at most 14 days\""));
}

static void soon_but_irregular(void **state)
{
	(void)state;
	struct ma_rhythm_event v[] = {
		{ T0, T0 + 90 },
		{ T0 + 1000, T0 + 1100 },
		{ T0 + 5000, T0 + 5030 },
		{ T0 + 5400, T0 + 5500 },
	};
	struct ma_rhythm r;
	ma_rhythm_analyze(v, 4, &r);
	assert_int_equal(r.kind, MA_RHYTHM_SOON);
	assert_int_equal(r.period, 0);
	assert_non_null(strstr(r.text, "30-100 seconds after they arrive, at no steady interval"));
}

static void old_mail_at_random_is_irregular(void **state)
{
	(void)state;
	struct ma_rhythm_event v[] = {
		{ T0 - 200 * DAY, T0 },
		{ T0 - 3 * DAY, T0 + 7 },
		{ T0 - 40 * DAY, T0 + 3 * DAY },
	};
	struct ma_rhythm r;
	ma_rhythm_analyze(v, 3, &r);
	assert_int_equal(r.kind, MA_RHYTHM_IRREGULAR);
	assert_non_null(strstr(r.text, "at irregular times"));
}

/* Arrival unknown (a message there before the watch began, no date):
 * the bursts alone still say it. Any order of input. */
static void arrival_unknown_bursts_alone(void **state)
{
	(void)state;
	struct ma_rhythm_event v[] = { { 0, T0 + 240 }, { 0, T0 }, { 0, T0 + 120 } };
	struct ma_rhythm r;
	ma_rhythm_analyze(v, 3, &r);
	assert_int_equal(r.kind, MA_RHYTHM_POLLING);
	assert_int_equal(r.period, 120);
	assert_string_equal(r.text, "messages are deleted in bursts about every 2 minutes: a device "
			    "fetching every 2 minutes over POP3 without \"leave a copy on the server\"");
}

/* The integration test's case: seconds apart. A clock a second behind
 * the other (arrival after deletion) is no negative delay. */
static void seconds_apart(void **state)
{
	(void)state;
	struct ma_rhythm_event v[] = { { T0 + 1, T0 + 2 }, { T0 + 5, T0 + 6 }, { T0 + 11, T0 + 10 } };
	struct ma_rhythm r;
	ma_rhythm_analyze(v, 3, &r);
	assert_int_equal(r.kind, MA_RHYTHM_POLLING);
	assert_int_equal(r.delay_min, 0);
	assert_non_null(strstr(r.text, "0-1 seconds after they arrive, in bursts about every 4 seconds"));
}

/* Local time with its offset, the event, the folder, the server's time,
 * From and Subject; server text cleaned: an escape sequence and a bidi
 * override become "?", never reach the terminal or the journal. */
static void line_is_cleaned_and_dated(void **state)
{
	(void)state;
	setenv("TZ", "Europe/Prague", 1);
	tzset();
	struct ma_watch_event e = {
		.kind = MA_WATCH_DESTROYED, .when = 1765051384, .folder = "INBOX",
		.internaldate = 1765051320,
		.from = "Jana Nov\xc3\xa1kov\xc3\xa1 <jana@example.cz>",
		.subject = "invoice \xe2\x80\xaegpj.exe\x1b[31m red",
	};
	char *line = ma_watch_line(&e);
	assert_non_null(line);
	assert_string_equal(line, "2025-12-06 21:03:04 +0100  destroyed  INBOX  2025-12-06 21:02  "
			    "Jana Nov\xc3\xa1kov\xc3\xa1 <jana@example.cz>  invoice ?gpj.exe?[31m red");
	free(line);

	struct ma_watch_event m = { .kind = MA_WATCH_MOVED, .when = 1765051384, .to = "Archiv\n",
				    .from = NULL, .subject = NULL };
	line = ma_watch_line(&m);
	assert_non_null(line);
	assert_string_equal(line, "2025-12-06 21:03:04 +0100  moved  INBOX  date unknown  (no sender)  "
			    "(no subject)  (now in Archiv?)");
	free(line);

	struct ma_watch_event r = { .kind = MA_WATCH_RHYTHM, .when = 1765051384, .text = "messages ..." };
	line = ma_watch_line(&r);
	assert_string_equal(line, "2025-12-06 21:03:04 +0100  rhythm  INBOX  deletion-rhythm: messages ...");
	free(line);
	/* The reconnect countdown is for screens: no batch line. */
	struct ma_watch_event t = { .kind = MA_WATCH_RETRYING, .when = 1765051384, .retry_s = 4 };
	assert_null(ma_watch_line(&t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fewer_than_three_is_no_rhythm),
		cmocka_unit_test(pop3_poll_every_five_minutes),
		cmocka_unit_test(polls_without_mail_keep_the_rhythm),
		cmocka_unit_test(thunderbird_after_fourteen_days),
		cmocka_unit_test(soon_but_irregular),
		cmocka_unit_test(old_mail_at_random_is_irregular),
		cmocka_unit_test(arrival_unknown_bursts_alone),
		cmocka_unit_test(seconds_apart),
		cmocka_unit_test(line_is_cleaned_and_dated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
