/* The start screen: accounts from the accounts file, and a form for a
 * mailbox that is not in it. Typing the address fills the login and the
 * server names until the user edits those fields: at first the usual
 * imap.DOMAIN (a guess, said to be one), then, once the user pauses or
 * leaves the address, what the domain's DNS says (suggest.c): its RFC 6186
 * SRV records, else the provider its MX records point to
 * (data/providers.rules). A provider's name that holds the customer's own
 * number is never filled in with an invented one: the field stays empty,
 * showing the name with X and where the number is found. */
#include <curses.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/text.h"
#include "credentials.h"
#include "store/rules.h"
#include "tui_int.h"

static const char *const field_label[F_COUNT] = {
	N_("E-mail address:"), N_("Login:"), N_("IMAP server:"), N_("POP3 server:"), N_("Password:"),
};

void start_init(struct ui *ui)
{
	struct ma_error err;
	if (ma_config_load(ui->args->config, &ui->cfg, &err) != MA_OK) {
		char buf[700];
		ma_error_format(&err, buf, sizeof buf);
		ui_set_status(ui, true, "%s", buf);
	}
	ui->form.focus = (int)ui->cfg.n + F_ADDR;
	if (ui->cfg.n)
		ui->form.focus = 0;
	/* Without the rules the form cannot flag a name; the audit's findings
	 * then say why (rules-missing). */
	if (ma_rules_load(&ui->rules, &err) != MA_OK)
		ma_rules_free(&ui->rules);
}

static void endpoint_text(char *out, size_t n, const struct ma_endpoint *ep, bool has)
{
	if (!has)
		*out = '\0';
	else
		snprintf(out, n, "%.200s:%u/%s", ep->host, ep->port, ma_security_name(ep->security));
}

void start_prefill(struct ui *ui, const struct ma_account *a, bool focus_password)
{
	struct form *f = &ui->form;
	snprintf(f->field[F_ADDR], sizeof f->field[F_ADDR], "%s", a->address[0] ? a->address : a->login);
	snprintf(f->field[F_LOGIN], sizeof f->field[F_LOGIN], "%s", a->login);
	endpoint_text(f->field[F_IMAP], sizeof f->field[F_IMAP], &a->imap, a->has_imap);
	endpoint_text(f->field[F_POP3], sizeof f->field[F_POP3], &a->pop3, a->has_pop3);
	OPENSSL_cleanse(f->field[F_PASS], sizeof f->field[F_PASS]);
	for (int i = 0; i < F_COUNT; i++)
		f->edited[i] = true;
	if (focus_password)
		f->focus = (int)ui->cfg.n + F_PASS;
}

/* The provider's name for field fi, "" without one. */
static const char *provider_name(const struct form *f, int fi)
{
	if (!f->prov)
		return "";
	return fi == F_IMAP ? f->prov->imap : f->prov->pop3;
}

/* POP3 on the IMAP field's server, unless the user typed a POP3 server:
 * the provider's advice (both go through wesX.imap.wedos.net), and the
 * connection doctor's rule too. It is the provider's own name when it
 * matches the provider's POP3 name; without a name, the provider's hint. */
static void pop3_follows_imap(struct form *f)
{
	if (f->edited[F_POP3] || f->src[F_POP3] == SRC_DNS)
		return;
	const char *t = f->field[F_IMAP];
	size_t n = strcspn(t, "/");
	/* The host without an IMAP port ("host:993", "[::1]:993"). */
	const char *colon = memchr(t, ':', n);
	if (colon && !strchr(colon + 1, ':') && t[0] != '[')
		n = (size_t)(colon - t);
	else if (t[0] == '[' && memchr(t, ']', n))
		n = (size_t)((const char *)memchr(t, ']', n) - t) + 1;
	snprintf(f->field[F_POP3], sizeof f->field[F_POP3], "%.*s", (int)n, t);
	const char *pat = provider_name(f, F_POP3);
	if (!f->field[F_POP3][0])
		f->src[F_POP3] = pat[0] && ma_provider_has_number(pat) ? SRC_PATTERN : SRC_NONE;
	else if (pat[0] && ma_glob_match(pat, f->field[F_POP3]))
		f->src[F_POP3] = SRC_PROVIDER;
	else
		f->src[F_POP3] = SRC_GUESS;
}

