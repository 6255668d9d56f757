/* The plain-text report. Everything passes through one line emitter that
 * cleans and wraps, so no server-supplied byte can reach the file or the
 * terminal as a control sequence, and no line grows past the width. */
#include "audit/report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/findings.h"
#include "base/i18n.h"
#include "base/text.h"

#ifndef MA_VERSION
#define MA_VERSION "unknown"
#endif

#define HISTORY_ROWS 10
/* Losses listed in the report; --lost lists every one. */
#define LEDGER_ROWS 100

/* ---- lines ------------------------------------------------------------- */

/* One logical line (no '\n'), cleaned, wrapped to the width with `first`
 * spaces before the first row and `rest` before the others. */
static void wrap_line(struct ma_buf *o, const char *raw, size_t rawlen, size_t first, size_t rest)
{
	size_t size = 4 * rawlen + 8;
	char *s = malloc(size);
	if (!s) {
		o->oom = true;
		return;
	}
	ma_text_clean(s, size, raw, rawlen, rawlen);
	ma_buf_wrap(o, s, strlen(s), MA_REPORT_WIDTH, first, rest);
	free(s);
}

/* A paragraph of lines; a line starting "- " hangs its continuation under
 * the text after the dash. */
static void para(struct ma_buf *o, const char *text, size_t indent)
{
	if (!text)
		return;
	const char *p = text;
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		size_t hang = n >= 2 && p[0] == '-' && p[1] == ' ' ? 2 : 0;
		wrap_line(o, p, n, indent, indent + hang);
		if (!nl)
			break;
		p = nl + 1;
	}
}

static void linef(struct ma_buf *o, size_t indent, size_t hang, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void linef(struct ma_buf *o, size_t indent, size_t hang, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->oom = true;
		return;
	}
	/* Further lines of the value hang like a wrapped one. */
	const char *p = s;
	for (const char *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		wrap_line(o, p, (size_t)(nl - p), p == s ? indent : hang, hang);
	}
	wrap_line(o, p, strlen(p), p == s ? indent : hang, hang);
	free(s);
}

static void heading(struct ma_buf *o, const char *title)
{
	ma_buf_add(o, "\n", 1);
	ma_buf_add(o, title, strlen(title));
	ma_buf_add(o, "\n", 1);
	for (size_t i = ma_utf8_count(title, strlen(title)); i > 0; i--)
		ma_buf_add(o, "-", 1);
	ma_buf_add(o, "\n", 1);
}

/* name cleaned, cut and padded to exactly w columns. */
static void cell(char *dst, size_t dstsize, const char *name, size_t w)
{
	size_t n = ma_text_clean(dst, dstsize, name ? name : "?", name ? strlen(name) : 1, w);
	size_t len = strlen(dst);
	for (; n < w && len + 1 < dstsize; n++)
		dst[len++] = ' ';
	dst[len] = '\0';
}

/* ---- formatting helpers ------------------------------------------------------ */

/* A column heading padded to w columns (right-aligned unless left), never
 * cut: printf's widths count bytes, and a translated heading has letters
 * of two. */
static const char *head_cell(char *dst, size_t size, const char *s, size_t w, bool left)
{
	char clean[128];
	size_t n = ma_text_clean(clean, sizeof clean, s, strlen(s), 60);
	size_t pad = n < w ? w - n : 0;
	if (left)
		snprintf(dst, size, "%s%*s", clean, (int)pad, "");
	else
		snprintf(dst, size, "%*s%s", (int)pad, "", clean);
	return dst;
}


static const struct ma_folder *inbox_of(const struct ma_audit_result *r, size_t *idx)
{
	for (size_t i = 0; i < r->nfolders; i++)
		if (r->folders[i].folder.name && strcasecmp(r->folders[i].folder.name, "INBOX") == 0) {
			if (idx)
				*idx = i;
			return &r->folders[i].folder;
		}
	return NULL;
}

static bool has_finding(const struct ma_audit_result *r, const char *code, enum ma_severity sev)
{
	for (size_t i = 0; i < r->nfindings; i++)
		if (strcmp(r->findings[i].code, code) == 0 && r->findings[i].severity == sev)
			return true;
	return false;
}

/* The finding that sums the audit up: the worst one, except that an OK
 * verdict is best said by all-clear, which sorts below the INFO notes. */
static const char *headline(const struct ma_audit_result *r)
{
	if (!r->nfindings)
		return _("not analysed");
	if (r->verdict == MA_SEV_OK)
		for (size_t i = 0; i < r->nfindings; i++)
			if (r->findings[i].severity == MA_SEV_OK)
				return r->findings[i].title;
	return r->findings[0].title;
}

static const struct ma_finding *finding(const struct ma_audit_result *r, const char *code)
{
	for (size_t i = 0; i < r->nfindings; i++)
		if (strcmp(r->findings[i].code, code) == 0)
			return &r->findings[i];
	return NULL;
}

/* _("the audit did not finish within --deadline 50 s") */
static void deadline_words(struct ma_buf *t, const struct ma_audit_result *r, bool capital)
{
	/* Whole sentences, not "The"/"the" glued on: a translation needs them. */
	if (r->deadline_s > 0)
		ma_buf_printf(t, capital ? _("The audit did not finish within --deadline %d s")
				 : _("the audit did not finish within --deadline %d s"), r->deadline_s);
	else
		ma_buf_printf(t, "%s", capital ? _("The audit did not finish within its time limit")
				 : _("the audit did not finish within its time limit"));
}

