/* Text for people; see text.h for the contracts and the cleaning rules. */
#include "base/text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the growing string ---- */

bool ma_buf_add(struct ma_buf *b, const char *s, size_t n)
{
	if (b->oom || b->truncated)
		return false;
	if (b->limit && n > b->limit - b->len) {
		b->truncated = true;
		return false;
	}
	if (n >= SIZE_MAX / 4 - b->len) {
		b->oom = true;
		return false;
	}
	if (b->len + n + 1 > b->cap) {
		/* 64 first: parsed header fields are small and there is one
		 * per message in an audit's memory. */
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return false;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

void ma_buf_vprintf(struct ma_buf *b, const char *fmt, va_list ap)
{
	if (b->oom || b->truncated)
		return;
	char small[512];
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	if (n < 0) {
		b->oom = true;
	} else if ((size_t)n < sizeof small) {
		ma_buf_add(b, small, (size_t)n);
	} else {
		/* Rare (long evidence lines): format again into the exact size. */
		char *big = malloc((size_t)n + 1);
		if (!big) {
			b->oom = true;
		} else {
			vsnprintf(big, (size_t)n + 1, fmt, again);
			ma_buf_add(b, big, (size_t)n);
			free(big);
		}
	}
	va_end(again);
}

void ma_buf_printf(struct ma_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ma_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *ma_buf_take(struct ma_buf *b)
{
	if (b->truncated && !b->oom) {
		b->truncated = false;
		b->limit = 0;
		ma_buf_add(b, MA_ELLIPSIS, 3);
	}
	if (!b->oom && !b->p)
		ma_buf_add(b, "", 0);
	char *p = b->p;
	if (b->oom) {
		free(p);
		p = NULL;
	}
	*b = (struct ma_buf){ 0 };
	return p;
}

/* ---- UTF-8 ---- */

size_t ma_utf8_next(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	if (n == 0)
		return 0;
	uint32_t v = u[0], min;
	size_t need;
	if (v < 0x80) {
		*cp = v;
		return 1;
	} else if (v >= 0xc2 && v <= 0xdf) {
		need = 2, v &= 0x1f, min = 0x80;
	} else if (v >= 0xe0 && v <= 0xef) {
		need = 3, v &= 0x0f, min = 0x800;
	} else if (v >= 0xf0 && v <= 0xf4) {
		need = 4, v &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (u[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return need;
}

size_t ma_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	if (n == 0)
		return 0;
	size_t k = ma_utf8_next(s, n, cp);
	if (k)
		return k;
	*cp = 0xfffd;
	return 1;
}

bool ma_utf8_valid(const char *s, size_t n)
{
	uint32_t cp;
	for (size_t i = 0, k; i < n; i += k)
		if (!(k = (unsigned char)s[i] < 0x80 ? 1 : ma_utf8_next(s + i, n - i, &cp)))
			return false;
	return true;
}

size_t ma_utf8_count(const char *s, size_t n)
{
	size_t count = 0;
	uint32_t cp;
	for (size_t i = 0; i < n; count++)
		i += (unsigned char)s[i] < 0x80 ? 1 : ma_utf8_decode(s + i, n - i, &cp);
	return count;
}

size_t ma_utf8_encode(uint32_t cp, char out[4])
{
	size_t n;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6), n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12), n = 3;
	} else if (cp <= 0x10ffff) {
		out[0] = (char)(0xf0 | cp >> 18), n = 4;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++)
		out[i] = (char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3f));
	return n;
}

size_t ma_utf8_back(const char *s, size_t len)
{
	while (len > 0 && ((unsigned char)s[len - 1] & 0xc0) == 0x80)
		len--;
	return len > 0 ? len - 1 : 0;
}

bool ma_cp_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

bool ma_cp_hidden(uint32_t cp)
{
	return cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

/* ---- cleaning ---- */

/* The rule set of text.h for the unit at s (n > 0 bytes): sets *take to
 * the input bytes it is and *outlen to the bytes it becomes, which are
 * returned (the input itself or a replacement). NUL is a control here;
 * whether it ends the text is the caller's business. */
static const char *clean_unit(const char *s, size_t n, unsigned rules, size_t *take,
			      size_t *outlen)
{
	uint32_t cp;
	size_t k = ma_utf8_next(s, n, &cp);
	*take = k ? k : 1;
	*outlen = 1;
	if (k == 0) {
		if (!(rules & MA_CLEAN_FFFD))
			return "?";
		*outlen = 3;
		return MA_REPLACEMENT;
	}
	if (cp == '\t')
		return rules & MA_CLEAN_TAB_KEEP ? "\t" : rules & MA_CLEAN_TAB_MARK ? "?" : " ";
	if (cp == '\r' || cp == '\n')
		return rules & MA_CLEAN_BREAK_SPACE ? " " : "?";
	/* Without U+FFFD, a C1 control is judged byte by byte, as the ill-formed
	 * bytes around it are: two '?'. */
	if (cp >= 0x80 && cp < 0xa0 && !(rules & MA_CLEAN_FFFD)) {
		*take = 1;
		return "?";
	}
	/* Shown as '?', not dropped: the reader sees that something was
	 * hidden there, and two texts that differ only by it stay apart. */
	if (ma_cp_control(cp) || ma_cp_hidden(cp))
		return "?";
	*outlen = k;
	return s;
}

static bool ends_here(const char *s, unsigned rules)
{
	return *s == '\0' && !(rules & MA_CLEAN_NUL_MARK);
}

size_t ma_clean(char *out, size_t outsize, const char *in, size_t len, size_t maxcp,
		unsigned rules)
{
	if (!outsize)
		return 0;
	bool ellipsis = rules & MA_CLEAN_ELLIPSIS;
	size_t take, olen;
	/* Count first, so a cut text keeps its ellipsis within maxcp. A unit
	 * is at least a byte: a text of len bytes is never longer than len. */
	size_t total = 0;
	if (maxcp < len)
		for (size_t i = 0; i < len && !ends_here(in + i, rules); i += take, total++)
			clean_unit(in + i, len - i, rules, &take, &olen);
	bool cut = total > maxcp;
	size_t limit = !cut ? SIZE_MAX : ellipsis && maxcp ? maxcp - 1 : maxcp;
	size_t keep = ellipsis ? 4 : 1;   /* room for the ellipsis and the NUL */
	size_t o = 0, cp = 0;
	for (size_t i = 0; i < len && !ends_here(in + i, rules) && cp < limit; cp++) {
		const char *u = clean_unit(in + i, len - i, rules, &take, &olen);
		if (o + olen + keep > outsize) {
			cut = true;
			break;
		}
		memcpy(out + o, u, olen);
		o += olen;
		i += take;
	}
	if (cut && ellipsis && maxcp && o + 4 <= outsize) {
		memcpy(out + o, MA_ELLIPSIS, 3);
		o += 3;
		cp++;
	}
	if (rules & MA_CLEAN_TRIM)
		for (; o > 0 && out[o - 1] == ' '; o--)
			cp--;
	out[o] = '\0';
	return cp;
}

size_t ma_text_clean(char *out, size_t outsize, const char *in, size_t len, size_t maxcp)
{
	return ma_clean(out, outsize, in, len, maxcp, MA_CLEAN_REPORT);
}

void ma_sanitize(char *dst, size_t dstlen, const char *src, size_t len)
{
	ma_clean(dst, dstlen, src, len, SIZE_MAX, MA_CLEAN_SERVER);
}

char *ma_sanitize_dup(const char *src, size_t len)
{
	char *d = malloc(len + 1);
	if (d)
		ma_sanitize(d, len + 1, src, len);
	return d;
}

void ma_buf_clean(struct ma_buf *b, const char *s, size_t maxcp)
{
	if (!s)
		return;
	/* Every character takes at most 4 bytes, the one replacing a longer
	 * text included: this never cuts earlier than maxcp. */
	size_t len = strlen(s);
	size_t size = 4 * (len < maxcp ? len : maxcp) + 4;
	char *tmp = malloc(size);
	if (!tmp) {
		b->oom = true;
		return;
	}
	ma_text_clean(tmp, size, s, len, maxcp);
	ma_buf_add(b, tmp, strlen(tmp));
	free(tmp);
}

void ma_buf_clean_rules(struct ma_buf *b, const char *s, size_t n, unsigned rules)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n && !b->truncated && !b->oom) {
		/* Printable ASCII in runs: most header text is nothing else,
		 * and a byte at a time made this the costliest part of a
		 * fetch. Cut at the limit exactly as single bytes would be. */
		size_t run = i;
		while (run < n && u[run] >= 0x20 && u[run] < 0x7f)
			run++;
		if (run > i) {
			size_t k = run - i;
			if (b->limit && k > b->limit - b->len)
				k = b->limit - b->len;
			if (k)
				ma_buf_add(b, s + i, k);
			if (k < run - i)
				b->truncated = true;
			i += k;
			continue;
		}
		if (ends_here(s + i, rules))
			break;
		size_t take, olen;
		const char *out = clean_unit(s + i, n - i, rules, &take, &olen);
		ma_buf_add(b, out, olen);
		i += take;
	}
}

