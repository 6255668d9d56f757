/* The live view (w): the audited mailbox watched on the worker thread
 * (ma_watch_run), its events as they happen, the running counts, the
 * deleting device's rhythm once there is one.
 *
 * The watch's callback runs on the worker thread: it cleans each event into
 * a fixed ring of the last WATCH_KEEP under a mutex, and the worker wakes
 * the UI through its message pipe. The UI thread reads the ring when it
 * draws. A day of watching costs the ring and no more. */
#include <curses.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credentials.h"
#include "base/rhythm.h"
#include "base/text.h"
#include "tui_int.h"

#define WATCH_KEEP 1000

struct wv_event {
	time_t when;
	enum ma_watch_kind kind;
	char folder[128];          /* "INBOX", "INBOX -> Archive" */
	char from[160];
	char subject[400];         /* or the event's text */
};

enum wv_state { WV_STARTING, WV_WATCHING, WV_RETRYING, WV_ENDED };

struct watch_feed {
	pthread_mutex_t mu;
	/* Written by the watch's thread, read by the UI's, under mu. */
	struct wv_event ev[WATCH_KEEP];
	uint64_t total;            /* events ever stored; the newest is ev[(total - 1) % KEEP] */
	uint64_t arrived, moved, destroyed, vanished, reconnects;
	enum wv_state state;
	char how[300];             /* WATCHING's text */
	char why[300];             /* the last DISCONNECTED's text */
	int64_t retry_at_ms;       /* WV_RETRYING: when the next try comes */
	char rhythm[600];
	/* The UI thread's own. */
	char ended[800];
	int top;                   /* first shown row of the newest-first list */
	int head_rows;             /* rows above the list, as last drawn */
	uint64_t seen;             /* total when last drawn */
};

static void clean(char *out, size_t n, const char *s)
{
	if (!s)
		s = "";
	/* Cut where out is full (an ellipsis then ends it): ASCII names keep
	 * their length. */
	ma_text_clean(out, n, s, strlen(s), n - 1);
}

/* On the watch's thread. */
static void feed_cb(const struct ma_watch_event *e, void *ctx)
{
	struct watch_feed *f = ctx;
	pthread_mutex_lock(&f->mu);
	switch (e->kind) {
	case MA_WATCH_WATCHING:
		f->state = WV_WATCHING;
		clean(f->how, sizeof f->how, e->text);
		break;
	case MA_WATCH_ARRIVED: f->arrived++; break;
	case MA_WATCH_MOVED: f->moved++; break;
	case MA_WATCH_DESTROYED: f->destroyed++; break;
	case MA_WATCH_VANISHED: f->vanished++; break;
	case MA_WATCH_DISCONNECTED: clean(f->why, sizeof f->why, e->text); break;
	case MA_WATCH_RECONNECTED:
		f->reconnects++;
		f->state = WV_WATCHING;
		break;
	case MA_WATCH_RHYTHM: clean(f->rhythm, sizeof f->rhythm, e->text); break;
	case MA_WATCH_RETRYING:
		f->state = WV_RETRYING;
		f->retry_at_ms = ma_now_ms() + (int64_t)e->retry_s * 1000;
		/* A countdown, not an event of the mailbox. */
		pthread_mutex_unlock(&f->mu);
		return;
	}
	struct wv_event *v = &f->ev[f->total % WATCH_KEEP];
	memset(v, 0, sizeof *v);
	v->when = e->when;
	v->kind = e->kind;
	clean(v->folder, sizeof v->folder, e->folder ? e->folder : "INBOX");
	if (e->kind == MA_WATCH_MOVED) {
		char to[60];
		clean(to, sizeof to, e->to ? e->to : "?");
		size_t l = strlen(v->folder);
		snprintf(v->folder + l, sizeof v->folder - l, " -> %s", to);
	}
	switch (e->kind) {
	case MA_WATCH_ARRIVED: case MA_WATCH_MOVED: case MA_WATCH_DESTROYED: case MA_WATCH_VANISHED:
		clean(v->from, sizeof v->from, e->from ? e->from : _("(no sender)"));
		clean(v->subject, sizeof v->subject, e->subject ? e->subject : _("(no subject)"));
		break;
	default:
		clean(v->subject, sizeof v->subject, e->text);
		break;
	}
	f->total++;
	pthread_mutex_unlock(&f->mu);
}

/* An event's kind as its row names it: what happened to a message
 * ("arrived") or to the watch. */
