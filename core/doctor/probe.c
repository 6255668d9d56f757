/* The connection doctor (see probe.h). */
#include "doctor/probe.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/text.h"
#include "mail/session.h"
#include "mail/session_util.h"

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

/* ---- growing strings: out of memory is remembered, checked once ---- */

struct sb {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 0)))
static void sb_vadd(struct sb *b, const char *fmt, va_list ap)
{
	if (b->oom)
		return;
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)n;
}

__attribute__((format(printf, 2, 3)))
static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vadd(b, fmt, ap);
	va_end(ap);
}

/* Takes the text (never NULL unless out of memory). */
static char *sb_take(struct sb *b)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	if (!b->p)
		return strdup("");
	return b->p;
}

/* ---- rules ---- */

/* Dynamic programming, not backtracking: a hostile pattern such as
 * "*a*a*a*a*b" stays O(pattern x text). '#' eats one or more digits. */
bool ma_glob_match(const char *pattern, const char *text)
{
	size_t m = strlen(pattern), n = strlen(text);
	if (m > 255 || n > 255)
		return false;
	bool prev[256], cur[256];
	prev[0] = true;
	for (size_t j = 1; j <= n; j++)
		prev[j] = false;
	for (size_t i = 1; i <= m; i++) {
		char pc = pattern[i - 1];
		cur[0] = prev[0] && pc == '*';
		for (size_t j = 1; j <= n; j++) {
			unsigned char tc = (unsigned char)text[j - 1];
			if (pc == '*')
				cur[j] = prev[j] || cur[j - 1];
			else if (pc == '#')
				cur[j] = isdigit(tc) && (prev[j - 1] || cur[j - 1]);
			else if (pc == '?')
				cur[j] = prev[j - 1];
			else
				cur[j] = prev[j - 1] && tolower((unsigned char)pc) == tolower(tc);
		}
		memcpy(prev, cur, (n + 1) * sizeof prev[0]);
	}
	return prev[n];
}

static void trim_copy(char *dst, size_t dstlen, const char *s, size_t l)
{
	while (l > 0 && isspace((unsigned char)*s)) {
		s++;
		l--;
	}
	while (l > 0 && isspace((unsigned char)s[l - 1]))
		l--;
	ma_sanitize(dst, dstlen, s, l);
}

ma_status ma_rules_parse(const char *buf, size_t len, struct ma_rules *out, struct ma_error *err)
{
	memset(out, 0, sizeof *out);
	size_t cap = 0, lineno = 0;
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		lineno++;
		const char *s = p;
		p = nl ? nl + 1 : end;
		while (s < le && isspace((unsigned char)*s))
			s++;
		if (s == le || *s == '#')
			continue;
		const char *bar1 = memchr(s, '|', (size_t)(le - s));
		const char *bar2 = bar1 ? memchr(bar1 + 1, '|', (size_t)(le - bar1 - 1)) : NULL;
		size_t pl = bar1 ? (size_t)(bar1 - s) : 0;
		if (!bar2 || pl >= sizeof out->v[0].pattern || memchr(s, '\0', (size_t)(le - s))) {
			ma_rules_free(out);
			return ma_fail(err, MA_ERR_ARGUMENT,
				       "providers.rules line %zu: expected PATTERN | HINT | NOTE", lineno);
		}
		if (out->n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct ma_rule *nv = realloc(out->v, nc * sizeof *nv);
			if (!nv) {
				ma_rules_free(out);
				return ma_fail(err, MA_ERR_NOMEM, NULL);
			}
			out->v = nv;
			cap = nc;
		}
		struct ma_rule *r = &out->v[out->n];
		trim_copy(r->pattern, sizeof r->pattern, s, pl);
		trim_copy(r->hint, sizeof r->hint, bar1 + 1, (size_t)(bar2 - bar1 - 1));
		trim_copy(r->note, sizeof r->note, bar2 + 1, (size_t)(le - bar2 - 1));
		if (!r->pattern[0] || strchr(r->pattern, ' ')) {
			ma_rules_free(out);
			return ma_fail(err, MA_ERR_ARGUMENT, "providers.rules line %zu: bad pattern", lineno);
		}
		out->n++;
	}
	return MA_OK;
}

