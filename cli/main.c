/* mailaudit: entry point. Reads options and the accounts file, gets the
 * password from a safe source, then runs the audit for the report, the
 * monitoring check, or the full-screen program. */
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "audit/audit.h"
#include "store/config.h"
#include "tui/credentials.h"
#include "audit/ledger.h"
#include "audit/watch.h"
#include "doctor/frontend.h"
#include "doctor/probe.h"
#include "audit/report.h"
#include "base/status.h"
#include "base/i18n.h"
#include "base/text.h"
#include "net/trace.h"
#include "tui/tui.h"
#include "tui/worker.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* Exit codes follow the monitoring-plugins convention. */
enum { EXIT_OK_ = 0, EXIT_WARNING = 1, EXIT_CRITICAL = 2, EXIT_UNKNOWN = 3 };

/* --check's deadline unless --deadline says otherwise: a service check is
 * usually given 60 s, and an answer a little before is worth more than one
 * the monitoring system never waits for. */
#define CHECK_DEADLINE_S 50

struct options {
	const char *report;       /* --report FILE|- */
	bool check;               /* --check */
	const char *imap, *pop3, *smtp, *user, *address;
	const char *password_command, *password_file;
	const char *ca_file;
	struct ma_run_settings run; /* --insecure, --timeout, --trace, ... */
	const char *account;      /* -a NAME */
	const char *config;       /* -c FILE */
	bool all;                 /* --all: every account of the accounts file */
	int deadline;             /* --deadline SECONDS; 0: none */
	bool deadline_given;
	bool no_color;            /* --no-color (the full-screen program) */
	bool probe;               /* --probe: the connection doctor */
	bool ack;                 /* --ack: acknowledge the lost mail on record */
	bool lost;                /* --lost: list the lost mail on record */
	const char *since;        /* --since YYYY-MM-DD (with --lost) */
	bool state_dir_given;     /* --state-dir */
	bool watch;               /* --watch */
	int interval;             /* --interval SECONDS; 0: the default */
	bool no_idle;             /* --no-idle: poll with NOOP (testing aid) */
};

static void usage(FILE *out)
{
	fprintf(out, _("Usage: mailaudit [OPTIONS]\n"
		"Tells whether your mail is safe on the server: logs in over IMAP and POP3\n"
		"(read-only), finds what deletes mail, and explains the fix.\n"
		"\n"
		"Account:\n"
		"  -a, --account NAME        use account NAME from the accounts file\n"
		"  -c, --config FILE         accounts file (default ~/.config/mailaudit/config);\n"
		"                            always checked; without -a its only account is used\n"
		"      --all                 with --check or --report: audit every account of\n"
		"                            the accounts file; the worst verdict is the result\n"
		"      --imap HOST[:PORT][/tls|/starttls]   IMAP server (993/tls by default)\n"
		"      --pop3 HOST[:PORT][/tls|/starttls]   POP3 server (995/tls by default)\n"
		"      --smtp HOST[:PORT][/tls|/starttls]   SMTP server (465/tls by default)\n"
		"      --user LOGIN          login name (the full e-mail address)\n"
		"      --address ADDR        e-mail address (login defaults to it)\n"
		"Password (never on the command line):\n"
		"      --password-command CMD  run CMD, use the first line it prints\n"
		"      --password-file FILE    first line of FILE (must be mode 0600)\n"
		"                            otherwise mailaudit asks on the terminal\n"
		"                            (never with --check: it runs unattended)\n"
		"Output:\n"
		"      --report FILE|-       audit and write the text report (- = stdout)\n"
		"      --check               audit and print one monitoring line (also for\n"
		"                            errors: MAILAUDIT UNKNOWN - why)\n"
		"                            neither: the full-screen program\n"
		"      --probe               try IMAP 993/143, POP3 995/110 and SMTP 465/587, say\n"
		"                            which work and why not (with --address alone, the\n"
		"                            servers are discovered from the domain); with\n"
		"                            --report, the full report with this matrix added\n"
		"                            (recorded in the history only with --state-dir)\n"
		"      --watch               stay connected and print one line per event as it\n"
		"                            happens (arrived, moved, destroyed, ...); destroyed\n"
		"                            mail goes into the loss ledger; ends with Ctrl-C,\n"
		"                            SIGTERM or --deadline; exit status as --check's\n"
		"      --interval SECONDS    with --watch: look at the other folders (and poll\n"
		"                            INBOX when the server lacks IDLE) every SECONDS\n"
		"                            (default %d)\n"
		"      --no-color            full-screen program without colours (also NO_COLOR)\n"
		"Connection:\n"
		"      --ca-file FILE        trust the CA certificates in FILE\n"
		"      --insecure            do NOT verify certificates (every output says so)\n"
		"      --timeout SECONDS     network timeout for one wait (default %d)\n"
		"      --deadline SECONDS    end the whole audit (IMAP, POP3, the history) after\n"
		"                            SECONDS, as UNKNOWN (default with --check: "
		"%d, to\n"
		"                            fit a 60 s service check; otherwise none; 0: none)\n"
		"      --trace FILE          write the protocol dialogue, passwords redacted\n"
		"History:\n"
		"      --state-dir DIR       where the history is kept\n"
		"                            (default ~/.local/state/mailaudit)\n"
		"      --no-history          look only, record nothing\n"
		"Lost mail (no password, no network; the account as for an audit):\n"
		"      --lost                list every lost message ever found, newest first\n"
		"      --since YYYY-MM-DD    with --lost: only losses found since that day\n"
		"      --ack                 acknowledge the lost mail on record: later audits\n"
		"                            report only new losses\n"
		"POP3:\n"
		"      --pop3-despite-login-delay  log in over POP3 even when the server\n"
		"                            announces LOGIN-DELAY (locks your own POP3\n"
		"                            program out for that long)\n"
		"Testing aids:\n"
		"      --source-address ADDR connect from this local address\n"
		"      --now UNIXTIME        pretend the audit runs at this time\n"
		"      --no-idle             with --watch: poll with NOOP even if the server has IDLE\n"
		"\n"
		"  -V, --version             print the version and exit\n"
		"  -h, --help                print this help and exit\n"
		"\n"
		"Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (could not audit).\n"),
		MA_WATCH_INTERVAL_S, MA_TIMEOUT_AUDIT_S, CHECK_DEADLINE_S);
}

