/* Where the catalogues are, and the locale set up once at start. */
#include "base/i18n.h"

#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* dir without its last component; false at the root. */
static bool parent(char *dir)
{
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return false;
	*slash = '\0';
	return true;
}

static void find_dir(char *out, size_t len)
{
	const char *env = getenv("MA_LOCALEDIR");
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return;
	}
	char dir[PATH_MAX], up[PATH_MAX], cand[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
	if (n > 0 && (size_t)n < sizeof dir - 1) {
		dir[n] = '\0';
		if (parent(dir)) {
			/* Uninstalled: build/mailaudit or build/tests/x, the build
			 * directory marked by libmailaudit.a, its catalogues in locale/. */
			snprintf(up, sizeof up, "%s", dir);
			for (int level = 0; level < 2; level++) {
				snprintf(cand, sizeof cand, "%s/libmailaudit.a", up);
				if (access(cand, F_OK) == 0) {
					snprintf(cand, sizeof cand, "%s/locale", up);
					if (is_dir(cand)) {
						snprintf(out, len, "%s", cand);
						return;
					}
					break;
				}
				if (!parent(up))
					break;
			}
			/* Installed: PREFIX/bin/mailaudit, PREFIX/share/locale. */
			snprintf(up, sizeof up, "%s", dir);
			if (parent(up)) {
				snprintf(cand, sizeof cand, "%s/share/locale", up);
				if (is_dir(cand)) {
					snprintf(out, len, "%s", cand);
					return;
				}
			}
		}
	}
#ifdef MA_LOCALEDIR
	snprintf(out, len, "%s", MA_LOCALEDIR);
#else
	snprintf(out, len, "/usr/local/share/locale");
#endif
}

const char *ma_i18n_init(void)
{
	static char where[PATH_MAX + 32];
	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	find_dir(where, sizeof where);
	bindtextdomain(MA_TEXTDOMAIN, where);
	bind_textdomain_codeset(MA_TEXTDOMAIN, "UTF-8");
	textdomain(MA_TEXTDOMAIN);
	return where;
}
