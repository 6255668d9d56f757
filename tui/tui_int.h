/* Shared by the TUI's files: the UI state, the view table, what keys.c
 * generates from keys.h and the screen's text helpers. Only draw() (tui.c)
 * paints, itself or through start_draw and text_put: key handlers change
 * state and return reaction flags (R_*), views fill line lists. */
#ifndef MA_TUI_INT_H
#define MA_TUI_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/i18n.h"
#include "audit/audit.h"
#include "store/config.h"
#include "keys.h"
#include "doctor/probe.h"
#include "tui.h"
#include "worker.h"

#define MA_MIN_COLS 40
#define MA_MIN_ROWS 12

/* What a key handler asks of the screen manager. */
enum {
	R_NONE = 0,
	R_DRAW = 1 << 0,     /* repaint */
	R_REBUILD = 1 << 1,  /* the view's lines changed */
	R_FULL = 1 << 2,     /* clear and repaint every cell */
	R_QUIT = 1 << 3,
};

/* Colour pairs; attributes only when colour is off. */
enum { PAIR_OK = 1, PAIR_WARN, PAIR_CRIT, PAIR_UNKNOWN, PAIR_TITLE, PAIR_DIM };

struct line {
	char *text;
	int attr;   /* ATTR_* below, mapped to curses by the drawer */
	int item;   /* selectable item index, -1 none */
};
enum { ATTR_NONE, ATTR_BOLD, ATTR_OK, ATTR_INFO, ATTR_WARN, ATTR_UNKNOWN, ATTR_CRIT };

struct lines {
	struct line *v;
	size_t n, cap;
};

enum ui_screen { SCR_START, SCR_PROGRESS, SCR_RESULTS,
		 SCR_WATCH /* the live view (watch_view.c) */ };
/* PROMPT_QUIT, PROMPT_ACK and PROMPT_OVERWRITE are y/n questions, the
 * question in prompt_buf for the last two. */
enum prompt_kind { PROMPT_NONE, PROMPT_SEARCH, PROMPT_EXPORT, PROMPT_QUIT, PROMPT_ACK,
		   PROMPT_OVERWRITE };

enum { F_ADDR, F_LOGIN, F_IMAP, F_POP3, F_PASS, F_COUNT };

/* Where a server field's prefilled value came from (start.c). */
enum field_src {
	SRC_NONE,      /* nothing prefilled */
	SRC_GUESS,     /* imap.DOMAIN, or POP3 on the IMAP server: a guess */
	SRC_DNS,       /* the domain's RFC 6186 SRV records */
	SRC_PROVIDER,  /* the provider's name, its MX matching a rule */
	SRC_PATTERN,   /* left empty: the provider's name holds the customer's number */
};

struct form {
	char field[F_COUNT][256];
	bool edited[F_COUNT];      /* typed into: no more prefilling */
	int focus;                 /* 0..naccounts-1 accounts, then fields */
	const struct ma_config_account *chosen; /* account picked from the list */
	/* Server suggestions for the address's domain (start.c, suggest.c). */
	enum field_src src[F_COUNT];   /* F_IMAP and F_POP3 */
	char hint[F_COUNT][128];       /* SRC_PATTERN: the name with X */
	const struct ma_provider *prov; /* the domain's provider (in ui->rules) */
	char domain[256];              /* the address's domain the fields follow */
	int64_t lookup_due_ms;         /* when to look it up; 0: not due */
	bool looking;                  /* the lookup runs */
	bool looked;                   /* it ended for domain */
	bool dns_silent;               /* it ended with no resolver answering */
};

/* What the lookup of a domain found (suggest.c), for start_suggest. */
#define SUGGEST_MX 4
/* A pause this long in typing the address starts its lookup. */
#define SUGGEST_PAUSE_MS 1000
struct suggest_found {
	char domain[256];
	char imap[300], pop3[300];     /* from SRV: "host:port/security"; "" none */
	bool imap_srv, pop3_srv;       /* the domain published the service ("" = not offered) */
	char mx[SUGGEST_MX][256];      /* MX hosts, most preferred first */
	size_t n_mx;
	bool silent;                   /* no resolver answered in time */
};
struct suggest_job;

