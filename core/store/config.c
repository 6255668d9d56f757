/* The accounts file (format in docs/config.md).
 *
 * The grammar is kept deliberately small: whole-line comments only, no
 * quoting, no escapes, no continuation lines. A value is everything after the
 * first '=' with the blanks at both ends removed, so '#' and '=' inside a
 * command or a path need no escaping. */
#include "store/config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/i18n.h"

enum key {
	K_ADDRESS, K_LOGIN, K_IMAP, K_POP3, K_SMTP,
	K_PASSWORD_COMMAND, K_PASSWORD_FILE, K_CA_FILE,
	K_COUNT
};

static const char *const key_names[K_COUNT] = {
	"address", "login", "imap", "pop3", "smtp",
	"password_command", "password_file", "ca_file",
};

#define KNOWN_KEYS "address, login, imap, pop3, smtp, password_command, password_file, ca_file"

struct parser {
	char file[128];            /* printable copy of the file name */
	int line;
	struct ma_config cfg;
	size_t cap;
	int key_line[K_COUNT];     /* where the current account set each key; 0 = not yet */
	struct ma_error *err;
};

/* A printable copy of user text for a message: control bytes and non-ASCII
 * become '?', so nothing in a config file can drive the terminal. */
static const char *printable(const char *s, size_t n, char *buf, size_t size)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 4 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (k < n && k + 4 <= size) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = '\0';
	return buf;
}

