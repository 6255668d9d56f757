/* The screen manager and the one input loop.
 *
 * poll() waits on the terminal, the worker's progress pipe and a signal
 * self-pipe; key handlers change state and return reaction flags (R_*), and
 * only draw() touches the screen. Signal handlers only write the signal
 * number to the self-pipe: ending curses, cancelling the audit or stopping
 * for Ctrl-Z happen here in the loop, where it is safe. */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "credentials.h"
#include "audit/findings.h"
#include "audit/ledger.h"
#include "audit/report.h"
#include "base/text.h"
#include "tui_int.h"

static int sig_pipe[2] = { -1, -1 };
static bool curses_on;

/* --- small helpers ------------------------------------------------------------- */

void ui_set_status(struct ui *ui, bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ui->status, sizeof ui->status, fmt, ap);
	va_end(ap);
	ui->status_err = error;
}

int ui_attr(const struct ui *ui, int attr)
{
	/* Colour only adds to what bold and the words already say. */
	switch (attr) {
	case ATTR_BOLD: return A_BOLD;
	case ATTR_OK: return ui->color ? (int)COLOR_PAIR(PAIR_OK) : 0;
	case ATTR_WARN: return A_BOLD | (ui->color ? (int)COLOR_PAIR(PAIR_WARN) : 0);
	case ATTR_UNKNOWN: return A_BOLD | (ui->color ? (int)COLOR_PAIR(PAIR_UNKNOWN) : 0);
	case ATTR_CRIT: return A_BOLD | (ui->color ? (int)COLOR_PAIR(PAIR_CRIT) : 0);
	default: return 0;
	}
}

/* Rows under the header (title, the verdict's head_rows, tabs, rule) and
 * above the bottom line. */
static int body_h(const struct ui *ui)
{
	int head = ui->head_rows > 0 ? ui->head_rows : 1;
	return ui->rows - 4 - head > 1 ? ui->rows - 4 - head : 1;
}

static void hline_at(int y, int w)
{
	move(y, 0);
	for (int i = 0; i < w; i++)
		addch('-');
}

static void clamp_top(struct ui *ui, int *top, int n)
{
	int max = n - body_h(ui);
	if (*top > max)
		*top = max;
	if (*top < 0)
		*top = 0;
}

static bool same_endpoint(bool has_a, const struct ma_endpoint *a, bool has_b,
			  const struct ma_endpoint *b)
{
	return has_a == has_b && (!has_a || (strcmp(a->host, b->host) == 0 && a->port == b->port &&
					     a->security == b->security));
}

static bool same_account(const struct ma_account *a, const struct ma_account *b)
{
	return strcmp(a->login, b->login) == 0 && strcmp(a->address, b->address) == 0 &&
	       same_endpoint(a->has_imap, &a->imap, b->has_imap, &b->imap) &&
	       same_endpoint(a->has_pop3, &a->pop3, b->has_pop3, &b->pop3) &&
	       same_endpoint(a->has_smtp, &a->smtp, b->has_smtp, &b->smtp);
}

/* --- the audit ---------------------------------------------------------------- */

int ui_start_audit(struct ui *ui, const struct ma_account *acct, char *password,
		   const char *pwcmd, const char *pwfile, const char *ca_file)
{
	struct ma_error err = { 0 };
	const struct ma_tui_args *a = ui->args;
	if (!password) {
		password = ma_password_get(pwcmd, pwfile, a->run.timeout, NULL, &err);
		if (!password) {
			char buf[700];
			ma_error_format(&err, buf, sizeof buf);
			ui_set_status(ui, true, _("Password: %s"), buf);
			start_prefill(ui, acct, true);
			ui->screen = SCR_START;
			return R_DRAW | R_FULL;
		}
	}
	struct ma_audit_opts o;
	ma_run_audit_opts(&a->run, ca_file, &o);
	if (!pwcmd && !pwfile) {
		/* Typed: kept for "audit again" and the connection test. */
		ui->pw_kept = ma_password_keep(password);
		ui->pw_acct = *acct;
	}
	ui->acct = *acct;
	ui->pwcmd = pwcmd, ui->pwfile = pwfile, ui->ca_file = ca_file;
	if (ma_worker_start(&ui->worker, acct, password, &o, a->run.trace, &err) != MA_OK) {
		char buf[700];
		ma_error_format(&err, buf, sizeof buf);
		ui_set_status(ui, true, "%s", buf);
		ui->screen = ui->result ? SCR_RESULTS : SCR_START;
		return R_DRAW | R_FULL;
	}
	ui->screen = SCR_PROGRESS;
	ui->help = false;
	ui->prompt = PROMPT_NONE;
	ui->step = -1;
	memset(ui->done, 0, sizeof ui->done);
	memset(ui->total, 0, sizeof ui->total);
	memset(ui->what, 0, sizeof ui->what);
	ui->started_ms = ui->step_ms = ma_now_ms();
	ui->elapsed_s = 0;
	ui->shown_frac = 0;
	/* Audited before in this run: its folders' sizes make the bar count
	 * messages rather than folders. */
	ui->expect_msgs = ui->msgs_passed = 0;
	ui->all_total = ui->all_done = 0;
	if (ui->result && same_account(&ui->result_acct, acct))
		for (size_t i = 0; i < ui->result->nfolders; i++)
			ui->expect_msgs += ui->result->folders[i].folder.messages;
	ui->status[0] = '\0';
	return R_DRAW | R_FULL;
}

static void drop_result(struct ui *ui)
{
	ui_history_close(ui);
	ma_audit_result_free(ui->result);
	ui->result = NULL;
	free(ui->report);
	ui->report = NULL;
	lines_clear(&ui->lines);
}


/* The typed password kept for the account being audited, as a copy for a
 * job; NULL when none is kept for it. */
static char *kept_password(const struct ui *ui)
{
	return ui->pw_kept && same_account(&ui->pw_acct, &ui->acct) ? ma_password_kept() : NULL;
}

char *ui_job_password(struct ui *ui, struct ma_error *err)
{
	if (ui->pwcmd || ui->pwfile)
		return ma_password_get(ui->pwcmd, ui->pwfile, ui->args->run.timeout, NULL, err);
	return kept_password(ui);
}

static bool login_refused(const struct ma_worker *w)
{
	return w->status == MA_ERR_LOGIN || w->err.status == MA_ERR_LOGIN ||
	       (w->result && (w->result->imap_err.status == MA_ERR_LOGIN ||
			      w->result->pop3_err.status == MA_ERR_LOGIN));
}

