#include "base/rhythm.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"

#define DAY 86400

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

enum unit { U_SECOND, U_MINUTE, U_HOUR, U_DAY };

/* The unit a duration of up to max seconds is best said in. */
static int64_t unit_for(int64_t max, enum unit *u)
{
	if (max < 120) {
		*u = U_SECOND;
		return 1;
	}
	if (max < 120 * 60) {
		*u = U_MINUTE;
		return 60;
	}
	if (max < 2 * DAY) {
		*u = U_HOUR;
		return 3600;
	}
	*u = U_DAY;
	return DAY;
}

/* Whole texts for each unit, so that a language can decline the unit by
 * the number (Czech: 1 minutu, 2 minuty, 5 minut). */
static void put_count(char *buf, size_t len, enum unit u, long long v)
{
	switch (u) {
	case U_SECOND:
		snprintf(buf, len, P_("%lld second", "%lld seconds", v), v);
		return;
	case U_MINUTE:
		snprintf(buf, len, P_("%lld minute", "%lld minutes", v), v);
		return;
	case U_HOUR:
		snprintf(buf, len, P_("%lld hour", "%lld hours", v), v);
		return;
	case U_DAY:
		break;
	}
	snprintf(buf, len, P_("%lld day", "%lld days", v), v);
}

static void put_about(char *buf, size_t len, enum unit u, long long v)
{
	switch (u) {
	case U_SECOND:
		snprintf(buf, len, P_("about %lld second", "about %lld seconds", v), v);
		return;
	case U_MINUTE:
		snprintf(buf, len, P_("about %lld minute", "about %lld minutes", v), v);
		return;
	case U_HOUR:
		snprintf(buf, len, P_("about %lld hour", "about %lld hours", v), v);
		return;
	case U_DAY:
		break;
	}
	snprintf(buf, len, P_("about %lld day", "about %lld days", v), v);
}

/* English says a range in the plural whatever its end; the end's number
 * chooses the form for languages that decline by it. */
static void put_range(char *buf, size_t len, enum unit u, long long a, long long b)
{
	switch (u) {
	case U_SECOND:
		snprintf(buf, len, P_("%lld-%lld seconds", "%lld-%lld seconds", b), a, b);
		return;
	case U_MINUTE:
		snprintf(buf, len, P_("%lld-%lld minutes", "%lld-%lld minutes", b), a, b);
		return;
	case U_HOUR:
		snprintf(buf, len, P_("%lld-%lld hours", "%lld-%lld hours", b), a, b);
		return;
	case U_DAY:
		break;
	}
	snprintf(buf, len, P_("%lld-%lld days", "%lld-%lld days", b), a, b);
}

/* "about 5 minutes" */
static void fmt_about(char *buf, size_t len, int64_t s)
{
	enum unit u;
	int64_t k = unit_for(s, &u);
	int64_t v = (s + k / 2) / k;
	if (v < 1)
		v = 1;
	put_count(buf, len, u, (long long)v);
}

/* "0-5 minutes", "about 2 hours" */
static void fmt_range(char *buf, size_t len, int64_t lo, int64_t hi)
{
	enum unit u;
	int64_t k = unit_for(hi, &u);
	int64_t a = lo / k, b = (hi + k - 1) / k;
	if (a == b)
		put_about(buf, len, u, (long long)a);
	else
		put_range(buf, len, u, (long long)a, (long long)b);
}

/* Every gap a whole number of periods (a poll that found nothing to
 * delete makes no burst), within a quarter of it or 3 s. */
static bool steady(const int64_t *gaps, size_t n, int64_t p)
{
	if (p <= 0)
		return false;
	int64_t slack = p / 4 > 3 ? p / 4 : 3;
	for (size_t i = 0; i < n; i++) {
		int64_t m = (gaps[i] + p / 2) / p;
		if (m < 1)
			m = 1;
		int64_t off = gaps[i] - m * p;
		if (off < -slack || off > slack)
			return false;
	}
	return true;
}

