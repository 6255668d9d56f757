#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/parse.h"
#include "base/text.h"
#include "net/transport.h"

/* Test strings are NUL-terminated, but the parsers must not rely on it: L()
 * passes the length, and some tests hand over an exact-size heap copy so
 * ASan catches any read past the end. */
#define L(s) (s), strlen(s)

static char *exact_copy(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static void expect_mutf7(const char *in, const char *want)
{
	char *copy = exact_copy(in, strlen(in));
	char *got = ma_mutf7_decode(copy, strlen(in));
	if (want) {
		assert_non_null(got);
		assert_string_equal(got, want);
	} else {
		assert_null(got);
	}
	free(got);
	free(copy);
}

static void mutf7_valid(void **state)
{
	(void)state;
	expect_mutf7("Odeslan&AOE- po&AWE-ta", "Odeslaná pošta");
	expect_mutf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語");
	expect_mutf7("Tom &- Jerry", "Tom & Jerry");
	expect_mutf7("&-&-", "&&");
	expect_mutf7("Smile &2D3eAA-", "Smile 😀");
	expect_mutf7("INBOX", "INBOX");
	expect_mutf7("", "");
}

static void mutf7_invalid(void **state)
{
	(void)state;
	expect_mutf7("Odeslan&AOE", NULL);          /* unterminated */
	expect_mutf7("&", NULL);
	expect_mutf7("a&AO!-", NULL);               /* bad base64 */
	expect_mutf7("&AOE=-", NULL);               /* '=' is not modified base64 */
	expect_mutf7("&AO-", NULL);                 /* 12 bits: odd UTF-16 */
	expect_mutf7("&AOEA-", NULL);               /* leftover 8 bits */
	expect_mutf7("&AOF-", NULL);                /* non-zero padding bits */
	expect_mutf7("&2D0-", NULL);                /* lone high surrogate */
	expect_mutf7("&3gA-", NULL);                /* lone low surrogate */
	expect_mutf7("&ABs-", NULL);                /* decodes to ESC */
	expect_mutf7("&IC4-gpj.exe", NULL);         /* U+202E: shows as "exe.jpg" */
	expect_mutf7("pay&IA0-pal", NULL);          /* U+200D, zero-width */
	expect_mutf7("&/v8-x", NULL);               /* U+FEFF */
	expect_mutf7("Odeslaná", NULL);             /* raw 8-bit */
	expect_mutf7("a\033[2Jb", NULL);            /* raw control */
	char nul[] = { 'a', '\0', 'b' };
	assert_null(ma_mutf7_decode(nul, sizeof nul));
	assert_null(ma_mutf7_decode(NULL, 3));
}

static void unfold(void **state)
{
	(void)state;
	char *s = ma_header_unfold(L("a\r\n b\n\tc\r\n"));
	assert_string_equal(s, "a b\tc");
	free(s);
	s = ma_header_unfold(L("one\r\ntwo"));
	assert_string_equal(s, "one two");
	free(s);
	s = ma_header_unfold(L(""));
	assert_string_equal(s, "");
	free(s);
	char nul[] = { 'x', '\0', 'y' };
	s = ma_header_unfold(nul, sizeof nul);
	assert_string_equal(s, "x y");
	free(s);
	char *cr = exact_copy("a\r", 2);
	s = ma_header_unfold(cr, 2);
	assert_string_equal(s, "a");
	free(s);
	free(cr);
}

static void expect_2047(const char *in, const char *want)
{
	char *copy = exact_copy(in, strlen(in));
	char *got = ma_rfc2047_decode(copy, strlen(in));
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	free(copy);
}

static void rfc2047_valid(void **state)
{
	(void)state;
	expect_2047("=?UTF-8?B?xb1sdcWlb3XEjWvDvSBrxa/FiA==?=", "Žluťoučký kůň");
	expect_2047("=?utf-8?q?P=C5=99=C3=ADli=C5=A1_hezky?=", "Příliš hezky");
	expect_2047("=?iso-8859-2?Q?Odeslan=E1_po=B9ta?=", "Odeslaná pošta");
	expect_2047("=?ISO-8859-2?q?Odeslan=E1?= =?iso-8859-2?q?_po=B9ta?=", "Odeslaná pošta");
	expect_2047("=?koi8-r?B?8NLJ18XU?=", "Привет");
	expect_2047("=?windows-1252?Q?=80?= 5", "€ 5");
	expect_2047("Re: =?utf-8?q?caf=C3=A9?= ok", "Re: café ok");
	/* a character split between two words still decodes */
	expect_2047("=?UTF-8?B?UMWZw61sacU=?=\t =?UTF-8?B?oSDFvmx1xaVvdcSNa8O9IGvFr8WI?=",
		    "Příliš žluťoučký kůň");
	/* different charsets side by side, space between them dropped */
	expect_2047("=?iso-8859-2?q?=B9?= =?utf-8?q?=C3=A9?=", "šé");
	/* RFC 2231 language suffix */
	expect_2047("=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore");
	/* missing base64 padding is tolerated */
	expect_2047("=?utf-8?b?w6k?=", "é");
	expect_2047("plain text", "plain text");
	expect_2047("", "");
}

static void rfc2047_hostile(void **state)
{
	(void)state;
	/* kept raw: unknown charset, bad base64, bad Q, not a word at all */
	expect_2047("=?x-nonsense?Q?abc?=", "=?x-nonsense?Q?abc?=");
	expect_2047("=?utf-8?B?!!!!?=", "=?utf-8?B?!!!!?=");
	expect_2047("=?utf-8?B?A?=", "=?utf-8?B?A?=");
	expect_2047("=?utf-8?Q?=ZZ?=", "=?utf-8?Q?=ZZ?=");
	expect_2047("=?utf-8?Q?=C3?=", "=?utf-8?Q?=C3?=");          /* invalid UTF-8 */
	expect_2047("=?utf-8?X?abc?=", "=?utf-8?X?abc?=");
	expect_2047("=?utf-8//TRANSLIT?Q?a?=", "=?utf-8//TRANSLIT?Q?a?=");
	expect_2047("=?utf-8?Q?abc", "=?utf-8?Q?abc");               /* truncated */
	expect_2047("=?", "=?");
	/* a failed word keeps the space before a good one */
	expect_2047("=?bogus?q?a?= =?utf-8?q?b?=", "=?bogus?q?a?= b");
	/* escape sequences never get through, encoded or not */
	expect_2047("a\033[31mred", "a?[31mred");
	expect_2047("=?utf-8?q?=1B]0;pwned=07?=", "?]0;pwned?");
	expect_2047("=?utf-8?b?wps=?=x", "?x");                     /* U+009B CSI */
	expect_2047("tab\there\r\nnl", "tab\there  nl");
	/* invalid UTF-8 in plain text */
	expect_2047("caf\xe9 \xc0\xaf", "caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd");
	char nul[] = { 'a', '\0', 'b' };
	char *s = ma_rfc2047_decode(nul, sizeof nul);
	assert_string_equal(s, "a?b");
	free(s);
}

static void rfc2047_bounded(void **state)
{
	(void)state;
	size_t n = 100 * 1024;
	char *big = malloc(n);
	memset(big, 'x', n);
	char *s = ma_rfc2047_decode(big, n);
	assert_true(strlen(s) <= MA_HEADER_MAX);
	assert_string_equal(s + strlen(s) - 3, "…");
	free(s);
	/* one huge encoded word */
	memcpy(big, "=?utf-8?q?", 10);
	memcpy(big + n - 2, "?=", 2);
	s = ma_rfc2047_decode(big, n);
	assert_true(strlen(s) <= MA_HEADER_MAX);
	assert_string_equal(s + strlen(s) - 3, "…");
	free(s);
	/* many small words */
	const char *w = "=?utf-8?q?=C3=A9?= ";
	size_t wl = strlen(w);
	for (size_t i = 0; i + wl <= n; i += wl)
		memcpy(big + i, w, wl);
	s = ma_rfc2047_decode(big, n - n % wl);
	assert_true(strlen(s) <= MA_HEADER_MAX);
	assert_memory_equal(s, "ééé", 6);
	free(s);
	free(big);
}

static void header_fields(void **state)
{
	(void)state;
	const char *h =
		"Message-ID: <ABC.123@Mail.Example.COM>\r\n"
		"date:  Tue, 1 Jul 2003 10:52:37\r\n +0200  \r\n"
		"From: =?utf-8?q?J=C3=B6rg?= <jorg@example.com>\r\n"
		"SUBJECT: =?UTF-8?Q?P=C5=99=C3=ADli=C5=A1?=\r\n"
		" =?UTF-8?Q?_=C5=BElu=C5=A5ou=C4=8Dk=C3=BD?=\r\n"
		"Subject: second one loses\r\n"
		"\r\n";
	char *copy = exact_copy(h, strlen(h));
	struct ma_message m = { 0 };
	assert_int_equal(ma_parse_header_fields(copy, strlen(h), &m), 0);
	assert_string_equal(m.message_id, "<ABC.123@mail.example.com>");
	assert_string_equal(m.date, "Tue, 1 Jul 2003 10:52:37 +0200");
	assert_string_equal(m.from, "Jörg <jorg@example.com>");
	assert_string_equal(m.subject, "Příliš žluťoučký");
	/* a second call neither leaks nor overwrites */
	assert_int_equal(ma_parse_header_fields(L("Subject: x\r\n"), &m), 0);
	assert_string_equal(m.subject, "Příliš žluťoučký");
	ma_message_clear(&m);
	free(copy);

	assert_int_equal(ma_parse_header_fields(L("\r\n"), &m), 0);
	assert_null(m.message_id);
	assert_null(m.date);
	assert_null(m.from);
	assert_null(m.subject);
	assert_int_equal(ma_parse_header_fields(L(""), &m), 0);
	assert_null(m.subject);

	/* LF only, no final blank line, junk lines, stops at the body */
	assert_int_equal(ma_parse_header_fields(
		L("  stray continuation\nnot a header\nSubject :hi\n\nFrom: body@x\n"), &m), 0);
	assert_string_equal(m.subject, "hi");
	assert_null(m.from);
	ma_message_clear(&m);

	/* first Message-ID wins even when it is unusable */
	assert_int_equal(ma_parse_header_fields(
		L("Message-Id: garbage\r\nMessage-Id: <a@b>\r\nSubject:\r\n"), &m), 0);
	assert_null(m.message_id);
	assert_string_equal(m.subject, "");
	ma_message_clear(&m);

	/* truncated in the middle of a folded field */
	assert_int_equal(ma_parse_header_fields(L("Subject: a\r\n b\r"), &m), 0);
	assert_string_equal(m.subject, "a b");
	ma_message_clear(&m);

	/* A Date of printable ASCII alone (copied as it is, only trimmed)
	 * reads as one that needs unfolding or cleaning would. */
	assert_int_equal(ma_parse_header_fields_raw(L("Date:   Tue, 1 Jul 2003  \r\n"), &m), 0);
	assert_string_equal(m.date, "Tue, 1 Jul 2003");
	ma_message_clear(&m);
	assert_int_equal(ma_parse_header_fields_raw(L("Date:\t Tue,\r\n\t1 Jul\x01 \r\n"), &m), 0);
	assert_string_equal(m.date, "Tue,\t1 Jul?");
	ma_message_clear(&m);
	assert_int_equal(ma_parse_header_fields_raw(L("Date:  \r\n"), &m), 0);
	assert_string_equal(m.date, "");
	ma_message_clear(&m);
	for (size_t len = MA_HEADER_MAX - 4; len <= MA_HEADER_MAX - 2; len++) {
		char *d = malloc(len + 9);
		memcpy(d, "Date: ", 6);
		memset(d + 6, 'a', len);
		memcpy(d + 6 + len, "\r\n", 3);
		assert_int_equal(ma_parse_header_fields_raw(d, len + 8, &m), 0);
		if (len <= MA_HEADER_MAX - 3) {
			assert_int_equal(strlen(m.date), len);
		} else {
			assert_int_equal(strlen(m.date), MA_HEADER_MAX);
			assert_string_equal(m.date + MA_HEADER_MAX - 3, MA_ELLIPSIS);
		}
		ma_message_clear(&m);
		free(d);
	}
}

/* The raw parse of h keeps From and Subject as want_from / want_subject,
 * everything else as the decoding parse does, and decoding the raw text
 * gives what the decoding parse gives. */
static void expect_raw(const char *h, size_t n, const char *want_from, const char *want_subject)
{
	char *copy = exact_copy(h, n);
	struct ma_message raw = { 0 }, dec = { 0 };
	assert_int_equal(ma_parse_header_fields_raw(copy, n, &raw), 0);
	assert_int_equal(ma_parse_header_fields(copy, n, &dec), 0);
	const char *want[2] = { want_from, want_subject };
	char *got[2] = { raw.from, raw.subject }, *decoded[2] = { dec.from, dec.subject };
	for (int i = 0; i < 2; i++) {
		if (!want[i]) {
			assert_null(got[i]);
			assert_null(decoded[i]);
			continue;
		}
		assert_string_equal(got[i], want[i]);
		char *d = ma_rfc2047_decode(got[i], strlen(got[i]));
		assert_string_equal(d, decoded[i]);
		free(d);
	}
	if (dec.date)
		assert_string_equal(raw.date, dec.date);
	else
		assert_null(raw.date);
	if (dec.message_id)
		assert_string_equal(raw.message_id, dec.message_id);
	else
		assert_null(raw.message_id);
	ma_message_clear(&raw);
	ma_message_clear(&dec);
	free(copy);
}

static void header_fields_raw(void **state)
{
	(void)state;
	/* encoded and folded: unfolded and trimmed, still encoded */
	expect_raw(L("Message-ID: <ABC.123@Mail.Example.COM>\r\n"
		     "date:  Tue, 1 Jul 2003 10:52:37\r\n +0200  \r\n"
		     "From: =?utf-8?q?J=C3=B6rg?= <jorg@example.com>\r\n"
		     "SUBJECT: =?UTF-8?Q?P=C5=99=C3=ADli=C5=A1?=\r\n"
		     " =?UTF-8?Q?_=C5=BElu=C5=A5ou=C4=8Dk=C3=BD?=\r\n"
		     "Subject: second one loses\r\n\r\n"),
		   "=?utf-8?q?J=C3=B6rg?= <jorg@example.com>",
		   "=?UTF-8?Q?P=C5=99=C3=ADli=C5=A1?= =?UTF-8?Q?_=C5=BElu=C5=A5ou=C4=8Dk=C3=BD?=");
	/* plain text, folds with tabs, LF only, stray CR, no final line break */
	expect_raw(L("From:\tplain@example.org \n"
		     "Subject: a\r\n\tb\rc \t\r\n"), "plain@example.org", "a\tb c");
	expect_raw(L("Subject: a\r\n b\r"), NULL, "a b");
	expect_raw(L("Subject:\r\n"), NULL, "");
	expect_raw(L("Subject:  \r\n \r\n"), NULL, "");
	expect_raw(L("\r\nSubject: body\r\n"), NULL, NULL);
	/* leading and trailing CR, LF, NUL and blanks go as header_text's
	 * unfold-then-trim would drop them; NUL inside becomes a space */
	static const char nul[] = "Subject:\0 \r\n \0a\0b\0\r\n\t\0\r\n"
				  "From: \r\n x\r\n";
	expect_raw(nul, sizeof nul - 1, "x", "a b");
	/* hostile bytes stay as sent (the history decodes them) */
	expect_raw(L("Subject: \033[2J=?utf-8?q?=1B]0;x=07?= caf\xe9\r\n"), NULL,
		   "\033[2J=?utf-8?q?=1B]0;x=07?= caf\xe9");
	/* a second call neither leaks nor overwrites */
	struct ma_message m = { 0 };
	assert_int_equal(ma_parse_header_fields_raw(L("Subject: =?utf-8?q?a?=\r\n"), &m), 0);
	assert_int_equal(ma_parse_header_fields_raw(L("Subject: x\r\nFrom: y\r\n"), &m), 0);
	assert_string_equal(m.subject, "=?utf-8?q?a?=");
	assert_string_equal(m.from, "y");
	ma_message_clear(&m);
	assert_int_equal(ma_parse_header_fields_raw(NULL, 5, &m), 0);
	assert_null(m.subject);
	assert_int_equal(ma_parse_header_fields_raw(L("Subject: x\r\n"), NULL), 0);
}

/* A Subject of n bytes of value: "Subject: " value "\r\n". */
static char *subject_header(const char *value, size_t n, size_t *len)
{
	*len = 9 + n + 2;
	char *h = malloc(*len);
	assert_non_null(h);
	memcpy(h, "Subject: ", 9);
	memcpy(h + 9, value, n);
	memcpy(h + 9 + n, "\r\n", 2);
	return h;
}

static void header_fields_raw_bounded(void **state)
{
	(void)state;
	size_t n = MA_HEADER_RAW_MAX + 1000, len;
	char *v = malloc(n);
	assert_non_null(v);
	struct ma_message m = { 0 };

	/* exactly the limit: kept whole */
	memset(v, 'x', n);
	char *h = subject_header(v, MA_HEADER_RAW_MAX, &len);
	assert_int_equal(ma_parse_header_fields_raw(h, len, &m), 0);
	assert_int_equal(strlen(m.subject), MA_HEADER_RAW_MAX);
	ma_message_clear(&m);
	free(h);

	/* longer: cut to the limit, then "…" */
	h = subject_header(v, n, &len);
	assert_int_equal(ma_parse_header_fields_raw(h, len, &m), 0);
	assert_int_equal(strlen(m.subject), MA_HEADER_RAW_MAX + 3);
	assert_string_equal(m.subject + MA_HEADER_RAW_MAX, "…");
	/* and still cut as before once decoded */
	char *d = ma_rfc2047_decode(m.subject, strlen(m.subject));
	struct ma_message dec = { 0 };
	assert_int_equal(ma_parse_header_fields(h, len, &dec), 0);
	assert_string_equal(d, dec.subject);
	free(d);
	ma_message_clear(&dec);
	ma_message_clear(&m);
	free(h);

	/* a cut never splits a character: "é" (2 bytes) across the limit */
	memset(v, 'x', n);
	memcpy(v + MA_HEADER_RAW_MAX - 1, "\xc3\xa9", 2);
	h = subject_header(v, n, &len);
	assert_int_equal(ma_parse_header_fields_raw(h, len, &m), 0);
	assert_int_equal(strlen(m.subject), MA_HEADER_RAW_MAX - 1 + 3);
	assert_string_equal(m.subject + MA_HEADER_RAW_MAX - 1, "…");
	ma_message_clear(&m);
	free(h);

	/* nor an encoded word: the unfinished one goes, a finished one stays */
	memset(v, ' ', n);
	const char *w = "=?utf-8?q?=C3=A9?=";
	size_t wl = strlen(w), at = MA_HEADER_RAW_MAX - wl;
	memcpy(v, "a", 1);
	memcpy(v + at, w, wl);              /* ends exactly at the limit */
	memcpy(v + n - 1, "z", 1);
	h = subject_header(v, n, &len);
	assert_int_equal(ma_parse_header_fields_raw(h, len, &m), 0);
	assert_int_equal(strlen(m.subject), MA_HEADER_RAW_MAX + 3);
	assert_memory_equal(m.subject + at, w, wl);
	ma_message_clear(&m);
	free(h);
	memcpy(v + at + 1, w, wl);          /* one byte over */
	h = subject_header(v, n, &len);
	assert_int_equal(ma_parse_header_fields_raw(h, len, &m), 0);
	assert_int_equal(strlen(m.subject), at + 1 + 3);
	assert_string_equal(m.subject + at + 1, "…");
	ma_message_clear(&m);
	free(h);
	free(v);
}

/* Rows written before raw storage hold ma_rfc2047_decode's output; the
 * history decodes them again, which must change nothing. */
static void rfc2047_decoded_is_fixed_point(void **state)
{
	(void)state;
	static const char *const inputs[] = {
		"plain ascii subject",
		"=?utf-8?q?J=C3=B6rg?= <jorg@example.com>",
		"=?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=",
		"=?iso-8859-2?q?P=F8=EDli=B9?= =?utf-8?q?_=C5=BElu=C5=A5ou=C4=8Dk=C3=BD?=",
		"tab\there  and  spaces ",
		" =?utf-8?q?_lead_and_trail_?= ",
		"a\033[31mred\r\nnl\x7f\xc2\x9b",           /* controls, C1 */
		"caf\xe9 \xc0\xaf \xed\xa0\x80",            /* invalid UTF-8, surrogate */
		"=?utf-8?q?=1B]0;pwned=07?=",
		"=?bogus?q?kept?= =?utf-8?q?x?=",            /* a word left as written */
		"=?utf-8?b?!!!?=",                           /* invalid payload */
		"已经 Ünïcödé 😀 \xef\xbf\xbd ?",
		"",
	};
	for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
		char *once = ma_rfc2047_decode(L(inputs[i]));
		assert_non_null(once);
		char *twice = ma_rfc2047_decode(L(once));
		assert_string_equal(twice, once);
		free(twice);
		free(once);
	}
	/* cut values, wherever the cut falls among 1- to 4-byte characters */
	static const char *const fill[] = { "x", "é", "€", "😀" };
	size_t n = 2 * MA_HEADER_MAX;
	char *big = malloc(n + 1);
	assert_non_null(big);
	for (size_t f = 0; f < 4; f++) {
		for (size_t lead = 0; lead < 4; lead++) {
			size_t fl = strlen(fill[f]), k;
			memset(big, 'a', lead);
			for (k = lead; k + fl <= n; k += fl)
				memcpy(big + k, fill[f], fl);
			big[k] = '\0';
			char *once = ma_rfc2047_decode(big, k);
			assert_string_equal(once + strlen(once) - 3, "…");
			char *twice = ma_rfc2047_decode(L(once));
			assert_string_equal(twice, once);
			free(twice);
			free(once);
		}
	}
	free(big);
}