/* ---- wrapping ---- */

size_t ma_wrap_row(const char *s, size_t len, size_t room, int (*cols)(uint32_t cp),
		   unsigned flags, size_t *next)
{
	size_t j = 0, used = 0, space = 0;
	while (j < len) {
		uint32_t cp;
		size_t k = ma_utf8_decode(s + j, len - j, &cp);
		size_t w = cols ? (size_t)cols(cp) : 1;
		if (used + w > room && j > 0)
			break;
		if (cp == ' ')
			space = j;
		used += w;
		j += k;
	}
	size_t end;
	if (j >= len)
		end = len;
	else if (s[j] == ' ' && !(flags & MA_WRAP_SCREEN))
		end = j;
	else if (space > 0)
		end = space;
	else
		end = j;
	size_t after = end;
	while (after < len && s[after] == ' ')
		after++;
	*next = after;
	if (!(flags & MA_WRAP_SCREEN))
		while (end > 0 && s[end - 1] == ' ')
			end--;
	return end;
}

static void add_spaces(struct ma_buf *b, size_t n)
{
	static const char sp[] = "                                ";
	for (size_t k; n > 0; n -= k) {
		k = n < sizeof sp - 1 ? n : sizeof sp - 1;
		ma_buf_add(b, sp, k);
	}
}