static const char *kind_name(enum ma_watch_kind k)
{
	switch (k) {
	/* TRANSLATORS: a live view row's event: what happened to a message (zpráva přišla) */
	case MA_WATCH_WATCHING: return _("watching");
	case MA_WATCH_ARRIVED: return _("arrived");
	case MA_WATCH_MOVED: return _("moved");
	case MA_WATCH_DESTROYED: return _("destroyed");
	case MA_WATCH_VANISHED: return _("vanished");
	case MA_WATCH_DISCONNECTED: return _("disconnected");
	case MA_WATCH_RECONNECTED: return _("reconnected");
	case MA_WATCH_RHYTHM: return _("rhythm");
	case MA_WATCH_RETRYING: break;
	}
	return "";
}

/* The kind column's width: its longest name, in the language shown. */
static int kind_width(void)
{
	int kw = 0;
	for (int k = MA_WATCH_WATCHING; k <= MA_WATCH_RETRYING; k++) {
		int c = text_cols(kind_name((enum ma_watch_kind)k));
		kw = c > kw ? c : kw;
	}
	return kw;
}

static int kind_attr(enum ma_watch_kind k)
{
	switch (k) {
	case MA_WATCH_DESTROYED: case MA_WATCH_VANISHED: case MA_WATCH_RHYTHM: return ATTR_CRIT;
	case MA_WATCH_DISCONNECTED: return ATTR_WARN;
	case MA_WATCH_MOVED: return ATTR_OK;
	default: return ATTR_NONE;
	}
}

int watch_start(struct ui *ui)
{
	struct ma_error err = { 0 };
	char buf[700];
	if (ui->worker.job != MA_JOB_NONE) {
		ui_set_status(ui, false, "%s", _("A connection test is running: Esc cancels it."));
		return R_DRAW;
	}
	if (!ui->acct.has_imap) {
		ui_set_status(ui, true, "%s", _("Watching needs an IMAP server: POP3 shows no deletion as it "
			      "happens."));
		return R_DRAW;
	}
	char *password = ui_job_password(ui, &err);
	if (!password) {
		if (err.status != MA_OK) {
			ma_error_format(&err, buf, sizeof buf);
			ui_set_status(ui, true, _("Password: %s"), buf);
		} else {
			ui_set_status(ui, false, "%s", _("No password kept for this mailbox: press r and "
				      "type it, then w."));
		}
		return R_DRAW;
	}
	struct watch_feed *f = ui->watch;
	if (!f) {
		f = calloc(1, sizeof *f);
		if (!f) {
			ma_password_free(password);
			ui_set_status(ui, true, "%s", _("Cannot watch: out of memory."));
			return R_DRAW;
		}
		pthread_mutex_init(&f->mu, NULL);
		ui->watch = f;
	} else {
		/* A new watch starts a new list; no thread holds the old. */
		pthread_mutex_destroy(&f->mu);
		memset(f, 0, sizeof *f);
		pthread_mutex_init(&f->mu, NULL);
	}
	struct ma_audit_opts ao;
	ma_run_audit_opts(&ui->args->run, ui->ca_file, &ao);
	struct ma_watch_opts wo = { 0 };
	wo.net = ao.net;
	wo.state_dir = ao.state_dir;
	wo.no_history = ao.no_history;
	wo.cb = feed_cb;
	wo.ctx = f;
	if (ma_worker_start_watch(&ui->worker, &ui->acct, password, &wo, &err) != MA_OK) {
		ma_error_format(&err, buf, sizeof buf);
		ui_set_status(ui, true, _("The watch could not start: %s"), buf);
		return R_DRAW;
	}
	ui->started_ms = ma_now_ms();
	ui->elapsed_s = 0;
	ui->screen = SCR_WATCH;
	ui->status[0] = '\0';
	return R_DRAW | R_FULL;
}

int watch_finished(struct ui *ui)
{
	struct ma_worker *w = &ui->worker;
	struct watch_feed *f = ui->watch;
	ma_worker_join(w);
	if (w->status == MA_ERR_LOGIN && ui->pw_kept) {
		/* A refused password is not offered again. */
		ma_password_forget();
		ui->pw_kept = false;
	}
	char buf[700];
	if (w->status != MA_OK)
		ma_error_format(&w->err, buf, sizeof buf);
	else
		snprintf(buf, sizeof buf, "%s", _("stopped"));
	pthread_mutex_lock(&f->mu);
	f->state = WV_ENDED;
	pthread_mutex_unlock(&f->mu);
	snprintf(f->ended, sizeof f->ended, _("Ended: %s"), buf);
	return R_DRAW;
}