static void expect_msgid(const char *in, const char *want)
{
	char *copy = exact_copy(in, strlen(in));
	char *got = ma_msgid_normalize(copy, strlen(in));
	if (want) {
		assert_non_null(got);
		assert_string_equal(got, want);
	} else {
		assert_null(got);
	}
	free(got);
	free(copy);
}

static void msgid(void **state)
{
	(void)state;
	expect_msgid("<Abc@Example.COM>", "<Abc@example.com>");
	expect_msgid("  (comment (nested) <x@y>) <Left.Part@Host> (trailing)",
		     "<Left.Part@host>");
	expect_msgid("<abc\r\n @ Host.Org>", "<abc@host.org>");
	expect_msgid("<first@a> <second@b>", "<first@a>");
	expect_msgid("bare@Example.org", "<bare@example.org>");
	expect_msgid("<\"q@x\"@Dom>", "<\"q@x\"@dom>");
	expect_msgid("<no-at-sign>", "<no-at-sign>");
	expect_msgid("", NULL);
	expect_msgid("   ", NULL);
	expect_msgid("<>", NULL);
	expect_msgid("<unterminated@x", NULL);
	expect_msgid("no id here", NULL);
	expect_msgid("<caf\xc3\xa9@x>", NULL);
	expect_msgid("<a\033b@x>", NULL);
	expect_msgid("(unterminated comment <a@b>", NULL);

	char *big = malloc(2000);
	memset(big, 'a', 2000);
	big[0] = '<';
	big[1000] = '@';
	big[1999] = '>';
	assert_null(ma_msgid_normalize(big, 2000));
	free(big);
}