/* The first part of the audit the deadline stopped, as its error says it. */
static const struct ma_error *deadline_error(const struct ma_audit_result *r)
{
	const struct ma_error *e[3] = { &r->imap_err, &r->pop3_err, &r->history_err };
	for (int i = 0; i < 3; i++)
		if (e[i]->status == MA_ERR_DEADLINE)
			return e[i];
	return NULL;
}

/* What went wrong with the --trace file, for a sentence: its detail
 * (the file and the reason) or else the status's words. */
static const char *trace_words(const struct ma_audit_result *r)
{
	return r->trace_err.detail[0] ? r->trace_err.detail : ma_status_message(r->trace_err.status);
}

static const char *const CRIT_POP3 =
	N_("Mail has been deleted from the server, or the server is set to "
	"delete it. The provider keeps no backup of mail that a mail "
	"program deleted, so it cannot restore it: a message that a "
	"device downloaded over POP3 and then deleted from the server "
	"exists only on that one device, and your other devices never "
	"get it. Act now, while that device still has the messages.");
static const char *const CRIT_ELSEWHERE =
	N_("Mail has been deleted from the server. The provider keeps no backup "
	"of mail that a mail program deleted, so it cannot restore it. The "
	"lost messages were outside INBOX, where a POP3 device cannot reach: "
	"an IMAP program, a phone app, webmail or a person deleted them. A "
	"device that had synced those folders may still have copies until it "
	"syncs again: act now.");
static const char *const CRIT_EARLIER =
	N_("Earlier audits found mail deleted from the server, and nobody has "
	"acknowledged it yet (see \"Lost mail on record\"). The provider keeps "
	"no backup of mail that a mail program deleted. Put back what you still "
	"can from the device that has it, then run mailaudit --ack, so that "
	"later audits report only new losses.");

/* The paragraph under the verdict, which must not blame a POP3 device for
 * what only an IMAP program or a person can do. */
static void verdict_paras(struct ma_buf *o, const struct ma_audit_result *r)
{
	struct ma_loss_counts c;
	ma_loss_counts(r, &c);
	switch (r->verdict) {
	case MA_SEV_CRITICAL:
		if (c.inbox_now || (!c.elsewhere_now && !c.earlier)) {
			para(o, _(CRIT_POP3), 0);
			if (c.elsewhere_now) {
				ma_buf_add(o, "\n", 1);
				para(o, _("Mail was also deleted outside INBOX, which only an IMAP "
					"program or a person can do."), 0);
			}
		} else if (c.elsewhere_now) {
			para(o, _(CRIT_ELSEWHERE), 0);
		} else {
			para(o, _(CRIT_EARLIER), 0);
			return;
		}
		if (c.earlier) {
			ma_buf_add(o, "\n", 1);
			para(o, _("Losses found by earlier audits are not acknowledged yet either "
				"(see \"Lost mail on record\")."), 0);
		}
		return;
	case MA_SEV_UNKNOWN:
		para(o, _("mailaudit could not look at the mailbox's folders over IMAP, so "
			"it cannot tell whether your mail is safe. Fix the problem below "
			"and run it again. Until then remember that the provider keeps "
			"no backup of mail that a mail program deleted from the server."), 0);
		return;
	case MA_SEV_WARNING:
		if (c.trash_now || has_finding(r, "inbox-drained", MA_SEV_WARNING) ||
		    has_finding(r, "mail-came-and-went", MA_SEV_WARNING) ||
		    has_finding(r, "folder-deleted", MA_SEV_WARNING)) {
			para(o, _("Some mail has left the server (see below), most likely on "
				"purpose, such as an emptied Trash: check that it was. The "
				"provider keeps no backup of mail that a mail program deleted "
				"from the server: whatever a device deletes there is gone "
				"unless that device still has it."), 0);
			return;
		}
		para(o, _("No message is known to be lost, but something below puts mail "
			"at risk or needs a look. The provider keeps no backup of mail "
			"that a mail program deleted from the server: whatever a device "
			"deletes there is gone unless that device still has it."), 0);
		return;
	default:
		para(o, _("No sign of lost mail. The provider keeps no backup of mail that "
			"a mail program deleted from the server, so keep every device on "
			"IMAP (or POP3 with \"Leave messages on server\") and run "
			"mailaudit again from time to time."), 0);
		return;
	}
}

/* ---- sections ---------------------------------------------------------------- */

/* failed: what to say when the look did not succeed, e.g. "failed". */
static void endpoint_line(struct ma_buf *o, const char *label, bool tried, bool ok,
			  const struct ma_endpoint *ep, const char *failed)
{
	if (!tried)
		linef(o, 0, 11, _("%-10s not checked"), label);
	else if (ep->host[0])
		linef(o, 0, 11, "%-10s %s:%u, %s%s%s%s", label, ep->host, ep->port,
		      ma_security_label(ep->security), ok ? "" : " (", ok ? "" : failed,
		      ok ? "" : ")");
	else
		linef(o, 0, 11, "%-10s %s", label, ok ? _("checked") : failed);
}

