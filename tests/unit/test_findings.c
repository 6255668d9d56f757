#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "audit/findings.h"

/* 2026-11-25 10:00 UTC and a day later. */
#define PREV 1795600800
#define NOW (PREV + 86400)

/* ---- building synthetic results ------------------------------------------- */

static char *xdup(const char *s)
{
	char *p = strdup(s);
	assert_non_null(p);
	return p;
}

static struct ma_folder *add_folder(struct ma_audit_result *r, const char *name,
				    uint32_t messages, uint32_t uidnext)
{
	r->folders = realloc(r->folders, (r->nfolders + 1) * sizeof *r->folders);
	assert_non_null(r->folders);
	memset(&r->folders[r->nfolders], 0, sizeof r->folders[r->nfolders]);
	struct ma_folder *f = &r->folders[r->nfolders].folder;
	f->name = xdup(name);
	f->raw_name = xdup(name);
	f->delimiter = '/';
	f->messages = messages;
	f->uidnext = uidnext;
	f->uidvalidity = 1700000000;
	r->folders[r->nfolders].deleted = 0;
	r->folders[r->nfolders].size = (uint64_t)messages * 10000;
	r->nfolders++;
	return f;
}

static void add_lost(struct ma_audit_result *r, const char *folder, const char *gone_to,
		     uint32_t uid, const char *subject)
{
	r->lost = realloc(r->lost, (r->nlost + 1) * sizeof *r->lost);
	assert_non_null(r->lost);
	struct ma_lost_msg *m = &r->lost[r->nlost++];
	memset(m, 0, sizeof *m);
	m->folder = xdup(folder);
	m->uid = uid;
	m->size = 2000;
	m->internaldate = PREV - 3600 * (int64_t)uid;
	m->from = xdup("Alice Example <alice@example.org>");
	m->subject = xdup(subject);
	m->last_seen = PREV;
	m->gone_to = gone_to ? xdup(gone_to) : NULL;
}

/* A loss on the ledger, as the history hands it to the audit. */
static struct ma_loss_entry *add_entry(struct ma_audit_result *r, enum ma_loss_kind kind,
				       const char *folder, enum ma_role role, bool this_audit)
{
	r->ledger = realloc(r->ledger, (r->nledger + 1) * sizeof *r->ledger);
	assert_non_null(r->ledger);
	struct ma_loss_entry *e = &r->ledger[r->nledger++];
	memset(e, 0, sizeof *e);
	e->id = (int64_t)r->nledger;
	e->kind = kind;
	e->this_audit = this_audit;
	e->found_audit = this_audit ? 3 : 2;
	e->found = this_audit ? NOW - 5 : PREV;
	e->folder = xdup(folder);
	e->role = role;
	e->count = 1;
	if (kind == MA_LOSS_UNSEEN)
		e->since = this_audit ? PREV : PREV - 86400;
	return e;
}

/* A named message found destroyed by this audit: in the comparison (lost)
 * and on the ledger, as an audit reports it. */
static void add_destroyed(struct ma_audit_result *r, const char *folder, enum ma_role role,
			  uint32_t uid, const char *subject)
{
	add_lost(r, folder, NULL, uid, subject);
	struct ma_loss_entry *e = add_entry(r, MA_LOSS_MESSAGE, folder, role, true);
	e->size = 2000;
	e->internaldate = PREV - 3600 * (int64_t)uid;
	e->from = xdup("Alice Example <alice@example.org>");
	e->subject = xdup(subject);
	e->last_seen = PREV;
}

/* A message an earlier audit found destroyed, not acknowledged. */
static struct ma_loss_entry *add_earlier(struct ma_audit_result *r, const char *folder,
					 enum ma_role role, const char *subject)
{
	struct ma_loss_entry *e = add_entry(r, MA_LOSS_MESSAGE, folder, role, false);
	e->internaldate = PREV - 86400 - 3600;
	e->from = xdup("Bob <bob@example.net>");
	e->subject = xdup(subject);
	e->last_seen = PREV - 86400;
	return e;
}

static struct ma_loss_entry *add_unseen(struct ma_audit_result *r, const char *folder,
					enum ma_role role, bool this_audit, uint32_t then,
					uint32_t now, uint32_t count)
{
	struct ma_loss_entry *e = add_entry(r, MA_LOSS_UNSEEN, folder, role, this_audit);
	e->uidnext_then = then;
	e->uidnext_now = now;
	e->count = count;
	return e;
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

static void add_capa(struct ma_audit_result *r, const char *line)
{
	r->pop3.capa = realloc(r->pop3.capa, (r->pop3.ncapa + 1) * sizeof *r->pop3.capa);
	assert_non_null(r->pop3.capa);
	r->pop3.capa[r->pop3.ncapa++] = xdup(line);
}

/* A healthy mailbox seen for the second time: INBOX 120 of 121 UIDs. */
static struct ma_audit_result *healthy(void)
{
	struct ma_audit_result *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->started = NOW - 5;
	r->finished = NOW;
	r->prev_audit = PREV;
	snprintf(r->login, sizeof r->login, "alice@example.com");
	snprintf(r->account_label, sizeof r->account_label, "alice@example.com @ imap.example.com");
	r->imap_tried = r->imap_ok = true;
	add_folder(r, "INBOX", 120, 121);
	add_folder(r, "Sent", 40, 41);
	return r;
}

static void done(struct ma_audit_result *r)
{
	/* Freed here whatever ma_audit_result_free knows of them. */
	clear_ledger(r);
	for (size_t i = 0; i < r->nalerts; i++)
		free(r->alerts[i]);
	free(r->alerts);
	r->alerts = NULL;
	r->nalerts = 0;
	ma_audit_result_free(r);
}

static void analyze(struct ma_audit_result *r)
{
	struct ma_error err = { 0 };
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	/* Worst first, every finding complete. */
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct ma_finding *f = &r->findings[i];
		assert_non_null(f->code);
		assert_non_null(f->title);
		assert_non_null(f->evidence);
		assert_non_null(f->why);
		assert_non_null(f->fix);
		assert_null(strchr(f->title, '\n'));
		if (i)
			assert_true(r->findings[i - 1].severity >= f->severity);
	}
}