void ma_buf_wrap(struct ma_buf *b, const char *s, size_t len, size_t width, size_t first,
		 size_t rest)
{
	while (len && s[len - 1] == ' ')
		len--;
	if (!len) {
		/* A blank line carries no indent: no trailing spaces. */
		ma_buf_add(b, "\n", 1);
		return;
	}
	if (first + ma_utf8_count(s, len) <= width) {
		add_spaces(b, first);
		ma_buf_add(b, s, len);
		ma_buf_add(b, "\n", 1);
		return;
	}
	for (size_t i = 0, indent = first, next; i < len; i += next, indent = rest) {
		size_t room = width > indent + MA_WRAP_MIN ? width - indent : MA_WRAP_MIN;
		size_t end = ma_wrap_row(s + i, len - i, room, NULL, 0, &next);
		add_spaces(b, indent);
		ma_buf_add(b, s + i, end);
		ma_buf_add(b, "\n", 1);
	}
}

/* ---- ASCII forms and case ---- */

/* Sorted by code point (ma_cp_ascii searches it by halves). */
static const struct { uint32_t cp; const char *ascii; } ascii_forms[] = {
	{ 0x00A0, " " }, /* no-break space */
	{ 0x00A1, "!" }, /* inverted exclamation mark */
	{ 0x00A7, "S" }, /* section sign */
	{ 0x00A9, "(C)" }, /* copyright sign */
	{ 0x00AA, "a" }, /* feminine ordinal indicator */
	{ 0x00AB, "<<" }, /* left-pointing double angle quotation mark */
	{ 0x00AD, "-" }, /* soft hyphen */
	{ 0x00AE, "(R)" }, /* registered sign */
	{ 0x00B0, " deg" }, /* degree sign */
	{ 0x00B1, "+-" }, /* plus-minus sign */
	{ 0x00B5, "u" }, /* micro sign */
	{ 0x00B7, "." }, /* middle dot */
	{ 0x00BA, "o" }, /* masculine ordinal indicator */
	{ 0x00BB, ">>" }, /* right-pointing double angle quotation mark */
	{ 0x00BF, "?" }, /* inverted question mark */
	{ 0x00C0, "A" }, /* latin capital letter a with grave */
	{ 0x00C1, "A" }, /* latin capital letter a with acute */
	{ 0x00C2, "A" }, /* latin capital letter a with circumflex */
	{ 0x00C3, "A" }, /* latin capital letter a with tilde */
	{ 0x00C4, "A" }, /* latin capital letter a with diaeresis */
	{ 0x00C5, "A" }, /* latin capital letter a with ring above */
	{ 0x00C6, "AE" }, /* latin capital letter ae */
	{ 0x00C7, "C" }, /* latin capital letter c with cedilla */
	{ 0x00C8, "E" }, /* latin capital letter e with grave */
	{ 0x00C9, "E" }, /* latin capital letter e with acute */
	{ 0x00CA, "E" }, /* latin capital letter e with circumflex */
	{ 0x00CB, "E" }, /* latin capital letter e with diaeresis */
	{ 0x00CC, "I" }, /* latin capital letter i with grave */
	{ 0x00CD, "I" }, /* latin capital letter i with acute */
	{ 0x00CE, "I" }, /* latin capital letter i with circumflex */
	{ 0x00CF, "I" }, /* latin capital letter i with diaeresis */
	{ 0x00D0, "D" }, /* latin capital letter eth */
	{ 0x00D1, "N" }, /* latin capital letter n with tilde */
	{ 0x00D2, "O" }, /* latin capital letter o with grave */
	{ 0x00D3, "O" }, /* latin capital letter o with acute */
	{ 0x00D4, "O" }, /* latin capital letter o with circumflex */
	{ 0x00D5, "O" }, /* latin capital letter o with tilde */
	{ 0x00D6, "O" }, /* latin capital letter o with diaeresis */
	{ 0x00D7, "x" }, /* multiplication sign */
	{ 0x00D8, "O" }, /* latin capital letter o with stroke */
	{ 0x00D9, "U" }, /* latin capital letter u with grave */
	{ 0x00DA, "U" }, /* latin capital letter u with acute */
	{ 0x00DB, "U" }, /* latin capital letter u with circumflex */
	{ 0x00DC, "U" }, /* latin capital letter u with diaeresis */
	{ 0x00DD, "Y" }, /* latin capital letter y with acute */
	{ 0x00DE, "Th" }, /* latin capital letter thorn */
	{ 0x00DF, "ss" }, /* latin small letter sharp s */
	{ 0x00E0, "a" }, /* latin small letter a with grave */
	{ 0x00E1, "a" }, /* latin small letter a with acute */
	{ 0x00E2, "a" }, /* latin small letter a with circumflex */
	{ 0x00E3, "a" }, /* latin small letter a with tilde */
	{ 0x00E4, "a" }, /* latin small letter a with diaeresis */
	{ 0x00E5, "a" }, /* latin small letter a with ring above */
	{ 0x00E6, "ae" }, /* latin small letter ae */
	{ 0x00E7, "c" }, /* latin small letter c with cedilla */
	{ 0x00E8, "e" }, /* latin small letter e with grave */
	{ 0x00E9, "e" }, /* latin small letter e with acute */
	{ 0x00EA, "e" }, /* latin small letter e with circumflex */
	{ 0x00EB, "e" }, /* latin small letter e with diaeresis */
	{ 0x00EC, "i" }, /* latin small letter i with grave */
	{ 0x00ED, "i" }, /* latin small letter i with acute */
	{ 0x00EE, "i" }, /* latin small letter i with circumflex */
	{ 0x00EF, "i" }, /* latin small letter i with diaeresis */
	{ 0x00F0, "d" }, /* latin small letter eth */
	{ 0x00F1, "n" }, /* latin small letter n with tilde */
	{ 0x00F2, "o" }, /* latin small letter o with grave */
	{ 0x00F3, "o" }, /* latin small letter o with acute */
	{ 0x00F4, "o" }, /* latin small letter o with circumflex */
	{ 0x00F5, "o" }, /* latin small letter o with tilde */
	{ 0x00F6, "o" }, /* latin small letter o with diaeresis */
	{ 0x00F7, ":" }, /* division sign */
	{ 0x00F8, "o" }, /* latin small letter o with stroke */
	{ 0x00F9, "u" }, /* latin small letter u with grave */
	{ 0x00FA, "u" }, /* latin small letter u with acute */
	{ 0x00FB, "u" }, /* latin small letter u with circumflex */
	{ 0x00FC, "u" }, /* latin small letter u with diaeresis */
	{ 0x00FD, "y" }, /* latin small letter y with acute */
	{ 0x00FE, "th" }, /* latin small letter thorn */
	{ 0x00FF, "y" }, /* latin small letter y with diaeresis */
	{ 0x0100, "A" }, /* latin capital letter a with macron */
	{ 0x0101, "a" }, /* latin small letter a with macron */
	{ 0x0102, "A" }, /* latin capital letter a with breve */
	{ 0x0103, "a" }, /* latin small letter a with breve */
	{ 0x0104, "A" }, /* latin capital letter a with ogonek */
	{ 0x0105, "a" }, /* latin small letter a with ogonek */
	{ 0x0106, "C" }, /* latin capital letter c with acute */
	{ 0x0107, "c" }, /* latin small letter c with acute */
	{ 0x0108, "C" }, /* latin capital letter c with circumflex */
	{ 0x0109, "c" }, /* latin small letter c with circumflex */
	{ 0x010A, "C" }, /* latin capital letter c with dot above */
	{ 0x010B, "c" }, /* latin small letter c with dot above */
	{ 0x010C, "C" }, /* latin capital letter c with caron */
	{ 0x010D, "c" }, /* latin small letter c with caron */
	{ 0x010E, "D" }, /* latin capital letter d with caron */
	{ 0x010F, "d" }, /* latin small letter d with caron */
	{ 0x0110, "D" }, /* latin capital letter d with stroke */
	{ 0x0111, "d" }, /* latin small letter d with stroke */
	{ 0x0112, "E" }, /* latin capital letter e with macron */
	{ 0x0113, "e" }, /* latin small letter e with macron */
	{ 0x0114, "E" }, /* latin capital letter e with breve */
	{ 0x0115, "e" }, /* latin small letter e with breve */
	{ 0x0116, "E" }, /* latin capital letter e with dot above */
	{ 0x0117, "e" }, /* latin small letter e with dot above */
	{ 0x0118, "E" }, /* latin capital letter e with ogonek */
	{ 0x0119, "e" }, /* latin small letter e with ogonek */
	{ 0x011A, "E" }, /* latin capital letter e with caron */
	{ 0x011B, "e" }, /* latin small letter e with caron */
	{ 0x011C, "G" }, /* latin capital letter g with circumflex */
	{ 0x011D, "g" }, /* latin small letter g with circumflex */
	{ 0x011E, "G" }, /* latin capital letter g with breve */
	{ 0x011F, "g" }, /* latin small letter g with breve */
	{ 0x0120, "G" }, /* latin capital letter g with dot above */
	{ 0x0121, "g" }, /* latin small letter g with dot above */
	{ 0x0122, "G" }, /* latin capital letter g with cedilla */
	{ 0x0123, "g" }, /* latin small letter g with cedilla */
	{ 0x0124, "H" }, /* latin capital letter h with circumflex */
	{ 0x0125, "h" }, /* latin small letter h with circumflex */
	{ 0x0126, "H" }, /* latin capital letter h with stroke */
	{ 0x0127, "h" }, /* latin small letter h with stroke */
	{ 0x0128, "I" }, /* latin capital letter i with tilde */
	{ 0x0129, "i" }, /* latin small letter i with tilde */
	{ 0x012A, "I" }, /* latin capital letter i with macron */
	{ 0x012B, "i" }, /* latin small letter i with macron */
	{ 0x012C, "I" }, /* latin capital letter i with breve */
	{ 0x012D, "i" }, /* latin small letter i with breve */
	{ 0x012E, "I" }, /* latin capital letter i with ogonek */
	{ 0x012F, "i" }, /* latin small letter i with ogonek */
	{ 0x0130, "I" }, /* latin capital letter i with dot above */
	{ 0x0131, "i" }, /* latin small letter dotless i */
	{ 0x0132, "IJ" }, /* latin capital ligature ij */
	{ 0x0133, "ij" }, /* latin small ligature ij */
	{ 0x0134, "J" }, /* latin capital letter j with circumflex */
	{ 0x0135, "j" }, /* latin small letter j with circumflex */
	{ 0x0136, "K" }, /* latin capital letter k with cedilla */
	{ 0x0137, "k" }, /* latin small letter k with cedilla */
	{ 0x0138, "q" }, /* latin small letter kra */
	{ 0x0139, "L" }, /* latin capital letter l with acute */
	{ 0x013A, "l" }, /* latin small letter l with acute */
	{ 0x013B, "L" }, /* latin capital letter l with cedilla */
	{ 0x013C, "l" }, /* latin small letter l with cedilla */
	{ 0x013D, "L" }, /* latin capital letter l with caron */
	{ 0x013E, "l" }, /* latin small letter l with caron */
	{ 0x013F, "L" }, /* latin capital letter l with middle dot */
	{ 0x0140, "l" }, /* latin small letter l with middle dot */
	{ 0x0141, "L" }, /* latin capital letter l with stroke */
	{ 0x0142, "l" }, /* latin small letter l with stroke */
	{ 0x0143, "N" }, /* latin capital letter n with acute */
	{ 0x0144, "n" }, /* latin small letter n with acute */
	{ 0x0145, "N" }, /* latin capital letter n with cedilla */
	{ 0x0146, "n" }, /* latin small letter n with cedilla */
	{ 0x0147, "N" }, /* latin capital letter n with caron */
	{ 0x0148, "n" }, /* latin small letter n with caron */
	{ 0x0149, "'n" }, /* latin small letter n preceded by apostrophe */
	{ 0x014A, "N" }, /* latin capital letter eng */
	{ 0x014B, "n" }, /* latin small letter eng */
	{ 0x014C, "O" }, /* latin capital letter o with macron */
	{ 0x014D, "o" }, /* latin small letter o with macron */
	{ 0x014E, "O" }, /* latin capital letter o with breve */
	{ 0x014F, "o" }, /* latin small letter o with breve */
	{ 0x0150, "O" }, /* latin capital letter o with double acute */
	{ 0x0151, "o" }, /* latin small letter o with double acute */
	{ 0x0152, "OE" }, /* latin capital ligature oe */
	{ 0x0153, "oe" }, /* latin small ligature oe */
	{ 0x0154, "R" }, /* latin capital letter r with acute */
	{ 0x0155, "r" }, /* latin small letter r with acute */
	{ 0x0156, "R" }, /* latin capital letter r with cedilla */
	{ 0x0157, "r" }, /* latin small letter r with cedilla */
	{ 0x0158, "R" }, /* latin capital letter r with caron */
	{ 0x0159, "r" }, /* latin small letter r with caron */
	{ 0x015A, "S" }, /* latin capital letter s with acute */
	{ 0x015B, "s" }, /* latin small letter s with acute */
	{ 0x015C, "S" }, /* latin capital letter s with circumflex */
	{ 0x015D, "s" }, /* latin small letter s with circumflex */
	{ 0x015E, "S" }, /* latin capital letter s with cedilla */
	{ 0x015F, "s" }, /* latin small letter s with cedilla */
	{ 0x0160, "S" }, /* latin capital letter s with caron */
	{ 0x0161, "s" }, /* latin small letter s with caron */
	{ 0x0162, "T" }, /* latin capital letter t with cedilla */
	{ 0x0163, "t" }, /* latin small letter t with cedilla */
	{ 0x0164, "T" }, /* latin capital letter t with caron */
	{ 0x0165, "t" }, /* latin small letter t with caron */
	{ 0x0166, "T" }, /* latin capital letter t with stroke */
	{ 0x0167, "t" }, /* latin small letter t with stroke */
	{ 0x0168, "U" }, /* latin capital letter u with tilde */
	{ 0x0169, "u" }, /* latin small letter u with tilde */
	{ 0x016A, "U" }, /* latin capital letter u with macron */
	{ 0x016B, "u" }, /* latin small letter u with macron */
	{ 0x016C, "U" }, /* latin capital letter u with breve */
	{ 0x016D, "u" }, /* latin small letter u with breve */
	{ 0x016E, "U" }, /* latin capital letter u with ring above */
	{ 0x016F, "u" }, /* latin small letter u with ring above */
	{ 0x0170, "U" }, /* latin capital letter u with double acute */
	{ 0x0171, "u" }, /* latin small letter u with double acute */
	{ 0x0172, "U" }, /* latin capital letter u with ogonek */
	{ 0x0173, "u" }, /* latin small letter u with ogonek */
	{ 0x0174, "W" }, /* latin capital letter w with circumflex */
	{ 0x0175, "w" }, /* latin small letter w with circumflex */
	{ 0x0176, "Y" }, /* latin capital letter y with circumflex */
	{ 0x0177, "y" }, /* latin small letter y with circumflex */
	{ 0x0178, "Y" }, /* latin capital letter y with diaeresis */
	{ 0x0179, "Z" }, /* latin capital letter z with acute */
	{ 0x017A, "z" }, /* latin small letter z with acute */
	{ 0x017B, "Z" }, /* latin capital letter z with dot above */
	{ 0x017C, "z" }, /* latin small letter z with dot above */
	{ 0x017D, "Z" }, /* latin capital letter z with caron */
	{ 0x017E, "z" }, /* latin small letter z with caron */
	{ 0x017F, "s" }, /* latin small letter long s */
	{ 0x0218, "S" }, /* latin capital letter s with comma below */
	{ 0x0219, "s" }, /* latin small letter s with comma below */
	{ 0x021A, "T" }, /* latin capital letter t with comma below */
	{ 0x021B, "t" }, /* latin small letter t with comma below */
	{ 0x1E9E, "SS" }, /* latin capital letter sharp s */
	{ 0x2002, " " }, /* en space */
	{ 0x2003, " " }, /* em space */
	{ 0x2007, " " }, /* figure space */
	{ 0x2008, " " }, /* punctuation space */
	{ 0x2009, " " }, /* thin space */
	{ 0x200A, " " }, /* hair space */
	{ 0x2010, "-" }, /* hyphen */
	{ 0x2011, "-" }, /* non-breaking hyphen */
	{ 0x2012, "-" }, /* figure dash */
	{ 0x2013, "-" }, /* en dash */
	{ 0x2014, "-" }, /* em dash */
	{ 0x2015, "-" }, /* horizontal bar */
	{ 0x2018, "'" }, /* left single quotation mark */
	{ 0x2019, "'" }, /* right single quotation mark */
	{ 0x201A, "," }, /* single low-9 quotation mark */
	{ 0x201B, "'" }, /* single high-reversed-9 quotation mark */
	{ 0x201C, "\"" }, /* left double quotation mark */
	{ 0x201D, "\"" }, /* right double quotation mark */
	{ 0x201E, "\"" }, /* double low-9 quotation mark */
	{ 0x201F, "\"" }, /* double high-reversed-9 quotation mark */
	{ 0x2022, "*" }, /* bullet */
	{ 0x2026, "..." }, /* horizontal ellipsis */
	{ 0x202F, " " }, /* narrow no-break space */
	{ 0x2032, "'" }, /* prime */
	{ 0x2033, "\"" }, /* double prime */
	{ 0x2039, "<" }, /* single left-pointing angle quotation mark */
	{ 0x203A, ">" }, /* single right-pointing angle quotation mark */
	{ 0x20AC, "EUR" }, /* euro sign */
	{ 0x2122, "TM" }, /* trade mark sign */
	{ 0x2190, "<-" }, /* leftwards arrow */
	{ 0x2192, "->" }, /* rightwards arrow */
	{ 0x21B5, "<-" }, /* downwards arrow with corner leftwards */
	{ 0x2212, "-" }, /* minus sign */
	{ 0x2260, "!=" }, /* not equal to */
	{ 0x2264, "<=" }, /* less-than or equal to */
	{ 0x2265, ">=" }, /* greater-than or equal to */
	{ 0x2500, "-" }, /* box drawings light horizontal */
	{ 0x2502, "|" }, /* box drawings light vertical */
	{ 0x250C, "+" }, /* box drawings light down and right */
	{ 0x2510, "+" }, /* box drawings light down and left */
	{ 0x2514, "+" }, /* box drawings light up and right */
	{ 0x2518, "+" }, /* box drawings light up and left */
	{ 0x2588, "#" }, /* full block */
	{ 0x2591, "." }, /* light shade */
	{ 0x2592, ":" }, /* medium shade */
	{ 0x2593, "#" }, /* dark shade */
	{ 0x25B6, ">" }, /* black right-pointing triangle */
	{ 0x25CF, "*" }, /* black circle */
	{ 0x2713, "v" }, /* check mark */
	{ 0x2714, "v" }, /* heavy check mark */
	{ 0x2717, "x" }, /* ballot x */
};

