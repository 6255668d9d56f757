/* Line lists, UTF-8 aware widths and wrapping, and the one function that
 * puts text on the screen. */
#include <curses.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

#include "tui_int.h"

static bool utf8_mode;

bool text_utf8_locale(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

void text_set_utf8(bool on)
{
	utf8_mode = on;
}

/* Decodes one code point; invalid bytes come back as U+FFFD, one byte. */
static size_t u8_next(const char *s, unsigned *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	int n = p[0] >= 0xf0 && p[0] < 0xf5 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
	if (n == 0)
		goto bad;
	unsigned c = p[0] & (0x7f >> n);
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			goto bad;
		c = c << 6 | (p[i] & 0x3f);
	}
	*cp = c;
	return (size_t)n;
bad:
	*cp = 0xfffd;
	return 1;
}

static int cp_cols(unsigned cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
		return 1; /* shown as '?' */
	if (cp < 0x80 || !utf8_mode)
		return 1;
	int w = wcwidth((wchar_t)cp);
	return w < 0 ? 1 : w;
}

int text_cols(const char *s)
{
	int cols = 0;
	unsigned cp;
	while (*s) {
		s += u8_next(s, &cp);
		cols += cp_cols(cp);
	}
	return cols;
}

int text_put(int y, int x, int maxcols, const char *s)
{
	int cols = 0;
	unsigned cp;
	move(y, x);
	while (*s && cols < maxcols) {
		size_t n = u8_next(s, &cp);
		int w = cp_cols(cp);
		if (cols + w > maxcols)
			break;
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0xfffd ||
		    (cp >= 0x80 && !utf8_mode) || (w == 0 && cols == 0))
			addch('?');
		else
			addnstr(s, (int)n);
		cols += w;
		s += n;
	}
	return cols;
}

void text_cell(char *out, size_t outsize, const char *s, int width, bool right)
{
	/* Cut first, then pad on the side wanted. */
	char cut[1024];
	size_t o = 0;
	int cols = 0;
	unsigned cp;
	while (*s && o + 5 < sizeof cut) {
		size_t n = u8_next(s, &cp);
		int w = cp_cols(cp);
		if (cols + w > width)
			break;
		memcpy(cut + o, s, n);
		o += n;
		cols += w;
		s += n;
	}
	cut[o] = '\0';
	int pad = width - cols;
	if (pad < 0)
		pad = 0;
	if (right)
		snprintf(out, outsize, "%*s%s", pad, "", cut);
	else
		snprintf(out, outsize, "%s%*s", cut, pad, "");
}

void text_size(char *out, size_t outsize, uint64_t b)
{
	if (b < 1024)
		snprintf(out, outsize, "%llu B", (unsigned long long)b);
	else if (b < 1024 * 1024)
		snprintf(out, outsize, "%.1f KB", b / 1024.0);
	else if (b < 1024ull * 1024 * 1024)
		snprintf(out, outsize, "%.1f MB", b / (1024.0 * 1024));
	else
		snprintf(out, outsize, "%.1f GB", b / (1024.0 * 1024 * 1024));
}

void text_date(char *out, size_t outsize, time_t t)
{
	struct tm tm;
	if (t <= 0 || !gmtime_r(&t, &tm) || !strftime(out, outsize, "%Y-%m-%d %H:%M", &tm))
		snprintf(out, outsize, "-");
}

const char *text_find(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0)
		return NULL;
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

void lines_clear(struct lines *L)
{
	for (size_t i = 0; i < L->n; i++)
		free(L->v[i].text);
	L->n = 0;
}

void lines_add(struct lines *L, int attr, int item, const char *text)
{
	if (L->n == L->cap) {
		size_t cap = L->cap ? L->cap * 2 : 64;
		struct line *v = realloc(L->v, cap * sizeof *v);
		if (!v)
			return; /* a line short beats a crash; memory is the least of it */
		L->v = v, L->cap = cap;
	}
	char *t = strdup(text);
	if (!t)
		return;
	L->v[L->n++] = (struct line){ t, attr, item };
}

void lines_addf(struct lines *L, int attr, int item, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	lines_add(L, attr, item, buf);
}

/* Wraps one paragraph without '\n'. */
static void wrap_para(struct lines *L, int attr, int item, int indent, int width, const char *p)
{
	int avail = width - indent;
	if (avail < 10)
		avail = 10;
	char buf[2048];
	do {
		/* Take as many code points as fit, then back up to a space. */
		const char *s = p, *brk = NULL;
		int cols = 0;
		unsigned cp;
		while (*s) {
			size_t n = u8_next(s, &cp);
			int w = cp_cols(cp);
			if (cols + w > avail)
				break;
			if (cp == ' ')
				brk = s;
			cols += w;
			s += n;
		}
		const char *end = s, *next = s;
		if (*s && brk && brk > p) {
			end = brk;
			next = brk + 1;
		}
		size_t len = (size_t)(end - p);
		if (len > sizeof buf - 200)
			len = sizeof buf - 200;
		snprintf(buf, sizeof buf, "%*s%.*s", indent, "", (int)len, p);
		lines_add(L, attr, item, buf);
		p = next;
		while (*p == ' ')
			p++;
	} while (*p);
}

void lines_wrap(struct lines *L, int attr, int item, int indent, int width, const char *text)
{
	if (!text)
		return;
	const char *p = text;
	char para[4096];
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len >= sizeof para)
			len = sizeof para - 1;
		memcpy(para, p, len);
		para[len] = '\0';
		/* Keep the paragraph's own leading spaces as extra indent. */
		int lead = 0;
		while (para[lead] == ' ')
			lead++;
		if (para[lead])
			wrap_para(L, attr, item, indent + lead, width, para + lead);
		else if (nl)
			lines_add(L, attr, item, "");
		if (!nl)
			break;
		p = nl + 1;
	}
}
