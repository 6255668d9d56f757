/* The plain-text report of one audit, the one-line monitoring summary and
 * writing a report to a file without ever leaving half of one behind.
 *
 * The report reads an analysed struct ma_audit_result (ma_analyze has run)
 * and never sees a password. Its text is UTF-8 without control characters
 * other than '\n', every line at most MA_REPORT_WIDTH code points, and the
 * same result always gives the same bytes. */
#ifndef MA_REPORT_H
#define MA_REPORT_H

#include <stddef.h>

#include "base/status.h"

#define MA_REPORT_WIDTH 78

struct ma_audit_result;

/* The whole report into *out (malloc'd, the caller frees it). */
ma_status ma_report_text(const struct ma_audit_result *r, char **out, struct ma_error *err);

/* Appends a section to a finished report (*text, malloc'd): a heading like
 * the report's own, then body as it is, which keeps to MA_REPORT_WIDTH
 * itself (the doctor's text after --report --probe). On ENOMEM *text is
 * left as it was. */
ma_status ma_report_add_section(char **text, const char *title, const char *body,
				struct ma_error *err);

/* Replaces path with text atomically: a temporary file in the same
 * directory, fsync, rename. On failure nothing is left behind and err names
 * the path (MA_ERR_IO). A path that is no regular file (/dev/null, a FIFO)
 * is written in place. "-" (stdout) is the caller's business, not this. */
ma_status ma_report_write(const char *path, const char *text, struct ma_error *err);

/* One monitoring-plugins line without a newline, e.g.
 * "MAILAUDIT CRITICAL - 25 messages ... | inbox=120;;; pop3=120;;; destroyed=25;;;".
 * The exit code to go with it is ma_severity_exit_code(r->verdict). */
ma_status ma_check_line(const struct ma_audit_result *r, char **out, struct ma_error *err);

#endif
