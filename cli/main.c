/* mailaudit: entry point. Reads options and the accounts file, gets the
 * password from a safe source, then runs the audit for the report, the
 * monitoring check, or the full-screen program. */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "audit/audit.h"
#include "store/config.h"
#include "tui/credentials.h"
#include "audit/ledger.h"
#include "doctor/frontend.h"
#include "doctor/probe.h"
#include "audit/report.h"
#include "base/status.h"
#include "net/trace.h"
#include "tui/tui.h"
#include "tui/worker.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* Exit codes follow the monitoring-plugins convention. */
enum { EXIT_OK_ = 0, EXIT_WARNING = 1, EXIT_CRITICAL = 2, EXIT_UNKNOWN = 3 };

struct options {
	const char *report;       /* --report FILE|- */
	bool check;               /* --check */
	const char *imap, *pop3, *smtp, *user, *address;
	const char *password_command, *password_file;
	const char *ca_file;
	struct ma_run_settings run; /* --insecure, --timeout, --trace, ... */
	const char *account;      /* -a NAME */
	const char *config;       /* -c FILE */
	bool no_color;            /* --no-color (the full-screen program) */
	bool probe;               /* --probe: the connection doctor */
	bool ack;                 /* --ack: acknowledge the lost mail on record */
	bool lost;                /* --lost: list the lost mail on record */
	const char *since;        /* --since YYYY-MM-DD (with --lost) */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mailaudit [OPTIONS]\n"
		"Tells whether your mail is safe on the server: logs in over IMAP and POP3\n"
		"(read-only), finds what deletes mail, and explains the fix.\n"
		"\n"
		"Account:\n"
		"  -a, --account NAME        use account NAME from the accounts file\n"
		"  -c, --config FILE         accounts file (default ~/.config/mailaudit/config)\n"
		"      --imap HOST[:PORT][/tls|/starttls]   IMAP server (993/tls by default)\n"
		"      --pop3 HOST[:PORT][/tls|/starttls]   POP3 server (995/tls by default)\n"
		"      --smtp HOST[:PORT][/tls|/starttls]   SMTP server (465/tls by default)\n"
		"      --user LOGIN          login name (the full e-mail address)\n"
		"      --address ADDR        e-mail address (login defaults to it)\n"
		"Password (never on the command line):\n"
		"      --password-command CMD  run CMD, use the first line it prints\n"
		"      --password-file FILE    first line of FILE (must be mode 0600)\n"
		"                            otherwise mailaudit asks on the terminal\n"
		"Output:\n"
		"      --report FILE|-       audit and write the text report (- = stdout)\n"
		"      --check               audit and print one monitoring line\n"
		"                            neither: the full-screen program\n"
		"      --probe               try IMAP 993/143, POP3 995/110 and SMTP 465/587, say\n"
		"                            which work and why not (with --address alone, the\n"
		"                            servers are discovered from the domain); with\n"
		"                            --report, the full report with this matrix added\n"
		"      --no-color            full-screen program without colours (also NO_COLOR)\n"
		"Connection:\n"
		"      --ca-file FILE        trust the CA certificates in FILE\n"
		"      --insecure            do NOT verify certificates (every output says so)\n"
		"      --timeout SECONDS     network timeout (default " STR(MA_TIMEOUT_AUDIT_S) ")\n"
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
		"\n"
		"      --version             print the version and exit\n"
		"      --help                print this help and exit\n"
		"\n"
		"Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (could not audit).\n");
}

static void die(const char *what, const struct ma_error *err)
{
	char buf[800];
	ma_error_format(err, buf, sizeof buf);
	fprintf(stderr, "mailaudit: %s%s%s\n", what ? what : "", what ? ": " : "", buf);
	exit(EXIT_UNKNOWN);
}

static void die_msg(const char *msg)
{
	fprintf(stderr, "mailaudit: %s\n", msg);
	exit(EXIT_UNKNOWN);
}

