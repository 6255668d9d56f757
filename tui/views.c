/* The six results views. Each one turns the audit result into lines for a
 * given width; scrolling, search and drawing are the screen manager's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/findings.h"
#include "audit/ledger.h"
#include "audit/report.h"
#include "base/text.h"
#include "tui_int.h"

int ma_severity_attr(int sev)
{
	switch (sev) {
	case MA_SEV_OK: return ATTR_OK;
	case MA_SEV_INFO: return ATTR_INFO;
	case MA_SEV_WARNING: return ATTR_WARN;
	case MA_SEV_UNKNOWN: return ATTR_UNKNOWN;
	default: return ATTR_CRIT;
	}
}

/* The finding that explains the verdict: the first of that severity. */
const char *ma_verdict_title(const struct ma_audit_result *r)
{
	for (size_t i = 0; i < r->nfindings; i++)
		if (r->findings[i].severity == r->verdict)
			return r->findings[i].title;
	return r->nfindings ? r->findings[0].title : "";
}

/* --- 1 Findings: the list, then the selected one in full ---------------- */

static size_t findings_n(const struct ui *ui)
{
	return ui->result->nfindings;
}

/* The severity word padded to 8 columns (a translated word has letters
 * of two bytes, which printf's widths would count twice). */
/* A column heading padded to w columns, never cut (see sev_cell). */
static const char *hc(char *dst, size_t size, const char *s, int w, bool left)
{
	int pad = w - text_cols(s);
	if (pad < 0)
		pad = 0;
	if (left)
		snprintf(dst, size, "%s%*s", s, pad, "");
	else
		snprintf(dst, size, "%*s%s", pad, "", s);
	return dst;
}

static const char *sev_cell(enum ma_severity s)
{
	static char cell[64];
	text_cell(cell, sizeof cell, ma_severity_label(s), 8, false);
	return cell;
}

static void findings_build(struct ui *ui, struct lines *L, int w)
{
	const struct ma_audit_result *r = ui->result;
	if (r->nfindings == 0) {
		lines_add(L, ATTR_NONE, -1, _("No findings."));
		ui->detail_line = 0;
		return;
	}
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct ma_finding *f = &r->findings[i];
		lines_addf(L, ma_severity_attr(f->severity), (int)i, "%s %s",
			   sev_cell(f->severity), f->title);
	}
	lines_add(L, ATTR_NONE, -1, "");
	ui->detail_line = (int)L->n;
	size_t sel = ui->cursor[VIEW_FINDINGS];
	const struct ma_finding *f = &r->findings[sel < r->nfindings ? sel : 0];
	lines_addf(L, ATTR_BOLD, -1, "%s (%s)", ma_severity_label(f->severity), f->code);
	lines_wrap(L, ATTR_NONE, -1, 2, w, f->title);
	if (f->evidence && f->evidence[0]) {
		lines_add(L, ATTR_BOLD, -1, _("Evidence:"));
		lines_wrap(L, ATTR_NONE, -1, 2, w, f->evidence);
	}
	if (f->why) {
		lines_add(L, ATTR_BOLD, -1, _("Why it matters:"));
		lines_wrap(L, ATTR_NONE, -1, 2, w, f->why);
	}
	if (f->fix) {
		lines_add(L, ATTR_BOLD, -1, _("What to do:"));
		lines_wrap(L, ATTR_NONE, -1, 2, w, f->fix);
	}
}

/* Enter: bring the detail of the selected finding to the top. */
static void findings_open(struct ui *ui)
{
	ui->top[VIEW_FINDINGS] = ui->detail_line;
}

/* --- 2 Folders ------------------------------------------------------------ */

