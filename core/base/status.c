#include "base/i18n.h"
#include "base/status.h"
#include "base/text.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MA_STATUS_TEXT(name, text) text,
static const char *const messages[] = { MA_STATUS_LIST(MA_STATUS_TEXT) };
#undef MA_STATUS_TEXT

#define MA_STATUS_NAME(name, text) #name,
static const char *const names[] = { MA_STATUS_LIST(MA_STATUS_NAME) };
#undef MA_STATUS_NAME

/* Names derived once from the enum identifiers: MA_ERR_CERT_EXPIRED ->
 * cert-expired. Sessions run on several threads, hence pthread_once. */
static char pretty[MA_STATUS_COUNT][40];
static pthread_once_t pretty_once = PTHREAD_ONCE_INIT;

static void make_pretty(void)
{
	for (int st = 0; st < MA_STATUS_COUNT; st++) {
		const char *in = names[st];
		char *out = pretty[st];
		if (strncmp(in, "MA_ERR_", 7) == 0)
			in += 7;
		else if (strncmp(in, "MA_", 3) == 0)
			in += 3;
		size_t i = 0;
		for (; in[i] && i + 1 < sizeof pretty[st]; i++)
			out[i] = in[i] == '_' ? '-' : (char)tolower((unsigned char)in[i]);
		out[i] = '\0';
	}
}

const char *ma_status_message(ma_status st)
{
	if ((unsigned)st >= MA_STATUS_COUNT)
		return _("unknown error");
	return _(messages[st]);
}

const char *ma_status_name(ma_status st)
{
	if ((unsigned)st >= MA_STATUS_COUNT)
		return "unknown";
	pthread_once(&pretty_once, make_pretty);
	return pretty[st];
}

ma_status ma_fail(struct ma_error *err, ma_status st, const char *fmt, ...)
{
	if (err) {
		err->status = st;
		err->detail[0] = '\0';
		if (fmt) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err->detail, sizeof err->detail, fmt, ap);
			va_end(ap);
		}
	}
	return st;
}

void ma_error_format(const struct ma_error *err, char *buf, size_t len)
{
	/* The detail may quote a file name from the accounts file or a
	 * server's words: whoever prints it, no byte of it reaches a terminal
	 * as a control (a C1 control such as U+009B is one). */
	char clean[sizeof err->detail];
	ma_sanitize(clean, sizeof clean, err->detail, strnlen(err->detail, sizeof err->detail));
	if (clean[0])
		snprintf(buf, len, "%s: %s", ma_status_message(err->status), clean);
	else
		snprintf(buf, len, "%s", ma_status_message(err->status));
}
