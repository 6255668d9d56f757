#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/findings.h"
#include "audit/report.h"

/* 2026-11-25 10:00 UTC and the audit a day later. */
#define PREV 1795600800
#define NOW (PREV + 86400)
#define SNAPSHOT "tests/unit/expected/report_destroyed.txt"
#define SNAPSHOT_EARLIER "tests/unit/expected/report_earlier.txt"

/* text begins with the string literal lit. */
#define STARTS(text, lit) (strncmp((text), lit, sizeof lit - 1) == 0)

/* ---- the fixed scenario ---------------------------------------------------- */

static char *xdup(const char *s)
{
	char *p = strdup(s);
	assert_non_null(p);
	return p;
}

static void add_folder(struct ma_audit_result *r, const char *name, uint32_t messages,
		       uint32_t unseen, uint64_t size, int64_t delta)
{
	size_t n = r->nfolders + 1;
	r->folders = realloc(r->folders, n * sizeof *r->folders);
	assert_non_null(r->folders);
	memset(&r->folders[r->nfolders], 0, sizeof r->folders[r->nfolders]);
	struct ma_folder *f = &r->folders[r->nfolders].folder;
	f->name = xdup(name);
	f->raw_name = xdup(name);
	f->delimiter = '/';
	f->messages = messages;
	f->unseen = unseen;
	f->uidnext = messages + 1;
	f->uidvalidity = 1700000000;
	r->folders[r->nfolders].deleted = 0;
	r->folders[r->nfolders].size = size;
	r->folders[r->nfolders].delta = delta;
	r->delta_known = true;
	r->nfolders++;
}

static void add_lost(struct ma_audit_result *r, uint32_t uid, const char *from,
		     const char *subject, const char *gone_to)
{
	r->lost = realloc(r->lost, (r->nlost + 1) * sizeof *r->lost);
	assert_non_null(r->lost);
	struct ma_lost_msg *m = &r->lost[r->nlost++];
	memset(m, 0, sizeof *m);
	m->folder = xdup("INBOX");
	m->uid = uid;
	m->size = 4000 + uid;
	m->internaldate = PREV - 7200 * (int64_t)uid;
	m->from = from ? xdup(from) : NULL;
	m->subject = subject ? xdup(subject) : NULL;
	m->last_seen = PREV;
	m->gone_to = gone_to ? xdup(gone_to) : NULL;
}

static struct ma_loss_entry *add_entry(struct ma_audit_result *r, enum ma_loss_kind kind,
				       const char *folder, enum ma_role role, int64_t audit,
				       time_t found, bool this_audit)
{
	r->ledger = realloc(r->ledger, (r->nledger + 1) * sizeof *r->ledger);
	assert_non_null(r->ledger);
	struct ma_loss_entry *e = &r->ledger[r->nledger++];
	memset(e, 0, sizeof *e);
	e->id = (int64_t)r->nledger;
	e->kind = kind;
	e->found_audit = audit;
	e->found = found;
	e->this_audit = this_audit;
	e->folder = xdup(folder);
	e->role = role;
	e->count = 1;
	return e;
}

/* The ledger entry of a message this audit found destroyed (r->lost[i]). */
static void ledger_of_lost(struct ma_audit_result *r, size_t i)
{
	const struct ma_lost_msg *m = &r->lost[i];
	struct ma_loss_entry *e = add_entry(r, MA_LOSS_MESSAGE, m->folder, MA_ROLE_INBOX, 3,
					    NOW - 4, true);
	e->size = m->size;
	e->internaldate = m->internaldate;
	e->from = m->from ? xdup(m->from) : NULL;
	e->subject = m->subject ? xdup(m->subject) : NULL;
	e->last_seen = m->last_seen;
}

static void clear_ledger(struct ma_audit_result *r)
{
	for (size_t i = 0; i < r->nledger; i++) {
		free(r->ledger[i].folder);
		free(r->ledger[i].date);
		free(r->ledger[i].from);
		free(r->ledger[i].subject);
	}
	free(r->ledger);
	r->ledger = NULL;
	r->nledger = 0;
}

static void set_alert(struct ma_audit_result *r, const char *text)
{
	r->alerts = realloc(r->alerts, (r->nalerts + 1) * sizeof *r->alerts);
	assert_non_null(r->alerts);
	r->alerts[r->nalerts++] = xdup(text);
}