static int audit_finished(struct ui *ui)
{
	struct ma_worker *w = &ui->worker;
	ma_worker_join(w);
	if (ui->pw_kept && login_refused(w)) {
		/* A refused password is not offered again. */
		ma_password_forget();
		ui->pw_kept = false;
	}
	if (w->status != MA_OK || !w->result) {
		char buf[700];
		ma_error_format(&w->err, buf, sizeof buf);
		ui_set_status(ui, true, _("The audit failed: %s"), buf);
		ui->screen = ui->result ? SCR_RESULTS : SCR_START;
		return R_DRAW | R_FULL | R_REBUILD;
	}
	drop_result(ui);
	ui->result = w->result;
	ui->result_acct = ui->acct;
	w->result = NULL;
	/* A connection test of another mailbox would be read as this one's. */
	if (ui->probe && !same_account(&ui->probe_acct, &ui->acct)) {
		ma_probe_result_free(ui->probe);
		ui->probe = NULL;
	}
	struct ma_error err;
	if (ma_report_text(ui->result, &ui->report, &err) != MA_OK)
		ui->report = NULL;
	ui->screen = SCR_RESULTS;
	ui->view = VIEW_FINDINGS;
	memset(ui->top, 0, sizeof ui->top);
	memset(ui->cursor, 0, sizeof ui->cursor);
	ui->match = -1;
	ui->lines_dirty = true;
	ui_set_status(ui, false, _("Audit finished. Tab or 1-6: views, ?: help."));
	return R_DRAW | R_FULL | R_REBUILD;
}

static int cancel_audit(struct ui *ui)
{
	ma_worker_cancel(&ui->worker);
	ui_set_status(ui, false, _("Audit cancelled."));
	ui->screen = ui->result ? SCR_RESULTS : SCR_START;
	if (ui->screen == SCR_START)
		start_prefill(ui, &ui->acct, ui->pwcmd == NULL && ui->pwfile == NULL);
	return R_DRAW | R_FULL | R_REBUILD;
}

/* --- the connection test ------------------------------------------------------ */

/* p: the doctor for the audited account, with the audit's password source
 * or the password typed for it in this run; without either the test runs
 * without a login, and the Connection view says so. */
static int start_probe(struct ui *ui)
{
	const struct ma_tui_args *a = ui->args;
	struct ma_error err = { 0 };
	char *password = NULL;
	if (ui->worker.job != MA_JOB_NONE) {
		ui_set_status(ui, false, _("A connection test is running: Esc cancels it."));
		return R_DRAW;
	}
	if (ui->pwcmd || ui->pwfile)
		password = ma_password_get(ui->pwcmd, ui->pwfile, a->run.timeout, NULL, &err);
	else
		password = kept_password(ui);
	if (!password && err.status != MA_OK) {
		char buf[700];
		ma_error_format(&err, buf, sizeof buf);
		ui_set_status(ui, true, _("Password: %s"), buf);
		return R_DRAW;
	}
	ui->probe_with_login = password != NULL;
	struct ma_net_opts net;
	ma_run_probe_net(&a->run, ui->ca_file, &net);
	if (ma_worker_start_probe(&ui->worker, &ui->acct, password, &net, &err) != MA_OK) {
		char buf[700];
		ma_error_format(&err, buf, sizeof buf);
		ui_set_status(ui, true, _("The connection test could not start: %s"), buf);
		return R_DRAW;
	}
	ui->started_ms = ma_now_ms();
	ui->elapsed_s = 0;
	ui->status[0] = '\0';
	ui->view = VIEW_CONNECTION;
	ui->top[VIEW_CONNECTION] = 0;
	ui->match = -1;
	return R_DRAW | R_REBUILD;
}

static int probe_finished(struct ui *ui)
{
	struct ma_worker *w = &ui->worker;
	ma_worker_join(w);
	ui->lines_dirty = true;
	if (w->status != MA_OK || !w->probe_result) {
		char buf[700];
		ma_error_format(&w->err, buf, sizeof buf);
		ui_set_status(ui, true, _("The connection test failed: %s"), buf);
		return R_DRAW | R_REBUILD;
	}
	ma_probe_result_free(ui->probe);
	ui->probe = w->probe_result;
	w->probe_result = NULL;
	ui->probe_acct = ui->acct;
	snprintf(ui->probe_login, sizeof ui->probe_login, "%s", ui->probe_with_login ? "" :
		 _("Login not tested: no password was given for this mailbox in this run. With "
		 "password_command or password_file the test logs in too."));
	size_t ok = 0;
	for (size_t i = 0; i < ui->probe->n_cells; i++)
		ok += ui->probe->cells[i].status == MA_OK;
	ui->view = VIEW_CONNECTION;
	ui->top[VIEW_CONNECTION] = 0;
	ui->match = -1;
	ui_set_status(ui, false, _("Connection test done in %.1f s: %zu of %zu combinations work."),
		      (double)ui->probe->elapsed_ms / 1000.0, ok, ui->probe->n_cells);
	return R_DRAW | R_REBUILD;
}

static int cancel_probe(struct ui *ui)
{
	ma_worker_cancel(&ui->worker);
	ui_set_status(ui, false, _("Connection test cancelled."));
	return R_DRAW | R_REBUILD;
}

/* How many messages the last audit of this mailbox (in this run) saw in
 * the folder of that name; 0 when it is not known. */
static uint64_t last_seen_messages(const struct ui *ui, const char *name)
{
	if (!ui->expect_msgs || !name[0])
		return 0;
	size_t n = sizeof ui->what[0] - 1;
	for (size_t i = 0; i < ui->result->nfolders; i++) {
		const struct ma_folder *f = &ui->result->folders[i].folder;
		if (f->name && strncmp(f->name, name, n) == 0)
			return f->messages;
	}
	return 0;
}

static int worker_event(struct ui *ui)
{
	struct ma_worker_msg m;
	int react = R_NONE;
	while (ui->worker.job != MA_JOB_NONE && ma_worker_read(&ui->worker, &m)) {
		if (ui->worker.job == MA_JOB_WATCH) {
			/* The events are in the view's store: this only wakes. */
			if (m.kind == MA_WMSG_DONE)
				return react | watch_finished(ui);
			react |= R_DRAW;
			continue;
		}
		if (m.kind == MA_WMSG_DONE)
			return react | (ui->worker.job == MA_JOB_PROBE ? probe_finished(ui)
								       : audit_finished(ui));
		if (m.step > MA_STEP_DONE)
			continue;
		if ((int)m.step > ui->step) {
			ui->step = m.step;
			ui->step_ms = ma_now_ms();
		}
		ui->done[m.step] = m.done;
		ui->total[m.step] = m.total;
		if (m.all_total) {
			ui->all_total = m.all_total;
			/* Two sessions report: the higher count is the later. */
			if (m.all_done > ui->all_done)
				ui->all_done = m.all_done;
		}
		if (m.step == MA_STEP_FOLDERS) { /* a new folder: none of its messages read */
			ui->msgs_passed += last_seen_messages(ui, ui->what[MA_STEP_FOLDERS]);
			ui->done[MA_STEP_MESSAGES] = ui->total[MA_STEP_MESSAGES] = 0;
		}
		m.what[sizeof m.what - 1] = '\0';
		snprintf(ui->what[m.step], sizeof ui->what[m.step], "%s", m.what);
		react |= R_DRAW;
	}
	return react;
}

/* --- export ---------------------------------------------------------------------- */