static void folders_build(struct ui *ui, struct lines *L, int w)
{
	const struct ma_audit_result *r = ui->result;
	if (!r->imap_ok) {
		char e[700];
		ma_error_format(&r->imap_err, e, sizeof e);
		lines_wrap(L, ATTR_WARN, -1, 0, w, r->imap_tried ? _("The IMAP look failed:") :
			   _("IMAP was not audited (no IMAP server given)."));
		if (r->imap_tried)
			lines_wrap(L, ATTR_NONE, -1, 2, w, e);
		if (!r->nfolders)
			return;
		lines_add(L, ATTR_NONE, -1, "");
	}
	/* Numbers keep their width; the name column takes what is left, and
	 * the Deleted column goes first when space runs out. */
	bool deleted = w >= 64;
	bool change = r->delta_known && w >= 72; /* since the last audit */
	int fixed = 9 + 8 + 11 + (deleted ? 9 : 0) + (change ? 8 : 0);
	int namew = w - fixed - 2;
	if (namew < 8)
		namew = 8;
	char name[512], sz[32], row[1024], h1[128], h2[128], h3[128], h4[128];
	text_cell(name, sizeof name, _("Folder"), namew, false);
	if (deleted)
		snprintf(row, sizeof row, "%s %s %s %s %s", name, hc(h1, sizeof h1, _("Messages"), 8, false),
			 hc(h2, sizeof h2, _("Unseen"), 7, false), hc(h3, sizeof h3, _("Deleted"), 8, false),
			 hc(h4, sizeof h4, _("Size"), 10, false));
	else
		snprintf(row, sizeof row, "%s %s %s %s", name, hc(h1, sizeof h1, _("Messages"), 8, false),
			 hc(h2, sizeof h2, _("Unseen"), 7, false), hc(h4, sizeof h4, _("Size"), 10, false));
	if (change)
		snprintf(row + strlen(row), sizeof row - strlen(row), " %s", hc(h1, sizeof h1, _("Change"), 7, false));
	lines_add(L, ATTR_BOLD, -1, row);
	uint64_t tm = 0, tu = 0, td = 0, ts = 0;
	for (size_t i = 0; i < r->nfolders; i++) {
		const struct ma_folder *f = &r->folders[i].folder;
		unsigned del = r->folders[i].deleted;
		uint64_t size = r->folders[i].size;
		tm += f->messages, tu += f->unseen, td += del, ts += size;
		text_cell(name, sizeof name, f->name ? f->name : "?", namew, false);
		ma_fmt_size(size, sz);
		if (deleted)
			snprintf(row, sizeof row, "%s %8u %7u %8u %10s", name, f->messages, f->unseen, del, sz);
		else
			snprintf(row, sizeof row, "%s %8u %7u %10s", name, f->messages, f->unseen, sz);
		if (change) {
			int64_t d = r->folders[i].delta;
			char c[24];
			if (d == INT64_MIN)
				snprintf(c, sizeof c, "%s", _("new"));
			else if (d == 0)
				snprintf(c, sizeof c, "=");
			else
				snprintf(c, sizeof c, "%+lld", (long long)d);
			snprintf(row + strlen(row), sizeof row - strlen(row), " %7s", c);
		}
		lines_add(L, ATTR_NONE, -1, row);
	}
	text_cell(name, sizeof name, _("Total"), namew, false);
	ma_fmt_size(ts, sz);
	if (deleted)
		snprintf(row, sizeof row, "%s %8llu %7llu %8llu %10s", name, (unsigned long long)tm,
			 (unsigned long long)tu, (unsigned long long)td, sz);
	else
		snprintf(row, sizeof row, "%s %8llu %7llu %10s", name, (unsigned long long)tm,
			 (unsigned long long)tu, sz);
	lines_add(L, ATTR_BOLD, -1, row);
	if (r->nuidvalidity_reset) {
		lines_add(L, ATTR_NONE, -1, "");
		lines_wrap(L, ATTR_WARN, -1, 0, w, _("Renumbered by the server since the last audit "
			   "(UIDVALIDITY changed):"));
		for (size_t i = 0; i < r->nuidvalidity_reset; i++)
			lines_addf(L, ATTR_NONE, -1, "  %s", r->uidvalidity_reset[i]);
	}
}

/* --- 3 IMAP vs POP3 --------------------------------------------------------- */

