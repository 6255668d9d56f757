#include "net/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

struct ma_trace {
	FILE *f;
	pthread_mutex_t lock;
};

ma_status ma_trace_open(const char *path, struct ma_trace **out, struct ma_error *err)
{
	*out = NULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ma_fail(err, MA_ERR_IO, "cannot write the trace file %s: %s", path, strerror(errno));
	/* An existing file keeps its old mode on O_CREAT; the trace holds
	 * server dialogue, so make it private regardless. */
	if (fchmod(fd, 0600) != 0) {
		close(fd);
		return ma_fail(err, MA_ERR_IO, "cannot restrict %s to mode 0600: %s", path, strerror(errno));
	}
	struct ma_trace *t = calloc(1, sizeof *t);
	if (!t || !(t->f = fdopen(fd, "w"))) {
		free(t);
		close(fd);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return MA_OK;
}

void ma_trace_close(struct ma_trace *t)
{
	if (!t)
		return;
	fclose(t->f);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void ma_trace_note(struct ma_trace_tap *tap, const char *fmt, ...)
{
	if (!tap || !tap->trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&tap->trace->lock);
	fprintf(tap->trace->f, "%s # ", tap->proto);
	vfprintf(tap->trace->f, fmt, ap);
	fputc('\n', tap->trace->f);
	fflush(tap->trace->f);
	pthread_mutex_unlock(&tap->trace->lock);
	va_end(ap);
}

/* One line per protocol line, with control bytes escaped so the trace is
 * safe to cat on a terminal. */
static void write_lines(FILE *f, const char *proto, const char *dir, const char *buf, size_t len)
{
	int at_start = 1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (at_start) {
			fprintf(f, "%s %s ", proto, dir);
			at_start = 0;
		}
		if (c == '\n') {
			fputc('\n', f);
			at_start = 1;
		} else if (c == '\r') {
			continue;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\x%02x", c);
		} else {
			fputc(c, f);
		}
	}
	if (!at_start)
		fputc('\n', f);
}

void ma_trace_event(struct ma_trace_tap *tap, int log_type, const char *buf, size_t len)
{
	if (!tap || !tap->trace)
		return;
	FILE *f = tap->trace->f;
	pthread_mutex_lock(&tap->trace->lock);
	switch (log_type) {
	case MAILSTREAM_LOG_TYPE_DATA_SENT_PRIVATE:
		fprintf(f, "%s C: [%zu bytes of credentials redacted]\n", tap->proto, len);
		break;
	case MAILSTREAM_LOG_TYPE_DATA_SENT:
		if (tap->phase == MA_TRACE_SECRET)
			fprintf(f, "%s C: [%zu bytes of credentials redacted]\n", tap->proto, len);
		else
			write_lines(f, tap->proto, "C:", buf, len);
		break;
	case MAILSTREAM_LOG_TYPE_DATA_RECEIVED:
		if (tap->phase == MA_TRACE_BULK)
			fprintf(f, "%s S: [%zu bytes of message data omitted]\n", tap->proto, len);
		else
			write_lines(f, tap->proto, "S:", buf, len);
		break;
	case MAILSTREAM_LOG_TYPE_ERROR_PARSE:
		fprintf(f, "%s # parse error\n", tap->proto);
		break;
	case MAILSTREAM_LOG_TYPE_ERROR_RECEIVED:
		fprintf(f, "%s # receive error\n", tap->proto);
		break;
	case MAILSTREAM_LOG_TYPE_ERROR_SENT:
		fprintf(f, "%s # send error\n", tap->proto);
		break;
	default:
		break;
	}
	fflush(f);
	pthread_mutex_unlock(&tap->trace->lock);
}
