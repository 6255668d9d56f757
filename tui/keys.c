/* Everything generated from keys.h: the key-to-request lookup, the help
 * screen and the hint bars. A hint bar names keys by their names in the
 * key table, so they read as the help screen does. */
#include <curses.h>
#include <stdlib.h>
#include <string.h>

#include "tui_int.h"

static const struct key_entry {
	enum ma_request req;
	const char *label, *hint, *help;
	int keys[3];
} key_table[] = {
#define MA_KEY_ENTRY(req, label, hint, help, k1, k2, k3) { req, label, hint, help, { k1, k2, k3 } },
	MA_KEY_LIST(MA_KEY_ENTRY)
#undef MA_KEY_ENTRY
};
#define NKEYS (sizeof key_table / sizeof key_table[0])
/* In enum order: a request's entry is key_table[req - 1]. */
_Static_assert(NKEYS == REQ_COUNT - 1, "one key_table entry per request");

enum ma_request key_request(int key)
{
	for (size_t i = 0; i < NKEYS; i++)
		for (int k = 0; k < 3; k++)
			if (key_table[i].keys[k] && key_table[i].keys[k] == key)
				return key_table[i].req;
	return REQ_NONE;
}

void key_help_lines(struct lines *L, int w)
{
	lines_add(L, ATTR_BOLD, -1, _("Keys"));
	/* The key column as wide as its longest name in the language shown
	 * ("PgDn, mezerník"), at least 12 columns. */
	int kw = 12;
	for (size_t i = 0; i < NKEYS; i++)
		if (text_cols(_(key_table[i].label)) > kw)
			kw = text_cols(_(key_table[i].label));
	for (size_t i = 0; i < NKEYS; i++) {
		/* The description wraps under itself, clear of the key column. */
		struct lines tmp = { 0 };
		char key[100];
		lines_wrap(&tmp, ATTR_NONE, -1, 0, w - kw - 1, _(key_table[i].help));
		for (size_t j = 0; j < tmp.n; j++) {
			/* Padded by columns: a translated name has letters of two bytes. */
			text_cell(key, sizeof key, j ? "" : _(key_table[i].label), kw, false);
			lines_addf(L, ATTR_NONE, -1, "%s %s", key, tmp.v[j].text);
		}
		lines_clear(&tmp);
		free(tmp.v);
	}
	lines_add(L, ATTR_NONE, -1, "");
	lines_wrap(L, ATTR_NONE, -1, 0, w, _("mailaudit only reads: it never deletes, moves or marks "
		   "mail. Esc, q or ? closes this help."));
}

/* ---- hint bars ---- */

/* One key in a hint bar: "Key what", "Key: what" or "Key/Also what". */
struct hint_item {
	enum ma_request req;
	enum ma_request also;  /* REQ_NONE, or a second key for the same: "Esc/q" */
	int name;              /* which of req's names in its label: 1 for "F1" of "?, F1" */
	const char *what;      /* NULL: the key's hint word */
	const char *sep;       /* between key and words; NULL: the bar's */
};

#define HINT_ITEMS 8
struct hint_bar {
	const char *gap;       /* between items */
	const char *sep;       /* between a key and its words */
	struct hint_item item[HINT_ITEMS];  /* up to the first REQ_NONE */
};

/* The results bars are terse ("q quit  ? help"); the others, shown on
 * their own, spell it out ("Esc: close help   Up/Down: scroll"). */
static const struct hint_bar bars[] = {
	[HINT_HELP] = { "   ", ": ", {
		{ .req = REQ_BACK, .what = N_("close help") },
		{ .req = REQ_UP, .also = REQ_DOWN, .what = N_("scroll") },
	} },
	[HINT_START] = { "   ", ": ", {
		{ .req = REQ_NEXT, .what = N_("next field") },
		{ .req = REQ_ENTER, .what = N_("start") },
		{ .req = REQ_BACK, .what = N_("quit") },
		{ .req = REQ_HELP, .name = 1 },
	} },
	[HINT_PROGRESS] = { "   ", ": ", {
		{ .req = REQ_BACK, .what = N_("cancel the audit") },
		{ .req = REQ_QUIT },
	} },
	[HINT_PROBING] = { "   ", ": ", {
		{ .req = REQ_BACK, .what = N_("cancel the test") },
	} },
	[HINT_RESULTS] = { "  ", " ", {
		{ .req = REQ_QUIT }, { .req = REQ_HELP }, { .req = REQ_NEXT }, { .req = REQ_SEARCH },
		{ .req = REQ_EXPORT }, { .req = REQ_AGAIN }, { .req = REQ_PROBE },
		{ .req = REQ_WATCH },
	} },
	[HINT_LEDGER] = { "  ", " ", {
		{ .req = REQ_QUIT }, { .req = REQ_HELP }, { .req = REQ_NEXT }, { .req = REQ_SEARCH },
		{ .req = REQ_EXPORT }, { .req = REQ_AGAIN }, { .req = REQ_ACK },
		{ .req = REQ_WATCH },
	} },
	[HINT_HISTORY] = { "  ", " ", {
		{ .req = REQ_QUIT }, { .req = REQ_HELP }, { .req = REQ_NEXT },
		{ .req = REQ_ENTER, .what = N_("what that audit found"), .sep = ": " },
		{ .req = REQ_AGAIN },
	} },
	[HINT_AUDIT_OPEN] = { "  ", " ", {
		{ .req = REQ_BACK, .also = REQ_QUIT, .what = N_("back to the audits") },
		{ .req = REQ_SEARCH }, { .req = REQ_NEXT }, { .req = REQ_HELP },
	} },
	[HINT_WATCH] = { "   ", ": ", {
		{ .req = REQ_BACK, .also = REQ_QUIT, .what = N_("stop watching") },
		{ .req = REQ_UP, .also = REQ_DOWN, .what = N_("scroll") },
		{ .req = REQ_HELP, .name = 1 },
	} },
};