/* With --check every outcome is one line on standard output, errors
 * before any audit included: a monitoring system reads that line and
 * nothing else. Set once the command line is read. */
static bool check_mode;

/* The end of the whole run (--deadline) on ma_now_ms()'s clock; 0: none. */
static int64_t run_deadline_ms;

/* Says why nothing could be audited and exits UNKNOWN: the monitoring
 * line under --check, else a line on standard error. */
static _Noreturn void die_msg(const char *msg)
{
	if (check_mode) {
		char *line = NULL;
		struct ma_error e;
		if (ma_check_setup_line(msg, &line, &e) == MA_OK)
			printf("%s\n", line);
		else
			printf("MAILAUDIT UNKNOWN - out of memory\n");
		free(line);
		fflush(stdout);
	} else {
		fprintf(stderr, "mailaudit: %s\n", msg);
	}
	exit(EXIT_UNKNOWN);
}

static _Noreturn void die(const char *what, const struct ma_error *err)
{
	char buf[800], msg[900];
	ma_error_format(err, buf, sizeof buf);
	snprintf(msg, sizeof msg, "%s%s%s", what ? what : "", what ? ": " : "", buf);
	die_msg(msg);
}

enum {
	OPT_REPORT = 256, OPT_CHECK, OPT_IMAP, OPT_POP3, OPT_SMTP, OPT_USER, OPT_ADDRESS,
	OPT_PWCMD, OPT_PWFILE, OPT_CAFILE, OPT_INSECURE, OPT_TIMEOUT, OPT_TRACE,
	OPT_STATEDIR, OPT_NOHISTORY, OPT_SOURCE, OPT_NOW, OPT_NOCOLOR, OPT_PROBE,
	OPT_ACK, OPT_LOST, OPT_SINCE, OPT_POP3_DESPITE, OPT_ALL, OPT_DEADLINE,
	OPT_WATCH, OPT_INTERVAL, OPT_NO_IDLE,
};

