#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"

#define L(s) (s), (sizeof(s) - 1)

/* An exact-size heap copy, so ASan catches a read past the end. */
static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

/* ---- the growing string ---- */

static void buf_grows(void **state)
{
	(void)state;
	struct ma_buf b = { 0 };
	assert_true(ma_buf_add(&b, "ab", 2));
	ma_buf_printf(&b, "-%d-", 42);
	assert_string_equal(b.p, "ab-42-");
	assert_int_equal(b.len, 6);
	/* Longer than printf's first try. */
	char big[2000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ma_buf_printf(&b, "%s!", big);
	assert_int_equal(b.len, 6 + 1999 + 1);
	assert_int_equal(b.p[b.len - 1], '!');
	assert_false(b.oom);
	char *t = ma_buf_take(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(strlen(t), 2006);
	free(t);

	struct ma_buf e = { 0 };
	t = ma_buf_take(&e);
	assert_string_equal(t, "");
	free(t);
	assert_true(ma_buf_add(&e, "", 0));
	assert_string_equal(e.p, "");
	free(e.p);
}

static void buf_limit(void **state)
{
	(void)state;
	struct ma_buf b = { .limit = 5 };
	assert_true(ma_buf_add(&b, "abc", 3));
	/* Whole or not at all, and nothing after a drop. */
	assert_false(ma_buf_add(&b, "def", 3));
	assert_true(b.truncated);
	assert_false(ma_buf_add(&b, "d", 1));
	ma_buf_printf(&b, "%s", "e");
	assert_string_equal(b.p, "abc");
	char *t = ma_buf_take(&b);
	assert_string_equal(t, "abc" MA_ELLIPSIS);
	free(t);

	struct ma_buf f = { .limit = 3 };
	assert_true(ma_buf_add(&f, "abc", 3));
	assert_false(f.truncated);
	t = ma_buf_take(&f);
	assert_string_equal(t, "abc");
	free(t);
}

/* ---- UTF-8 ---- */

static void expect_next(const char *s, size_t n, size_t want_len, uint32_t want_cp)
{
	char *c = exact(s, n);
	uint32_t cp = 0xdeadbeef;
	assert_int_equal(ma_utf8_next(c, n, &cp), want_len);
	if (want_len)
		assert_int_equal(cp, want_cp);
	free(c);
}

static void utf8_well_formed(void **state)
{
	(void)state;
	expect_next(L("A"), 1, 'A');
	expect_next(L("\x7f"), 1, 0x7f);
	expect_next("\0", 1, 1, 0);
	expect_next(L("\xc2\x80"), 2, 0x80);          /* C1: well-formed */
	expect_next(L("\xc2\xa0"), 2, 0xa0);
	expect_next(L("\xdf\xbf"), 2, 0x7ff);
	expect_next(L("\xe0\xa0\x80"), 3, 0x800);
	expect_next(L("\xed\x9f\xbf"), 3, 0xd7ff);    /* last before the surrogates */
	expect_next(L("\xee\x80\x80"), 3, 0xe000);    /* first after them */
	expect_next(L("\xef\xbf\xbf"), 3, 0xffff);
	expect_next(L("\xf0\x90\x80\x80"), 4, 0x10000);
	expect_next(L("\xf4\x8f\xbf\xbf"), 4, 0x10ffff);
	expect_next(L("\xe2\x82\xac rest"), 3, 0x20ac);
}

static void utf8_ill_formed(void **state)
{
	(void)state;
	expect_next("", 0, 0, 0);
	expect_next(L("\x80"), 0, 0);                 /* stray continuation */
	expect_next(L("\xbf"), 0, 0);
	expect_next(L("\xc0\x80"), 0, 0);             /* overlong NUL */
	expect_next(L("\xc1\xbf"), 0, 0);             /* overlong DEL */
	expect_next(L("\xe0\x80\x80"), 0, 0);         /* overlong, 3 bytes */
	expect_next(L("\xe0\x9f\xbf"), 0, 0);
	expect_next(L("\xf0\x80\x80\x80"), 0, 0);     /* overlong, 4 bytes */
	expect_next(L("\xf0\x8f\xbf\xbf"), 0, 0);
	expect_next(L("\xed\xa0\x80"), 0, 0);         /* surrogates */
	expect_next(L("\xed\xbf\xbf"), 0, 0);
	expect_next(L("\xf4\x90\x80\x80"), 0, 0);     /* past U+10FFFF */
	expect_next(L("\xf5\x80\x80\x80"), 0, 0);
	expect_next(L("\xff"), 0, 0);
	expect_next(L("\xc3"), 0, 0);                 /* cut sequences */
	expect_next(L("\xe2\x82"), 0, 0);
	expect_next(L("\xf0\x9f\x98"), 0, 0);
	expect_next("\xe2\x82\xac", 2, 0, 0);         /* cut by n, not by the bytes */
	expect_next(L("\xe2\x41\xac"), 0, 0);         /* not a continuation */
	expect_next(L("\xc3\xc3\xa9"), 0, 0);
}

static void utf8_helpers(void **state)
{
	(void)state;
	uint32_t cp;
	assert_int_equal(ma_utf8_decode(L("\xe2\x82\xac"), &cp), 3);
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(ma_utf8_decode(L("\xed\xa0\x80"), &cp), 1);
	assert_int_equal(cp, 0xfffd);
	assert_int_equal(ma_utf8_decode("", 0, &cp), 0);

	assert_true(ma_utf8_valid(L("")));
	assert_true(ma_utf8_valid(L("caf\xc3\xa9 \xf0\x9f\x98\x80")));
	assert_false(ma_utf8_valid(L("caf\xc3")));
	assert_false(ma_utf8_valid(L("\xc0\x80")));
	assert_false(ma_utf8_valid(L("a\xed\xa0\x80")));

	assert_int_equal(ma_utf8_count(L("")), 0);
	assert_int_equal(ma_utf8_count(L("caf\xc3\xa9")), 4);
	assert_int_equal(ma_utf8_count(L("\xf0\x9f\x98\x80!")), 2);
	assert_int_equal(ma_utf8_count(L("\xe2\x82")), 2);   /* each ill-formed byte one */

	static const uint32_t cps[] = { 0, 'a', 0x7f, 0x80, 0x7ff, 0x800, 0xffff, 0x10000, 0x10ffff };
	for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
		char b[4];
		size_t n = ma_utf8_encode(cps[i], b);
		assert_true(n >= 1 && n <= 4);
		uint32_t back;
		assert_int_equal(ma_utf8_next(b, n, &back), n);
		assert_int_equal(back, cps[i]);
	}
	char b[4] = "xyz";
	assert_int_equal(ma_utf8_encode(0x110000, b), 0);
	assert_int_equal(b[0], 'x');

	assert_int_equal(ma_utf8_back(L("ab")), 1);
	assert_int_equal(ma_utf8_back(L("a\xc3\xa9")), 1);
	assert_int_equal(ma_utf8_back(L("\xf0\x9f\x98\x80")), 0);
	assert_int_equal(ma_utf8_back(L("")), 0);

	assert_true(ma_cp_control(0));
	assert_true(ma_cp_control(0x1b));
	assert_true(ma_cp_control(0x7f));
	assert_true(ma_cp_control(0x85));
	assert_true(ma_cp_control(0x9f));
	assert_false(ma_cp_control(' '));
	assert_false(ma_cp_control(0xa0));
}

/* ---- cleaning ---- */

static void expect_clean(const char *in, size_t len, size_t maxcp, unsigned rules, const char *want,
			 size_t want_cp)
{
	char *c = exact(in, len);
	char out[512];
	size_t cp = ma_clean(out, sizeof out, c, len, maxcp, rules);
	assert_string_equal(out, want);
	assert_int_equal(cp, want_cp);
	assert_true(ma_utf8_valid(out, strlen(out)));
	free(c);
}

static void clean_report(void **state)
{
	(void)state;
	const unsigned R = MA_CLEAN_REPORT;
	expect_clean(L("plain text"), 100, R, "plain text", 10);
	expect_clean(L("caf\xc3\xa9"), 100, R, "caf\xc3\xa9", 4);
	/* Controls: ESC, BEL, DEL; line breaks; tab is a space. */
	expect_clean(L("\x1b[31mred\x07\x7f"), 100, R, "?[31mred??", 10);
	expect_clean(L("a\r\nb\tc"), 100, R, "a??b c", 6);
	/* C1: each of its two bytes; NBSP is text. */
	expect_clean(L("x\xc2\x9by\xc2\xa0"), 100, R, "x??y\xc2\xa0", 5);
	/* Ill-formed: overlong, surrogate, past U+10FFFF, stray, cut. */
	expect_clean(L("\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\x80|\xe2\x82"), 100, R,
		     "??|???|????|?|??", 16);
	/* NUL ends the text. */
	expect_clean("ab\0cd", 5, 100, R, "ab", 2);
	/* Cut to maxcp code points, the ellipsis within them. */
	expect_clean(L("abcdefgh"), 5, R, "abcd" MA_ELLIPSIS, 5);
	expect_clean(L("\xc3\xa9\xc3\xa9\xc3\xa9"), 2, R, "\xc3\xa9" MA_ELLIPSIS, 2);
	expect_clean(L("abcde"), 5, R, "abcde", 5);
	expect_clean(L("abc"), 0, R, "", 0);

	/* out too small: cut between characters, the ellipsis still fits. */
	char out[8];
	assert_int_equal(ma_text_clean(out, sizeof out, L("\xc3\xa9\xc3\xa9\xc3\xa9"), 100), 3);
	assert_string_equal(out, "\xc3\xa9\xc3\xa9" MA_ELLIPSIS);
	assert_int_equal(ma_text_clean(out, 3, L("abc"), 100), 0);
	assert_string_equal(out, "");
	out[0] = 'x';
	assert_int_equal(ma_text_clean(out, 0, L("abc"), 100), 0);
	assert_int_equal(out[0], 'x');
}

static void clean_server(void **state)
{
	(void)state;
	char out[16];
	/* Breaks are spaces, tab and NUL are marks, trailing spaces go. */
	ma_sanitize(out, sizeof out, L("OK\tno\0x\r\n"));
	assert_string_equal(out, "OK?no?x");
	ma_sanitize(out, sizeof out, L("\xc2\x85\xe2\x82\xac\xff"));
	assert_string_equal(out, "??\xe2\x82\xac?");
	/* Cut where dst is full, never inside a character, no ellipsis. */
	ma_sanitize(out, 6, L("abcd\xc3\xa9"));
	assert_string_equal(out, "abcd");
	ma_sanitize(out, 7, L("abcd\xc3\xa9"));
	assert_string_equal(out, "abcd\xc3\xa9");
	ma_sanitize(out, 4, L("a  bcd"));
	assert_string_equal(out, "a");
	char *d = ma_sanitize_dup(L("a\x1b" "b  "));
	assert_string_equal(d, "a?b");
	free(d);
	d = ma_sanitize_dup("", 0);
	assert_string_equal(d, "");
	free(d);
}

static void clean_header(void **state)
{
	(void)state;
	struct ma_buf b = { 0 };
	ma_buf_clean_rules(&b, L("t\ta\r\nb\x1b\xc2\x85\xc3\x28\0z"), MA_CLEAN_HEADER);
	char *t = ma_buf_take(&b);
	assert_string_equal(t, "t\ta  b??" MA_REPLACEMENT "(?z");
	free(t);
	/* Under a limit: ASCII to the byte, a character whole or not at all. */
	struct ma_buf c = { .limit = 4 };
	ma_buf_clean_rules(&c, L("ab\xc3\xa9\xc3\xa9"), MA_CLEAN_HEADER);
	assert_true(c.truncated);
	t = ma_buf_take(&c);
	assert_string_equal(t, "ab\xc3\xa9" MA_ELLIPSIS);
	free(t);
	struct ma_buf d = { .limit = 3 };
	ma_buf_clean_rules(&d, L("abcdef"), MA_CLEAN_HEADER);
	t = ma_buf_take(&d);
	assert_string_equal(t, "abc" MA_ELLIPSIS);
	free(t);
}

/* Bidi controls and zero-width characters: '?' under every rule set, so
 * "invoice <U+202E>gpj.exe" can never show as "invoice exe.jpg". */
static void clean_hidden(void **state)
{
	(void)state;
	static const uint32_t hidden[] = { 0x061c, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x202a,
					   0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068,
					   0x2069, 0xfeff };
	static const unsigned rules[] = { MA_CLEAN_REPORT, MA_CLEAN_SERVER, MA_CLEAN_HEADER };
	for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
		assert_true(ma_cp_hidden(hidden[i]));
		char in[16] = "a", u[4];
		size_t n = ma_utf8_encode(hidden[i], u);
		memcpy(in + 1, u, n);
		in[n + 1] = 'b';
		for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++)
			expect_clean(in, n + 2, 100, rules[r], "a?b", 3);
		struct ma_buf b = { 0 };
		ma_buf_clean_rules(&b, in, n + 2, MA_CLEAN_HEADER);
		assert_string_equal(b.p, "a?b");
		free(b.p);
	}
	/* Their neighbours are text. */
	static const uint32_t shown[] = { 0x061b, 0x200a, 0x2010, 0x2029, 0x202f, 0x2065, 0x206a,
					  0xfefe, 0xff01 };
	for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
		assert_false(ma_cp_hidden(shown[i]));
	expect_clean(L("invoice \xe2\x80\xaegpj.exe"), 100, MA_CLEAN_REPORT, "invoice ?gpj.exe", 16);
	char out[64];
	ma_sanitize(out, sizeof out, L("\xef\xbb\xbfOK \xe2\x81\xa6x\xe2\x81\xa9"));
	assert_string_equal(out, "?OK ?x?");
}

