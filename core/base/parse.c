/* Pure parsers; see parse.h for the contracts.
 *
 * Everything writes through a growing string (struct ma_buf, base/text.h)
 * with a size limit where input decides the size, so no input can make us
 * allocate more than a small multiple of its own length (and header values
 * never more than MA_HEADER_MAX). Text for the screen is cleaned by
 * text.h's rules for decoded header text (MA_CLEAN_HEADER). */
#include "base/parse.h"
#include "base/text.h"

#include <errno.h>
#include <pthread.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define MUTF7_MAX 65536              /* longer folder names are not real */
#define MSGID_MAX 998                /* RFC 5322 line limit */
#define PEND_MAX 16384               /* decoded bytes of one run of encoded words */
#define CHARSET_MAX 64

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* imap: RFC 3501's variant, with ',' where base64 has '/'. */
static int b64_value(char c, bool imap)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == (imap ? ',' : '/'))
		return 63;
	return -1;
}

/* Case-insensitive equality of s[0..n) with the NUL-terminated word. */
static bool word_is(const char *s, size_t n, const char *word)
{
	size_t i = 0;
	for (; i < n && word[i]; i++)
		if (lower(s[i]) != word[i])
			return false;
	return i == n && word[i] == '\0';
}

/* Appends text bound for a terminal (decoded header text). */
static void put_safe(struct ma_buf *o, const char *s, size_t n)
{
	ma_buf_clean_rules(o, s, n, MA_CLEAN_HEADER);
}

/* ---- modified UTF-7 ---- */

char *ma_mutf7_decode(const char *buf, size_t len)
{
	if ((!buf && len) || len > MUTF7_MAX)
		return NULL;
	struct ma_buf o = { 0 };
	size_t i = 0;
	while (i < len) {
		char c = buf[i++];
		if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e)
			goto bad;
		if (c != '&') {
			ma_buf_add(&o, &c, 1);
			continue;
		}
		if (i < len && buf[i] == '-') {
			ma_buf_add(&o, "&", 1);
			i++;
			continue;
		}
		/* Base64 of UTF-16BE up to '-'; leftover bits must be zero
		 * padding shorter than one base64 digit. */
		uint32_t bits = 0, high = 0;
		int nbits = 0;
		size_t units = 0;
		for (;;) {
			if (i >= len)
				goto bad;
			c = buf[i++];
			if (c == '-')
				break;
			int v = b64_value(c, true);
			if (v < 0)
				goto bad;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			uint32_t u = (bits >> nbits) & 0xffff, cp;
			bits &= (1u << nbits) - 1;
			units++;
			if (high) {
				if (u < 0xdc00 || u > 0xdfff)
					goto bad;
				cp = 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00);
				high = 0;
			} else if (u >= 0xd800 && u <= 0xdbff) {
				high = u;
				continue;
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				goto bad;
			} else {
				cp = u;
			}
			/* A name that holds what a terminal obeys or a reader
			 * cannot see is shown as sent (its caller's fallback),
			 * never decoded into the screen. */
			if (ma_cp_control(cp) || ma_cp_hidden(cp))
				goto bad;
			char u8[4];
			ma_buf_add(&o, u8, ma_utf8_encode(cp, u8));
		}
		if (high || nbits >= 6 || bits != 0 || units == 0)
			goto bad;
	}
	char *name = ma_buf_take(&o);
	if (!name)
		errno = ENOMEM;
	return name;
bad:
	free(o.p);
	errno = EINVAL;
	return NULL;
}

/* ---- unfolding ---- */

/* Unfolds buf[0..len) into dst, at most cap bytes; *used is how much of
 * buf that took. A break at the very end becomes a space: callers drop
 * trailing breaks first. */
static size_t unfold_into(const char *buf, size_t len, char *dst, size_t cap, size_t *used)
{
	size_t n = 0, i = 0;
	for (; i < len && n < cap; i++) {
		/* Runs of ordinary bytes in one copy: a byte at a time made
		 * this the costliest part of parsing a fetched header. */
		size_t run = i;
		while (run < len && ((unsigned char)buf[run] > '\r' ||
				     (buf[run] != '\r' && buf[run] != '\n' && buf[run] != '\0')))
			run++;
		if (run > i) {
			size_t k = run - i < cap - n ? run - i : cap - n;
			memcpy(dst + n, buf + i, k);
			n += k;
			i += k - 1;
			continue;
		}
		char c = buf[i];
		if (c == '\r' || c == '\n') {
			size_t j = i + 1;
			if (c == '\r' && j < len && buf[j] == '\n')
				j++;
			/* A fold keeps its space or tab; a stray break must
			 * still separate the words around it. */
			if (j >= len || !is_wsp(buf[j]))
				dst[n++] = ' ';
			i = j - 1;
			continue;
		}
		dst[n++] = c ? c : ' ';
	}
	*used = i;
	return n;
}