/* The domain of the address, "" without one. */
static const char *address_domain(const struct form *f)
{
	const char *at = strrchr(f->field[F_ADDR], '@');
	return at && at[1] ? at + 1 : "";
}

/* A new domain: what was known of the old one goes, the usual names stand
 * in as a guess, and a lookup is due once the user pauses. */
static void new_domain(struct ui *ui, const char *domain)
{
	struct form *f = &ui->form;
	suggest_stop(ui);
	snprintf(f->domain, sizeof f->domain, "%s", domain);
	f->prov = NULL;
	f->looked = f->dns_silent = false;
	memset(f->hint, 0, sizeof f->hint);
	/* A name with a dot is worth asking about; "a@b" is not yet. */
	f->lookup_due_ms = strchr(domain, '.') ? ma_now_ms() + SUGGEST_PAUSE_MS : 0;
	if (!f->edited[F_IMAP]) {
		if (domain[0])
			snprintf(f->field[F_IMAP], sizeof f->field[F_IMAP], "imap.%.240s", domain);
		else
			f->field[F_IMAP][0] = '\0';
		f->src[F_IMAP] = domain[0] ? SRC_GUESS : SRC_NONE;
	}
	if (!f->edited[F_POP3])
		f->src[F_POP3] = SRC_GUESS;
	pop3_follows_imap(f);
}

/* Follows the address into the fields the user has not typed into. */
static void prefill_from_address(struct ui *ui)
{
	struct form *f = &ui->form;
	if (!f->edited[F_LOGIN])
		snprintf(f->field[F_LOGIN], sizeof f->field[F_LOGIN], "%s", f->field[F_ADDR]);
	const char *domain = address_domain(f);
	if (strcasecmp(domain, f->domain) != 0)
		new_domain(ui, domain);
}

/* A server from what the lookup found into field fi, unless typed in. */
static void suggest_field(struct form *f, int fi, bool said, const char *srv)
{
	if (f->edited[fi])
		return;
	char *t = f->field[fi];
	if (said) {
		/* The domain's own word; "" when it says "not offered". */
		snprintf(t, sizeof f->field[fi], "%s", srv);
		f->src[fi] = SRC_DNS;
		return;
	}
	const char *pat = provider_name(f, fi);
	if (!pat[0])
		return;  /* nothing known: the guess stands */
	if (ma_provider_has_number(pat)) {
		t[0] = '\0';
		ma_provider_shown(f->hint[fi], sizeof f->hint[fi], pat);
		f->src[fi] = SRC_PATTERN;
	} else {
		snprintf(t, sizeof f->field[fi], "%s", pat);
		f->src[fi] = SRC_PROVIDER;
	}
}

void start_suggest(struct ui *ui, const struct suggest_found *s)
{
	struct form *f = &ui->form;
	if (strcasecmp(s->domain, f->domain) != 0)
		return;  /* the address changed meanwhile */
	f->looked = true;
	f->dns_silent = s->silent;
	f->prov = NULL;
	for (size_t i = 0; i < s->n_mx && !f->prov; i++)
		f->prov = ma_rules_provider(&ui->rules, s->mx[i]);
	suggest_field(f, F_IMAP, s->imap_srv, s->imap);
	suggest_field(f, F_POP3, s->pop3_srv, s->pop3);
	/* No word on POP3: on the IMAP server, as before (a guess). */
	if (!f->edited[F_POP3] && f->src[F_POP3] == SRC_GUESS)
		pop3_follows_imap(f);
}