enum {
	OPT_REPORT = 256, OPT_CHECK, OPT_IMAP, OPT_POP3, OPT_SMTP, OPT_USER, OPT_ADDRESS,
	OPT_PWCMD, OPT_PWFILE, OPT_CAFILE, OPT_INSECURE, OPT_TIMEOUT, OPT_TRACE,
	OPT_STATEDIR, OPT_NOHISTORY, OPT_SOURCE, OPT_NOW, OPT_VERSION, OPT_HELP, OPT_NOCOLOR, OPT_PROBE,
	OPT_ACK, OPT_LOST, OPT_SINCE, OPT_POP3_DESPITE,
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
	{ "account", required_argument, NULL, 'a' },
	{ "config", required_argument, NULL, 'c' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Options that do not go together. */
static void check_modes(const struct options *o)
{
	if (o->ack && o->lost)
		die_msg("--ack and --lost go separately: list with --lost, then acknowledge with --ack");
	if ((o->ack || o->lost) && (o->report || o->check || o->probe))
		die_msg("--ack and --lost do not audit: use them without --report, --check and --probe");
	if (o->since && !o->lost)
		die_msg("--since goes with --lost");
}

static void parse_args(int argc, char **argv, struct options *o)
{
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":a:c:h", longopts, NULL)) != -1) {
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
		case OPT_TIMEOUT: {
			char *end;
			long t = strtol(optarg, &end, 10);
			if (*end || t < 1 || t > 3600)
				die_msg("--timeout wants a number of seconds between 1 and 3600");
			o->run.timeout = (int)t;
			break;
		}
		case OPT_TRACE: o->run.trace = optarg; break;
		case OPT_STATEDIR: o->run.state_dir = optarg; break;
		case OPT_NOHISTORY: o->run.no_history = true; break;
		case OPT_SOURCE: o->run.source_addr = optarg; break;
		case OPT_NOW: o->run.now = (time_t)strtoll(optarg, NULL, 10); break;
		case OPT_NOCOLOR: o->no_color = true; break; /* the report has none anyway */
		case OPT_PROBE: o->probe = true; break;
		case OPT_ACK: o->ack = true; break;
		case OPT_LOST: o->lost = true; break;
		case OPT_SINCE: o->since = optarg; break;
		case OPT_POP3_DESPITE: o->run.pop3_despite_login_delay = true; break;
		case 'a': o->account = optarg; break;
		case 'c': o->config = optarg; break;
		case OPT_VERSION:
			printf("mailaudit %s\n", MA_VERSION);
			exit(0);
		case OPT_HELP:
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, "mailaudit: option '%s' needs a value (see mailaudit --help)\n",
				argv[optind - 1]);
			exit(EXIT_UNKNOWN);
		default: {
			/* Only the option's name: "--password=secret" must not
			 * put its value on screen or into a cron mail. */
			const char *bad = argv[optind - 1];
			fprintf(stderr, "mailaudit: unknown option '%.*s' (see mailaudit --help)\n",
				(int)strcspn(bad, "="), bad);
			exit(EXIT_UNKNOWN);
		}
		}
	}
	if (optind < argc) {
		/* Not repeated: it may well be the password itself. */
		fprintf(stderr, "mailaudit: unexpected argument (not shown, it may be a password); a "
			"password is never given on the command line (see --password-command)\n");
		exit(EXIT_UNKNOWN);
	}
	check_modes(o);
}

static void set_endpoint(const char *text, enum ma_proto proto, struct ma_endpoint *ep, bool *has,
			 const char *opt)
{
	struct ma_error err;
	if (ma_endpoint_parse(text, strlen(text), proto, ep, &err) != MA_OK)
		die(opt, &err);
	*has = true;
}

/* Builds the account from the accounts file (if -a) and the options on top. */
static void build_account(const struct options *o, struct ma_account *acct, struct ma_config *cfg,
			  const char **pwcmd, const char **pwfile, const char **ca_file)
{
	struct ma_error err;
	memset(acct, 0, sizeof *acct);
	if (o->account) {
		if (ma_config_load(o->config, cfg, &err) != MA_OK)
			die(NULL, &err);
		const struct ma_config_account *ca = ma_config_find(cfg, o->account);
		if (!ca) {
			fprintf(stderr, "mailaudit: no account \"%s\" in the accounts file\n", o->account);
			exit(EXIT_UNKNOWN);
		}
		*acct = ca->acct;
		*pwcmd = ca->password_command;
		*pwfile = ca->password_file;
		*ca_file = ca->ca_file;
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
		*pwcmd = o->password_command, *pwfile = NULL;
	if (o->password_file)
		*pwfile = o->password_file, *pwcmd = NULL;
	if (o->ca_file)
		*ca_file = o->ca_file;
}

/* An audit needs a server to look at and a login to look with. */
static void require_audit_account(const struct ma_account *acct)
{
	if (!acct->has_imap && !acct->has_pop3)
		die_msg("no server given: use --imap and/or --pop3, or -a NAME (see mailaudit --help)");
	if (!acct->login[0])
		die_msg("no login given: use --user with the full e-mail address");
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
	struct ma_probe_result *r = NULL;
	if (ma_probe_run(&req, &r, &err) != MA_OK)
		die(NULL, &err);
	if (ma_probe_text(r, text) != MA_OK)
		die_msg("out of memory");
	enum ma_severity worst = ma_probe_worst(r);
	ma_probe_result_free(r);
	return worst;
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
		if (ma_report_add_section(&text, "Connection doctor (--probe)", matrix, &err) != MA_OK)
			die_msg("out of memory");
		free(matrix);
	}
	if (strcmp(o->report, "-") == 0)
		fputs(text, stdout);
	else if (ma_report_write(o->report, text, &err) != MA_OK)
		die(NULL, &err);
	else
		fprintf(stderr, "mailaudit: report written to %s (verdict %s)\n", o->report,
			ma_severity_name(r->verdict));
	free(text);
}

