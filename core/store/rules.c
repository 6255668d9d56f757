/* The provider rules of data/providers.rules and their globs (see
 * rules.h). Input from a file anyone may edit: any bytes are acceptable
 * (fuzz_doctor drives these). */
#include "store/rules.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/text.h"   /* ma_sanitize */

#define RULES_FILE "providers.rules"

/* Dynamic programming, not backtracking: a hostile pattern such as
 * "*a*a*a*a*b" stays O(pattern x text). '#' eats one or more digits. */
bool ma_glob_match(const char *pattern, const char *text)
{
	size_t m = strlen(pattern), n = strlen(text);
	if (m > 255 || n > 255)
		return false;
	bool prev[256], cur[256];
	prev[0] = true;
	for (size_t j = 1; j <= n; j++)
		prev[j] = false;
	for (size_t i = 1; i <= m; i++) {
		char pc = pattern[i - 1];
		cur[0] = prev[0] && pc == '*';
		for (size_t j = 1; j <= n; j++) {
			unsigned char tc = (unsigned char)text[j - 1];
			if (pc == '*')
				cur[j] = prev[j] || cur[j - 1];
			else if (pc == '#')
				cur[j] = isdigit(tc) && (prev[j - 1] || cur[j - 1]);
			else if (pc == '?')
				cur[j] = prev[j - 1];
			else
				cur[j] = prev[j - 1] && tolower((unsigned char)pc) == tolower(tc);
		}
		memcpy(prev, cur, (n + 1) * sizeof prev[0]);
	}
	return prev[n];
}

static void trim_copy(char *dst, size_t dstlen, const char *s, size_t l)
{
	while (l > 0 && isspace((unsigned char)*s)) {
		s++;
		l--;
	}
	while (l > 0 && isspace((unsigned char)s[l - 1]))
		l--;
	ma_sanitize(dst, dstlen, s, l);
}

/* A provider's server name: letters, digits, '.', '-' and the customer's
 * number '#'; empty is "none". */
static bool server_pattern_ok(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '#')
			return false;
	return true;
}

/* An "mx" line, from after the word: MX-GLOB | PROVIDER | IMAP | POP3 |
 * WHERE. false when it does not have that form. */
static bool parse_provider(const char *s, const char *le, struct ma_provider *p)
{
	const char *bar[4];
	const char *from = s;
	for (int i = 0; i < 4; i++) {
		bar[i] = memchr(from, '|', (size_t)(le - from));
		if (!bar[i])
			return false;
		from = bar[i] + 1;
	}
	memset(p, 0, sizeof *p);
	size_t ml = (size_t)(bar[0] - s);
	if (ml >= sizeof p->mx || memchr(s, '\0', (size_t)(le - s)))
		return false;
	trim_copy(p->mx, sizeof p->mx, s, ml);
	trim_copy(p->name, sizeof p->name, bar[0] + 1, (size_t)(bar[1] - bar[0] - 1));
	trim_copy(p->imap, sizeof p->imap, bar[1] + 1, (size_t)(bar[2] - bar[1] - 1));
	trim_copy(p->pop3, sizeof p->pop3, bar[2] + 1, (size_t)(bar[3] - bar[2] - 1));
	trim_copy(p->where, sizeof p->where, bar[3] + 1, (size_t)(le - bar[3] - 1));
	return p->mx[0] && !strpbrk(p->mx, " \t") && p->name[0] && (p->imap[0] || p->pop3[0])
	       && server_pattern_ok(p->imap) && server_pattern_ok(p->pop3);
}

/* v with room for one more (n used of *cap, each size bytes); NULL when
 * out of memory (v is then still valid). */
static void *grow(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	size_t nc = *cap ? *cap * 2 : 8;
	void *nv = realloc(v, nc * size);
	if (nv)
		*cap = nc;
	return nv;
}

/* Whether the line at s starts with the word "mx" (a glob never holds a
 * space, so no obsolete-name rule does). */
static bool is_mx_line(const char *s, const char *le)
{
	return le - s > 2 && strncasecmp(s, "mx", 2) == 0 && (s[2] == ' ' || s[2] == '\t');
}

