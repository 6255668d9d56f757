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

struct ma_rules {
	struct ma_rule *v;
	size_t n;
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

#endif