static const struct ma_finding *find(const struct ma_audit_result *r, const char *code)
{
	for (size_t i = 0; i < r->nfindings; i++)
		if (strcmp(r->findings[i].code, code) == 0)
			return &r->findings[i];
	return NULL;
}

static size_t lines(const char *s)
{
	size_t n = *s ? 1 : 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- tests ------------------------------------------------------------------ */

static void healthy_is_all_clear(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_OK);
	assert_int_equal(r->nfindings, 1);
	assert_string_equal(r->findings[0].code, "all-clear");
	assert_int_equal(r->findings[0].severity, MA_SEV_OK);
	assert_non_null(strstr(r->findings[0].title, "160 messages in 2 folders"));
	done(r);
}

/* A \Noselect parent is no folder of mail: not counted. */
static void noselect_parent_not_counted(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	add_folder(r, "Projects", 0, 0)->noselect = true;
	add_folder(r, "Projects/2026", 3, 4);
	analyze(r);
	assert_string_equal(r->findings[r->nfindings - 1].code, "all-clear");
	assert_non_null(strstr(r->findings[r->nfindings - 1].title, "163 messages in 3 folders"));
	done(r);
}

static void destroyed_is_critical(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	for (uint32_t i = 1; i <= 25; i++)
		add_destroyed(r, "INBOX", MA_ROLE_INBOX, i, "Invoice");
	add_lost(r, "INBOX", "Trash", 90, "Newsletter");
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_CRITICAL);
	const struct ma_finding *f = &r->findings[0];
	assert_string_equal(f->code, "mail-destroyed");
	assert_int_equal(f->severity, MA_SEV_CRITICAL);
	assert_string_equal(f->title, "25 messages were deleted from the server since "
				      "2026-11-25 10:00 UTC and are in no folder");
	assert_int_equal(lines(f->evidence), 25);
	assert_non_null(strstr(f->evidence, "Invoice"));
	assert_non_null(strstr(f->evidence, "last seen 2026-11-25 10:00 UTC"));
	assert_null(strstr(f->evidence, "Newsletter"));
	assert_non_null(strstr(f->fix, "Leave messages on server"));
	assert_non_null(strstr(f->fix, "delete = false"));
	assert_non_null(strstr(f->fix, "mailaudit --ack"));
	assert_null(find(r, "all-clear"));
	assert_null(find(r, "losses-unacknowledged"));
	assert_non_null(find(r, "mail-moved"));
	done(r);
}

static void destroyed_one_and_many(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	add_destroyed(r, "INBOX", MA_ROLE_INBOX, 1, "Only one");
	analyze(r);
	assert_non_null(strstr(r->findings[0].title, "1 message was deleted"));
	assert_non_null(strstr(r->findings[0].title, "and is in no folder"));
	for (uint32_t i = 2; i <= 60; i++)
		add_destroyed(r, "INBOX", MA_ROLE_INBOX, i, "More");
	analyze(r); /* again: replaces the previous findings */
	const struct ma_finding *f = find(r, "mail-destroyed");
	assert_non_null(strstr(f->title, "60 messages"));
	assert_int_equal(lines(f->evidence), 51);
	assert_non_null(strstr(f->evidence, "\n... and 10 more"));
	done(r);
}

static void hostile_text_is_cleaned(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	add_destroyed(r, "INBOX", MA_ROLE_INBOX, 1, "evil \x1b[2J\x1b]0;title\x07 \xc2\x9b" "31m \xff");
	analyze(r);
	const char *ev = find(r, "mail-destroyed")->evidence;
	assert_null(strchr(ev, '\x1b'));
	assert_null(strchr(ev, '\x07'));
	assert_null(strstr(ev, "\xc2\x9b"));
	assert_null(strchr(ev, '\xff'));
	assert_non_null(strstr(ev, "evil ?[2J"));
	done(r);
}

static void moved_is_grouped_info(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	for (uint32_t i = 1; i <= 12; i++)
		add_lost(r, "INBOX", "Trash", i, "Old");
	analyze(r);
	const struct ma_finding *f = find(r, "mail-moved");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_INFO);
	assert_string_equal(f->title, "12 messages moved from INBOX to Trash");
	assert_string_equal(f->evidence, "");
	assert_int_equal(r->verdict, MA_SEV_OK);
	assert_non_null(find(r, "all-clear"));
	for (uint32_t i = 13; i <= 15; i++)
		add_lost(r, "INBOX", "Archive", i, "Kept");
	analyze(r);
	f = find(r, "mail-moved");
	assert_string_equal(f->title, "15 messages moved to other folders since 2026-11-25 10:00 UTC");
	assert_string_equal(f->evidence, "12 messages moved from INBOX to Trash\n"
					 "3 messages moved from INBOX to Archive");
	done(r);
}

static void inbox_drained_lower_bound(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->first_audit = true;
	r->prev_audit = 0;
	r->folders[0].folder.uidnext = 301; /* 300 UIDs, 120 here: 180 left INBOX */
	analyze(r);                  /* Sent holds 40: at least 140 gone */
	const struct ma_finding *f = find(r, "inbox-drained");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_non_null(strstr(f->title, "At least 140 messages"));
	assert_non_null(strstr(f->evidence, "180 - 40 = 140"));
	assert_non_null(strstr(f->evidence, "lower bound"));
	assert_int_equal(r->verdict, MA_SEV_WARNING);
	assert_non_null(find(r, "first-audit"));

	/* 2 of 160 UIDs: small, but mail left the server, so never with an
	 * OK verdict. */
	r->folders[0].folder.uidnext = 163;
	analyze(r);
	f = find(r, "inbox-drained");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_int_equal(r->verdict, MA_SEV_WARNING);
	assert_null(find(r, "all-clear"));

	/* Everything that left INBOX can be in Sent: nothing to say. */
	r->folders[0].folder.uidnext = 150;
	analyze(r);
	assert_null(find(r, "inbox-drained"));
	done(r);
}