static void section_header(struct ma_buf *o, const struct ma_audit_result *r)
{
	char when[32];
	ma_fmt_time(r->finished ? r->finished : r->started, when);
	linef(o, 0, 0, _("mailaudit %s - is the mail in this mailbox safe?"), MA_VERSION);
	ma_buf_add(o, "\n", 1);
	linef(o, 0, 11, _("Account:   %s"), r->account_label);
	endpoint_line(o, "IMAP:", r->imap_tried, r->imap_ok, &r->imap_endpoint, _("failed"));
	endpoint_line(o, "POP3:", r->pop3_tried, r->pop3_ok, &r->pop3_endpoint,
		      r->pop3_skipped && !r->pop3_in_use ? _("left alone, see pop3-login-delay") :
		      _("failed"));
	linef(o, 0, 11, _("Audited:   %s"), when);
	/* RFC 3501 7.1: the server's alerts are for the user's eyes; near the
	 * top, and in the server-alert finding with what to do. */
	for (size_t i = 0; i < r->nalerts; i++) {
		if (!r->alerts[i] || !r->alerts[i][0])
			continue;
		struct ma_buf a = { 0 };
		ma_buf_clean(&a, r->alerts[i], 200);
		linef(o, 0, 11, _("Alert:     %s"), a.p ? a.p : "");
		o->oom |= a.oom;
		free(a.p);
	}
	if (r->insecure) {
		ma_buf_add(o, "\n", 1);
		para(o, _("WARNING: certificate checks were turned off (--insecure)"), 0);
	}
	if (r->deadline_passed) {
		struct ma_buf w = { 0 };
		const struct ma_error *e = deadline_error(r);
		const char *warn = _("WARNING: ");
		ma_buf_add(&w, warn, strlen(warn));
		deadline_words(&w, r, false);
		if (e && e->detail[0])
			ma_buf_printf(&w, " (%s)", e->detail);
		ma_buf_add(o, "\n", 1);
		para(o, w.p, 0);
		o->oom |= w.oom;
		free(w.p);
	}
	if (r->trace_err.status != MA_OK) {
		ma_buf_add(o, "\n", 1);
		linef(o, 0, 0, _("WARNING: the --trace file could not be written (%s)"), trace_words(r));
	}
	ma_buf_add(o, "\n", 1);
	const char *top = headline(r);
	linef(o, 0, 2, _("Verdict: %s \xE2\x80\x94 %s"), ma_severity_label(r->verdict), top);
	ma_buf_add(o, "\n", 1);
	verdict_paras(o, r);
}

static void section_findings(struct ma_buf *o, const struct ma_audit_result *r)
{
	heading(o, _("Findings"));
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct ma_finding *f = &r->findings[i];
		if (i)
			ma_buf_add(o, "\n", 1);
		linef(o, 0, 2, "%s  %s", ma_severity_label(f->severity), f->code);
		para(o, f->title, 2);
		if (f->evidence && f->evidence[0]) {
			para(o, _("Evidence:"), 2);
			para(o, f->evidence, 4);
		}
		if (f->why) {
			para(o, _("Why it matters:"), 2);
			para(o, f->why, 4);
		}
		if (f->fix) {
			para(o, _("What to do:"), 2);
			para(o, f->fix, 4);
		}
	}
}

static uint64_t entry_messages(const struct ma_loss_entry *e)
{
	return e->kind == MA_LOSS_UNSEEN ? e->count : 1;
}

/* "- INBOX: 2026-11-25 08:00 Bob <bob@example.net>: Invoice" */
static void ledger_line(struct ma_buf *b, const struct ma_loss_entry *e)
{
	char when[32];
	ma_buf_add(b, "- ", 2);
	ma_buf_clean(b, e->folder ? e->folder : "?", 40);
	ma_buf_add(b, ": ", 2);
	if (e->kind == MA_LOSS_UNSEEN) {
		ma_fmt_time(e->since, when);
		ma_buf_printf(b, P_("%lu message that arrived after %s, deleted unseen",
				    "%lu messages that arrived after %s, deleted unseen", e->count),
			      (unsigned long)e->count, when);
		return;
	}
	if (e->internaldate > 0) {
		ma_fmt_time((time_t)e->internaldate, when);
		ma_buf_add(b, when, strlen(when));
	} else {
		ma_buf_clean(b, e->date ? e->date : _("date unknown"), 31);
	}
	ma_buf_add(b, " ", 1);
	ma_buf_clean(b, e->from ? e->from : _("(no sender)"), 40);
	ma_buf_add(b, ": ", 2);
	ma_buf_clean(b, e->subject ? e->subject : _("(no subject)"), MA_SUBJECT_MAX);
}

/* Every loss not yet acknowledged, under the audit that found it: what
 * keeps the verdict critical, and what --ack would acknowledge. */