static ma_status failf(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static ma_status failf(struct parser *p, int line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ma_fail(p->err, MA_ERR_ARGUMENT, "%s:%d: %s", p->file, line, msg);
}

static ma_status fail_nomem(struct parser *p)
{
	return ma_fail(p->err, MA_ERR_NOMEM, "%s:%d: out of memory", p->file, p->line);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank((*s)[0]))
		(*s)++, (*n)--;
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static struct ma_config_account *current(struct parser *p)
{
	return p->cfg.n ? &p->cfg.accounts[p->cfg.n - 1] : NULL;
}

static ma_status section(struct parser *p, const char *s, size_t n)
{
	char q[80];
	if (s[n - 1] != ']') {
		const char *close = memchr(s, ']', n);
		if (close) {
			const char *rest = close + 1;
			size_t rest_len = n - (size_t)(rest - s);
			trim(&rest, &rest_len);
			if (rest_len && rest[0] == '#')
				return failf(p, p->line, _("a comment must be on a line of its own, "
					     "not after [account NAME]"));
		}
		return failf(p, p->line, _("a section line must look like [account NAME]"));
	}
	const char *in = s + 1;
	size_t in_len = n - 2;
	trim(&in, &in_len);
	if (in_len < 7 || memcmp(in, "account", 7) != 0 ||
	    (in_len > 7 && in[7] != ' ' && in[7] != '\t'))
		return failf(p, p->line, _("unknown section \"%s\"; write [account NAME]"),
			     printable(s, n, q, sizeof q));
	const char *name = in + 7;
	size_t name_len = in_len - 7;
	trim(&name, &name_len);
	if (name_len == 0)
		return failf(p, p->line, _("[account] needs a name, such as [account work]"));
	if (name_len >= sizeof p->cfg.accounts[0].acct.name)
		return failf(p, p->line, P_("the account name is longer than %zu characters",
				    "the account name is longer than %zu characters",
				    sizeof p->cfg.accounts[0].acct.name - 1),
			     sizeof p->cfg.accounts[0].acct.name - 1);
	for (size_t i = 0; i < name_len; i++)
		if (!is_name_char(name[i]))
			return failf(p, p->line, _("the account name \"%s\" may only contain "
				     "letters, digits, '-', '_' and '.'"),
				     printable(name, name_len, q, sizeof q));

	for (size_t i = 0; i < p->cfg.n; i++) {
		const struct ma_config_account *a = &p->cfg.accounts[i];
		if (strlen(a->acct.name) == name_len &&
		    strncasecmp(a->acct.name, name, name_len) == 0)
			return failf(p, p->line, _("account \"%s\" is already defined on line %d"),
				     a->acct.name, a->line);
	}
	if (p->cfg.n >= MA_CONFIG_MAX_ACCOUNTS)
		return failf(p, p->line, P_("more than %d accounts", "more than %d accounts", MA_CONFIG_MAX_ACCOUNTS),
			     MA_CONFIG_MAX_ACCOUNTS);

	if (p->cfg.n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		struct ma_config_account *na = realloc(p->cfg.accounts, cap * sizeof *na);
		if (!na)
			return fail_nomem(p);
		p->cfg.accounts = na;
		p->cap = cap;
	}
	struct ma_config_account *a = &p->cfg.accounts[p->cfg.n++];
	memset(a, 0, sizeof *a);
	memcpy(a->acct.name, name, name_len);
	a->line = p->line;
	memset(p->key_line, 0, sizeof p->key_line);
	return MA_OK;
}

static ma_status set_text(struct parser *p, enum key k, char *dst, size_t size,
			  const char *v, size_t n)
{
	if (n >= size)
		return failf(p, p->line, P_("\"%s\" is longer than %zu bytes", "\"%s\" is longer than %zu bytes", size - 1),
			     key_names[k], size - 1);
	memcpy(dst, v, n);
	dst[n] = '\0';
	return MA_OK;
}

static ma_status set_endpoint(struct parser *p, enum key k, enum ma_proto proto,
			      struct ma_endpoint *ep, bool *has, const char *v, size_t n)
{
	struct ma_error e = { .status = MA_OK };
	if (ma_endpoint_parse(v, n, proto, ep, &e) != MA_OK)
		return failf(p, p->line, "%s: %s", key_names[k],
			     e.detail[0] ? e.detail : _("not a valid server address"));
	*has = true;
	return MA_OK;
}

static ma_status set_string(struct parser *p, char **dst, const char *v, size_t n)
{
	*dst = strndup(v, n);
	return *dst ? MA_OK : fail_nomem(p);
}

/* A path: "~/..." is the home directory, as in a shell (the file is not
 * read by one). */
static ma_status set_path(struct parser *p, enum key k, char **dst, const char *v, size_t n)
{
	char *raw = strndup(v, n);
	if (!raw)
		return fail_nomem(p);
	struct ma_error e = { .status = MA_OK };
	ma_status st = ma_path_expand(raw, dst, &e);
	free(raw);
	if (st == MA_ERR_NOMEM)
		return fail_nomem(p);
	if (st != MA_OK)
		return failf(p, p->line, "%s: %s", key_names[k], e.detail);
	return MA_OK;
}

static ma_status assignment(struct parser *p, const char *s, size_t n)
{
	char q[80];
	const char *eq = memchr(s, '=', n);
	if (!eq)
		return failf(p, p->line, _("expected \"key = value\" or [account NAME]"));
	const char *key = s, *val = eq + 1;
	size_t key_len = (size_t)(eq - s), val_len = n - key_len - 1;
	trim(&key, &key_len);
	trim(&val, &val_len);
	if (key_len == 0)
		return failf(p, p->line, _("there is no key before '='"));

	enum key k = K_COUNT;
	for (int i = 0; i < K_COUNT; i++)
		if (strlen(key_names[i]) == key_len && memcmp(key_names[i], key, key_len) == 0)
			k = (enum key)i;
	if (k == K_COUNT) {
		/* The one mistake worth its own sentence: a password in the file. */
		if (key_len == 8 && strncasecmp(key, "password", 8) == 0)
			return failf(p, p->line, _("unknown key \"password\": passwords are not "
				     "kept in this file; use password_command or password_file"));
		return failf(p, p->line, _("unknown key \"%s\" (known: %s)"),
			     printable(key, key_len, q, sizeof q), KNOWN_KEYS);
	}

	struct ma_config_account *a = current(p);
	if (!a)
		return failf(p, p->line, _("\"%s\" before any [account NAME] line"), key_names[k]);
	if (p->key_line[k])
		return failf(p, p->line, _("\"%s\" is already set for account \"%s\" on line %d"),
			     key_names[k], a->acct.name, p->key_line[k]);
	if (val_len == 0)
		return failf(p, p->line, _("\"%s\" has no value"), key_names[k]);
	for (size_t i = 0; i < val_len; i++) {
		unsigned char c = (unsigned char)val[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return failf(p, p->line, _("the value of \"%s\" contains a control character"),
				     key_names[k]);
	}
	if (k == K_PASSWORD_COMMAND && p->key_line[K_PASSWORD_FILE])
		return failf(p, p->line, _("account \"%s\" already has password_file on line %d; "
			     "keep only one of password_command and password_file"),
			     a->acct.name, p->key_line[K_PASSWORD_FILE]);
	if (k == K_PASSWORD_FILE && p->key_line[K_PASSWORD_COMMAND])
		return failf(p, p->line, _("account \"%s\" already has password_command on line %d; "
			     "keep only one of password_command and password_file"),
			     a->acct.name, p->key_line[K_PASSWORD_COMMAND]);

	ma_status st = MA_OK;
	struct ma_account *ac = &a->acct;
	switch (k) {
	case K_ADDRESS:
		if (!memchr(val, '@', val_len))
			return failf(p, p->line, _("address \"%s\" is not an e-mail address "
				     "(it has no '@')"), printable(val, val_len, q, sizeof q));
		st = set_text(p, k, ac->address, sizeof ac->address, val, val_len);
		break;
	case K_LOGIN:
		st = set_text(p, k, ac->login, sizeof ac->login, val, val_len);
		break;
	case K_IMAP:
		st = set_endpoint(p, k, MA_PROTO_IMAP, &ac->imap, &ac->has_imap, val, val_len);
		break;
	case K_POP3:
		st = set_endpoint(p, k, MA_PROTO_POP3, &ac->pop3, &ac->has_pop3, val, val_len);
		break;
	case K_SMTP:
		st = set_endpoint(p, k, MA_PROTO_SMTP, &ac->smtp, &ac->has_smtp, val, val_len);
		break;
	case K_PASSWORD_COMMAND:
		st = set_string(p, &a->password_command, val, val_len);
		break;
	case K_PASSWORD_FILE:
		st = set_path(p, k, &a->password_file, val, val_len);
		break;
	case K_CA_FILE:
		st = set_path(p, k, &a->ca_file, val, val_len);
		break;
	case K_COUNT:
		break;
	}
	if (st == MA_OK)
		p->key_line[k] = p->line;
	return st;
}

static ma_status one_line(struct parser *p, const char *s, size_t n)
{
	if (n && s[n - 1] == '\r')
		n--;
	if (n > MA_CONFIG_MAX_LINE)
		return failf(p, p->line, P_("the line is longer than %d bytes", "the line is longer than %d bytes", MA_CONFIG_MAX_LINE),
			     MA_CONFIG_MAX_LINE);
	if (memchr(s, '\0', n))
		return failf(p, p->line, _("the line contains a NUL byte (is this a text file?)"));
	trim(&s, &n);
	if (n == 0 || s[0] == '#')
		return MA_OK;
	if (s[0] == '[')
		return section(p, s, n);
	return assignment(p, s, n);
}

/* What a finished account still lacks; reported at its section line. */
static ma_status check_account(struct parser *p, struct ma_config_account *a)
{
	struct ma_account *ac = &a->acct;
	if (!ac->has_imap && !ac->has_pop3)
		return failf(p, a->line, _("account \"%s\" has neither imap nor pop3; "
			     "add at least one of them"), ac->name);
	if (!ac->login[0] && !ac->address[0])
		return failf(p, a->line, _("account \"%s\" has neither login nor address; "
			     "add at least one of them"), ac->name);
	if (!ac->login[0])
		memcpy(ac->login, ac->address, sizeof ac->login);
	return MA_OK;
}

void ma_config_free(struct ma_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->accounts[i].password_command);
		free(cfg->accounts[i].password_file);
		free(cfg->accounts[i].ca_file);
	}
	free(cfg->accounts);
	cfg->accounts = NULL;
	cfg->n = 0;
}

