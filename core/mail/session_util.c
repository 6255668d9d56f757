#include "mail/session_util.h"
#include "mail/session.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

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