static void set_cert(struct ma_cert_info *c)
{
	c->present = true;
	snprintf(c->subject, sizeof c->subject, "CN=imap.example.com");
	snprintf(c->issuer, sizeof c->issuer, "C=US, O=Let's Encrypt, CN=R11");
	snprintf(c->sans, sizeof c->sans, "DNS:imap.example.com, DNS:pop3.example.com");
	snprintf(c->not_before, sizeof c->not_before, "2026-10-01 00:00 UTC");
	snprintf(c->not_after, sizeof c->not_after, "2027-01-01 00:00 UTC");
	c->not_after_t = 1798761600;
	snprintf(c->sha256, sizeof c->sha256,
		 "3A:7F:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
		 "EE:FF:01:23:45:67:89:AB:CD:EF:10:32:54:76:98:BA");
	snprintf(c->tls_version, sizeof c->tls_version, "TLSv1.3");
	snprintf(c->cipher, sizeof c->cipher, "TLS_AES_256_GCM_SHA384");
	snprintf(c->verify_text, sizeof c->verify_text, "ok");
	c->verified = true;
}

/* A phone on POP3 deleted 25 messages since yesterday's audit, and 4 more
 * that arrived after it and were never seen; yesterday's audit had found 3
 * lost that nobody has acknowledged. */
static struct ma_audit_result *scenario(void)
{
	struct ma_audit_result *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->started = NOW - 4;
	r->finished = NOW;
	r->prev_audit = PREV;
	snprintf(r->login, sizeof r->login, "alice@example.com");
	snprintf(r->account_label, sizeof r->account_label, "alice@example.com @ imap.example.com");
	snprintf(r->imap_endpoint.host, sizeof r->imap_endpoint.host, "imap.example.com");
	r->imap_endpoint.port = 993;
	r->imap_endpoint.security = MA_SEC_TLS;
	snprintf(r->pop3_endpoint.host, sizeof r->pop3_endpoint.host, "imap.example.com");
	r->pop3_endpoint.port = 995;
	r->pop3_endpoint.security = MA_SEC_TLS;
	r->imap_tried = r->imap_ok = r->imap_tls = true;
	r->pop3_tried = r->pop3_ok = r->pop3_tls = true;
	set_cert(&r->imap_cert);
	set_cert(&r->pop3_cert);

	add_folder(r, "INBOX", 120, 3, 5452595, -25);
	add_folder(r, "Sent", 340, 0, 21000000, 2);
	add_folder(r, "Trash", 14, 0, 70000, 3);
	add_folder(r, "Archiv/Faktury 2026 \xc4\x8d\x65ské a přílohy, dlouhý název složky", 7, 1,
		   812000, INT64_MIN);
	r->folders[0].folder.uidnext = 146; /* 145 UIDs for 120 messages */

	static const char *subjects[] = {
		"Invoice 2026-117", "Re: Meeting on Thursday", "Fwd: contract draft v3",
		"Your order has shipped", NULL,
		"A very long subject line that goes on and on well past any sensible "
		"width for a single line of a report",
		"evil \x1b[2J\x1b]0;owned\x07 subject",
	};
	for (uint32_t i = 1; i <= 25; i++)
		add_lost(r, i, i == 3 ? NULL : "Bob Builder <bob@example.net>",
			 subjects[i % 7], NULL);
	for (uint32_t i = 26; i <= 28; i++)
		add_lost(r, i, "News <news@example.org>", "Weekly news", "Trash");
	/* The ledger, newest first, as the history hands it out. */
	for (size_t i = 0; i < 25; i++)
		ledger_of_lost(r, i);
	struct ma_loss_entry *e = add_entry(r, MA_LOSS_UNSEEN, "INBOX", MA_ROLE_INBOX, 3, NOW - 4,
					    true);
	e->count = 4;
	e->since = PREV;
	e->uidnext_then = 142;
	e->uidnext_now = 146;
	e = add_entry(r, MA_LOSS_MESSAGE, "Archiv", MA_ROLE_ARCHIVE, 2, PREV, false);
	e->internaldate = PREV - 5 * 86400;
	e->from = xdup("Jana Nov\xc3\xa1kov\xc3\xa1 <jana@example.cz>");
	e->subject = xdup("Smlouva 2026 \x1b[31m");
	e->last_seen = PREV - 86400;
	e = add_entry(r, MA_LOSS_UNSEEN, "INBOX", MA_ROLE_INBOX, 2, PREV, false);
	e->count = 2;
	e->since = PREV - 86400;
	e->uidnext_then = 130;
	e->uidnext_now = 145;

	r->pop3.stat_count = 120;
	r->pop3.stat_size = 5452595;
	r->pop3.capa = calloc(3, sizeof *r->pop3.capa);
	r->pop3.capa[0] = xdup("TOP");
	r->pop3.capa[1] = xdup("UIDL");
	r->pop3.capa[2] = xdup("SASL PLAIN");
	r->pop3.ncapa = 3;

