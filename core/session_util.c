#include "session_util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

void ma_sanitize(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t o = 0;
	if (dstlen == 0)
		return;
	for (size_t i = 0; i < len && o + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c == '\r' || c == '\n')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		dst[o++] = (char)c;
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

ma_status ma_session_upgrade(mailstream *stream, struct ma_conn *conn, const char *host,
			     struct ma_error *err)
{
	if (stream->read_buffer_len != 0)
		return ma_fail(err, MA_ERR_STARTTLS_INJECTION,
			       "%s sent %zu bytes after its STARTTLS reply", host, stream->read_buffer_len);
	ma_status st = ma_conn_start_tls(conn, err);
	if (st != MA_OK)
		return st;
	mailstream_low *low = ma_conn_low(conn);
	if (!low)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	/* The old driver does not own the socket: freeing it keeps the fd. */
	mailstream_low_free(mailstream_get_low(stream));
	mailstream_set_low(stream, low);
	return MA_OK;
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
