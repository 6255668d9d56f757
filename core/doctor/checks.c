/* The doctor's findings: small checks over a finished run, one kind each
 * (as audit/findings.c does for the audit), taking code, severity, why
 * and fix from the one table (audit/finding_kinds.h). The order of the
 * checks is the order of findings of equal severity. */
#include "doctor/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/i18n.h"
#include "base/text.h"

/* "IMAP 993 (SSL/TLS)", for evidence lines. */
static const char *cell_label(const struct ma_probe_cell *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s %u (%s)", ma_proto_name(c->proto), c->ep.port,
		 ma_security_short(c->ep.security));
	return buf;
}

static bool is_timeout(ma_status st)
{
	return st == MA_ERR_CONNECT_TIMEOUT || st == MA_ERR_READ_TIMEOUT;
}

/* How many cells ended in one of sts[]; with ev, a line of evidence for
 * each ("IMAP 993 (SSL/TLS) host: detail"). */
static size_t cells_with(const struct ma_probe_result *r, const ma_status *sts, size_t nst,
			 struct ma_buf *ev)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct ma_probe_cell *c = &r->cells[i];
		for (size_t k = 0; k < nst; k++) {
			if (c->status != sts[k])
				continue;
			char lab[64];
			if (ev)
				ma_buf_printf(ev, "%s%s %s: %s", n ? "\n" : "", cell_label(c, lab, sizeof lab),
					      c->ep.host, c->err.detail);
			n++;
			break;
		}
	}
	return n;
}

/* A finding of kind k whose evidence is every cell that ended in one of
 * sts[], if any did. */
static void add_for_cells(const struct ma_probe_result *r, struct ma_findings *l, enum ma_kind k,
			  const ma_status *sts, size_t nst, const char *title)
{
	if (!cells_with(r, sts, nst, NULL))
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, "%s", title);
	cells_with(r, sts, nst, &e);
	ma_findings_add(l, k, MA_GRADE_USUAL, &t, &e, NULL);
}

/* One server name: does it exist, is it one the provider retired? */
static void check_host(const struct ma_probe_cell *c, const struct ma_rules *rules, struct ma_findings *l)
{
	const struct ma_rule *rule = ma_rules_match(rules, c->ep.host);
	if (c->status == MA_ERR_HOST_UNKNOWN) {
		struct ma_buf t = { 0 }, e = { 0 };
		/* "Does not exist" only when a resolver said so; a name it knows
		 * without an address is another matter. */
		if (c->dns.exists)
			ma_buf_printf(&t, _("The server name %s has no address"), c->ep.host);
		else
			ma_buf_printf(&t, _("The server name %s does not exist"), c->ep.host);
		ma_buf_printf(&e, "%s", c->err.detail);
		if (rule)
			ma_buf_printf(&e, _("\nThis looks like an obsolete name; current ones look like %s"),
				      rule->hint);
		ma_findings_add(l, MA_K_HOST_UNKNOWN, MA_GRADE_USUAL, &t, &e, NULL);
	}
	if (rule) {
		struct ma_buf t = { 0 }, e = { 0 };
		ma_buf_printf(&t, _("%s is an obsolete server name"), c->ep.host);
		ma_buf_printf(&e, _("%s\nCurrent names look like: %s"), rule->note, rule->hint);
		ma_findings_add(l, MA_K_HOST_OBSOLETE, MA_GRADE_USUAL, &t, &e, NULL);
	}
}

/* Each distinct server name once, in the order the cells name them. */
static void check_hosts(const struct ma_probe_result *r, const struct ma_rules *rules, struct ma_findings *l)
{
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct ma_probe_cell *c = &r->cells[i];
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			seen |= strcasecmp(r->cells[k].ep.host, c->ep.host) == 0;
		if (!seen && c->ep.host[0])
			check_host(c, rules, l);
	}
}

/* Names no resolver answered for: nothing is known about those servers,
 * so the doctor cannot say whether they work (UNKNOWN, not CRITICAL). */
static void check_dns(const struct ma_probe_result *r, struct ma_findings *l)
{
	static const ma_status dns[] = { MA_ERR_DNS };
	size_t n = cells_with(r, dns, 1, NULL);
	if (!n)
		return;
	char title[300];
	snprintf(title, sizeof title,
		 P_("The server names could not be looked up (%zu of %zu combinations)",
		    "The server names could not be looked up (%zu of %zu combinations)", r->n_cells),
		 n, r->n_cells);
	add_for_cells(r, l, MA_K_DNS_FAILED, dns, 1, title);
}

/* Every cell that reached TCP timed out: the block is on this side. Else
 * the ports that were closed or silent, which matter less. */