static void clean_into_buf(void **state)
{
	(void)state;
	struct ma_buf b = { 0 };
	ma_buf_clean(&b, NULL, 10);
	assert_null(b.p);
	ma_buf_clean(&b, "Bob\x1b <bob@example.net>", 8);
	ma_buf_add(&b, "|", 1);
	ma_buf_clean(&b, "\xc3\xa9", 0);
	ma_buf_add(&b, "|", 1);
	ma_buf_clean(&b, "short", 200);
	assert_string_equal(b.p, "Bob? <b" MA_ELLIPSIS "||short");
	free(b.p);
}

/* ---- wrapping ---- */

/* Every row of text ends in '\n', is at most width code points and starts
 * with the indent given. */
static void check_rows(const char *text, size_t width, size_t first, size_t rest, size_t rows)
{
	size_t n = 0;
	for (const char *p = text; *p; n++) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		size_t len = (size_t)(nl - p), indent = n ? rest : first;
		assert_true(ma_utf8_count(p, len) <= width);
		for (size_t i = 0; i < indent; i++)
			assert_int_equal(p[i], ' ');
		assert_true(len > indent && p[indent] != ' ');
		assert_int_not_equal(p[len - 1], ' ');
		p = nl + 1;
	}
	assert_int_equal(n, rows);
}

