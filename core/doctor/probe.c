/* The connection doctor's run (see probe.h): find each cell's server,
 * run the cells on threads of their own, then the findings (checks.c). */
#include "doctor/probe.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "base/text.h"
#include "mail/session.h"

#define DEFAULT_TIMEOUT_S 10

static const struct {
	const char *name;
	enum ma_proto proto;
	enum ma_security sec;
	unsigned port;
	const char *srv;           /* RFC 6186 / RFC 8314 service label */
} slot_info[MA_PROBE_NSLOTS] = {
	[MA_PROBE_IMAPS] = { "imaps", MA_PROTO_IMAP, MA_SEC_TLS, 993, "_imaps._tcp" },
	[MA_PROBE_IMAP] = { "imap", MA_PROTO_IMAP, MA_SEC_STARTTLS, 143, "_imap._tcp" },
	[MA_PROBE_POP3S] = { "pop3s", MA_PROTO_POP3, MA_SEC_TLS, 995, "_pop3s._tcp" },
	[MA_PROBE_POP3] = { "pop3", MA_PROTO_POP3, MA_SEC_STARTTLS, 110, "_pop3._tcp" },
	[MA_PROBE_SMTPS] = { "smtps", MA_PROTO_SMTP, MA_SEC_TLS, 465, "_submissions._tcp" },
	[MA_PROBE_SUBMISSION] = { "submission", MA_PROTO_SMTP, MA_SEC_STARTTLS, 587, "_submission._tcp" },
};

const char *ma_probe_slot_name(enum ma_probe_slot s)
{
	return (unsigned)s < MA_PROBE_NSLOTS ? slot_info[s].name : "?";
}

/* ---- one cell ---- */

struct cell_job {
	struct ma_probe_cell *cell;
	const struct ma_probe_request *req;
	struct ma_net_opts net;   /* req->net with the run's TLS settings and timeout */
	const char *login;
	const char *alt_login;    /* the full address, tried if login is refused */
	int timeout_s;
};

/* Greeting, STARTTLS, capabilities and login of one protocol over c. */
static void run_session(struct cell_job *j, struct ma_conn *c, const char *login)
{
	struct ma_probe_cell *cell = j->cell;
	const char *pw = j->req->password;
	char label[272];
	snprintf(label, sizeof label, "%s:%u", cell->ep.host, cell->ep.port);
	struct ma_session *s = NULL;
	/* insecure = false: the sessions themselves never send a password
	 * in plain text; the certificate gate is below. */
	ma_status st = ma_session_open_conn(cell->proto, c, label, cell->ep.security, false, NULL, &s,
					    &cell->err);
	cell->status = st;
	cell->greeting_ok = st == MA_OK || st == MA_ERR_STARTTLS_MISSING || st == MA_ERR_STARTTLS_INJECTION
		|| st == MA_ERR_TLS_HANDSHAKE;
	cell->starttls_offered = cell->ep.security == MA_SEC_STARTTLS && st != MA_ERR_STARTTLS_MISSING
		&& cell->greeting_ok;
	if (st != MA_OK)
		return;
	ma_session_caps(s, cell->caps, sizeof cell->caps);
	const struct ma_cert_info *ci = ma_session_cert(s);
	cell->tls_ok = ci && ci->present;
	if (ci)
		cell->cert = *ci;
	st = ma_session_cert_verdict(s, &cell->err);
	cell->cert_ok = st == MA_OK;
	cell->status = st;
	if (st == MA_OK && pw && login && *login) {
		cell->login_tried = true;
		struct ma_error lerr = { 0 };
		st = ma_session_login(s, login, pw, &lerr);
		cell->login_status = st;
		cell->login_ok = st == MA_OK;
		if (st != MA_OK) {
			cell->status = st;
			cell->err = lerr;
		}
	}
	ma_session_close(s);
}

/* DNS, then TCP to each address until one answers, then the session. */
static void run_cell(struct cell_job *j, const char *login)
{
	struct ma_probe_cell *cell = j->cell;
	int64_t start = ma_now_ms();
	cell->status = ma_dns_lookup(cell->ep.host, j->timeout_s, j->req->net.cancel_fd, &cell->dns, &cell->err);
	cell->dns_ok = cell->status == MA_OK;
	struct ma_conn *c = NULL;
	for (size_t i = 0; cell->dns_ok && i < cell->dns.n_addrs; i++) {
		struct ma_error e = { 0 };
		ma_status st = ma_conn_open_addr(&cell->ep, cell->dns.addrs[i], &j->net, &c, &e);
		/* a TLS failure means TCP worked: that address is the answer */
		if (st == MA_OK || (st != MA_ERR_REFUSED && st != MA_ERR_UNREACHABLE
				    && st != MA_ERR_CONNECT_TIMEOUT && st != MA_ERR_NETWORK)) {
			cell->tcp_ok = true;
			cell->status = st;
			cell->err = e;
			break;
		}
		if (i == 0 || st == MA_ERR_REFUSED) {
			cell->status = st;
			cell->err = e;
		}
		if (st == MA_ERR_CANCELLED)
			break;
	}
	if (c)
		run_session(j, c, login);
	cell->elapsed_ms = ma_now_ms() - start;
}

