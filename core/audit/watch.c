#include "audit/watch.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/ledger.h"
#include "base/i18n.h"
#include "base/parse.h"
#include "base/text.h"
#include "mail/imap.h"
#include "mail/imap_watch.h"
#include "store/history.h"

/* Arrivals in other folders remembered for matching a message that left
 * INBOX: a move shows there at most an interval before, usually at once. */
#define RECENT_ELSEWHERE 1024
/* Deletions kept for the rhythm: enough for a pattern, bounded. */
#define RHYTHM_WINDOW 64

struct wmsg {
	uint32_t uid, size;
	int64_t internaldate;
	time_t arrived;            /* when the watch saw it arrive; 0: there at the start */
	unsigned char key[32];     /* Message-ID hash, else of Date, From, Subject, size */
	char *date, *from, *subject; /* raw */
};

struct elsewhere {
	unsigned char key[32];
	size_t folder;             /* index into w->folders */
	bool used;
};

struct other {
	struct ma_folder f;        /* name, raw_name, special; uidnext as last looked at */
	bool known;                /* uidnext read at least once */
};

/* One change read from the INBOX session, in order. */
struct change {
	enum ma_imap_change what;
	uint32_t n;
};

struct watch {
	const struct ma_account *acct;
	const char *password;
	const struct ma_watch_opts *o;
	struct ma_net_opts net;
	struct ma_watch_summary *sum;

	struct ma_imap *a;         /* on INBOX */
	struct ma_imap *b;         /* the other folders; NULL if none or refused */
	bool idle;                 /* the server has IDLE and we use it */
	int interval;

	uint32_t uidvalidity;
	struct wmsg *msgs;         /* by ascending UID */
	size_t n, cap;
	uint32_t exists;           /* the server's count as its EXISTS/EXPUNGE said */

	struct change *ch;
	size_t nch, capch;
	bool ch_oom;

	struct other *others;
	size_t nothers;
	struct elsewhere ring[RECENT_ELSEWHERE];
	size_t ring_next;

	struct ma_rhythm_event deaths[RHYTHM_WINDOW];
	size_t ndeaths, death_next;
	char last_rhythm[sizeof ((struct ma_rhythm *)0)->text];

	struct ma_history *h;
	int64_t account;
	bool history_failed;
};

static time_t now_s(const struct watch *w)
{
	return w->o->clock ? w->o->clock() : time(NULL);
}

static void emit(struct watch *w, struct ma_watch_event *e)
{
	if (!e->when)
		e->when = now_s(w);
	if (!e->folder)
		e->folder = "INBOX";
	if (w->o->cb)
		w->o->cb(e, w->o->ctx);
}

static void emit_text(struct watch *w, enum ma_watch_kind k, const char *text)
{
	struct ma_watch_event e = { .kind = k, .text = text };
	emit(w, &e);
}

static void wmsg_clear(struct wmsg *m)
{
	free(m->date);
	free(m->from);
	free(m->subject);
	memset(m, 0, sizeof *m);
}

static void key_of(const struct ma_message *m, unsigned char key[32])
{
	if (m->message_id) {
		ma_msgid_hash(m->message_id, key);
		return;
	}
	/* No Message-ID: what else a copy in another folder has the same. */
	char *s = NULL;
	if (asprintf(&s, "\n%s\n%s\n%s\n%u", m->date ? m->date : "", m->from ? m->from : "",
		     m->subject ? m->subject : "", m->size) < 0)
		s = NULL;
	ma_msgid_hash(s ? s : "", key);
	free(s);
}

/* ---- the INBOX session's changes ------------------------------------- */

static void on_change(enum ma_imap_change what, uint32_t n, void *ctx)
{
	struct watch *w = ctx;
	if (w->nch == w->capch) {
		size_t cap = w->capch ? w->capch * 2 : 16;
		struct change *c = realloc(w->ch, cap * sizeof *c);
		if (!c) {
			w->ch_oom = true;
			return;
		}
		w->ch = c;
		w->capch = cap;
	}
	w->ch[w->nch++] = (struct change){ what, n };
}

/* Messages fetched into a growing array (sorted by UID as they come). */
struct fetched {
	struct wmsg *v;
	size_t n, cap;
	bool oom;
};