static void put_attr(struct ui *ui, int y, int attr, const char *s)
{
	int a = ui_attr(ui, attr);
	attron(a);
	text_put(y, 0, ui->cols, s);
	attroff(a);
}

/* "Arrived: 1   Moved: 0   ...": the counts apart by three spaces where
 * they fit in w columns, else by one, so that a narrow screen still shows
 * more of them. */
static void counts_line(const struct watch_feed *f, int w, char *out, size_t n)
{
	char c[5][100];
	snprintf(c[0], sizeof c[0], _("Arrived: %llu"), (unsigned long long)f->arrived);
	snprintf(c[1], sizeof c[1], _("Moved: %llu"), (unsigned long long)f->moved);
	snprintf(c[2], sizeof c[2], _("Destroyed: %llu"), (unsigned long long)f->destroyed);
	snprintf(c[3], sizeof c[3], _("Vanished: %llu"), (unsigned long long)f->vanished);
	snprintf(c[4], sizeof c[4], _("Reconnects: %llu"), (unsigned long long)f->reconnects);
	for (int gap = 3; gap >= 1; gap -= 2) {
		size_t o = 0;
		for (size_t i = 0; i < 5 && o < n; i++)
			o += (size_t)snprintf(out + o, n - o, "%*s%s", i ? gap : 0, "", c[i]);
		if (text_cols(out) <= w)
			return;
	}
}

static int list_rows(const struct ui *ui)
{
	/* The header as last drawn (at least title, state, counts, rhythm,
	 * rule) and the bottom line. */
	int head = ui->watch->head_rows > 5 ? ui->watch->head_rows : 5;
	int h = ui->rows - head - 1;
	return h > 1 ? h : 1;
}

/* text wrapped into at most max rows from y, the last ending in "..." when
 * cut; the rows used. */
static int put_wrapped(struct ui *ui, int y, int max, int attr, const char *text)
{
	struct lines L = { 0 };
	lines_wrap_hang(&L, ATTR_NONE, -1, 0, 2, ui->cols, text);
	int n = 0;
	for (; n < max && n < (int)L.n; n++) {
		char row[1300];
		size_t o = (size_t)snprintf(row, sizeof row, "%s", L.v[n].text);
		/* The last row takes the rest, for text_put to cut visibly. */
		for (size_t j = (size_t)n + 1; n == max - 1 && j < L.n && o < sizeof row; j++)
			o += (size_t)snprintf(row + o, sizeof row - o, " %s", L.v[j].text + 2);
		put_attr(ui, y + n, attr, row);
	}
	lines_clear(&L);
	free(L.v);
	return n ? n : 1;
}

static int stop(struct ui *ui)
{
	struct watch_feed *f = ui->watch;
	if (ui->worker.job == MA_JOB_WATCH)
		ma_worker_cancel(&ui->worker);
	pthread_mutex_lock(&f->mu);
	f->state = WV_ENDED;
	ui_set_status(ui, false, _("Watch stopped: %llu arrived, %llu moved, %llu destroyed, %llu vanished."),
		      (unsigned long long)f->arrived, (unsigned long long)f->moved,
		      (unsigned long long)f->destroyed, (unsigned long long)f->vanished);
	pthread_mutex_unlock(&f->mu);
	ui->screen = SCR_RESULTS;
	return R_DRAW | R_FULL | R_REBUILD;
}

int watch_key(struct ui *ui, enum ma_request req)
{
	struct watch_feed *f = ui->watch;
	switch (req) {
	case REQ_UP: f->top--; break;
	case REQ_DOWN: f->top++; break;
	case REQ_PGUP: f->top -= list_rows(ui); break;
	case REQ_PGDN: f->top += list_rows(ui); break;
	case REQ_HOME: f->top = 0; break;
	case REQ_END: f->top = WATCH_KEEP; break;
	case REQ_BACK: case REQ_QUIT: return stop(ui);
	case REQ_HELP: ui->help = true, ui->help_top = 0; break;
	default: return R_NONE;
	}
	return R_DRAW;
}

