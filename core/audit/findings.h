/* Findings: what an audit concluded, each with a stable code documented in
 * docs/findings.md, a severity, the evidence, why it matters and the fix.
 *
 * The analysis reads a finished struct ma_audit_result (raw looks and the
 * history comparison) and appends findings to it; the report and the TUI
 * only display them. */
#ifndef MA_FINDINGS_H
#define MA_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/model.h"
#include "base/status.h"

/* Ordered: a higher value is worse, except UNKNOWN (could not audit) which
 * ranks between WARNING and CRITICAL for the verdict. */
enum ma_severity { MA_SEV_OK, MA_SEV_INFO, MA_SEV_WARNING, MA_SEV_UNKNOWN, MA_SEV_CRITICAL };

struct ma_finding {
	const char *code;         /* static, e.g. "mail-destroyed" */
	enum ma_severity severity;
	char *title;              /* one line with the numbers */
	char *evidence;           /* lines separated by '\n'; may be "" */
	const char *why;          /* static: why it matters (the no-backup risk) */
	const char *fix;          /* static: what to do */
};

/* "OK", "INFO", "WARNING", "UNKNOWN", "CRITICAL". */
const char *ma_severity_name(enum ma_severity s);
/* Monitoring-plugin exit code: OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3
 * (INFO counts as OK). */
int ma_severity_exit_code(enum ma_severity s);

void ma_finding_clear(struct ma_finding *f);

struct ma_audit_result;
/* Fills r->findings (most severe first) and r->verdict from the rest of r.
 * The verdict is CRITICAL while r->ledger holds a critical loss (below),
 * this audit's or an earlier one's; to show a result without the losses
 * the user just acknowledged, empty r->ledger and call this again. */
ma_status ma_analyze(struct ma_audit_result *r, struct ma_error *err);

/* Whether mail deleted from a folder of this role is lost mail (INBOX,
 * ordinary folders, Sent, Archive, and any role not known), rather than
 * Trash or Junk emptied (a warning) or Drafts replaced (nothing). */
bool ma_role_loss_critical(enum ma_role role);

/* Messages on r->ledger not yet acknowledged, Drafts left out. */
struct ma_loss_counts {
	uint64_t destroyed;      /* critical, found by this audit, named */
	uint64_t unseen_deleted; /* critical, found by this audit, came and went unseen */
	uint64_t unacknowledged; /* critical, found by any audit (this one included) */
	uint64_t earlier;        /* critical, found by earlier audits */
	uint64_t inbox_now;      /* critical, this audit's, in INBOX */
	uint64_t elsewhere_now;  /* critical, this audit's, outside INBOX or with their folder */
	uint64_t trash_now;      /* Trash or Junk emptied, found by this audit */
};
void ma_loss_counts(const struct ma_audit_result *r, struct ma_loss_counts *c);

#endif
