/* The provider rules (data/providers.rules): server names a provider has
 * retired or that look like its obsolete per-customer names. Read by the
 * connection doctor (host-obsolete, host-unknown) and by the audit and the
 * full-screen form, which flag an obsolete name too; so they live here,
 * below both.
 *
 * One rule a line: PATTERN | HINT | NOTE. PATTERN is a case-insensitive
 * glob: '*' any run of characters, '?' one character, '#' one or more
 * digits. '#' starts a comment line; blank lines are ignored.
 *
 * A line starting with the word "mx" says which provider serves a domain
 * whose MX host matches a glob, and what its servers look like, for the
 * form's suggestions (tui/start.c):
 *   mx MX-GLOB | PROVIDER | IMAP | POP3 | WHERE
 * IMAP and POP3 are server names ("" none); a '#' in them stands for a
 * number particular to the customer, which nobody can guess: it is shown
 * as X, with WHERE (where the customer finds it). Old files, without such
 * lines, read as before.
 *
 * Ownership: a struct ma_rules filled here belongs to the caller, who
 * frees it with ma_rules_free. */
#ifndef MA_RULES_H
#define MA_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"

struct ma_rule {
	char pattern[128];
	char hint[160];
	char note[320];
};

/* An "mx" line: the provider that receives a domain's mail. */
struct ma_provider {
	char mx[128];            /* glob over the MX host */
	char name[64];
	char imap[128];          /* server name; '#' a customer's number */
	char pop3[128];
	char where[320];         /* where the customer finds the number */
};

struct ma_rules {
	struct ma_rule *v;
	size_t n;
	struct ma_provider *prov;
	size_t n_prov;
	/* From ma_rules_load: the file read; or, when none was found
	 * (missing), the places looked in, comma-separated, for the note that
	 * says so (without the file an obsolete name goes unnoticed). */
	bool missing;
	char where[1024];
};

/* Parses buf (any bytes). A malformed line gives MA_ERR_ARGUMENT naming
 * it and leaves out empty. */
ma_status ma_rules_parse(const char *buf, size_t len, struct ma_rules *out, struct ma_error *err);
/* Loads $MA_RULES (a missing file is then MA_ERR_IO), else the program's
 * own copy: data/providers.rules of the repository for an uninstalled
 * build, PREFIX/share/mailaudit/providers.rules beside an installed
 * PREFIX/bin/mailaudit (found from /proc/self/exe), else the compiled-in
 * MA_DATADIR. None found is MA_OK with no rules and out->missing set. A
 * file that cannot be read or parsed is an error naming it. */
ma_status ma_rules_load(struct ma_rules *out, struct ma_error *err);
void ma_rules_free(struct ma_rules *r);
/* The first rule whose pattern matches host, or NULL. */
const struct ma_rule *ma_rules_match(const struct ma_rules *r, const char *host);
bool ma_glob_match(const char *pattern, const char *text);
/* The first provider rule whose glob matches the MX host mx (a trailing
 * dot ignored), or NULL. */
const struct ma_provider *ma_rules_provider(const struct ma_rules *r, const char *mx);
/* A provider's server name as people read it: each '#' (a number only the
 * customer knows) becomes 'X'. */
void ma_provider_shown(char *out, size_t n, const char *pattern);
/* True when pattern holds the customer's number ('#'): no name to fill. */
bool ma_provider_has_number(const char *pattern);

#endif