static void set_uidl(struct ma_pop3_view *v, struct ma_pop3_entry *e, uint32_t num, uint32_t uid,
		     uint32_t validity)
{
	e->number = num;
	e->size = 10000;
	char u[17];
	snprintf(u, sizeof u, "%08X%08X", uid, validity);
	e->uidl = ma_pop3_view_add_uidl(v, u, strlen(u));
	assert_non_null(e->uidl);
}

static void mismatch_with_dovecot_uidls(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->pop3_tried = r->pop3_ok = true;
	r->pop3.stat_count = 118;
	r->pop3.stat_size = 1180000;
	r->pop3.nentries = 118;
	r->pop3.entries = calloc(118, sizeof *r->pop3.entries);
	assert_non_null(r->pop3.entries);
	/* POP3 sees UIDs 1-40 and 43-120: 41 and 42 are hidden from it. */
	for (uint32_t i = 0, uid = 1; i < 118; i++, uid++) {
		if (uid == 41)
			uid = 43;
		set_uidl(&r->pop3, &r->pop3.entries[i], i + 1, uid, 1700000000);
	}
	analyze(r);
	const struct ma_finding *f = find(r, "pop3-imap-mismatch");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_string_equal(f->title, "POP3 shows 118 messages but the IMAP INBOX holds 120");
	assert_non_null(strstr(f->evidence, "POP3 sees INBOX UIDs 1-40, 43-120"));
	assert_int_equal(r->verdict, MA_SEV_WARNING);

	/* With the INBOX's UIDs known, name the ones POP3 does not show. */
	for (uint32_t uid = 1; uid <= 120; uid++) {
		struct ma_message m = { .uid = uid, .size = 10000 };
		assert_int_equal(ma_folder_add_message(&r->folders[0].folder, &m), 0);
	}
	analyze(r);
	f = find(r, "pop3-imap-mismatch");
	assert_non_null(strstr(f->evidence, "In IMAP but not in POP3: UIDs 41-42"));

	/* Not Dovecot's format: sizes only. */
	r->pop3.entries[0].uidl = "abc-123";
	analyze(r);
	f = find(r, "pop3-imap-mismatch");
	assert_non_null(strstr(f->evidence, "not Dovecot's default"));
	assert_non_null(strstr(f->evidence, "POP3 STAT: 118 messages, 1.1 MB"));

	/* Same counts: nothing. */
	r->pop3.stat_count = 120;
	analyze(r);
	assert_null(find(r, "pop3-imap-mismatch"));
	done(r);
}

static void pending_expunge(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->folders[0].deleted = 5;
	r->folders[1].deleted = 2;
	analyze(r);
	const struct ma_finding *f = find(r, "pending-expunge");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_non_null(strstr(f->title, "7 messages are marked as deleted in 2 folders"));
	assert_non_null(strstr(f->evidence, "INBOX: 5 of 120 messages flagged \\Deleted"));
	done(r);
}

static void expire_case(const char *line, int sev, const char *in_title)
{
	struct ma_audit_result *r = healthy();
	r->pop3_tried = r->pop3_ok = true;
	r->pop3.stat_count = 120;
	add_capa(r, "TOP");
	add_capa(r, line);
	add_capa(r, "UIDL");
	analyze(r);
	const struct ma_finding *f = find(r, "pop3-expire");
	if (sev < 0) {
		assert_null(f);
	} else {
		assert_non_null(f);
		assert_int_equal(f->severity, sev);
		assert_non_null(strstr(f->title, in_title));
	}
	done(r);
}

static void pop3_expire_policies(void **state)
{
	(void)state;
	expire_case("EXPIRE 0", MA_SEV_CRITICAL, "as soon as");
	expire_case("EXPIRE 30", MA_SEV_WARNING, "30 days after");
	expire_case("EXPIRE 1", MA_SEV_WARNING, "1 day after");
	expire_case("expire 5 USER", MA_SEV_WARNING, "5 days after");
	expire_case("EXPIRE NEVER", MA_SEV_INFO, "never deletes");
	expire_case("EXPIREX 3", -1, NULL);
	expire_case("EXPIRE soon", -1, NULL);
	expire_case("SASL PLAIN", -1, NULL);

	struct ma_audit_result *r = healthy();
	add_capa(r, "EXPIRE 0");
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_CRITICAL);
	done(r);
}

static void pop3_in_use(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->pop3_tried = true;
	r->pop3_in_use = true;
	ma_fail(&r->pop3_err, MA_ERR_IN_USE, "-ERR [IN-USE] Mailbox locked");
	analyze(r);
	const struct ma_finding *f = find(r, "pop3-in-use");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_null(find(r, "pop3-failed")); /* one problem, said once */
	assert_int_equal(r->verdict, MA_SEV_WARNING);
	done(r);
}

static void uidvalidity_reset(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->uidvalidity_reset = calloc(2, sizeof *r->uidvalidity_reset);
	r->uidvalidity_reset[0] = xdup("INBOX");
	r->uidvalidity_reset[1] = xdup("Sent");
	r->nuidvalidity_reset = 2;
	analyze(r);
	const struct ma_finding *f = find(r, "uidvalidity-reset");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_non_null(strstr(f->title, "2 folders"));
	assert_string_equal(f->evidence, "INBOX\nSent");
	done(r);
}

static void first_audit_and_login(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->first_audit = true;
	r->prev_audit = 0;
	snprintf(r->login, sizeof r->login, "alice");
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_OK);
	/* all-clear is OK, below the INFO findings. */
	assert_string_equal(r->findings[r->nfindings - 1].code, "all-clear");
	const struct ma_finding *f = find(r, "first-audit");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_INFO);
	assert_non_null(strstr(f->fix, "tomorrow"));
	f = find(r, "login-not-full-address");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_INFO);
	assert_non_null(strstr(f->title, "\"alice\""));
	/* Table order within a severity: first-audit before the login. */
	assert_true(find(r, "first-audit") < f);
	done(r);
}

