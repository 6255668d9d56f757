/* A growing string for building text (findings, the report).
 *
 * Out of memory is remembered in oom and checked once at the end, so text
 * builders stay free of error plumbing. p is NUL-terminated whenever it is
 * not NULL, and belongs to the caller (free it). */
#ifndef MA_STRBUF_H
#define MA_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct ma_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void ma_buf_add(struct ma_buf *b, const char *s, size_t n);
void ma_buf_printf(struct ma_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
