/* libFuzzer target for every parser in core/base/parse.c and core/net/endpoint.c.
 * The first input byte picks the parser (modulo 13: 12 is ma_parse_fetch);
 * the rest is its input, copied to an exact-size buffer so ASan sees any
 * read past the end.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Icore -D_GNU_SOURCE \
 *     tests/fuzz/fuzz_parse.c core/base/parse.c core/net/endpoint.c core/base/status.c \
 *     core/base/model.c -lcrypto -o /tmp/fuzz_parse
 *   /tmp/fuzz_parse -max_total_time=60 tests/fuzz/corpus/parse
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"
#include "net/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Screen text must be valid UTF-8 without control characters but tab. */
static void check_screen_text(const char *s)
{
	if (!s)
		return;
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; u[i]; i++) {
		if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f)
			abort();
		if (u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] < 0xa0)
			abort();
	}
	if (strlen(s) > 4 * MA_HEADER_MAX)
		abort();
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Raw From or Subject: no line breaks, bounded, screen text once decoded. */
static void check_raw_text(const char *s)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (n > MA_HEADER_RAW_MAX + 3 || strpbrk(s, "\r\n"))
		abort();
	char *d = ma_rfc2047_decode(s, n);
	check_screen_text(d);
	if (d && strlen(d) > MA_HEADER_MAX)
		abort();
	free(d);
}

/* decoded came from ma_parse_header_fields, raw from the _raw variant of
 * the same input: uncut, decoding raw must give decoded exactly (what the
 * history shows is what it showed when it stored decoded text). */
static void check_same_decoded(const char *decoded, const char *raw, bool uncut)
{
	if (!decoded != !raw)
		abort();
	if (!raw)
		return;
	check_raw_text(raw);
	char *d = ma_rfc2047_decode(raw, strlen(raw));
	if (d && uncut && strcmp(d, decoded) != 0)
		abort();
	free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned which = data[0];
	size_t len = size - 1;
	char *buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);

	switch (which % 13) {
	case 0: {
		char *s = ma_mutf7_decode(buf, len);
		check_screen_text(s);
		free(s);
		break;
	}
	case 1: {
		char *s = ma_header_unfold(buf, len);
		free(s);
		break;
	}
	case 2: {
		char *s = ma_rfc2047_decode(buf, len);
		check_screen_text(s);
		if (s && strlen(s) > MA_HEADER_MAX)
			abort();
		free(s);
		break;
	}
	case 3: {
		struct ma_message m = { 0 }, raw = { 0 };
		int rc = ma_parse_header_fields(buf, len, &m);
		check_screen_text(m.date);
		check_screen_text(m.from);
		check_screen_text(m.subject);
		check_screen_text(m.message_id);
		int raw_rc = ma_parse_header_fields_raw(buf, len, &raw);
		/* Raw text decoded later must be what decoding at once gave,
		 * unless it was cut (which only a longer input can cause). */
		if (rc == 0 && raw_rc == 0) {
			check_same_decoded(m.from, raw.from, len <= MA_HEADER_RAW_MAX);
			check_same_decoded(m.subject, raw.subject, len <= MA_HEADER_RAW_MAX);
			if (!same(m.date, raw.date) || !same(m.message_id, raw.message_id))
				abort();
		}
		ma_message_clear(&m);
		ma_message_clear(&raw);
		break;
	}
	case 4: {
		char *s = ma_msgid_normalize(buf, len);
		unsigned char h[32];
		char hex[65];
		ma_msgid_hash(s, h);
		ma_hex(h, sizeof h, hex);
		if (s && (s[0] != '<' || s[strlen(s) - 1] != '>'))
			abort();
		free(s);
		break;
	}
	case 5: {
		const char *out;
		size_t n;
		bool end;
		if (ma_pop3_unstuff(buf, len, &out, &n, &end) == 0 &&
		    (out < buf || n > len || out + n > buf + len))
			abort();
		break;
	}
	case 6: {
		uint32_t num, sz;
		if (ma_pop3_parse_list_line(buf, len, &num, &sz) == 0 && num == 0)
			abort();
		break;
	}
	case 7: {
		uint32_t num;
		char uidl[71];
		if (ma_pop3_parse_uidl_line(buf, len, &num, uidl) == 0 &&
		    (strlen(uidl) == 0 || strlen(uidl) > 70))
			abort();
		if (ma_pop3_parse_uidl_reply(buf, len, &num, uidl) == 0 &&
		    (num == 0 || strlen(uidl) == 0 || strlen(uidl) > 70))
			abort();
		break;
	}
	case 8: {
		uint32_t count;
		uint64_t sz;
		ma_pop3_parse_stat(buf, len, &count, &sz);
		uint32_t uid, uv;
		ma_dovecot_uidl_decode(buf, len, &uid, &uv);
		break;
	}
	case 9: {
		char code[16];
		if (ma_pop3_response_code(buf, len, code, sizeof code) == 1 &&
		    strlen(code) >= sizeof code)
			abort();
		break;
	}
	case 10: {
		int64_t t;
		ma_imap_date_parse(buf, len, &t);
		break;
	}
	case 11: {
		struct ma_endpoint ep;
		struct ma_error err;
		ma_status st = ma_endpoint_parse(buf, len, (enum ma_proto)(which / 13 % 3), &ep, &err);
		if (st == MA_OK && (ep.port == 0 || ep.port > 65535 || ep.host[0] == '\0'))
			abort();
		if (st != MA_OK)
			for (const char *p = err.detail; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					abort();
		break;
	}
	case 12: {
		struct ma_fetch_resp r;
		if (ma_parse_fetch(buf, len, &r) != 0)
			break;
		if (r.seq == 0 || (r.has_uid && r.uid == 0) || (r.flags & ~0x3fu))
			abort();
		if (r.header && (r.header < buf || r.header_len > len ||
				 r.header + r.header_len > buf + len))
			abort();
		if (!r.has_header && (r.header || r.header_len))
			abort();
		/* What the IMAP session does next with the header block, and
		 * the history with From and Subject when it shows them. */
		struct ma_message m = { 0 };
		ma_parse_header_fields_raw(r.header, r.header_len, &m);
		check_screen_text(m.date);
		check_raw_text(m.from);
		check_raw_text(m.subject);
		ma_message_clear(&m);
		break;
	}
	}
	free(buf);
	return 0;
}