static int on_msg(struct ma_message *m, void *ctx)
{
	struct fetched *f = ctx;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct wmsg *v = realloc(f->v, cap * sizeof *v);
		if (!v) {
			f->oom = true;
			return 1;
		}
		f->v = v;
		f->cap = cap;
	}
	struct wmsg *x = &f->v[f->n++];
	memset(x, 0, sizeof *x);
	x->uid = m->uid;
	x->size = m->size;
	x->internaldate = m->internaldate;
	key_of(m, x->key);
	x->date = m->date, m->date = NULL;
	x->from = m->from, m->from = NULL;
	x->subject = m->subject, m->subject = NULL;
	return 0;
}

static int cmp_wmsg(const void *a, const void *b)
{
	const struct wmsg *x = a, *y = b;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static void fetched_free(struct fetched *f)
{
	for (size_t i = 0; i < f->n; i++)
		wmsg_clear(&f->v[i]);
	free(f->v);
	memset(f, 0, sizeof *f);
}

/* Every message of INBOX with a UID >= from, sorted, each UID once. */
static ma_status fetch_from(struct watch *w, uint32_t from, struct fetched *f, struct ma_error *err)
{
	memset(f, 0, sizeof *f);
	ma_status st = ma_imap_watch_fetch(w->a, from, on_msg, f, on_change, w, err);
	if (st == MA_OK && f->oom)
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
	if (st != MA_OK) {
		fetched_free(f);
		return st;
	}
	if (f->n > 1)
		qsort(f->v, f->n, sizeof *f->v, cmp_wmsg);
	size_t k = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (k && f->v[k - 1].uid == f->v[i].uid)
			wmsg_clear(&f->v[i]);
		else
			f->v[k++] = f->v[i];
	}
	f->n = k;
	return MA_OK;
}