static void *cell_thread(void *arg)
{
	struct cell_job *j = arg;
	run_cell(j, j->login);
	struct ma_probe_cell *cell = j->cell;
	if (cell->login_tried && cell->login_status == MA_ERR_LOGIN && j->alt_login) {
		/* A fresh connection: some servers drop the session after a
		 * failed login, and POP3 ones may lock it. */
		struct ma_probe_cell saved = *cell, tmp = *cell;
		j->cell = &tmp;
		run_cell(j, j->alt_login);
		j->cell = cell;
		*cell = saved;
		cell->alt_login_tried = tmp.login_tried;
		cell->alt_login_ok = tmp.login_ok;
		cell->elapsed_ms += tmp.elapsed_ms;
	}
	return NULL;
}

/* ---- discovery ---- */

static bool resolves(const char *host, const struct ma_probe_request *req, int timeout_s)
{
	struct ma_dns_facts f;
	return ma_dns_lookup(host, timeout_s, req->net.cancel_fd, &f, NULL) == MA_OK;
}

/* What discovery learnt about DNS itself: once no resolver answered, no
 * other slot waits for one again, and the cells left without a server say
 * why (dead.status MA_ERR_DNS) rather than asking again. */
struct discovery {
	const char *domain;
	int timeout_s;
	struct ma_error dead;
};

/* Host and port of one slot when the request names no server: RFC 6186
 * SRV first, then the usual names under the domain. */
static void discover(struct ma_probe_cell *cell, const char *given, const struct ma_probe_request *req,
		     struct discovery *d)
{
	const char *domain = d->domain;
	int timeout_s = d->timeout_s;
	bool dead = d->dead.status == MA_ERR_DNS;
	if (given && *given) {
		snprintf(cell->ep.host, sizeof cell->ep.host, "%s", given);
		snprintf(cell->how_found, sizeof cell->how_found, "%s", _("given"));
		return;
	}
	if (!domain) {
		snprintf(cell->how_found, sizeof cell->how_found, "%s", _("no server and no address"));
		return;
	}
	char name[300];
	if (!dead) {
		struct ma_dns_srv_rec srv[4];
		size_t n = 0;
		snprintf(name, sizeof name, "%s.%s", slot_info[cell->slot].srv, domain);
		struct ma_error e = { 0 };
		ma_status st = ma_dns_srv(name, timeout_s, req->net.cancel_fd, srv, 4, &n, &e);
		if (st == MA_ERR_DNS) {
			d->dead = e;  /* a silent resolver: do not wait again per slot */
			dead = true;
		}
		if (st == MA_OK && n > 0 && srv[0].target[0] && srv[0].port) {
			snprintf(cell->ep.host, sizeof cell->ep.host, "%s", srv[0].target);
			if (!req->port[cell->slot])
				cell->ep.port = srv[0].port;
			snprintf(cell->how_found, sizeof cell->how_found, "SRV %.50s", name);
			return;
		}
	}
	static const char *const guess[3][2] = {
		[MA_PROTO_IMAP] = { "imap", "mail" },
		[MA_PROTO_POP3] = { "pop3", "mail" },
		[MA_PROTO_SMTP] = { "smtp", "mail" },
	};
	for (size_t i = 0; i < 2 && !dead; i++) {
		int n = snprintf(cell->ep.host, sizeof cell->ep.host, "%s.%s", guess[cell->proto][i], domain);
		if (n > 0 && (size_t)n < sizeof cell->ep.host && resolves(cell->ep.host, req, timeout_s)) {
			snprintf(cell->how_found, sizeof cell->how_found, "%s", _("guessed"));
			return;
		}
	}
	/* nothing resolved: the first guess, so the matrix says why */
	snprintf(cell->ep.host, sizeof cell->ep.host, "%s.%s", guess[cell->proto][0], domain);
	snprintf(cell->how_found, sizeof cell->how_found, "%s", _("guessed, not found"));
	if (dead) {
		/* Asking again would only wait as long again for nothing. */
		cell->status = MA_ERR_DNS;
		cell->err = d->dead;
	}
}

/* ---- the run ---- */

/* The server a request names for a protocol; POP3 falls back to the IMAP
 * host (the provider's advice: the same server). */
static const char *given_host(const struct ma_probe_request *req, enum ma_proto proto)
{
	switch (proto) {
	case MA_PROTO_IMAP:
		return req->imap_host;
	case MA_PROTO_POP3:
		return req->pop3_host ? req->pop3_host : req->imap_host;
	case MA_PROTO_SMTP:
		return req->smtp_host;
	}
	return NULL;
}

/* The cells the request asks for, each with its server found (given, SRV
 * or guessed) before any of them runs. */