static void section_ledger(struct ma_buf *o, const struct ma_audit_result *r)
{
	heading(o, _("Lost mail on record"));
	if (r->history_err.status != MA_OK) {
		para(o, _("Not known: the history could not be used."), 2);
		return;
	}
	uint64_t total = 0;
	size_t audits = 0;
	for (size_t i = 0; i < r->nledger; i++) {
		total += entry_messages(&r->ledger[i]);
		audits += i == 0 || r->ledger[i].found_audit != r->ledger[i - 1].found_audit;
	}
	if (!total) {
		para(o, _("None: no loss found by this audit or an earlier one is waiting to be "
			"acknowledged."), 2);
		return;
	}
	struct ma_buf b = { 0 };
	ma_buf_printf(&b, P_("%llu lost message", "%llu lost messages", total), (unsigned long long)total);
	ma_buf_printf(&b, P_(", found by %zu audit, not acknowledged yet. Once recovered or accepted, "
			     "run mailaudit --ack (or press A in the Findings view); mailaudit --lost "
			     "lists every loss ever found.",
			     ", found by %zu audits, not acknowledged yet. Once recovered or accepted, "
			     "run mailaudit --ack (or press A in the Findings view); mailaudit --lost "
			     "lists every loss ever found.", audits), audits);
	for (size_t i = 0; i < r->nledger && i < LEDGER_ROWS; i++) {
		const struct ma_loss_entry *e = &r->ledger[i];
		if (i == 0 || e->found_audit != r->ledger[i - 1].found_audit) {
			char found[32];
			ma_fmt_time(e->found, found);
			ma_buf_printf(&b, _("\n\nFound by the audit of %s%s:"), found,
				      e->this_audit ? _(" (this audit)") : "");
		}
		ma_buf_add(&b, "\n", 1);
		ledger_line(&b, e);
	}
	if (r->nledger > LEDGER_ROWS)
		ma_buf_printf(&b, P_("\n... and %zu more (mailaudit --lost lists them all)",
				     "\n... and %zu more (mailaudit --lost lists them all)", r->nledger - LEDGER_ROWS),
			      r->nledger - LEDGER_ROWS);
	if (b.oom)
		o->oom = true;
	else
		para(o, b.p, 2);
	free(b.p);
}

static void section_folders(struct ma_buf *o, const struct ma_audit_result *r)
{
	heading(o, _("Folders"));
	if (!r->nfolders) {
		para(o, r->imap_ok ? _("No folders.") : _("Not known: IMAP could not be audited."), 2);
		return;
	}
	char name[128];
	cell(name, sizeof name, _("Folder"), 26);
	bool delta = r->delta_known;
	char h1[160], h2[160], h3[160], h4[160];
	linef(o, 2, 2, "%s %s %s %s %s%s", name, head_cell(h1, sizeof h1, _("Messages"), 8, false),
	      head_cell(h2, sizeof h2, _("Unseen"), 7, false), head_cell(h3, sizeof h3, _("Deleted"), 8, false),
	      head_cell(h4, sizeof h4, _("Size"), 10, false),
	      delta ? _("   Change") : "");
	uint64_t tm = 0, tu = 0, td = 0, ts = 0;
	for (size_t i = 0; i < r->nfolders; i++) {
		const struct ma_folder *f = &r->folders[i].folder;
		char size[32], del[16], chg[24] = "";
		unsigned dc = r->folders[i].deleted;
		uint64_t sz = r->folders[i].size;
		ma_fmt_size(sz, size);
		snprintf(del, sizeof del, "%u", dc);
		if (delta) {
			int64_t d = r->folders[i].delta;
			if (d == INT64_MIN)
				snprintf(chg, sizeof chg, " %8s", _("new"));
			else
				snprintf(chg, sizeof chg, " %+8" PRId64, d);
		}
		cell(name, sizeof name, f->name, 26);
		if (f->noselect)
			linef(o, 2, 2, "%s %8s", name, "-");
		else if (r->folders[i].failed)
			linef(o, 2, 2, "%s %8" PRIu32 "   %s", name, f->messages, _("could not be read"));
		else
			linef(o, 2, 2, "%s %8" PRIu32 " %7" PRIu32 " %8s %10s%s", name, f->messages,
			      f->unseen, del, size, chg);
		tm += f->messages;
		if (r->folders[i].failed)
			continue; /* what was read of it is not the whole */
		tu += f->unseen;
		td += dc;
		ts += sz;
	}
	char size[32], del[24];
	ma_fmt_size(ts, size);
	snprintf(del, sizeof del, "%" PRIu64, td);
	cell(name, sizeof name, _("Total"), 26);
	linef(o, 2, 2, "%s %8" PRIu64 " %7" PRIu64 " %8s %10s", name, tm, tu, del, size);
}

static void section_pop3(struct ma_buf *o, const struct ma_audit_result *r)
{
	heading(o, _("IMAP INBOX and POP3"));
	size_t idx = 0;
	const struct ma_folder *in = inbox_of(r, &idx);
	char size[32];
	char h1[160], h2[160];
	linef(o, 2, 2, "%-20s %s %s", "", head_cell(h1, sizeof h1, _("Messages"), 8, false),
	      head_cell(h2, sizeof h2, _("Size"), 10, false));
	if (r->imap_ok && in) {
		ma_fmt_size(r->folders[idx].size, size);
		linef(o, 2, 2, "%-20s %8" PRIu32 " %10s", "IMAP INBOX", in->messages, size);
	} else {
		linef(o, 2, 2, "%-20s %8s", "IMAP INBOX", r->imap_tried ? _("failed") : _("not checked"));
	}
	if (r->pop3_ok) {
		ma_fmt_size(r->pop3.stat_size, size);
		linef(o, 2, 2, "%-20s %8" PRIu32 " %10s", "POP3 (STAT)", r->pop3.stat_count, size);
	} else {
		linef(o, 2, 2, "%-20s %8s", "POP3 (STAT)",
		      r->pop3_in_use ? _("locked") : r->pop3_skipped ? _("skipped") :
		      r->pop3_tried ? _("failed") : _("not checked"));
	}
	for (size_t i = 0; r->pop3_ok && i < r->pop3.ncapa; i++)
		if (r->pop3.capa[i] && strncasecmp(r->pop3.capa[i], "EXPIRE", 6) == 0)
			linef(o, 2, 4, "POP3 CAPA %s", r->pop3.capa[i]);
	ma_buf_add(o, "\n", 1);
	para(o, _("POP3 sees INBOX only: a POP3 device never sees the other folders, "
		"and what it deletes is gone from every device."), 2);
}