char *ma_header_unfold(const char *buf, size_t len)
{
	if (!buf)
		len = 0;
	if (len >= SIZE_MAX / 2)
		return NULL;
	while (len && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	char *r = malloc(len + 1);
	if (!r)
		return NULL;
	size_t used;
	r[unfold_into(buf, len, r, len, &used)] = '\0';
	return r;
}

/* ---- RFC 2047 ---- */

struct encoded_word {
	const char *charset;  /* without any RFC 2231 "*language" */
	size_t charset_len;
	char encoding;        /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t end;           /* offset just past "?=" */
};

/* Charset names go to iconv_open, so allow only what real ones use: no
 * '/' (iconv suffixes such as //TRANSLIT) and nothing that looks like a path. */
static bool is_charset_char(char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.' ||
	       c == ':' || c == '*';
}

/* Recognizes =?charset?B|Q?text?= starting at buf[i]. */
static bool parse_encoded_word(const char *buf, size_t len, size_t i, struct encoded_word *w)
{
	if (i + 1 >= len || buf[i] != '=' || buf[i + 1] != '?')
		return false;
	size_t p = i + 2, start = p;
	while (p < len && is_charset_char(buf[p]))
		p++;
	if (p >= len || buf[p] != '?' || p == start || p - start > CHARSET_MAX)
		return false;
	w->charset = buf + start;
	w->charset_len = p - start;
	const char *star = memchr(w->charset, '*', w->charset_len);
	if (star)
		w->charset_len = (size_t)(star - w->charset);
	if (w->charset_len == 0)
		return false;
	p++;
	if (p + 1 >= len || buf[p + 1] != '?')
		return false;
	w->encoding = upper(buf[p]);
	if (w->encoding != 'B' && w->encoding != 'Q')
		return false;
	p += 2;
	start = p;
	while (p < len && buf[p] != '?' && (unsigned char)buf[p] > 0x20 &&
	       (unsigned char)buf[p] < 0x7f)
		p++;
	if (p + 1 >= len || buf[p] != '?' || buf[p + 1] != '=')
		return false;
	w->text = buf + start;
	w->text_len = p - start;
	w->end = p + 2;
	return true;
}

/* Decoders append the payload bytes to o, or only validate when o is NULL. */
/* Decoded bytes come one at a time; ma_buf_add takes them in runs (a call per
 * byte made decoding the costliest part of a fetch). The result is the
 * same as a byte at a time, the limit included. */
struct sink {
	struct ma_buf *o;
	size_t n;
	char buf[128];
};

static void sink_flush(struct sink *k)
{
	if (!k->o || !k->n)
		return;
	if (!k->o->limit || k->n <= k->o->limit - k->o->len)
		ma_buf_add(k->o, k->buf, k->n);
	else
		for (size_t i = 0; i < k->n; i++)
			ma_buf_add(k->o, &k->buf[i], 1);
	k->n = 0;
}

static void sink_put(struct sink *k, char c)
{
	if (!k->o)
		return;
	k->buf[k->n++] = c;
	if (k->n == sizeof k->buf)
		sink_flush(k);
}

static bool q_decode(const char *s, size_t n, struct ma_buf *o)
{
	struct sink k = { .o = o };
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '_') {
			c = ' ';
		} else if (c == '=') {
			if (n - i < 3 || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0) {
				sink_flush(&k);
				return false;
			}
			c = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
			i += 2;
		}
		sink_put(&k, c);
	}
	sink_flush(&k);
	return true;
}

static bool b_decode(const char *s, size_t n, struct ma_buf *o)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t digits = 0, pad = 0;
	struct sink k = { .o = o };
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=') {
			pad++;
			continue;
		}
		int v = b64_value(s[i], false);
		if (v < 0 || pad) {
			sink_flush(&k);
			return false;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		digits++;
		if (bits >= 8) {
			bits -= 8;
			sink_put(&k, (char)((acc >> bits) & 0xff));
			acc &= (1u << bits) - 1;
		}
	}
	sink_flush(&k);
	/* Missing padding is common and harmless; a lone digit is not. */
	if (digits % 4 == 1 || pad > 2 || (pad && (digits + pad) % 4 != 0))
		return false;
	return true;
}

static bool payload_decode(const struct encoded_word *w, struct ma_buf *o)
{
	if (w->encoding == 'B')
		return b_decode(w->text, w->text_len, o);
	return q_decode(w->text, w->text_len, o);
}

/* Converts n bytes of charset to UTF-8 and appends them screen-safe.
 * False (and nothing appended) if iconv does not know the charset or the
 * bytes are invalid in it. */
static bool convert_charset(struct ma_buf *o, const char *charset, size_t charset_len,
			    const char *in, size_t n)
{
	/* Most encoded words are UTF-8 already: valid UTF-8 converts to
	 * itself, without an iconv_open per word. */
	if ((word_is(charset, charset_len, "utf-8") || word_is(charset, charset_len, "utf8")) &&
	    ma_utf8_valid(in, n)) {
		put_safe(o, in, n);
		return true;
	}
	char name[CHARSET_MAX + 1];
	memcpy(name, charset, charset_len);
	name[charset_len] = '\0';
	iconv_t cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return false;
	/* 4 bytes per input byte covers nearly every charset; the E2BIG
	 * loop covers the rest, up to a hard ceiling. */
	size_t cap = n * 4 + 16, used = 0;
	char *dst = malloc(cap);
	char *ip = (char *)(n ? in : "");
	size_t il = n;
	bool ok = false;
	while (dst) {
		char *op = dst + used;
		size_t ol = cap - used;
		size_t r = iconv(cd, &ip, &il, &op, &ol);
		if (r != (size_t)-1) /* all input read: end any shift state */
			r = iconv(cd, NULL, NULL, &op, &ol);
		used = (size_t)(op - dst);
		if (r != (size_t)-1) {
			ok = true;
			break;
		}
		if (errno != E2BIG || cap > n * 16 + 4096)
			break;
		char *bigger = realloc(dst, cap * 2);
		if (!bigger)
			break;
		dst = bigger;
		cap *= 2;
	}
	if (!ok && errno == ENOMEM)
		o->oom = true;
	iconv_close(cd);
	if (ok)
		put_safe(o, dst, used);
	free(dst);
	return ok;
}

static bool is_all_ws(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_ws(s[i]))
			return false;
	return true;
}