static void pop3_build(struct ui *ui, struct lines *L, int w)
{
	const struct ma_audit_result *r = ui->result;
	char a[32], b[32], e[700];
	char h1[128], h2[128];
	lines_addf(L, ATTR_BOLD, -1, "%-14s %s %s", "", hc(h1, sizeof h1, _("Messages"), 9, false),
		   hc(h2, sizeof h2, _("Size"), 11, false));
	if (r->imap_ok && r->nfolders) {
		ma_fmt_size(r->folders[0].size, a);
		lines_addf(L, ATTR_NONE, -1, "%-14s %9u %11s", "IMAP INBOX", r->folders[0].folder.messages, a);
	} else {
		lines_addf(L, ATTR_NONE, -1, "%-14s %9s %11s", "IMAP INBOX", "-", "-");
	}
	if (r->pop3_ok) {
		ma_fmt_size(r->pop3.stat_size, b);
		lines_addf(L, ATTR_NONE, -1, "%-14s %9u %11s", "POP3 (STAT)", r->pop3.stat_count, b);
	} else {
		lines_addf(L, ATTR_NONE, -1, "%-14s %9s %11s", "POP3 (STAT)", "-", "-");
	}
	lines_add(L, ATTR_NONE, -1, "");
	if (!r->pop3_tried) {
		lines_wrap(L, ATTR_NONE, -1, 0, w, _("POP3 was not audited (no POP3 server given)."));
	} else if (!r->pop3_ok) {
		ma_error_format(&r->pop3_err, e, sizeof e);
		lines_wrap(L, ATTR_WARN, -1, 0, w, _("The POP3 look failed:"));
		lines_wrap(L, ATTR_NONE, -1, 2, w, e);
	}
	if (r->pop3_in_use)
		lines_wrap(L, ATTR_WARN, -1, 0, w, _("The POP3 mailbox was locked by another session: "
			   "a device is downloading mail over POP3 right now."));
	if (r->pop3.ncapa) {
		lines_add(L, ATTR_BOLD, -1, _("POP3 capabilities:"));
		for (size_t i = 0; i < r->pop3.ncapa; i++)
			lines_wrap(L, ATTR_NONE, -1, 2, w, r->pop3.capa[i]);
	}
	lines_add(L, ATTR_NONE, -1, "");
	lines_wrap(L, ATTR_NONE, -1, 0, w, _("POP3 sees INBOX only: a POP3 device never sees the other "
		   "folders, and what it deletes is gone from every device."));
}

/* head, then text wrapped under itself: a hanging indent of headw columns. */
static void hang(struct lines *L, int attr, int w, int headw, const char *head, const char *text)
{
	struct lines tmp = { 0 };
	lines_wrap(&tmp, attr, -1, 0, w - headw, text && text[0] ? text : "-");
	char cell[256];
	for (size_t i = 0; i < tmp.n; i++) {
		/* Padded by columns, not bytes: a translated head has letters of two bytes. */
		text_cell(cell, sizeof cell, i == 0 ? head : "", headw, false);
		lines_addf(L, attr, -1, "%s%s", cell, tmp.v[i].text);
	}
	lines_clear(&tmp);
	free(tmp.v);
}

/* "  Label:      value", the value wrapped under itself. */
static void kv(struct lines *L, int attr, int w, const char *label, const char *value)
{
	char head[32];
	snprintf(head, sizeof head, "  %s", label);
	hang(L, attr, w, 14, head, value);
}

/* --- 4 Connection ----------------------------------------------------------- */

/* The connection test (p) comes first: it answers "which settings work";
 * the audit's own connection and certificates follow. */

/* One cell's outcome in a few words; the error in full is under Details. */
static const char *cell_outcome(const struct ma_probe_cell *c, int *attr)
{
	*attr = ATTR_NONE;
	if (c->status == MA_OK) {
		*attr = ATTR_OK;
		return c->login_ok ? _("works, login accepted") : c->login_tried ? _("works")
			: _("works (no login tried)");
	}
	if (c->login_tried && !c->login_ok) {
		*attr = ATTR_WARN;
		return c->alt_login_ok ? _("connects; login refused, the full address works")
			: _("connects; login refused");
	}
	switch (c->status) {
	case MA_ERR_REFUSED: return _("closed (nothing listens on this port)");
	case MA_ERR_CONNECT_TIMEOUT: return _("no answer (port blocked or filtered)");
	case MA_ERR_READ_TIMEOUT: return _("connects, then no reply");
	case MA_ERR_HOST_UNKNOWN: return _("no such server name");
	case MA_ERR_DNS: return _("name lookup failed");
	case MA_ERR_UNREACHABLE: case MA_ERR_NETWORK: return _("network unreachable");
	case MA_ERR_CANCELLED: return _("cancelled");
	case MA_ERR_ARGUMENT: return _("no server to try");
	case MA_ERR_STARTTLS_MISSING: *attr = ATTR_WARN; return _("no STARTTLS offered");
	case MA_ERR_TLS_HANDSHAKE: *attr = ATTR_WARN; return _("encryption failed");
	case MA_ERR_CERT_EXPIRED: case MA_ERR_CERT_NOT_YET_VALID: case MA_ERR_CERT_NAME_MISMATCH:
	case MA_ERR_CERT_UNTRUSTED: case MA_ERR_CERT_SELF_SIGNED: case MA_ERR_CERT_INVALID:
		*attr = ATTR_CRIT;
		return _("certificate not valid");
	default: *attr = ATTR_WARN; return _("fails");
	}
}