void ma_rhythm_analyze(const struct ma_rhythm_event *v, size_t n, struct ma_rhythm *out)
{
	memset(out, 0, sizeof *out);
	out->n = n;
	if (n < MA_RHYTHM_MIN)
		return;
	int64_t *del = malloc(n * sizeof *del);
	int64_t *gaps = malloc(n * sizeof *gaps);
	if (!del || !gaps) {
		free(del);
		free(gaps);
		out->kind = MA_RHYTHM_IRREGULAR;
		snprintf(out->text, sizeof out->text, "%s", _("messages are deleted at irregular times"));
		return;
	}
	bool any_delay = false;
	for (size_t i = 0; i < n; i++) {
		del[i] = v[i].deleted;
		if (v[i].arrived > 0) {
			int64_t d = v[i].deleted - v[i].arrived;
			if (d < 0)
				d = 0; /* clocks a second apart */
			if (!any_delay || d < out->delay_min)
				out->delay_min = d;
			if (!any_delay || d > out->delay_max)
				out->delay_max = d;
			any_delay = true;
		}
	}
	qsort(del, n, sizeof *del, cmp_i64);
	/* Bursts, and the gaps between their starts. */
	size_t ng = 0;
	int64_t burst_start = del[0];
	out->bursts = 1;
	for (size_t i = 1; i < n; i++) {
		if (del[i] - del[i - 1] <= MA_RHYTHM_BURST_GAP_S)
			continue;
		gaps[ng++] = del[i] - burst_start;
		burst_start = del[i];
		out->bursts++;
	}
	int64_t period = 0;
	if (ng >= 2) {
		int64_t minimum = gaps[0];
		for (size_t i = 1; i < ng; i++)
			minimum = gaps[i] < minimum ? gaps[i] : minimum;
		if (steady(gaps, ng, minimum))
			period = minimum;
	}
	free(del);
	free(gaps);

	char range[64], every[64];
	if (any_delay && out->delay_max < DAY) {
		fmt_range(range, sizeof range, out->delay_min, out->delay_max);
		if (period) {
			out->kind = MA_RHYTHM_POLLING;
			out->period = period;
			fmt_about(every, sizeof every, period);
			snprintf(out->text, sizeof out->text,
				 _("messages are deleted %s after they arrive, in bursts about every %s: "
				   "a device fetching every %s over POP3 without \"leave a copy on the "
				   "server\""), range, every, every);
		} else {
			out->kind = MA_RHYTHM_SOON;
			snprintf(out->text, sizeof out->text,
				 _("messages are deleted %s after they arrive, at no steady interval: a "
				   "device downloading over POP3 without \"leave a copy on the server\" "
				   "whenever it checks for mail (a phone when it is opened, for example)"),
				 range);
		}
		return;
	}
	if (any_delay && out->delay_min >= DAY - DAY / 8 &&
	    out->delay_max - out->delay_min <= DAY) {
		unsigned days = (unsigned)((out->delay_min + DAY / 2) / DAY);
		out->kind = MA_RHYTHM_AFTER_DAYS;
		out->days = days;
		snprintf(out->text, sizeof out->text,
			 P_("messages are deleted about %u day after they arrive: a mail program set "
			    "to remove mail from the server after %u day (Thunderbird's \"For at most "
			    "%u days\", Outlook's \"Remove from server after %u days\")",
			    "messages are deleted about %u days after they arrive: a mail program set "
			    "to remove mail from the server after %u days (Thunderbird's \"For at most "
			    "%u days\", Outlook's \"Remove from server after %u days\")", days),
			 days, days, days, days);
		return;
	}
	if (!any_delay && period) {
		out->kind = MA_RHYTHM_POLLING;
		out->period = period;
		fmt_about(every, sizeof every, period);
		snprintf(out->text, sizeof out->text,
			 _("messages are deleted in bursts about every %s: a device fetching every %s "
			   "over POP3 without \"leave a copy on the server\""), every, every);
		return;
	}
	out->kind = MA_RHYTHM_IRREGULAR;
	if (any_delay) {
		fmt_range(range, sizeof range, out->delay_min, out->delay_max);
		snprintf(out->text, sizeof out->text,
			 _("messages are deleted %s after they arrive, at irregular times: no mail "
			   "program's schedule; a person, webmail, or a program run by hand"), range);
	} else {
		snprintf(out->text, sizeof out->text, "%s",
			 _("messages are deleted at irregular times: no mail program's schedule; a "
			   "person, webmail, or a program run by hand"));
	}
}