ma_status ma_rules_parse(const char *buf, size_t len, struct ma_rules *out, struct ma_error *err)
{
	memset(out, 0, sizeof *out);
	size_t cap = 0, pcap = 0, lineno = 0;
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		lineno++;
		const char *s = p;
		p = nl ? nl + 1 : end;
		while (s < le && isspace((unsigned char)*s))
			s++;
		if (s == le || *s == '#')
			continue;
		if (is_mx_line(s, le)) {
			struct ma_provider *np = grow(out->prov, out->n_prov, &pcap, sizeof *np);
			if (!np) {
				ma_rules_free(out);
				return ma_fail(err, MA_ERR_NOMEM, NULL);
			}
			out->prov = np;
			if (!parse_provider(s + 3, le, &out->prov[out->n_prov])) {
				ma_rules_free(out);
				return ma_fail(err, MA_ERR_ARGUMENT, "providers.rules line %zu: expected "
					       "mx MX-GLOB | PROVIDER | IMAP | POP3 | WHERE", lineno);
			}
			out->n_prov++;
			continue;
		}
		const char *bar1 = memchr(s, '|', (size_t)(le - s));
		const char *bar2 = bar1 ? memchr(bar1 + 1, '|', (size_t)(le - bar1 - 1)) : NULL;
		size_t pl = bar1 ? (size_t)(bar1 - s) : 0;
		if (!bar2 || pl >= sizeof out->v[0].pattern || memchr(s, '\0', (size_t)(le - s))) {
			ma_rules_free(out);
			return ma_fail(err, MA_ERR_ARGUMENT,
				       "providers.rules line %zu: expected PATTERN | HINT | NOTE", lineno);
		}
		struct ma_rule *nv = grow(out->v, out->n, &cap, sizeof *nv);
		if (!nv) {
			ma_rules_free(out);
			return ma_fail(err, MA_ERR_NOMEM, NULL);
		}
		out->v = nv;
		struct ma_rule *r = &out->v[out->n];
		trim_copy(r->pattern, sizeof r->pattern, s, pl);
		trim_copy(r->hint, sizeof r->hint, bar1 + 1, (size_t)(bar2 - bar1 - 1));
		trim_copy(r->note, sizeof r->note, bar2 + 1, (size_t)(le - bar2 - 1));
		if (!r->pattern[0] || strchr(r->pattern, ' ')) {
			ma_rules_free(out);
			return ma_fail(err, MA_ERR_ARGUMENT, "providers.rules line %zu: bad pattern", lineno);
		}
		out->n++;
	}
	return MA_OK;
}

void ma_rules_free(struct ma_rules *r)
{
	if (!r)
		return;
	free(r->v);
	r->v = NULL;
	r->n = 0;
	free(r->prov);
	r->prov = NULL;
	r->n_prov = 0;
}

const struct ma_rule *ma_rules_match(const struct ma_rules *r, const char *host)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (ma_glob_match(r->v[i].pattern, host))
			return &r->v[i];
	return NULL;
}

const struct ma_provider *ma_rules_provider(const struct ma_rules *r, const char *mx)
{
	char host[256];
	snprintf(host, sizeof host, "%s", mx ? mx : "");
	size_t l = strlen(host);
	if (l > 0 && host[l - 1] == '.')
		host[l - 1] = '\0';
	for (size_t i = 0; r && host[0] && i < r->n_prov; i++)
		if (ma_glob_match(r->prov[i].mx, host))
			return &r->prov[i];
	return NULL;
}

void ma_provider_shown(char *out, size_t n, const char *pattern)
{
	if (n == 0)
		return;
	size_t i = 0;
	for (; pattern[i] && i + 1 < n; i++)
		out[i] = pattern[i] == '#' ? 'X' : pattern[i];
	out[i] = '\0';
}

bool ma_provider_has_number(const char *pattern)
{
	return strchr(pattern, '#') != NULL;
}