static void wrap_report(void **state)
{
	(void)state;
	const char *words = "The provider keeps no backup of mail that a mail program deleted "
			    "from the server, so keep every device on IMAP and run mailaudit again "
			    "from time to time.";
	struct ma_buf b = { 0 };
	ma_buf_wrap(&b, words, strlen(words), 78, 0, 4);
	assert_string_equal(b.p,
		"The provider keeps no backup of mail that a mail program deleted from the\n"
		"    server, so keep every device on IMAP and run mailaudit again from time to\n"
		"    time.\n");
	check_rows(b.p, 78, 0, 4, 3);
	free(b.p);

	/* Code points, not bytes: 39 "é " pairs are 78 code points. */
	char wide[200] = "";
	for (int i = 0; i < 40; i++)
		strcat(wide, "\xc3\xa9 ");
	struct ma_buf c = { 0 };
	ma_buf_wrap(&c, wide, strlen(wide), 78, 2, 2);
	check_rows(c.p, 78, 2, 2, 2);
	assert_int_equal(ma_utf8_count(c.p, (size_t)(strchr(c.p, '\n') - c.p)), 77);
	free(c.p);

	/* A line that fits is kept as it is, its inner spacing too. */
	struct ma_buf d = { 0 };
	ma_buf_wrap(&d, L("Folder      Messages   "), 78, 2, 2);
	assert_string_equal(d.p, "  Folder      Messages\n");
	free(d.p);

	/* A word longer than a row is cut; a blank line is bare. */
	char fp[200];
	memset(fp, 'F', 95);
	fp[95] = '\0';
	struct ma_buf e = { 0 };
	ma_buf_wrap(&e, fp, strlen(fp), 78, 4, 16);
	check_rows(e.p, 78, 4, 16, 2);
	assert_int_equal(strchr(e.p, '\n') - e.p, 78);
	ma_buf_wrap(&e, L("   "), 78, 4, 4);
	assert_string_equal(e.p + strlen(e.p) - 2, "\n\n");
	free(e.p);

	/* An indent past the width still leaves MA_WRAP_MIN columns. */
	struct ma_buf f = { 0 };
	ma_buf_wrap(&f, L("aaaa bbbb cccc dddd"), 78, 75, 75);
	char want[200];
	snprintf(want, sizeof want, "%75saaaa bbbb\n%75scccc dddd\n", "", "");
	assert_string_equal(f.p, want);
	free(f.p);
}