/* Which servers stood in for ones the account does not name. */
static void probe_hosts_note(struct lines *L, int w, const struct ma_account *a)
{
	const char *audited = a->has_imap ? "IMAP" : "POP3";
	char buf[200];
	const struct { bool has; const char *proto; } p[] = {
		{ a->has_imap, "IMAP" }, { a->has_pop3, "POP3" }, { a->has_smtp, "SMTP" },
	};
	for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
		if (p[i].has)
			continue;
		snprintf(buf, sizeof buf, _("%s: no server configured, tried on the %s server."),
			 p[i].proto, audited);
		lines_wrap(L, ATTR_NONE, -1, 0, w, buf);
	}
}

static void probe_build(struct ui *ui, struct lines *L, int w)
{
	const struct ma_probe_result *r = ui->probe;
	char buf[900], head[64];
	if (ui->worker.job == MA_JOB_PROBE) {
		snprintf(buf, sizeof buf, _("Testing every port and security combination: %ld s. "
			 "Esc cancels."), ui->elapsed_s);
		lines_wrap(L, ATTR_BOLD, -1, 0, w, buf);
		return;
	}
	if (!r) {
		lines_wrap(L, ATTR_BOLD, -1, 0, w, _("Press p to test every port and security combination"));
		lines_wrap(L, ATTR_NONE, -1, 0, w, _("(IMAP 993 and 143, POP3 995 and 110, SMTP 465 and 587)."));
		return;
	}
	lines_add(L, ATTR_BOLD, -1, _("Connection test"));
	snprintf(buf, sizeof buf, _("%s, login %s, %.1f s."), r->address[0] ? r->address : _("no address"),
		 r->login[0] ? r->login : _("none"), (double)r->elapsed_ms / 1000.0);
	lines_wrap(L, ATTR_NONE, -1, 0, w, buf);
	if (ui->probe_login[0])
		lines_wrap(L, ATTR_WARN, -1, 0, w, ui->probe_login);
	probe_hosts_note(L, w, &ui->probe_acct);
	lines_add(L, ATTR_NONE, -1, "");
	char h1[128], h2[128];
	lines_addf(L, ATTR_BOLD, -1, "%-5s %s  %s  %s", "", hc(h1, sizeof h1, _("Port"), 5, false),
		   hc(h2, sizeof h2, _("Security"), 8, true), _("Outcome"));
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct ma_probe_cell *c = &r->cells[i];
		int attr;
		const char *out = cell_outcome(c, &attr);
		snprintf(head, sizeof head, "%-5s %5u  %-8s  ", ma_proto_name(c->proto),
			 c->ep.port, ma_security_short(c->ep.security));
		hang(L, attr, w, 23, head, out);
	}
	lines_add(L, ATTR_NONE, -1, "");
	lines_add(L, ATTR_BOLD, -1, _("Details:"));
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct ma_probe_cell *c = &r->cells[i];
		snprintf(buf, sizeof buf, "%s %u %s: %s (%s), %.1f s", ma_proto_name(c->proto),
			 c->ep.port, ma_security_short(c->ep.security), c->ep.host[0] ? c->ep.host : "?",
			 c->how_found, (double)c->elapsed_ms / 1000.0);
		lines_wrap(L, ATTR_NONE, -1, 2, w, buf);
		if (c->status == MA_OK)
			snprintf(buf, sizeof buf, _("%s, certificate valid"), c->cert.tls_version);
		else
			ma_error_format(&c->err, buf, sizeof buf);
		lines_wrap(L, ATTR_NONE, -1, 4, w, buf);
	}
	lines_add(L, ATTR_NONE, -1, "");
	lines_add(L, ATTR_BOLD, -1, _("What the test found:"));
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct ma_finding *f = &r->findings[i];
		snprintf(buf, sizeof buf, "%s ", sev_cell(f->severity));
		hang(L, ma_severity_attr(f->severity), w, 9, buf, f->title);
		if (f->evidence && f->evidence[0])
			lines_wrap(L, ATTR_NONE, -1, 2, w, f->evidence);
		if (f->why) {
			lines_add(L, ATTR_BOLD, -1, _("  Why it matters:"));
			lines_wrap(L, ATTR_NONE, -1, 4, w, f->why);
		}
		if (f->fix) {
			lines_add(L, ATTR_BOLD, -1, _("  What to do:"));
			lines_wrap(L, ATTR_NONE, -1, 4, w, f->fix);
		}
	}
}