static int run_batch(const struct options *o)
{
	struct ma_config cfg = { 0 };
	struct ma_account acct;
	const char *pwcmd = NULL, *pwfile = NULL, *ca_file = NULL;
	struct ma_error err;
	build_account(o, &acct, &cfg, &pwcmd, &pwfile, &ca_file);
	require_audit_account(&acct);

	char *password = ma_password_get(pwcmd, pwfile, o->run.timeout, acct.login, &err);
	if (!password)
		die("password", &err);

	struct ma_trace *trace = NULL;
	if (o->run.trace && ma_trace_open(o->run.trace, &trace, &err) != MA_OK)
		die(NULL, &err);
	struct ma_audit_opts ao;
	ma_run_audit_opts(&o->run, ca_file, &ao);
	ao.trace = trace;
	struct ma_tls *tls = NULL;
	if (ma_tls_new(&ao.net, &tls, &err) != MA_OK)
		die(NULL, &err);
	ao.net.tls = tls;

	struct ma_audit_result *r = NULL;
	ma_status st = ma_audit_run(&acct, password, &ao, &r, &err);
	ma_tls_free(tls);
	ma_trace_close(trace);
	if (st != MA_OK)
		die(NULL, &err);
	/* --report with --probe: the full report, the doctor's matrix added.
	 * The exit status stays the audit's verdict. */
	char *matrix = NULL;
	if (o->probe && o->report && !o->check)
		doctor(&acct, password, ca_file, o, &matrix);
	ma_password_free(password);
	ma_config_free(&cfg);

	int code = ma_severity_exit_code(r->verdict);
	put_result(o, r, matrix);
	ma_audit_result_free(r);
	if (fflush(stdout) != 0)
		return EXIT_UNKNOWN;
	return code;
}

/* The full-screen program. An account given on the command line is checked
 * here, before the screen is taken, so a typo reads like the batch mode's. */
static int run_tui(const struct options *o)
{
	struct ma_tui_args ta = { 0 };
	struct ma_config cfg = { 0 };
	if (o->account || o->imap || o->pop3) {
		build_account(o, &ta.acct, &cfg, &ta.pwcmd, &ta.pwfile, &ta.ca_file);
		require_audit_account(&ta.acct);
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
	const char *pwcmd = NULL, *pwfile = NULL, *ca_file = NULL;
	struct ma_error err;
	build_account(o, &acct, &cfg, &pwcmd, &pwfile, &ca_file);
	if (!acct.has_imap && !acct.has_pop3 && !acct.has_smtp && !acct.address[0] &&
	    !strchr(acct.login, '@'))
		die_msg("--probe needs servers (--imap, --pop3, --smtp), an account (-a) or an --address");
	/* Optional: without a password the doctor checks everything but login. */
	char *password = ma_password_get(pwcmd, pwfile, o->run.timeout, NULL, &err);
	if (!password && err.status != MA_OK)
		die("password", &err);
	char *text = NULL;
	enum ma_severity worst = doctor(&acct, password, ca_file, o, &text);
	ma_password_free(password);
	fputs(text, stdout);
	free(text);
	ma_config_free(&cfg);
	return ma_severity_exit_code(worst);
}

/* --since: midnight of that day in local time, as the user means "since
 * Monday". A date that does not exist (2026-02-30) is refused, not moved. */
static time_t parse_since(const char *text)
{
	static const char want[] = "--since wants a date as YYYY-MM-DD, for example 2026-12-01";
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
	const char *pwcmd = NULL, *pwfile = NULL, *ca_file = NULL;
	struct ma_error err = { 0 };
	time_t since = o->since ? parse_since(o->since) : 0;
	build_account(o, &acct, &cfg, &pwcmd, &pwfile, &ca_file);
	require_audit_account(&acct);
	int code = EXIT_OK_;
	if (o->ack) {
		uint64_t n = 0;
		time_t now = o->run.now ? o->run.now : time(NULL);
		if (ma_ledger_ack(&acct, o->run.state_dir, INT64_MAX, now, &n, &err) != MA_OK)
			die(NULL, &err);
		if (n)
			printf("Acknowledged %" PRIu64 " lost message%s; later audits report only new "
			       "losses.\n", n, n == 1 ? "" : "s");
		else
			printf("Nothing to acknowledge.\n");
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
			fprintf(stderr, "mailaudit: no lost mail on record%s\n",
				o->since ? " since that day" : "");
		fputs(text, stdout);
		free(text);
	}
	ma_config_free(&cfg);
	if (fflush(stdout) != 0)
		code = EXIT_UNKNOWN;
	return code;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	/* A password will sit in this process's memory: no core dumps. */
	prctl(PR_SET_DUMPABLE, 0);
	struct rlimit nocore = { 0, 0 };
	setrlimit(RLIMIT_CORE, &nocore);

	parse_args(argc, argv, &o);
	if (o.ack || o.lost)
		return run_ledger(&o);
	if (o.probe && !o.report)
		return run_probe(&o);
	if (o.report || o.check)
		return run_batch(&o);
	return run_tui(&o);
}