static void insecure_and_cert(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->insecure = true;
	r->imap_cert.present = true;
	snprintf(r->imap_cert.subject, sizeof r->imap_cert.subject, "CN=imap.example.com");
	snprintf(r->imap_cert.not_after, sizeof r->imap_cert.not_after, "2026-12-01 10:00 UTC");
	snprintf(r->imap_cert.sha256, sizeof r->imap_cert.sha256, "AA:BB");
	r->imap_cert.not_after_t = NOW + 5 * 86400;
	r->pop3_cert = r->imap_cert;
	analyze(r);
	assert_non_null(find(r, "insecure-connection"));
	const struct ma_finding *f = find(r, "cert-expires-soon");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_string_equal(f->title, "The IMAP and POP3 server's certificate expires in 5 days");
	assert_int_equal(r->verdict, MA_SEV_WARNING);

	r->pop3_cert.present = false;
	r->imap_cert.not_after_t = NOW + 30 * 86400;
	analyze(r);
	assert_null(find(r, "cert-expires-soon"));
	r->imap_cert.not_after_t = NOW - 2 * 86400;
	analyze(r);
	assert_string_equal(find(r, "cert-expires-soon")->title,
			    "The IMAP server's certificate expired 2 days ago");
	done(r);
}

static void imap_failed_is_unknown(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	for (size_t i = 0; i < r->nfolders; i++)
		ma_folder_clear(&r->folders[i].folder);
	r->nfolders = 0;
	r->imap_ok = false;
	ma_fail(&r->imap_err, MA_ERR_LOGIN, "NO [AUTHENTICATIONFAILED] Authentication failed.");
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_UNKNOWN);
	const struct ma_finding *f = &r->findings[0];
	assert_string_equal(f->code, "imap-failed");
	assert_int_equal(f->severity, MA_SEV_UNKNOWN);
	assert_non_null(strstr(f->title, ma_status_message(MA_ERR_LOGIN)));
	assert_non_null(strstr(f->title, "AUTHENTICATIONFAILED"));
	assert_non_null(strstr(f->fix, "full e-mail address"));
	assert_non_null(strstr(f->fix, "15 minutes"));
	assert_null(find(r, "all-clear"));

	ma_fail(&r->imap_err, MA_ERR_CONNECT_TIMEOUT, "imap.example.com:993");
	analyze(r);
	assert_non_null(strstr(r->findings[0].fix, "firewall"));
	ma_fail(&r->imap_err, MA_ERR_HOST_UNKNOWN, "imap-1.m67.example.net");
	analyze(r);
	assert_non_null(strstr(r->findings[0].fix, "Old server addresses"));

	/* Something critical stays critical even without IMAP. */
	add_capa(r, "EXPIRE 0");
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_CRITICAL);
	done(r);
}

static void pop3_failed_with_imap_ok(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->pop3_tried = true;
	ma_fail(&r->pop3_err, MA_ERR_CERT_NAME_MISMATCH, "certificate is for mail.example.net");
	analyze(r);
	const struct ma_finding *f = find(r, "pop3-failed");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_UNKNOWN);
	assert_non_null(strstr(f->fix, "date and time"));
	assert_int_equal(r->verdict, MA_SEV_WARNING);
	done(r);
}

static void sorted_by_severity_stable(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->first_audit = true;
	r->insecure = true;
	r->folders[1].deleted = 1;
	add_capa(r, "EXPIRE 0");
	add_destroyed(r, "INBOX", MA_ROLE_INBOX, 1, "x");
	add_lost(r, "INBOX", "Trash", 2, "y");
	add_destroyed(r, "Trash", MA_ROLE_TRASH, 3, "z");
	add_destroyed(r, "Projects", MA_ROLE_ORDINARY, 4, "w");
	add_earlier(r, "INBOX", MA_ROLE_INBOX, "v");
	r->alerts = calloc(1, sizeof *r->alerts);
	r->alerts[0] = xdup("Quota warning");
	r->nalerts = 1;
	analyze(r);
	const char *want[] = { "mail-destroyed", "folder-mail-destroyed", "losses-unacknowledged",
			       "pop3-expire", "trash-emptied", "server-alert", "pending-expunge",
			       "insecure-connection", "mail-moved", "first-audit" };
	size_t nwant = sizeof want / sizeof want[0];
	assert_int_equal(r->nfindings, nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_string_equal(r->findings[i].code, want[i]);
	done(r);
}

/* ---- the loss ledger --------------------------------------------------------- */

static void earlier_inbox_loss_keeps_critical(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	add_earlier(r, "INBOX", MA_ROLE_INBOX, "Faktura 2026-118");
	struct ma_loss_entry *u = add_unseen(r, "INBOX", MA_ROLE_INBOX, false, 30, 35, 3);
	u->found = PREV;
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_CRITICAL);
	const struct ma_finding *f = find(r, "losses-unacknowledged");
	assert_non_null(f);
	assert_ptr_equal(f, &r->findings[0]);
	assert_int_equal(f->severity, MA_SEV_CRITICAL);
	assert_string_equal(f->title, "4 lost messages found by earlier audits since 2026-11-25 "
				      "10:00 UTC are not acknowledged yet");
	assert_string_equal(f->evidence,
			    "- found 2026-11-25 10:00 UTC in INBOX: 2026-11-24 09:00 UTC Bob <bob@example.net>: "
			    "Faktura 2026-118\n"
			    "- found 2026-11-25 10:00 UTC in INBOX: 3 messages that arrived after "
			    "2026-11-24 10:00 UTC, deleted unseen");
	assert_non_null(strstr(f->fix, "mailaudit --ack"));
	assert_non_null(strstr(f->fix, "press A in the Findings view"));
	assert_non_null(strstr(f->fix, "mailaudit --lost"));
	/* Nothing of this audit's own. */
	assert_null(find(r, "mail-destroyed"));
	assert_null(find(r, "mail-came-and-went"));
	assert_null(find(r, "all-clear"));

	/* Critical even when this audit could not look over IMAP. */
	r->imap_ok = false;
	ma_fail(&r->imap_err, MA_ERR_CONNECT_TIMEOUT, "imap.example.com:993");
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_CRITICAL);
	done(r);
}

