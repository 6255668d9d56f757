/* The message catalogue: Czech plural forms (1 zpráva, 2 zprávy, 5 zpráv),
 * English by default and in the C locale, and the severity words: the
 * label translated, the name (the monitoring line's) never. Needs the
 * cs_CZ.UTF-8 locale (make deps generates it) and the build's locale tree:
 * without either it fails, never skips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit/audit.h"
#include "audit/findings.h"
#include "audit/watch.h"
#include "base/i18n.h"
#include "base/rhythm.h"
#include "store/config.h"

static const char *lost(unsigned long long n)
{
	static char buf[200];
	snprintf(buf, sizeof buf, P_("%llu lost message", "%llu lost messages", n), n);
	return buf;
}

static void use(const char *locale)
{
	setenv("LC_ALL", locale, 1);
	unsetenv("LANGUAGE");
	const char *dir = ma_i18n_init();
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
}

static void czech_plurals(void **state)
{
	(void)state;
	use("cs_CZ.UTF-8");
	assert_non_null(setlocale(LC_MESSAGES, NULL));
	assert_string_equal(setlocale(LC_MESSAGES, NULL), "cs_CZ.UTF-8");
	assert_string_equal(lost(1), "1 ztracená zpráva");
	assert_string_equal(lost(2), "2 ztracené zprávy");
	assert_string_equal(lost(3), "3 ztracené zprávy");
	assert_string_equal(lost(4), "4 ztracené zprávy");
	assert_string_equal(lost(5), "5 ztracených zpráv");
	assert_string_equal(lost(0), "0 ztracených zpráv");
	/* Czech, unlike Polish or Russian, does not go back to "zprávy" at 22. */
	assert_string_equal(lost(22), "22 ztracených zpráv");
	assert_string_equal(lost(101), "101 ztracených zpráv");
}

static void czech_words(void **state)
{
	(void)state;
	use("cs_CZ.UTF-8");
	assert_string_equal(_("Findings"), "Nálezy");
	assert_string_equal(ma_severity_label(MA_SEV_CRITICAL), "KRITICKÉ");
	assert_string_equal(ma_severity_label(MA_SEV_WARNING), "VAROVÁNÍ");
	/* The monitoring line's words are never translated. */
	assert_string_equal(ma_severity_name(MA_SEV_CRITICAL), "CRITICAL");
	assert_string_equal(ma_severity_name(MA_SEV_WARNING), "WARNING");
	/* Numbers keep the decimal point whatever the language. */
	char num[16];
	snprintf(num, sizeof num, "%.1f", 1.5);
	assert_string_equal(num, "1.5");
}

static void add_folder(struct ma_audit_result *r, const char *name, uint32_t messages,
		       uint32_t deleted)
{
	r->folders = realloc(r->folders, (r->nfolders + 1) * sizeof *r->folders);
	assert_non_null(r->folders);
	memset(&r->folders[r->nfolders], 0, sizeof r->folders[r->nfolders]);
	struct ma_folder *f = &r->folders[r->nfolders].folder;
	f->name = strdup(name);
	f->raw_name = strdup(name);
	assert_non_null(f->name);
	assert_non_null(f->raw_name);
	f->messages = messages;
	f->uidnext = messages + 1;
	f->uidvalidity = 1700000000;
	r->folders[r->nfolders].deleted = deleted;
	r->nfolders++;
}

static const struct ma_finding *find(const struct ma_audit_result *r, const char *code)
{
	for (size_t i = 0; i < r->nfindings; i++)
		if (strcmp(r->findings[i].code, code) == 0)
			return &r->findings[i];
	return NULL;
}

/* A finding's title and evidence built in core, each count in its own
 * Czech form: "2 z 5 zpráv", "1 z 1 zprávy", "3 zprávy". */
static void czech_finding(void **state)
{
	(void)state;
	use("cs_CZ.UTF-8");
	struct ma_audit_result *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->started = 1767000000;
	r->finished = r->started + 5;
	r->prev_audit = r->started - 86400;
	snprintf(r->login, sizeof r->login, "alice@example.com");
	r->imap_tried = r->imap_ok = true;
	add_folder(r, "INBOX", 5, 2);
	add_folder(r, "Koncepty", 1, 1);
	struct ma_error err = { 0 };
	assert_int_equal(ma_analyze(r, &err), MA_OK);
	const struct ma_finding *f = find(r, "pending-expunge");
	assert_non_null(f);
	assert_string_equal(f->title, "3 zprávy jsou označené jako smazané v 2 složkách a při příštím "
				      "vyčištění (expunge) zmizí");
	assert_string_equal(f->evidence, "INBOX: 2 z 5 zpráv má příznak \\Deleted\n"
					 "Koncepty: 1 z 1 zprávy má příznak \\Deleted");
	assert_string_equal(ma_severity_label(f->severity), "VAROVÁNÍ");
	ma_audit_result_free(r);
}