	r->history = calloc(3, sizeof *r->history);
	r->nhistory = 3;
	r->history[0] = (struct ma_audit_summary){ 3, NOW, "critical", 120, 481, 120 };
	r->history[1] = (struct ma_audit_summary){ 2, PREV, "ok", 145, 501, 145 };
	r->history[2] = (struct ma_audit_summary){ 1, PREV - 86400, "ok", 140, 495, -1 };

	struct ma_error err = { 0 };
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	return r;
}

static void done(struct ma_audit_result *r)
{
	/* The ledger and alerts, whatever ma_audit_result_free knows of them. */
	clear_ledger(r);
	for (size_t i = 0; i < r->nalerts; i++)
		free(r->alerts[i]);
	free(r->alerts);
	r->alerts = NULL;
	r->nalerts = 0;
	ma_audit_result_free(r);
}

/* Earlier losses alone, under a server alert, with POP3 left alone: the
 * verdict stays critical and blames no device of today. */
static struct ma_audit_result *scenario_earlier(void)
{
	struct ma_audit_result *r = scenario();
	for (size_t i = 0; i < r->nlost; i++) {
		free(r->lost[i].folder);
		free(r->lost[i].from);
		free(r->lost[i].subject);
		free(r->lost[i].gone_to);
	}
	r->nlost = 0;
	/* Keep yesterday's two entries only. */
	struct ma_loss_entry keep[2] = { r->ledger[26], r->ledger[27] };
	r->ledger[26].folder = r->ledger[27].folder = NULL;
	r->ledger[26].from = r->ledger[26].subject = NULL;
	clear_ledger(r);
	r->ledger = malloc(sizeof keep);
	assert_non_null(r->ledger);
	memcpy(r->ledger, keep, sizeof keep);
	r->nledger = 2;
	r->folders[0].folder.uidnext = 121;
	r->pop3_ok = false;
	r->pop3_skipped = true;
	ma_fail(&r->pop3_err, MA_ERR_LOGIN_DELAY, "the server announces LOGIN-DELAY 900");
	set_alert(r, "Your mailbox is 96% full \x1b]0;owned\x07");
	struct ma_error err = { 0 };
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	return r;
}

static char *report_of(const struct ma_audit_result *r)
{
	char *text = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_report_text(r, &text, &err), MA_OK);
	assert_non_null(text);
	return text;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *p = malloc(cap);
	assert_non_null(p);
	size_t n;
	while ((n = fread(p + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			p = realloc(p, cap);
			assert_non_null(p);
		}
	}
	fclose(f);
	p[len] = '\0';
	return p;
}

/* text with every line break and the indent after it as one space, for
 * phrases wherever the report wraps them. */
static char *flat(const char *text)
{
	char *f = xdup(text), *o = f;
	for (const char *p = text; *p; p++) {
		if (*p != '\n') {
			*o++ = *p;
			continue;
		}
		while (p[1] == ' ')
			p++;
		*o++ = ' ';
	}
	*o = '\0';
	return f;
}

static void check_lines(const char *text)
{
	int lineno = 1;
	size_t cps = 0;
	assert_true(strlen(text) > 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\n') {
			if (cps > MA_REPORT_WIDTH)
				fail_msg("line %d is %zu columns wide", lineno, cps);
			cps = 0;
			lineno++;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f)
			fail_msg("control byte 0x%02x on line %d", *p, lineno);
		if (*p == ' ' && (p[1] == '\n' || !p[1]))
			fail_msg("trailing space on line %d", lineno);
		cps += (*p & 0xC0) != 0x80;
	}
}

/* ---- tests -------------------------------------------------------------------- */

/* Compares the report of r with the snapshot file (MA_WRITE_SNAPSHOT=1
 * rewrites it; review the diff before committing). */
static void snapshot(const struct ma_audit_result *r, const char *file)
{
	char *text = report_of(r);
	/* The snapshot must survive a version bump. */
	const char *head = "mailaudit " MA_VERSION " ";
	assert_true(strncmp(text, head, strlen(head)) == 0);
	char *v = NULL;
	assert_true(asprintf(&v, "mailaudit VERSION %s", text + strlen(head)) > 0);
	const char *src = getenv("MA_SRCDIR") ? getenv("MA_SRCDIR") : ".";
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", src, file);
	if (getenv("MA_WRITE_SNAPSHOT")) {
		struct ma_error err = { 0 };
		assert_int_equal(ma_report_write(path, v, &err), MA_OK);
	}
	char *want = read_all(path);
	if (!want)
		fail_msg("cannot read %s (run from the repository root or set MA_SRCDIR)", path);
	if (strcmp(want, v) != 0) {
		const char *a = want, *b = v;
		int line = 1;
		while (*a && *a == *b) {
			line += *a == '\n';
			a++;
			b++;
		}
		fail_msg("report differs from %s at line %d", path, line);
	}
	free(want);
	free(v);
	free(text);
}