struct ui;
struct watch_feed;

/* The results views in tab order: keys 1-6 and ma_views follow it. */
enum ui_view {
	VIEW_FINDINGS, VIEW_FOLDERS, VIEW_POP3, VIEW_CONNECTION, VIEW_HISTORY, VIEW_REPORT,
	MA_NVIEWS
};

/* A results view is a table of operations. */
struct view_ops {
	const char *name;
	const char *short_name;
	void (*build)(struct ui *ui, struct lines *out, int width);
	size_t (*nitems)(const struct ui *ui); /* NULL: no cursor, arrows scroll */
	void (*open)(struct ui *ui);          /* Enter; NULL: nothing to open */
};
extern const struct view_ops ma_views[MA_NVIEWS];

struct ui {
	const struct ma_tui_args *args;
	int rows, cols;
	bool color, utf8;
	enum ui_screen screen;
	bool help;
	int help_top;
	enum prompt_kind prompt;
	char prompt_buf[1024];
	char status[300];
	bool status_err;
	int cur_y, cur_x;          /* where the text cursor goes; -1 hidden */

	/* The audit or connection test in flight: worker.job says which,
	 * MA_JOB_NONE when none is. */
	struct ma_worker worker;
	struct ma_account acct;    /* what runs or ran */
	const char *pwcmd, *pwfile, *ca_file; /* for "audit again" */
	char *export_path;         /* asked about overwriting; malloc'd */
	int64_t step_ms;           /* when the current step began */
	uint64_t expect_msgs;      /* messages the last audit of this mailbox saw; 0 unknown */
	uint64_t msgs_passed;      /* of those, in the folders already read */
	/* A first audit's messages over all folders, as the look counted
	 * them before reading (0: not counted), and those read so far. */
	uint64_t all_total, all_done;
	double shown_frac;         /* the progress bar, which never goes back */
	int head_rows;             /* rows the verdict takes (draw_results) */
	bool pw_kept;              /* a typed password is kept (credentials.h) */
	struct ma_account pw_acct; /* for this account */
	int64_t started_ms;
	long elapsed_s;
	int step;                  /* furthest step reported */
	size_t done[MA_STEP_DONE + 1], total[MA_STEP_DONE + 1];
	char what[MA_STEP_DONE + 1][96];

	/* Results. */
	struct ma_audit_result *result;
	struct ma_account result_acct;   /* the account result is of: acct may
					  * already be another one's */
	struct ma_probe_result *probe;   /* the last connection test, NULL none */
	struct ma_account probe_acct;    /* the account it tested */
	char probe_login[200];     /* why it tried no login; "" it did */
	bool probe_with_login;     /* the running test has a password */
	char *report;
	enum ui_view view;
	int top[MA_NVIEWS];
	size_t cursor[MA_NVIEWS];
	struct lines lines;
	bool lines_dirty;
	int detail_line;           /* Findings: where the detail pane starts */
	bool show_cursor;          /* scroll the cursor item into view once built */
	int built_width;
	char search[1024];
	int match;                 /* line of the current match, -1 none */

	/* History view: what one audit found, opened with Enter. */
	bool hist_open;
	size_t hist_row;           /* its row in result->history */
	char *hist_text;           /* ma_ledger_text of its losses */
	uint64_t hist_lost, hist_acked; /* messages, and of those acknowledged */

	/* The live view (watch_view.c); NULL until the first w. */
	struct watch_feed *watch;

	/* Start screen. */
	struct ma_config cfg;
	struct form form;
	struct ma_rules rules;     /* to flag an obsolete server name as it is typed */
	struct suggest_job *sug;   /* the domain's lookup in flight, NULL none */
};

/* keys.c: everything generated from keys.h. */
enum ma_request key_request(int key);
/* The help screen's lines for width w. */
void key_help_lines(struct lines *L, int w);
/* Teaches curses every terminal's Home/End/PgUp/PgDn sequences. */
void key_define_extra(void);
/* What an escape sequence curses did not know means, from the byte after
 * ESC ('[' or 'O') to its final byte: a key code (KC), or 0 for a
 * sequence that is no key of ours (ignored, never typed). */
