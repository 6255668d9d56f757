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
#include <stdint.h>

#include "audit/findings.h"
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
 * "MAILAUDIT CRITICAL - 25 messages ... | inbox=120;;;0 inbox_size=2048B;;;0
 *  pop3=120;;;0 ... destroyed=25;;;0 ... time=1.234s;;;0": counts without a
 * unit, sizes in bytes (B), the audit's duration in seconds, minimum 0 and
 * no thresholds. The text never holds a '|' or a control character. The
 * exit code to go with it is ma_severity_exit_code(ma_check_severity(r)). */
ma_status ma_check_line(const struct ma_audit_result *r, char **out, struct ma_error *err);

/* The severity the check line and the exit status give r: its verdict
 * (INFO is OK; UNKNOWN when it was never analysed), at least UNKNOWN when
 * the --trace file could not be written (r->trace_err). */
enum ma_severity ma_check_severity(const struct ma_audit_result *r);

/* The check line when no audit could be made (setup errors: no password
 * source, an unreadable accounts file): "MAILAUDIT UNKNOWN - why". */
ma_status ma_check_setup_line(const char *why, char **out, struct ma_error *err);

/* One account of a run over every account of the accounts file (--all):
 * its name and its result, or why it was not audited. Borrowed. */
struct ma_account_outcome {
	const char *name;
	const struct ma_audit_result *r;  /* NULL: not audited, see why */
	const char *why;
};

/* UNKNOWN without a result, else ma_check_severity. */
enum ma_severity ma_outcome_severity(const struct ma_account_outcome *a);

/* --check --all (n >= 1): the status line first, "MAILAUDIT WORST - 2
 * accounts: 1 CRITICAL, 1 OK; worst bob: ... | alice_inbox=... bob_...
 * time=...s;;;0" (each account's performance data prefixed NAME_, the
 * run's duration last), then one line per account, "NAME: SEVERITY -
 * text", without a final newline. The worst is the first of the most
 * severe (not named when all are OK); the exit code is
 * ma_severity_exit_code of its severity. */
ma_status ma_check_lines_all(const struct ma_account_outcome *v, size_t n, int64_t elapsed_ms,
			     char **out, struct ma_error *err);

/* --report --all (n >= 1): a summary (the worst verdict, one line per
 * account), then each account's report under a heading "Account NAME",
 * or why it was not audited. */
ma_status ma_report_all(const struct ma_account_outcome *v, size_t n, char **out,
			struct ma_error *err);

#endif