int start_wait_ms(const struct ui *ui, int wait)
{
	int64_t due = ui->form.lookup_due_ms;
	if (!due || ui->screen != SCR_START)
		return wait;
	int64_t left = due - ma_now_ms();
	return left <= 0 ? 0 : left < wait ? (int)left : wait;
}

/* Starts the due lookup. */
static int lookup_now(struct ui *ui)
{
	struct form *f = &ui->form;
	f->lookup_due_ms = 0;
	if (!f->domain[0] || f->looked || f->looking)
		return R_NONE;
	/* Nothing left to suggest when every server field was typed in. */
	if (f->edited[F_IMAP] && f->edited[F_POP3])
		return R_NONE;
	suggest_start(ui, f->domain);
	return R_DRAW;
}

int start_tick(struct ui *ui)
{
	int64_t due = ui->form.lookup_due_ms;
	if (!due || ui->screen != SCR_START || ma_now_ms() < due)
		return R_NONE;
	return lookup_now(ui);
}

static int go(struct ui *ui)
{
	struct form *f = &ui->form;
	struct ma_account a;
	struct ma_error err;
	memset(&a, 0, sizeof a);
	const struct ma_config_account *ca = f->chosen;
	if (ca)
		snprintf(a.name, sizeof a.name, "%s", ca->acct.name);
	snprintf(a.address, sizeof a.address, "%s", f->field[F_ADDR]);
	snprintf(a.login, sizeof a.login, "%s", f->field[F_LOGIN][0] ? f->field[F_LOGIN] : f->field[F_ADDR]);
	if (!a.login[0]) {
		ui_set_status(ui, true, _("Type the e-mail address first."));
		return R_DRAW;
	}
	static const struct { int field; enum ma_proto proto; const char *what; } eps[] = {
		{ F_IMAP, MA_PROTO_IMAP, N_("IMAP server") }, { F_POP3, MA_PROTO_POP3, N_("POP3 server") },
	};
	for (size_t i = 0; i < 2; i++) {
		const char *t = f->field[eps[i].field];
		if (!t[0])
			continue;
		struct ma_endpoint *ep = eps[i].proto == MA_PROTO_IMAP ? &a.imap : &a.pop3;
		if (ma_endpoint_parse(t, strlen(t), eps[i].proto, ep, &err) != MA_OK) {
			char buf[700];
			ma_error_format(&err, buf, sizeof buf);
			ui_set_status(ui, true, "%s: %s", _(eps[i].what), buf);
			return R_DRAW;
		}
		*(eps[i].proto == MA_PROTO_IMAP ? &a.has_imap : &a.has_pop3) = true;
	}
	if (!a.has_imap && !a.has_pop3) {
		ui_set_status(ui, true, _("Give an IMAP or a POP3 server."));
		return R_DRAW;
	}
	const char *pwcmd = NULL, *pwfile = NULL;
	char *pw = NULL;
	if (f->field[F_PASS][0]) {
		pw = strdup(f->field[F_PASS]);
		OPENSSL_cleanse(f->field[F_PASS], sizeof f->field[F_PASS]);
		if (!pw) {
			ui_set_status(ui, true, _("out of memory"));
			return R_DRAW;
		}
	} else {
		pwcmd = ca ? ca->password_command : ui->args->pwcmd;
		pwfile = ca ? ca->password_file : ui->args->pwfile;
		if (!pwcmd && !pwfile) {
			ui->form.focus = (int)ui->cfg.n + F_PASS;
			ui_set_status(ui, true, _("Type the password."));
			return R_DRAW;
		}
	}
	const char *ca_file = ca && ca->ca_file ? ca->ca_file : ui->args->ca_file;
	suggest_stop(ui);
	ui->form.lookup_due_ms = 0;
	return ui_start_audit(ui, &a, pw, pwcmd, pwfile, ca_file);
}

static void choose(struct ui *ui, size_t i)
{
	const struct ma_config_account *ca = &ui->cfg.accounts[i];
	ui->form.chosen = ca;
	start_prefill(ui, &ca->acct, false);
}