static void matches_snapshot(void **state)
{
	(void)state;
	struct ma_audit_result *r = scenario();
	/* The same result, the same bytes. */
	char *a = report_of(r), *b = report_of(r);
	assert_string_equal(a, b);
	free(a);
	free(b);
	snapshot(r, SNAPSHOT);
	done(r);
	r = scenario_earlier();
	snapshot(r, SNAPSHOT_EARLIER);
	done(r);
}

static void lines_fit_and_are_clean(void **state)
{
	(void)state;
	struct ma_audit_result *r = scenario();
	char *text = report_of(r);
	check_lines(text);
	assert_null(strchr(text, '\x1b'));
	assert_non_null(strstr(text, "mailaudit " MA_VERSION));
	assert_non_null(strstr(text, "Verdict: CRITICAL \xE2\x80\x94 25 messages were deleted"));
	assert_non_null(strstr(text, "Audited:   2026-11-26 10:00 UTC"));
	assert_null(strstr(text, "--insecure)"));
	/* The ledger: every loss not acknowledged, under its audit. */
	const char *lm = strstr(text, "\nLost mail on record\n-------------------\n");
	assert_non_null(lm);
	assert_true(lm > strstr(text, "\nFindings\n"));
	assert_true(lm < strstr(text, "\nFolders\n"));
	assert_non_null(strstr(lm, "32 lost messages, found by 2 audits, not acknowledged yet"));
	assert_non_null(strstr(lm, "Found by the audit of 2026-11-26 09:59 UTC (this audit):"));
	assert_non_null(strstr(lm, "Found by the audit of 2026-11-25 10:00 UTC:"));
	assert_non_null(strstr(lm, "- INBOX: 4 messages that arrived after 2026-11-25 10:00 UTC, "
				   "deleted unseen"));
	assert_non_null(strstr(lm, "- Archiv: 2026-11-20 10:00 UTC Jana Nov\xc3\xa1kov\xc3\xa1 "
				   "<jana@example.cz>: Smlouva 2026\n    ?[31m"));
	assert_non_null(strstr(text, "CRITICAL  losses-unacknowledged"));
	assert_non_null(strstr(text, "CRITICAL  mail-came-and-went"));
	assert_non_null(strstr(text, "Losses found by earlier audits are not acknowledged yet"));
	free(text);

	/* Losses of earlier audits only: no POP3 device is blamed for today. */
	struct ma_audit_result *e = scenario_earlier();
	text = report_of(e);
	check_lines(text);
	assert_null(strchr(text, '\x1b'));
	assert_null(strchr(text, '\x07'));
	assert_non_null(strstr(text, "Verdict: CRITICAL \xE2\x80\x94 3 lost messages found by "
				     "earlier audits"));
	assert_non_null(strstr(text, "Earlier audits found mail deleted from the server"));
	char *ft = flat(text);
	assert_null(strstr(ft, "device downloaded over POP3"));
	free(ft);
	assert_non_null(strstr(text, "Alert:     Your mailbox is 96% full ?]0;owned?"));
	assert_non_null(strstr(text, "WARNING  server-alert"));
	assert_non_null(strstr(text, "INFO  pop3-login-delay"));
	assert_null(strstr(text, "pop3-failed"));
	assert_non_null(strstr(text, "POP3:      imap.example.com:995, SSL/TLS (left alone, see "
				     "pop3-login-delay)"));
	assert_non_null(strstr(text, "POP3 (STAT)           skipped"));
	free(text);

	/* Losses outside INBOX, today: an IMAP program or a person. */
	clear_ledger(e);
	struct ma_loss_entry *x = add_entry(e, MA_LOSS_MESSAGE, "Archiv", MA_ROLE_ARCHIVE, 3,
					    NOW - 4, true);
	x->subject = xdup("Contract");
	struct ma_error err = { 0 };
	assert_int_equal(ma_analyze(e, &err), MA_OK);
	text = report_of(e);
	check_lines(text);
	assert_non_null(strstr(text, "CRITICAL  folder-mail-destroyed"));
	char *f = flat(text);
	assert_non_null(strstr(f, "The lost messages were outside INBOX, where a POP3 device "
				  "cannot reach: an IMAP program, a phone app, webmail or a person "
				  "deleted them."));
	assert_null(strstr(f, "device downloaded over POP3"));
	assert_null(strstr(f, "Earlier audits found"));
	free(f);
	free(text);

	/* Nothing on record. */
	clear_ledger(e);
	assert_int_equal(ma_analyze(e, &err), MA_OK);
	text = report_of(e);
	assert_non_null(strstr(text, "Lost mail on record\n-------------------\n  None: no loss "
				     "found by this audit or an earlier one is waiting to be\n"
				     "  acknowledged."));
	assert_int_equal(e->verdict, MA_SEV_WARNING); /* the alert */
	free(text);
	done(e);

	/* A word longer than a line, and an insecure run. */
	free(r->findings[0].title);
	r->findings[0].title = malloc(301);
	memset(r->findings[0].title, 'x', 300);
	r->findings[0].title[300] = '\0';
	r->insecure = true;
	text = report_of(r);
	check_lines(text);
	const char *w = strstr(text, "WARNING: certificate checks were turned off (--insecure)");
	assert_non_null(w);
	assert_true(w < strstr(text, "Verdict:"));
	assert_non_null(strstr(w + 1, "WARNING: certificate checks were turned off (--insecure)"));
	free(text);
	done(r);
}