static void hash_and_hex(void **state)
{
	(void)state;
	unsigned char h[32];
	char hex[65];
	ma_msgid_hash("", h);
	ma_hex(h, 32, hex);
	assert_string_equal(hex,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ma_msgid_hash("abc", h);
	ma_hex(h, 32, hex);
	assert_string_equal(hex,
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ma_hex(h, 0, hex);
	assert_string_equal(hex, "");

	/* Many at once: the same digests, NULL skipped, with one context. */
	const char *ids[] = { "<a@b>", NULL, "", "abc", "<a@b>" };
	unsigned char many[5][32], one[32];
	memset(many[1], 0x5a, 32);
	ma_msgid_hash_many(ids, 5, many);
	for (size_t i = 0; i < 5; i++) {
		if (!ids[i]) {
			for (size_t k = 0; k < 32; k++)
				assert_int_equal(many[i][k], 0x5a);
			continue;
		}
		ma_msgid_hash(ids[i], one);
		assert_memory_equal(many[i], one, 32);
	}
	ma_hex(many[3], 32, hex);
	assert_string_equal(hex,
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void pop3_unstuff(void **state)
{
	(void)state;
	const char *out;
	size_t n;
	bool end;
	assert_int_equal(ma_pop3_unstuff(L(".\r\n"), &out, &n, &end), 0);
	assert_true(end);
	assert_int_equal(ma_pop3_unstuff(L("."), &out, &n, &end), 0);
	assert_true(end);
	assert_int_equal(ma_pop3_unstuff(L("..\r\n"), &out, &n, &end), 0);
	assert_false(end);
	assert_int_equal(n, 1);
	assert_memory_equal(out, ".", 1);
	assert_int_equal(ma_pop3_unstuff(L(".hidden"), &out, &n, &end), 0);
	assert_false(end);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "hidden", 6);
	assert_int_equal(ma_pop3_unstuff(L("1 200"), &out, &n, &end), 0);
	assert_int_equal(n, 5);
	assert_int_equal(ma_pop3_unstuff(L(""), &out, &n, &end), 0);
	assert_false(end);
	assert_int_equal(n, 0);
	assert_int_equal(ma_pop3_unstuff(NULL, 0, &out, &n, &end), -1);
}

static int list(const char *s, uint32_t *num, uint32_t *size)
{
	char *copy = exact_copy(s, strlen(s));
	int r = ma_pop3_parse_list_line(copy, strlen(s), num, size);
	free(copy);
	return r;
}

static void pop3_list(void **state)
{
	(void)state;
	uint32_t num = 0, size = 0;
	assert_int_equal(list("1 1234", &num, &size), 0);
	assert_int_equal(num, 1);
	assert_int_equal(size, 1234);
	assert_int_equal(list("4294967295 4294967295\r\n", &num, &size), 0);
	assert_int_equal(num, UINT32_MAX);
	assert_int_equal(size, UINT32_MAX);
	assert_int_equal(list("7 0 extra tokens", &num, &size), 0);
	assert_int_equal(num, 7);
	assert_int_equal(size, 0);
	assert_int_equal(list("007  12", &num, &size), 0);
	assert_int_equal(num, 7);

	assert_int_equal(list("0 1234", &num, &size), -1);
	assert_int_equal(list("4294967296 1", &num, &size), -1);
	assert_int_equal(list("1 4294967296", &num, &size), -1);
	assert_int_equal(list("1 1000000000000", &num, &size), -1);
	assert_int_equal(list("1 99999999999999999999999", &num, &size), -1);
	assert_int_equal(list("1", &num, &size), -1);
	assert_int_equal(list("1 ", &num, &size), -1);
	assert_int_equal(list("", &num, &size), -1);
	assert_int_equal(list(" 1 2", &num, &size), -1);
	assert_int_equal(list("-1 2", &num, &size), -1);
	assert_int_equal(list("+1 2", &num, &size), -1);
	assert_int_equal(list("1 -2", &num, &size), -1);
	assert_int_equal(list("1 2x", &num, &size), -1);
	assert_int_equal(list("1x 2", &num, &size), -1);
	assert_int_equal(list("1 0x10", &num, &size), -1);

	/* 100 KB of digits, with and without a valid start */
	size_t n = 100 * 1024;
	char *big = malloc(n);
	memset(big, '9', n);
	assert_int_equal(ma_pop3_parse_list_line(big, n, &num, &size), -1);
	memset(big, '0', n);
	big[0] = '1';
	big[1] = ' ';
	big[n - 1] = '5';
	assert_int_equal(ma_pop3_parse_list_line(big, n, &num, &size), 0);
	assert_int_equal(size, 5);
	free(big);
}

static void pop3_uidl(void **state)
{
	(void)state;
	uint32_t num = 0;
	char uidl[71];
	assert_int_equal(ma_pop3_parse_uidl_line(L("1 whqtswO00WBw418f9t5JxYwZ\r\n"), &num, uidl), 0);
	assert_int_equal(num, 1);
	assert_string_equal(uidl, "whqtswO00WBw418f9t5JxYwZ");
	assert_int_equal(ma_pop3_parse_uidl_line(L("2 !~ "), &num, uidl), 0);
	assert_string_equal(uidl, "!~");

	char line[100];
	memset(line, 'u', sizeof line);
	line[0] = '3';
	line[1] = ' ';
	assert_int_equal(ma_pop3_parse_uidl_line(line, 72, &num, uidl), 0);
	assert_int_equal(strlen(uidl), 70);
	assert_int_equal(ma_pop3_parse_uidl_line(line, 73, &num, uidl), -1); /* 71 chars */

	assert_int_equal(ma_pop3_parse_uidl_line(L("0 abc"), &num, uidl), -1);
	assert_int_equal(ma_pop3_parse_uidl_line(L("1"), &num, uidl), -1);
	assert_int_equal(ma_pop3_parse_uidl_line(L("1 "), &num, uidl), -1);
	assert_int_equal(ma_pop3_parse_uidl_line(L("1 two tokens"), &num, uidl), -1);
	assert_int_equal(ma_pop3_parse_uidl_line(L("1 caf\xc3\xa9"), &num, uidl), -1);
	assert_int_equal(ma_pop3_parse_uidl_line(L("1 a\033b"), &num, uidl), -1);
	assert_int_equal(ma_pop3_parse_uidl_line(L("99999999999 abc"), &num, uidl), -1);
	assert_int_equal(ma_pop3_parse_uidl_line(L(""), &num, uidl), -1);
}

static void pop3_stat(void **state)
{
	(void)state;
	uint32_t count = 0;
	uint64_t size = 0;
	assert_int_equal(ma_pop3_parse_stat(L("+OK 2 320\r\n"), &count, &size), 0);
	assert_int_equal(count, 2);
	assert_int_equal(size, 320);
	assert_int_equal(ma_pop3_parse_stat(L("+ok 0 0 mailbox empty"), &count, &size), 0);
	assert_int_equal(count, 0);
	assert_int_equal(ma_pop3_parse_stat(L("5 68719476736"), &count, &size), 0);
	assert_int_equal(size, 68719476736ULL);
	assert_int_equal(ma_pop3_parse_stat(L("+OK 1 18446744073709551615"), &count, &size), 0);
	assert_int_equal(ma_pop3_parse_stat(L("+OK 1 18446744073709551616"), &count, &size), -1);
	assert_int_equal(ma_pop3_parse_stat(L("+OK 4294967296 1"), &count, &size), -1);
	assert_int_equal(ma_pop3_parse_stat(L("+OK"), &count, &size), -1);
	assert_int_equal(ma_pop3_parse_stat(L("+OK2 3"), &count, &size), -1);
	assert_int_equal(ma_pop3_parse_stat(L("-ERR 2 3"), &count, &size), -1);
	assert_int_equal(ma_pop3_parse_stat(L("+OK 2"), &count, &size), -1);
	assert_int_equal(ma_pop3_parse_stat(L(""), &count, &size), -1);
}

static void dovecot_uidl(void **state)
{
	(void)state;
	uint32_t uid = 0, uv = 0;
	assert_true(ma_dovecot_uidl_decode(L("0000002A5F3B1C00"), &uid, &uv));
	assert_int_equal(uid, 42);
	assert_int_equal(uv, 0x5F3B1C00);
	assert_true(ma_dovecot_uidl_decode(L("ffffffff0000abcd"), &uid, &uv));
	assert_int_equal(uid, UINT32_MAX);
	assert_false(ma_dovecot_uidl_decode(L("0000002A5F3B1C0"), &uid, &uv));
	assert_false(ma_dovecot_uidl_decode(L("0000002A5F3B1C000"), &uid, &uv));
	assert_false(ma_dovecot_uidl_decode(L("0000002A5F3B1CXX"), &uid, &uv));
	assert_false(ma_dovecot_uidl_decode(L("000000005F3B1C00"), &uid, &uv));
	assert_false(ma_dovecot_uidl_decode(L("0000002A00000000"), &uid, &uv));
	assert_false(ma_dovecot_uidl_decode(L(""), &uid, &uv));
}

static void response_code(void **state)
{
	(void)state;
	char code[32];
	assert_int_equal(ma_pop3_response_code(L("-ERR [IN-USE] Mailbox locked"), code, sizeof code), 1);
	assert_string_equal(code, "IN-USE");
	assert_int_equal(ma_pop3_response_code(L("[auth] bad password"), code, sizeof code), 1);
	assert_string_equal(code, "AUTH");
	assert_int_equal(ma_pop3_response_code(L("-ERR [SYS/TEMP] later"), code, sizeof code), 1);
	assert_string_equal(code, "SYS/TEMP");
	assert_int_equal(ma_pop3_response_code(L("-ERR [SYS/PERM]"), code, sizeof code), 1);
	assert_string_equal(code, "SYS/PERM");
	assert_int_equal(ma_pop3_response_code(L("-ERR  [LOGIN-DELAY] 900"), code, sizeof code), 1);
	assert_string_equal(code, "LOGIN-DELAY");
	assert_int_equal(ma_pop3_response_code(L("-ERR no code [IN-USE]"), code, sizeof code), 0);
	assert_int_equal(ma_pop3_response_code(L("-ERR [IN-USE"), code, sizeof code), 0);
	assert_int_equal(ma_pop3_response_code(L("-ERR []"), code, sizeof code), 0);
	assert_int_equal(ma_pop3_response_code(L("-ERR [IN USE]"), code, sizeof code), 0);
	assert_int_equal(ma_pop3_response_code(L("-ERR [A\033B]"), code, sizeof code), 0);
	assert_int_equal(ma_pop3_response_code(L("-ERR [IN-USE]"), code, 6), 0);
	assert_int_equal(ma_pop3_response_code(L("-ERR [IN-USE]"), code, 7), 1);
	assert_int_equal(ma_pop3_response_code(L(""), code, sizeof code), 0);
}

static void expect_date(const char *in, int ok, int64_t want)
{
	int64_t t = -12345;
	char *copy = exact_copy(in, strlen(in));
	int r = ma_imap_date_parse(copy, strlen(in), &t);
	free(copy);
	if (ok) {
		assert_int_equal(r, 0);
		assert_int_equal(t, want);
	} else {
		assert_int_equal(r, -1);
	}
}

static void dates(void **state)
{
	(void)state;
	expect_date("Tue, 1 Jul 2003 10:52:37 +0200", 1, 1057049557);
	expect_date("17-Jul-1996 02:44:25 -0700", 1, 837596665);
	expect_date(" 17-Jul-1996 02:44:25 -0700", 1, 837596665);
	expect_date("Thu, 29 Feb 2024 00:00:00 GMT", 1, 1709164800);
	expect_date("Fri, 31 Dec 49 23:59 +0000", 1, 2524607940);
	expect_date("Fri, 31 Dec 1999 23:59:59 (no zone)", 1, 946684799);
	expect_date("Friday, 31 December 1999 23:59:59 -0000 (UTC)", 1, 946684799);
	expect_date("1 Mar 2000 00:00:00 EST", 1, 951886800);
	expect_date("1 Jan 1970 00:00:00 Z", 1, 0);
	expect_date("29 Feb 2023 00:00:00 +0000", 0, 0);
	expect_date("32 Jan 2020 00:00:00", 0, 0);
	expect_date("0 Jan 2020 00:00:00", 0, 0);
	expect_date("1 Foo 2020 10:00", 0, 0);
	expect_date("1 Jan 2020 24:00:00", 0, 0);
	expect_date("1 Jan 2020 10:60", 0, 0);
	expect_date("1 Jan 2020 10:00:00 +9999", 0, 0);
	expect_date("1 Jan 99999 10:00", 0, 0);
	expect_date("1 Jan 2020", 0, 0);
	expect_date("yesterday", 0, 0);
	expect_date("", 0, 0);
}

/* ---- ma_parse_fetch ---- */

/* Parses an exact-size heap copy of s[0..n), so ASan sees any read past
 * the end; the header pointer must point into that copy. */
static int parse_fetch_n(const char *s, size_t n, struct ma_fetch_resp *r)
{
	char *copy = exact_copy(s, n);
	int rc = ma_parse_fetch(copy, n, r);
	if (rc == 0 && r->header)
		assert_true(r->header >= copy && r->header + r->header_len <= copy + n);
	free(copy);
	return rc;
}

static int parse_fetch(const char *s, struct ma_fetch_resp *r)
{
	return parse_fetch_n(s, strlen(s), r);
}

/* Dovecot's layout for our request, headers as a literal. */
static const char dovecot_fetch[] =
	"* 12 FETCH (UID 4711 FLAGS (\\Seen $Junk \\Answered) RFC822.SIZE 2345 "
	"INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
	"BODY[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)] {40}\r\n"
	"Message-ID: <a@b>\r\nSubject: hi there\r\n\r\n)";

static void fetch_dovecot(void **state)
{
	(void)state;
	struct ma_fetch_resp r;
	char *copy = exact_copy(dovecot_fetch, strlen(dovecot_fetch));
	assert_int_equal(ma_parse_fetch(copy, strlen(dovecot_fetch), &r), 0);
	assert_int_equal(r.seq, 12);
	assert_true(r.has_uid);
	assert_int_equal(r.uid, 4711);
	assert_int_equal(r.flags, MA_FLAG_SEEN | MA_FLAG_ANSWERED);
	assert_true(r.has_size);
	assert_int_equal(r.size, 2345);
	assert_int_equal(r.internaldate, 837596665);
	assert_true(r.has_header);
	assert_false(r.header_escaped);
	assert_int_equal(r.header_len, 40);
	assert_memory_equal(r.header, "Message-ID: <a@b>\r\nSubject: hi there\r\n\r\n", 40);
	assert_ptr_equal(r.header, copy + strlen(dovecot_fetch) - 41);
	struct ma_message m = { 0 };
	assert_int_equal(ma_parse_header_fields(r.header, r.header_len, &m), 0);
	assert_string_equal(m.message_id, "<a@b>");
	assert_string_equal(m.subject, "hi there");
	ma_message_clear(&m);
	free(copy);
}

static void fetch_items(void **state)
{
	(void)state;
	struct ma_fetch_resp r;
	/* any order, any case, every flag, a header block as a quoted string */
	assert_int_equal(parse_fetch("* 1 fetch (body[header.fields (subject)] \"Subject: q\\\"x\\\\\" "
				     "flags (\\DELETED \\draft \\Flagged \\recent \\seen \\answered) "
				     "internaldate \" 1-Jan-2024 00:00:00 +0000\" uid 9 rfc822.size 0)", &r), 0);
	assert_int_equal(r.uid, 9);
	assert_true(r.has_size);
	assert_int_equal(r.size, 0);
	assert_int_equal(r.flags, MA_FLAG_SEEN | MA_FLAG_ANSWERED | MA_FLAG_FLAGGED | MA_FLAG_DELETED |
				  MA_FLAG_DRAFT | MA_FLAG_RECENT);
	assert_int_equal(r.internaldate, 1704067200);
	assert_true(r.has_header);
	assert_true(r.header_escaped);
	assert_int_equal(r.header_len, strlen("Subject: q\\\"x\\\\"));
	assert_memory_equal(r.header, "Subject: q\\\"x\\\\", r.header_len);

	/* NIL header, empty flags, a zone east and one west of UTC */
	assert_int_equal(parse_fetch("* 2 FETCH (UID 1 FLAGS () INTERNALDATE \"31-Dec-1999 23:00:00 -0100\" "
				     "BODY[HEADER.FIELDS (MESSAGE-ID)] NIL)", &r), 0);
	assert_true(r.has_header);
	assert_null(r.header);
	assert_int_equal(r.header_len, 0);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.internaldate, 946684800);
	assert_int_equal(parse_fetch("* 2 FETCH (INTERNALDATE \"01-Jan-2000 05:30:00 +0530\" UID 3)", &r), 0);
	assert_int_equal(r.internaldate, 946684800);
	assert_false(r.has_size);
	assert_false(r.has_header);

	/* the section echoed with another field list and an <origin>; an
	 * empty literal */
	assert_int_equal(parse_fetch("* 3 FETCH (UID 5 BODY[HEADER.FIELDS (\"DATE\" \"X]Y\")]<0> {0}\r\n)", &r), 0);
	assert_true(r.has_header);
	assert_non_null(r.header);
	assert_int_equal(r.header_len, 0);

	/* an unsolicited flag update has no UID */
	assert_int_equal(parse_fetch("* 7 FETCH (FLAGS (\\Seen))", &r), 0);
	assert_false(r.has_uid);
	assert_int_equal(r.flags, MA_FLAG_SEEN);
	assert_int_equal(parse_fetch("* 7 FETCH ()", &r), 0);
	assert_false(r.has_uid);

	/* an invalid INTERNALDATE is unknown, not an error */
	assert_int_equal(parse_fetch("* 1 FETCH (UID 1 INTERNALDATE \"someday\")", &r), 0);
	assert_int_equal(r.internaldate, 0);
	assert_int_equal(parse_fetch("* 1 FETCH (UID 1 INTERNALDATE NIL)", &r), 0);
	assert_int_equal(r.internaldate, 0);
	/* the largest 32-bit values */
	assert_int_equal(parse_fetch("* 4294967295 FETCH (UID 4294967295 RFC822.SIZE 4294967295)", &r), 0);
	assert_int_equal(r.seq, 4294967295u);
	assert_int_equal(r.uid, 4294967295u);
	assert_int_equal(r.size, 4294967295u);

	/* Names in any case, and names that only begin like ours. */
	assert_int_equal(parse_fetch("* 1 FETCH (UIDX 5 Uid 7 rFc822.Size 9 FLAGSX () Flags (\\SEEN) "
				     "InternalDate \"01-Jan-2000 00:00:00 +0000\" bODY.pEEK[header.FIELDS (date)] {0}\r\n)",
				     &r), 0);
	assert_int_equal(r.uid, 7);
	assert_int_equal(r.size, 9);
	assert_int_equal(r.flags, MA_FLAG_SEEN);
	assert_int_equal(r.internaldate, 946684800);
	assert_true(r.has_header);
	/* Every system flag, in any case; a longer or shorter name is none. */
	assert_int_equal(parse_fetch("* 1 FETCH (UID 1 FLAGS (\\SEEN \\answered \\Flagged \\DeLeTeD "
				     "\\draft \\Recent))", &r), 0);
	assert_int_equal(r.flags, MA_FLAG_SEEN | MA_FLAG_ANSWERED | MA_FLAG_FLAGGED | MA_FLAG_DELETED |
				  MA_FLAG_DRAFT | MA_FLAG_RECENT);
	assert_int_equal(parse_fetch("* 1 FETCH (UID 1 FLAGS (\\Seenx \\See \\Drafts $Seen))", &r), 0);
	assert_int_equal(r.flags, 0);
	/* Leap years in INTERNALDATE: 29 Feb exists in 2000 and 2024, not in 1900. */
	assert_int_equal(parse_fetch("* 1 FETCH (UID 1 INTERNALDATE \"01-Mar-2024 00:00:00 +0000\")", &r), 0);
	assert_int_equal(r.internaldate, 1709251200);
	assert_int_equal(parse_fetch("* 1 FETCH (UID 1 INTERNALDATE \"29-Feb-1900 00:00:00 +0000\")", &r), 0);
	assert_int_equal(r.internaldate, 0);
	/* A line break inside a section's field list is refused. */
	assert_int_equal(parse_fetch("* 1 FETCH (UID 1 BODY[HEADER.FIELDS (DATE\r\n)] {0}\r\n)", &r), -1);
}

static void fetch_unknown_items(void **state)
{
	(void)state;
	struct ma_fetch_resp r;
	const char *s =
		"* 5 FETCH (MODSEQ (123456789) X-GM-MSGID 1278455344230334865 "
		"X-GM-LABELS (\"\\\\Inbox\" \\Important work {3}\r\na b) UID 42 "
		"ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" \"a (b) \\\"c\\\"\" "
		"((\"Terry\" NIL \"gray\" \"cac.washington.edu\")) NIL NIL NIL NIL NIL NIL \"<B27397-0100000@x>\") "
		"BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)"
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \"<960723163407.20117h@x>\" "
		"\"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\") "
		"BODY[TEXT]<0> {5}\r\n))))) BINARY.SIZE[1] 12 BINARY[1] ~{2}\r\nxy "
		"BODY (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1) RFC822.SIZE 77 FLAGS (\\Seen))";
	assert_int_equal(parse_fetch(s, &r), 0);
	assert_int_equal(r.uid, 42);
	assert_int_equal(r.size, 77);
	assert_int_equal(r.flags, MA_FLAG_SEEN);
	assert_false(r.has_header); /* BODY[TEXT] is not the header block */

	/* lists nested 64 deep are skipped, 65 are refused */
	char deep[400];
	for (int depth = 64; depth <= 65; depth++) {
		int n = snprintf(deep, sizeof deep, "* 1 FETCH (X-DEEP ");
		for (int i = 0; i < depth; i++)
			deep[n++] = '(';
		deep[n++] = 'a';
		for (int i = 0; i < depth; i++)
			deep[n++] = ')';
		n += snprintf(deep + n, sizeof deep - (size_t)n, " UID 1)");
		assert_int_equal(parse_fetch_n(deep, (size_t)n, &r), depth == 64 ? 0 : -1);
	}
}

static void fetch_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"*",
		"* 1 FETCH",
		"* 1 FETCH UID 1",
		"* 0 FETCH (UID 1)",                       /* sequence numbers start at 1 */
		"* 1 FETCH (UID 0)",                       /* so do UIDs */
		"* x FETCH (UID 1)",
		"* 1 FETCHED (UID 1)",
		"* 1 STORE (UID 1)",
		"1 FETCH (UID 1)",
		"* 1 FETCH (UID 1) extra",
		"* 1 FETCH (UID 1))",
		"* 1 FETCH (UID 1",
		"* 1 FETCH (UID)",
		"* 1 FETCH (UID 4294967296)",
		"* 1 FETCH (UID -1)",
		"* 1 FETCH (UID  1)",
		"* 1 FETCH (UID 1  FLAGS ())",
		"* 1 FETCH (RFC822.SIZE NIL UID 1)",
		"* 1 FETCH (FLAGS \\Seen UID 1)",
		"* 1 FETCH (FLAGS (\\Seen UID 1)",
		"* 1 FETCH (FLAGS (\\) UID 1)",
		"* 1 FETCH (INTERNALDATE \"01-Jan-2000 UID 1)",
		"* 1 FETCH (BODY[HEADER.FIELDS (DATE)] {5}\r\nab)",           /* literal past the end */
		"* 1 FETCH (BODY[HEADER.FIELDS (DATE)] {2}ab UID 1)",         /* no CRLF */
		"* 1 FETCH (BODY[HEADER.FIELDS (DATE)] {2}\nab UID 1)",
		"* 1 FETCH (BODY[HEADER.FIELDS (DATE)] {99999999999}\r\nab)",
		"* 1 FETCH (BODY[HEADER.FIELDS (DATE)] \"a\\b\" UID 1)",      /* bad escape */
		"* 1 FETCH (BODY[HEADER.FIELDS (DATE)] \"a\r\nb\" UID 1)",    /* CR LF in a quoted string */
		"* 1 FETCH (BODY[HEADER.FIELDS (DATE)] UID 1)",
		"* 1 FETCH (BODY[HEADER.FIELDS (DATE) UID 1)",
		"* 1 FETCH (BODY[HEADER.FIELDS (DATE)]<x> NIL UID 1)",
		"* 1 FETCH (BODY[HEADER.FIELDS (\"DATE)] NIL UID 1)",
		"* 1 FETCH (X-FOO UID 1)",
		"* 1 FETCH (X-FOO (a b UID 1)",
		"* 1 FETCH (X-FOO (a  b) UID 1)",
		"* 1 FETCH (X-FOO () UID 1",
		"* 1 FETCH (X-FOO \"open UID 1)",
		"* 1 FETCH ((UID 1))",
	};
	struct ma_fetch_resp r;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parse_fetch(bad[i], &r) != -1)
			fail_msg("accepted: %s", bad[i]);
	}
	assert_int_equal(ma_parse_fetch(NULL, 0, &r), -1);
	assert_int_equal(ma_parse_fetch("* 1 FETCH (UID 1)", 17, NULL), -1);
}