static int two_cols(uint32_t cp)
{
	return cp >= 0x1100 ? 2 : 1;
}

static void wrap_rows(void **state)
{
	(void)state;
	size_t next;
	/* A word ending exactly at the row's end stays on it... */
	assert_int_equal(ma_wrap_row(L("ab cde fgh"), 6, NULL, 0, &next), 6);
	assert_int_equal(next, 7);
	/* ...but the screen's rule breaks at the last space inside the row,
	 * keeping the spaces before it. */
	assert_int_equal(ma_wrap_row(L("ab cde fgh"), 6, NULL, MA_WRAP_SCREEN, &next), 2);
	assert_int_equal(next, 3);
	assert_int_equal(ma_wrap_row(L("ab  cd  efgh"), 7, NULL, MA_WRAP_SCREEN, &next), 6);
	assert_int_equal(ma_wrap_row(L("ab  cd  efgh"), 7, NULL, 0, &next), 6);
	assert_int_equal(ma_wrap_row(L("ab  cd  efgh"), 5, NULL, 0, &next), 2);
	assert_int_equal(next, 4);
	/* Hard cut without a space; the rest fits whole. */
	assert_int_equal(ma_wrap_row(L("abcdefgh"), 3, NULL, 0, &next), 3);
	assert_int_equal(next, 3);
	assert_int_equal(ma_wrap_row(L("abc"), 3, NULL, 0, &next), 3);
	assert_int_equal(next, 3);
	/* Columns from the caller: wide characters take two. */
	assert_int_equal(ma_wrap_row(L("\xe4\xb8\xad\xe4\xb8\xad \xe4\xb8\xad"), 5, two_cols, 0,
				     &next), 6);
	assert_int_equal(ma_wrap_row(L("\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad"), 5, two_cols, 0,
				     &next), 6);
	/* At least one code point per row, whatever the room. */
	assert_int_equal(ma_wrap_row(L("\xe4\xb8\xad"), 1, two_cols, 0, &next), 3);
	assert_int_equal(next, 3);
}