static void acknowledged_is_ok_again(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	for (uint32_t i = 1; i <= 3; i++)
		add_destroyed(r, "INBOX", MA_ROLE_INBOX, i, "Invoice");
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_CRITICAL);
	/* What the full-screen program does after A: the acknowledged
	 * entries leave the ledger and the same result is analysed again. */
	clear_ledger(r);
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_OK);
	assert_null(find(r, "mail-destroyed"));
	assert_non_null(find(r, "all-clear"));

	/* An entry marked acknowledged never holds the verdict. */
	add_earlier(r, "INBOX", MA_ROLE_INBOX, "Old")->acked = PREV;
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_OK);
	assert_null(find(r, "losses-unacknowledged"));
	done(r);
}

static void trash_emptied_is_warning(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	add_destroyed(r, "Trash", MA_ROLE_TRASH, 1, "Old newsletter");
	add_destroyed(r, "Deleted Items", MA_ROLE_TRASH, 2, "Spam offer");
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_WARNING);
	const struct ma_finding *f = find(r, "trash-emptied");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_string_equal(f->title, "Trash emptied: 2 messages deleted for good since "
				      "2026-11-25 10:00 UTC");
	assert_non_null(strstr(f->evidence, "Old newsletter (Trash, last seen"));
	assert_non_null(strstr(f->evidence, "Spam offer (Deleted Items, last seen"));
	assert_null(find(r, "mail-destroyed"));
	assert_null(find(r, "folder-mail-destroyed"));
	assert_null(find(r, "all-clear"));

	add_destroyed(r, "Spam", MA_ROLE_JUNK, 3, "Pills");
	analyze(r);
	assert_non_null(strstr(find(r, "trash-emptied")->title, "Trash and Junk emptied: 3 messages"));
	done(r);

	/* Junk alone; and an earlier audit's Trash loss does not hold the
	 * verdict (it stays in --lost). */
	r = healthy();
	add_destroyed(r, "Junk", MA_ROLE_JUNK, 1, "Pills");
	analyze(r);
	assert_non_null(strstr(find(r, "trash-emptied")->title, "Junk emptied: 1 message deleted"));
	clear_ledger(r);
	add_earlier(r, "Trash", MA_ROLE_TRASH, "Old");
	add_unseen(r, "Junk", MA_ROLE_JUNK, false, 10, 20, 4);
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_OK);
	assert_null(find(r, "losses-unacknowledged"));
	assert_non_null(find(r, "all-clear"));
	done(r);
}

/* A message of Trash found deleted by this audit, dated secs_old before
 * the audit started. */
static struct ma_loss_entry *add_trash_gone(struct ma_audit_result *r, const char *folder,
					    uint32_t uid, int64_t secs_old, const char *subject)
{
	add_destroyed(r, folder, MA_ROLE_TRASH, uid, subject);
	struct ma_loss_entry *e = &r->ledger[r->nledger - 1];
	e->internaldate = (int64_t)r->started - secs_old;
	return e;
}

static struct ma_folder_result *trash_kept(struct ma_audit_result *r, const char *name,
					   uint32_t kept, int64_t oldest_secs_old)
{
	add_folder(r, name, kept, 100);
	struct ma_folder_result *f = &r->folders[r->nfolders - 1];
	f->kept = kept;
	f->kept_oldest = (int64_t)r->started - oldest_secs_old;
	return f;
}

#define DAY 86400

static void trash_purge_policy(void **state)
{
	(void)state;
	/* Courier's IMAP_EMPTYTRASH=Trash:7: the messages older than a week
	 * went, the two from the last days stayed. */
	struct ma_audit_result *r = healthy();
	trash_kept(r, "INBOX.Trash", 2, 2 * DAY);
	add_trash_gone(r, "INBOX.Trash", 1, 20 * DAY, "Old offer");
	add_trash_gone(r, "INBOX.Trash", 2, 9 * DAY + 60, "Old newsletter");
	analyze(r);
	/* Mail left the server: never an OK, though no device is to blame. */
	assert_int_equal(r->verdict, MA_SEV_WARNING);
	const struct ma_finding *f = find(r, "trash-purge-policy");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_string_equal(f->title, "The server purged INBOX.Trash: it removed 2 messages older "
				      "than 9 days and kept the newer ones");
	assert_non_null(strstr(f->evidence, "Old offer (INBOX.Trash, last seen"));
	assert_non_null(strstr(f->evidence, "Old newsletter (INBOX.Trash, last seen"));
	assert_non_null(strstr(f->evidence, "Stayed: 2 messages that an earlier audit saw there, "
					   "each dated or put there on 2026-11-24 09:59 UTC or later."));
	assert_non_null(strstr(f->why, "IMAP_EMPTYTRASH"));
	assert_null(find(r, "trash-emptied"));
	assert_null(find(r, "all-clear"));
	assert_non_null(strstr(f->fix, "mailaudit --ack"));
	struct ma_loss_counts c;
	ma_loss_counts(r, &c);
	assert_int_equal(c.trash_now + c.unacknowledged + c.destroyed, 0);
	for (size_t i = 0; i < r->nledger; i++)
		assert_true(r->ledger[i].policy);

	/* One message: the plural forms. */
	clear_ledger(r);
	r->folders[r->nfolders - 1].kept = 1;
	r->folders[r->nfolders - 1].kept_oldest = (int64_t)r->started - 3600;
	add_trash_gone(r, "INBOX.Trash", 1, DAY, "x");
	analyze(r);
	assert_string_equal(find(r, "trash-purge-policy")->title,
			    "The server purged INBOX.Trash: it removed 1 message older than 1 day "
			    "and kept the newer ones");
	assert_non_null(strstr(find(r, "trash-purge-policy")->evidence, "Stayed: 1 message that"));
	done(r);
}