/* Appends s[0..len) to out (n > 0 bytes, *o used), cut where out is full. */
static void put(char *out, size_t n, size_t *o, const char *s, size_t len)
{
	if (len > n - 1 - *o)
		len = n - 1 - *o;
	memcpy(out + *o, s, len);
	*o += len;
	out[*o] = '\0';
}

/* The name'th of req's names in its label: "F1" is 1 of "?, F1". */
static void put_key_name(char *out, size_t n, size_t *o, enum ma_request req, int name)
{
	const char *p = _(key_table[req - 1].label), *comma;
	for (int i = 0; i < name && (comma = strstr(p, ", ")); i++)
		p = comma + 2;
	comma = strstr(p, ", ");
	put(out, n, o, p, comma ? (size_t)(comma - p) : strlen(p));
}

void key_hint(enum ui_hint h, char *out, size_t n)
{
	const struct hint_bar *b = &bars[h];
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < HINT_ITEMS && b->item[i].req != REQ_NONE; i++) {
		const struct hint_item *it = &b->item[i];
		const char *sep = it->sep ? it->sep : b->sep;
		const char *what = it->what ? it->what : key_table[it->req - 1].hint;
		what = what[0] ? _(what) : what; /* _("") would be the catalogue's header */
		if (i)
			put(out, n, &o, b->gap, strlen(b->gap));
		put_key_name(out, n, &o, it->req, it->name);
		if (it->also != REQ_NONE) {
			put(out, n, &o, "/", 1);
			put_key_name(out, n, &o, it->also, 0);
		}
		put(out, n, &o, sep, strlen(sep));
		put(out, n, &o, what, strlen(what));
	}
}

/* ---- escape sequences ---- */

/* The Home/End/PgUp/PgDn sequences of PuTTY, rxvt, xterm, screen and tmux,
 * whatever TERM claims: a terminal's terminfo entry names one of each, and
 * users reach us through another terminal than TERM says. */
static const struct { const char *seq; int code; } extra_keys[] = {
	{ "\033[1~", KEY_HOME }, { "\033[7~", KEY_HOME }, { "\033[H", KEY_HOME }, { "\033OH", KEY_HOME },
	{ "\033[4~", KEY_END }, { "\033[8~", KEY_END }, { "\033[F", KEY_END }, { "\033OF", KEY_END },
	{ "\033[5~", KEY_PPAGE }, { "\033[6~", KEY_NPAGE },
};

void key_define_extra(void)
{
	for (size_t i = 0; i < sizeof extra_keys / sizeof extra_keys[0]; i++)
		if (key_defined(extra_keys[i].seq) <= 0)
			define_key(extra_keys[i].seq, extra_keys[i].code);
}

int key_from_escape(const char *seq, size_t len)
{
	if (len < 2 || (seq[0] != '[' && seq[0] != 'O'))
		return 0;
	char fin = seq[len - 1];
	if (seq[0] == 'O' || fin != '~') {
		/* ESC [ H, ESC O H, with or without modifiers ("ESC [1;5H"). */
		switch (fin) {
		case 'H': return KC(KEY_HOME);
		case 'F': return KC(KEY_END);
		case 'A': return KC(KEY_UP);
		case 'B': return KC(KEY_DOWN);
		case 'Z': return KC(KEY_BTAB);
		case 'P': return seq[0] == 'O' ? KC(KEY_F(1)) : 0;
		default: return 0;
		}
	}
	int n = 0;
	for (size_t i = 1; i < len && seq[i] >= '0' && seq[i] <= '9' && n < 1000; i++)
		n = n * 10 + (seq[i] - '0');
	switch (n) {
	case 1: case 7: return KC(KEY_HOME);
	case 4: case 8: return KC(KEY_END);
	case 5: return KC(KEY_PPAGE);
	case 6: return KC(KEY_NPAGE);
	case 11: return KC(KEY_F(1));
	default: return 0;
	}
}