/* ---- formats and time ---- */

static void formats(void **state)
{
	(void)state;
	char out[MA_FMT_LEN];
	ma_fmt_time(1795600800, out);
	assert_string_equal(out, "2026-11-25 10:00 UTC");
	ma_fmt_time(0, out);
	assert_string_equal(out, "unknown");
	ma_fmt_time(-5, out);
	assert_string_equal(out, "unknown");
	ma_fmt_time_or(0, out, "-");
	assert_string_equal(out, "-");
	ma_fmt_time_or(86400, out, "-");
	assert_string_equal(out, "1970-01-02 00:00 UTC");

	static const struct { uint64_t n; const char *s; } sizes[] = {
		{ 0, "0 B" }, { 1023, "1023 B" }, { 1024, "1.0 KB" }, { 1536, "1.5 KB" },
		{ 1048575, "1024.0 KB" }, { 1048576, "1.0 MB" }, { 5u << 20, "5.0 MB" },
		{ 1073741824, "1.0 GB" }, { 5497558138880ull, "5120.0 GB" },
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		ma_fmt_size(sizes[i].n, out);
		assert_string_equal(out, sizes[i].s);
	}
	assert_string_equal(ma_plural(1), "");
	assert_string_equal(ma_plural(0), "s");
	assert_string_equal(ma_plural(2), "s");

	int64_t a = ma_now_ms(), b = ma_now_ms();
	assert_true(a > 0 && b >= a);
}