/* Every proper prefix of a valid response is refused, and read only
 * within its own length (the copy is exact-size: ASan would see more). */
static void fetch_truncated(void **state)
{
	(void)state;
	struct ma_fetch_resp r;
	const char *samples[] = {
		dovecot_fetch,
		"* 1 FETCH (X-GM-LABELS (\"\\\\Inbox\" {2}\r\nab) UID 1 "
		"BODY[HEADER.FIELDS (DATE)]<0> \"Date: x\")",
	};
	for (size_t k = 0; k < sizeof samples / sizeof samples[0]; k++) {
		size_t n = strlen(samples[k]);
		assert_int_equal(parse_fetch_n(samples[k], n, &r), 0);
		for (size_t len = 0; len < n; len++)
			if (parse_fetch_n(samples[k], len, &r) != -1)
				fail_msg("prefix of %zu bytes accepted", len);
	}
}

static void expect_endpoint(const char *in, enum ma_proto proto, const char *host,
			    unsigned port, enum ma_security sec)
{
	struct ma_endpoint ep;
	struct ma_error err = { 0 };
	assert_int_equal(ma_endpoint_parse(L(in), proto, &ep, &err), MA_OK);
	assert_string_equal(ep.host, host);
	assert_int_equal(ep.port, port);
	assert_int_equal(ep.security, sec);
}

