#include "base/strbuf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ma_buf_add(struct ma_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void ma_buf_printf(struct ma_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n < sizeof small) {
		ma_buf_add(b, small, (size_t)n);
		return;
	}
	/* Rare (long evidence lines): format again into the exact size. */
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	ma_buf_add(b, big, (size_t)n);
	free(big);
}

void ma_fmt_time(time_t t, char out[32])
{
	struct tm tm;
	if (t <= 0 || !gmtime_r(&t, &tm)) {
		snprintf(out, 32, "unknown");
		return;
	}
	strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
}

void ma_fmt_size(uint64_t n, char out[32])
{
	if (n < 1024)
		snprintf(out, 32, "%" PRIu64 " B", n);
	else if (n < 1024 * 1024)
		snprintf(out, 32, "%.1f KB", (double)n / 1024);
	else if (n < 1024ull * 1024 * 1024)
		snprintf(out, 32, "%.1f MB", (double)n / (1024 * 1024));
	else
		snprintf(out, 32, "%.1f GB", (double)n / (1024.0 * 1024 * 1024));
}