static void conn_one(struct lines *L, int w, const char *proto, bool tried, bool ok,
		     const struct ma_endpoint *ep, const struct ma_error *err, bool tls,
		     const struct ma_cert_info *c)
{
	char e[700];
	if (!tried) {
		lines_addf(L, ATTR_BOLD, -1, _("%s: not audited"), proto);
		return;
	}
	lines_addf(L, ATTR_BOLD, -1, "%s: %s:%u, %s", proto, ep->host, ep->port,
		   ma_security_label(ep->security));
	if (ok) {
		lines_add(L, ATTR_OK, -1, _("  Status:     logged in, read-only look done"));
	} else {
		ma_error_format(err, e, sizeof e);
		lines_add(L, ATTR_CRIT, -1, _("  Status:     failed"));
		lines_wrap(L, ATTR_NONE, -1, 14, w, e);
	}
	if (!tls || !c->present) {
		lines_add(L, tls ? ATTR_NONE : ATTR_WARN, -1,
			  tls ? _("  TLS:        yes, no certificate seen") : _("  TLS:        none"));
		return;
	}
	char buf[700];
	snprintf(buf, sizeof buf, "%s, %s", c->tls_version, c->cipher);
	kv(L, ATTR_NONE, w, _("TLS:"), buf);
	kv(L, ATTR_NONE, w, _("Subject:"), c->subject);
	kv(L, ATTR_NONE, w, _("Alt. names:"), c->sans);
	kv(L, ATTR_NONE, w, _("Issuer:"), c->issuer);
	kv(L, ATTR_NONE, w, _("Valid from:"), c->not_before);
	kv(L, ATTR_NONE, w, _("Valid to:"), c->not_after);
	kv(L, ATTR_NONE, w, "SHA-256:", c->sha256);
	snprintf(buf, sizeof buf, "%s (%s)", c->verified ? _("yes") : _("NO"), c->verify_text);
	kv(L, c->verified ? ATTR_OK : ATTR_CRIT, w, _("Verified:"), buf);
}

static void conn_build(struct ui *ui, struct lines *L, int w)
{
	const struct ma_audit_result *r = ui->result;
	probe_build(ui, L, w);
	lines_add(L, ATTR_NONE, -1, "");
	lines_add(L, ATTR_BOLD, -1, _("The audit's connection"));
	lines_add(L, ATTR_NONE, -1, "");
	if (r->insecure) {
		lines_wrap(L, ATTR_CRIT, -1, 0, w, _("Certificate checks were turned OFF (--insecure): "
			   "this connection could have been intercepted."));
		lines_add(L, ATTR_NONE, -1, "");
	}
	conn_one(L, w, "IMAP", r->imap_tried, r->imap_ok, &r->imap_endpoint, &r->imap_err,
		 r->imap_tls, &r->imap_cert);
	lines_add(L, ATTR_NONE, -1, "");
	conn_one(L, w, "POP3", r->pop3_tried, r->pop3_ok, &r->pop3_endpoint, &r->pop3_err,
		 r->pop3_tls, &r->pop3_cert);
	if (r->imap_caps && r->imap_caps[0]) {
		lines_add(L, ATTR_NONE, -1, "");
		lines_add(L, ATTR_BOLD, -1, _("IMAP capabilities:"));
		lines_wrap(L, ATTR_NONE, -1, 2, w, r->imap_caps);
	}
	char sz[32];
	ma_fmt_size(r->bytes_received, sz);
	lines_add(L, ATTR_NONE, -1, "");
	lines_addf(L, ATTR_NONE, -1, _("Received in all: %s"), sz);
}

/* --- 5 History ---------------------------------------------------------------- */

static size_t history_n(const struct ui *ui)
{
	return ui->hist_open ? 0 : ui->result->nhistory;
}