/* A run of adjacent encoded words in one charset, decoded but not yet
 * converted: joined first so a character split between words survives. */
struct run {
	bool active;
	const char *charset;
	size_t charset_len;
	size_t start, end;    /* raw span in the input */
	struct ma_buf bytes;
};

/* Converts and emits the run; if it cannot be converted, emits it raw. */
static bool run_flush(struct run *r, struct ma_buf *o, const char *buf)
{
	if (!r->active)
		return true;
	bool ok = convert_charset(o, r->charset, r->charset_len,
				  r->bytes.p ? r->bytes.p : "", r->bytes.len);
	if (!ok)
		put_safe(o, buf + r->start, r->end - r->start);
	else if (r->bytes.truncated)
		o->truncated = true; /* one huge word: what fits is shown, then "…" */
	r->active = false;
	r->bytes.len = 0;
	r->bytes.truncated = false;
	return ok;
}

char *ma_rfc2047_decode(const char *buf, size_t len)
{
	if (!buf)
		len = 0;
	struct ma_buf o = { .limit = MA_HEADER_MAX - 3 };
	struct run run = { .bytes = { .limit = PEND_MAX } };
	size_t i = 0, text = 0; /* buf[text..i) is plain text not yet emitted */
	while (i < len && !o.truncated && !o.oom && !run.bytes.oom) {
		struct encoded_word w;
		if (buf[i] != '=' || !parse_encoded_word(buf, len, i, &w) ||
		    !payload_decode(&w, NULL)) {
			i++;
			continue;
		}
		bool only_ws = is_all_ws(buf + text, i - text);
		bool joins = run.active && only_ws && w.charset_len == run.charset_len &&
			     strncasecmp(w.charset, run.charset, w.charset_len) == 0 &&
			     run.bytes.len + w.text_len <= PEND_MAX;
		if (!joins) {
			bool had_run = run.active;
			bool converted = run_flush(&run, &o, buf);
			/* RFC 2047 6.2: space between two encoded words is
			 * not part of the text. */
			if (!(had_run && converted && only_ws))
				put_safe(&o, buf + text, i - text);
			run.active = true;
			run.charset = w.charset;
			run.charset_len = w.charset_len;
			run.start = i;
		}
		payload_decode(&w, &run.bytes);
		run.end = w.end;
		i = text = w.end;
	}
	if (run.bytes.oom)
		o.oom = true;
	run_flush(&run, &o, buf);
	put_safe(&o, buf + text, len - text);
	free(run.bytes.p);
	return ma_buf_take(&o);
}

/* ---- header fields ---- */

/* Text for the screen: unfolded, trimmed, and either 2047-decoded or
 * merely made safe. NULL only on ENOMEM. */
static char *header_text(const char *s, size_t n, bool decode)
{
	char *unfolded = ma_header_unfold(s, n);
	if (!unfolded)
		return NULL;
	const char *p = unfolded;
	size_t len = strlen(p);
	while (len && is_wsp(p[0]))
		p++, len--;
	while (len && is_wsp(p[len - 1]))
		len--;
	char *r;
	if (decode) {
		r = ma_rfc2047_decode(p, len);
	} else {
		struct ma_buf o = { .limit = MA_HEADER_MAX - 3 };
		put_safe(&o, p, len);
		r = ma_buf_take(&o);
	}
	free(unfolded);
	return r;
}

/* Offset of the next '\n' at or after i, or len. */
static size_t line_end(const char *buf, size_t len, size_t i)
{
	const char *nl = memchr(buf + i, '\n', len - i);
	return nl ? (size_t)(nl - buf) : len;
}

/* Bytes that unfolding turns into nothing or into blanks, which
 * header_text then trims: trimming them first gives the same text. */
static bool is_trim(char c)
{
	return is_ws(c) || c == '\0';
}

/* Where text cut at n must end so that no encoded word is cut in two:
 * before an unfinished word in its trailing token, else n. Encoded words
 * hold no bytes outside '!'..'~', and "=?" appears in one only at its
 * start, so only the token's last "=?" can begin an unfinished one. */
static size_t cut_before_word(const char *s, size_t n)
{
	for (size_t i = n; i && s[i - 1] > ' ' && s[i - 1] < 0x7f;) {
		i--;
		if (s[i] != '=' || i + 1 >= n || s[i + 1] != '?')
			continue;
		struct encoded_word w;
		return parse_encoded_word(s, n, i, &w) ? n : i;
	}
	return n;
}

/* From or Subject for the history: unfolded and trimmed exactly as
 * header_text does before it decodes, so ma_rfc2047_decode of this text
 * gives what header_text gives. Longer than MA_HEADER_RAW_MAX, it is cut
 * at a character and encoded-word boundary and ends in "…". NULL only on
 * ENOMEM. */
static char *raw_text(const char *s, size_t n)
{
	while (n && is_trim(s[0]))
		s++, n--;
	while (n && is_trim(s[n - 1]))
		n--;
	size_t cap = n < MA_HEADER_RAW_MAX ? n : MA_HEADER_RAW_MAX;
	char *r = malloc(cap + sizeof MA_ELLIPSIS);
	if (!r)
		return NULL;
	size_t used, k = unfold_into(s, n, r, cap, &used);
	/* s ends in a byte that is kept, so input left over is text lost. */
	if (used < n) {
		/* s[used] continuing a character: its first bytes go too. */
		if (((unsigned char)s[used] & 0xc0) == 0x80) {
			size_t b = k;
			while (b && k - b < 3 && ((unsigned char)r[b - 1] & 0xc0) == 0x80)
				b--;
			if (b && (unsigned char)r[b - 1] >= 0xc0)
				k = b - 1;
		}
		k = cut_before_word(r, k);
		memcpy(r + k, MA_ELLIPSIS, 3);
		k += 3;
	}
	r[k] = '\0';
	return r;
}