static void cert_block(struct ma_buf *o, const char *proto, bool tried, bool ok, bool tls,
		       const struct ma_endpoint *ep, const struct ma_cert_info *c,
		       bool insecure)
{
	if (!tried) {
		linef(o, 2, 4, _("%s: not checked"), proto);
		return;
	}
	if (ep->host[0])
		linef(o, 2, 4, "%s: %s:%u, %s", proto, ep->host, ep->port,
		      ma_security_label(ep->security));
	else
		linef(o, 2, 4, "%s:", proto);
	if (!c->present) {
		para(o, tls ? _("no certificate information")
			    : ok ? _("not encrypted: the password crossed the network in plain text")
				 : _("no secure connection was made"),
		     4);
		return;
	}
	linef(o, 4, 16, _("TLS:        %s, %s"), c->tls_version, c->cipher);
	linef(o, 4, 16, _("Subject:    %s"), c->subject);
	linef(o, 4, 16, _("Alt. names: %s"), c->sans[0] ? c->sans : _("none"));
	linef(o, 4, 16, _("Issuer:     %s"), c->issuer);
	linef(o, 4, 16, _("Valid:      %s to %s"), c->not_before, c->not_after);
	/* 95 characters: split between the bytes rather than anywhere. */
	size_t half = strlen(c->sha256) > 48 && c->sha256[47] == ':' ? 48 : 0;
	if (half)
		linef(o, 4, 16, _("SHA-256:    %.*s\n%s"), (int)half, c->sha256, c->sha256 + half);
	else
		linef(o, 4, 16, _("SHA-256:    %s"), c->sha256);
	if (insecure)
		linef(o, 4, 16, _("Verified:   %s (checks were turned off: %s)"), c->verified ? _("yes") : _("no"),
		      c->verify_text[0] ? c->verify_text : _("not checked"));
	else
		linef(o, 4, 16, _("Verified:   %s%s%s%s"), c->verified ? _("yes") : _("no"),
		      c->verify_text[0] ? " (" : "", c->verify_text, c->verify_text[0] ? ")" : "");
}

static void section_connections(struct ma_buf *o, const struct ma_audit_result *r)
{
	heading(o, _("Connections and certificates"));
	if (r->insecure) {
		para(o, _("WARNING: certificate checks were turned off (--insecure)"), 2);
		ma_buf_add(o, "\n", 1);
	}
	cert_block(o, "IMAP", r->imap_tried, r->imap_ok, r->imap_tls, &r->imap_endpoint,
		   &r->imap_cert, r->insecure);
	cert_block(o, "POP3", r->pop3_tried, r->pop3_ok, r->pop3_tls, &r->pop3_endpoint,
		   &r->pop3_cert, r->insecure);
}

static void section_history(struct ma_buf *o, const struct ma_audit_result *r)
{
	heading(o, _("History (newest first)"));
	if (!r->nhistory) {
		para(o, _("No earlier audits recorded."), 2);
		return;
	}
	char h1[160], h2[160], h3[160];
	linef(o, 2, 2, "%s  %s %8s %s %8s", head_cell(h1, sizeof h1, _("Started"), 21, true),
	      head_cell(h2, sizeof h2, _("Verdict"), 10, true), "INBOX",
	      head_cell(h3, sizeof h3, _("All folders"), 12, false), "POP3");
	for (size_t i = 0; i < r->nhistory && i < HISTORY_ROWS; i++) {
		const struct ma_audit_summary *h = &r->history[i];
		char when[32], outcome[40], pop3[24];
		ma_fmt_time(h->started, when);
		cell(outcome, sizeof outcome, h->outcome[0] ? _(h->outcome) : "", 10);
		if (h->pop3_count < 0)
			snprintf(pop3, sizeof pop3, "-");
		else
			snprintf(pop3, sizeof pop3, "%" PRId64, h->pop3_count);
		linef(o, 2, 2, "%-21s  %s %8" PRIu32 " %12" PRIu64 " %8s", when, outcome,
		      h->inbox_messages, h->total_messages, pop3);
	}
	if (r->nhistory > HISTORY_ROWS)
		linef(o, 2, 2, _("... and %zu earlier audits"), r->nhistory - HISTORY_ROWS);
}

static void section_settings(struct ma_buf *o)
{
	heading(o, _("Recommended settings (from the provider)"));
	para(o, _("- Incoming mail, IMAP (best for several devices): port 993 SSL/TLS, "
		"or 143 STARTTLS.\n"
		"- Incoming mail, POP3: port 995 SSL/TLS, or 110 STARTTLS; set it to "
		"leave messages on the server.\n"
		"- Outgoing mail, SMTP: port 465 SSL/TLS, or 587 STARTTLS.\n"
		"- Login: always the full e-mail address, for example name@example.com.\n"
		"- After a password change wait at least 15 minutes before using the "
		"new one."), 2);
}

