/* The doctor's result as plain text (see probe.h): a header line, the
 * matrix (one block per cell) and the findings, at most 78 columns, built
 * and wrapped with the text module. */
#include "doctor/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "base/text.h"

#define WIDTH 78

/* Appends text wrapped to WIDTH: its first row indented by first, every
 * other row (of its first line, and of each line after a '\n') by rest.
 * The doctor's lines are words, not table columns: runs of spaces count
 * as one. An empty line keeps its indent, as the doctor always wrote it. */
static void put_wrapped(struct ma_buf *b, size_t first, size_t rest, const char *text)
{
	size_t len = strlen(text);
	char *line = malloc(len + 1);
	if (!line) {
		b->oom = true;
		return;
	}
	const char *p = text;
	for (size_t indent = first;; indent = rest) {
		size_t n = 0;
		for (; *p && *p != '\n'; p++)
			if (*p != ' ' || n == 0 || line[n - 1] != ' ')
				line[n++] = *p;
		if (n == 0 || (n == 1 && line[0] == ' '))
			ma_buf_printf(b, "%*s\n", (int)indent, "");
		else
			ma_buf_wrap(b, line, n, WIDTH, indent, rest);
		if (!*p++)
			break;
	}
	free(line);
}

static void cell_summary(const struct ma_probe_cell *c, char *buf, size_t len)
{
	if (c->status == MA_OK) {
		snprintf(buf, len, _("ok: %s, certificate valid%s"), c->cert.tls_version,
			 c->login_ok ? _(", login accepted") : c->login_tried ? "" : _(", no login tried"));
	} else if (c->login_tried && !c->login_ok) {
		/* The sentence, not the status's code name: "login failed:
		 * login" told a mailbox owner nothing. */
		snprintf(buf, len, _("connects, certificate valid; login failed: %s%s%s%s"),
			 ma_status_message(c->login_status), c->err.detail[0] ? " (" : "", c->err.detail,
			 c->err.detail[0] ? ")" : "");
		size_t used = strlen(buf);
		if (c->alt_login_ok && used < len)
			snprintf(buf + used, len - used, "%s", _("; the full address works instead"));
	} else {
		snprintf(buf, len, "%s: %s", ma_status_name(c->status), c->err.detail);
	}
}

/* "dns: -> alias -> target = 192.0.2.1, 2001:db8::1" */
static void put_dns(struct ma_buf *b, const struct ma_probe_cell *c)
{
	if (!c->dns_ok || (!c->dns.n_chain && !c->dns.n_addrs))
		return;
	struct ma_buf d = { 0 };
	ma_buf_printf(&d, "dns:");
	for (size_t k = 0; k < c->dns.n_chain; k++)
		ma_buf_printf(&d, " -> %s", c->dns.chain[k]);
	for (size_t k = 0; k < c->dns.n_addrs; k++)
		ma_buf_printf(&d, "%s%s", k ? ", " : " = ", c->dns.addrs[k]);
	char *text = ma_buf_take(&d);
	if (text)
		put_wrapped(b, 6, 6, text);
	free(text);
}

static void put_cell(struct ma_buf *b, const struct ma_probe_cell *c)
{
	char line[1024];
	snprintf(line, sizeof line, "%-4s %5u %-8s %s (%s) %.1f s", ma_proto_name(c->proto), c->ep.port,
		 ma_security_short(c->ep.security), c->ep.host[0] ? c->ep.host : "?", c->how_found,
		 (double)c->elapsed_ms / 1000.0);
	put_wrapped(b, 0, 6, line);
	put_dns(b, c);
	cell_summary(c, line, sizeof line);
	put_wrapped(b, 6, 6, line);
	if (c->caps[0]) {
		snprintf(line, sizeof line, _("caps: %s"), c->caps);
		put_wrapped(b, 6, 6, line);
	}
}

static void put_finding(struct ma_buf *b, const struct ma_finding *f)
{
	char line[1024];
	snprintf(line, sizeof line, "[%s] %s: %s", ma_severity_label(f->severity), f->code, f->title);
	put_wrapped(b, 0, 4, line);
	if (f->evidence && f->evidence[0])
		put_wrapped(b, 4, 4, f->evidence);
	snprintf(line, sizeof line, _("Why: %s"), f->why);
	put_wrapped(b, 4, 4, line);
	snprintf(line, sizeof line, _("Fix: %s"), f->fix);
	put_wrapped(b, 4, 4, line);
}

ma_status ma_probe_text(const struct ma_probe_result *r, char **out)
{
	struct ma_buf b = { 0 };
	char line[1024];
	snprintf(line, sizeof line, _("Connection doctor for %s (login %s), %.1f s"),
		 r->address[0] ? r->address : _("(no address)"), r->login[0] ? r->login : _("(none)"),
		 (double)r->elapsed_ms / 1000.0);
	put_wrapped(&b, 0, 2, line);
	ma_buf_add(&b, "\n", 1);
	for (size_t i = 0; i < r->n_cells; i++)
		put_cell(&b, &r->cells[i]);
	ma_buf_add(&b, "\n", 1);
	for (size_t i = 0; i < r->n_findings; i++)
		put_finding(&b, &r->findings[i]);
	*out = ma_buf_take(&b);
	return *out ? MA_OK : MA_ERR_NOMEM;
}