/* ASCII forms for a terminal without UTF-8, from a fixed table. */
static void ascii_forms(void **state)
{
	(void)state;
	const char *name = "Ji\xc5\x99\xc3\xad Nov\xc3\xa1k \xc5\xbdlu\xc5\xa5ou\xc4\x8dk\xc3\xbd k\xc5\xaf\xc5\x88 "
			   "Stra\xc3\x9f" "e \xc5\x81\xc3\xb3" "d\xc5\xba \xc5\x91 \xc3\x86 \xe2\x80\x9e" "A\xe2\x80\x9c \xe2\x80\xa6";
	char out[200];
	size_t o = 0;
	for (size_t i = 0, n = strlen(name); i < n;) {
		uint32_t cp;
		i += ma_utf8_decode(name + i, n - i, &cp);
		const char *a = cp < 0x80 ? NULL : ma_cp_ascii(cp);
		if (cp < 0x80)
			out[o++] = (char)cp;
		else if (a)
			o += (size_t)snprintf(out + o, sizeof out - o, "%s", a);
		else
			out[o++] = '?';
	}
	out[o] = '\0';
	assert_string_equal(out, "Jiri Novak Zlutoucky kun Strasse Lodz o AE \"A\" ...");
	assert_null(ma_cp_ascii(0x4E2D));  /* CJK: no ASCII form */
	assert_null(ma_cp_ascii('a'));
	assert_string_equal(ma_cp_ascii(0x0218), "S");  /* Romanian S with comma */
	struct ma_buf b = { 0 };
	ma_buf_add_ascii(&b, "Odeslan\xc3\xa1 \xe4\xb8\xad \xe2\x80\x94 ok", 20);
	char *t = ma_buf_take(&b);
	assert_string_equal(t, "Odeslana ? - ok");
	free(t);
}