/* A key typed into form field fi: edits it, or R_NONE when the key is no
 * edit (then it is a request, as everywhere). */
static int field_key(struct ui *ui, int fi, int key)
{
	struct form *f = &ui->form;
	char *t = f->field[fi];
	size_t len = strlen(t);
	bool erase = key == KC(KEY_BACKSPACE) || key == 127 || key == 8;
	bool typed = key >= 0x20 && key != 0x7f && !(key & MA_KEYCODE);
	if (!erase && !typed && key != CTRL_('u'))
		return R_NONE;
	/* A changed mailbox must not inherit the chosen account's password
	 * source or CA: that would send one account's password to another
	 * server. */
	if (fi != F_PASS)
		f->chosen = NULL;
	f->edited[fi] = true;
	if (key == CTRL_('u')) {
		OPENSSL_cleanse(t, sizeof f->field[0]);
		return R_DRAW;
	}
	if (erase) {
		/* Back over a whole UTF-8 character. */
		size_t keep = ma_utf8_back(t, len);
		memset(t + keep, 0, len - keep);
	} else {
		char mb[4];
		size_t n = ma_utf8_encode((uint32_t)key, mb);
		if (len + n < sizeof f->field[0]) {
			memcpy(t + len, mb, n);
			t[len + n] = '\0';
		}
		ui->status[0] = '\0';
	}
	if (fi == F_ADDR)
		prefill_from_address(ui);
	else if (fi == F_IMAP)
		pop3_follows_imap(f);
	return R_DRAW;
}

int start_key(struct ui *ui, int key, enum ma_request req)
{
	struct form *f = &ui->form;
	int nacc = (int)ui->cfg.n, last = nacc + F_COUNT - 1;
	bool in_field = f->focus >= nacc;
	if (in_field) {
		int react = field_key(ui, f->focus - nacc, key);
		if (react != R_NONE)
			return react;
	}
	/* Leaving the address: its domain is looked up now, no pause. */
	int react = R_NONE;
	if (f->focus == nacc + F_ADDR && f->lookup_due_ms
	    && (req == REQ_NEXT || req == REQ_DOWN || req == REQ_PREV || req == REQ_UP || req == REQ_HOME
		|| req == REQ_PGUP || req == REQ_END || req == REQ_PGDN))
		react = lookup_now(ui);
	switch (req) {
	case REQ_NEXT:
	case REQ_DOWN:
		f->focus = f->focus >= last ? 0 : f->focus + 1;
		return R_DRAW | react;
	case REQ_PREV:
	case REQ_UP:
		f->focus = f->focus <= 0 ? last : f->focus - 1;
		return R_DRAW | react;
	case REQ_HOME:
	case REQ_PGUP:
		f->focus = 0;
		return R_DRAW | react;
	case REQ_END:
	case REQ_PGDN:
		f->focus = last;
		return R_DRAW | react;
	case REQ_ENTER:
		if (!in_field) {
			choose(ui, (size_t)f->focus);
			if (!f->chosen->password_command && !f->chosen->password_file) {
				f->focus = nacc + F_PASS;
				ui_set_status(ui, false, _("Type the password for %s, then Enter."),
					      f->chosen->acct.login);
				return R_DRAW;
			}
		}
		return go(ui);
	case REQ_BACK:
		if (ui->result) {
			ui->screen = SCR_RESULTS;
			return R_DRAW | R_REBUILD;
		}
		return R_QUIT;
	case REQ_QUIT:
		return R_QUIT; /* only reached on the account list */
	default:
		return R_NONE;
	}
}

/* The rule a server field's name matches (an obsolete name), with the
 * name in host; NULL for none, an empty field or one not yet parseable. */
static const struct ma_rule *obsolete(const struct ui *ui, int fi, char *host, size_t n)
{
	const char *t = ui->form.field[fi];
	struct ma_endpoint ep;
	if (!t[0] || ma_endpoint_parse(t, strlen(t), fi == F_IMAP ? MA_PROTO_IMAP : MA_PROTO_POP3, &ep,
				       NULL) != MA_OK)
		return NULL;
	const struct ma_rule *r = ma_rules_match(&ui->rules, ep.host);
	if (r)
		snprintf(host, n, "%s", ep.host);
	return r;
}