/* header_text(s, n, false) of a field that is printable ASCII up to its
 * line break (nearly every Date): nothing to unfold or clean, only blanks
 * to trim, so one copy instead of an unfolded copy, a cleaned copy and a
 * free. false when s holds anything else; *out NULL on ENOMEM. */
static bool plain_text(const char *s, size_t n, char **out)
{
	while (n && (s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	while (n && s[0] == ' ')
		s++, n--;
	while (n && s[n - 1] == ' ')
		n--;
	if (n > MA_HEADER_MAX - 3)
		return false;
	*out = strndup(s, n);
	return true;
}

enum field { F_MSGID, F_DATE, F_FROM, F_SUBJECT };

static int set_field(struct ma_message *m, enum field which, const char *v, size_t n, bool decode)
{
	char **slot = which == F_MSGID ? &m->message_id : which == F_DATE ? &m->date :
		      which == F_FROM ? &m->from : &m->subject;
	if (*slot)
		return 0;
	if (which == F_MSGID) {
		/* An unusable id leaves the slot empty, which is no error;
		 * running out of memory is (the message would lose its id
		 * and look like another one). */
		errno = 0;
		*slot = ma_msgid_normalize(v, n);
		return *slot || errno != ENOMEM ? 0 : -1;
	}
	if (which == F_DATE) {
		if (!plain_text(v, n, slot))
			*slot = header_text(v, n, false);
	} else
		*slot = decode ? header_text(v, n, true) : raw_text(v, n);
	return *slot ? 0 : -1;
}

static int parse_fields(const char *buf, size_t len, struct ma_message *m, bool decode)
{
	static const char *const names[] = { "message-id", "date", "from", "subject" };
	static const size_t lens[] = { 10, 4, 4, 7 };
	bool seen[4] = { false };
	if (!m)
		return 0;
	if (!buf)
		len = 0;
	size_t i = 0;
	while (i < len) {
		size_t eol = line_end(buf, len, i);
		size_t end = eol > i && buf[eol - 1] == '\r' ? eol - 1 : eol;
		if (end == i)
			break; /* empty line: end of the header */
		size_t next = eol < len ? eol + 1 : len;
		if (is_wsp(buf[i])) { /* continuation without a field: skip */
			i = next;
			continue;
		}
		size_t field_end = next;
		while (field_end < len && is_wsp(buf[field_end])) {
			size_t e = line_end(buf, len, field_end);
			field_end = e < len ? e + 1 : len;
		}
		const char *colon = memchr(buf + i, ':', end - i);
		if (colon) {
			size_t name_len = (size_t)(colon - (buf + i));
			while (name_len && is_wsp(buf[i + name_len - 1]))
				name_len--; /* obsolete "Subject :" */
			size_t v = (size_t)(colon - buf) + 1;
			for (int k = 0; k < 4; k++) {
				if (seen[k] || name_len != lens[k] || !word_is(buf + i, name_len, names[k]))
					continue;
				seen[k] = true;
				if (set_field(m, (enum field)k, buf + v, field_end - v, decode) < 0)
					return -1;
			}
		}
		i = field_end;
	}
	return 0;
}

int ma_parse_header_fields(const char *buf, size_t len, struct ma_message *m)
{
	return parse_fields(buf, len, m, true);
}

int ma_parse_header_fields_raw(const char *buf, size_t len, struct ma_message *m)
{
	return parse_fields(buf, len, m, false);
}

/* ---- Message-ID ---- */

/* Skips whitespace and (nested, backslash-quoted) comments. */
static size_t skip_cfws(const char *s, size_t n, size_t i)
{
	size_t depth = 0;
	while (i < n) {
		char c = s[i];
		if (depth) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			i++;
		} else if (c == '(') {
			depth = 1;
			i++;
		} else if (is_ws(c)) {
			i++;
		} else {
			break;
		}
	}
	return i < n ? i : n;
}

char *ma_msgid_normalize(const char *buf, size_t len)
{
	if (!buf)
		return NULL;
	size_t i = skip_cfws(buf, len, 0), start, end;
	if (i >= len)
		return NULL;
	const char *lt = memchr(buf + i, '<', len - i);
	if (lt) {
		start = (size_t)(lt - buf) + 1;
		const char *gt = memchr(buf + start, '>', len - start);
		if (!gt)
			return NULL;
		end = (size_t)(gt - buf);
	} else {
		/* Broken mailers send a bare "id@host"; accept only that shape. */
		start = i;
		end = i;
		while (end < len && !is_ws(buf[end]) && buf[end] != '(')
			end++;
		if (!memchr(buf + start, '@', end - start))
			return NULL;
	}
	char id[MSGID_MAX + 3];
	size_t n = 0;
	id[n++] = '<';
	for (size_t k = start; k < end; k++) {
		unsigned char c = (unsigned char)buf[k];
		if (is_ws((char)c))
			continue;
		if (c < 0x21 || c > 0x7e || c == '<' || n > MSGID_MAX)
			return NULL;
		id[n++] = (char)c;
	}
	if (n == 1)
		return NULL;
	id[n++] = '>';
	/* Domains are case-insensitive, local parts are not. */
	char *at = memrchr(id, '@', n);
	if (at)
		for (char *p = at + 1; p < id + n; p++)
			*p = lower(*p);
	char *r = malloc(n + 1);
	if (!r)
		return NULL;
	memcpy(r, id, n);
	r[n] = '\0';
	return r;
}

/* Fetched once: EVP_sha256() looks the algorithm up again (under a lock) on
 * every digest, which was two thirds of the cost of a hash per message. */
static EVP_MD *sha256_md;

static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

void ma_msgid_hash(const char *normalized, unsigned char out[32])
{
	const char *s = normalized ? normalized : "";
	unsigned int n = 32;
	pthread_once(&sha256_once, fetch_sha256);
	if (!EVP_Digest(s, strlen(s), out, &n, sha256_md ? sha256_md : EVP_sha256(), NULL))
		memset(out, 0, 32);
}

/* One context for the lot: EVP_Digest makes and frees one per call, which
 * cost more than hashing a Message-ID. */
void ma_msgid_hash_many(const char *const *normalized, size_t n, unsigned char (*out)[32])
{
	pthread_once(&sha256_once, fetch_sha256);
	EVP_MD_CTX *ctx = sha256_md ? EVP_MD_CTX_new() : NULL;
	for (size_t i = 0; i < n; i++) {
		const char *s = normalized[i];
		unsigned int len = 32;
		if (!s)
			continue;
		if (!ctx || !EVP_DigestInit_ex2(ctx, sha256_md, NULL) ||
		    !EVP_DigestUpdate(ctx, s, strlen(s)) || !EVP_DigestFinal_ex(ctx, out[i], &len))
			ma_msgid_hash(s, out[i]);
	}
	EVP_MD_CTX_free(ctx);
}

void ma_hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ---- POP3 ---- */

static size_t strip_eol(const char *s, size_t n)
{
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	return n;
}

/* Strict decimal at s[*i] no greater than max; advances *i. */
static bool read_decimal(const char *s, size_t n, size_t *i, uint64_t max, uint64_t *v)
{
	size_t p = *i;
	uint64_t x = 0;
	if (p >= n || !is_digit(s[p]))
		return false;
	/* max's last digit apart: no division per digit (three of them per
	 * fetched message made this a tenth of parsing one). */
	uint64_t top = max / 10;
	unsigned last = (unsigned)(max % 10);
	for (; p < n && is_digit(s[p]); p++) {
		unsigned d = (unsigned)(s[p] - '0');
		if (x > top || (x == top && d > last))
			return false;
		x = x * 10 + d;
	}
	*v = x;
	*i = p;
	return true;
}

/* At least one space or tab; advances *i. */
static bool skip_spaces(const char *s, size_t n, size_t *i)
{
	size_t p = *i;
	while (p < n && is_wsp(s[p]))
		p++;
	bool any = p > *i;
	*i = p;
	return any;
}

int ma_pop3_unstuff(const char *line, size_t len, const char **out, size_t *outlen,
		    bool *is_end)
{
	if (!line || !out || !outlen || !is_end)
		return -1;
	len = strip_eol(line, len);
	*is_end = len == 1 && line[0] == '.';
	if (len && line[0] == '.') {
		line++;
		len--;
	}
	*out = line;
	*outlen = len;
	return 0;
}

int ma_pop3_parse_list_line(const char *buf, size_t len, uint32_t *num, uint32_t *size)
{
	if (!buf)
		return -1;
	len = strip_eol(buf, len);
	size_t i = 0;
	uint64_t a, b;
	if (!read_decimal(buf, len, &i, UINT32_MAX, &a) || a == 0 ||
	    !skip_spaces(buf, len, &i) ||
	    !read_decimal(buf, len, &i, UINT32_MAX, &b))
		return -1;
	if (i < len && !is_wsp(buf[i]))
		return -1;
	*num = (uint32_t)a;
	*size = (uint32_t)b;
	return 0;
}

int ma_pop3_parse_uidl_line(const char *buf, size_t len, uint32_t *num, char uidl[71])
{
	if (!buf)
		return -1;
	len = strip_eol(buf, len);
	size_t i = 0;
	uint64_t a;
	if (!read_decimal(buf, len, &i, UINT32_MAX, &a) || a == 0 ||
	    !skip_spaces(buf, len, &i))
		return -1;
	size_t start = i;
	while (i < len && (unsigned char)buf[i] >= 0x21 && (unsigned char)buf[i] <= 0x7e)
		i++;
	size_t n = i - start;
	if (n == 0 || n > 70)
		return -1;
	skip_spaces(buf, len, &i);
	if (i != len)
		return -1;
	*num = (uint32_t)a;
	memcpy(uidl, buf + start, n);
	uidl[n] = '\0';
	return 0;
}

int ma_pop3_parse_uidl_reply(const char *buf, size_t len, uint32_t *num, char uidl[71])
{
	if (!buf)
		return -1;
	size_t i = 3;
	if (len < 3 || !word_is(buf, 3, "+ok") || !skip_spaces(buf, len, &i))
		return -1;
	return ma_pop3_parse_uidl_line(buf + i, len - i, num, uidl);
}

int ma_pop3_parse_stat(const char *buf, size_t len, uint32_t *count, uint64_t *size)
{
	if (!buf)
		return -1;
	len = strip_eol(buf, len);
	size_t i = 0;
	if (len >= 3 && word_is(buf, 3, "+ok")) {
		i = 3;
		if (!skip_spaces(buf, len, &i))
			return -1;
	}
	uint64_t a, b;
	if (!read_decimal(buf, len, &i, UINT32_MAX, &a) || !skip_spaces(buf, len, &i) ||
	    !read_decimal(buf, len, &i, UINT64_MAX, &b))
		return -1;
	if (i < len && !is_wsp(buf[i]))
		return -1;
	*count = (uint32_t)a;
	*size = b;
	return 0;
}

bool ma_dovecot_uidl_decode(const char *uidl, size_t len, uint32_t *uid,
			    uint32_t *uidvalidity)
{
	if (!uidl || len != 16)
		return false;
	uint32_t v[2] = { 0, 0 };
	for (size_t i = 0; i < 16; i++) {
		int h = hex_value(uidl[i]);
		if (h < 0)
			return false;
		v[i / 8] = (v[i / 8] << 4) | (uint32_t)h;
	}
	if (v[0] == 0 || v[1] == 0)
		return false;
	*uid = v[0];
	*uidvalidity = v[1];
	return true;
}

int ma_pop3_response_code(const char *text, size_t len, char *code, size_t codelen)
{
	if (!text || !code || codelen == 0)
		return 0;
	size_t i = 0;
	if (len >= 4 && word_is(text, 4, "-err"))
		i = 4;
	else if (len >= 3 && word_is(text, 3, "+ok"))
		i = 3;
	skip_spaces(text, len, &i);
	if (i >= len || text[i] != '[')
		return 0;
	size_t start = ++i;
	while (i < len && text[i] != ']') {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x21 || c > 0x7e || c == '[')
			return 0;
		i++;
	}
	size_t n = i - start;
	if (i >= len || n == 0 || n >= codelen)
		return 0;
	for (size_t k = 0; k < n; k++)
		code[k] = upper(text[start + k]);
	code[n] = '\0';
	return 1;
}

