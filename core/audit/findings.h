/* Findings: what an audit (or the connection doctor) concluded, each with
 * a stable code documented in docs/findings.md, a severity, the evidence,
 * why it matters and the fix.
 *
 * Every kind of finding, the audit's and the doctor's, is one row of the
 * table in finding_kinds.h; a finding takes its code, severity, why and
 * (unless its check names one) fix from there (ma_findings_add), and
 * every list of findings is sorted the same way (ma_findings_sort).
 *
 * The analysis reads a finished struct ma_audit_result (raw looks and the
 * history comparison) and appends findings to it; the report and the TUI
 * only display them. The doctor's checks (doctor/checks.c) build their
 * findings through the same calls. */
#ifndef MA_FINDINGS_H
#define MA_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/finding_kinds.h"
#include "base/model.h"
#include "base/status.h"
#include "base/text.h"

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
/* The same word in the reader's language, for screens and reports; the
 * monitoring line and the history keep ma_severity_name (never translated). */
const char *ma_severity_label(enum ma_severity s);
/* Monitoring-plugin exit code: OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3
 * (INFO counts as OK). */
int ma_severity_exit_code(enum ma_severity s);

void ma_finding_clear(struct ma_finding *f);

/* ---- the table and building lists of findings ---- */

#define MA_KIND_ENUM(id, code, sev, why, fix) id,
enum ma_kind { MA_FINDING_KINDS(MA_KIND_ENUM) MA_KIND_COUNT };
#undef MA_KIND_ENUM

/* Which of a kind's severities a check found (MA_SEV_GRADED): MILD, say,
 * for a deleted folder that was only Trash, GRAVE for POP3 EXPIRE 0. */
enum ma_grade { MA_GRADE_MILD, MA_GRADE_USUAL, MA_GRADE_GRAVE };

/* A certificate that expires within this many days is worth a warning. */
#define MA_CERT_SOON_DAYS 21

/* "mail-destroyed", ...; "?" outside the table. */
const char *ma_kind_code(enum ma_kind k);
enum ma_severity ma_kind_severity(enum ma_kind k, enum ma_grade g);

/* Findings being built. Out of memory is remembered in oom and checked
 * once, when the list is done. Start with { 0 }. */
struct ma_findings {
	struct ma_finding *v;
	size_t n, cap;
	bool oom;
};

/* Appends a finding of kind k: code, severity for grade g and why from the
 * table, fix too unless one is given. Takes title's and evidence's text
 * whatever happens (a NULL evidence becomes ""). */
void ma_findings_add(struct ma_findings *l, enum ma_kind k, enum ma_grade g, struct ma_buf *title,
		     struct ma_buf *evidence, const char *fix);
/* Most severe first; findings of one severity keep their order. */
void ma_findings_sort(struct ma_finding *v, size_t n);
/* Frees every finding of l and its array; l is left empty. */
void ma_findings_clear(struct ma_findings *l);

/* ---- provider rules (store/rules.h), for the audit and the doctor ---- */

struct ma_rule;
struct ma_rules;
/* host-obsolete: host matched rule (the rule's note and hint as evidence). */
void ma_findings_host_obsolete(struct ma_findings *l, const char *host, const struct ma_rule *rule);
/* rules-missing: the note that obsolete names could not be recognised,
 * because ma_rules_load found no file (rules->missing) or failed (load_err
 * not NULL: its error). Nothing when the rules were read. */
void ma_findings_rules_note(struct ma_findings *l, const struct ma_rules *rules,
			    const struct ma_error *load_err);

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