const char *ma_cp_ascii(uint32_t cp)
{
	size_t lo = 0, hi = sizeof ascii_forms / sizeof ascii_forms[0];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ascii_forms[mid].cp == cp)
			return ascii_forms[mid].ascii;
		if (ascii_forms[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void ma_buf_add_ascii(struct ma_buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = ma_utf8_decode(s + i, len - i, &cp);
		const char *a = cp < 0x80 ? NULL : ma_cp_ascii(cp);
		if (cp < 0x80)
			ma_buf_add(b, s + i, n);
		else if (a)
			ma_buf_add(b, a, strlen(a));
		else
			ma_buf_add(b, "?", 1);
		i += n;
	}
}

uint32_t ma_cp_lower(uint32_t cp)
{
	if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7))
		return cp + 0x20;
	if (cp >= 0x100 && cp <= 0x17F) {
		/* Latin Extended-A pairs capital and small letter, capital
		 * first: on even code points, but on odd ones from U+0139 to
		 * U+0148 and from U+0179 to U+017E. */
		if (cp == 0x130)
			return 'i';
		if (cp == 0x178)
			return 0xFF;
		bool odd_capital = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
		if (cp == 0x131 || cp == 0x138 || cp == 0x149 || cp == 0x17F)
			return cp;
		return (cp % 2 == 1) == odd_capital ? cp + 1 : cp;
	}
	if (cp == 0x1E9E) /* capital sharp s */
		return 0xDF;
	/* Romanian S and T with comma below; Latin Extended Additional
	 * (Vietnamese, Welsh): capital on the even code point. */
	if (((cp >= 0x218 && cp <= 0x21B) || (cp >= 0x1E00 && cp <= 0x1EFF && (cp < 0x1E96 || cp > 0x1E9F)))
	    && cp % 2 == 0)
		return cp + 1;
	if ((cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) || (cp >= 0x410 && cp <= 0x42F))
		return cp + 0x20;
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 0x50;
	return cp;
}