/* ---- dates ---- */

/* Days from 1970-01-01 to the first of January of year y (proleptic
 * Gregorian), by counting the leap days since year 1 on both sides. */
static int64_t days_to_year(int64_t y)
{
	int64_t a = y - 1, b = 1969;
	return (a * 365 + a / 4 - a / 100 + a / 400) - (b * 365 + b / 4 - b / 100 + b / 400);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Obsolete RFC 822 zone names, in minutes east of UTC. Unknown names and
 * military letters count as UTC, as RFC 5322 4.3 advises. */
static int zone_minutes(const char *s, size_t n)
{
	static const struct { const char *name; int hours; } zones[] = {
		{ "ut", 0 }, { "gmt", 0 }, { "utc", 0 }, { "z", 0 },
		{ "est", -5 }, { "edt", -4 }, { "cst", -6 }, { "cdt", -5 },
		{ "mst", -7 }, { "mdt", -6 }, { "pst", -8 }, { "pdt", -7 },
	};
	for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++)
		if (word_is(s, n, zones[k].name))
			return zones[k].hours * 60;
	return 0;
}

static bool read_number(const char *s, size_t n, size_t *i, size_t max_digits,
			uint64_t *v, size_t *digits)
{
	size_t start = *i;
	if (!read_decimal(s, n, i, 999999, v))
		return false;
	*digits = *i - start;
	return *digits <= max_digits;
}