static void default_export_path(const struct ui *ui, char *out, size_t n)
{
	char name[80];
	const char *src = ui->acct.name[0] ? ui->acct.name : ui->acct.login;
	size_t j = 0;
	for (size_t i = 0; src[i] && j < sizeof name - 1; i++) {
		unsigned char c = (unsigned char)src[i];
		/* Only characters no shell or file system treats specially. */
		name[j++] = (c < 0x80 && (c == '.' || c == '-' || c == '_' || c == '@' ||
					  (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
			    ? (char)c : '_';
	}
	name[j] = '\0';
	time_t t = time(NULL);
	struct tm tm;
	char when[32] = "";
	if (localtime_r(&t, &tm))
		strftime(when, sizeof when, "%Y%m%d-%H%M", &tm);
	snprintf(out, n, "./mailaudit-%s-%s.txt", name, when);
}

static void open_prompt(struct ui *ui, enum prompt_kind k, const char *initial)
{
	ui->prompt = k;
	snprintf(ui->prompt_buf, sizeof ui->prompt_buf, "%s", initial);
}

static void write_export(struct ui *ui, const char *path)
{
	struct ma_error err;
	char buf[700];
	if (ma_report_write(path, ui->report, &err) != MA_OK) {
		ma_error_format(&err, buf, sizeof buf);
		ui_set_status(ui, true, _("Not exported: %s"), buf);
	} else {
		ui_set_status(ui, false, _("Report written to %s"), path);
	}
}

static void do_export(struct ui *ui, const char *typed)
{
	struct ma_error err;
	char buf[700];
	if (!typed[0]) {
		ui_set_status(ui, true, _("Not exported: no file name given."));
		return;
	}
	if (!ui->report) {
		ui_set_status(ui, true, _("Not exported: the report could not be made."));
		return;
	}
	/* "~/report.txt" means what it means in a shell (no shell sees it). */
	char *path = NULL;
	if (ma_path_expand(typed, &path, &err) != MA_OK) {
		ma_error_format(&err, buf, sizeof buf);
		ui_set_status(ui, true, _("Not exported: %s"), buf);
		return;
	}
	struct stat st;
	if (lstat(path, &st) == 0) {
		/* Someone's file, perhaps not a report at all: ask first. */
		char q[sizeof ui->prompt_buf];
		snprintf(q, sizeof q, _("%s exists. Replace it? (y/n) "), path);
		free(ui->export_path);
		ui->export_path = path;
		open_prompt(ui, PROMPT_OVERWRITE, q);
		return;
	}
	write_export(ui, path);
	free(path);
}

/* --- search ------------------------------------------------------------------------ */

static void rebuild(struct ui *ui)
{
	lines_clear(&ui->lines);
	ma_views[ui->view].build(ui, &ui->lines, ui->cols);
	ui->built_width = ui->cols;
	ui->lines_dirty = false;
}

/* Keys act on the lines the user will see, which may not be built yet. */
static void ensure_lines(struct ui *ui)
{
	if (ui->result && (ui->lines_dirty || ui->built_width != ui->cols))
		rebuild(ui);
}

static int search_step(struct ui *ui, int dir)
{
	ensure_lines(ui);
	int n = (int)ui->lines.n;
	if (!ui->search[0]) {
		ui_set_status(ui, true, _("No search yet: press / first."));
		return R_DRAW;
	}
	int start = ui->match >= 0 ? ui->match + dir : (dir > 0 ? ui->top[ui->view] : ui->top[ui->view] - 1);
	for (int k = 0; k < n; k++) {
		int i = ((start + dir * k) % n + n) % n;
		if (!text_find(ui->lines.v[i].text, ui->search))
			continue;
		ui->match = i;
		int *top = &ui->top[ui->view];
		if (i < *top || i >= *top + body_h(ui))
			*top = i;
		clamp_top(ui, top, n);
		if (ui->lines.v[i].item >= 0 && ma_views[ui->view].nitems)
			ui->cursor[ui->view] = (size_t)ui->lines.v[i].item, ui->lines_dirty = true;
		ui_set_status(ui, false, _("Found \"%s\" (line %d of %d)"), ui->search, i + 1, n);
		return R_DRAW | R_REBUILD;
	}
	ui->match = -1;
	ui_set_status(ui, true, _("Not found: \"%s\""), ui->search);
	return R_DRAW;
}

/* --- key handlers ---------------------------------------------------------------------- */


/* --- acknowledging lost mail --------------------------------------------------------- */

/* A: asks about the losses the shown result has on record. What is
 * acknowledged is what the user saw: losses found up to this result's
 * audit, never ones a later audit (cron, another mailaudit) found since. */
static int ack_request(struct ui *ui)
{
	const struct ma_audit_result *r = ui->result;
	if (ui->view != VIEW_FINDINGS) {
		ui_set_status(ui, false, _("A acknowledges lost mail in the Findings view: press 1, then A."));
		return R_DRAW;
	}
	if (ui->worker.job == MA_JOB_AUDIT) {
		ui_set_status(ui, false, _("Busy: an audit is running; acknowledge once it has finished."));
		return R_DRAW;
	}
	uint64_t n = 0;
	time_t oldest = 0;
	for (size_t i = 0; i < r->nledger; i++) {
		const struct ma_loss_entry *e = &r->ledger[i];
		n += e->kind == MA_LOSS_UNSEEN ? e->count : 1;
		if (e->found && (!oldest || e->found < oldest))
			oldest = e->found;
	}
	if (!n || !r->nhistory || ui->args->run.no_history) {
		ui_set_status(ui, false, _("Nothing to acknowledge."));
		return R_DRAW;
	}
	char when[32], q[200];
	ma_fmt_time_or(oldest, when, "-");
	snprintf(q, sizeof q, P_("Acknowledge %llu lost message found since %s? (y/n) ",
				 "Acknowledge %llu lost messages found since %s? (y/n) ", n),
		 (unsigned long long)n, when);
	open_prompt(ui, PROMPT_ACK, q);
	return R_DRAW;
}

/* y: acknowledges on record, then shows the same result again without
 * the acknowledged losses, so the verdict says what a new audit would. */
static int ack_confirmed(struct ui *ui)
{
	struct ma_audit_result *r = ui->result;
	struct ma_error err = { 0 };
	uint64_t n = 0;
	time_t now = ui->args->run.now ? ui->args->run.now : time(NULL);
	if (ma_ledger_ack(&ui->result_acct, ui->args->run.state_dir, r->history[0].id, now, &n,
			  &err) != MA_OK) {
		char buf[700];
		ma_error_format(&err, buf, sizeof buf);
		ui_set_status(ui, true, _("Not acknowledged: %s"), buf);
		return R_DRAW;
	}
	ma_loss_entries_free(r->ledger, r->nledger);
	r->ledger = NULL;
	r->nledger = 0;
	bool analysed = ma_analyze(r, &err) == MA_OK;
	free(ui->report);
	ui->report = NULL;
	if (analysed && ma_report_text(r, &ui->report, &err) != MA_OK)
		ui->report = NULL;
	ui_history_close(ui);
	ui->cursor[VIEW_FINDINGS] = 0;
	ui->top[VIEW_FINDINGS] = 0;
	ui->match = -1;
	ui->lines_dirty = true;
	if (!analysed)
		ui_set_status(ui, true, _("Acknowledged, but the result could not be shown again: out of memory."));
	else if (n)
		ui_set_status(ui, false, P_("Acknowledged %llu lost message; later audits report only new losses.",
					    "Acknowledged %llu lost messages; later audits report only new losses.", n),
			      (unsigned long long)n);
	else
		ui_set_status(ui, false, _("Nothing was left to acknowledge."));
	return R_DRAW | R_REBUILD;
}

static int prompt_key(struct ui *ui, int key, enum ma_request req)
{
	enum prompt_kind k = ui->prompt;
	if (k == PROMPT_ACK) {
		ui->prompt = PROMPT_NONE;
		if (key == 'y' || key == 'Y')
			return ack_confirmed(ui);
		ui_set_status(ui, false, _("Not acknowledged."));
		return R_DRAW;
	}
	if (k == PROMPT_OVERWRITE) {
		ui->prompt = PROMPT_NONE;
		if (key == 'y' || key == 'Y')
			write_export(ui, ui->export_path);
		else
			ui_set_status(ui, false, _("Not exported: %s is left as it was."), ui->export_path);
		free(ui->export_path);
		ui->export_path = NULL;
		return R_DRAW;
	}
	if (k == PROMPT_QUIT) {
		if (key == 'y' || key == 'Y') {
			ma_worker_cancel(&ui->worker);
			return R_QUIT;
		}
		ui->prompt = PROMPT_NONE;
		return R_DRAW;
	}
	size_t len = strlen(ui->prompt_buf);
	if (req == REQ_BACK) {
		ui->prompt = PROMPT_NONE;
		ui->status[0] = '\0';
		return R_DRAW;
	}
	if (req == REQ_ENTER) {
		ui->prompt = PROMPT_NONE;
		if (k == PROMPT_SEARCH) {
			snprintf(ui->search, sizeof ui->search, "%s", ui->prompt_buf);
			ui->match = -1;
			return search_step(ui, 1);
		}
		do_export(ui, ui->prompt_buf);
		return R_DRAW;
	}
	if (key == KC(KEY_BACKSPACE) || key == 127 || key == 8) {
		ui->prompt_buf[ma_utf8_back(ui->prompt_buf, len)] = '\0';
		return R_DRAW;
	}
	if (key == CTRL_('u')) {
		ui->prompt_buf[0] = '\0';
		return R_DRAW;
	}
	if (key >= 0x20 && key != 0x7f && !(key & MA_KEYCODE)) {
		char mb[MB_LEN_MAX];
		mbstate_t st;
		memset(&st, 0, sizeof st);
		size_t n = wcrtomb(mb, (wchar_t)key, &st);
		if (n != (size_t)-1 && len + n < sizeof ui->prompt_buf) {
			memcpy(ui->prompt_buf + len, mb, n);
			ui->prompt_buf[len + n] = '\0';
		}
		return R_DRAW;
	}
	return R_NONE;
}

static int help_key(struct ui *ui, enum ma_request req)
{
	switch (req) {
	case REQ_UP: ui->help_top--; break;
	case REQ_DOWN: ui->help_top++; break;
	case REQ_PGUP: ui->help_top -= body_h(ui); break;
	case REQ_PGDN: ui->help_top += body_h(ui); break;
	case REQ_HOME: ui->help_top = 0; break;
	case REQ_END: ui->help_top = 1 << 20; break;
	case REQ_HELP: case REQ_BACK: case REQ_QUIT: case REQ_ENTER:
		ui->help = false;
		break;
	default:
		return R_NONE;
	}
	return R_DRAW;
}

static int quit_request(struct ui *ui)
{
	/* A connection test loses nothing when stopped: no question. */
	if (ui->worker.job != MA_JOB_AUDIT)
		return R_QUIT;
	open_prompt(ui, PROMPT_QUIT, "");
	return R_DRAW;
}

static int progress_key(struct ui *ui, enum ma_request req)
{
	switch (req) {
	case REQ_BACK: return cancel_audit(ui);
	case REQ_QUIT: return quit_request(ui);
	case REQ_HELP: ui->help = true, ui->help_top = 0; return R_DRAW;
	default: return R_NONE;
	}
}

static int set_view(struct ui *ui, int v)
{
	ui->view = (enum ui_view)((v % MA_NVIEWS + MA_NVIEWS) % MA_NVIEWS);
	ui->match = -1;
	ui->lines_dirty = true;
	ui->status[0] = '\0';
	return R_DRAW | R_REBUILD;
}

static int again(struct ui *ui)
{
	if (ui->worker.job != MA_JOB_NONE) {
		ui_set_status(ui, false, _("A connection test is running: Esc cancels it."));
		return R_DRAW;
	}
	if (ui->pwcmd || ui->pwfile)
		return ui_start_audit(ui, &ui->acct, NULL, ui->pwcmd, ui->pwfile, ui->ca_file);
	/* The password typed in this run, kept locked in memory. */
	char *pw = kept_password(ui);
	if (pw)
		return ui_start_audit(ui, &ui->acct, pw, NULL, NULL, ui->ca_file);
	/* None kept (refused by the server, or none typed): ask. */
	start_prefill(ui, &ui->acct, true);
	ui->screen = SCR_START;
	ui_set_status(ui, false, _("Type the password again, then Enter."));
	return R_DRAW | R_FULL;
}

static int results_key(struct ui *ui, enum ma_request req)
{
	const struct view_ops *v = &ma_views[ui->view];
	int *top = &ui->top[ui->view];
	size_t *cur = &ui->cursor[ui->view];
	size_t nitems = v->nitems ? v->nitems(ui) : 0;
	ensure_lines(ui);
	int n = (int)ui->lines.n;
	/* Esc and q lead out of one audit's losses before anything else. */
	if (ui->view == VIEW_HISTORY && ui->hist_open && (req == REQ_BACK || req == REQ_QUIT)) {
		ui_history_close(ui);
		ui->show_cursor = true;
		ui->match = -1;
		return R_DRAW | R_REBUILD;
	}
	switch (req) {
	case REQ_UP:
		if (nitems && *cur > 0) {
			(*cur)--, ui->show_cursor = true, ui->lines_dirty = true;
			return R_DRAW | R_REBUILD;
		}
		(*top)--;
		break;
	case REQ_DOWN:
		if (nitems && *cur + 1 < nitems) {
			(*cur)++, ui->show_cursor = true, ui->lines_dirty = true;
			return R_DRAW | R_REBUILD;
		}
		(*top)++;
		break;
	case REQ_PGUP: *top -= body_h(ui); break;
	case REQ_PGDN: *top += body_h(ui); break;
	case REQ_HOME:
		*top = 0;
		if (nitems)
			*cur = 0, ui->lines_dirty = true;
		return R_DRAW | R_REBUILD;
	case REQ_END:
		*top = n;
		if (nitems)
			*cur = nitems - 1, ui->lines_dirty = true;
		return R_DRAW | R_REBUILD;
	case REQ_ENTER:
		if (v->open)
			v->open(ui);
		break;
	case REQ_NEXT: return set_view(ui, (int)ui->view + 1);
	case REQ_PREV: return set_view(ui, (int)ui->view - 1);
	case REQ_VIEW1: case REQ_VIEW2: case REQ_VIEW3:
	case REQ_VIEW4: case REQ_VIEW5: case REQ_VIEW6:
		return set_view(ui, (int)(req - REQ_VIEW1));
	case REQ_SEARCH: open_prompt(ui, PROMPT_SEARCH, ""); return R_DRAW;
	case REQ_FIND_NEXT: return search_step(ui, 1);
	case REQ_FIND_PREV: return search_step(ui, -1);
	case REQ_EXPORT: {
		char path[600];
		default_export_path(ui, path, sizeof path);
		open_prompt(ui, PROMPT_EXPORT, path);
		return R_DRAW;
	}
	case REQ_AGAIN: return again(ui);
	case REQ_ACK: return ack_request(ui);
	case REQ_PROBE: return start_probe(ui);
	case REQ_WATCH: return watch_start(ui);
	case REQ_HELP: ui->help = true, ui->help_top = 0; return R_DRAW;
	case REQ_BACK:
		if (ui->worker.job == MA_JOB_PROBE)
			return cancel_probe(ui);
		start_prefill(ui, &ui->acct, false);
		/* Back where the audit was chosen: its account, or the form. */
		ui->form.focus = ui->form.chosen ? (int)(ui->form.chosen - ui->cfg.accounts)
						 : (int)ui->cfg.n + F_ADDR;
		ui->screen = SCR_START;
		ui->status[0] = '\0';
		return R_DRAW | R_FULL;
	case REQ_QUIT: return quit_request(ui);
	default: return R_NONE;
	}
	clamp_top(ui, top, n);
	return R_DRAW;
}

static int handle_key(struct ui *ui, int key)
{
	if (key == KC(KEY_RESIZE))
		return R_DRAW | R_FULL | R_REBUILD;
	enum ma_request req = key_request(key);
	if (req == REQ_REDRAW)
		return R_DRAW | R_FULL;
	if (ui->prompt)
		return prompt_key(ui, key, req);
	if (ui->help)
		return help_key(ui, req);
	switch (ui->screen) {
	case SCR_START:
		if (req == REQ_HELP && key != '?') {
			ui->help = true, ui->help_top = 0;
			return R_DRAW;
		}
		return start_key(ui, key, req);
	case SCR_PROGRESS: return progress_key(ui, req);
	case SCR_RESULTS: return results_key(ui, req);
	case SCR_WATCH: return watch_key(ui, req);
	}
	return R_NONE;
}

/* --- drawing ----------------------------------------------------------------------- */

static const struct { enum ma_step step; const char *name; } steps[] = {
	{ MA_STEP_CONNECT, N_("Connect") }, { MA_STEP_LOGIN, N_("Log in") },
	{ MA_STEP_FOLDERS, N_("Folders") }, { MA_STEP_MESSAGES, N_("Messages") },
	{ MA_STEP_POP3, "POP3" }, { MA_STEP_HISTORY, N_("History") },
	{ MA_STEP_ANALYSIS, N_("Analysis") },
};
#define NSTEPS ((int)(sizeof steps / sizeof steps[0]))

/* How far the audit is, 0..1, by what each step usually takes: reading
 * the folders is most of an audit, POP3 most of the rest. The folders'
 * part moves by message over all folders where their number is known (a
 * first audit: counted before the look; a repeat in this run: the last
 * result's), else by folder and, within the folder read, by message. */
static double audit_fraction(const struct ui *ui)
{
	static const double weight[] = {
		[MA_STEP_CONNECT] = 0.03, [MA_STEP_LOGIN] = 0.02, [MA_STEP_FOLDERS] = 0.0,
		[MA_STEP_MESSAGES] = 0.75, [MA_STEP_POP3] = 0.15, [MA_STEP_HISTORY] = 0.03,
		[MA_STEP_ANALYSIS] = 0.02,
	};
	double frac = 0;
	for (int s = 0; s < ui->step && s <= MA_STEP_ANALYSIS; s++)
		frac += weight[s];
	if (ui->step == MA_STEP_FOLDERS || ui->step == MA_STEP_MESSAGES) {
		/* FOLDERS counts only the folder index: all of it is the
		 * messages' share. */
		size_t n = ui->total[MA_STEP_FOLDERS], i = ui->done[MA_STEP_FOLDERS];
		double in_folder = ui->total[MA_STEP_MESSAGES] && ui->step == MA_STEP_MESSAGES
				   ? (double)ui->done[MA_STEP_MESSAGES] / (double)ui->total[MA_STEP_MESSAGES] : 0;
		if (in_folder > 1)
			in_folder = 1;
		if (ui->all_total) {
			/* A first audit: its messages over all folders, counted
			 * before the look. */
			double part = (double)ui->all_done / (double)ui->all_total;
			frac += weight[MA_STEP_MESSAGES] * (part > 1 ? 1 : part);
		} else if (ui->expect_msgs) {
			/* Messages over all folders, as the last audit counted them. */
			double read = (double)ui->msgs_passed + (double)ui->done[MA_STEP_MESSAGES];
			double part = read / (double)ui->expect_msgs;
			frac += weight[MA_STEP_MESSAGES] * (part > 1 ? 1 : part);
		} else if (n) {
			frac += weight[MA_STEP_MESSAGES] * ((double)i + in_folder) / (double)n;
		}
	}
	return frac > 1 ? 1 : frac;
}

/* "about 40 s left", "about 3 min left"; "" until the pace is known. */
static void time_left(const struct ui *ui, double frac, char *out, size_t n)
{
	out[0] = '\0';
	int64_t ms = ma_now_ms() - ui->started_ms;
	if (ms < 3000 || frac < 0.05 || frac >= 1)
		return;
	long left = (long)((double)ms * (1 - frac) / frac / 1000.0) + 1;
	if (left < 90)
		snprintf(out, n, _(", about %ld s left"), left);
	else
		snprintf(out, n, _(", about %ld min left"), (left + 30) / 60);
}

static void draw_progress(struct ui *ui)
{
	int w = ui->cols, y = 2;
	char buf[600];
	attron(A_BOLD);
	snprintf(buf, sizeof buf, _("Auditing %s"), ui->acct.login);
	text_put(0, 0, w, buf);
	attroff(A_BOLD);
	int namew = 9;
	for (int i = 0; i < NSTEPS; i++)
		if (text_cols(_(steps[i].name)) > namew)
			namew = text_cols(_(steps[i].name));
	for (int i = 0; i < NSTEPS; i++) {
		int s = (int)steps[i].step;
		const char *mark = s < ui->step ? "[x]" : s == ui->step ? "[>]" : "[ ]";
		char count[48] = "";
		if (ui->total[s])
			snprintf(count, sizeof count, " %zu/%zu", ui->done[s], ui->total[s]);
		if (s == MA_STEP_CONNECT && s == ui->step) {
			/* How long a silent server will be waited for. */
			int timeout = ui->args->run.timeout ? ui->args->run.timeout : MA_TIMEOUT_AUDIT_S;
			long left = timeout - (long)((ma_now_ms() - ui->step_ms) / 1000);
			snprintf(count, sizeof count, _(" (gives up in %ld s)"), left > 0 ? left : 0);
		}
		/* Padded by columns: a translated name has letters of two bytes. */
		char name[64];
		text_cell(name, sizeof name, _(steps[i].name), namew, false);
		snprintf(buf, sizeof buf, "%s %s%s  %s", mark, name, count,
			 s <= ui->step ? ui->what[s] : "");
		text_put(y++, 2, w - 2, buf);
	}
	/* Never backwards: a folder bigger than the last must not undo what
	 * the bar already showed. */
	double frac = audit_fraction(ui);
	if (frac < ui->shown_frac)
		frac = ui->shown_frac;
	ui->shown_frac = frac;
	y++;
	int barw = w - 12;
	if (barw > 50)
		barw = 50;
	int fill = (int)(frac * barw);
	move(y, 2);
	addch('[');
	for (int i = 0; i < barw; i++)
		addch(i < fill ? '#' : '.');
	addch(']');
	snprintf(buf, sizeof buf, " %3d%%", (int)(frac * 100));
	addstr(buf);
	y += 2;
	char left[48];
	time_left(ui, frac, left, sizeof left);
	snprintf(buf, sizeof buf, _("Elapsed: %ld s%s"), ui->elapsed_s, left);
	text_put(y, 2, w - 2, buf);
	if (y + 2 < ui->rows - 1) {
		key_hint(HINT_PROGRESS, buf, sizeof buf);
		text_put(y + 2, 2, w - 2, buf);
	}
}

static void draw_tabs(struct ui *ui, int y)
{
	/* Full names when they fit, else short ones, else only the current. */
	for (int pass = 0; pass < 2; pass++) {
		int len = 0;
		for (int i = 0; i < MA_NVIEWS; i++)
			len += text_cols(_(pass ? ma_views[i].short_name : ma_views[i].name)) + (pass ? 3 : 5);
		if (len - 1 > ui->cols) /* the last tab needs no gap after it */
			continue;
		move(y, 0);
		int x = 0;
		for (int i = 0; i < MA_NVIEWS; i++) {
			char buf[64];
			if (pass)
				snprintf(buf, sizeof buf, "%d %s", i + 1, _(ma_views[i].short_name));
			else
				snprintf(buf, sizeof buf, " %d %s ", i + 1, _(ma_views[i].name));
			if (i == (int)ui->view)
				attron(A_REVERSE | A_BOLD);
			x += text_put(y, x, ui->cols - x, buf);
			if (i == (int)ui->view)
				attroff(A_REVERSE | A_BOLD);
			x += text_put(y, x, ui->cols - x, " ");
		}
		return;
	}
	char buf[64];
	snprintf(buf, sizeof buf, _("%d/%d %s (Tab: next)"), (int)ui->view + 1, MA_NVIEWS, _(ma_views[ui->view].name));
	attron(A_REVERSE | A_BOLD);
	text_put(y, 0, ui->cols, buf);
	attroff(A_REVERSE | A_BOLD);
}

static void draw_lines(struct ui *ui, const struct lines *L, int top, int y0, int h, bool cursor)
{
	for (int i = 0; i < h && top + i < (int)L->n; i++) {
		const struct line *l = &L->v[top + i];
		int a = ui_attr(ui, l->attr);
		if (cursor && l->item >= 0 && (size_t)l->item == ui->cursor[ui->view])
			a |= A_REVERSE;
		if (cursor && top + i == ui->match)
			a |= A_UNDERLINE | A_BOLD;
		attron(a);
		int used = text_put(y0 + i, 0, ui->cols, l->text);
		/* The selection bar spans the line. */
		if (a & A_REVERSE)
			for (; used < ui->cols; used++)
				addch(' ');
		attroff(a);
	}
}

/* Rows the verdict takes on the screen: wrapped, at most 3, fewer on a
 * short terminal. */
static int verdict_rows(const struct ui *ui)
{
	char buf[900];
	const char *t = ma_verdict_title(ui->result);
	snprintf(buf, sizeof buf, _("Verdict: %s%s%s"), ma_severity_label(ui->result->verdict),
		 t[0] ? " - " : "", t);
	struct lines V = { 0 };
	lines_wrap_hang(&V, ATTR_NONE, -1, 0, 2, ui->cols, buf);
	int n = (int)V.n, max = ui->rows >= 20 ? 3 : ui->rows >= 16 ? 2 : 1;
	lines_clear(&V);
	free(V.v);
	return n < 1 ? 1 : n > max ? max : n;
}

static void draw_results(struct ui *ui)
{
	const struct ma_audit_result *r = ui->result;
	char buf[900];
	ensure_lines(ui);
	ui->head_rows = verdict_rows(ui);
	int *top = &ui->top[ui->view];
	if (ui->show_cursor) {
		for (size_t i = 0; i < ui->lines.n; i++) {
			if (ui->lines.v[i].item == (int)ui->cursor[ui->view]) {
				if ((int)i < *top)
					*top = (int)i;
				else if ((int)i >= *top + body_h(ui))
					*top = (int)i - body_h(ui) + 1;
				break;
			}
		}
		ui->show_cursor = false;
	}
	clamp_top(ui, top, (int)ui->lines.n);

	attron(A_REVERSE);
	move(0, 0);
	for (int i = 0; i < ui->cols; i++)
		addch(' ');
	snprintf(buf, sizeof buf, " mailaudit: %s", r->account_label);
	text_put(0, 0, ui->cols, buf);
	attroff(A_REVERSE);

	/* The verdict wraps rather than being cut; past its rows, the
	 * last one ends in an ellipsis. */
	int head = ui->head_rows;
	const char *t = ma_verdict_title(r);
	/* As --check and --report judge it: a --trace file that could not be
	 * written makes an OK run UNKNOWN, and the title says why first. */
	enum ma_severity v = r->trace_err.status != MA_OK ? ma_check_severity(r) : r->verdict;
	if (r->trace_err.status != MA_OK)
		snprintf(buf, sizeof buf, _("Verdict: %s - the --trace file could not be written (%s); the audit: %s"),
			 ma_severity_label(v),
			 r->trace_err.detail[0] ? r->trace_err.detail : ma_status_message(r->trace_err.status), t);
	else
		snprintf(buf, sizeof buf, _("Verdict: %s%s%s"), ma_severity_label(v), t[0] ? " - " : "", t);
	struct lines V = { 0 };
	lines_wrap_hang(&V, ATTR_NONE, -1, 0, 2, ui->cols, buf);
	for (int i = 0; i < head && i < (int)V.n; i++) {
		char row[1200];
		size_t o = (size_t)snprintf(row, sizeof row, "%s", V.v[i].text);
		for (size_t j = (size_t)i + 1; i == head - 1 && j < V.n && o < sizeof row; j++)
			o += (size_t)snprintf(row + o, sizeof row - o, " %s", V.v[j].text + 2);
		text_put(1 + i, 0, ui->cols, row);
	}
	lines_clear(&V);
	free(V.v);
	int va = ui_attr(ui, ma_severity_attr(v)) | A_BOLD;
	attron(va);
	snprintf(buf, sizeof buf, _("Verdict: %s"), ma_severity_label(v));
	text_put(1, 0, ui->cols, buf);
	attroff(va);
	draw_tabs(ui, 1 + head);
	hline_at(2 + head, ui->cols);
	draw_lines(ui, &ui->lines, *top, 3 + head, body_h(ui), true);
}

static void draw_help(struct ui *ui)
{
	struct lines L = { 0 };
	key_help_lines(&L, ui->cols);
	int h = ui->rows - 3;
	int max = (int)L.n - h;
	if (ui->help_top > max)
		ui->help_top = max;
	if (ui->help_top < 0)
		ui->help_top = 0;
	attron(A_REVERSE);
	move(0, 0);
	for (int i = 0; i < ui->cols; i++)
		addch(' ');
	text_put(0, 0, ui->cols, _(" mailaudit: help"));
	attroff(A_REVERSE);
	draw_lines(ui, &L, ui->help_top, 2, h, false);
	lines_clear(&L);
	free(L.v);
}

static void draw_bottom(struct ui *ui)
{
	int y = ui->rows - 1;
	char buf[1200];
	move(y, 0);
	clrtoeol();
	if (ui->prompt) {
		const char *label = ui->prompt == PROMPT_SEARCH ? _("Search: ") :
				    ui->prompt == PROMPT_EXPORT ? _("Export to: ") :
				    ui->prompt == PROMPT_ACK || ui->prompt == PROMPT_OVERWRITE ? "" :
				    _("An audit is running. Quit anyway? (y/n) ");
		snprintf(buf, sizeof buf, "%s%s", label, ui->prompt_buf);
		const char *vis = buf;
		while (text_cols(vis) > ui->cols - 1)
			vis++;
		int used = text_put(y, 0, ui->cols - 1, vis);
		ui->cur_y = y, ui->cur_x = used;
		return;
	}
	if (ui->status[0]) {
		int a = ui->status_err ? ui_attr(ui, ATTR_WARN) : 0;
		attron(a);
		text_put(y, 0, ui->cols, ui->status);
		attroff(a);
		return;
	}
	if (ui->worker.job == MA_JOB_PROBE && !ui->help) {
		char hint[200];
		key_hint(HINT_PROBING, hint, sizeof hint);
		snprintf(buf, sizeof buf, _("Testing ports: %ld s   %s"), ui->elapsed_s, hint);
		attron(A_BOLD);
		text_put(y, 0, ui->cols, buf);
		attroff(A_BOLD);
		return;
	}
	buf[0] = '\0';
	if (ui->help)
		key_hint(HINT_HELP, buf, sizeof buf);
	else if (ui->screen == SCR_WATCH)
		key_hint(HINT_WATCH, buf, sizeof buf);
	else if (ui->screen == SCR_RESULTS && ui->view == VIEW_FINDINGS && ui->result->nledger)
		key_hint(HINT_LEDGER, buf, sizeof buf);
	else if (ui->screen == SCR_RESULTS && ui->view == VIEW_HISTORY && ui->hist_open)
		key_hint(HINT_AUDIT_OPEN, buf, sizeof buf);
	else if (ui->screen == SCR_RESULTS && ui->view == VIEW_HISTORY && ui->result->nhistory)
		key_hint(HINT_HISTORY, buf, sizeof buf);
	else if (ui->screen == SCR_RESULTS)
		key_hint(HINT_RESULTS, buf, sizeof buf);
	attron(A_DIM);
	text_put(y, 0, ui->cols, buf);
	attroff(A_DIM);
}

static void draw(struct ui *ui, int react)
{
	getmaxyx(stdscr, ui->rows, ui->cols);
	if (react & R_FULL)
		clearok(curscr, TRUE);
	if (react & R_REBUILD)
		ui->lines_dirty = true;
	erase();
	ui->cur_y = -1;
	if (ui->rows < MA_MIN_ROWS || ui->cols < MA_MIN_COLS) {
		/* Split so even a very narrow terminal shows every word. */
		char size[40];
		snprintf(size, sizeof size, _("(need %dx%d, have %dx%d)"), MA_MIN_COLS, MA_MIN_ROWS,
			 ui->cols, ui->rows);
		text_put(0, 0, ui->cols, _("terminal too small"));
		text_put(ui->rows > 1 ? 1 : 0, 0, ui->cols, size);
		if (ui->rows > 2)
			text_put(2, 0, ui->cols, _("q: quit"));
	} else if (ui->help) {
		draw_help(ui);
		draw_bottom(ui);
	} else {
		switch (ui->screen) {
		case SCR_START: start_draw(ui); break;
		case SCR_PROGRESS: draw_progress(ui); break;
		case SCR_RESULTS: draw_results(ui); break;
		case SCR_WATCH: watch_draw(ui); break;
		}
		draw_bottom(ui);
	}
	if (ui->cur_y >= 0) {
		curs_set(1);
		move(ui->cur_y, ui->cur_x);
	} else {
		curs_set(0);
	}
	refresh();
}

/* --- signals and the terminal ---------------------------------------------------------- */

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	ssize_t n = write(sig_pipe[1], &b, 1);
	(void)n;
	errno = saved;
}

static void set_handlers(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGTSTP, SIGWINCH };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

static void restore_terminal(void)
{
	if (curses_on && !isendwin())
		endwin();
	curses_on = false;
}

static void suspend(void)
{
	endwin();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTSTP, &sa, NULL);
	raise(SIGTSTP);
	/* Continued: take the terminal back. */
	set_handlers();
}

static void resize_from_tty(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
}

/* Returns -1 to go on, else the exit status. */
static int signal_event(int *react)
{
	unsigned char b[16];
	ssize_t n = read(sig_pipe[0], b, sizeof b);
	for (ssize_t i = 0; i < n; i++) {
		switch (b[i]) {
		case SIGWINCH:
			resize_from_tty();
			*react |= R_DRAW | R_FULL | R_REBUILD;
			break;
		case SIGTSTP:
			suspend();
			*react |= R_DRAW | R_FULL;
			break;
		default:
			/* INT, TERM, HUP (the SSH connection dropped). A running
			 * audit is abandoned, not cancelled: a cancelled audit
			 * would go on to record what it saw so far, while ending
			 * the process leaves its history transaction uncommitted,
			 * which SQLite rolls back. */
			restore_terminal();
			ma_password_forget();
			_exit(128 + b[i]);
		}
	}
	return -1;
}

static bool want_color(const struct ma_tui_args *a)
{
	const char *nc = getenv("NO_COLOR");
	return !a->no_color && !(nc && nc[0]) && has_colors();
}

/* curses on the terminal, in our modes and colours; NULL (said on stderr)
 * when the terminal cannot be used. */
static SCREEN *open_screen(struct ui *ui)
{
	SCREEN *scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		fprintf(stderr, _("mailaudit: cannot use this terminal (TERM=%s)\n"),
			getenv("TERM") ? getenv("TERM") : "");
		return NULL;
	}
	curses_on = true;
	/* Without cursor addressing (TERM=dumb, an editor's shell buffer)
	 * nothing full-screen can show: say so before any audit runs. */
	const char *cup = tigetstr("cup");
	if (!cup || cup == (char *)-1) {
		restore_terminal();
		delscreen(scr);
		fprintf(stderr, _("mailaudit: this terminal (TERM=%s) cannot move the cursor, which the "
			"full-screen program needs; use --report - for the report as text on standard "
			"output (or --check for one line)\n"), getenv("TERM") ? getenv("TERM") : "");
		return NULL;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(50);
	key_define_extra();
	if (want_color(ui->args)) {
		start_color();
		use_default_colors();
		init_pair(PAIR_OK, COLOR_GREEN, -1);
		init_pair(PAIR_WARN, COLOR_YELLOW, -1);
		init_pair(PAIR_CRIT, COLOR_RED, -1);
		init_pair(PAIR_UNKNOWN, COLOR_MAGENTA, -1);
		ui->color = true;
	}
	return scr;
}

/* A key that followed an Esc and is not part of a sequence. */
static int pending_key = -1;

static int raw_key(void)
{
	wint_t wc;
	int rc = get_wch(&wc);
	if (rc == ERR)
		return -1;
	return rc == KEY_CODE_YES ? (int)wc | MA_KEYCODE : (int)wc;
}

/* How long the rest of an escape sequence may take to come after ESC. */
enum { ESC_SEQ_MS = 60 };

/* The next key: a character, KC(code), 0 for an escape sequence that is no
 * key of ours, -1 for none. curses knows the sequences of TERM's terminfo
 * entry (and key_define_extra's); any other one comes from curses as ESC
 * and its bytes, which would be Esc (back to the start screen) and text
 * typed into a field: it is read whole here and mapped or dropped. */
static int next_key(void)
{
	int key = pending_key;
	pending_key = -1;
	if (key == -1)
		key = raw_key();
	if (key != 27)
		return key;
	timeout(ESC_SEQ_MS);
	int intro = raw_key();
	if (intro != '[' && intro != 'O') {
		nodelay(stdscr, TRUE);
		pending_key = intro; /* a plain Esc, perhaps a key after it */
		return 27;
	}
	char seq[24];
	size_t n = 0;
	seq[n++] = (char)intro;
	for (;;) {
		int c = raw_key();
		if (c < 0x20 || c > 0x7e) { /* cut short or not a sequence: drop it */
			if (c != -1)
				pending_key = c;
			n = 0;
			break;
		}
		if (n < sizeof seq)
			seq[n++] = (char)c;
		/* SS3 is one byte; a CSI ends with its final byte. */
		if (intro == 'O' || (c >= 0x40 && c <= 0x7e))
			break;
	}
	nodelay(stdscr, TRUE);
	return n && n < sizeof seq ? key_from_escape(seq, n) : 0;
}

/* Progress alone repaints at most every PROGRESS_MS: an audit reports far
 * more often than anyone can read, and every repaint is work for the
 * terminal, in front of which a key press would then wait. */
enum { PROGRESS_MS = 100 };

/* One wait for the terminal, a signal or the worker, then what came, as
 * reaction flags in *react; progress that is not yet due to be drawn sets
 * *progress_due. -1 to go on, else the exit status. */
static int one_event(struct ui *ui, int64_t last_draw, bool *progress_due, int *react)
{
	bool busy = ui->worker.job != MA_JOB_NONE;
	struct pollfd p[4] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = sig_pipe[0], .events = POLLIN },
		{ .fd = busy ? ui->worker.msg_rd : -1, .events = POLLIN },
		{ .fd = suggest_fd(ui), .events = POLLIN },  /* the form's server lookup */
	};
	int wait = busy ? 250 : 1000;
	if (*progress_due) {
		int64_t since = ma_now_ms() - last_draw;
		wait = since >= PROGRESS_MS ? 0 : (int)(PROGRESS_MS - since);
	}
	wait = start_wait_ms(ui, wait);
	int n = poll(p, 4, wait);
	if (n < 0 && errno != EINTR) {
		restore_terminal();
		perror("mailaudit: poll");
		return 3;
	}
	if (n > 0 && (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) && !(p[0].revents & POLLIN)) {
		/* The terminal is gone without a SIGHUP reaching us. */
		restore_terminal();
		_exit(129);
	}
	if (n > 0 && p[1].revents)
		signal_event(react);
	if (n > 0 && p[2].revents) {
		int w = worker_event(ui);
		if (w == R_DRAW)
			*progress_due = true; /* drawn at the top of the loop when due */
		else
			*react |= w;
	}
	if (n > 0 && p[3].revents)
		*react |= suggest_event(ui);
	*react |= start_tick(ui);
	int key;
	while (!(*react & R_QUIT) && (key = next_key()) != -1)
		if (key)
			*react |= handle_key(ui, key);
	if (ui->worker.job != MA_JOB_NONE) {
		long secs = (long)((ma_now_ms() - ui->started_ms) / 1000);
		if (secs != ui->elapsed_s) {
			ui->elapsed_s = secs, *react |= R_DRAW;
			/* The Connection view shows the test's time in its lines. */
			if (ui->worker.job == MA_JOB_PROBE && ui->view == VIEW_CONNECTION)
				*react |= R_REBUILD;
		}
	}
	return -1;
}