static bool grow(struct watch *w, size_t need)
{
	if (need <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 64;
	while (cap < need)
		cap *= 2;
	struct wmsg *v = realloc(w->msgs, cap * sizeof *v);
	if (!v)
		return false;
	w->msgs = v;
	w->cap = cap;
	return true;
}

/* ---- events ----------------------------------------------------------- */

static void message_event(struct watch *w, enum ma_watch_kind k, const struct wmsg *m,
			  const char *to, time_t when)
{
	char *from = m->from ? ma_rfc2047_decode(m->from, strlen(m->from)) : NULL;
	char *subject = m->subject ? ma_rfc2047_decode(m->subject, strlen(m->subject)) : NULL;
	struct ma_watch_event e = {
		.kind = k, .when = when, .to = to, .internaldate = m->internaldate,
		.from = from ? from : m->from, .subject = subject ? subject : m->subject,
		.uid = m->uid, .size = m->size,
	};
	emit(w, &e);
	free(from);
	free(subject);
}

static void arrived(struct watch *w, const struct wmsg *m)
{
	w->sum->arrived++;
	message_event(w, MA_WATCH_ARRIVED, m, NULL, m->arrived);
}

/* ---- the other folders ------------------------------------------------ */

static ma_status open_session(struct watch *w, const char *name, struct ma_imap **out,
			      struct ma_error *err)
{
	*out = NULL;
	ma_status st = ma_imap_open_as(&w->acct->imap, &w->net, w->o->trace, name, out, err);
	if (st == MA_OK)
		st = ma_imap_login(*out, w->acct->login, w->password, err);
	if (st != MA_OK) {
		ma_imap_close(*out);
		*out = NULL;
	}
	return st;
}

static void others_free(struct watch *w)
{
	for (size_t i = 0; i < w->nothers; i++)
		ma_folder_clear(&w->others[i].f);
	free(w->others);
	w->others = NULL;
	w->nothers = 0;
}

static void remember_elsewhere(struct watch *w, const unsigned char key[32], size_t folder)
{
	struct elsewhere *x = &w->ring[w->ring_next];
	memcpy(x->key, key, 32);
	x->folder = folder;
	x->used = true;
	w->ring_next = (w->ring_next + 1) % RECENT_ELSEWHERE;
}

struct other_fetch {
	struct watch *w;
	size_t folder;
};

static int on_other_msg(struct ma_message *m, void *ctx)
{
	struct other_fetch *of = ctx;
	unsigned char key[32];
	key_of(m, key);
	remember_elsewhere(of->w, key, of->folder);
	return 0;
}

/* STATUS of every other folder; the messages that arrived in one since
 * the last look are remembered for matching (learn), or only counted. */
static ma_status look_elsewhere(struct watch *w, bool learn, struct ma_error *err)
{
	if (!w->b)
		return MA_OK;
	ma_status st = MA_OK;
	for (size_t i = 0; i < w->nothers && st == MA_OK; i++) {
		struct other *x = &w->others[i];
		uint32_t before = x->f.uidnext, validity = x->f.uidvalidity;
		if ((st = ma_imap_status(w->b, &x->f, err)) != MA_OK)
			break;
		bool grew = x->known && x->f.uidvalidity == validity && x->f.uidnext > before;
		if (grew && learn) {
			struct other_fetch of = { w, i };
			if ((st = ma_imap_examine(w->b, &x->f, err)) == MA_OK)
				st = ma_imap_watch_fetch(w->b, before, on_other_msg, &of, NULL, NULL, err);
		}
		x->known = true;
	}
	return st;
}

/* Where m went, if a copy arrived in another folder; the match is used up. */
static const char *found_elsewhere(struct watch *w, const struct wmsg *m)
{
	for (size_t k = 0; k < RECENT_ELSEWHERE; k++) {
		size_t i = (w->ring_next + RECENT_ELSEWHERE - 1 - k) % RECENT_ELSEWHERE;
		struct elsewhere *x = &w->ring[i];
		if (x->used && memcmp(x->key, m->key, 32) == 0 && x->folder < w->nothers) {
			x->used = false;
			return w->others[x->folder].f.name;
		}
	}
	return NULL;
}

/* ---- losses ----------------------------------------------------------- */

static void rhythm_note(struct watch *w, const struct wmsg *m, time_t when)
{
	struct ma_rhythm_event *d = &w->deaths[w->death_next];
	d->arrived = m->arrived ? m->arrived : m->internaldate;
	d->deleted = when;
	w->death_next = (w->death_next + 1) % RHYTHM_WINDOW;
	if (w->ndeaths < RHYTHM_WINDOW)
		w->ndeaths++;
}

static void rhythm_check(struct watch *w)
{
	if (w->ndeaths < MA_RHYTHM_MIN)
		return;
	struct ma_rhythm r;
	ma_rhythm_analyze(w->deaths, w->ndeaths, &r);
	if (!r.text[0] || strcmp(r.text, w->last_rhythm) == 0)
		return;
	snprintf(w->last_rhythm, sizeof w->last_rhythm, "%s", r.text);
	w->sum->rhythm = true;
	struct ma_watch_event e = { .kind = MA_WATCH_RHYTHM, .text = r.text, .rhythm = &r };
	emit(w, &e);
}

static ma_status open_history(struct watch *w, struct ma_error *err);

/* The messages that left INBOX: moved or destroyed (vanished when the
 * watch was away), the destroyed ones recorded. gone[] is freed. */
static ma_status classify(struct watch *w, struct wmsg *gone, size_t n, bool while_away,
			  struct ma_error *err)
{
	if (!n)
		return MA_OK;
	ma_status st = look_elsewhere(w, true, err);
	time_t when = now_s(w);
	struct ma_watch_loss *losses = calloc(n, sizeof *losses);
	size_t nl = 0;
	for (size_t i = 0; i < n; i++) {
		const char *to = found_elsewhere(w, &gone[i]);
		if (to) {
			w->sum->moved++;
			message_event(w, MA_WATCH_MOVED, &gone[i], to, when);
			continue;
		}
		if (while_away)
			w->sum->vanished++;
		else
			w->sum->destroyed++;
		message_event(w, while_away ? MA_WATCH_VANISHED : MA_WATCH_DESTROYED, &gone[i], NULL,
			      when);
		if (!while_away)
			rhythm_note(w, &gone[i], when);
		if (losses)
			losses[nl++] = (struct ma_watch_loss){
				.folder = "INBOX", .role = MA_ROLE_INBOX, .size = gone[i].size,
				.internaldate = gone[i].internaldate, .date = gone[i].date,
				.from = gone[i].from, .subject = gone[i].subject, .last_seen = when,
			};
	}
	if (nl && !w->o->no_history && !w->history_failed) {
		/* Opened for each batch, not held: losses are rare, and a
		 * watch of days should neither keep SQLite's page cache
		 * growing nor hold the file. */
		struct ma_error herr = { 0 };
		if (open_history(w, &herr) != MA_OK ||
		    ma_history_put_watch_losses(w->h, w->account, when, losses, nl, &herr) != MA_OK) {
			char buf[700], text[800];
			ma_error_format(&herr, buf, sizeof buf);
			snprintf(text, sizeof text, _("the history could not record the losses: %s"), buf);
			emit_text(w, MA_WATCH_DISCONNECTED, text);
			w->history_failed = true;
		}
		ma_history_close(w->h);
		w->h = NULL;
	}
	free(losses);
	for (size_t i = 0; i < n; i++)
		wmsg_clear(&gone[i]);
	rhythm_check(w);
	/* A look elsewhere that failed is a dropped connection like any. */
	return st;
}

/* ---- INBOX: applying changes ------------------------------------------ */

/* INBOX read whole into f becomes the list (w's old one freed by the
 * caller); the ng messages gone (taken) are then classified. */
static ma_status adopt(struct watch *w, struct fetched *f, struct wmsg *gone, size_t ng,
		       bool while_away, struct ma_error *err)
{
	w->msgs = f->v;
	w->n = f->n;
	w->cap = f->cap;
	w->exists = (uint32_t)f->n;
	ma_status st = classify(w, gone, ng, while_away, err);
	free(gone);
	return st;
}

/* The whole INBOX again (after reconnecting, or when the counts disagree):
 * what is gone was missed, what is new arrived. */
static ma_status resync(struct watch *w, bool while_away, struct ma_error *err)
{
	struct fetched f;
	ma_status st;
	/* A change reported while the whole INBOX was being read leaves it
	 * unclear whether the answer has that message: read it again (a few
	 * times at most: INBOX does not change that fast for long). */
	for (int tries = 0;; tries++) {
		w->nch = 0;
		if ((st = fetch_from(w, 1, &f, err)) != MA_OK)
			return st;
		if (!w->nch || tries == 3)
			break;
		fetched_free(&f);
	}
	w->nch = 0;
	time_t now = now_s(w);
	struct wmsg *gone = calloc(w->n ? w->n : 1, sizeof *gone);
	if (!gone) {
		fetched_free(&f);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	size_t ng = 0, i = 0, j = 0;
	while (i < w->n || j < f.n) {
		if (j >= f.n || (i < w->n && w->msgs[i].uid < f.v[j].uid)) {
			gone[ng++] = w->msgs[i++];
		} else if (i >= w->n || f.v[j].uid < w->msgs[i].uid) {
			f.v[j].arrived = now;
			arrived(w, &f.v[j]);
			j++;
		} else {
			/* Known: keep when it arrived. */
			f.v[j].arrived = w->msgs[i].arrived;
			wmsg_clear(&w->msgs[i]);
			i++, j++;
		}
	}
	free(w->msgs);
	return adopt(w, &f, gone, ng, while_away, err);
}

/* Applies the changes read so far: EXPUNGE n takes the n-th message (by
 * sequence number, which is the order of UIDs), EXISTS brings new ones,
 * fetched by UID. */
static ma_status apply_changes(struct watch *w, struct ma_error *err)
{
	if (w->ch_oom)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	if (!w->nch)
		return MA_OK;
	size_t nexp = 0;
	for (size_t i = 0; i < w->nch; i++)
		nexp += w->ch[i].what == MA_IMAP_EXPUNGE;
	struct wmsg *gone = calloc(nexp ? nexp : 1, sizeof *gone);
	if (!gone)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	size_t ng = 0;
	bool confused = false;
	for (size_t i = 0; i < w->nch; i++) {
		struct change c = w->ch[i];
		if (c.what == MA_IMAP_EXISTS) {
			w->exists = c.n;
			continue;
		}
		if (c.n == 0 || c.n > w->exists) {
			confused = true;
			continue;
		}
		w->exists--;
		if (c.n <= w->n) {
			gone[ng++] = w->msgs[c.n - 1];
			memmove(&w->msgs[c.n - 1], &w->msgs[c.n], (w->n - c.n) * sizeof *w->msgs);
			w->n--;
		} else {
			/* Arrived and left before its headers could be read
			 * (within one NOOP interval): unnamed, but not unseen. */
			gone[ng] = (struct wmsg){ .arrived = now_s(w) };
			memset(gone[ng].key, 0xff, sizeof gone[ng].key);
			ng++;
		}
	}
	w->nch = 0;
	ma_status st = MA_OK;
	if (w->exists > w->n && !confused) {
		struct fetched f;
		uint32_t from = w->n ? w->msgs[w->n - 1].uid + 1 : 1;
		st = fetch_from(w, from, &f, err);
		if (st == MA_OK && !grow(w, w->n + f.n))
			st = ma_fail(err, MA_ERR_NOMEM, NULL);
		if (st == MA_OK) {
			time_t now = now_s(w);
			for (size_t j = 0; j < f.n; j++) {
				f.v[j].arrived = now;
				w->msgs[w->n++] = f.v[j];
				arrived(w, &f.v[j]);
			}
			free(f.v);
		}
		/* An EXPUNGE read during the fetch numbers messages as they
		 * were before or after some of those fetched: not to be
		 * mapped; the whole INBOX is compared instead. */
		if (st == MA_OK && w->nch) {
			w->nch = 0;
			confused = true;
		}
	}
	if (st == MA_OK)
		st = classify(w, gone, ng, false, err);
	else
		for (size_t i = 0; i < ng; i++)
			wmsg_clear(&gone[i]);
	free(gone);
	if (st == MA_OK && w->nch)
		st = apply_changes(w, err);
	if (st == MA_OK && (confused || w->exists != w->n))
		st = resync(w, false, err);
	return st;
}

/* ---- connecting ------------------------------------------------------- */

static void disconnect(struct watch *w)
{
	ma_imap_close(w->a);
	ma_imap_close(w->b);
	w->a = w->b = NULL;
	w->nch = 0;
	w->ch_oom = false;
}

static int by_key(const void *a, const void *b)
{
	return memcmp(((const struct wmsg *)a)->key, ((const struct wmsg *)b)->key, 32);
}

/* INBOX came back under another UIDVALIDITY (recreated, restored, a lost
 * dovecot-uidlist): its UIDs name other messages now. Each message known
 * before is looked for by its headers' key; one not found vanished while
 * the watch was away, one not known before arrived. */
static ma_status resync_renumbered(struct watch *w, struct ma_error *err)
{
	struct fetched f;
	ma_status st = fetch_from(w, 1, &f, err);
	if (st != MA_OK)
		return st;
	w->nch = 0;
	time_t now = now_s(w);
	struct wmsg *old = w->msgs, *gone = calloc(w->n ? w->n : 1, sizeof *gone);
	bool *seen = calloc(f.n ? f.n : 1, sizeof *seen);
	if (!gone || !seen) {
		free(gone);
		free(seen);
		fetched_free(&f);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	size_t nold = w->n, ng = 0;
	/* Both sides by key: one pass pairs them (equal keys in order). */
	qsort(old, nold, sizeof *old, by_key);
	struct wmsg *now_by_key = malloc((f.n ? f.n : 1) * sizeof *now_by_key);
	size_t *idx = malloc((f.n ? f.n : 1) * sizeof *idx);
	if (!now_by_key || !idx) {
		free(now_by_key);
		free(idx);
		free(gone);
		free(seen);
		fetched_free(&f);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	for (size_t j = 0; j < f.n; j++) {
		now_by_key[j] = f.v[j];
		now_by_key[j].uid = (uint32_t)j; /* its place in f.v */
	}
	qsort(now_by_key, f.n, sizeof *now_by_key, by_key);
	for (size_t j = 0; j < f.n; j++)
		idx[j] = now_by_key[j].uid;
	size_t i = 0, j = 0;
	while (i < nold) {
		int c = j < f.n ? memcmp(old[i].key, now_by_key[j].key, 32) : -1;
		if (c < 0) {
			gone[ng++] = old[i++];
		} else if (c > 0) {
			j++;
		} else {
			f.v[idx[j]].arrived = old[i].arrived;
			seen[idx[j]] = true;
			wmsg_clear(&old[i]);
			i++, j++;
		}
	}
	free(now_by_key);
	free(idx);
	for (size_t k = 0; k < f.n; k++)
		if (!seen[k]) {
			f.v[k].arrived = now;
			arrived(w, &f.v[k]);
		}
	free(seen);
	free(old);
	return adopt(w, &f, gone, ng, true, err);
}

static ma_status connect_all(struct watch *w, bool again, struct ma_error *err)
{
	ma_status st = open_session(w, "imap", &w->a, err);
	if (st != MA_OK)
		return st;
	struct ma_folder *folders = NULL;
	size_t nf = 0;
	if ((st = ma_imap_list(w->a, &folders, &nf, err)) != MA_OK)
		return st;
	struct ma_folder inbox = { 0 };
	if (!again) {
		others_free(w);
		w->others = calloc(nf ? nf : 1, sizeof *w->others);
		if (!w->others)
			st = ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	for (size_t i = 0; i < nf; i++) {
		if (strcmp(folders[i].name, "INBOX") == 0 && !inbox.raw_name) {
			inbox = folders[i];
			memset(&folders[i], 0, sizeof folders[i]);
		} else if (!again && st == MA_OK && !folders[i].noselect) {
			w->others[w->nothers++].f = folders[i];
			memset(&folders[i], 0, sizeof folders[i]);
		}
		ma_folder_clear(&folders[i]);
	}
	free(folders);
	if (st == MA_OK && !inbox.raw_name) {
		inbox.name = strdup("INBOX");
		inbox.raw_name = strdup("INBOX");
		if (!inbox.name || !inbox.raw_name)
			st = ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	if (st == MA_OK)
		st = ma_imap_examine(w->a, &inbox, err);
	uint32_t validity = inbox.uidvalidity;
	ma_folder_clear(&inbox);
	if (st != MA_OK)
		return st;
	w->idle = !w->o->no_idle && ma_imap_has_cap(w->a, "IDLE");
	/* Every UID renumbered while away: the messages are compared by their
	 * headers instead (resync_renumbered), never dropped unseen. */
	bool renumbered = again && validity != w->uidvalidity;
	w->uidvalidity = validity;
	/* The other folders through a session of their own: a server that
	 * refuses a second one only costs the moved/destroyed distinction.
	 * Opened before INBOX is compared after a reconnect, so that what
	 * moved meanwhile is found where it went. */
	if (w->nothers) {
		struct ma_error e2 = { 0 };
		if (open_session(w, "imap2", &w->b, &e2) == MA_OK && !again &&
		    look_elsewhere(w, false, &e2) != MA_OK) {
			ma_imap_close(w->b);
			w->b = NULL;
		}
	}
	if (renumbered) {
		if ((st = resync_renumbered(w, err)) != MA_OK)
			return st;
	} else if (again) {
		if ((st = resync(w, true, err)) != MA_OK)
			return st;
	} else {
		struct fetched f;
		if ((st = fetch_from(w, 1, &f, err)) != MA_OK)
			return st;
		free(w->msgs);
		w->msgs = f.v;
		w->n = f.n;
		w->cap = f.cap;
		w->exists = (uint32_t)f.n;
		w->nch = 0;
	}
	return MA_OK;
}

/* Errors no retry mends: the user must change something. */
static bool fatal(ma_status st)
{
	switch (st) {
	case MA_ERR_LOGIN: case MA_ERR_CERT_EXPIRED: case MA_ERR_CERT_NOT_YET_VALID:
	case MA_ERR_CERT_NAME_MISMATCH: case MA_ERR_CERT_UNTRUSTED: case MA_ERR_CERT_SELF_SIGNED:
	case MA_ERR_CERT_INVALID: case MA_ERR_STARTTLS_MISSING: case MA_ERR_STARTTLS_INJECTION:
	case MA_ERR_UNENCRYPTED: case MA_ERR_PLAINTEXT_REFUSED: case MA_ERR_BAD_CREDENTIAL:
	case MA_ERR_NOMEM: case MA_ERR_ARGUMENT: case MA_ERR_WRONG_PORT: case MA_ERR_HOST_UNKNOWN:
	case MA_ERR_TOO_LARGE:
		return true;
	default:
		return false;
	}
}

/* The end of the run: --deadline, or Ctrl-C / SIGTERM through the cancel fd. */
static bool ended(const struct watch *w)
{
	if (w->net.run_deadline_ms && ma_now_ms() >= w->net.run_deadline_ms)
		return true;
	if (w->net.cancel_fd >= 0) {
		struct pollfd p = { .fd = w->net.cancel_fd, .events = POLLIN };
		if (poll(&p, 1, 0) > 0)
			return true;
	}
	return false;
}

/* Sleeps until until_ms, the deadline or a cancel, whichever is first. */
static void pause_until(const struct watch *w, int64_t until_ms)
{
	if (w->net.run_deadline_ms && w->net.run_deadline_ms < until_ms)
		until_ms = w->net.run_deadline_ms;
	for (;;) {
		int64_t left = until_ms - ma_now_ms();
		if (left <= 0)
			return;
		struct pollfd p = { .fd = w->net.cancel_fd, .events = POLLIN };
		int r = poll(&p, w->net.cancel_fd >= 0 ? 1 : 0, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return;
		if (r < 0 && errno != EINTR)
			return;
	}
}

/* ---- the watch -------------------------------------------------------- */

/* One round: wait for a change (IDLE or the next NOOP), apply it, look at
 * the other folders when the interval is up. */
static ma_status round_once(struct watch *w, int64_t *next_look, struct ma_error *err)
{
	ma_status st;
	int64_t now = ma_now_ms();
	if (w->idle) {
		int renew = w->o->idle_renew_s > 0 ? w->o->idle_renew_s : MA_WATCH_IDLE_RENEW_S;
		int64_t until = now + (int64_t)renew * 1000;
		if (w->b && *next_look < until)
			until = *next_look;
		if (w->net.run_deadline_ms && w->net.run_deadline_ms < until)
			until = w->net.run_deadline_ms;
		bool changed = false;
		if ((st = ma_imap_idle_start(w->a, on_change, w, err)) != MA_OK)
			return st;
		if (!w->nch && (st = ma_imap_idle_wait(w->a, until, on_change, w, &changed, err)) != MA_OK)
			return st;
		if ((st = ma_imap_idle_done(w->a, on_change, w, err)) != MA_OK)
			return st;
	} else {
		int64_t until = now + (int64_t)w->interval * 1000;
		pause_until(w, until);
		if (ended(w))
			return MA_OK;
		if ((st = ma_imap_noop(w->a, on_change, w, err)) != MA_OK)
			return st;
	}
	if ((st = apply_changes(w, err)) != MA_OK)
		return st;
	if (ma_now_ms() >= *next_look) {
		*next_look = ma_now_ms() + (int64_t)w->interval * 1000;
		if ((st = look_elsewhere(w, true, err)) != MA_OK)
			return st;
	}
	return MA_OK;
}

/* The account's history, in w->h. */
static ma_status open_history(struct watch *w, struct ma_error *err)
{
	const char *host;
	uint32_t port_key;
	ma_ledger_key(w->acct, &host, &port_key);
	ma_status st = ma_history_open(w->o->state_dir, &w->h, err);
	if (st == MA_OK)
		st = ma_history_account(w->h, w->acct->login, host, port_key, &w->account, err);
	if (st != MA_OK) {
		ma_history_close(w->h);
		w->h = NULL;
	}
	return st;
}

ma_status ma_watch_run(const struct ma_account *acct, const char *password,
		       const struct ma_watch_opts *o, struct ma_watch_summary *sum,
		       struct ma_error *err)
{
	memset(sum, 0, sizeof *sum);
	if (!acct->has_imap)
		return ma_fail(err, MA_ERR_ARGUMENT, "%s", _("--watch needs an IMAP server (--imap)"));
	struct watch *w = calloc(1, sizeof *w);
	if (!w)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	w->acct = acct;
	w->password = password;
	w->o = o;
	w->net = o->net;
	w->net.deadline_s = 0; /* a watch has no end of its own */
	w->sum = sum;
	w->interval = o->interval_s > 0 ? o->interval_s : MA_WATCH_INTERVAL_S;

	/* The history is looked at once before the watch begins, so that
	 * one that cannot be written is said at the start. */
	ma_status st = MA_OK;
	if (!o->no_history && (st = open_history(w, err)) == MA_OK) {
		ma_history_close(w->h);
		w->h = NULL;
	}
	if (st == MA_OK)
		st = connect_all(w, false, err);
	if (st == MA_OK) {
		char text[400];
		/* English says "messages" whatever the count; the count picks a
		 * language's form. */
		if (w->idle)
			snprintf(text, sizeof text,
				 P_("%zu messages; waiting with IDLE, other folders every %d s",
				    "%zu messages; waiting with IDLE, other folders every %d s", w->n),
				 w->n, w->interval);
		else
			snprintf(text, sizeof text,
				 P_("%zu messages; polling with NOOP every %d s",
				    "%zu messages; polling with NOOP every %d s", w->n),
				 w->n, w->interval);
		emit_text(w, MA_WATCH_WATCHING, text);
	}
	int64_t next_look = ma_now_ms() + (int64_t)w->interval * 1000;
	while (st == MA_OK && !ended(w)) {
		st = round_once(w, &next_look, err);
		if (st == MA_OK || ended(w) || fatal(st))
			continue;
		/* Dropped: retry with backoff until it is back or the run ends. */
		char why[600], text[800];
		ma_error_format(err, why, sizeof why);
		snprintf(text, sizeof text, _("%s; trying again"), why);
		emit_text(w, MA_WATCH_DISCONNECTED, text);
		int64_t away = ma_now_ms();
		int wait = 1;
		for (;;) {
			disconnect(w);
			struct ma_watch_event re = { .kind = MA_WATCH_RETRYING, .retry_s = wait };
			emit(w, &re);
			pause_until(w, ma_now_ms() + (int64_t)wait * 1000);
			if (ended(w)) {
				st = MA_OK;
				break;
			}
			*err = (struct ma_error){ 0 };
			uint64_t before = sum->vanished + sum->moved;
			st = connect_all(w, true, err);
			if (st == MA_OK) {
				sum->reconnects++;
				uint64_t left = sum->vanished + sum->moved - before;
				snprintf(text, sizeof text,
					 P_("after %lld s; %llu message left meanwhile",
					    "after %lld s; %llu messages left meanwhile", left),
					 (long long)((ma_now_ms() - away + 500) / 1000), (unsigned long long)left);
				emit_text(w, MA_WATCH_RECONNECTED, text);
				next_look = ma_now_ms() + (int64_t)w->interval * 1000;
				break;
			}
			if (fatal(st) || ended(w))
				break;
			wait = wait * 2 > MA_WATCH_BACKOFF_MAX_S ? MA_WATCH_BACKOFF_MAX_S : wait * 2;
		}
	}
	/* The deadline or a cancel cut a command short: that is the end asked
	 * for, not a failure. */
	if (st != MA_OK && !fatal(st) && ended(w))
		st = MA_OK;
	if (st == MA_ERR_DEADLINE || st == MA_ERR_CANCELLED)
		st = MA_OK;
	disconnect(w);
	others_free(w);
	for (size_t i = 0; i < w->n; i++)
		wmsg_clear(&w->msgs[i]);
	free(w->msgs);
	free(w->ch);
	free(w);
	return st;
}

char *ma_watch_line(const struct ma_watch_event *e)
{
	/* TRANSLATORS: the event words of a --watch line. Each stays one word
	 * (join words with hyphens): the line's fields are separated by two
	 * spaces. */
	static const char *const names[] = {
		[MA_WATCH_WATCHING] = N_("watching"), [MA_WATCH_ARRIVED] = N_("arrived"),
		[MA_WATCH_MOVED] = N_("moved"), [MA_WATCH_DESTROYED] = N_("destroyed"),
		[MA_WATCH_VANISHED] = N_("vanished-while-disconnected"),
		[MA_WATCH_DISCONNECTED] = N_("disconnected"), [MA_WATCH_RECONNECTED] = N_("reconnected"),
		[MA_WATCH_RHYTHM] = N_("rhythm"),
	};
	if (e->kind == MA_WATCH_RETRYING)
		return NULL;
	struct ma_buf b = { 0 };
	char when[48];
	struct tm tm;
	time_t t = e->when;
	if (!localtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", &tm))
		snprintf(when, sizeof when, "%lld", (long long)t);
	ma_buf_printf(&b, "%s  %s  ", when, _(names[e->kind]));
	ma_buf_clean(&b, e->folder ? e->folder : "INBOX", 60);
	switch (e->kind) {
	case MA_WATCH_ARRIVED: case MA_WATCH_MOVED: case MA_WATCH_DESTROYED: case MA_WATCH_VANISHED: {
		char server[48];
		snprintf(server, sizeof server, "%s", _("date unknown"));
		time_t it = (time_t)e->internaldate;
		if (it > 0 && localtime_r(&it, &tm))
			strftime(server, sizeof server, "%Y-%m-%d %H:%M", &tm);
		ma_buf_printf(&b, "  %s  ", server);
		ma_buf_clean(&b, e->from ? e->from : _("(no sender)"), 60);
		ma_buf_add(&b, "  ", 2);
		ma_buf_clean(&b, e->subject ? e->subject : _("(no subject)"), 120);
		if (e->kind == MA_WATCH_MOVED) {
			char to[256];
			ma_text_clean(to, sizeof to, e->to ? e->to : "?", strlen(e->to ? e->to : "?"), 60);
			ma_buf_printf(&b, _("  (now in %s)"), to);
		}
		break;
	}
	case MA_WATCH_RHYTHM:
		ma_buf_printf(&b, "%s", _("  deletion-rhythm: "));
		ma_buf_clean(&b, e->text ? e->text : "", 640);
		break;
	default:
		ma_buf_add(&b, "  ", 2);
		ma_buf_clean(&b, e->text ? e->text : "", 600);
		break;
	}
	return ma_buf_take(&b);
}