int ma_imap_date_parse(const char *buf, size_t len, int64_t *out)
{
	static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun",
					      "jul", "aug", "sep", "oct", "nov", "dec" };
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (!buf || !out)
		return -1;
	size_t i = skip_cfws(buf, len, 0), start, nd;
	uint64_t day, year, hour, min, sec = 0;

	/* Optional weekday: any word, then an optional comma. */
	if (i < len && is_alpha(buf[i])) {
		while (i < len && is_alpha(buf[i]))
			i++;
		if (i < len && buf[i] == ',')
			i++;
		i = skip_cfws(buf, len, i);
	}
	if (!read_number(buf, len, &i, 2, &day, &nd))
		return -1;
	while (i < len && (is_ws(buf[i]) || buf[i] == '-'))
		i++;
	start = i;
	while (i < len && is_alpha(buf[i]))
		i++;
	int month = -1;
	for (int k = 0; k < 12 && month < 0 && i - start >= 3; k++)
		if (word_is(buf + start, 3, months[k]))
			month = k;
	if (month < 0)
		return -1;
	while (i < len && (is_ws(buf[i]) || buf[i] == '-'))
		i++;
	if (!read_number(buf, len, &i, 4, &year, &nd) || nd < 2)
		return -1;
	if (nd == 2)
		year += year < 50 ? 2000 : 1900;
	else if (nd == 3)
		year += 1900;
	i = skip_cfws(buf, len, i);
	if (!read_number(buf, len, &i, 2, &hour, &nd) || i >= len || buf[i] != ':')
		return -1;
	i++;
	if (!read_number(buf, len, &i, 2, &min, &nd) || nd != 2)
		return -1;
	if (i < len && buf[i] == ':') {
		i++;
		if (!read_number(buf, len, &i, 2, &sec, &nd) || nd != 2)
			return -1;
	}
	int offset = 0;
	i = skip_cfws(buf, len, i);
	if (i < len && (buf[i] == '+' || buf[i] == '-')) {
		int sign = buf[i] == '-' ? -1 : 1;
		uint64_t z;
		i++;
		if (!read_number(buf, len, &i, 4, &z, &nd) || nd != 4 || z % 100 > 59 ||
		    z / 100 > 23)
			return -1;
		offset = sign * (int)(z / 100 * 60 + z % 100);
	} else if (i < len && is_alpha(buf[i])) {
		start = i;
		while (i < len && is_alpha(buf[i]))
			i++;
		offset = zone_minutes(buf + start, i - start);
	}
	bool leap = is_leap((int64_t)year);
	int dim = mdays[month] + (month == 1 && leap);
	if (year < 1900 || day < 1 || (int)day > dim || hour > 23 || min > 59 || sec > 60)
		return -1;
	int64_t days = days_to_year((int64_t)year) + (int64_t)day - 1;
	for (int k = 0; k < month; k++)
		days += mdays[k] + (k == 1 && leap);
	*out = days * 86400 + (int64_t)(hour * 3600 + min * 60 + sec) - offset * 60;
	return 0;
}