/* What is not a purge by age stays trash-emptied, as it always was. */
static void trash_purge_conservative(void **state)
{
	(void)state;
	struct {
		const char *what;
		uint32_t kept;
		int64_t kept_old, gone_old[2];
		bool undated, unseen, junk;
	} cases[] = {
		{ "nothing stayed: Trash emptied whole", 0, 0, { 20 * DAY, 10 * DAY }, false, false, false },
		{ "a gone message newer than one that stayed", 1, 5 * DAY, { 20 * DAY, 3 * DAY }, false, false,
		  false },
		{ "as old as one that stayed", 1, 10 * DAY, { 20 * DAY, 10 * DAY }, false, false, false },
		{ "younger than a day", 1, 3600, { 2 * 3600, 3 * 3600 }, false, false, false },
		{ "a gone message without a date", 1, DAY, { 20 * DAY, 10 * DAY }, true, false, false },
		{ "arrivals came and went unseen", 1, DAY, { 20 * DAY, 10 * DAY }, false, true, false },
		{ "Junk, not Trash", 1, DAY, { 20 * DAY, 10 * DAY }, false, false, true },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ma_audit_result *r = healthy();
		enum ma_role role = cases[i].junk ? MA_ROLE_JUNK : MA_ROLE_TRASH;
		trash_kept(r, "Trash", cases[i].kept, cases[i].kept_old);
		if (!cases[i].kept)
			r->folders[r->nfolders - 1].kept_oldest = 0;
		for (int j = 0; j < 2; j++) {
			struct ma_loss_entry *e = add_trash_gone(r, "Trash", (uint32_t)j + 1,
								 cases[i].gone_old[j], "old");
			e->role = role;
			if (cases[i].undated && j)
				e->internaldate = 0;
		}
		if (cases[i].unseen)
			add_unseen(r, "Trash", MA_ROLE_TRASH, true, 10, 20, 2);
		analyze(r);
		if (find(r, "trash-purge-policy"))
			fail_msg("%s: named a purge policy", cases[i].what);
		if (!find(r, "trash-emptied"))
			fail_msg("%s: no trash-emptied", cases[i].what);
		assert_int_equal(r->verdict, MA_SEV_WARNING);
		done(r);
	}

	/* Two Trash folders: one purged by age, the other emptied. */
	struct ma_audit_result *r = healthy();
	trash_kept(r, "INBOX.Trash", 1, DAY);
	trash_kept(r, "Deleted Items", 1, DAY);
	add_trash_gone(r, "INBOX.Trash", 1, 30 * DAY, "purged");
	add_trash_gone(r, "Deleted Items", 2, 3600, "emptied");
	analyze(r);
	assert_non_null(strstr(find(r, "trash-purge-policy")->title, "purged INBOX.Trash: it removed 1 "));
	assert_string_equal(find(r, "trash-emptied")->title,
			    "Trash emptied: 1 message deleted for good since 2026-11-25 10:00 UTC");
	assert_null(strstr(find(r, "trash-emptied")->evidence, "purged"));
	assert_int_equal(r->verdict, MA_SEV_WARNING);
	done(r);
}

static void drafts_are_never_lost(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	add_destroyed(r, "Drafts", MA_ROLE_DRAFTS, 1, "Draft v1");
	add_unseen(r, "Koncepty", MA_ROLE_DRAFTS, true, 10, 30, 12);
	add_earlier(r, "Drafts", MA_ROLE_DRAFTS, "Draft v0");
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_OK);
	assert_int_equal(r->nfindings, 1);
	assert_string_equal(r->findings[0].code, "all-clear");
	struct ma_loss_counts c;
	ma_loss_counts(r, &c);
	assert_int_equal(c.unacknowledged + c.destroyed + c.unseen_deleted + c.trash_now, 0);
	done(r);
}

static void folder_losses_blame_imap(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	add_destroyed(r, "Projects/2026", MA_ROLE_ORDINARY, 1, "Plan");
	add_destroyed(r, "Projects/2026", MA_ROLE_ORDINARY, 2, "Budget");
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_CRITICAL);
	const struct ma_finding *f = find(r, "folder-mail-destroyed");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_CRITICAL);
	assert_string_equal(f->title, "2 messages were deleted from Projects/2026 since "
				      "2026-11-25 10:00 UTC and are in no folder");
	assert_int_equal(lines(f->evidence), 2);
	/* Outside INBOX a POP3 device is not the cause: IMAP advice only. */
	assert_null(find(r, "mail-destroyed"));
	assert_null(strstr(f->fix, "Leave messages on server"));
	assert_non_null(strstr(f->fix, "Expunge None"));
	assert_non_null(strstr(f->fix, "Empty Trash on Exit"));
	assert_non_null(strstr(f->fix, "mailaudit --ack"));
	assert_null(strstr(f->why, "POP3 device"));

	add_destroyed(r, "Sent", MA_ROLE_SENT, 3, "Offer");
	add_destroyed(r, "Archiv", MA_ROLE_ARCHIVE, 4, "Contract");
	analyze(r);
	f = find(r, "folder-mail-destroyed");
	assert_string_equal(f->title, "4 messages were deleted from 3 folders since "
				      "2026-11-25 10:00 UTC and are in no folder");
	done(r);
}

static void deleted_folder_is_named(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	for (uint32_t i = 1; i <= 8; i++) {
		add_destroyed(r, "Archiv/2025", MA_ROLE_ORDINARY, i, "Old invoice");
		r->ledger[r->nledger - 1].folder_gone = true;
	}
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_CRITICAL);
	const struct ma_finding *f = find(r, "folder-deleted");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_CRITICAL);
	assert_string_equal(f->title, "Folder Archiv/2025 was deleted with 8 messages");
	assert_true(strncmp(f->evidence, "Archiv/2025: deleted with 8 messages\n- ", 39) == 0);
	assert_int_equal(lines(f->evidence), 9);
	assert_null(find(r, "folder-mail-destroyed"));
	assert_null(find(r, "mail-destroyed"));
	done(r);

	/* Only a Trash folder deleted: a warning, like Trash emptied. */
	r = healthy();
	add_destroyed(r, "Old Trash", MA_ROLE_TRASH, 1, "x");
	r->ledger[0].folder_gone = true;
	add_destroyed(r, "Junk", MA_ROLE_JUNK, 2, "y");
	r->ledger[1].folder_gone = true;
	analyze(r);
	f = find(r, "folder-deleted");
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_string_equal(f->title, "2 folders were deleted with 2 messages: Old Trash, Junk");
	assert_int_equal(r->verdict, MA_SEV_WARNING);
	done(r);
}