int key_from_escape(const char *seq, size_t len);
/* The hint bars at the bottom of the screen (and under the start form
 * and the progress). */
enum ui_hint {
	HINT_HELP,        /* the help screen */
	HINT_START,       /* the start form */
	HINT_PROGRESS,    /* an audit running */
	HINT_PROBING,     /* a connection test running, after its seconds */
	HINT_RESULTS,     /* a results view */
	HINT_LEDGER,      /* Findings with lost mail on record: A */
	HINT_HISTORY,     /* History with audits to open */
	HINT_AUDIT_OPEN,  /* History: one audit's losses */
	HINT_WATCH,       /* the live view */
};
void key_hint(enum ui_hint h, char *out, size_t n);

/* text.c */
void lines_clear(struct lines *L);
void lines_add(struct lines *L, int attr, int item, const char *text);
void lines_addf(struct lines *L, int attr, int item, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Word-wraps text (may hold '\n') to width columns, every line indented. */
/* A list item ("- ...") wraps under its text, clear of the dash. */
void lines_wrap(struct lines *L, int attr, int item, int indent, int width, const char *text);
/* One paragraph: its first row indented by first, the others by rest. */
void lines_wrap_hang(struct lines *L, int attr, int item, int first, int rest, int width,
		     const char *text);
/* Display columns of s (UTF-8; invalid bytes count one). */
int text_cols(const char *s);
/* Pads or cuts s to exactly width columns into out. */
void text_cell(char *out, size_t outsize, const char *s, int width, bool right);
/* Case-insensitive (ASCII) substring search. */
const char *text_find(const char *hay, const char *needle);
bool text_utf8_locale(void);
void text_set_utf8(bool on);
/* Draws s at (y, x), at most maxcols columns; controls and, outside UTF-8
 * locales, non-ASCII characters become '?'. Returns columns used. */
int text_put(int y, int x, int maxcols, const char *s);

/* views.c */
const char *ma_verdict_title(const struct ma_audit_result *r);
int ma_severity_attr(int sev);
/* Back from one audit's losses to the History list. */
void ui_history_close(struct ui *ui);

/* start.c */
void start_init(struct ui *ui);
void start_prefill(struct ui *ui, const struct ma_account *a, bool focus_password);
int start_key(struct ui *ui, int key, enum ma_request req);
void start_draw(struct ui *ui);
/* The lookup for the form's domain ended: fills the fields not typed in. */
void start_suggest(struct ui *ui, const struct suggest_found *found);
/* The loop's timer: a wait of at most the ms until a lookup is due (from
 * wait), and after the wait, starting it when due (R_DRAW then). */
int start_wait_ms(const struct ui *ui, int wait);
int start_tick(struct ui *ui);

/* suggest.c: the domain's SRV and MX lookup on a thread of its own. */
/* Starts looking domain up (a running lookup is stopped); false if it
 * could not start (the guess then stands). */
bool suggest_start(struct ui *ui, const char *domain);
/* Cancels and joins a running lookup (quickly: every wait watches the
 * cancel pipe). */
void suggest_stop(struct ui *ui);
/* The pipe to poll while a lookup runs, else -1. */
int suggest_fd(const struct ui *ui);
/* The lookup's pipe is readable: joins it and applies what it found. */
int suggest_event(struct ui *ui);

/* tui.c */
int ui_start_audit(struct ui *ui, const struct ma_account *acct, char *password,
		   const char *pwcmd, const char *pwfile, const char *ca_file);
void ui_set_status(struct ui *ui, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ui_attr(const struct ui *ui, int attr);
/* The password for another job on the audited account: from its command
 * or file, or the one typed in this run, as a copy the job takes; NULL
 * without one (err set when getting it failed). */
char *ui_job_password(struct ui *ui, struct ma_error *err);

/* watch_view.c: w on the results, the live view and its worker job. */
int watch_start(struct ui *ui);
int watch_key(struct ui *ui, enum ma_request req);
/* The watch's job ended by itself (DONE): the view says why. */
int watch_finished(struct ui *ui);
void watch_draw(struct ui *ui);
void watch_free(struct ui *ui);

#endif
