#include "mail/session_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if there is
 * none: overlong forms, surrogates, code points past U+10FFFF and the C1
 * controls U+0080..U+009F (a terminal may obey them) do not count. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
		return 0;
	return len;
}

void ma_sanitize(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t o = 0;
	if (dstlen == 0)
		return;
	const unsigned char *u = (const unsigned char *)src;
	for (size_t i = 0; i < len && o + 1 < dstlen;) {
		unsigned char c = u[i];
		if (c >= 0x80) {
			/* Valid UTF-8 stays (whole or not at all); any other
			 * byte becomes '?', so the output is valid UTF-8. */
			size_t n = utf8_seq(u + i, len - i);
			if (n == 0) {
				dst[o++] = '?';
				i++;
				continue;
			}
			if (o + n >= dstlen)
				break;
			memcpy(dst + o, u + i, n);
			o += n;
			i += n;
			continue;
		}
		if (c == '\r' || c == '\n')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		dst[o++] = (char)c;
		i++;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

char *ma_sanitize_dup(const char *src, size_t len)
{
	char *d = malloc(len + 1);
	if (d)
		ma_sanitize(d, len + 1, src, len);
	return d;
}

bool ma_credential_ok(const char *s)
{
	return s && *s && !strpbrk(s, "\r\n");
}

char *ma_sasl_plain_command(const char *prefix, const char *login, const char *password)
{
	size_t ll = strlen(login), pl = strlen(password), pre = strlen(prefix);
	size_t rawlen = ll + pl + 2;
	unsigned char *raw = malloc(rawlen);
	char *out = malloc(pre + 4 * ((rawlen + 2) / 3) + 1);
	if (!raw || !out) {
		free(raw);
		free(out);
		return NULL;
	}
	/* authzid empty, authcid = login, then the password. */
	raw[0] = '\0';
	memcpy(raw + 1, login, ll);
	raw[1 + ll] = '\0';
	memcpy(raw + 2 + ll, password, pl);
	memcpy(out, prefix, pre);
	EVP_EncodeBlock((unsigned char *)out + pre, raw, (int)rawlen);
	OPENSSL_cleanse(raw, rawlen);
	free(raw);
	return out;
}

ssize_t ma_stream_reader_peek(struct ma_stream_reader *r, const char **p)
{
	mailstream *st = r->st;
	if (r->pos >= st->read_buffer_len) {
		/* All taken: an empty buffer, which is what makes libetpan read
		 * from the network again. */
		st->read_buffer_len = 0;
		r->pos = 0;
		/* Our driver never returns 0; a failure is named by the
		 * transport. */
		if (mailstream_feed_read_buffer(st) <= 0)
			return -1;
	}
	*p = st->read_buffer + r->pos;
	return (ssize_t)(st->read_buffer_len - r->pos);
}

ssize_t ma_stream_reader_line(struct ma_stream_reader *r, const char **p, bool *eol)
{
	ssize_t n = ma_stream_reader_peek(r, p);
	if (n < 0)
		return n;
	const char *nl = memchr(*p, '\n', (size_t)n);
	*eol = nl != NULL;
	return nl ? nl - *p + 1 : n;
}

void ma_stream_reader_take(struct ma_stream_reader *r, size_t n)
{
	r->pos += n;
}

void ma_stream_reader_sync(struct ma_stream_reader *r)
{
	mailstream *st = r->st;
	if (!st || !r->pos)
		return;
	memmove(st->read_buffer, st->read_buffer + r->pos, st->read_buffer_len - r->pos);
	st->read_buffer_len -= r->pos;
	r->pos = 0;
}

static int folder_cmp(const void *a, const void *b)
{
	const struct ma_folder *x = a, *y = b;
	int xi = strcmp(x->name, "INBOX") == 0, yi = strcmp(y->name, "INBOX") == 0;
	if (xi != yi)
		return yi - xi;
	return strcmp(x->name, y->name);
}

void ma_folders_sort(struct ma_folder *f, size_t n)
{
	qsort(f, n, sizeof *f, folder_cmp);
}