static void came_and_went(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	add_unseen(r, "INBOX", MA_ROLE_INBOX, true, 38, 43, 5);
	analyze(r);
	assert_int_equal(r->verdict, MA_SEV_CRITICAL);
	const struct ma_finding *f = find(r, "mail-came-and-went");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_CRITICAL);
	assert_string_equal(f->title, "5 messages arrived in INBOX since 2026-11-25 10:00 UTC and were "
				      "deleted before this audit; mailaudit never saw them, so it "
				      "cannot name them");
	assert_non_null(strstr(f->evidence, "INBOX: UIDNEXT 38 at the previous audit "
					    "(2026-11-25 10:00 UTC), 43 now: 5 messages arrived since; "
					    "at least 5 of them are in no folder now."));
	assert_non_null(strstr(f->evidence, "lower bound if the server numbers arrivals one "
					    "after another, as Dovecot does"));
	assert_non_null(strstr(f->fix, "Leave messages on server"));
	assert_non_null(strstr(f->fix, "hourly"));
	assert_null(find(r, "mail-destroyed"));
	done(r);

	/* One in an ordinary folder: critical, IMAP advice. */
	r = healthy();
	add_unseen(r, "INBOX", MA_ROLE_INBOX, true, 38, 39, 0); /* nothing lost: no line */
	add_unseen(r, "Orders", MA_ROLE_ORDINARY, true, 100, 101, 1);
	analyze(r);
	f = find(r, "mail-came-and-went");
	assert_int_equal(f->severity, MA_SEV_CRITICAL);
	assert_string_equal(f->title, "1 message arrived in Orders since 2026-11-25 10:00 UTC and was "
				      "deleted before this audit; mailaudit never saw it, so it "
				      "cannot name it");
	assert_null(strstr(f->evidence, "INBOX"));
	assert_null(strstr(f->fix, "Leave messages on server"));
	assert_non_null(strstr(f->fix, "Expunge None"));
	done(r);

	/* Trash only: a warning. */
	r = healthy();
	add_unseen(r, "Trash", MA_ROLE_TRASH, true, 10, 20, 7);
	add_unseen(r, "Junk", MA_ROLE_JUNK, true, 5, 8, 3);
	analyze(r);
	f = find(r, "mail-came-and-went");
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_non_null(strstr(f->title, "10 messages arrived in 2 folders since"));
	assert_non_null(strstr(f->fix, "emptied for good"));
	assert_int_equal(r->verdict, MA_SEV_WARNING);
	done(r);
}

/* Issue 14, 7: a first audit of a drained INBOX said "OK" above a finding
 * that said mail left the server. */
static void drained_first_audit_never_ok(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->first_audit = true;
	r->prev_audit = 0;
	r->folders[0].folder.messages = 0;
	r->folders[0].folder.uidnext = 31;
	r->folders[1].folder.messages = 26;
	analyze(r);
	const struct ma_finding *f = find(r, "inbox-drained");
	assert_non_null(f);
	assert_non_null(strstr(f->title, "At least 4 messages"));
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_int_equal(r->verdict, MA_SEV_WARNING);
	assert_null(find(r, "all-clear"));
	done(r);
}

static void renumbered_is_not_moved(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->uidvalidity_reset = calloc(1, sizeof *r->uidvalidity_reset);
	r->uidvalidity_reset[0] = xdup("INBOX");
	r->nuidvalidity_reset = 1;
	for (uint32_t i = 1; i <= 30; i++) {
		add_lost(r, "INBOX", "INBOX", i, "Kept");
		r->lost[r->nlost - 1].renumbered = true;
	}
	analyze(r);
	assert_null(find(r, "mail-moved"));
	const struct ma_finding *f = find(r, "uidvalidity-reset");
	assert_non_null(f);
	assert_string_equal(f->title, "The server renumbered 1 folder since the previous audit "
				      "(UIDVALIDITY changed); all 30 messages are still there");
	assert_string_equal(f->evidence, "INBOX: all 30 messages are still there (renumbered by "
					 "the server)");
	assert_int_equal(r->verdict, MA_SEV_WARNING);

	/* Two gone for good (on the ledger), one moved to Trash. */
	add_destroyed(r, "INBOX", MA_ROLE_INBOX, 31, "Gone");
	add_destroyed(r, "INBOX", MA_ROLE_INBOX, 32, "Gone too");
	add_lost(r, "INBOX", "Trash", 33, "Moved");
	analyze(r);
	f = find(r, "uidvalidity-reset");
	assert_string_equal(f->title, "The server renumbered 1 folder since the previous audit "
				      "(UIDVALIDITY changed)");
	assert_string_equal(f->evidence, "INBOX: 30 of 33 earlier messages are still there "
					 "(renumbered by the server); the others are listed as "
					 "moved or lost");
	assert_string_equal(find(r, "mail-moved")->title, "1 message moved from INBOX to Trash");
	assert_non_null(find(r, "mail-destroyed"));
	done(r);
}

static void server_alert_is_cleaned(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->alerts = calloc(2, sizeof *r->alerts);
	r->alerts[0] = xdup("Mailbox 95% full \x1b[2J\x1b]0;owned\x07 \xc2\x9b" "31m");
	r->alerts[1] = xdup("");
	r->nalerts = 2;
	analyze(r);
	const struct ma_finding *f = find(r, "server-alert");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_WARNING);
	assert_string_equal(f->title, "The IMAP server says: Mailbox 95% full ?[2J?]0;owned? ??31m");
	assert_string_equal(f->evidence, "[ALERT] Mailbox 95% full ?[2J?]0;owned? ??31m");
	assert_int_equal(r->verdict, MA_SEV_WARNING);

	free(r->alerts[1]);
	r->alerts[1] = xdup("Password expires in 3 days");
	analyze(r);
	f = find(r, "server-alert");
	assert_string_equal(f->title, "The IMAP server sent 2 alerts");
	assert_int_equal(lines(f->evidence), 2);
	assert_null(strchr(f->evidence, '\x1b'));
	assert_null(strstr(f->evidence, "\xc2\x9b"));
	done(r);
}

