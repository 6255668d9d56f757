/* The full-screen program: start screen, audit progress and results; and
 * what both front ends (this and cli/main.c's batch modes) share: the
 * default timeouts and the settings of a run, turned into core options by
 * one pair of functions (settings.c). */
#ifndef MA_TUI_H
#define MA_TUI_H

#include <stdbool.h>
#include <time.h>

#include "audit/audit.h"

/* Network timeouts when --timeout is not given, for both front ends: an
 * audit waits 30 s (and so does a password command), the connection test
 * 10 s, its six cells waiting in parallel. */
#define MA_TIMEOUT_AUDIT_S 30
#define MA_TIMEOUT_PROBE_S 10

/* What the command line sets for a run, whichever front end runs it. */
struct ma_run_settings {
	bool insecure;
	int timeout;               /* --timeout; 0: the defaults above */
	const char *trace;         /* --trace FILE; NULL: none */
	const char *state_dir;
	bool no_history;
	const char *source_addr;
	time_t now;                /* --now; 0: the clock */
	bool pop3_despite_login_delay; /* see ma_audit_opts */
};

/* An audit's options from s (ca_file NULL: the system's CA store). No
 * cancel pipe (-1), TLS store, trace or progress: those are the caller's. */
void ma_run_audit_opts(const struct ma_run_settings *s, const char *ca_file,
		       struct ma_audit_opts *o);
/* The connection test's network options, the same way but for two things:
 * certificates are checked even under --insecure (saying what is wrong
 * with them is the doctor's job), and the default timeout is the shorter
 * MA_TIMEOUT_PROBE_S (six cells wait in parallel). */
void ma_run_probe_net(const struct ma_run_settings *s, const char *ca_file,
		      struct ma_net_opts *net);

struct ma_tui_args {
	bool have_account;         /* acct is filled (-a NAME or --imap/--pop3) */
	struct ma_account acct;
	const char *pwcmd, *pwfile;/* password source; neither: the form asks */
	const char *ca_file;
	const char *config;        /* -c FILE, NULL: default accounts file */
	struct ma_run_settings run;
	bool no_color;
};

/* Runs until the user quits; returns the exit status. Restores the terminal
 * on every path, signals included. */
int ma_tui_run(const struct ma_tui_args *a);

#endif
