/* The --trace file (trace.h). Every write goes through the one FILE under
 * the lock and is flushed at once; the first write that fails is kept, so
 * that ma_trace_finish can say the trace is incomplete and why. */
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
	char path[200];           /* for messages */
	int write_errno;          /* the first failed write's errno; 0: none */
};

/* After a write, under the lock: keeps the first failure. fflush reports
 * what the buffered writes before it could not do. */
static void flush_checked(struct ma_trace *t)
{
	if ((fflush(t->f) != 0 || ferror(t->f)) && !t->write_errno)
		t->write_errno = errno ? errno : EIO;
	clearerr(t->f);
}

ma_status ma_trace_open(const char *path, struct ma_trace **out, struct ma_error *err)
{
	*out = NULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ma_fail(err, MA_ERR_IO, "cannot write the trace file %s: %s", path, strerror(errno));
	/* An existing file keeps its old mode on O_CREAT; the trace holds
	 * server dialogue, so make it private regardless. Only a regular file:
	 * a device (/dev/stderr, /dev/full) is written where it is, and made
	 * private it would lock every other user out of it. */
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		int e = errno;
		close(fd);
		return ma_fail(err, MA_ERR_IO, "cannot write the trace file %s: %s", path, strerror(e));
	}
	if (S_ISREG(sb.st_mode) && fchmod(fd, 0600) != 0) {
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
	snprintf(t->path, sizeof t->path, "%s", path);
	*out = t;
	return MA_OK;
}

ma_status ma_trace_finish(struct ma_trace *t, struct ma_error *err)
{
	if (!t)
		return MA_OK;
	int e = t->write_errno;
	errno = 0;
	if (fclose(t->f) != 0 && !e)
		e = errno ? errno : EIO;
	ma_status st = MA_OK;
	if (e)
		st = ma_fail(err, MA_ERR_IO, "%s: %s", t->path, strerror(e));
	pthread_mutex_destroy(&t->lock);
	free(t);
	return st;
}

void ma_trace_close(struct ma_trace *t)
{
	ma_trace_finish(t, NULL);
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
	flush_checked(tap->trace);
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
	flush_checked(tap->trace);
	pthread_mutex_unlock(&tap->trace->lock);
}
