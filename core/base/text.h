/* Text for people, in one place: the growing string every text is built
 * in, UTF-8 decoding, cleaning untrusted text by one rule set, wrapping,
 * the formats of sizes, times and plurals, and a monotonic clock.
 *
 * The parsers (decoded header text), the sessions (what a server says),
 * the findings, the report, the doctor's text and the screen all use
 * these, so a server's bytes are judged by the same rules wherever they
 * are shown. Base layer: uses the C library only; no locale, no I/O
 * (times are local through the C library's time zone, TZ: the one
 * outside setting a text here depends on).
 *
 * Ownership: a growing string's p is its owner's (free it, or take it with
 * ma_buf_take). Every other function writes into the caller's buffer or
 * returns static text; nothing here keeps a pointer it was given. */
#ifndef MA_TEXT_H
#define MA_TEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MA_ELLIPSIS "\xE2\x80\xA6"      /* U+2026, ends a text that was cut */
#define MA_REPLACEMENT "\xEF\xBF\xBD"   /* U+FFFD, stands for ill-formed bytes */

/* ---- the growing string ------------------------------------------------
 * Out of memory is remembered in oom and checked once at the end, so text
 * builders stay free of error plumbing. A limit bounds the content: an
 * addition that does not fit whole is dropped and sets truncated. After
 * either, nothing more is added. p is NULL until something is added, then
 * always NUL-terminated. Start with { 0 }, or { .limit = N }. */
struct ma_buf {
	char *p;
	size_t len, cap;
	size_t limit;      /* most content bytes; 0: no limit */
	bool truncated;    /* something did not fit under limit */
	bool oom;          /* out of memory: the text is incomplete */
};

/* Appends s[0..n) whole or not at all; false when it was dropped (limit,
 * out of memory, or an earlier drop). n == 0 still makes p "". */