static const struct option longopts[] = {
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "imap", required_argument, NULL, OPT_IMAP },
	{ "pop3", required_argument, NULL, OPT_POP3 },
	{ "smtp", required_argument, NULL, OPT_SMTP },
	{ "user", required_argument, NULL, OPT_USER },
	{ "address", required_argument, NULL, OPT_ADDRESS },
	{ "password-command", required_argument, NULL, OPT_PWCMD },
	{ "password-file", required_argument, NULL, OPT_PWFILE },
	{ "ca-file", required_argument, NULL, OPT_CAFILE },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "deadline", required_argument, NULL, OPT_DEADLINE },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "state-dir", required_argument, NULL, OPT_STATEDIR },
	{ "no-history", no_argument, NULL, OPT_NOHISTORY },
	{ "source-address", required_argument, NULL, OPT_SOURCE },
	{ "now", required_argument, NULL, OPT_NOW },
	{ "no-color", no_argument, NULL, OPT_NOCOLOR },
	{ "probe", no_argument, NULL, OPT_PROBE },
	{ "ack", no_argument, NULL, OPT_ACK },
	{ "lost", no_argument, NULL, OPT_LOST },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "pop3-despite-login-delay", no_argument, NULL, OPT_POP3_DESPITE },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "watch", no_argument, NULL, OPT_WATCH },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "no-idle", no_argument, NULL, OPT_NO_IDLE },
	{ "account", required_argument, NULL, 'a' },
	{ "config", required_argument, NULL, 'c' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Options that do not go together. */
static void check_modes(const struct options *o)
{
	if (o->ack && o->lost)
		die_msg(_("--ack and --lost go separately: list with --lost, then acknowledge with --ack"));
	if ((o->ack || o->lost) && (o->report || o->check || o->probe))
		die_msg(_("--ack and --lost do not audit: use them without --report, --check and --probe"));
	if (o->since && !o->lost)
		die_msg(_("--since goes with --lost"));
	if (o->all && !o->report && !o->check)
		die_msg(_("--all goes with --check or --report"));
	if (o->all && o->probe)
		die_msg(_("--all does not go with --probe: run --probe for one account (-a NAME)"));
	if (o->all && o->account)
		die_msg(_("--all audits every account of the accounts file: leave out -a"));
	if (o->all && (o->imap || o->pop3 || o->smtp || o->user || o->address || o->password_command ||
		       o->password_file || o->ca_file))
		die_msg(_("--all audits each account as the accounts file has it: leave out --imap, "
			"--pop3, --smtp, --user, --address, the password options and --ca-file"));
	if (o->watch && (o->report || o->check || o->probe || o->ack || o->lost || o->all))
		die_msg(_("--watch goes alone: not with --report, --check, --probe, --ack, --lost "
			"or --all (watch one account: -a NAME)"));
	if ((o->interval || o->no_idle) && !o->watch)
		die_msg(_("--interval and --no-idle go with --watch"));
	if (o->deadline_given && !o->report && !o->check && !o->watch)
		die_msg(_("--deadline bounds an audit: use it with --check or --report (or end a "
			"--watch)"));
}

/* A whole number in [lo, hi] and nothing else, or false. */
static bool whole_number(const char *text, long long lo, long long hi, long long *out)
{
	if (!*text || (!isdigit((unsigned char)text[0]) && text[0] != '-'))
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* The first problem with the command line; said once it is all read, so
 * that --check anywhere on it still gets its monitoring line. */
static char bad_args[600];

static void bad_arg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad_arg(const char *fmt, ...)
{
	if (bad_args[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(bad_args, sizeof bad_args, fmt, ap);
	va_end(ap);
}

/* The option getopt_long just stopped at, for a message: a short option by
 * its letter (argv[optind - 1] may then be the argument before it, such as
 * a password command), a long one by its name without any "=value". */
static void name_option(int argc, char **argv, char *buf, size_t len)
{
	if (optopt > 0 && optopt < 256) {
		if (isgraph(optopt))
			snprintf(buf, len, "-%c", optopt);
		else
			snprintf(buf, len, "(a short option that is not a printable letter)");
		return;
	}
	const char *bad = optind - 1 < argc && optind >= 1 ? argv[optind - 1] : "?";
	char clean[80];
	ma_text_clean(clean, sizeof clean, bad, strcspn(bad, "="), 40);
	snprintf(buf, len, "%s", clean);
}

static void parse_args(int argc, char **argv, struct options *o)
{
	int c;
	long long v;
	char name[128];
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":a:c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_REPORT: o->report = optarg; break;
		case OPT_CHECK: o->check = true; break;
		case OPT_IMAP: o->imap = optarg; break;
		case OPT_POP3: o->pop3 = optarg; break;
		case OPT_SMTP: o->smtp = optarg; break;
		case OPT_USER: o->user = optarg; break;
		case OPT_ADDRESS: o->address = optarg; break;
		case OPT_PWCMD: o->password_command = optarg; break;
		case OPT_PWFILE: o->password_file = optarg; break;
		case OPT_CAFILE: o->ca_file = optarg; break;
		case OPT_INSECURE: o->run.insecure = true; break;
		case OPT_TIMEOUT:
			if (!whole_number(optarg, 1, 3600, &v))
				bad_arg(_("--timeout wants a number of seconds between 1 and 3600"));
			else
				o->run.timeout = (int)v;
			break;
		case OPT_DEADLINE:
			if (!whole_number(optarg, 0, 86400, &v))
				bad_arg(_("--deadline wants a number of seconds between 1 and 86400 "
					"(0: no deadline)"));
			else
				o->deadline = (int)v, o->deadline_given = true;
			break;
		case OPT_TRACE: o->run.trace = optarg; break;
		case OPT_STATEDIR: o->run.state_dir = optarg, o->state_dir_given = true; break;
		case OPT_NOHISTORY: o->run.no_history = true; break;
		case OPT_SOURCE: o->run.source_addr = optarg; break;
		case OPT_NOW:
			/* Up to the year 9999; 0 would mean "the clock". */
			if (!whole_number(optarg, 1, 253402300799LL, &v))
				bad_arg(_("--now wants a time in seconds since 1970 (UNIXTIME), for "
					"example 1700000000"));
			else
				o->run.now = (time_t)v;
			break;
		case OPT_NOCOLOR: o->no_color = true; break; /* the report has none anyway */
		case OPT_PROBE: o->probe = true; break;
		case OPT_ACK: o->ack = true; break;
		case OPT_LOST: o->lost = true; break;
		case OPT_SINCE: o->since = optarg; break;
		case OPT_POP3_DESPITE: o->run.pop3_despite_login_delay = true; break;
		case OPT_ALL: o->all = true; break;
		case OPT_WATCH: o->watch = true; break;
		case OPT_NO_IDLE: o->no_idle = true; break;
		case OPT_INTERVAL:
			if (!whole_number(optarg, 1, 86400, &v))
				bad_arg(_("--interval wants a number of seconds between 1 and 86400"));
			else
				o->interval = (int)v;
			break;
		case 'a': o->account = optarg; break;
		case 'c': o->config = optarg; break;
		case 'V':
			printf("mailaudit %s\n", MA_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			name_option(argc, argv, name, sizeof name);
			bad_arg(_("option '%s' needs a value (see mailaudit --help)"), name);
			break;
		default:
			/* Only the option's name: "--password=secret" must not
			 * put its value on screen or into a cron mail. */
			name_option(argc, argv, name, sizeof name);
			if (optopt >= 256) /* a known long option given a value */
				bad_arg(_("option '%s' takes no value (see mailaudit --help)"), name);
			else
				bad_arg(_("unknown option '%s' (see mailaudit --help)"), name);
			break;
		}
	}
	check_mode = o->check;
	if (bad_args[0])
		die_msg(bad_args);
	if (optind < argc)
		/* Not repeated: it may well be the password itself. */
		die_msg(_("unexpected argument (not shown, it may be a password); a password is never "
			"given on the command line (see --password-command)"));
	/* The same limits as the accounts file's (docs/config.md): a login cut
	 * short would be sent as some other login. */
	struct ma_account a;
	if (o->user && strlen(o->user) >= sizeof a.login)
		die_msg(_("--user is longer than 255 bytes; no mail server takes a login that long"));
	if (o->address && strlen(o->address) >= sizeof a.address)
		die_msg(_("--address is longer than 255 bytes"));
	check_modes(o);
	if (o->check && !o->deadline_given)
		o->deadline = CHECK_DEADLINE_S;
}

/* ---- which account ------------------------------------------------------------ */

/* Reads the accounts file when the command line points into it (-a, -c,
 * --all) and checks all of it: a mistake anywhere is said with its file
 * and line, whichever account is used. */
static void load_config(const struct options *o, struct ma_config *cfg)
{
	struct ma_error err;
	if (!o->account && !o->config && !o->all)
		return;
	if (ma_config_load(o->config, cfg, &err) != MA_OK)
		die(NULL, &err);
}

/* "FILE" as the user gave it, or the default accounts file, for messages. */
static void config_name(const struct options *o, char *buf, size_t len)
{
	char def[4096];
	const char *name = o->config;
	if (!name) {
		ma_config_default_path(def, sizeof def);
		name = def[0] ? def : _("the accounts file");
	}
	ma_text_clean(buf, len, name, strlen(name), 120);
}

/* The account of the accounts file this run is about: -a NAME, or the only
 * one of -c FILE; NULL when the command line gives the account itself. */
static const struct ma_config_account *chosen_account(const struct options *o,
						       const struct ma_config *cfg)
{
	char file[600], msg[1400];
	if (o->account) {
		const struct ma_config_account *ca = ma_config_find(cfg, o->account);
		if (!ca) {
			char name[200];
			ma_text_clean(name, sizeof name, o->account, strlen(o->account), 64);
			snprintf(msg, sizeof msg, _("no account \"%s\" in the accounts file"), name);
			die_msg(msg);
		}
		return ca;
	}
	if (!o->config)
		return NULL;
	config_name(o, file, sizeof file);
	if (cfg->n == 1)
		return &cfg->accounts[0];
	if (cfg->n == 0) {
		snprintf(msg, sizeof msg, _("%s has no [account NAME] section: nothing to audit"), file);
		die_msg(msg);
	}
	/* Several: which one is the user's to say. */
	int k = snprintf(msg, sizeof msg, _("%s has %zu accounts ("), file, cfg->n);
	for (size_t i = 0; i < cfg->n && k > 0 && (size_t)k < sizeof msg; i++) {
		if (i == 10) {
			k += snprintf(msg + k, sizeof msg - (size_t)k, ", ...");
			break;
		}
		k += snprintf(msg + k, sizeof msg - (size_t)k, "%s%s", i ? ", " : "",
			      cfg->accounts[i].acct.name);
	}
	if (k > 0 && (size_t)k < sizeof msg)
		snprintf(msg + k, sizeof msg - (size_t)k, _("): choose one with -a NAME%s"),
			 o->report || o->check ? _(", or audit each with --all") : "");
	die_msg(msg);
}

/* Where one account's password and trust come from. */
struct account_src {
	const char *pwcmd, *pwfile, *ca_file;
};

static void set_endpoint(const char *text, enum ma_proto proto, struct ma_endpoint *ep, bool *has,
			 const char *opt)
{
	struct ma_error err;
	if (ma_endpoint_parse(text, strlen(text), proto, ep, &err) != MA_OK)
		die(opt, &err);
	*has = true;
}

/* The account: ca (from the accounts file, or NULL) with the options on top. */
static void build_account(const struct options *o, const struct ma_config_account *ca,
			  struct ma_account *acct, struct account_src *src)
{
	memset(acct, 0, sizeof *acct);
	memset(src, 0, sizeof *src);
	if (ca) {
		*acct = ca->acct;
		src->pwcmd = ca->password_command;
		src->pwfile = ca->password_file;
		src->ca_file = ca->ca_file;
	}
	if (o->imap)
		set_endpoint(o->imap, MA_PROTO_IMAP, &acct->imap, &acct->has_imap, "--imap");
	if (o->pop3)
		set_endpoint(o->pop3, MA_PROTO_POP3, &acct->pop3, &acct->has_pop3, "--pop3");
	if (o->smtp)
		set_endpoint(o->smtp, MA_PROTO_SMTP, &acct->smtp, &acct->has_smtp, "--smtp");
	if (o->address)
		snprintf(acct->address, sizeof acct->address, "%s", o->address);
	if (o->user)
		snprintf(acct->login, sizeof acct->login, "%s", o->user);
	if (!acct->login[0] && acct->address[0])
		snprintf(acct->login, sizeof acct->login, "%s", acct->address);
	if (o->password_command)
		src->pwcmd = o->password_command, src->pwfile = NULL;
	if (o->password_file)
		src->pwfile = o->password_file, src->pwcmd = NULL;
	if (o->ca_file)
		src->ca_file = o->ca_file;
}

/* Why acct cannot be audited, or NULL. */
static const char *not_auditable(const struct ma_account *acct)
{
	if (!acct->has_imap && !acct->has_pop3)
		return _("no server given: use --imap and/or --pop3, or -a NAME (see mailaudit --help)");
	if (!acct->login[0])
		return _("no login given: use --user with the full e-mail address");
	return NULL;
}

static void require_audit_account(const struct ma_account *acct)
{
	const char *why = not_auditable(acct);
	if (why)
		die_msg(why);
}

/* ---- the audit ---------------------------------------------------------------- */

/* Seconds left before the deadline, at least 1; 0 when it has passed;
 * fallback when there is none. */
static int seconds_left(int fallback)
{
	if (!run_deadline_ms)
		return fallback;
	int64_t left = run_deadline_ms - ma_now_ms();
	if (left <= 0)
		return 0;
	int s = (int)((left + 999) / 1000);
	return fallback && fallback < s ? fallback : s;
}

/* The password for an audit of acct, or NULL with why not. */
static char *audit_password(const struct options *o, const struct ma_account *acct,
			    const struct account_src *src, char *why, size_t whylen)
{
	struct ma_error err = { 0 };
	if (o->check && !src->pwcmd && !src->pwfile) {
		snprintf(why, whylen, "%s", _("no password source: --check runs unattended and never asks; give "
			 "--password-command or --password-file (or password_command in the accounts "
			 "file)"));
		return NULL;
	}
	int timeout = o->run.timeout ? o->run.timeout : MA_TIMEOUT_AUDIT_S;
	int left = seconds_left(timeout);
	if (!left) {
		snprintf(why, whylen, _("not begun: the run did not finish within --deadline %d s"),
			 o->deadline);
		return NULL;
	}
	/* A password command gets what is left of the deadline at most. */
	char *password = ma_password_get(src->pwcmd, src->pwfile, left, acct->login, &err);
	if (!password) {
		char buf[800];
		ma_error_format(&err, buf, sizeof buf);
		snprintf(why, whylen, _("password: %s"), buf);
	}
	return password;
}

/* One audit of acct: the result, or false with why nothing could be
 * audited (the CA file, memory). */
static bool audit_one(const struct options *o, const struct ma_account *acct,
		      const struct account_src *src, const char *password, struct ma_trace *trace,
		      bool record, struct ma_audit_result **out, char *why, size_t whylen)
{
	struct ma_error err = { 0 };
	*out = NULL;
	struct ma_audit_opts ao;
	ma_run_audit_opts(&o->run, src->ca_file, &ao);
	ao.trace = trace;
	ao.no_history = ao.no_history || !record;
	ao.net.run_deadline_ms = run_deadline_ms;
	ao.deadline_s = o->deadline;
	struct ma_tls *tls = NULL;
	ma_status st = ma_tls_new(&ao.net, &tls, &err);
	if (st == MA_OK) {
		ao.net.tls = tls;
		st = ma_audit_run(acct, password, &ao, out, &err);
	}
	ma_tls_free(tls);
	if (st != MA_OK) {
		ma_error_format(&err, why, whylen);
		return false;
	}
	return true;
}

/* Runs the connection doctor for acct and renders it; returns the worst
 * finding's severity. password may be NULL (then no login is tried). */
static enum ma_severity doctor(const struct ma_account *acct, const char *password,
			       const char *ca_file, const struct options *o, char **text)
{
	struct ma_error err;
	struct ma_probe_request req;
	ma_probe_request_for(acct, &req);
	req.password = password;
	ma_run_probe_net(&o->run, ca_file, &req.net);
	/* --deadline bounds the doctor's connections as it bounds an audit's. */
	req.net.run_deadline_ms = run_deadline_ms;
	struct ma_probe_result *r = NULL;
	if (ma_probe_run(&req, &r, &err) != MA_OK)
		die(NULL, &err);
	if (ma_probe_text(r, text) != MA_OK)
		die_msg(_("out of memory"));
	enum ma_severity worst = ma_probe_worst(r);
	ma_probe_result_free(r);
	return worst;
}

/* Text for standard output. A terminal in a locale without UTF-8
 * (LANG=C over SSH) gets letters with diacritics in ASCII ("Jiri Novak"),
 * not bytes it would show as garbage; a pipe or file gets UTF-8. */
static void put_text(const char *text)
{
	static int ascii = -1;
	if (ascii < 0) {
		const char *cs = "";
		if (isatty(STDOUT_FILENO) && setlocale(LC_CTYPE, ""))
			cs = nl_langinfo(CODESET);
		ascii = isatty(STDOUT_FILENO) && strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "utf8") != 0;
	}
	if (!ascii) {
		fputs(text, stdout);
		return;
	}
	struct ma_buf b = { 0 };
	ma_buf_add_ascii(&b, text, strlen(text));
	char *t = ma_buf_take(&b);
	fputs(t ? t : text, stdout);
	free(t);
}

/* The report's text where --report says: stdout for "-", else the file. */
static void write_report(const struct options *o, const char *text, const char *verdict)
{
	struct ma_error err;
	if (strcmp(o->report, "-") == 0)
		put_text(text);
	else if (ma_report_write(o->report, text, &err) != MA_OK)
		die(NULL, &err);
	else
		fprintf(stderr, _("mailaudit: report written to %s (verdict %s)\n"), o->report, verdict);
}

/* The --trace file closed; a write that failed makes every result say
 * so (their trace is incomplete), and standard error too unless --check,
 * whose one line says it. */
static void finish_trace(const struct options *o, struct ma_trace *trace,
			 struct ma_audit_result **results, size_t n)
{
	struct ma_error err = { 0 };
	if (ma_trace_finish(trace, &err) == MA_OK)
		return;
	for (size_t i = 0; i < n; i++)
		if (results[i])
			results[i]->trace_err = err;
	if (!o->check) {
		char buf[800];
		ma_error_format(&err, buf, sizeof buf);
		fprintf(stderr, _("mailaudit: the --trace file could not be written, the trace is "
			"incomplete: %s\n"), buf);
	}
}

static struct ma_trace *open_trace(const struct options *o)
{
	struct ma_error err;
	struct ma_trace *trace = NULL;
	if (o->run.trace && ma_trace_open(o->run.trace, &trace, &err) != MA_OK)
		die(NULL, &err);
	return trace;
}

/* --check's line on stdout, or the report where --report says, with the
 * doctor's text (matrix, taken) after it when --probe made one. */
static void put_result(const struct options *o, const struct ma_audit_result *r, char *matrix)
{
	struct ma_error err;
	char *text = NULL;
	if (o->check) {
		if (ma_check_line(r, &text, &err) != MA_OK)
			die(NULL, &err);
		printf("%s\n", text);
		free(text);
		return;
	}
	if (ma_report_text(r, &text, &err) != MA_OK)
		die(NULL, &err);
	if (matrix) {
		if (ma_report_add_section(&text, _("Connection doctor (--probe)"), matrix, &err) != MA_OK)
			die_msg(_("out of memory"));
		free(matrix);
	}
	write_report(o, text, ma_severity_label(r->verdict));
	free(text);
}

/* --probe --report for what cannot be audited (no IMAP or POP3 server, or
 * no login: an address to discover servers for, an SMTP server): the
 * doctor's text is the report. Nothing is audited or recorded. */
static int probe_report(const struct options *o, const struct ma_account *acct,
			const struct account_src *src)
{
	if (!acct->has_smtp && !acct->address[0] && !strchr(acct->login, '@'))
		require_audit_account(acct);
	struct ma_error err;
	char *password = ma_password_get(src->pwcmd, src->pwfile, o->run.timeout, NULL, &err);
	if (!password && err.status != MA_OK)
		die(_("password"), &err);
	char *text = NULL;
	enum ma_severity worst = doctor(acct, password, src->ca_file, o, &text);
	ma_password_free(password);
	write_report(o, text, ma_severity_label(worst));
	free(text);
	return ma_severity_exit_code(worst);
}

static int run_batch(const struct options *o)
{
	struct ma_config cfg = { 0 };
	struct ma_account acct;
	struct account_src src;
	load_config(o, &cfg);
	build_account(o, chosen_account(o, &cfg), &acct, &src);
	bool with_probe = o->probe && o->report && !o->check;
	if (with_probe && not_auditable(&acct)) {
		int rc = probe_report(o, &acct, &src);
		ma_config_free(&cfg);
		return rc;
	}
	require_audit_account(&acct);

	char why[900];
	char *password = audit_password(o, &acct, &src, why, sizeof why);
	if (!password)
		die_msg(why);
	struct ma_trace *trace = open_trace(o);
	struct ma_audit_result *r = NULL;
	/* --probe asked for the doctor: its audit goes into a history only
	 * where --state-dir says, never into the default one. */
	bool record = !with_probe || o->state_dir_given;
	if (!audit_one(o, &acct, &src, password, trace, record, &r, why, sizeof why)) {
		ma_password_free(password);
		ma_trace_close(trace);
		die_msg(why);
	}
	finish_trace(o, trace, &r, 1);
	/* --report with --probe: the full report, the doctor's matrix added.
	 * The exit status stays the audit's verdict. */
	char *matrix = NULL;
	if (with_probe)
		doctor(&acct, password, src.ca_file, o, &matrix);
	ma_password_free(password);
	ma_config_free(&cfg);

	int code = ma_severity_exit_code(ma_check_severity(r));
	put_result(o, r, matrix);
	ma_audit_result_free(r);
	if (fflush(stdout) != 0)
		return EXIT_UNKNOWN;
	return code;
}

/* --all: every account of the accounts file, one after the other (as
 * mbsync -a), each with its own password source; the worst verdict is the
 * exit status. An account that cannot be audited is UNKNOWN and the others
 * still are. */
static int run_all(const struct options *o)
{
	struct ma_config cfg = { 0 };
	int64_t t0 = ma_now_ms();
	load_config(o, &cfg);
	if (!cfg.n) {
		char file[600], msg[800];
		config_name(o, file, sizeof file);
		snprintf(msg, sizeof msg, _("--all: %s has no accounts (see docs/config.md)"), file);
		die_msg(msg);
	}
	struct ma_trace *trace = open_trace(o);
	struct ma_account_outcome *v = calloc(cfg.n, sizeof *v);
	struct ma_audit_result **res = calloc(cfg.n, sizeof *res);
	char (*why)[900] = calloc(cfg.n, sizeof *why);
	if (!v || !res || !why)
		die_msg(_("out of memory"));
	for (size_t i = 0; i < cfg.n; i++) {
		struct ma_account acct;
		struct account_src src;
		build_account(o, &cfg.accounts[i], &acct, &src);
		v[i].name = cfg.accounts[i].acct.name;
		char *password = audit_password(o, &acct, &src, why[i], sizeof why[i]);
		if (!password || !audit_one(o, &acct, &src, password, trace, true, &res[i], why[i],
					    sizeof why[i]))
			v[i].why = why[i];
		ma_password_free(password);
	}
	finish_trace(o, trace, res, cfg.n);
	for (size_t i = 0; i < cfg.n; i++)
		v[i].r = res[i];

	enum ma_severity worst = MA_SEV_OK;
	for (size_t i = 0; i < cfg.n; i++) {
		enum ma_severity s = ma_outcome_severity(&v[i]);
		worst = s > worst ? s : worst;
	}
	struct ma_error err;
	char *text = NULL;
	if (o->check) {
		if (ma_check_lines_all(v, cfg.n, ma_now_ms() - t0, &text, &err) != MA_OK)
			die(NULL, &err);
		printf("%s\n", text);
	} else {
		if (ma_report_all(v, cfg.n, &text, &err) != MA_OK)
			die(NULL, &err);
		write_report(o, text, ma_severity_label(worst));
	}
	free(text);
	for (size_t i = 0; i < cfg.n; i++)
		ma_audit_result_free(res[i]);
	free(res);
	free(v);
	free(why);
	ma_config_free(&cfg);
	if (fflush(stdout) != 0)
		return EXIT_UNKNOWN;
	return ma_severity_exit_code(worst);
}

/* The full-screen program. An account given on the command line is checked
 * here, before the screen is taken, so a typo reads like the batch mode's.
 * Without -a the start screen reads the accounts file itself (and shows
 * what is wrong with it). */
static int run_tui(const struct options *o)
{
	struct ma_tui_args ta = { 0 };
	struct ma_config cfg = { 0 };
	if (o->account || o->imap || o->pop3) {
		struct account_src src;
		/* -c FILE is checked even when the account is the command
		 * line's: the screen would not show what is wrong with it. */
		load_config(o, &cfg);
		build_account(o, o->account ? chosen_account(o, &cfg) : NULL, &ta.acct, &src);
		require_audit_account(&ta.acct);
		ta.pwcmd = src.pwcmd;
		ta.pwfile = src.pwfile;
		ta.ca_file = src.ca_file;
		ta.have_account = true;
	} else {
		ta.pwcmd = o->password_command;
		ta.pwfile = o->password_file;
		ta.ca_file = o->ca_file;
	}
	ta.config = o->config;
	ta.run = o->run;
	ta.no_color = o->no_color;
	int rc = ma_tui_run(&ta);
	ma_config_free(&cfg);
	return rc;
}

/* --probe alone: every port and security combination, explained. Works
 * from an account, from servers given, or from an address alone (then the
 * servers are discovered). The same request as the TUI's p. */
static int run_probe(const struct options *o)
{
	struct ma_config cfg = { 0 };
	struct ma_account acct;
	struct account_src src;
	struct ma_error err;
	load_config(o, &cfg);
	build_account(o, chosen_account(o, &cfg), &acct, &src);
	if (!acct.has_imap && !acct.has_pop3 && !acct.has_smtp && !acct.address[0] &&
	    !strchr(acct.login, '@'))
		die_msg(_("--probe needs servers (--imap, --pop3, --smtp), an account (-a) or an --address"));
	/* Optional: without a password the doctor checks everything but login. */
	char *password = ma_password_get(src.pwcmd, src.pwfile, o->run.timeout, NULL, &err);
	if (!password && err.status != MA_OK)
		die(_("password"), &err);
	char *text = NULL;
	enum ma_severity worst = doctor(&acct, password, src.ca_file, o, &text);
	ma_password_free(password);
	put_text(text);
	free(text);
	ma_config_free(&cfg);
	return ma_severity_exit_code(worst);
}

/* ---- --watch ----------------------------------------------------------------- */

/* Ctrl-C and SIGTERM end a watch through this pipe: every wait of the
 * watch polls it as its cancel fd. */
static int watch_cancel[2] = { -1, -1 };

static void on_stop_signal(int sig)
{
	(void)sig;
	int saved = errno;
	if (write(watch_cancel[1], "x", 1) < 0) {
		/* full: a stop is already pending */
	}
	errno = saved;
}

static void print_event(const struct ma_watch_event *e, void *ctx)
{
	(void)ctx;
	char *line = ma_watch_line(e);
	if (line) {
		printf("%s\n", line);
		/* Nobody reads any more (a closed pipe, a full disk): a
		 * watch nobody hears is over. */
		if (fflush(stdout) != 0)
			on_stop_signal(0);
	}
	free(line);
}

/* --watch: one line per event on standard output until the deadline,
 * Ctrl-C or SIGTERM; the exit status says whether mail was destroyed. */
static int run_watch(const struct options *o)
{
	struct ma_config cfg = { 0 };
	struct ma_account acct;
	struct account_src src;
	struct ma_error err = { 0 };
	load_config(o, &cfg);
	build_account(o, chosen_account(o, &cfg), &acct, &src);
	require_audit_account(&acct);
	if (!acct.has_imap)
		die_msg(_("--watch needs an IMAP server (--imap, or imap in the accounts file): POP3 "
			"shows no deletion as it happens"));
	char why[900];
	char *password = audit_password(o, &acct, &src, why, sizeof why);
	if (!password)
		die_msg(why);
	if (pipe2(watch_cancel, O_CLOEXEC | O_NONBLOCK) != 0)
		die_msg(_("cannot create a pipe for the signals"));
	struct sigaction sa = { 0 };
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	struct ma_trace *trace = open_trace(o);
	struct ma_audit_opts ao;
	ma_run_audit_opts(&o->run, src.ca_file, &ao);
	struct ma_watch_opts wo = { 0 };
	wo.net = ao.net;
	wo.net.run_deadline_ms = run_deadline_ms;
	wo.net.cancel_fd = watch_cancel[0];
	wo.trace = trace;
	wo.state_dir = ao.state_dir;
	wo.no_history = ao.no_history;
	wo.interval_s = o->interval;
	wo.no_idle = o->no_idle;
	wo.cb = print_event;
	struct ma_tls *tls = NULL;
	struct ma_watch_summary sum = { 0 };
	ma_status st = ma_tls_new(&wo.net, &tls, &err);
	if (st == MA_OK) {
		wo.net.tls = tls;
		st = ma_watch_run(&acct, password, &wo, &sum, &err);
	}
	ma_tls_free(tls);
	ma_password_free(password);
	ma_trace_close(trace);
	ma_config_free(&cfg);
	if (st != MA_OK)
		die(NULL, &err);
	fprintf(stderr, P_("mailaudit: watch ended: %llu arrived, %llu moved, %llu destroyed, %llu "
			   "vanished while disconnected, %llu reconnect\n",
			   "mailaudit: watch ended: %llu arrived, %llu moved, %llu destroyed, %llu "
			   "vanished while disconnected, %llu reconnects\n", sum.reconnects),
		(unsigned long long)sum.arrived,
		(unsigned long long)sum.moved, (unsigned long long)sum.destroyed,
		(unsigned long long)sum.vanished, (unsigned long long)sum.reconnects);
	if (fflush(stdout) != 0)
		return EXIT_UNKNOWN;
	return sum.destroyed || sum.vanished ? EXIT_CRITICAL : EXIT_OK_;
}

/* --since: midnight of that day in local time, as the user means "since
 * Monday". A date that does not exist (2026-02-30) is refused, not moved. */
static time_t parse_since(const char *text)
{
	const char *want = _("--since wants a date as YYYY-MM-DD, for example 2026-12-01");
	if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
		die_msg(want);
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)text[i]))
			die_msg(want);
	struct tm tm = { 0 };
	tm.tm_year = atoi(text) - 1900;
	tm.tm_mon = atoi(text + 5) - 1;
	tm.tm_mday = atoi(text + 8);
	tm.tm_isdst = -1;
	int y = tm.tm_year, m = tm.tm_mon, d = tm.tm_mday;
	time_t t = mktime(&tm);
	if (t == (time_t)-1 || tm.tm_year != y || tm.tm_mon != m || tm.tm_mday != d)
		die_msg(want);
	return t;
}