void ui_history_close(struct ui *ui)
{
	free(ui->hist_text);
	ui->hist_text = NULL;
	if (ui->hist_open)
		ui->lines_dirty = true;
	ui->hist_open = false;
}

/* Enter on a row: what that audit found, from the ledger (acknowledged
 * losses included). A local SQLite read, quick enough for the UI thread;
 * never while an audit of ours may be writing the same file. */
static void history_open(struct ui *ui)
{
	const struct ma_audit_result *r = ui->result;
	size_t row = ui->cursor[VIEW_HISTORY];
	if (row >= r->nhistory)
		return;
	if (ui->worker.job == MA_JOB_AUDIT) {
		ui_set_status(ui, false, _("Busy: an audit is running; open it once it has finished."));
		return;
	}
	if (ui->args->run.no_history) {
		ui_set_status(ui, false, _("Nothing recorded: this audit ran with --no-history."));
		return;
	}
	struct ma_loss_entry *v = NULL;
	size_t n = 0;
	char *text = NULL;
	struct ma_error err = { 0 };
	if (ma_ledger_list(&ui->result_acct, ui->args->run.state_dir, r->history[row].id, false, 0, &v,
			   &n, &err) != MA_OK ||
	    ma_ledger_text(v, n, &text, &err) != MA_OK) {
		char buf[700];
		ma_error_format(&err, buf, sizeof buf);
		ui_set_status(ui, true, _("Could not read what that audit found: %s"), buf);
		ma_loss_entries_free(v, n);
		return;
	}
	ui->hist_lost = ui->hist_acked = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = v[i].kind == MA_LOSS_UNSEEN ? v[i].count : 1;
		ui->hist_lost += k;
		if (v[i].acked)
			ui->hist_acked += k;
	}
	ma_loss_entries_free(v, n);
	free(ui->hist_text);
	ui->hist_text = text;
	ui->hist_open = true;
	ui->hist_row = row;
	ui->top[VIEW_HISTORY] = 0;
	ui->match = -1;
	ui->lines_dirty = true;
	ui->status[0] = '\0';
}

static void history_audit_build(struct ui *ui, struct lines *L, int w)
{
	const struct ma_audit_summary *s = &ui->result->history[ui->hist_row];
	char d[32], p[24], buf[300];
	ma_fmt_time_or(s->started, d, "-");
	if (s->pop3_count < 0)
		snprintf(p, sizeof p, "%s", _("not looked at"));
	else
		snprintf(p, sizeof p, "%lld", (long long)s->pop3_count);
	snprintf(buf, sizeof buf, _("The audit of %s%s"), d,
		 s->id == ui->result->history[0].id ? _(", the audit shown") : "");
	lines_wrap(L, ATTR_BOLD, -1, 0, w, buf);
	snprintf(buf, sizeof buf, _("Verdict %s; INBOX %u messages, all folders %llu, POP3 %s."),
		 s->outcome[0] ? _(s->outcome) : "-", s->inbox_messages,
		 (unsigned long long)s->total_messages, p);
	lines_wrap(L, ATTR_NONE, -1, 0, w, buf);
	lines_add(L, ATTR_NONE, -1, "");
	if (!ui->hist_lost) {
		lines_wrap(L, ATTR_OK, -1, 0, w, _("It found no lost mail."));
	} else {
		snprintf(buf, sizeof buf, P_("It found %llu lost message%s:", "It found %llu lost messages%s:",
					     ui->hist_lost),
			 (unsigned long long)ui->hist_lost,
			 !ui->hist_acked ? _(", not acknowledged yet") :
			 ui->hist_acked == ui->hist_lost ? _(", acknowledged") : _(" (some acknowledged)"));
		lines_wrap(L, ui->hist_acked == ui->hist_lost ? ATTR_BOLD : ATTR_CRIT, -1, 0, w, buf);
		/* Found, folder, the message's date, from, subject; cleaned by
		 * ma_ledger_text. Long lines wrap under themselves. */
		lines_wrap(L, ATTR_NONE, -1, 0, w, ui->hist_text ? ui->hist_text : "");
	}
	lines_add(L, ATTR_NONE, -1, "");
	lines_wrap(L, ATTR_NONE, -1, 0, w, _("Esc or q: back to the list of audits."));
}

