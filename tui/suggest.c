/* The start form's server lookup: the RFC 6186 SRV records and the MX
 * records of the address's domain, asked on a thread of their own so the
 * screen stays live (Esc, typing) while a resolver takes its time. The UI
 * loop polls the done pipe beside the terminal; start.c turns what was
 * found into suggestions. The whole lookup is bounded by SUGGEST_S, and a
 * byte on the cancel pipe ends every wait at once (ma_dns_* watch it). */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/text.h"
#include "net/dns.h"
#include "tui_int.h"

/* Seconds for all of it: past that the guess stands. */
enum { SUGGEST_S = 4, QUERY_S = 2 };

struct suggest_job {
	pthread_t tid;
	int done[2], cancel[2];
	struct suggest_found found;   /* written by the thread until it is done */
};

/* The first usable record of the SRV name, as "host:port/security" into
 * out, set *said when the domain published the service at all (a "."
 * target says "not offered": out stays ""). false when no resolver
 * answered or the lookup was cancelled: ask nothing more. */
static bool ask_srv(const char *name, const char *sec, int64_t until, int cancel_fd, char *out, size_t n,
		    bool *said)
{
	int64_t left = (until - ma_now_ms() + 999) / 1000;
	if (left <= 0)
		return false;
	struct ma_dns_srv_rec rec[4];
	size_t nrec = 0;
	ma_status st = ma_dns_srv(name, left < QUERY_S ? (int)left : QUERY_S, cancel_fd, rec, 4, &nrec, NULL);
	if (st != MA_OK)
		return false;
	for (size_t i = 0; i < nrec && !out[0]; i++) {
		*said = true;
		if (rec[i].target[0] && rec[i].port)
			snprintf(out, n, "%.250s:%u/%s", rec[i].target, rec[i].port, sec);
	}
	return true;
}

static void *suggest_main(void *arg)
{
	struct suggest_job *j = arg;
	struct suggest_found *f = &j->found;
	int64_t until = ma_now_ms() + SUGGEST_S * 1000;
	int cfd = j->cancel[0];
	/* RFC 8314: implicit TLS first, STARTTLS when only that is published. */
	static const struct { const char *svc, *sec; bool imap; } srv[] = {
		{ "_imaps._tcp", "tls", true }, { "_imap._tcp", "starttls", true },
		{ "_pop3s._tcp", "tls", false }, { "_pop3._tcp", "starttls", false },
	};
	bool ok = true;
	for (size_t i = 0; ok && i < sizeof srv / sizeof srv[0]; i++) {
		char *out = srv[i].imap ? f->imap : f->pop3;
		bool *said = srv[i].imap ? &f->imap_srv : &f->pop3_srv;
		if (out[0])
			continue;
		char name[300];
		snprintf(name, sizeof name, "%s.%.255s", srv[i].svc, f->domain);
		ok = ask_srv(name, srv[i].sec, until, cfd, out, sizeof f->imap, said);
	}
	int64_t left = (until - ma_now_ms() + 999) / 1000;
	if (ok && left > 0) {
		struct ma_dns_mx_rec mx[SUGGEST_MX];
		size_t n = 0;
		ok = ma_dns_mx(f->domain, left < QUERY_S ? (int)left : QUERY_S, cfd, mx, SUGGEST_MX, &n, NULL)
		     == MA_OK;
		for (size_t i = 0; i < n; i++)
			if (mx[i].host[0])
				snprintf(f->mx[f->n_mx++], sizeof f->mx[0], "%s", mx[i].host);
	}
	f->silent = !ok || left <= 0;
	ssize_t w = write(j->done[1], "", 1);
	(void)w;  /* an empty pipe of our own: one byte always fits */
	return NULL;
}

static void job_free(struct suggest_job *j)
{
	close(j->done[0]);
	close(j->done[1]);
	close(j->cancel[0]);
	close(j->cancel[1]);
	free(j);
}

void suggest_stop(struct ui *ui)
{
	struct suggest_job *j = ui->sug;
	if (!j)
		return;
	ssize_t w = write(j->cancel[1], "", 1);
	(void)w;
	/* Every wait of the thread watches the cancel pipe: this is quick. */
	pthread_join(j->tid, NULL);
	job_free(j);
	ui->sug = NULL;
	ui->form.looking = false;
}

bool suggest_start(struct ui *ui, const char *domain)
{
	suggest_stop(ui);
	struct suggest_job *j = calloc(1, sizeof *j);
	if (!j)
		return false;
	if (pipe2(j->done, O_CLOEXEC) != 0) {
		free(j);
		return false;
	}
	if (pipe2(j->cancel, O_CLOEXEC | O_NONBLOCK) != 0) {
		close(j->done[0]);
		close(j->done[1]);
		free(j);
		return false;
	}
	snprintf(j->found.domain, sizeof j->found.domain, "%s", domain);
	if (pthread_create(&j->tid, NULL, suggest_main, j) != 0) {
		job_free(j);
		return false;
	}
	ui->sug = j;
	ui->form.looking = true;
	return true;
}

int suggest_fd(const struct ui *ui)
{
	return ui->sug ? ui->sug->done[0] : -1;
}

int suggest_event(struct ui *ui)
{
	struct suggest_job *j = ui->sug;
	if (!j)
		return R_NONE;
	pthread_join(j->tid, NULL);
	struct suggest_found *found = malloc(sizeof *found);
	if (found)
		*found = j->found;
	job_free(j);
	ui->sug = NULL;
	ui->form.looking = false;
	if (!found)
		return R_DRAW;
	start_suggest(ui, found);
	free(found);
	return R_DRAW;
}