void ma_rules_free(struct ma_rules *r)
{
	if (!r)
		return;
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

const struct ma_rule *ma_rules_match(const struct ma_rules *r, const char *host)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (ma_glob_match(r->v[i].pattern, host))
			return &r->v[i];
	return NULL;
}

static ma_status load_file(const char *path, struct ma_rules *out, bool *found, struct ma_error *err)
{
	*found = false;
	FILE *f = fopen(path, "rb");
	if (!f)
		return MA_OK;
	*found = true;
	char *buf = malloc(65537);
	if (!buf) {
		fclose(f);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	size_t n = fread(buf, 1, 65537, f);
	bool bad = ferror(f);
	fclose(f);
	ma_status st;
	if (bad)
		st = ma_fail(err, MA_ERR_IO, "%s: read error", path);
	else if (n > 65536)
		st = ma_fail(err, MA_ERR_TOO_LARGE, "%s is larger than 64 KiB", path);
	else
		st = ma_rules_parse(buf, n, out, err);
	free(buf);
	return st;
}

ma_status ma_rules_load(struct ma_rules *out, struct ma_error *err)
{
	memset(out, 0, sizeof *out);
	const char *env = getenv("MA_RULES");
	bool found;
	if (env && *env) {
		ma_status st = load_file(env, out, &found, err);
		if (st == MA_OK && !found)
			return ma_fail(err, MA_ERR_IO, "MA_RULES=%s: no such file", env);
		return st;
	}
#ifdef MA_DATADIR
	ma_status st = load_file(MA_DATADIR "/providers.rules", out, &found, err);
	if (st != MA_OK || found)
		return st;
#endif
	return load_file("data/providers.rules", out, &found, err);
}

/* ---- certificates ---- */

bool ma_cert_covers(const char *sans, const char *host)
{
	const char *p = sans;
	while (p && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		char ent[256];
		snprintf(ent, sizeof ent, "%.*s", (int)l, p);
		p = e;
		const char *name = NULL;
		if (strncmp(ent, "DNS:", 4) == 0)
			name = ent + 4;
		else if (strncmp(ent, "IP:", 3) == 0)
			name = ent + 3;
		if (!name)
			continue;
		if (strcasecmp(name, host) == 0)
			return true;
		/* RFC 6125: "*." covers exactly one leftmost label */
		if (name[0] == '*' && name[1] == '.') {
			const char *dot = strchr(host, '.');
			if (dot && dot != host && strcasecmp(dot + 1, name + 2) == 0)
				return true;
		}
	}
	return false;
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

/* Host and port of one slot when the request names no server: RFC 6186
 * SRV first, then the usual names under the domain. */
static void discover(struct ma_probe_cell *cell, const char *domain, const char *given,
		     const struct ma_probe_request *req, int timeout_s, bool *dns_dead)
{
	if (given && *given) {
		snprintf(cell->ep.host, sizeof cell->ep.host, "%s", given);
		snprintf(cell->how_found, sizeof cell->how_found, "given");
		return;
	}
	if (!domain) {
		snprintf(cell->how_found, sizeof cell->how_found, "no server and no address");
		return;
	}
	char name[300];
	if (!*dns_dead) {
		struct ma_dns_srv_rec srv[4];
		size_t n = 0;
		snprintf(name, sizeof name, "%s.%s", slot_info[cell->slot].srv, domain);
		ma_status st = ma_dns_srv(name, timeout_s, req->net.cancel_fd, srv, 4, &n, NULL);
		if (st == MA_ERR_DNS)
			*dns_dead = true;  /* a silent resolver: do not wait again per slot */
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
	for (size_t i = 0; i < 2 && !*dns_dead; i++) {
		int n = snprintf(cell->ep.host, sizeof cell->ep.host, "%s.%s", guess[cell->proto][i], domain);
		if (n > 0 && (size_t)n < sizeof cell->ep.host && resolves(cell->ep.host, req, timeout_s)) {
			snprintf(cell->how_found, sizeof cell->how_found, "guessed");
			return;
		}
	}
	/* nothing resolved: the first guess, so the matrix says why */
	snprintf(cell->ep.host, sizeof cell->ep.host, "%s.%s", guess[cell->proto][0], domain);
	snprintf(cell->how_found, sizeof cell->how_found, "guessed, not found");
}

/* ---- the run ---- */

ma_status ma_probe_run(const struct ma_probe_request *req, struct ma_probe_result **out,
		       struct ma_error *err)
{
	*out = NULL;
	ma_transport_init();
	int64_t start = ma_now_ms();
	const char *domain = NULL;
	if (req->address) {
		const char *at = strrchr(req->address, '@');
		if (at && at[1])
			domain = at + 1;
	}
	if (!domain && !req->imap_host && !req->pop3_host && !req->smtp_host)
		return ma_fail(err, MA_ERR_ARGUMENT, "give an e-mail address or server names to probe");
	if (req->password && !ma_credential_ok(req->password))
		return ma_fail(err, MA_ERR_BAD_CREDENTIAL, NULL);

	struct ma_rules own = { 0 };
	const struct ma_rules *rules = req->rules;
	if (!rules) {
		ma_status st = ma_rules_load(&own, err);
		if (st != MA_OK)
			return st;
		rules = &own;
	}
	struct ma_tls *tls = req->net.tls;
	bool own_tls = false;
	if (!tls) {
		ma_status st = ma_tls_new(&req->net, &tls, err);
		if (st != MA_OK) {
			ma_rules_free(&own);
			return st;
		}
		own_tls = true;
	}
	struct ma_probe_result *r = calloc(1, sizeof *r);
	if (!r) {
		if (own_tls)
			ma_tls_free(tls);
		ma_rules_free(&own);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	snprintf(r->address, sizeof r->address, "%s", req->address ? req->address : "");
	snprintf(r->login, sizeof r->login, "%s", req->login ? req->login : r->address);
	int timeout_s = req->net.timeout_s > 0 ? req->net.timeout_s : DEFAULT_TIMEOUT_S;

	bool dns_dead = false;
	for (int s = 0; s < MA_PROBE_NSLOTS; s++) {
		if (req->slots && !(req->slots & (1u << s)))
			continue;
		struct ma_probe_cell *c = &r->cells[r->n_cells++];
		c->slot = (enum ma_probe_slot)s;
		c->proto = slot_info[s].proto;
		c->ep.security = slot_info[s].sec;
		c->ep.port = req->port[s] ? req->port[s] : slot_info[s].port;
		const char *given = c->proto == MA_PROTO_IMAP ? req->imap_host
			: c->proto == MA_PROTO_SMTP ? req->smtp_host
			: req->pop3_host ? req->pop3_host : req->imap_host;
		discover(c, domain, given, req, timeout_s, &dns_dead);
	}

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
			r->cells[i].status = ma_fail(&r->cells[i].err, MA_ERR_ARGUMENT, "no server name");
			continue;
		}
		started[i] = pthread_create(&tid[i], NULL, cell_thread, &jobs[i]) == 0;
		if (!started[i])
			cell_thread(&jobs[i]);  /* no thread to be had: run it here */
	}
	for (size_t i = 0; i < r->n_cells; i++)
		if (started[i])
			pthread_join(tid[i], NULL);

	ma_status st = ma_probe_analyze(r, rules);
	r->elapsed_ms = ma_now_ms() - start;
	if (own_tls)
		ma_tls_free(tls);
	ma_rules_free(&own);
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

/* ---- text ---- */

#define WIDTH 78

/* Word-wraps text into lines of at most WIDTH columns: the first line
 * after first (already counted in col), the rest indented by indent. */
static void wrap(struct sb *b, size_t col, size_t indent, const char *text)
{
	const char *p = text;
	bool fresh = true;   /* nothing written on this line yet */
	while (*p) {
		if (*p == '\n') {
			sb_add(b, "\n%*s", (int)indent, "");
			col = indent;
			fresh = true;
			p++;
			continue;
		}
		size_t wl = strcspn(p, " \n");
		if (!fresh && col + 1 + wl > WIDTH) {
			sb_add(b, "\n%*s", (int)indent, "");
			col = indent;
			fresh = true;
		} else if (!fresh) {
			sb_add(b, " ");
			col++;
		}
		/* a word longer than a line is cut */
		while (col < WIDTH && wl > WIDTH - col) {
			size_t take = WIDTH - col;
			sb_add(b, "%.*s\n%*s", (int)take, p, (int)indent, "");
			p += take;
			wl -= take;
			col = indent;
		}
		sb_add(b, "%.*s", (int)wl, p);
		col += wl;
		p += wl;
		fresh = false;
		while (*p == ' ')
			p++;
	}
	sb_add(b, "\n");
}

static void cell_summary(const struct ma_probe_cell *c, char *buf, size_t len)
{
	if (c->status == MA_OK) {
		snprintf(buf, len, "ok: %s, certificate valid%s", c->cert.tls_version,
			 c->login_ok ? ", login accepted" : c->login_tried ? "" : ", no login tried");
	} else if (c->login_tried && !c->login_ok) {
		snprintf(buf, len, "connects, certificate valid; login failed: %s%s",
			 ma_status_name(c->login_status),
			 c->alt_login_ok ? " (the full address works)" : "");
	} else {
		snprintf(buf, len, "%s: %s", ma_status_name(c->status), c->err.detail);
	}
}

ma_status ma_probe_text(const struct ma_probe_result *r, char **out)
{
	*out = NULL;
	struct sb b = { 0 };
	char line[1024];
	snprintf(line, sizeof line, "Connection doctor for %s (login %s), %.1f s",
		 r->address[0] ? r->address : "(no address)", r->login[0] ? r->login : "(none)",
		 (double)r->elapsed_ms / 1000.0);
	wrap(&b, 0, 2, line);
	sb_add(&b, "\n");
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct ma_probe_cell *c = &r->cells[i];
		snprintf(line, sizeof line, "%-4s %5u %-8s %s (%s) %.1f s", ma_proto_name(c->proto), c->ep.port,
			 ma_security_short(c->ep.security), c->ep.host[0] ? c->ep.host : "?", c->how_found,
			 (double)c->elapsed_ms / 1000.0);
		wrap(&b, 0, 6, line);
		if (c->dns_ok && (c->dns.n_chain || c->dns.n_addrs)) {
			struct sb d = { 0 };
			sb_add(&d, "dns:");
			for (size_t k = 0; k < c->dns.n_chain; k++)
				sb_add(&d, " -> %s", c->dns.chain[k]);
			for (size_t k = 0; k < c->dns.n_addrs; k++)
				sb_add(&d, "%s%s", k ? ", " : " = ", c->dns.addrs[k]);
			if (!d.oom) {
				sb_add(&b, "      ");
				wrap(&b, 6, 6, d.p);
			}
			free(d.p);
		}
		cell_summary(c, line, sizeof line);
		sb_add(&b, "      ");
		wrap(&b, 6, 6, line);
		if (c->caps[0]) {
			snprintf(line, sizeof line, "caps: %s", c->caps);
			sb_add(&b, "      ");
			wrap(&b, 6, 6, line);
		}
	}
	sb_add(&b, "\n");
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct ma_finding *f = &r->findings[i];
		snprintf(line, sizeof line, "[%s] %s: %s", ma_severity_name(f->severity), f->code, f->title);
		wrap(&b, 0, 4, line);
		if (f->evidence && f->evidence[0]) {
			sb_add(&b, "    ");
			wrap(&b, 4, 4, f->evidence);
		}
		snprintf(line, sizeof line, "Why: %s", f->why);
		sb_add(&b, "    ");
		wrap(&b, 4, 4, line);
		snprintf(line, sizeof line, "Fix: %s", f->fix);
		sb_add(&b, "    ");
		wrap(&b, 4, 4, line);
	}
	*out = sb_take(&b);
	return *out ? MA_OK : MA_ERR_NOMEM;
}