static void check_line_variants(void **state)
{
	(void)state;
	struct ma_audit_result *r = scenario();
	char *line = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_check_line(r, &line, &err), MA_OK);
	assert_string_equal(line, "MAILAUDIT CRITICAL - 25 messages were deleted from the server "
				  "since 2026-11-25 10:00 UTC and are in no folder | inbox=120;;;0 "
				  "inbox_size=5452595B;;;0 pop3=120;;;0 pop3_size=5452595B;;;0 "
				  "destroyed=25;;;0 unseen_deleted=4;;;0 unacknowledged=32;;;0 "
				  "time=0.000s;;;0");
	free(line);

	/* A second check before anyone acknowledged: still critical. */
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	assert_int_equal(ma_check_line(r, &line, &err), MA_OK);
	assert_true(strncmp(line, "MAILAUDIT CRITICAL - ", 21) == 0);
	free(line);

	/* The lost mail recovered and acknowledged: all clear. */
	for (size_t i = 0; i < r->nlost; i++) {
		free(r->lost[i].folder);
		free(r->lost[i].from);
		free(r->lost[i].subject);
		free(r->lost[i].gone_to);
	}
	r->nlost = 0;
	clear_ledger(r);
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	assert_int_equal(ma_check_line(r, &line, &err), MA_OK);
	assert_non_null(strstr(line, "MAILAUDIT OK - No sign of lost mail"));
	assert_non_null(strstr(line, "| inbox=120;;;0 inbox_size=5452595B;;;0 pop3=120;;;0 "
				     "pop3_size=5452595B;;;0 destroyed=0;;;0 unseen_deleted=0;;;0 "
				     "unacknowledged=0;;;0 time=0.000s;;;0"));
	free(line);

	r->imap_ok = false;
	ma_fail(&r->imap_err, MA_ERR_LOGIN, "NO [AUTHENTICATIONFAILED] | bad");
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	assert_int_equal(ma_check_line(r, &line, &err), MA_OK);
	assert_true(strncmp(line, "MAILAUDIT UNKNOWN - IMAP could not be audited", 45) == 0);
	assert_null(strstr(line, "inbox="));
	/* '|' only before the performance data. */
	assert_non_null(strstr(line, "/ bad | pop3=120;;;0 pop3_size=5452595B;;;0 time="));
	assert_null(strstr(line, "unacknowledged"));
	free(line);
	done(r);

	/* Earlier losses: critical, counted, also when IMAP failed. */
	r = scenario_earlier();
	assert_int_equal(ma_check_line(r, &line, &err), MA_OK);
	assert_string_equal(line, "MAILAUDIT CRITICAL - 3 lost messages found by earlier audits "
				  "since 2026-11-25 10:00 UTC are not acknowledged yet | inbox=120;;;0 "
				  "inbox_size=5452595B;;;0 destroyed=0;;;0 unseen_deleted=0;;;0 "
				  "unacknowledged=3;;;0 time=0.000s;;;0");
	free(line);
	r->imap_ok = false;
	ma_fail(&r->imap_err, MA_ERR_CONNECT_TIMEOUT, "imap.example.com:993");
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	assert_int_equal(r->verdict, MA_SEV_CRITICAL);
	assert_int_equal(ma_check_line(r, &line, &err), MA_OK);
	assert_true(strncmp(line, "MAILAUDIT CRITICAL - 3 lost messages", 36) == 0);
	assert_non_null(strstr(line, " | unacknowledged=3;;;0 time=0.000s;;;0"));
	free(line);
	done(r);
}