static void plan_cells(struct ma_probe_result *r, const struct ma_probe_request *req, const char *domain,
		       int timeout_s)
{
	struct discovery d = { .domain = domain, .timeout_s = timeout_s };
	for (int s = 0; s < MA_PROBE_NSLOTS; s++) {
		if (req->slots && !(req->slots & (1u << s)))
			continue;
		struct ma_probe_cell *c = &r->cells[r->n_cells++];
		c->slot = (enum ma_probe_slot)s;
		c->proto = slot_info[s].proto;
		c->ep.security = slot_info[s].sec;
		c->ep.port = req->port[s] ? req->port[s] : slot_info[s].port;
		discover(c, given_host(req, c->proto), req, &d);
	}
}

/* Every cell with a server on a thread of its own (or here, if no thread
 * can be had), so the matrix takes about as long as its slowest cell. */
static void run_cells(struct ma_probe_result *r, const struct ma_probe_request *req, struct ma_tls *tls,
		      int timeout_s)
{
	struct cell_job jobs[MA_PROBE_NSLOTS];
	pthread_t tid[MA_PROBE_NSLOTS];
	bool started[MA_PROBE_NSLOTS] = { false };
	const char *alt = r->address[0] && !strchr(r->login, '@') ? r->address : NULL;
	struct ma_net_opts net = req->net;
	net.tls = tls;
	net.timeout_s = timeout_s;
	for (size_t i = 0; i < r->n_cells; i++) {
		jobs[i] = (struct cell_job){ &r->cells[i], req, net, r->login[0] ? r->login : NULL, alt, timeout_s };
		if (!r->cells[i].ep.host[0]) {
			r->cells[i].status = ma_fail(&r->cells[i].err, MA_ERR_ARGUMENT, "%s", _("no server name"));
			continue;
		}
		if (r->cells[i].status != MA_OK)
			continue;  /* discovery already knows why it cannot run */
		started[i] = pthread_create(&tid[i], NULL, cell_thread, &jobs[i]) == 0;
		if (!started[i])
			cell_thread(&jobs[i]);  /* no thread to be had: run it here */
	}
	for (size_t i = 0; i < r->n_cells; i++)
		if (started[i])
			pthread_join(tid[i], NULL);
}

/* What a run needs besides the request: the rules and the TLS settings,
 * the request's own or loaded here (and then freed by run_done). */
struct run {
	const struct ma_rules *rules;
	struct ma_rules own_rules;
	struct ma_tls *tls;
	bool own_tls;
};

static void run_done(struct run *run)
{
	if (run->own_tls)
		ma_tls_free(run->tls);
	ma_rules_free(&run->own_rules);
}

static ma_status run_start(const struct ma_probe_request *req, struct run *run, struct ma_error *err)
{
	*run = (struct run){ .rules = req->rules, .tls = req->net.tls };
	ma_status st = MA_OK;
	if (!run->rules) {
		st = ma_rules_load(&run->own_rules, err);
		run->rules = &run->own_rules;
	}
	if (st == MA_OK && !run->tls) {
		st = ma_tls_new(&req->net, &run->tls, err);
		run->own_tls = st == MA_OK;
	}
	if (st != MA_OK)
		run_done(run);
	return st;
}

/* The domain of the request's address, or NULL. */
static const char *domain_of(const struct ma_probe_request *req)
{
	const char *at = req->address ? strrchr(req->address, '@') : NULL;
	return at && at[1] ? at + 1 : NULL;
}

ma_status ma_probe_run(const struct ma_probe_request *req, struct ma_probe_result **out,
		       struct ma_error *err)
{
	*out = NULL;
	ma_transport_init();
	int64_t start = ma_now_ms();
	const char *domain = domain_of(req);
	if (!domain && !req->imap_host && !req->pop3_host && !req->smtp_host)
		return ma_fail(err, MA_ERR_ARGUMENT, "%s", _("give an e-mail address or server names to probe"));
	if (req->password && !ma_credential_ok(req->password))
		return ma_fail(err, MA_ERR_BAD_CREDENTIAL, NULL);
	struct run run;
	ma_status st = run_start(req, &run, err);
	if (st != MA_OK)
		return st;
	struct ma_probe_result *r = calloc(1, sizeof *r);
	if (!r) {
		run_done(&run);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	snprintf(r->address, sizeof r->address, "%s", req->address ? req->address : "");
	snprintf(r->login, sizeof r->login, "%s", req->login ? req->login : r->address);
	int timeout_s = req->net.timeout_s > 0 ? req->net.timeout_s : DEFAULT_TIMEOUT_S;
	plan_cells(r, req, domain, timeout_s);
	run_cells(r, req, run.tls, timeout_s);
	st = ma_probe_analyze(r, run.rules);
	r->elapsed_ms = ma_now_ms() - start;
	run_done(&run);
	if (st != MA_OK) {
		ma_probe_result_free(r);
		return ma_fail(err, st, NULL);
	}
	*out = r;
	return MA_OK;
}

void ma_probe_result_free(struct ma_probe_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_findings; i++)
		ma_finding_clear(&r->findings[i]);
	free(r->findings);
	free(r);
}
