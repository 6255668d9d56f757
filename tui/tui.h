/* The full-screen program: start screen, audit progress and results. */
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

struct ma_tui_args {
	bool have_account;         /* acct is filled (-a NAME or --imap/--pop3) */
	struct ma_account acct;
	const char *pwcmd, *pwfile;/* password source; neither: the form asks */
	const char *ca_file;
	const char *config;        /* -c FILE, NULL: default accounts file */
	bool insecure;
	int timeout;
	const char *trace;
	const char *state_dir;
	bool no_history;
	const char *source_addr;
	time_t now;
	bool no_color;
	bool pop3_despite_login_delay; /* see ma_audit_opts */
};

/* Runs until the user quits; returns the exit status. Restores the terminal
 * on every path, signals included. */
int ma_tui_run(const struct ma_tui_args *a);

#endif