/* Every value of the performance data in the guidelines' form,
 * label=value[UOM];warn;crit;min;max, with the unit where one applies. */
static void check_line_perfdata(void **state)
{
	(void)state;
	struct ma_audit_result *r = scenario();
	r->elapsed_ms = 61234;
	char *line = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_check_line(r, &line, &err), MA_OK);
	const char *pd = strstr(line, " | ");
	assert_non_null(pd);
	assert_null(strchr(pd + 3, '|'));
	assert_non_null(strstr(pd, " time=61.234s;;;0"));
	assert_non_null(strstr(pd, " inbox_size=5452595B;;;0 "));
	/* Each value: a label, '=', a number, a known unit or none, ";;;0". */
	char *copy = xdup(pd + 3), *save = NULL;
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		assert_non_null(eq);
		char *end = NULL;
		strtod(eq + 1, &end);
		assert_true(end > eq + 1);
		assert_true(strcmp(end, ";;;0") == 0 || strcmp(end, "B;;;0") == 0 ||
			    strcmp(end, "s;;;0") == 0);
	}
	free(copy);
	free(line);
	done(r);
}

/* A POP3-only account whose POP3 certificate is bad: the line names the
 * certificate, not only the missing IMAP server. */
static void check_line_pop3_only(void **state)
{
	(void)state;
	struct ma_audit_result *r = scenario_earlier();
	for (size_t i = 0; i < r->nfolders; i++)
		ma_folder_clear(&r->folders[i].folder);
	r->nfolders = 0;
	clear_ledger(r);
	r->imap_tried = r->imap_ok = false;
	r->imap_endpoint.host[0] = '\0';
	r->pop3_skipped = false;
	r->pop3_tried = true;
	r->pop3_ok = false;
	ma_fail(&r->pop3_err, MA_ERR_CERT_UNTRUSTED, "POP3 server pop.example.com: issuer CN=Evil CA");
	struct ma_error err = { 0 };
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	char *line = NULL;
	assert_int_equal(ma_check_line(r, &line, &err), MA_OK);
	assert_true(STARTS(line, "MAILAUDIT UNKNOWN - No IMAP server is configured, and POP3 could "
			   "not be audited: the server's certificate was issued by an authority"));
	assert_non_null(strstr(line, "issuer CN=Evil CA"));
	assert_int_equal(ma_severity_exit_code(ma_check_severity(r)), 3);
	free(line);
	done(r);
}

/* A --trace file that could not be written: never OK; the line says so
 * first when the audit itself found nothing worse, last when it is
 * CRITICAL. So does the report. */
static void check_line_trace_failure(void **state)
{
	(void)state;
	struct ma_audit_result *r = scenario();
	ma_fail(&r->trace_err, MA_ERR_IO, "/dev/full: No space left on device");
	char *line = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_check_severity(r), MA_SEV_CRITICAL);
	assert_int_equal(ma_check_line(r, &line, &err), MA_OK);
	assert_true(STARTS(line, "MAILAUDIT CRITICAL - 25 messages"));
	assert_non_null(strstr(line, "; the --trace file could not be written (/dev/full: No space "
				     "left on device) | "));
	free(line);
	char *text = report_of(r);
	check_lines(text);
	char *f = flat(text);
	assert_non_null(strstr(f, "WARNING: the --trace file could not be written (/dev/full: No "
				  "space left on device)"));
	free(f);
	free(text);
	/* Nothing lost: the audit says OK, the run UNKNOWN. */
	for (size_t i = 0; i < r->nlost; i++) {
		free(r->lost[i].folder);
		free(r->lost[i].from);
		free(r->lost[i].subject);
		free(r->lost[i].gone_to);
	}
	r->nlost = 0;
	clear_ledger(r);
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	assert_int_equal(r->verdict, MA_SEV_OK);
	assert_int_equal(ma_check_severity(r), MA_SEV_UNKNOWN);
	assert_int_equal(ma_check_line(r, &line, &err), MA_OK);
	assert_true(STARTS(line, "MAILAUDIT UNKNOWN - The --trace file could not be written "
			    "(/dev/full: No space left on device); the audit itself: OK - No sign "
			    "of lost mail"));
	free(line);
	done(r);
}

/* The deadline: UNKNOWN, saying which part it stopped; a CRITICAL found
 * before it stays CRITICAL and says the audit was cut short. */