static void check_silence(const struct ma_probe_result *r, struct ma_findings *l)
{
	size_t ran = 0, silent = 0;
	for (size_t i = 0; i < r->n_cells; i++) {
		if (!r->cells[i].dns_ok)
			continue;
		ran++;
		silent += is_timeout(r->cells[i].status) && !r->cells[i].greeting_ok;
	}
	struct ma_buf t = { 0 }, e = { 0 };
	if (ran > 0 && silent == ran) {
		static const ma_status to[] = { MA_ERR_CONNECT_TIMEOUT, MA_ERR_READ_TIMEOUT };
		ma_buf_printf(&t, P_("No port answered (%zu of %zu timed out)",
				     "No port answered (%zu of %zu timed out)", ran), silent, ran);
		cells_with(r, to, 2, &e);
		ma_findings_add(l, MA_K_ALL_SILENT, MA_GRADE_USUAL, &t, &e, NULL);
		return;
	}
	static const ma_status closed[] = { MA_ERR_REFUSED, MA_ERR_CONNECT_TIMEOUT, MA_ERR_READ_TIMEOUT };
	size_t n = cells_with(r, closed, 3, NULL);
	if (!n)
		return;
	ma_buf_printf(&t, P_("%zu port closed or silent", "%zu ports closed or silent", n), n);
	cells_with(r, closed, 3, &e);
	ma_findings_add(l, MA_K_PORT_CLOSED, MA_GRADE_USUAL, &t, &e, NULL);
}

static void check_starttls(const struct ma_probe_result *r, struct ma_findings *l)
{
	static const ma_status missing[] = { MA_ERR_STARTTLS_MISSING };
	size_t n = cells_with(r, missing, 1, NULL);
	if (!n)
		return;
	char title[300];
	snprintf(title, sizeof title,
		 P_("STARTTLS is not offered on %zu port(s)", "STARTTLS is not offered on %zu port(s)", n), n);
	add_for_cells(r, l, MA_K_STARTTLS_MISSING, missing, 1, title);
}

static void check_cert_expired(const struct ma_probe_result *r, struct ma_findings *l)
{
	static const ma_status expired[] = { MA_ERR_CERT_EXPIRED, MA_ERR_CERT_NOT_YET_VALID };
	add_for_cells(r, l, MA_K_CERT_EXPIRED, expired, 2, _("The server's certificate has expired"));
}

static void check_cert_untrusted(const struct ma_probe_result *r, struct ma_findings *l)
{
	static const ma_status untrusted[] = { MA_ERR_CERT_UNTRUSTED, MA_ERR_CERT_SELF_SIGNED,
					       MA_ERR_CERT_INVALID };
	add_for_cells(r, l, MA_K_CERT_UNTRUSTED, untrusted, 3,
		      _("The server's certificate is not from a trusted authority"));
}

/* A user's own alias (smtp.mydomain CNAME wesN.smtp...) cannot be in the
 * provider's certificate, but the name it points to may be: the first
 * mismatching cell whose CNAME chain holds a covered name says so. */
static void put_covered_alias(const struct ma_probe_result *r, struct ma_buf *e)
{
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct ma_probe_cell *c = &r->cells[i];
		if (c->status != MA_ERR_CERT_NAME_MISMATCH)
			continue;
		for (size_t k = 0; k < c->dns.n_chain; k++) {
			if (ma_cert_covers(c->cert.sans, c->dns.chain[k])) {
				ma_buf_printf(e, _("\n%s is an alias (CNAME) of %s, which the certificate covers: use %s"),
					      c->ep.host, c->dns.chain[k], c->dns.chain[k]);
				return;
			}
		}
		return;
	}
}

static void check_cert_name(const struct ma_probe_result *r, struct ma_findings *l)
{
	static const ma_status mismatch[] = { MA_ERR_CERT_NAME_MISMATCH };
	if (!cells_with(r, mismatch, 1, NULL))
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, _("The certificate does not cover the server name used"));
	cells_with(r, mismatch, 1, &e);
	put_covered_alias(r, &e);
	ma_findings_add(l, MA_K_CERT_NAME, MA_GRADE_USUAL, &t, &e, NULL);
}