ma_status ma_config_parse(const char *buf, size_t len, const char *filename,
			  struct ma_config *cfg, struct ma_error *err)
{
	struct parser p = { .err = err };
	const char *name = filename && filename[0] ? filename : "config";
	printable(name, strlen(name), p.file, sizeof p.file);
	cfg->accounts = NULL;
	cfg->n = 0;
	if (!buf)
		len = 0;

	size_t pos = 0;
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	ma_status st = MA_OK;
	while (st == MA_OK && pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		p.line++;
		st = one_line(&p, buf + pos, end - pos);
		pos = end + 1;
	}
	for (size_t i = 0; st == MA_OK && i < p.cfg.n; i++)
		st = check_account(&p, &p.cfg.accounts[i]);
	if (st != MA_OK) {
		ma_config_free(&p.cfg);
		return st;
	}
	*cfg = p.cfg;
	return MA_OK;
}

void ma_config_default_path(char *buf, size_t len)
{
	if (!buf || len == 0)
		return;
	buf[0] = '\0';
	/* The XDG spec says to ignore a relative XDG_CONFIG_HOME. */
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/mailaudit/config", xdg);
	else if (home && home[0])
		n = snprintf(buf, len, "%s/.config/mailaudit/config", home);
	else
		return;
	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';   /* a cut-off path would name some other file */
}