/* ---- IMAP FETCH responses ---- */

#define FETCH_DEPTH_MAX 64

/* A cursor over one response; every step checks the end itself. */
struct cur {
	const char *b;
	size_t n, i;
};

static bool cur_eat(struct cur *c, char ch)
{
	if (c->i < c->n && c->b[c->i] == ch) {
		c->i++;
		return true;
	}
	return false;
}

/* RFC 3501 ATOM-CHAR: any CHAR but atom-specials. A backslash stays in
 * (flags start with it); '[' and ']' are out (they delimit sections). */
static bool is_atom_char(char ch)
{
	unsigned char u = (unsigned char)ch;
	return u > 0x20 && u < 0x7f && ch != '(' && ch != ')' && ch != '{' && ch != '"' &&
	       ch != '%' && ch != '*' && ch != ']' && ch != '[';
}

/* Case-insensitive keyword at the cursor, not followed by more atom. */
static bool cur_word(struct cur *c, const char *word)
{
	size_t k = strlen(word);
	if (c->n - c->i < k || !word_is(c->b + c->i, k, word))
		return false;
	if (c->i + k < c->n && is_atom_char(c->b[c->i + k]))
		return false;
	c->i += k;
	return true;
}

static bool cur_u32(struct cur *c, uint32_t *v)
{
	uint64_t x;
	if (!read_decimal(c->b, c->n, &c->i, UINT32_MAX, &x))
		return false;
	*v = (uint32_t)x;
	return true;
}

/* "quoted" with backslash escapes; *s and *len give the raw content. */
static bool cur_quoted(struct cur *c, const char **s, size_t *len, bool *escaped)
{
	if (!cur_eat(c, '"'))
		return false;
	size_t start = c->i;
	bool esc = false;
	while (c->i < c->n) {
		char ch = c->b[c->i];
		if (ch == '"') {
			*s = c->b + start;
			*len = c->i - start;
			if (escaped)
				*escaped = esc;
			c->i++;
			return true;
		}
		if (ch == '\r' || ch == '\n')
			return false;
		if (ch == '\\') {
			esc = true;
			c->i++;
			if (c->i >= c->n || (c->b[c->i] != '\\' && c->b[c->i] != '"'))
				return false;
		}
		c->i++;
	}
	return false;
}

/* "{N}" CRLF and N bytes (also literal8's "~{N}"). */
static bool cur_literal(struct cur *c, const char **s, size_t *len)
{
	uint64_t n;
	cur_eat(c, '~');
	if (!cur_eat(c, '{') || !read_decimal(c->b, c->n, &c->i, UINT32_MAX, &n) ||
	    !cur_eat(c, '}') || !cur_eat(c, '\r') || !cur_eat(c, '\n') || n > c->n - c->i)
		return false;
	*s = c->b + c->i;
	*len = (size_t)n;
	c->i += (size_t)n;
	return true;
}

/* An nstring: NIL (*s = NULL), a quoted string or a literal. */
static bool cur_nstring(struct cur *c, const char **s, size_t *len, bool *escaped)
{
	*escaped = false;
	if (cur_word(c, "nil")) {
		*s = NULL;
		*len = 0;
		return true;
	}
	if (c->i < c->n && c->b[c->i] == '"')
		return cur_quoted(c, s, len, escaped);
	return cur_literal(c, s, len);
}

/* Any value: NIL, number, atom, quoted string, literal, or a list of
 * those nested at most FETCH_DEPTH_MAX deep. Parentheses only count, so
 * no stack is needed. */
static bool skip_value(struct cur *c)
{
	size_t depth = 0;
	for (;;) {
		if (c->i >= c->n)
			return false;
		char ch = c->b[c->i];
		const char *s;
		size_t len;
		if (ch == '(') {
			if (++depth > FETCH_DEPTH_MAX)
				return false;
			c->i++;
			continue; /* a value or ')' follows, no space */
		}
		if (ch == ')' && depth) {
			/* an empty list "()" */
		} else if (ch == '"') {
			if (!cur_quoted(c, &s, &len, NULL))
				return false;
		} else if (ch == '{' || ch == '~') {
			if (!cur_literal(c, &s, &len))
				return false;
		} else {
			size_t start = c->i;
			while (c->i < c->n && (is_atom_char(c->b[c->i]) || c->b[c->i] == '[' ||
					       c->b[c->i] == ']'))
				c->i++;
			if (c->i == start)
				return false;
		}
		/* Close lists, then either end or go on after one space (none
		 * between a list and the next, as in a multipart BODYSTRUCTURE). */
		bool closed = false;
		while (depth && cur_eat(c, ')')) {
			depth--;
			closed = true;
		}
		if (!depth)
			return true;
		if (!cur_eat(c, ' ') && !(closed && c->i < c->n && c->b[c->i] == '('))
			return false;
	}
}