/* The accounts file's errors, with the file and line as in English. */
static void czech_config_error(void **state)
{
	(void)state;
	use("cs_CZ.UTF-8");
	static const char bad_key[] = "[account prace]\nimap = imap.example.cz\nheslo = x\n";
	struct ma_config cfg = { 0 };
	struct ma_error err = { 0 };
	assert_int_equal(ma_config_parse(bad_key, strlen(bad_key), "ucty", &cfg, &err), MA_ERR_ARGUMENT);
	assert_string_equal(err.detail, "ucty:3: neznámý klíč „heslo“ (známé: address, login, imap, pop3, "
					"smtp, password_command, password_file, ca_file)");
	static const char no_server[] = "[account prace]\nlogin = jana@example.cz\n";
	assert_int_equal(ma_config_parse(no_server, strlen(no_server), "ucty", &cfg, &err),
			 MA_ERR_ARGUMENT);
	assert_string_equal(err.detail, "ucty:1: účet „prace“ nemá imap ani pop3; doplňte aspoň jedno z nich");
	ma_config_free(&cfg);
}

/* The watch's lines: the event word and the fixed texts in Czech, the time
 * stamp as in English. */
static void czech_watch_line(void **state)
{
	(void)state;
	use("cs_CZ.UTF-8");
	setenv("TZ", "UTC", 1);
	tzset();
	struct ma_watch_event e = { .kind = MA_WATCH_MOVED, .when = 1767000000, .folder = "INBOX",
				    .to = "Archiv", .subject = "Faktura" };
	char *line = ma_watch_line(&e);
	assert_non_null(line);
	assert_string_equal(line, "2025-12-29 09:20:00 +0000  přesunuta  INBOX  datum neznámé  "
				  "(bez odesílatele)  Faktura  (nyní v Archiv)");
	free(line);
	e = (struct ma_watch_event){ .kind = MA_WATCH_RECONNECTED, .when = 1767000000, .folder = "INBOX",
				     .text = "po 3 s; mezitím odešly 2 zprávy" };
	line = ma_watch_line(&e);
	assert_non_null(line);
	assert_string_equal(line, "2025-12-29 09:20:00 +0000  připojeno  INBOX  po 3 s; mezitím "
				  "odešly 2 zprávy");
	free(line);
}

/* The deleting device's rhythm, its durations declined by the number. */
static void czech_rhythm(void **state)
{
	(void)state;
	use("cs_CZ.UTF-8");
	struct ma_rhythm_event v[3] = { { 1000, 1300 }, { 2000, 2300 }, { 4500, 4800 } };
	struct ma_rhythm r;
	ma_rhythm_analyze(v, 3, &r);
	assert_string_equal(r.text, "zprávy se mažou asi 5 minut po příchodu, bez stálého intervalu: "
				    "zařízení, které stahuje poštu přes POP3 bez volby „ponechat kopii "
				    "na serveru“ pokaždé, když poštu kontroluje (například telefon, "
				    "když se otevře)");
	struct ma_rhythm_event w[3] = { { 1000, 1120 }, { 2000, 2120 }, { 4500, 4620 } };
	ma_rhythm_analyze(w, 3, &r);
	assert_non_null(strstr(r.text, "zprávy se mažou asi 2 minuty po příchodu"));
	use("C.UTF-8");
	ma_rhythm_analyze(w, 3, &r);
	assert_non_null(strstr(r.text, "messages are deleted about 2 minutes after they arrive"));
}

static void english_default(void **state)
{
	(void)state;
	use("C.UTF-8");
	assert_string_equal(lost(1), "1 lost message");
	assert_string_equal(lost(5), "5 lost messages");
	assert_string_equal(_("Findings"), "Findings");
	assert_string_equal(ma_severity_label(MA_SEV_CRITICAL), "CRITICAL");
	use("C");
	assert_string_equal(lost(2), "2 lost messages");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(czech_plurals),
		cmocka_unit_test(czech_words),
		cmocka_unit_test(czech_finding),
		cmocka_unit_test(czech_config_error),
		cmocka_unit_test(czech_watch_line),
		cmocka_unit_test(czech_rhythm),
		cmocka_unit_test(english_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