static ma_status load_file(const char *path, struct ma_rules *out, bool *found, struct ma_error *err)
{
	*found = false;
	FILE *f = fopen(path, "rb");
	if (!f)
		return MA_OK;
	*found = true;
	char *buf = malloc(65537);
	if (!buf) {
		fclose(f);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	size_t n = fread(buf, 1, 65537, f);
	bool bad = ferror(f);
	fclose(f);
	ma_status st;
	if (bad)
		st = ma_fail(err, MA_ERR_IO, "%s: read error", path);
	else if (n > 65536)
		st = ma_fail(err, MA_ERR_TOO_LARGE, "%s is larger than 64 KiB", path);
	else
		st = ma_rules_parse(buf, n, out, err);
	free(buf);
	/* The parser names the line; the file is named here, where it is known
	 * (the rules may be the user's own, from MA_RULES). */
	if (st == MA_ERR_ARGUMENT && err) {
		char line[sizeof err->detail];
		snprintf(line, sizeof line, "%s", err->detail);
		const char *what = strncmp(line, RULES_FILE " ", sizeof RULES_FILE) == 0 ?
				   line + sizeof RULES_FILE : line;
		ma_fail(err, st, "%.300s: %s", path, what);
	}
	return st;
}

/* The directory of the running program, links resolved, into buf; false
 * if the system does not say (no /proc). */
static bool exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0 || (size_t)n >= len - 1)
		return false;
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return false;
	*slash = '\0';
	return true;
}

/* dir without its last component ("/opt/x/bin" -> "/opt/x"); false at the
 * root. */
static bool parent(char *dir)
{
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return false;
	*slash = '\0';
	return true;
}

#define MAX_PLACES 3

/* Where the program's own copy of the rules is, most specific first:
 * - an uninstalled build (build/mailaudit, or a test's build/tests/x): the
 *   build directory holds libmailaudit.a, and the repository's data/ is
 *   beside it;
 * - an installed program, PREFIX/bin/mailaudit: PREFIX/share/mailaudit
 *   (whatever PREFIX and DESTDIR were: the compiled-in prefix is that of
 *   the build, which `make install PREFIX=...` does not redo);
 * - the compiled-in MA_DATADIR, for a program copied elsewhere.
 * The current directory is never looked at: it is nobody's install. */
static size_t places(char out[MAX_PLACES][PATH_MAX + 64])
{
	size_t n = 0;
	char dir[PATH_MAX], up[PATH_MAX];
	if (exe_dir(dir, sizeof dir)) {
		snprintf(up, sizeof up, "%s", dir);
		for (int level = 0; level < 2; level++) {
			char marker[PATH_MAX + 32];
			snprintf(marker, sizeof marker, "%s/libmailaudit.a", up);
			if (access(marker, F_OK) == 0 && parent(up)) {
				snprintf(out[n++], sizeof out[0], "%s/data/" RULES_FILE, up);
				break;
			}
			if (!parent(up))
				break;
		}
		snprintf(up, sizeof up, "%s", dir);
		if (parent(up))
			snprintf(out[n++], sizeof out[0], "%s/share/mailaudit/" RULES_FILE, up);
	}
#ifdef MA_DATADIR
	if (n == 0 || strcmp(out[n - 1], MA_DATADIR "/" RULES_FILE) != 0)
		snprintf(out[n++], sizeof out[0], "%s", MA_DATADIR "/" RULES_FILE);
#endif
	return n;
}

ma_status ma_rules_load(struct ma_rules *out, struct ma_error *err)
{
	memset(out, 0, sizeof *out);
	const char *env = getenv("MA_RULES");
	bool found;
	ma_status st;
	if (env && *env) {
		st = load_file(env, out, &found, err);
		if (st == MA_OK && !found)
			return ma_fail(err, MA_ERR_IO, "MA_RULES=%s: no such file", env);
		snprintf(out->where, sizeof out->where, "%.1000s", env);
		return st;
	}
	char place[MAX_PLACES][PATH_MAX + 64];
	size_t n = places(place);
	for (size_t i = 0; i < n; i++) {
		st = load_file(place[i], out, &found, err);
		if (st != MA_OK || found) {
			snprintf(out->where, sizeof out->where, "%.1000s", place[i]);
			return st;
		}
	}
	/* Not an error (a probe or an audit goes on), but never silent:
	 * callers say that obsolete names could not be recognised. */
	out->missing = true;
	size_t used = 0;
	for (size_t i = 0; i < n && used < sizeof out->where; i++) {
		int w = snprintf(out->where + used, sizeof out->where - used, "%s%s", i ? ", " : "",
				 place[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return MA_OK;
}