/* Under the form, from line y: each obsolete server name typed, as the
 * name alone says it (online or not), before any audit. */
static void draw_obsolete(struct ui *ui, int y)
{
	char seen[256] = "";
	for (int fi = F_IMAP; fi <= F_POP3; fi++) {
		char host[256], line[600];
		const struct ma_rule *r = obsolete(ui, fi, host, sizeof host);
		if (!r || strcasecmp(host, seen) == 0 || y + 1 >= ui->rows - 1)
			continue;
		snprintf(seen, sizeof seen, "%s", host);
		attron(ui_attr(ui, ATTR_WARN));
		snprintf(line, sizeof line, _("%s is an obsolete server name: it may shut down without "
			 "warning."), host);
		text_put(y++, 2, ui->cols - 2, line);
		attroff(ui_attr(ui, ATTR_WARN));
		snprintf(line, sizeof line, _("Current names look like: %s"), r->hint);
		text_put(y++, 2, ui->cols - 2, line);
	}
}

/* text word-wrapped from line *y (indent 2), as far as the screen goes. */
static void note(struct ui *ui, int *y, int attr, const char *text)
{
	struct lines L = { 0 };
	lines_wrap(&L, attr, -1, 2, ui->cols - 1, text);
	for (size_t i = 0; i < L.n && *y < ui->rows - 1; i++, (*y)++) {
		attron(ui_attr(ui, attr));
		text_put(*y, 0, ui->cols, L.v[i].text);
		attroff(ui_attr(ui, attr));
	}
	lines_clear(&L);
	free(L.v);
}

/* Whether a server field not typed in holds a value from src. */
static bool from(const struct form *f, enum field_src src)
{
	for (int fi = F_IMAP; fi <= F_POP3; fi++)
		if (!f->edited[fi] && f->src[fi] == src && (f->field[fi][0] || src == SRC_PATTERN))
			return true;
	return false;
}

/* Under the form, from line y: where the server names came from. The
 * usual names before the domain are no knowledge: the form says so while
 * they stand. Returns the next free line. */
static int draw_sources(struct ui *ui, int y)
{
	const struct form *f = &ui->form;
	char line[800];
	if (f->looking) {
		snprintf(line, sizeof line, _("Looking up the mail servers of %s..."), f->domain);
		note(ui, &y, ATTR_INFO, line);
	}
	if (from(f, SRC_DNS))
		note(ui, &y, ATTR_OK, _("Server names from your domain's DNS (RFC 6186)."));
	/* A published "." target: the domain says the service is not offered. */
	for (int fi = F_IMAP; fi <= F_POP3; fi++)
		if (!f->edited[fi] && f->src[fi] == SRC_DNS && !f->field[fi][0]) {
			snprintf(line, sizeof line, _("Your domain's DNS says it offers no %s server."),
				 fi == F_IMAP ? "IMAP" : "POP3");
			note(ui, &y, ATTR_INFO, line);
		}
	if (f->prov && (from(f, SRC_PROVIDER) || from(f, SRC_PATTERN))) {
		snprintf(line, sizeof line, _("The mail of %s goes to %s (its MX records say so)."), f->domain,
			 f->prov->name);
		note(ui, &y, ATTR_OK, line);
	}
	if (from(f, SRC_PATTERN)) {
		int fi = !f->edited[F_IMAP] && f->src[F_IMAP] == SRC_PATTERN ? F_IMAP : F_POP3;
		snprintf(line, sizeof line, _("Its servers are named like %s: X is a number of your own, "
			 "not guessed here. Type the name with your number."), f->hint[fi]);
		note(ui, &y, ATTR_WARN, line);
		if (f->prov->where[0]) {
			snprintf(line, sizeof line, _("Where to find it: %s"), f->prov->where);
			note(ui, &y, ATTR_NONE, line);
		}
	}
	if (from(f, SRC_GUESS)) {
		if (f->looked && f->dns_silent) {
			snprintf(line, sizeof line, _("No DNS answer in time for %s."), f->domain);
			note(ui, &y, ATTR_INFO, line);
		}
		note(ui, &y, ATTR_WARN, _("Server names guessed from the address: check them in your "
			 "provider's settings."));
	}
	return y;
}