/* --ack and --lost: the history file only. No password is asked for and
 * nothing goes over the network; the account options find the history as
 * an audit of them does. */
static int run_ledger(const struct options *o)
{
	struct ma_config cfg = { 0 };
	struct ma_account acct;
	struct account_src src;
	struct ma_error err = { 0 };
	time_t since = o->since ? parse_since(o->since) : 0;
	load_config(o, &cfg);
	build_account(o, chosen_account(o, &cfg), &acct, &src);
	require_audit_account(&acct);
	int code = EXIT_OK_;
	if (o->ack) {
		uint64_t n = 0;
		time_t now = o->run.now ? o->run.now : time(NULL);
		if (ma_ledger_ack(&acct, o->run.state_dir, INT64_MAX, now, &n, &err) != MA_OK)
			die(NULL, &err);
		if (n)
			printf(P_("Acknowledged %llu lost message; later audits report only new losses.\n",
				  "Acknowledged %llu lost messages; later audits report only new losses.\n", n),
			       (unsigned long long)n);
		else
			printf("%s", _("Nothing to acknowledge.\n"));
	} else {
		struct ma_loss_entry *v = NULL;
		size_t n = 0;
		char *text = NULL;
		if (ma_ledger_list(&acct, o->run.state_dir, 0, false, since, &v, &n, &err) != MA_OK)
			die(NULL, &err);
		if (ma_ledger_text(v, n, &text, &err) != MA_OK)
			die(NULL, &err);
		ma_loss_entries_free(v, n);
		/* Nothing on stdout then, so a script reads an empty list. */
		if (!n)
			fprintf(stderr, _("mailaudit: no lost mail on record%s\n"),
				o->since ? _(" since that day") : "");
		put_text(text);
		free(text);
	}
	ma_config_free(&cfg);
	if (fflush(stdout) != 0)
		code = EXIT_UNKNOWN;
	return code;
}