/* Valid certificates that expire within MA_CERT_SOON_DAYS of now. */
static void check_cert_soon(const struct ma_probe_result *r, struct ma_findings *l)
{
	time_t soon = time(NULL) + (time_t)MA_CERT_SOON_DAYS * 86400;
	size_t n = 0;
	struct ma_buf e = { 0 };
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct ma_probe_cell *c = &r->cells[i];
		char lab[64];
		if (c->cert_ok && c->cert.not_after_t && c->cert.not_after_t < soon)
			ma_buf_printf(&e, _("%s%s: expires %s"), n++ ? "\n" : "", cell_label(c, lab, sizeof lab),
				      c->cert.not_after);
	}
	if (!n) {
		free(e.p);
		return;
	}
	struct ma_buf t = { 0 };
	ma_buf_printf(&t, P_("The server's certificate expires within %d day",
			     "The server's certificate expires within %d days", MA_CERT_SOON_DAYS),
		      MA_CERT_SOON_DAYS);
	ma_findings_add(l, MA_K_CERT_SOON, MA_GRADE_USUAL, &t, &e, NULL);
}

/* The full address worked where the login name was refused; else, if no
 * login worked anywhere, the credentials were refused. */
static void check_logins(const struct ma_probe_result *r, struct ma_findings *l)
{
	bool any_ok = false, any_refused = false, alt_ok = false;
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct ma_probe_cell *c = &r->cells[i];
		any_ok |= c->login_ok;
		any_refused |= c->login_tried && c->login_status == MA_ERR_LOGIN;
		alt_ok |= c->alt_login_ok;
	}
	struct ma_buf t = { 0 }, e = { 0 };
	if (alt_ok) {
		/* The audit's kind, graver here: the server refused the short
		 * form, which the audit only sees is short. */
		ma_buf_printf(&t, _("Log in with the full address %s, not %s"), r->address, r->login);
		ma_buf_printf(&e, _("login \"%s\" was refused; \"%s\" was accepted"), r->login, r->address);
		ma_findings_add(l, MA_K_LOGIN, MA_GRADE_GRAVE, &t, &e, NULL);
		return;
	}
	if (!any_refused || any_ok)
		return;
	static const ma_status refused[] = { MA_ERR_LOGIN };
	ma_buf_printf(&t, _("The server rejected the login name or password"));
	cells_with(r, refused, 1, &e);
	if (r->address[0] && !strchr(r->login, '@'))
		ma_buf_printf(&e, _("\nthe full address %s was refused too"), r->address);
	ma_findings_add(l, MA_K_LOGIN_REJECTED, MA_GRADE_USUAL, &t, &e, NULL);
}

static void check_plaintext(const struct ma_probe_result *r, struct ma_findings *l)
{
	static const ma_status plain[] = { MA_ERR_PLAINTEXT_REFUSED };
	add_for_cells(r, l, MA_K_PLAINTEXT_REFUSED, plain, 1, _("The server refuses logins over this connection"));
}

/* A cell that can be used as it is: a verified certificate, and a login
 * that worked if one was tried (a refused login is not a working setting). */
static bool cell_works(const struct ma_probe_cell *c)
{
	return c->cert_ok && (!c->login_tried || c->login_ok || c->alt_login_ok);
}

/* The protocol's best cell: a verified certificate first of all; a login
 * that worked beats one not tried, which beats one refused; implicit TLS
 * (RFC 8314) beats STARTTLS. */
static const struct ma_probe_cell *best_cell(const struct ma_probe_result *r, enum ma_proto p)
{
	const struct ma_probe_cell *best = NULL;
	int best_score = 0;
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct ma_probe_cell *c = &r->cells[i];
		if (c->proto != p || !c->cert_ok)
			continue;
		bool in = c->login_ok || c->alt_login_ok;
		int score = 2 + (in ? 4 : 0) - (c->login_tried && !in ? 1 : 0)
			+ (c->ep.security == MA_SEC_TLS ? 1 : 0);
		if (score > best_score) {
			best = c;
			best_score = score;
		}
	}
	return best;
}

/* True when no cell of protocol p got an answer about its name: nothing
 * about its servers was tested. */
static bool untested(const struct ma_probe_result *r, enum ma_proto p)
{
	for (size_t i = 0; i < r->n_cells; i++)
		if (r->cells[i].proto == p && r->cells[i].status != MA_ERR_DNS)
			return false;
	return true;
}

/* One protocol's line of the table; true if it has a working setting. */
static bool put_best(const struct ma_probe_result *r, enum ma_proto p, struct ma_buf *e, bool *tested)
{
	const struct ma_probe_cell *c = best_cell(r, p);
	const char *name = ma_proto_name(p);
	*tested = !untested(r, p);
	if (!*tested) {
		ma_buf_printf(e, _("%s: not tested, its server name could not be looked up"), name);
		return false;
	}
	if (!c) {
		ma_buf_printf(e, _("%s: no working combination"), name);
		return false;
	}
	if (!cell_works(c)) {
		ma_buf_printf(e, _("%s: no working combination; %s port %u %s connects, but %s"), name,
			      c->ep.host, c->ep.port, ma_security_short(c->ep.security),
			      c->login_status == MA_ERR_LOGIN ? _("the server refused the login name or password")
			      : ma_status_message(c->login_status));
		return false;
	}
	ma_buf_printf(e, _("%s: %s port %u %s%s"), name, c->ep.host, c->ep.port, ma_security_short(c->ep.security),
		      c->login_ok ? _(", login ok") : c->alt_login_ok ? _(", login ok with the full address") : "");
	return true;
}