/* The recorded verdict word (English in the store) as the reader reads it. */
static const char *outcome_cell(const char *outcome)
{
	static char cell[64];
	text_cell(cell, sizeof cell, outcome[0] ? _(outcome) : "", 8, false);
	return cell;
}

static void history_build(struct ui *ui, struct lines *L, int w)
{
	const struct ma_audit_result *r = ui->result;
	if (ui->hist_open && ui->hist_row < r->nhistory) {
		history_audit_build(ui, L, w);
		return;
	}
	if (r->history_err.status != MA_OK) {
		char e[700];
		ma_error_format(&r->history_err, e, sizeof e);
		lines_wrap(L, ATTR_WARN, -1, 0, w, _("The history could not be used:"));
		lines_wrap(L, ATTR_NONE, -1, 2, w, e);
		lines_add(L, ATTR_NONE, -1, "");
	}
	if (r->nhistory == 0) {
		lines_wrap(L, ATTR_NONE, -1, 0, w, _("No audits recorded yet."));
		return;
	}
	char h1[128], h2[128], h3[128];
	lines_addf(L, ATTR_BOLD, -1, "%s  %s %6s %s %6s", hc(h1, sizeof h1, _("Started"), 20, true),
		   hc(h2, sizeof h2, _("Verdict"), 8, true), "INBOX", hc(h3, sizeof h3, _("All"), 6, false), "POP3");
	uint32_t max = 1;
	for (size_t i = 0; i < r->nhistory; i++) {
		const struct ma_audit_summary *s = &r->history[i];
		char d[32], p[24];
		ma_fmt_time_or(s->started, d, "-");
		if (s->pop3_count < 0)
			snprintf(p, sizeof p, "-");
		else
			snprintf(p, sizeof p, "%lld", (long long)s->pop3_count);
		/* A row per audit: Enter opens what it found. */
		lines_addf(L, ATTR_NONE, (int)i, "%-20s  %s %6u %6llu %6s", d, outcome_cell(s->outcome),
			   s->inbox_messages, (unsigned long long)s->total_messages, p);
		if (s->inbox_messages > max)
			max = s->inbox_messages;
	}
	lines_wrap(L, ATTR_NONE, -1, 0, w, _("Enter: what the selected audit found."));
	/* Oldest first, so a drop reads left to right like a timeline. */
	lines_add(L, ATTR_NONE, -1, "");
	lines_add(L, ATTR_BOLD, -1, _("INBOX messages per audit (oldest first):"));
	int barw = w - 20 - 2 - 8;
	if (barw < 5)
		barw = 5;
	for (size_t i = r->nhistory; i-- > 0;) {
		const struct ma_audit_summary *s = &r->history[i];
		char d[32], bar[512];
		ma_fmt_time_or(s->started, d, "-");
		int n = (int)((uint64_t)s->inbox_messages * (uint64_t)barw / max);
		if (n == 0 && s->inbox_messages)
			n = 1;
		if (n > (int)sizeof bar - 1)
			n = (int)sizeof bar - 1;
		memset(bar, '#', (size_t)n);
		bar[n] = '\0';
		lines_addf(L, ATTR_NONE, -1, "%-20s |%s %u", d, bar, s->inbox_messages);
	}
}

/* --- 6 Report ------------------------------------------------------------- */

static void report_build(struct ui *ui, struct lines *L, int w)
{
	if (!ui->report) {
		lines_add(L, ATTR_CRIT, -1, _("The report could not be made."));
		return;
	}
	/* Report lines are at most 78 columns: only narrow screens wrap. */
	lines_wrap(L, ATTR_NONE, -1, 0, w, ui->report);
}

const struct view_ops ma_views[MA_NVIEWS] = {
	[VIEW_FINDINGS] = { N_("Findings"), N_("Find"), findings_build, findings_n, findings_open },
	[VIEW_FOLDERS] = { N_("Folders"), N_("Fold"), folders_build, NULL, NULL },
	[VIEW_POP3] = { N_("IMAP vs POP3"), "POP3", pop3_build, NULL, NULL },
	[VIEW_CONNECTION] = { N_("Connection"), N_("Conn"), conn_build, NULL, NULL },
	[VIEW_HISTORY] = { N_("History"), N_("Hist"), history_build, history_n, history_open },
	[VIEW_REPORT] = { N_("Report"), N_("Rep"), report_build, NULL, NULL },
};