/* Until the user quits: 0, or the exit status of a failure. */
static int event_loop(struct ui *ui, int react)
{
	int64_t last_draw = 0;
	bool progress_due = false;
	while (!(react & R_QUIT)) {
		if (progress_due && ma_now_ms() - last_draw >= PROGRESS_MS)
			react |= R_DRAW;
		if (react & R_DRAW) {
			draw(ui, react);
			last_draw = ma_now_ms();
			progress_due = false;
		}
		react = R_NONE;
		int rc = one_event(ui, last_draw, &progress_due, &react);
		if (rc >= 0)
			return rc;
	}
	return 0;
}

int ma_tui_run(const struct ma_tui_args *a)
{
	static struct ui ui_store;
	struct ui *ui = &ui_store;
	memset(ui, 0, sizeof *ui);
	ui->args = a;
	ui->match = -1;
	ma_i18n_init();
	ma_transport_init();
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, _("mailaudit: the full-screen program needs a terminal; "
			"use --report or --check otherwise\n"));
		return 3;
	}
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		perror("mailaudit: pipe");
		return 3;
	}
	set_handlers();
	atexit(restore_terminal);
	ui->utf8 = text_utf8_locale();
	text_set_utf8(ui->utf8);
	start_init(ui);
	SCREEN *scr = open_screen(ui);
	if (!scr)
		return 3;

	int react = R_DRAW | R_FULL;
	if (a->have_account) {
		start_prefill(ui, &a->acct, true);
		if (a->pwcmd || a->pwfile)
			react |= ui_start_audit(ui, &a->acct, NULL, a->pwcmd, a->pwfile, a->ca_file);
		else
			ui_set_status(ui, false, _("Type the password for %s, then Enter."), a->acct.login);
	}
	int rc = event_loop(ui, react);
	if (rc)
		return rc;
	/* As with --report: the verdict shown last, UNKNOWN without one. */
	rc = ui->result ? ma_severity_exit_code(ma_check_severity(ui->result)) : 3;
	ma_worker_cancel(&ui->worker);
	suggest_stop(ui);
	watch_free(ui);
	restore_terminal();
	delscreen(scr);
	drop_result(ui);
	ma_probe_result_free(ui->probe);
	free(ui->lines.v);
	OPENSSL_cleanse(ui->form.field[F_PASS], sizeof ui->form.field[F_PASS]);
	ma_password_forget();
	free(ui->export_path);
	ma_config_free(&ui->cfg);
	ma_rules_free(&ui->rules);
	return rc;
}