/* Cells the run's --deadline cut short. */
static size_t cells_cut(const struct ma_probe_result *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_cells; i++)
		n += r->cells[i].status == MA_ERR_DEADLINE;
	return n;
}

/* The run's --deadline cut cells short: what they would have shown is not
 * known, so the test is UNKNOWN, not "nothing works". */
static void check_deadline(const struct ma_probe_result *r, struct ma_findings *l)
{
	size_t cut = cells_cut(r);
	if (!cut)
		return;
	struct ma_buf t = { 0 }, e = { 0 };
	ma_buf_printf(&t, P_("The test did not finish within --deadline: %zu of %zu combinations were cut short",
			     "The test did not finish within --deadline: %zu of %zu combinations were cut short",
			     r->n_cells), cut, r->n_cells);
	for (size_t i = 0, shown = 0; i < r->n_cells && shown < 6; i++) {
		const struct ma_probe_cell *c = &r->cells[i];
		if (c->status != MA_ERR_DEADLINE)
			continue;
		ma_buf_printf(&e, _("%s%s port %u %s"), shown++ ? "\n" : "", ma_proto_name(c->proto), c->ep.port,
			      ma_security_short(c->ep.security));
	}
	ma_findings_add(l, MA_K_PROBE_DEADLINE, MA_GRADE_USUAL, &t, &e, NULL);
}

/* The table the provider's help page shows, filled with what worked.
 * Nothing working is critical, unless nothing could be tested because no
 * name could be looked up (dns-failed says that, as UNKNOWN). */
static void check_best_settings(const struct ma_probe_result *r, struct ma_findings *l)
{
	struct ma_buf t = { 0 }, e = { 0 };
	size_t good = 0, probed = 0, tested = 0;
	for (int p = MA_PROTO_IMAP; p <= MA_PROTO_SMTP; p++) {
		bool ran = false, was_tested = false;
		for (size_t i = 0; i < r->n_cells; i++)
			ran |= r->cells[i].proto == (enum ma_proto)p;
		if (!ran)
			continue;
		if (probed++)
			ma_buf_add(&e, "\n", 1);
		good += put_best(r, (enum ma_proto)p, &e, &was_tested);
		tested += was_tested;
	}
	enum ma_grade g = MA_GRADE_USUAL;
	const char *fix = NULL;
	size_t cut = cells_cut(r);
	if (good == probed) {
		g = MA_GRADE_MILD;
		ma_buf_printf(&t, P_("Working settings: %zu of %zu protocols", "Working settings: %zu of %zu protocols",
				     probed), good, probed);
	} else if (good > 0) {
		ma_buf_printf(&t, P_("Working settings: %zu of %zu protocols", "Working settings: %zu of %zu protocols",
				     probed), good, probed);
	} else if (tested == 0) {
		ma_buf_printf(&t, _("No settings could be tested: the server names could not be looked up"));
	} else if (cut) {
		/* Not known to fail: probe-deadline says the test was cut short. */
		ma_buf_printf(&t, _("No working setting was found before the time limit (0 of %zu)"), probed);
	} else {
		g = MA_GRADE_GRAVE;
		ma_buf_printf(&t, _("Nothing works: no protocol has a working setting (0 of %zu)"), probed);
		fix = N_("Fix what the findings above name (the password, a server name, a "
			 "certificate, a firewall), then run the test again.");
	}
	ma_findings_add(l, MA_K_BEST_SETTINGS, g, &t, &e, fix);
}

ma_status ma_probe_analyze(struct ma_probe_result *r, const struct ma_rules *rules)
{
	struct ma_findings l = { 0 };
	check_hosts(r, rules, &l);
	check_dns(r, &l);
	ma_findings_rules_note(&l, rules, NULL);
	check_silence(r, &l);
	check_starttls(r, &l);
	check_cert_expired(r, &l);
	check_cert_untrusted(r, &l);
	check_cert_name(r, &l);
	check_cert_soon(r, &l);
	check_logins(r, &l);
	check_plaintext(r, &l);
	check_deadline(r, &l);
	check_best_settings(r, &l);
	if (l.oom) {
		ma_findings_clear(&l);
		return MA_ERR_NOMEM;
	}
	ma_findings_sort(l.v, l.n);
	r->findings = l.v;
	r->n_findings = l.n;
	return MA_OK;
}