const char *ma_find_nocase(const char *hay, const char *needle)
{
	size_t hn = strlen(hay), nn = strlen(needle);
	if (!nn)
		return NULL;
	for (size_t i = 0; i < hn;) {
		size_t h = i, n = 0;
		while (n < nn && h < hn) {
			uint32_t a, b;
			size_t la = ma_utf8_decode(hay + h, hn - h, &a);
			size_t lb = ma_utf8_decode(needle + n, nn - n, &b);
			if (ma_cp_lower(a) != ma_cp_lower(b))
				break;
			h += la, n += lb;
		}
		if (n == nn)
			return hay + i;
		uint32_t cp;
		i += ma_utf8_decode(hay + i, hn - i, &cp);
	}
	return NULL;
}

/* ---- formats ---- */

void ma_fmt_zone(const struct tm *tm, char out[MA_FMT_LEN])
{
	char z[MA_FMT_LEN] = "";
	size_t n = strftime(z, sizeof z, "%Z", tm), i = 0;
	while (i < n && ((z[i] | 0x20) >= 'a' && (z[i] | 0x20) <= 'z'))
		i++;
	if (n >= 2 && n <= 6 && i == n) {
		memcpy(out, z, n + 1);
		return;
	}
	/* "+0530" or a zone named "+0530" or "-03": the offset, as RFC 3339 writes it. */
	if (strftime(z, sizeof z, "%z", tm) == 5)
		snprintf(out, MA_FMT_LEN, "%.3s:%.2s", z, z + 3);
	else
		snprintf(out, MA_FMT_LEN, "UTC");
}