void start_draw(struct ui *ui)
{
	struct form *f = &ui->form;
	int nacc = (int)ui->cfg.n, y = 2, w = ui->cols;
	attron(A_BOLD);
	text_put(0, 0, w, _("mailaudit - is the mail in this mailbox safe?"));
	attroff(A_BOLD);
	if (nacc) {
		text_put(y++, 0, w, _("Accounts (Enter audits one):"));
		/* Show a window of the list around the focus. */
		int room = ui->rows - 12 - 2;
		if (room < 1)
			room = 1;
		int first = f->focus < nacc && f->focus >= room ? f->focus - room + 1 : 0;
		for (int i = first; i < nacc && i < first + room; i++) {
			const struct ma_account *a = &ui->cfg.accounts[i].acct;
			char line[700];
			snprintf(line, sizeof line, "%c %-12s %s  %s", i == f->focus ? '>' : ' ', a->name,
				 a->login, a->has_imap ? a->imap.host : a->pop3.host);
			if (i == f->focus)
				attron(A_REVERSE);
			text_put(y++, 2, w - 2, line);
			if (i == f->focus)
				attroff(A_REVERSE);
		}
		y++;
	}
	text_put(y++, 0, w, nacc ? _("Or a mailbox not in the list:") : _("Which mailbox?"));
	int lw = 16, fw = w - lw - 4;
	if (fw > 50)
		fw = 50;
	int cur_y = -1, cur_x = 0;
	for (int i = 0; i < F_COUNT; i++, y++) {
		bool focus = f->focus == nacc + i;
		text_put(y, 2, lw, _(field_label[i]));
		char shown[256];
		if (i == F_PASS) {
			/* One '*' per character, never the characters. */
			size_t n = 0;
			for (const char *p = f->field[i]; *p && n < sizeof shown - 1; p++)
				if (((unsigned char)*p & 0xc0) != 0x80)
					shown[n++] = '*';
			shown[n] = '\0';
		} else {
			snprintf(shown, sizeof shown, "%s", f->field[i]);
		}
		/* Long values scroll so the end, where typing happens, shows. */
		const char *vis = shown;
		while (text_cols(vis) > fw - 1)
			vis++;
		move(y, 2 + lw);
		attron(focus ? A_REVERSE : A_UNDERLINE);
		for (int c = 0; c < fw; c++)
			addch(' ');
		int used = text_put(y, 2 + lw, fw, vis);
		/* The provider's name with X, where the user types the real one. */
		if (!f->field[i][0] && !f->edited[i] && f->src[i] == SRC_PATTERN) {
			attron(ui_attr(ui, ATTR_UNKNOWN));
			text_put(y, 2 + lw, fw, f->hint[i]);
			attroff(ui_attr(ui, ATTR_UNKNOWN));
		}
		attroff(focus ? A_REVERSE : A_UNDERLINE);
		if (focus)
			cur_y = y, cur_x = 2 + lw + used;
	}
	y++;
	if (y < ui->rows - 1) {
		char hint[200];
		key_hint(HINT_START, hint, sizeof hint);
		text_put(y, 2, w - 2, hint);
	}
	if (y + 1 < ui->rows - 1)
		text_put(y + 1, 2, w - 2, _("An empty POP3 server skips POP3."));
	y = draw_sources(ui, y + 2);
	draw_obsolete(ui, y);
	ui->cur_y = cur_y, ui->cur_x = cur_x;
}