ma_status ma_report_text(const struct ma_audit_result *r, char **out, struct ma_error *err)
{
	*out = NULL;
	if (!r)
		return ma_fail(err, MA_ERR_ARGUMENT, "no audit result for the report");
	struct ma_buf o = { 0 };
	section_header(&o, r);
	section_findings(&o, r);
	section_ledger(&o, r);
	section_folders(&o, r);
	section_pop3(&o, r);
	section_connections(&o, r);
	section_history(&o, r);
	section_settings(&o);
	if (o.oom) {
		free(o.p);
		return ma_fail(err, MA_ERR_NOMEM, "while writing the report");
	}
	*out = o.p;
	return MA_OK;
}

ma_status ma_report_add_section(char **text, const char *title, const char *body,
				struct ma_error *err)
{
	struct ma_buf o = { 0 };
	ma_buf_add(&o, *text, strlen(*text));
	heading(&o, title);
	ma_buf_add(&o, body, strlen(body));
	if (o.oom) {
		free(o.p);
		return ma_fail(err, MA_ERR_NOMEM, "while adding to the report");
	}
	free(*text);
	*text = o.p;
	return MA_OK;
}

/* ---- monitoring line ------------------------------------------------------------ */

/* The severity of the audit's own findings (INFO is OK). */
static enum ma_severity audit_severity(const struct ma_audit_result *r)
{
	if (!r->nfindings)
		return MA_SEV_UNKNOWN;
	return r->verdict == MA_SEV_INFO ? MA_SEV_OK : r->verdict;
}

enum ma_severity ma_check_severity(const struct ma_audit_result *r)
{
	if (!r)
		return MA_SEV_UNKNOWN;
	enum ma_severity v = audit_severity(r);
	/* The trace asked for is missing or cut short: the run did not do all
	 * it was told, which is no OK (a CRITICAL stays CRITICAL). */
	if (r->trace_err.status != MA_OK && v < MA_SEV_UNKNOWN)
		v = MA_SEV_UNKNOWN;
	return v;
}

/* What the check line says after "MAILAUDIT SEVERITY - ": the headline,
 * and what the headline alone would hide. */
static void check_title(struct ma_buf *t, const struct ma_audit_result *r)
{
	enum ma_severity own = audit_severity(r);
	bool trace_first = r->trace_err.status != MA_OK && own < MA_SEV_UNKNOWN;
	if (trace_first)
		ma_buf_printf(t, _("The --trace file could not be written (%s); the audit itself: %s - "),
			      trace_words(r), ma_severity_name(own));
	const char *top = headline(r);
	const struct ma_finding *imap = finding(r, "imap-failed"), *pop3 = finding(r, "pop3-failed");
	const struct ma_error *cut = r->deadline_passed && r->verdict != MA_SEV_CRITICAL
		? deadline_error(r) : NULL;
	if (cut) {
		/* Which part it stopped, in that part's words ("IMAP server X,
		 * during FETCH"). */
		deadline_words(t, r, true);
		if (cut->detail[0])
			ma_buf_printf(t, " (%s)", cut->detail);
	} else if (!r->imap_tried && imap && pop3 && top == imap->title) {
		/* A POP3-only account: that no IMAP server is configured is
		 * true but not the news; why POP3 failed is. */
		ma_buf_printf(t, _("No IMAP server is configured, and %s"), pop3->title);
	} else {
		ma_buf_add(t, top, strlen(top));
		if (r->deadline_passed) {
			ma_buf_add(t, "; ", 2);
			deadline_words(t, r, false);
		}
	}
	if (r->trace_err.status != MA_OK && !trace_first)
		ma_buf_printf(t, _("; the --trace file could not be written (%s)"), trace_words(r));
}

/* text cleaned for one line of plugin output: no control characters, at
 * most maxcp code points, and no '|', which starts the performance data. */
static void add_plugin_text(struct ma_buf *o, const char *text, size_t maxcp)
{
	size_t size = 4 * maxcp + 8;
	char *s = malloc(size);
	if (!s) {
		o->oom = true;
		return;
	}
	ma_text_clean(s, size, text ? text : "", text ? strlen(text) : 0, maxcp);
	for (char *p = s; *p; p++)
		if (*p == '|')
			*p = '/';
	ma_buf_add(o, s, strlen(s));
	free(s);
}

/* One value of performance data as the monitoring-plugins guidelines have
 * it, label=value[UOM];warn;crit;min;max: no thresholds (the verdict is
 * mailaudit's own), minimum 0. */
static void perf(struct ma_buf *o, const char *prefix, const char *label, uint64_t v,
		 const char *uom)
{
	ma_buf_printf(o, "%s%s%s=%" PRIu64 "%s;;;0", o->len ? " " : "", prefix, label, v, uom);
}

static void perf_time(struct ma_buf *o, const char *prefix, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	ma_buf_printf(o, "%s%stime=%" PRId64 ".%03ds;;;0", o->len ? " " : "", prefix, ms / 1000,
		      (int)(ms % 1000));
}

/* The numbers of one audit; prefix names the account under --all. Counts
 * have no unit, sizes are in bytes (B), the audit's duration in seconds. */