static void check_line_deadline(void **state)
{
	(void)state;
	struct ma_audit_result *r = scenario();
	r->deadline_passed = true;
	r->deadline_s = 50;
	char *line = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_check_line(r, &line, &err), MA_OK);
	assert_true(STARTS(line, "MAILAUDIT CRITICAL - 25 messages"));
	assert_non_null(strstr(line, "; the audit did not finish within --deadline 50 s | "));
	free(line);

	r->pop3_ok = false;
	ma_fail(&r->pop3_err, MA_ERR_DEADLINE, "POP3 server imap.example.com, during UIDL");
	for (size_t i = 0; i < r->nlost; i++) {
		free(r->lost[i].folder);
		free(r->lost[i].from);
		free(r->lost[i].subject);
		free(r->lost[i].gone_to);
	}
	r->nlost = 0;
	clear_ledger(r);
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	r->verdict = MA_SEV_UNKNOWN; /* as ma_audit_run leaves it */
	assert_int_equal(ma_check_line(r, &line, &err), MA_OK);
	assert_string_equal(line, "MAILAUDIT UNKNOWN - The audit did not finish within --deadline "
				  "50 s (POP3 server imap.example.com, during UIDL) | inbox=120;;;0 "
				  "inbox_size=5452595B;;;0 destroyed=0;;;0 unseen_deleted=0;;;0 "
				  "unacknowledged=0;;;0 time=0.000s;;;0");
	free(line);
	char *text = report_of(r);
	check_lines(text);
	char *f = flat(text);
	assert_non_null(strstr(f, "WARNING: the audit did not finish within --deadline 50 s (POP3 "
				  "server imap.example.com, during UIDL)"));
	free(f);
	free(text);
	done(r);
}

/* Setup errors have their line too; a '|' in one cannot start perfdata. */
static void check_setup_line(void **state)
{
	(void)state;
	char *line = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_check_setup_line("no password source | x\x1b[2J", &line, &err), MA_OK);
	assert_null(strchr(line, '|'));
	assert_null(strchr(line, '\x1b'));
	assert_true(STARTS(line, "MAILAUDIT UNKNOWN - no password source / x"));
	free(line);
}

/* --all: the worst first, each account on a line of its own, every
 * account's numbers under its name, and a report that keeps the width. */
static void check_lines_every_account(void **state)
{
	(void)state;
	struct ma_audit_result *crit = scenario();
	crit->elapsed_ms = 2000;
	struct ma_account_outcome v[3] = {
		{ .name = "home", .why = "password: the password command failed (exit status 1)" },
		{ .name = "work", .r = crit },
		{ .name = "shop", .why = "no password source | here" },
	};
	char *text = NULL;
	struct ma_error err = { 0 };
	assert_int_equal(ma_check_lines_all(v, 3, 3500, &text, &err), MA_OK);
	char *nl = strchr(text, '\n');
	assert_non_null(nl);
	*nl = '\0';
	assert_true(STARTS(text, "MAILAUDIT CRITICAL - 3 accounts: 1 CRITICAL, 2 UNKNOWN; worst "
			    "work: 25 messages were deleted"));
	assert_non_null(strstr(text, " | work_inbox=120;;;0 "));
	assert_non_null(strstr(text, " work_time=2.000s;;;0 time=3.500s;;;0"));
	assert_null(strstr(text, "home_"));
	const char *rest = nl + 1;
	assert_true(STARTS(rest, "home: UNKNOWN - password: the password command failed (exit "
			    "status 1)\nwork: CRITICAL - 25 messages"));
	assert_non_null(strstr(rest, "\nshop: UNKNOWN - no password source / here"));
	assert_null(strchr(rest, '|'));
	free(text);

	assert_int_equal(ma_report_all(v, 3, &text, &err), MA_OK);
	check_lines(text);
	assert_non_null(strstr(text, "Worst verdict: CRITICAL\n"));
	assert_non_null(strstr(text, "\nAccount work\n------------\n"));
	assert_non_null(strstr(text, "Not audited: password: the password command failed"));
	assert_non_null(strstr(text, "Verdict: CRITICAL"));
	free(text);
	done(crit);
}

/* The server's own Trash purge: named by its finding, a WARNING (mail left
 * the server), and on record like any loss until acknowledged. */