void watch_draw(struct ui *ui)
{
	struct watch_feed *f = ui->watch;
	char buf[1200];
	int w = ui->cols;
	pthread_mutex_lock(&f->mu);

	attron(A_REVERSE);
	move(0, 0);
	for (int i = 0; i < w; i++)
		addch(' ');
	buf[0] = ' ';
	snprintf(buf + 1, sizeof buf - 1, _("mailaudit: watching %s"), ui->acct.login);
	text_put(0, 0, w, buf);
	attroff(A_REVERSE);

	switch (f->state) {
	case WV_STARTING:
		snprintf(buf, sizeof buf, _("Connecting to %s ..."), ui->acct.imap.host);
		break;
	case WV_WATCHING:
		snprintf(buf, sizeof buf, _("Watching INBOX: %s"), f->how);
		break;
	case WV_RETRYING: {
		int64_t left = (f->retry_at_ms - ma_now_ms() + 999) / 1000;
		snprintf(buf, sizeof buf, _("Reconnecting in %lld s: %s"), (long long)(left > 0 ? left : 0),
			 f->why);
		break;
	}
	case WV_ENDED:
		snprintf(buf, sizeof buf, "%s", f->ended);
		break;
	}
	/* An error or a rhythm is read whole on a wide enough screen: two
	 * rows each where the terminal has them. */
	int two = ui->rows >= 16 ? 2 : 1;
	int y = 1 + put_wrapped(ui, 1, two, f->state == WV_WATCHING ? ATTR_BOLD : ATTR_WARN, buf);

	counts_line(f, w, buf, sizeof buf);
	put_attr(ui, y++, f->destroyed || f->vanished ? ATTR_CRIT : ATTR_NONE, buf);

	if (f->rhythm[0])
		snprintf(buf, sizeof buf, _("Rhythm: %s"), f->rhythm);
	else
		snprintf(buf, sizeof buf, P_("Rhythm: none yet (after %d destroyed message)",
					     "Rhythm: none yet (after %d destroyed messages)", MA_RHYTHM_MIN),
			 MA_RHYTHM_MIN);
	y += put_wrapped(ui, y, two, f->rhythm[0] ? ATTR_WARN : ATTR_NONE, buf);
	move(y, 0);
	for (int i = 0; i < w; i++)
		addch('-');
	f->head_rows = ++y;

	/* Newest first: what came while the user scrolled down stays out of
	 * the way rather than pushing the rows being read. */
	uint64_t shown = f->total < WATCH_KEEP ? f->total : WATCH_KEEP;
	if (f->top > 0 && f->total > f->seen)
		f->top += (int)(f->total - f->seen);
	f->seen = f->total;
	int h = list_rows(ui), kw = kind_width();
	char kind[64];
	if (f->top > (int)shown - h)
		f->top = (int)shown - h;
	if (f->top < 0)
		f->top = 0;
	if (!shown)
		text_put(y, 0, w, _("No events yet."));
	for (int i = 0; i < h && (uint64_t)(f->top + i) < shown; i++) {
		const struct wv_event *v = &f->ev[(f->total - 1 - (uint64_t)(f->top + i)) % WATCH_KEEP];
		char when[MA_FMT_LEN];
		ma_fmt_time(v->when, when);
		/* Padded by columns: a translated kind has letters of two bytes. */
		text_cell(kind, sizeof kind, kind_name(v->kind), kw, false);
		if (v->from[0]) {
			/* Where both do not fit, From gives way: the Subject is
			 * what names a message to its owner. */
			char from[700];
			snprintf(buf, sizeof buf, "%s  %s %s  ", when, kind, v->folder);
			int room = w - text_cols(buf) - 2;
			int fc = text_cols(v->from);
			if (fc + text_cols(v->subject) > room) {
				int fw = room * 2 / 5 < 12 ? 12 : room * 2 / 5;
				if (fc > fw)
					fc = fw;
			}
			text_cell(from, sizeof from, v->from, fc, false);
			size_t l = strlen(buf);
			snprintf(buf + l, sizeof buf - l, "%s  %s", from, v->subject);
		} else
			snprintf(buf, sizeof buf, "%s  %s %s  %s", when, kind, v->folder,
				 v->subject);
		put_attr(ui, y + i, kind_attr(v->kind), buf);
	}
	pthread_mutex_unlock(&f->mu);
}

void watch_free(struct ui *ui)
{
	if (!ui->watch)
		return;
	pthread_mutex_destroy(&ui->watch->mu);
	free(ui->watch);
	ui->watch = NULL;
}
