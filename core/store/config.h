/* The accounts file: a small line-oriented format described in
 * docs/config.md, read from $XDG_CONFIG_HOME/mailaudit/config (fallback
 * ~/.config/mailaudit/config) or from the file given with -c.
 *
 * Errors are "file:line: problem" sentences for the mailbox owner. They never
 * quote a password_command or password_file value, nor a line that could not
 * be understood, because a password pasted by mistake must not end up on
 * screen or in a trace.
 *
 * Ownership: a struct ma_config filled here belongs to the caller, who frees
 * it with ma_config_free. */
#ifndef MA_CONFIG_H
#define MA_CONFIG_H

#include <stddef.h>

#include "store/account.h"
#include "base/status.h"

#define MA_CONFIG_MAX_LINE 4096          /* bytes, without the line break */
#define MA_CONFIG_MAX_ACCOUNTS 1000
#define MA_CONFIG_MAX_FILE (1024 * 1024) /* bytes */

struct ma_config_account {
	struct ma_account acct;    /* name, login, address, endpoints */
	char *password_command;    /* NULL if absent; owned */
	char *password_file;       /* NULL if absent; owned */
	char *ca_file;             /* NULL if absent; owned */
	int line;                  /* where its [account NAME] line is */
};

struct ma_config {
	struct ma_config_account *accounts; /* in file order */
	size_t n;
};

/* Parses buf (no NUL terminator needed); filename is only for messages
 * (NULL: "config"). On error returns MA_ERR_ARGUMENT (or MA_ERR_NOMEM) with
 * "file:line: problem" in err->detail and *cfg left empty. */
ma_status ma_config_parse(const char *buf, size_t len, const char *filename,
			  struct ma_config *cfg, struct ma_error *err);

/* Reads and parses path. NULL means the default location, where a missing
 * file is not an error (empty config); a missing explicit file is MA_ERR_IO
 * naming it. Files over MA_CONFIG_MAX_FILE are refused (MA_ERR_ARGUMENT). */
ma_status ma_config_load(const char *path, struct ma_config *cfg, struct ma_error *err);

/* The account called name (compared ignoring case, as duplicates are), or
 * NULL. */
const struct ma_config_account *ma_config_find(const struct ma_config *cfg, const char *name);

/* Frees everything and leaves cfg empty; NULL ok. */
void ma_config_free(struct ma_config *cfg);

/* The default path into buf: "" if neither XDG_CONFIG_HOME nor HOME is set
 * or the path does not fit. */
void ma_config_default_path(char *buf, size_t len);

/* path with a leading "~" or "~/" turned into the home directory ($HOME,
 * else the password database's) and "~USER" or "~USER/" into that user's,
 * as a shell would, into *out (malloc'd, the caller frees it); any other
 * path is copied as it is. MA_ERR_ARGUMENT when the home directory is not
 * known (the message names the user, never the rest of the path),
 * MA_ERR_NOMEM. The accounts file's password_file and ca_file come out of
 * ma_config_parse expanded. */
ma_status ma_path_expand(const char *path, char **out, struct ma_error *err);

#endif