static void trash_purge_on_record(void **state)
{
	(void)state;
	struct ma_audit_result *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->started = NOW - 4;
	r->finished = NOW;
	r->prev_audit = PREV;
	snprintf(r->login, sizeof r->login, "alice@example.com");
	r->imap_tried = r->imap_ok = true;
	add_folder(r, "INBOX", 10, 0, 50000, 0);
	add_folder(r, "INBOX.Trash", 1, 0, 5000, -2);
	r->folders[1].kept = 1;
	r->folders[1].kept_oldest = NOW - 2 * 86400;
	for (int i = 0; i < 2; i++) {
		struct ma_loss_entry *e = add_entry(r, MA_LOSS_MESSAGE, "INBOX.Trash", MA_ROLE_TRASH, 3,
						    NOW - 4, true);
		e->internaldate = NOW - (20 + i) * 86400;
		e->from = xdup("News <news@example.org>");
		e->subject = xdup(i ? "Purged two" : "Purged one");
		e->last_seen = PREV;
	}
	struct ma_error err = { 0 };
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	assert_int_equal(r->verdict, MA_SEV_WARNING);
	char *text = report_of(r);
	check_lines(text);
	assert_non_null(strstr(text, "trash-purge-policy"));
	assert_null(strstr(text, "trash-emptied"));
	const char *rec = strstr(text, "2 lost messages, found by 1 audit, not acknowledged yet");
	assert_non_null(rec);
	assert_non_null(strstr(rec, "Purged one"));
	free(text);

	/* Beside an earlier loss still on record: both are listed. */
	struct ma_loss_entry *e = add_entry(r, MA_LOSS_MESSAGE, "INBOX", MA_ROLE_INBOX, 2, PREV, false);
	e->internaldate = PREV - 86400;
	e->subject = xdup("Invoice");
	e->last_seen = PREV - 3600;
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	text = report_of(r);
	check_lines(text);
	rec = strstr(text, "3 lost messages, found by 2 audits, not acknowledged yet");
	assert_non_null(rec);
	assert_non_null(strstr(rec, "Invoice"));
	assert_non_null(strstr(rec, "Purged two"));
	assert_non_null(strstr(text, "trash-purge-policy"));
	free(text);
	done(r);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void write_is_atomic(void **state)
{
	(void)state;
	char dir[] = "/tmp/ma-report-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], sub[128];
	struct ma_error err = { 0 };

	snprintf(path, sizeof path, "%s/report.txt", dir);
	assert_int_equal(ma_report_write(path, "first\n", &err), MA_OK);
	assert_int_equal(ma_report_write(path, "second\n", &err), MA_OK);
	char *got = read_all(path);
	assert_string_equal(got, "second\n");
	free(got);
	assert_int_equal(count_entries(dir), 1);

	/* A directory as the path: fails naming it, leaves nothing behind. */
	snprintf(sub, sizeof sub, "%s/out", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(ma_report_write(sub, "x\n", &err), MA_ERR_IO);
	assert_non_null(strstr(err.detail, sub));
	assert_int_equal(count_entries(dir), 2);
	assert_int_equal(count_entries(sub), 0);

	/* A missing directory. */
	snprintf(path, sizeof path, "%s/missing/report.txt", dir);
	assert_int_equal(ma_report_write(path, "x\n", &err), MA_ERR_IO);
	assert_non_null(strstr(err.detail, path));

	/* An unwritable directory (root writes anyway, so only as a user). */
	if (geteuid() != 0) {
		assert_int_equal(chmod(sub, 0500), 0);
		snprintf(path, sizeof path, "%s/report.txt", sub);
		assert_int_equal(ma_report_write(path, "x\n", &err), MA_ERR_IO);
		assert_non_null(strstr(err.detail, path));
		assert_int_equal(count_entries(sub), 0);
		chmod(sub, 0700);
	}

	/* A FIFO (as /dev/null, any file that is no regular one) is written
	 * in place, never replaced by a regular file. */
	snprintf(path, sizeof path, "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	int rfd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	assert_int_equal(ma_report_write(path, "through\n", &err), MA_OK);
	char buf[32] = "";
	assert_int_equal(read(rfd, buf, sizeof buf - 1), 8);
	assert_string_equal(buf, "through\n");
	close(rfd);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISFIFO(sb.st_mode));
	assert_int_equal(count_entries(dir), 3);
	unlink(path);

	snprintf(path, sizeof path, "%s/report.txt", dir);
	unlink(path);
	rmdir(sub);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matches_snapshot),
		cmocka_unit_test(lines_fit_and_are_clean),
		cmocka_unit_test(check_line_variants),
		cmocka_unit_test(check_line_perfdata),
		cmocka_unit_test(check_line_pop3_only),
		cmocka_unit_test(check_line_trace_failure),
		cmocka_unit_test(check_line_deadline),
		cmocka_unit_test(check_setup_line),
		cmocka_unit_test(check_lines_every_account),
		cmocka_unit_test(trash_purge_on_record),
		cmocka_unit_test(write_is_atomic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