ma_status ma_path_expand(const char *path, char **out, struct ma_error *err)
{
	*out = NULL;
	if (path[0] != '~') {
		*out = strdup(path);
		return *out ? MA_OK : ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	const char *rest = strchr(path, '/');
	size_t ulen = rest ? (size_t)(rest - path - 1) : strlen(path + 1);
	if (!rest)
		rest = "";
	char user[256], shown[80];
	if (ulen >= sizeof user)
		return ma_fail(err, MA_ERR_ARGUMENT, _("the user name after '~' is too long"));
	memcpy(user, path + 1, ulen);
	user[ulen] = '\0';
	printable(user, ulen, shown, sizeof shown);

	const char *home = NULL;
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	if (ulen == 0) {
		home = getenv("HOME");
		if ((!home || !home[0]) && getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &res) == 0 && res)
			home = res->pw_dir;
		if (!home || !home[0])
			return ma_fail(err, MA_ERR_ARGUMENT, _("'~' stands for the home directory, but HOME "
				       "is not set and this user has none; write the full path"));
	} else {
		if (getpwnam_r(user, &pw, pwbuf, sizeof pwbuf, &res) != 0 || !res || !res->pw_dir[0])
			return ma_fail(err, MA_ERR_ARGUMENT, _("\"~%s\": there is no user \"%s\" with a "
				       "home directory; write the full path"), shown, shown);
		home = res->pw_dir;
	}
	/* "/" as the home directory and "~/x" make "/x", not "//x". */
	size_t hl = strlen(home);
	if (hl > 1 && home[hl - 1] == '/' && rest[0] == '/')
		hl--;
	if (hl == 1 && rest[0] == '/')
		hl = 0;
	size_t rl = strlen(rest);
	char *p = malloc(hl + rl + 1);
	if (!p)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	memcpy(p, home, hl);
	memcpy(p + hl, rest, rl + 1);
	*out = p;
	return MA_OK;
}

/* Reads up to MA_CONFIG_MAX_FILE + 1 bytes so an oversized file is noticed
 * without trusting st_size (pipes and /proc files report 0). */
static ma_status read_all(int fd, const char *shown, char **out, size_t *out_len,
			  struct ma_error *err)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	for (;;) {
		if (len == cap) {
			if (cap > MA_CONFIG_MAX_FILE)
				break;
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return ma_fail(err, MA_ERR_NOMEM, NULL);
			}
			buf = nb;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return ma_fail(err, MA_ERR_IO, _("cannot read the config file \"%s\": %s"),
				       shown, strerror(e));
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > MA_CONFIG_MAX_FILE) {
		free(buf);
		return ma_fail(err, MA_ERR_ARGUMENT, _("the config file \"%s\" is larger than "
			       "1 MiB; this is not an accounts file"), shown);
	}
	*out = buf;
	*out_len = len;
	return MA_OK;
}

ma_status ma_config_load(const char *path, struct ma_config *cfg, struct ma_error *err)
{
	char def[4096], shown[256];
	cfg->accounts = NULL;
	cfg->n = 0;
	bool explicit = path != NULL;
	if (!path) {
		ma_config_default_path(def, sizeof def);
		if (!def[0])
			return MA_OK;
		path = def;
	}
	printable(path, strlen(path), shown, sizeof shown);

	/* O_NONBLOCK: opening a FIFO would otherwise wait for a writer for ever,
	 * before fstat could tell what the path is. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (!explicit && e == ENOENT)
			return MA_OK;
		return ma_fail(err, MA_ERR_IO, _("cannot open the config file \"%s\": %s"),
			       shown, strerror(e));
	}
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		close(fd);
		return ma_fail(err, MA_ERR_IO, _("the config file \"%s\" is a directory"), shown);
	}
	if (fstat(fd, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode))) {
		close(fd);
		return ma_fail(err, MA_ERR_IO, _("the config file \"%s\" is not a regular file but a %s"),
			       shown, S_ISFIFO(sb.st_mode) ? _("named pipe (FIFO)") : _("socket"));
	}
	/* A regular file or a device such as /dev/null (no accounts) is read
	 * as usual, blocking. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	char *buf = NULL;
	size_t len = 0;
	ma_status st = read_all(fd, shown, &buf, &len, err);
	close(fd);
	if (st != MA_OK)
		return st;
	st = ma_config_parse(buf, len, path, cfg, err);
	free(buf);
	return st;
}

const struct ma_config_account *ma_config_find(const struct ma_config *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->n; i++)
		if (strcasecmp(cfg->accounts[i].acct.name, name) == 0)
			return &cfg->accounts[i];
	return NULL;
}