static bool read_flags(struct cur *c, unsigned *flags)
{
#define FLAG(name, bit) { name, sizeof name - 1, bit }
	static const struct { const char *name; size_t len; unsigned bit; } known[] = {
		FLAG("\\seen", MA_FLAG_SEEN), FLAG("\\answered", MA_FLAG_ANSWERED),
		FLAG("\\flagged", MA_FLAG_FLAGGED), FLAG("\\deleted", MA_FLAG_DELETED),
		FLAG("\\draft", MA_FLAG_DRAFT), FLAG("\\recent", MA_FLAG_RECENT),
	};
#undef FLAG
	*flags = 0;
	if (!cur_eat(c, '('))
		return false;
	if (cur_eat(c, ')'))
		return true;
	for (;;) {
		size_t start = c->i;
		cur_eat(c, '\\');
		while (c->i < c->n && (is_atom_char(c->b[c->i]) || c->b[c->i] == '*'))
			c->i++;
		size_t len = c->i - start;
		if (len == 0 || (len == 1 && c->b[start] == '\\'))
			return false;
		for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
			if (len == known[k].len && word_is(c->b + start, len, known[k].name))
				*flags |= known[k].bit;
		if (cur_eat(c, ')'))
			return true;
		if (!cur_eat(c, ' '))
			return false;
	}
}

static bool read_internaldate(struct cur *c, int64_t *t)
{
	const char *s;
	size_t len;
	*t = 0;
	if (c->i < c->n && c->b[c->i] != '"')
		return skip_value(c); /* NIL from a broken server: unknown */
	if (!cur_quoted(c, &s, &len, NULL))
		return false;
	if (ma_imap_date_parse(s, len, t) != 0)
		*t = 0;
	return true;
}

/* After "BODY": "[" section "]" ["<" origin ">"]. Sets *header when the
 * section is HEADER.FIELDS with a field list. */
static bool read_section(struct cur *c, bool *header)
{
	if (!cur_eat(c, '['))
		return false;
	*header = cur_word(c, "header.fields") && cur_eat(c, ' ');
	/* Field names are astrings: a quoted one may hold ']'. Up to the
	 * first ']' in one step when nothing before it needs a look. */
	const char *close = memchr(c->b + c->i, ']', c->n - c->i);
	if (close) {
		size_t span = (size_t)(close - (c->b + c->i));
		if (!memchr(c->b + c->i, '"', span) && !memchr(c->b + c->i, '\r', span) &&
		    !memchr(c->b + c->i, '\n', span))
			c->i += span;
	}
	while (c->i < c->n && c->b[c->i] != ']') {
		if (c->b[c->i] == '"') {
			const char *s;
			size_t len;
			if (!cur_quoted(c, &s, &len, NULL))
				return false;
		} else if (c->b[c->i] == '\r' || c->b[c->i] == '\n') {
			return false;
		} else {
			c->i++;
		}
	}
	if (!cur_eat(c, ']'))
		return false;
	if (cur_eat(c, '<')) {
		uint32_t origin;
		if (!cur_u32(c, &origin) || !cur_eat(c, '>'))
			return false;
	}
	return true;
}

/* "BODY[...]" (or a server echoing "BODY.PEEK[...]") at the cursor. */
static bool at_body_section(struct cur *c, size_t *name_len)
{
	static const char *const names[] = { "body[", "body.peek[" };
	for (size_t k = 0; k < 2; k++) {
		size_t l = strlen(names[k]);
		if (c->n - c->i >= l && word_is(c->b + c->i, l, names[k])) {
			*name_len = l - 1;
			return true;
		}
	}
	return false;
}

static bool read_item(struct cur *c, struct ma_fetch_resp *out)
{
	size_t name_len;
	/* Each name is tried only where its first letter stands: trying them
	 * all in turn was a third of parsing a response. */
	char first = c->i < c->n ? lower(c->b[c->i]) : '\0';
	if (first == 'u' && cur_word(c, "uid")) {
		out->has_uid = cur_eat(c, ' ') && cur_u32(c, &out->uid) && out->uid != 0;
		return out->has_uid;
	}
	if (first == 'f' && cur_word(c, "flags"))
		return cur_eat(c, ' ') && read_flags(c, &out->flags);
	if (first == 'r' && cur_word(c, "rfc822.size")) {
		out->has_size = cur_eat(c, ' ') && cur_u32(c, &out->size);
		return out->has_size;
	}
	if (first == 'i' && cur_word(c, "internaldate"))
		return cur_eat(c, ' ') && read_internaldate(c, &out->internaldate);
	if (first == 'b' && at_body_section(c, &name_len)) {
		bool header;
		c->i += name_len;
		if (!read_section(c, &header) || !cur_eat(c, ' '))
			return false;
		if (!header) /* another section: not what we asked for */
			return skip_value(c);
		out->has_header = true;
		return cur_nstring(c, &out->header, &out->header_len, &out->header_escaped);
	}
	/* Anything else: a name, maybe a section, then one value. */
	size_t start = c->i;
	while (c->i < c->n && is_atom_char(c->b[c->i]))
		c->i++;
	if (c->i == start)
		return false;
	if (c->i < c->n && c->b[c->i] == '[') {
		bool ignored;
		if (!read_section(c, &ignored))
			return false;
	}
	return cur_eat(c, ' ') && skip_value(c);
}

int ma_parse_fetch(const char *buf, size_t len, struct ma_fetch_resp *out)
{
	if (!buf || !out)
		return -1;
	memset(out, 0, sizeof *out);
	struct cur c = { buf, len, 0 };
	if (!cur_eat(&c, '*') || !cur_eat(&c, ' ') || !cur_u32(&c, &out->seq) || out->seq == 0 ||
	    !cur_eat(&c, ' ') || !cur_word(&c, "fetch") || !cur_eat(&c, ' ') || !cur_eat(&c, '('))
		return -1;
	if (!cur_eat(&c, ')')) {
		for (;;) {
			if (!read_item(&c, out))
				return -1;
			if (cur_eat(&c, ')'))
				break;
			if (!cur_eat(&c, ' '))
				return -1;
		}
	}
	while (cur_eat(&c, ' '))
		;
	return c.i == c.n ? 0 : -1;
}