/* --check anywhere on the command line (getopt_long takes "--che" too):
 * the monitoring line is read by machines and stays English, errors
 * before any audit included, as monitoring plugins do. */
static bool wants_check(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strlen(argv[i]) >= 4 && strncmp(argv[i], "--check", strlen(argv[i])) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	int64_t start = ma_now_ms();
	/* A password will sit in this process's memory: no core dumps. */
	prctl(PR_SET_DUMPABLE, 0);
	struct rlimit nocore = { 0, 0 };
	setrlimit(RLIMIT_CORE, &nocore);
#ifdef __GLIBC__
	/* Large blocks (a million messages' POP3 view, the history's arrays)
	 * from the kernel and back to it when freed. Left to itself, glibc
	 * raises this threshold to each such block freed, and the later
	 * ones stay in the threads' arenas once freed: at a million
	 * messages a repeat peaked at 78 MB instead of 59 MB. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
	ma_i18n_init();
	if (wants_check(argc, argv))
		setlocale(LC_MESSAGES, "C");

	parse_args(argc, argv, &o);
	/* From the start: the password command's time counts too. */
	if (o.deadline > 0)
		run_deadline_ms = start + (int64_t)o.deadline * 1000;
	if (o.all)
		return run_all(&o);
	if (o.ack || o.lost)
		return run_ledger(&o);
	if (o.watch)
		return run_watch(&o);
	if (o.probe && !o.report)
		return run_probe(&o);
	if (o.report || o.check)
		return run_batch(&o);
	return run_tui(&o);
}