void ma_fmt_time_or(time_t t, char out[MA_FMT_LEN], const char *none)
{
	struct tm tm;
	char zone[MA_FMT_LEN];
	size_t n;
	if (t <= 0 || !localtime_r(&t, &tm) || !(n = strftime(out, MA_FMT_LEN, "%Y-%m-%d %H:%M", &tm))) {
		snprintf(out, MA_FMT_LEN, "%s", none);
		return;
	}
	ma_fmt_zone(&tm, zone);
	snprintf(out + n, MA_FMT_LEN - n, " %s", zone);
}

void ma_fmt_time(time_t t, char out[MA_FMT_LEN])
{
	ma_fmt_time_or(t, out, "unknown");
}

void ma_fmt_size(uint64_t n, char out[MA_FMT_LEN])
{
	if (n < 1024)
		snprintf(out, MA_FMT_LEN, "%" PRIu64 " B", n);
	else if (n < 1024 * 1024)
		snprintf(out, MA_FMT_LEN, "%.1f KB", (double)n / 1024);
	else if (n < 1024ull * 1024 * 1024)
		snprintf(out, MA_FMT_LEN, "%.1f MB", (double)n / (1024 * 1024));
	else
		snprintf(out, MA_FMT_LEN, "%.1f GB", (double)n / (1024.0 * 1024 * 1024));
}

const char *ma_plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* ---- time ---- */

int64_t ma_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
