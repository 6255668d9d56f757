/* Line lists, display widths and wrapping (text.h's decoder and row
 * breaker, measured in screen columns), and the one function that puts
 * text on the screen. */
#include <curses.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

#include "base/text.h"
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

/* The code point at s (NUL-terminated); an ill-formed byte is U+FFFD. */
static size_t next_cp(const char *s, uint32_t *cp)
{
	return ma_utf8_decode(s, strnlen(s, 4), cp);
}

static int cp_cols(uint32_t cp)
{
	if (ma_cp_control(cp))
		return 1; /* shown as '?' */
	if (cp < 0x80)
		return 1;
	if (!utf8_mode) {
		const char *a = ma_cp_ascii(cp);
		return a ? (int)strlen(a) : 1;
	}
	int w = wcwidth((wchar_t)cp);
	return w < 0 ? 1 : w;
}

int text_cols(const char *s)
{
	int cols = 0;
	uint32_t cp;
	while (*s) {
		s += next_cp(s, &cp);
		cols += cp_cols(cp);
	}
	return cols;
}

int text_put(int y, int x, int maxcols, const char *s)
{
	int cols = 0;
	uint32_t cp;
	/* Text that does not fit says so: it ends in an ellipsis. */
	const char *ell = utf8_mode ? "\xe2\x80\xa6" : "...";
	int ell_cols = utf8_mode ? 1 : 3;
	bool cut = maxcols > ell_cols && text_cols(s) > maxcols;
	if (cut)
		maxcols -= ell_cols;
	move(y, x);
	while (*s && cols < maxcols) {
		size_t n = next_cp(s, &cp);
		int w = cp_cols(cp);
		if (cols + w > maxcols)
			break;
		const char *ascii = cp >= 0x80 && !utf8_mode ? ma_cp_ascii(cp) : NULL;
		if (ascii)
			addstr(ascii);
		else if (ma_cp_control(cp) || cp == 0xfffd ||
		    (cp >= 0x80 && !utf8_mode) || (w == 0 && cols == 0))
			addch('?');
		else
			addnstr(s, (int)n);
		cols += w;
		s += n;
	}
	if (cut) {
		addstr(ell);
		cols += ell_cols;
	}
	return cols;
}

void text_cell(char *out, size_t outsize, const char *s, int width, bool right)
{
	/* Cut first, then pad on the side wanted. */
	char cut[1024];
	size_t o = 0;
	int cols = 0;
	uint32_t cp;
	/* A name that does not fit ends in an ellipsis, as on the rest of
	 * the screen. */
	const char *ell = utf8_mode ? "\xe2\x80\xa6" : "...";
	int ell_cols = utf8_mode ? 1 : 3;
	bool cutting = width > ell_cols && text_cols(s) > width;
	int room = cutting ? width - ell_cols : width;
	while (*s && o + 8 < sizeof cut) {
		size_t n = next_cp(s, &cp);
		int w = cp_cols(cp);
		if (cols + w > room)
			break;
		memcpy(cut + o, s, n);
		o += n;
		cols += w;
		s += n;
	}
	if (cutting) {
		while (o > 0 && cut[o - 1] == ' ') /* "Odeslaná…", not "Odeslaná …" */
			o--, cols--;
		memcpy(cut + o, ell, strlen(ell));
		o += strlen(ell);
		cols += ell_cols;
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

const char *text_find(const char *hay, const char *needle)
{
	return ma_find_nocase(hay, needle);
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

/* Wraps one paragraph without '\n', by the screen's rule (text.h). */
static void wrap_para(struct lines *L, int attr, int item, int first, int rest, int width,
		      const char *p)
{
	char buf[2048];
	size_t len = strlen(p);
	int indent = first;
	do {
		int avail = width - indent;
		if (avail < MA_WRAP_MIN)
			avail = MA_WRAP_MIN;
		size_t next, end = ma_wrap_row(p, len, (size_t)avail, cp_cols, MA_WRAP_SCREEN, &next);
		if (end > sizeof buf - 200)
			end = sizeof buf - 200;
		snprintf(buf, sizeof buf, "%*s%.*s", indent, "", (int)end, p);
		lines_add(L, attr, item, buf);
		p += next;
		len -= next;
		indent = rest;
	} while (len);
}

void lines_wrap_hang(struct lines *L, int attr, int item, int first, int rest, int width,
		     const char *text)
{
	if (text && text[0])
		wrap_para(L, attr, item, first, rest, width, text);
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
		/* A list item ("- ...", "* ...") wraps under its text. */
		int hang = (para[lead] == '-' || para[lead] == '*') && para[lead + 1] == ' ' ? 2 : 0;
		if (para[lead])
			wrap_para(L, attr, item, indent + lead, indent + lead + hang, width, para + lead);
		else if (nl)
			lines_add(L, attr, item, "");
		if (!nl)
			break;
		p = nl + 1;
	}
}