static void expect_endpoint_error(const char *in, size_t len, const char *words)
{
	struct ma_endpoint ep;
	struct ma_error err = { 0 };
	assert_int_equal(ma_endpoint_parse(in, len, MA_PROTO_IMAP, &ep, &err), MA_ERR_ARGUMENT);
	assert_int_equal(err.status, MA_ERR_ARGUMENT);
	if (!strstr(err.detail, words))
		fail_msg("\"%s\" not in \"%s\"", words, err.detail);
	for (const char *p = err.detail; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
}

static void endpoints(void **state)
{
	(void)state;
	expect_endpoint("mail.example.com", MA_PROTO_IMAP, "mail.example.com", 993, MA_SEC_TLS);
	expect_endpoint("mail.example.com/starttls", MA_PROTO_IMAP, "mail.example.com", 143,
			MA_SEC_STARTTLS);
	expect_endpoint("mail.example.com/PLAIN", MA_PROTO_IMAP, "mail.example.com", 143,
			MA_SEC_PLAIN);
	expect_endpoint("pop.example.com", MA_PROTO_POP3, "pop.example.com", 995, MA_SEC_TLS);
	expect_endpoint("pop.example.com/starttls", MA_PROTO_POP3, "pop.example.com", 110,
			MA_SEC_STARTTLS);
	expect_endpoint("pop.example.com/plain", MA_PROTO_POP3, "pop.example.com", 110,
			MA_SEC_PLAIN);
	expect_endpoint("smtp.example.com", MA_PROTO_SMTP, "smtp.example.com", 465, MA_SEC_TLS);
	expect_endpoint("smtp.example.com/starttls", MA_PROTO_SMTP, "smtp.example.com", 587,
			MA_SEC_STARTTLS);
	expect_endpoint(" 127.0.0.1:10143/tls \n", MA_PROTO_IMAP, "127.0.0.1", 10143, MA_SEC_TLS);
	expect_endpoint("[::1]:993/tls", MA_PROTO_IMAP, "::1", 993, MA_SEC_TLS);
	expect_endpoint("[2001:db8::1]", MA_PROTO_POP3, "2001:db8::1", 995, MA_SEC_TLS);
	expect_endpoint("host:65535", MA_PROTO_IMAP, "host", 65535, MA_SEC_TLS);

	expect_endpoint_error(L(""), "empty");
	expect_endpoint_error(L("   "), "empty");
	expect_endpoint_error(L(":993"), "missing");
	expect_endpoint_error(L("/tls"), "missing");
	expect_endpoint_error(L("[]:993"), "missing");
	expect_endpoint_error(L("host:0"), "1 to 65535");
	expect_endpoint_error(L("host:65536"), "1 to 65535");
	expect_endpoint_error(L("host:99999999999999999999"), "1 to 65535");
	expect_endpoint_error(L("host:"), "1 to 65535");
	expect_endpoint_error(L("host:-1"), "1 to 65535");
	expect_endpoint_error(L("host:99x"), "1 to 65535");
	expect_endpoint_error(L("host/sslv3"), "/sslv3");
	expect_endpoint_error(L("host/tls/plain"), "/tls/plain");
	expect_endpoint_error(L("host/\033[2J"), "use /tls");
	expect_endpoint_error(L("mail example.com"), "space");
	expect_endpoint_error(L("mail\texample.com"), "space");
	expect_endpoint_error(L("mail\033.com"), "invisible");
	expect_endpoint_error(L("m\xc3\xa1il.com"), "invisible");
	expect_endpoint_error(L("user@host"), "'@'");
	expect_endpoint_error(L("::1"), "brackets");
	expect_endpoint_error(L("[::1"), "closing bracket");
	expect_endpoint_error(L("[::1]x"), "Unexpected");
	expect_endpoint_error(L("[localhost]"), "not allowed");
	expect_endpoint_error(L("[1.2.3.4]"), "not an IPv6");
	expect_endpoint_error(L("-oProxy"), "'-'");
	char nul[] = { 'h', '\0', 'x' };
	expect_endpoint_error(nul, sizeof nul, "invisible");
	char longname[300];
	memset(longname, 'a', sizeof longname);
	expect_endpoint_error(longname, sizeof longname, "too long");
	expect_endpoint_error(longname, 254, "too long");
	expect_endpoint("aaaaaaaaaa", MA_PROTO_IMAP, "aaaaaaaaaa", 993, MA_SEC_TLS);

	assert_string_equal(ma_security_name(MA_SEC_TLS), "tls");
	assert_string_equal(ma_security_name(MA_SEC_STARTTLS), "starttls");
	assert_string_equal(ma_security_name(MA_SEC_PLAIN), "plain");
	assert_int_equal(ma_default_port(MA_PROTO_SMTP, MA_SEC_PLAIN), 587);
	/* NULL error pointer is fine */
	struct ma_endpoint ep;
	assert_int_equal(ma_endpoint_parse(L(""), MA_PROTO_IMAP, &ep, NULL), MA_ERR_ARGUMENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mutf7_valid),
		cmocka_unit_test(mutf7_invalid),
		cmocka_unit_test(unfold),
		cmocka_unit_test(rfc2047_valid),
		cmocka_unit_test(rfc2047_hostile),
		cmocka_unit_test(rfc2047_bounded),
		cmocka_unit_test(header_fields),
		cmocka_unit_test(header_fields_raw),
		cmocka_unit_test(header_fields_raw_bounded),
		cmocka_unit_test(rfc2047_decoded_is_fixed_point),
		cmocka_unit_test(msgid),
		cmocka_unit_test(hash_and_hex),
		cmocka_unit_test(pop3_unstuff),
		cmocka_unit_test(pop3_list),
		cmocka_unit_test(pop3_uidl),
		cmocka_unit_test(pop3_stat),
		cmocka_unit_test(dovecot_uidl),
		cmocka_unit_test(response_code),
		cmocka_unit_test(dates),
		cmocka_unit_test(fetch_dovecot),
		cmocka_unit_test(fetch_items),
		cmocka_unit_test(fetch_unknown_items),
		cmocka_unit_test(fetch_malformed),
		cmocka_unit_test(fetch_truncated),
		cmocka_unit_test(endpoints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