/* Case folding by a fixed rule, and the search built on it. */
static void case_folding(void **state)
{
	(void)state;
	static const uint32_t pairs[][2] = {
		{ 'A', 'a' }, { 0xC1, 0xE1 }, { 0xC9, 0xE9 }, { 0xDD, 0xFD }, { 0x10C, 0x10D },
		{ 0x10E, 0x10F }, { 0x11A, 0x11B }, { 0x147, 0x148 }, { 0x158, 0x159 },
		{ 0x160, 0x161 }, { 0x164, 0x165 }, { 0x16E, 0x16F }, { 0x17D, 0x17E },
		{ 0x139, 0x13A }, { 0x13D, 0x13E }, { 0x141, 0x142 }, { 0x150, 0x151 },
		{ 0x178, 0xFF }, { 0x394, 0x3B4 }, { 0x416, 0x436 }, { 0x401, 0x451 },
		{ 0x218, 0x219 }, { 0x21A, 0x21B }, { 0x1EA0, 0x1EA1 }, { 0x1EF8, 0x1EF9 }, { 0x1E9E, 0xDF },
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		assert_int_equal(ma_cp_lower(pairs[i][0]), pairs[i][1]);
		assert_int_equal(ma_cp_lower(pairs[i][1]), pairs[i][1]);
	}
	assert_int_equal(ma_cp_lower(0xD7), 0xD7);  /* multiplication sign */
	assert_int_equal(ma_cp_lower(0x4E2D), 0x4E2D);
	const char *hay = "Folder: Odeslan\xc3\xa1 po\xc5\xa1ta";
	assert_ptr_equal(ma_find_nocase(hay, "ODESLAN\xc3\x81"), hay + 8);
	assert_ptr_equal(ma_find_nocase(hay, "PO\xc5\xa0TA"), hay + 18);
	assert_ptr_equal(ma_find_nocase(hay, "folder"), hay);
	assert_null(ma_find_nocase(hay, "odeslana"));  /* case, not diacritics */
	assert_null(ma_find_nocase(hay, ""));
	assert_null(ma_find_nocase("", "a"));
	/* An ill-formed byte matches only itself (as U+FFFD), never past the end. */
	assert_null(ma_find_nocase("ab\xc3", "b\xc3\xa1"));
}

/* Times are local and name their zone: winter and summer time, a zone
 * with a name in letters and one with only an offset. */
static void local_times(void **state)
{
	(void)state;
	static const struct { const char *tz; time_t t; const char *s; } v[] = {
		{ "Europe/Prague", 1795600800, "2026-11-25 11:00 CET" },
		{ "Europe/Prague", 1782907200, "2026-07-01 14:00 CEST" },
		{ "Asia/Kolkata", 1795600800, "2026-11-25 15:30 IST" },
		{ "<+0530>-5:30", 1795600800, "2026-11-25 15:30 +05:30" },
		{ "America/Sao_Paulo", 1795600800, "2026-11-25 07:00 -03:00" },
		{ "UTC", 1795600800, "2026-11-25 10:00 UTC" },
	};
	char *saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	char out[MA_FMT_LEN];
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		setenv("TZ", v[i].tz, 1);
		tzset();
		ma_fmt_time(v[i].t, out);
		assert_string_equal(out, v[i].s);
		assert_true(strlen(out) <= MA_FMT_TIME_COLS);
	}
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	free(saved);
	tzset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(local_times),
		cmocka_unit_test(ascii_forms),
		cmocka_unit_test(case_folding),
		cmocka_unit_test(buf_grows),
		cmocka_unit_test(buf_limit),
		cmocka_unit_test(utf8_well_formed),
		cmocka_unit_test(utf8_ill_formed),
		cmocka_unit_test(utf8_helpers),
		cmocka_unit_test(clean_report),
		cmocka_unit_test(clean_server),
		cmocka_unit_test(clean_header),
		cmocka_unit_test(clean_hidden),
		cmocka_unit_test(clean_into_buf),
		cmocka_unit_test(wrap_report),
		cmocka_unit_test(wrap_rows),
		cmocka_unit_test(formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
