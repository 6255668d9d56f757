/* Building text for people (findings, the report): a growing string and
 * the formats every text shares.
 *
 * In a growing string, out of memory is remembered in oom and checked
 * once at the end, so text builders stay free of error plumbing. p is
 * NUL-terminated whenever it is not NULL, and belongs to the caller. */
#ifndef MA_STRBUF_H
#define MA_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct ma_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void ma_buf_add(struct ma_buf *b, const char *s, size_t n);
void ma_buf_printf(struct ma_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "2026-11-26 10:00" (UTC), or "unknown" for 0. */
void ma_fmt_time(time_t t, char out[32]);
/* "512 B", "12.3 KB", "4.5 MB", "1.2 GB". */
void ma_fmt_size(uint64_t n, char out[32]);

#endif
