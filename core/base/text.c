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
