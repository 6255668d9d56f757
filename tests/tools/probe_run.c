/* Test driver for the connection doctor until mailaudit --probe exists:
 * runs ma_probe_run and prints ma_probe_text.
 *
 *   probe_run [--address A] [--login L] [--password-file F] [--imap-host H]
 *             [--pop3-host H] [--smtp-host H] [--port SLOT=N]... [--only SLOT,...]
 *             [--ca FILE] [--timeout S] [--source ADDR]
 * SLOT: imaps imap pop3s pop3 smtps submission. The resolver is MA_RESOLVER,
 * the rules file MA_RULES. Exit 0 when the probe ran, 2 on a usage error,
 * 1 when it could not run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/probe.h"

static int slot_of(const char *name, size_t len)
{
	for (int s = 0; s < MA_PROBE_NSLOTS; s++) {
		const char *n = ma_probe_slot_name((enum ma_probe_slot)s);
		if (strlen(n) == len && strncmp(n, name, len) == 0)
			return s;
	}
	return -1;
}

static char *read_secret(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char buf[1024];
	char *ok = fgets(buf, sizeof buf, f);
	fclose(f);
	if (!ok)
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

int main(int argc, char **argv)
{
	struct ma_probe_request req = { .net = { .cancel_fd = -1, .timeout_s = 5 } };
	char *password = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "probe_run: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--address"))
			req.address = v;
		else if (!strcmp(a, "--login"))
			req.login = v;
		else if (!strcmp(a, "--password-file")) {
			password = read_secret(v);
			if (!password) {
				fprintf(stderr, "probe_run: cannot read %s\n", v);
				return 2;
			}
			req.password = password;
		} else if (!strcmp(a, "--imap-host"))
			req.imap_host = v;
		else if (!strcmp(a, "--pop3-host"))
			req.pop3_host = v;
		else if (!strcmp(a, "--smtp-host"))
			req.smtp_host = v;
		else if (!strcmp(a, "--ca"))
			req.net.ca_file = v;
		else if (!strcmp(a, "--timeout"))
			req.net.timeout_s = atoi(v);
		else if (!strcmp(a, "--source"))
			req.net.source_addr = v;
		else if (!strcmp(a, "--port")) {
			const char *eq = strchr(v, '=');
			int s = eq ? slot_of(v, (size_t)(eq - v)) : -1;
			if (s < 0) {
				fprintf(stderr, "probe_run: --port SLOT=N, not %s\n", v);
				return 2;
			}
			req.port[s] = (unsigned)atoi(eq + 1);
		} else if (!strcmp(a, "--only")) {
			for (const char *p = v; *p;) {
				size_t l = strcspn(p, ",");
				int s = slot_of(p, l);
				if (s < 0) {
					fprintf(stderr, "probe_run: unknown slot in %s\n", v);
					return 2;
				}
				req.slots |= 1u << s;
				p += l + (p[l] == ',');
			}
		} else {
			fprintf(stderr, "probe_run: unknown option %s\n", a);
			return 2;
		}
	}
	struct ma_probe_result *r = NULL;
	struct ma_error err = { 0 };
	ma_status st = ma_probe_run(&req, &r, &err);
	free(password);
	if (st != MA_OK) {
		char msg[700];
		ma_error_format(&err, msg, sizeof msg);
		fprintf(stderr, "probe_run: %s\n", msg);
		return 1;
	}
	char *text = NULL;
	if (ma_probe_text(r, &text) != MA_OK) {
		ma_probe_result_free(r);
		return 1;
	}
	fputs(text, stdout);
	/* One machine-readable line per cell and finding, for the tests. */
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct ma_probe_cell *c = &r->cells[i];
		printf("CELL %s %s:%u %s login=%s alt=%s ms=%lld\n", ma_probe_slot_name(c->slot), c->ep.host,
		       c->ep.port, ma_status_name(c->status),
		       c->login_ok ? "ok" : c->login_tried ? "refused" : "no",
		       c->alt_login_ok ? "ok" : c->alt_login_tried ? "refused" : "no",
		       (long long)c->elapsed_ms);
	}
	printf("TOTAL ms=%lld\n", (long long)r->elapsed_ms);
	for (size_t i = 0; i < r->n_findings; i++)
		printf("FINDING %s %s\n", r->findings[i].code, ma_severity_name(r->findings[i].severity));
	free(text);
	ma_probe_result_free(r);
	return 0;
}