static void perfdata(struct ma_buf *o, const struct ma_audit_result *r, const char *prefix)
{
	size_t idx = 0;
	const struct ma_folder *in = inbox_of(r, &idx);
	if (r->imap_ok && in) {
		perf(o, prefix, "inbox", in->messages, "");
		perf(o, prefix, "inbox_size", r->folders[idx].size, "B");
	}
	if (r->pop3_ok) {
		perf(o, prefix, "pop3", r->pop3.stat_count, "");
		perf(o, prefix, "pop3_size", r->pop3.stat_size, "B");
	}
	/* destroyed and unseen_deleted: this audit's critical losses, named
	 * and came-and-went; unacknowledged: every critical one on the ledger. */
	struct ma_loss_counts c;
	ma_loss_counts(r, &c);
	if (r->imap_ok) {
		perf(o, prefix, "destroyed", c.destroyed, "");
		perf(o, prefix, "unseen_deleted", c.unseen_deleted, "");
	}
	if (r->imap_ok || c.unacknowledged)
		perf(o, prefix, "unacknowledged", c.unacknowledged, "");
	perf_time(o, prefix, r->elapsed_ms);
}

/* The line's text as the plugin output has it: title, then "| perfdata". */
static ma_status finish_line(struct ma_buf *o, struct ma_buf *pd, char **out, struct ma_error *err)
{
	if (pd->len) {
		ma_buf_add(o, " | ", 3);
		ma_buf_add(o, pd->p, pd->len);
	}
	bool oom = o->oom || pd->oom;
	free(pd->p);
	if (oom) {
		free(o->p);
		return ma_fail(err, MA_ERR_NOMEM, "while writing the check line");
	}
	*out = o->p;
	return MA_OK;
}

ma_status ma_check_line(const struct ma_audit_result *r, char **out, struct ma_error *err)
{
	*out = NULL;
	if (!r)
		return ma_fail(err, MA_ERR_ARGUMENT, "no audit result for the check line");
	enum ma_severity v = ma_check_severity(r);
	struct ma_buf t = { 0 }, o = { 0 }, pd = { 0 };
	check_title(&t, r);
	ma_buf_printf(&o, "MAILAUDIT %s - ", ma_severity_name(v));
	add_plugin_text(&o, t.p, 300);
	o.oom |= t.oom;
	free(t.p);
	perfdata(&pd, r, "");
	return finish_line(&o, &pd, out, err);
}

ma_status ma_check_setup_line(const char *why, char **out, struct ma_error *err)
{
	*out = NULL;
	struct ma_buf o = { 0 };
	ma_buf_printf(&o, "MAILAUDIT %s - ", ma_severity_name(MA_SEV_UNKNOWN));
	add_plugin_text(&o, why && why[0] ? why : "could not audit", 300);
	if (o.oom) {
		free(o.p);
		return ma_fail(err, MA_ERR_NOMEM, "while writing the check line");
	}
	*out = o.p;
	return MA_OK;
}

/* ---- several accounts (--all) ------------------------------------------------------ */

enum ma_severity ma_outcome_severity(const struct ma_account_outcome *a)
{
	return a->r ? ma_check_severity(a->r) : MA_SEV_UNKNOWN;
}

/* The worst outcome (the first of equals) and its severity. */
static size_t worst_outcome(const struct ma_account_outcome *v, size_t n, enum ma_severity *sev)
{
	size_t w = 0;
	*sev = MA_SEV_OK;
	for (size_t i = 0; i < n; i++) {
		enum ma_severity s = ma_outcome_severity(&v[i]);
		if (i == 0 || s > *sev) {
			*sev = s;
			w = i;
		}
	}
	return w;
}

/* "2 accounts: 1 CRITICAL, 1 OK", worst first. */
static void tally(struct ma_buf *o, const struct ma_account_outcome *v, size_t n)
{
	static const enum ma_severity order[] = { MA_SEV_CRITICAL, MA_SEV_UNKNOWN, MA_SEV_WARNING,
						  MA_SEV_OK };
	ma_buf_printf(o, "%zu account%s:", n, ma_plural(n));
	const char *sep = " ";
	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
		size_t c = 0;
		for (size_t i = 0; i < n; i++) {
			enum ma_severity s = ma_outcome_severity(&v[i]);
			c += (s == MA_SEV_INFO ? MA_SEV_OK : s) == order[k];
		}
		if (c) {
			ma_buf_printf(o, "%s%zu %s", sep, c, ma_severity_name(order[k]));
			sep = ", ";
		}
	}
}

/* One account's title: its check line's, or why it was not audited. */
static void outcome_title(struct ma_buf *t, const struct ma_account_outcome *a)
{
	if (a->r)
		check_title(t, a->r);
	else
		ma_buf_printf(t, "%s", a->why ? a->why : _("not audited"));
}