bool ma_buf_add(struct ma_buf *b, const char *s, size_t n);
/* Appends the formatted text, whole or not at all. */
void ma_buf_printf(struct ma_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ma_buf_vprintf(struct ma_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* The finished text, now the caller's: "…" appended if something was
 * dropped at the limit, "" if nothing was added. NULL when out of memory
 * (the text is freed). b is left empty. */
char *ma_buf_take(struct ma_buf *b);

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Length (1-4) of the well-formed UTF-8 sequence at s[0..n), with its code
 * point in *cp; 0 if the bytes there are not one: a stray continuation
 * byte, a lead byte C0, C1 or F5..FF, an overlong form, a surrogate, a
 * code point past U+10FFFF, a sequence cut short by n; and for n == 0.
 * C0 and C1 controls are well-formed: what they mean is cleaning's business. */
size_t ma_utf8_next(const char *s, size_t n, uint32_t *cp);
/* As ma_utf8_next, but an ill-formed byte is taken alone as U+FFFD: the
 * length is 0 only for n == 0. For measuring and drawing text. */
size_t ma_utf8_decode(const char *s, size_t n, uint32_t *cp);
bool ma_utf8_valid(const char *s, size_t n);
/* Code points in s[0..n), each ill-formed byte counting as one. */
size_t ma_utf8_count(const char *s, size_t n);
/* The UTF-8 form of cp in out, its length (1-4); 0 (nothing written) past
 * U+10FFFF. Surrogates are encoded as given: callers pass decoded text. */
size_t ma_utf8_encode(uint32_t cp, char out[4]);
/* The length of s[0..len) without its last character: for Backspace. */
size_t ma_utf8_back(const char *s, size_t len);
/* C0 controls, DEL and the C1 controls U+0080..U+009F: bytes a terminal
 * may obey rather than show. */
bool ma_cp_control(uint32_t cp);
/* Characters that are not seen but change what is: the bidi controls
 * (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) reorder the
 * text around them ("invoice <U+202E>gpj.exe" shows as "invoice exe.jpg"),
 * the zero-width ones (U+200B..U+200D, U+FEFF) hide inside a word. */
bool ma_cp_hidden(uint32_t cp);
/* For a terminal that shows ASCII only (LANG=C): cp in ASCII letters,
 * "r" for U+0159 (r with caron), "ss" for U+00DF, "..." for U+2026, from
 * a fixed table of Latin letters with diacritics (Czech, Slovak, German,
 * Polish, Hungarian, Nordic, French, Spanish, Romanian ...) and common
 * punctuation, so "Jiri Novak" shows rather than "Ji?? Nov?k" whatever
 * the locale (iconv's //TRANSLIT depends on it); NULL for any other. */
const char *ma_cp_ascii(uint32_t cp);
/* Appends s[0..len) with every code point past ASCII in its ma_cp_ascii
 * form, '?' for one without. */
void ma_buf_add_ascii(struct ma_buf *b, const char *s, size_t len);
/* cp in lower case, for searching without regard to case: ASCII, Latin-1,
 * Latin Extended-A, Romanian's comma letters, Latin Extended Additional,
 * Greek and Cyrillic by a fixed rule (no locale), any other code point as
 * it is. */
uint32_t ma_cp_lower(uint32_t cp);
/* Where needle first occurs in hay (both NUL-terminated UTF-8), letters
 * compared by ma_cp_lower: "ODESLANÁ" finds "Odeslaná". NULL for none or
 * an empty needle. */
const char *ma_find_nocase(const char *hay, const char *needle);

/* ---- cleaning --------------------------------------------------------------
 * No byte from a server, a file or a header may reach a terminal or a
 * report as a control sequence, and what comes out is valid UTF-8. The one
 * rule set, applied to the input one unit at a time (a unit is a
 * well-formed character or a single ill-formed byte), each unit giving one
 * character:
 *
 *   printable ASCII and well-formed characters from U+00A0 up    kept
 *   C0 controls but tab, CR, LF and NUL; DEL                    '?'
 *   tab          ' '; MA_CLEAN_TAB_KEEP: kept; MA_CLEAN_TAB_MARK: '?'
 *   CR, LF       '?'; MA_CLEAN_BREAK_SPACE: ' '
 *   NUL          ends the text; MA_CLEAN_NUL_MARK: '?'
 *   C1 controls (U+0080..U+009F)  '?' for each of their two bytes;
 *                MA_CLEAN_FFFD: one '?'
 *   bidi controls and zero-width characters (ma_cp_hidden)    '?'
 *   any other ill-formed byte     '?'; MA_CLEAN_FFFD: U+FFFD
 *
 * and how a text that is cut ends:
 *
 *   MA_CLEAN_ELLIPSIS   a cut text ends in "…", within its code point limit
 *   MA_CLEAN_TRIM       trailing spaces are dropped */
enum {
	MA_CLEAN_TAB_KEEP = 1 << 0,
	MA_CLEAN_TAB_MARK = 1 << 1,
	MA_CLEAN_BREAK_SPACE = 1 << 2,
	MA_CLEAN_NUL_MARK = 1 << 3,
	MA_CLEAN_FFFD = 1 << 4,
	MA_CLEAN_ELLIPSIS = 1 << 5,
	MA_CLEAN_TRIM = 1 << 6,
};
/* The three uses. The report, the findings and the ledger: text shown as
 * it came, one line. A server's own words (replies in error messages,
 * folder names, capabilities): one line, every byte kept apart. Decoded
 * header text (parse.h): decoding errors shown as U+FFFD, tabs kept. */
#define MA_CLEAN_REPORT (MA_CLEAN_ELLIPSIS)
#define MA_CLEAN_SERVER (MA_CLEAN_TAB_MARK | MA_CLEAN_BREAK_SPACE | MA_CLEAN_NUL_MARK | MA_CLEAN_TRIM)
#define MA_CLEAN_HEADER (MA_CLEAN_TAB_KEEP | MA_CLEAN_BREAK_SPACE | MA_CLEAN_NUL_MARK | MA_CLEAN_FFFD)

/* in[0..len) cleaned by rules into out (outsize bytes, NUL-terminated
 * whenever outsize > 0), at most maxcp code points: a longer text, or one
 * out cannot hold, is cut between characters. With MA_CLEAN_ELLIPSIS room
 * for "…" is kept and a cut text ends in it, so outsize >= 4 * maxcp + 4
 * never cuts earlier than maxcp. Returns the code points written. */
size_t ma_clean(char *out, size_t outsize, const char *in, size_t len, size_t maxcp,
		unsigned rules);
/* MA_CLEAN_REPORT: what the report and the findings show. */
size_t ma_text_clean(char *out, size_t outsize, const char *in, size_t len, size_t maxcp);
/* MA_CLEAN_SERVER into dst, cut where dst is full; never longer than the
 * input. */
void ma_sanitize(char *dst, size_t dstlen, const char *src, size_t len);
/* The same into a new string the caller frees; NULL on ENOMEM. */
char *ma_sanitize_dup(const char *src, size_t len);
/* Appends s (NUL-terminated; NULL adds nothing) cleaned as the report
 * shows it and cut to maxcp code points. */
void ma_buf_clean(struct ma_buf *b, const char *s, size_t maxcp);
/* A subject is shown whole, wrapped, never cut (RFC 5322's line limit is
 * 998 characters; an encoded subject decodes shorter): the report is where
 * a user looks for the message that went. */
#define MA_SUBJECT_MAX 998
/* Appends s[0..n) cleaned by rules, under b's limit: the first character
 * that does not fit ends it (b->truncated). No code point limit; the cut
 * rules (ELLIPSIS, TRIM) do not apply here: ma_buf_take adds the "…". */
void ma_buf_clean_rules(struct ma_buf *b, const char *s, size_t n, unsigned rules);

/* ---- wrapping --------------------------------------------------------------
 * Rows break at spaces; a word longer than a row is cut. A row has room
 * for at least MA_WRAP_MIN columns, whatever its indent. */
#define MA_WRAP_MIN 10
/* The full-screen program's rule, kept so its screens stay as they were: a
 * row breaks at the last space inside it, never at a space just past its
 * end, and keeps the spaces before its break. */
#define MA_WRAP_SCREEN 1u

/* Where the first row of s[0..len) ends when a row has room columns: the
 * returned length of the row (spaces before the break dropped unless
 * MA_WRAP_SCREEN), and in *next where the following row starts (spaces
 * skipped; len when none is left). cols gives a code point's columns (the
 * screen passes wcwidth's view); NULL counts one per code point. A row
 * takes at least one code point, so *next > 0 whenever len > 0. */
size_t ma_wrap_row(const char *s, size_t len, size_t room, int (*cols)(uint32_t cp),
		   unsigned flags, size_t *next);
/* Appends one logical line s[0..len) (no '\n') wrapped to width code
 * points, each row ending in '\n': the first row indented by first
 * spaces, the others by rest. Trailing spaces go; a line that fits is kept
 * as it is, so table columns keep their spacing; a blank line is a bare
 * "\n". The line is not cleaned here: clean it first. */
void ma_buf_wrap(struct ma_buf *b, const char *s, size_t len, size_t width, size_t first,
		 size_t rest);

/* ---- formats ---------------------------------------------------------------- */

#define MA_FMT_LEN 32
/* "2026-11-26 10:00 CET": local time (TZ honoured) and its zone, so a
 * time read over SSH on another continent still says what it means;
 * "unknown" for 0, for a time before 1970 and for one localtime cannot
 * take. At most MA_FMT_TIME_COLS columns. */
#define MA_FMT_TIME_COLS 23
void ma_fmt_time(time_t t, char out[MA_FMT_LEN]);
/* The zone of the local time tm: its abbreviation ("CET", "UTC") where
 * the zone has one in letters, else the offset ("+05:30"). */
void ma_fmt_zone(const struct tm *tm, char out[MA_FMT_LEN]);
/* The same, with none for "unknown" (the screen shows "-"). */
void ma_fmt_time_or(time_t t, char out[MA_FMT_LEN], const char *none);
/* "512 B", "12.3 KB", "4.5 MB", "1.2 GB" (units of 1024, one decimal). */
void ma_fmt_size(uint64_t n, char out[MA_FMT_LEN]);
/* "" for one, "s" for any other number: "%d message%s". */
const char *ma_plural(uint64_t n);

/* ---- time ------------------------------------------------------------------- */

/* Milliseconds of the monotonic clock: for timeouts and durations, never
 * for dates (it does not jump with the wall clock). */
int64_t ma_now_ms(void);

#endif