static void pop3_login_delay(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	r->pop3_tried = true;
	r->pop3_skipped = true;
	ma_fail(&r->pop3_err, MA_ERR_LOGIN_DELAY, "the server announces LOGIN-DELAY 60");
	analyze(r);
	const struct ma_finding *f = find(r, "pop3-login-delay");
	assert_non_null(f);
	assert_int_equal(f->severity, MA_SEV_INFO);
	assert_non_null(strstr(f->title, "audited over IMAP alone"));
	assert_non_null(strstr(f->evidence, "LOGIN-DELAY 60"));
	assert_non_null(strstr(f->fix, "--pop3-despite-login-delay"));
	assert_null(find(r, "pop3-failed"));
	assert_int_equal(r->verdict, MA_SEV_OK);

	/* [IN-USE] at login, said as pop3-in-use alone. */
	r->pop3_in_use = true;
	ma_fail(&r->pop3_err, MA_ERR_IN_USE, "-ERR [IN-USE] locked");
	analyze(r);
	assert_null(find(r, "pop3-login-delay"));
	assert_null(find(r, "pop3-failed"));
	assert_non_null(find(r, "pop3-in-use"));
	done(r);
}

static void loss_counts(void **state)
{
	(void)state;
	struct ma_audit_result *r = healthy();
	add_destroyed(r, "INBOX", MA_ROLE_INBOX, 1, "a");
	add_destroyed(r, "INBOX", MA_ROLE_INBOX, 2, "b");
	add_destroyed(r, "Sent", MA_ROLE_SENT, 3, "c");
	add_destroyed(r, "Trash", MA_ROLE_TRASH, 4, "d");
	add_unseen(r, "INBOX", MA_ROLE_INBOX, true, 10, 20, 6);
	add_unseen(r, "Junk", MA_ROLE_JUNK, true, 10, 20, 2);
	add_earlier(r, "Archive", MA_ROLE_ARCHIVE, "e");
	add_unseen(r, "INBOX", MA_ROLE_INBOX, false, 5, 10, 4);
	add_earlier(r, "Trash", MA_ROLE_TRASH, "f");
	add_earlier(r, "INBOX", MA_ROLE_INBOX, "g")->acked = PREV;
	struct ma_loss_counts c;
	ma_loss_counts(r, &c);
	assert_int_equal(c.destroyed, 3);
	assert_int_equal(c.unseen_deleted, 6);
	assert_int_equal(c.unacknowledged, 3 + 6 + 1 + 4);
	assert_int_equal(c.earlier, 5);
	assert_int_equal(c.inbox_now, 8);
	assert_int_equal(c.elsewhere_now, 1);
	assert_int_equal(c.trash_now, 3);
	assert_true(ma_role_loss_critical(MA_ROLE_INBOX));
	assert_true(ma_role_loss_critical(MA_ROLE_ORDINARY));
	assert_true(ma_role_loss_critical(MA_ROLE_SENT));
	assert_true(ma_role_loss_critical(MA_ROLE_ARCHIVE));
	assert_false(ma_role_loss_critical(MA_ROLE_TRASH));
	assert_false(ma_role_loss_critical(MA_ROLE_JUNK));
	assert_false(ma_role_loss_critical(MA_ROLE_DRAFTS));
	done(r);
}

static void severity_names_and_codes(void **state)
{
	(void)state;
	assert_string_equal(ma_severity_name(MA_SEV_CRITICAL), "CRITICAL");
	assert_string_equal(ma_severity_name(MA_SEV_INFO), "INFO");
	assert_int_equal(ma_severity_exit_code(MA_SEV_OK), 0);
	assert_int_equal(ma_severity_exit_code(MA_SEV_INFO), 0);
	assert_int_equal(ma_severity_exit_code(MA_SEV_WARNING), 1);
	assert_int_equal(ma_severity_exit_code(MA_SEV_CRITICAL), 2);
	assert_int_equal(ma_severity_exit_code(MA_SEV_UNKNOWN), 3);
	struct ma_finding f = { .title = xdup("t"), .evidence = xdup("") };
	ma_finding_clear(&f);
	assert_null(f.title);
	ma_finding_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(healthy_is_all_clear),
		cmocka_unit_test(noselect_parent_not_counted),
		cmocka_unit_test(destroyed_is_critical),
		cmocka_unit_test(destroyed_one_and_many),
		cmocka_unit_test(hostile_text_is_cleaned),
		cmocka_unit_test(moved_is_grouped_info),
		cmocka_unit_test(inbox_drained_lower_bound),
		cmocka_unit_test(mismatch_with_dovecot_uidls),
		cmocka_unit_test(pending_expunge),
		cmocka_unit_test(pop3_expire_policies),
		cmocka_unit_test(pop3_in_use),
		cmocka_unit_test(uidvalidity_reset),
		cmocka_unit_test(first_audit_and_login),
		cmocka_unit_test(insecure_and_cert),
		cmocka_unit_test(imap_failed_is_unknown),
		cmocka_unit_test(pop3_failed_with_imap_ok),
		cmocka_unit_test(sorted_by_severity_stable),
		cmocka_unit_test(severity_names_and_codes),
		cmocka_unit_test(earlier_inbox_loss_keeps_critical),
		cmocka_unit_test(acknowledged_is_ok_again),
		cmocka_unit_test(trash_emptied_is_warning),
		cmocka_unit_test(trash_purge_policy),
		cmocka_unit_test(trash_purge_conservative),
		cmocka_unit_test(drafts_are_never_lost),
		cmocka_unit_test(folder_losses_blame_imap),
		cmocka_unit_test(deleted_folder_is_named),
		cmocka_unit_test(came_and_went),
		cmocka_unit_test(drained_first_audit_never_ok),
		cmocka_unit_test(renumbered_is_not_moved),
		cmocka_unit_test(server_alert_is_cleaned),
		cmocka_unit_test(pop3_login_delay),
		cmocka_unit_test(loss_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