ma_status ma_check_lines_all(const struct ma_account_outcome *v, size_t n, int64_t elapsed_ms,
			     char **out, struct ma_error *err)
{
	*out = NULL;
	if (!n)
		return ma_fail(err, MA_ERR_ARGUMENT, "no accounts for the check lines");
	enum ma_severity worst;
	size_t w = worst_outcome(v, n, &worst);
	struct ma_buf head = { 0 }, o = { 0 }, pd = { 0 }, t = { 0 };
	tally(&head, v, n);
	/* Nothing to single out when every account is OK. */
	if (worst > MA_SEV_OK) {
		ma_buf_printf(&head, "; worst %s: ", v[w].name);
		outcome_title(&head, &v[w]);
	}
	ma_buf_printf(&o, "MAILAUDIT %s - ", ma_severity_name(worst));
	add_plugin_text(&o, head.p, 300);
	o.oom |= head.oom;
	free(head.p);
	char prefix[80];
	for (size_t i = 0; i < n; i++) {
		if (!v[i].r)
			continue;
		snprintf(prefix, sizeof prefix, "%s_", v[i].name);
		perfdata(&pd, v[i].r, prefix);
	}
	perf_time(&pd, "", elapsed_ms);
	ma_status st = finish_line(&o, &pd, out, err);
	if (st != MA_OK)
		return st;
	/* The long output: one line per account, in the accounts file's order. */
	o = (struct ma_buf){ 0 };
	ma_buf_add(&o, *out, strlen(*out));
	free(*out);
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		t.len = 0;
		if (t.p)
			t.p[0] = '\0';
		outcome_title(&t, &v[i]);
		ma_buf_printf(&o, "\n%s: %s - ", v[i].name, ma_severity_name(ma_outcome_severity(&v[i])));
		add_plugin_text(&o, t.p, 300);
	}
	o.oom |= t.oom;
	free(t.p);
	if (o.oom) {
		free(o.p);
		return ma_fail(err, MA_ERR_NOMEM, "while writing the check lines");
	}
	*out = o.p;
	return MA_OK;
}

ma_status ma_report_all(const struct ma_account_outcome *v, size_t n, char **out,
			struct ma_error *err)
{
	*out = NULL;
	if (!n)
		return ma_fail(err, MA_ERR_ARGUMENT, "no accounts for the report");
	enum ma_severity worst;
	worst_outcome(v, n, &worst);
	struct ma_buf o = { 0 }, t = { 0 };
	linef(&o, 0, 0, P_("mailaudit %s - %zu account (--all)", "mailaudit %s - %zu accounts (--all)", n),
	      MA_VERSION, n);
	ma_buf_add(&o, "\n", 1);
	linef(&o, 0, 0, _("Worst verdict: %s"), ma_severity_label(worst));
	for (size_t i = 0; i < n; i++) {
		t.len = 0;
		if (t.p)
			t.p[0] = '\0';
		outcome_title(&t, &v[i]);
		linef(&o, 2, 4, "%s: %s - %s", v[i].name, ma_severity_label(ma_outcome_severity(&v[i])),
		      t.p ? t.p : "");
	}
	o.oom |= t.oom;
	free(t.p);
	ma_status st = MA_OK;
	for (size_t i = 0; i < n && st == MA_OK; i++) {
		char title[300];
		snprintf(title, sizeof title, _("Account %s"), v[i].name);
		heading(&o, title);
		if (!v[i].r) {
			ma_buf_add(&o, "\n", 1);
			struct ma_buf w = { 0 };
			ma_buf_printf(&w, _("Not audited: %s"), v[i].why ? v[i].why : "");
			para(&o, w.p, 0);
			o.oom |= w.oom;
			free(w.p);
			continue;
		}
		char *text = NULL;
		st = ma_report_text(v[i].r, &text, err);
		if (st == MA_OK) {
			ma_buf_add(&o, "\n", 1);
			ma_buf_add(&o, text, strlen(text));
		}
		free(text);
	}
	if (st == MA_OK && o.oom)
		st = ma_fail(err, MA_ERR_NOMEM, "while writing the report");
	if (st != MA_OK) {
		free(o.p);
		return st;
	}
	*out = o.p;
	return MA_OK;
}

/* ---- atomic write ----------------------------------------------------------------- */

/* All of text to fd; 0 or an errno. */
static int write_all(int fd, const char *text)
{
	size_t len = strlen(text), done = 0;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		done += (size_t)n;
	}
	return 0;
}

/* A device, FIFO or socket (/dev/null, /dev/stdout, a pipe) is written
 * where it is: renamed over, /dev/null would become a regular file. */
static ma_status write_in_place(const char *path, const char *text, struct ma_error *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	int e = fd < 0 ? errno : write_all(fd, text);
	if (fd >= 0 && close(fd) != 0 && !e)
		e = errno;
	if (e)
		return ma_fail(err, MA_ERR_IO, _("cannot write the report to %s: %s"), path, strerror(e));
	return MA_OK;
}

ma_status ma_report_write(const char *path, const char *text, struct ma_error *err)
{
	if (!path || !*path)
		return ma_fail(err, MA_ERR_ARGUMENT, "%s", _("no report file name given"));
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return ma_fail(err, MA_ERR_IO, _("cannot write the report to %s: it is a directory"),
			       path);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return write_in_place(path, text, err);
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	if (!tmp)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	/* Same directory as the target, so rename() cannot cross file systems. */
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return ma_fail(err, MA_ERR_IO, _("cannot write the report to %s: %s"), path,
			       strerror(e));
	}
	int e = write_all(fd, text);
	if (!e && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) != 0)
		e = errno;
	if (e) {
		unlink(tmp);
		free(tmp);
		return ma_fail(err, MA_ERR_IO, _("cannot write the report to %s: %s"), path,
			       strerror(e));
	}
	free(tmp);
	/* The rename itself survives a crash only once the directory is synced;
	 * best effort, the report is already complete either way. */
	char *dir = strdup(path);
	if (dir) {
		char *slash = strrchr(dir, '/');
		const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
		int dfd = open(d, O_RDONLY | O_DIRECTORY);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
	return MA_OK;
}
