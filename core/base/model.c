#include "base/model.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ma_message_clear(struct ma_message *m)
{
	free(m->message_id);
	free(m->date);
	free(m->from);
	free(m->subject);
	memset(m, 0, sizeof *m);
}

void ma_folder_clear(struct ma_folder *f)
{
	for (size_t i = 0; i < f->nmsgs; i++)
		ma_message_clear(&f->msgs[i]);
	free(f->msgs);
	free(f->name);
	free(f->raw_name);
	memset(f, 0, sizeof *f);
}

int ma_folder_add_message(struct ma_folder *f, struct ma_message *m)
{
	if (f->nmsgs == f->capmsgs) {
		size_t cap = f->capmsgs ? f->capmsgs * 2 : 64;
		struct ma_message *n = realloc(f->msgs, cap * sizeof *n);
		if (!n)
			return -1;
		f->msgs = n;
		f->capmsgs = cap;
	}
	f->msgs[f->nmsgs++] = *m;
	memset(m, 0, sizeof *m);
	return 0;
}

const char *ma_pop3_view_add_uidl(struct ma_pop3_view *v, const char *uidl, size_t len)
{
	struct ma_text_block *b = v->uidl_text;
	if (!b || b->cap - b->used < len + 1) {
		size_t cap = len + 1 > 65536 ? len + 1 : 65536;
		struct ma_text_block *n = malloc(sizeof *n + cap);
		if (!n)
			return NULL;
		n->next = b;
		n->used = 0;
		n->cap = cap;
		v->uidl_text = b = n;
	}
	char *p = b->text + b->used;
	memcpy(p, uidl, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

void ma_pop3_view_clear(struct ma_pop3_view *v)
{
	free(v->entries);
	for (struct ma_text_block *b = v->uidl_text, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	for (size_t i = 0; i < v->ncapa; i++)
		free(v->capa[i]);
	free(v->capa);
	free(v->probed.gone);
	memset(v, 0, sizeof *v);
}

/* ---- Folder roles ----------------------------------------------------- */

/* Latin letters with diacritics (U+00C0..U+017F) to their base letter,
 * lower case; '-' for a letter without one (Æ, ß, Œ, ...), which then
 * stays itself. Enough for the names clients give their folders in the
 * languages of Latin-1 and Latin Extended-A (Czech, Slovak, Polish,
 * German, French, ...). */
static const char latin_base[192 + 1] =
	"aaaaaa-ceeeeiiii" "dnooooo-ouuuuy--" "aaaaaa-ceeeeiiii" "dnooooo-ouuuuy-y" /* 00C0 */
	"aaaaaaccccccccdd" "ddeeeeeeeeeegggg" "gggghhhhiiiiiiii" "ii--jjkk-lllllll" /* 0100 */
	"lllnnnnnn---oooo" "oo--rrrrrrssssss" "ssttttttuuuuuuuu" "uuuuwwyyyzzzzzzs"; /* 0140 */
_Static_assert(sizeof latin_base == 0x180 - 0xC0 + 1, "one entry per code point");

/* One UTF-8 sequence at p (n bytes left): the code point, *len its bytes.
 * A byte that starts no valid sequence is taken alone, as 0xDC00 + byte
 * (never a letter, never equal to a valid code point). */
static uint32_t utf8_next(const unsigned char *p, size_t n, size_t *len)
{
	uint32_t c = p[0];
	size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
	if (k == 1 || k == 0 || k > n) {
		*len = 1;
		return k == 1 ? c : 0xDC00 + c;
	}
	c &= 0x7F >> k;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			*len = 1;
			return 0xDC00 + p[0];
		}
		c = c << 6 | (p[i] & 0x3F);
	}
	*len = k;
	return c;
}

/* The next code point of s[*i..n) as compared: lower case, Latin letters
 * without their diacritics ("Koš" and "Kos", precomposed or with combining
 * marks, compare equal: the names users and clients type vary in both).
 * 0 at the end. */
static uint32_t fold_next(const char *s, size_t n, size_t *i)
{
	for (;;) {
		if (*i >= n)
			return 0;
		size_t len;
		uint32_t c = utf8_next((const unsigned char *)s + *i, n - *i, &len);
		*i += len;
		if (c >= 0x300 && c <= 0x36F)
			continue; /* a combining mark (decomposed form) */
		if (c >= 'A' && c <= 'Z')
			return c + ('a' - 'A');
		if (c >= 0xC0 && c <= 0x17F) {
			char b = latin_base[c - 0xC0];
			if (b != '-')
				return (uint32_t)(unsigned char)b;
			if (c == 0xC6 || c == 0xDE)
				return c + 0x20; /* Æ, Þ */
		}
		return c;
	}
}

/* Whether s[0..n) names what want (lower case ASCII) names. */
static bool name_is(const char *s, size_t n, const char *want)
{
	size_t i = 0;
	for (;; want++) {
		uint32_t c = fold_next(s, n, &i);
		if (c != (uint32_t)(unsigned char)*want)
			return false;
		if (!c)
			return true;
	}
}

/* Names as the common clients and servers create them, in English and
 * Czech, compared by name_is (lower case, no diacritics). */
static const struct {
	enum ma_role role;
	const char *name;
} role_names[] = {
	{ MA_ROLE_TRASH, "trash" }, { MA_ROLE_TRASH, "deleted items" },
	{ MA_ROLE_TRASH, "deleted messages" }, { MA_ROLE_TRASH, "deleted" },
	{ MA_ROLE_TRASH, "kos" },
	{ MA_ROLE_JUNK, "junk" }, { MA_ROLE_JUNK, "spam" }, { MA_ROLE_JUNK, "junk e-mail" },
	{ MA_ROLE_JUNK, "bulk mail" }, { MA_ROLE_JUNK, "nevyzadana posta" },
	{ MA_ROLE_DRAFTS, "drafts" }, { MA_ROLE_DRAFTS, "draft" }, { MA_ROLE_DRAFTS, "koncepty" },
	{ MA_ROLE_DRAFTS, "rozepsane" },
	{ MA_ROLE_SENT, "sent" }, { MA_ROLE_SENT, "sent items" }, { MA_ROLE_SENT, "sent messages" },
	{ MA_ROLE_SENT, "sent mail" }, { MA_ROLE_SENT, "odeslana posta" }, { MA_ROLE_SENT, "odeslane" },
	{ MA_ROLE_SENT, "odeslana" },
	{ MA_ROLE_ARCHIVE, "archive" }, { MA_ROLE_ARCHIVE, "archives" }, { MA_ROLE_ARCHIVE, "archiv" },
};

/* Parents under which servers put the standard folders: Cyrus and Courier
 * keep every folder below INBOX ("INBOX.Trash"), Gmail its own below
 * "[Gmail]" (which it also marks special-use). */
static const char *const known_parents[] = { "INBOX", "[Gmail]", "[Google Mail]" };

enum ma_role ma_folder_role(const char *name, unsigned special)
{
	if (!name)
		return MA_ROLE_ORDINARY;
	/* As LIST names it (ma_imap_list), ASCII only: RFC 3501 5.1. */
	if (strcasecmp(name, "INBOX") == 0)
		return MA_ROLE_INBOX;
	/* Of several attributes (a server's mistake) the one whose losses
	 * count most wins: a real loss must never pass as trash emptied or
	 * as draft churn. \All and \Flagged are views of other folders and
	 * name no role: the name decides. */
	if (special & MA_SPECIAL_SENT)
		return MA_ROLE_SENT;
	if (special & MA_SPECIAL_ARCHIVE)
		return MA_ROLE_ARCHIVE;
	if (special & MA_SPECIAL_TRASH)
		return MA_ROLE_TRASH;
	if (special & MA_SPECIAL_JUNK)
		return MA_ROLE_JUNK;
	if (special & MA_SPECIAL_DRAFTS)
		return MA_ROLE_DRAFTS;
	/* The name alone guesses only for a top-level folder or a direct
	 * child of a known parent. Without the delimiter (not passed), a
	 * '/' or '.' right after a known parent is taken as one: that covers
	 * both common delimiters. A user's own "Projects/Trash" or "Old.Junk"
	 * stays an ordinary folder, whose losses stay critical: guessing
	 * Trash there would turn a real loss into a warning, while missing a
	 * real Trash only over-warns. */
	const char *leaf = name;
	size_t plen = strcspn(name, "/.");
	for (size_t i = 0; name[plen] && i < sizeof known_parents / sizeof known_parents[0]; i++) {
		if (strlen(known_parents[i]) == plen && strncasecmp(name, known_parents[i], plen) == 0) {
			leaf = name + plen + 1;
			break;
		}
	}
	size_t len = strlen(leaf);
	for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
		if (name_is(leaf, len, role_names[i].name))
			return role_names[i].role;
	return MA_ROLE_ORDINARY;
}

const char *ma_role_name(enum ma_role role)
{
	switch (role) {
	case MA_ROLE_INBOX: return "INBOX";
	case MA_ROLE_SENT: return "Sent";
	case MA_ROLE_DRAFTS: return "Drafts";
	case MA_ROLE_TRASH: return "Trash";
	case MA_ROLE_JUNK: return "Junk";
	case MA_ROLE_ARCHIVE: return "Archive";
	case MA_ROLE_ORDINARY: break;
	}
	return "folder";
}
