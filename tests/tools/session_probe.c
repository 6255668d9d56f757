/* Test driver for the session layer: opens the IMAP and/or POP3 session
 * given on the command line and prints machine-readable lines, so the
 * integration tests can check statuses and counts without parsing the
 * report. Password from a file (first line), never argv.
 *
 *   session_probe [--imap EP] [--pop3 EP] --user LOGIN --password-file F
 *                 [--ca-file F] [--insecure] [--timeout S] [--source ADDR]
 *                 [--trace F] [--headers]
 *
 * Output: "imap ok", "folder <name>\t<messages>\t<unseen>\t<fetched>",
 * "special <name>\t<enum ma_special bits, hex>\t<role>" (folders with
 * special-use attributes), "imap alert <text>" (each [ALERT] the session
 * kept, bytes outside printable ASCII as \xNN, printed also after an
 * error), "pop3 ok", "pop3 stat <n>", "pop3 uidl <n> <uidl> <size>", or
 * "<proto> error <status-name>: <message>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/imap.h"
#include "mail/pop3.h"

static int count_msg(struct ma_message *m, void *ctx)
{
	(void)m;
	(*(size_t *)ctx)++;
	return 0;
}

/* s as stored, made visible: the test checks what the core kept, raw. */
static void print_escaped(const char *prefix, const char *s)
{
	fputs(prefix, stdout);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			putchar(*p);
		else
			printf("\\x%02x", *p);
	}
	putchar('\n');
}

static void report(const char *proto, const struct ma_error *e)
{
	char buf[800];
	ma_error_format(e, buf, sizeof buf);
	printf("%s error %s: %s\n", proto, ma_status_name(e->status), buf);
}

static int run_imap(const struct ma_endpoint *ep, const struct ma_net_opts *net, struct ma_trace *t,
		    const char *user, const char *pw, int headers)
{
	struct ma_imap *s = NULL;
	struct ma_error e;
	struct ma_folder *f = NULL;
	size_t n = 0;
	int rc = 1;
	if (ma_imap_open(ep, net, t, &s, &e) != MA_OK || ma_imap_login(s, user, pw, &e) != MA_OK ||
	    ma_imap_list(s, &f, &n, &e) != MA_OK) {
		report("imap", &e);
		goto cleanup;
	}
	const struct ma_cert_info *ci = ma_imap_cert(s);
	if (ci && ci->present)
		printf("imap cert verified=%d sha256=%s\n", ci->verified, ci->sha256);
	for (size_t i = 0; i < n; i++)
		if (f[i].special)
			printf("special %s\t%x\t%s\n", f[i].name, f[i].special,
			       ma_role_name(ma_folder_role(f[i].name, f[i].special)));
	for (size_t i = 0; i < n; i++) {
		uint32_t *uids = NULL;
		size_t nu = 0, fetched = 0;
		if (f[i].noselect)
			continue;
		if (ma_imap_status(s, &f[i], &e) != MA_OK || ma_imap_examine(s, &f[i], &e) != MA_OK ||
		    ma_imap_search_all(s, &uids, &nu, &e) != MA_OK ||
		    ma_imap_fetch(s, uids, nu, headers, count_msg, &fetched, &e) != MA_OK) {
			free(uids);
			report("imap", &e);
			goto cleanup;
		}
		free(uids);
		printf("folder %s\t%u\t%u\t%zu\n", f[i].name, f[i].messages, f[i].unseen, fetched);
	}
	rc = 0;
cleanup:
	if (s) {
		size_t na = 0;
		const char *const *a = ma_imap_alerts(s, &na);
		for (size_t i = 0; i < na; i++)
			print_escaped("imap alert ", a[i]);
	}
	if (rc == 0)
		printf("imap ok\n");
	for (size_t i = 0; i < n; i++)
		ma_folder_clear(&f[i]);
	free(f);
	ma_imap_close(s);
	return rc;
}

static int run_pop3(const struct ma_endpoint *ep, const struct ma_net_opts *net, struct ma_trace *t,
		    const char *user, const char *pw)
{
	struct ma_pop3 *s = NULL;
	struct ma_error e;
	struct ma_pop3_view v = { 0 };
	int rc = 1;
	if (ma_pop3_open(ep, net, t, &s, &e) != MA_OK || ma_pop3_login(s, user, pw, &e) != MA_OK ||
	    ma_pop3_scan(s, &v, &e) != MA_OK) {
		report("pop3", &e);
		goto cleanup;
	}
	printf("pop3 stat %u\n", v.stat_count);
	for (size_t i = 0; i < v.nentries; i++)
		printf("pop3 uidl %u %s %u\n", v.entries[i].number, v.entries[i].uidl, v.entries[i].size);
	for (size_t i = 0; i < v.ncapa; i++)
		printf("pop3 capa %s\n", v.capa[i]);
	printf("pop3 ok\n");
	rc = 0;
cleanup:
	ma_pop3_view_clear(&v);
	ma_pop3_close(s);
	return rc;
}

int main(int argc, char **argv)
{
	const char *imap = NULL, *pop3 = NULL, *user = NULL, *pwfile = NULL, *tracef = NULL;
	struct ma_net_opts net = { .timeout_s = 10, .cancel_fd = -1 };
	int headers = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--imap") && v) imap = v, i++;
		else if (!strcmp(a, "--pop3") && v) pop3 = v, i++;
		else if (!strcmp(a, "--user") && v) user = v, i++;
		else if (!strcmp(a, "--password-file") && v) pwfile = v, i++;
		else if (!strcmp(a, "--ca-file") && v) net.ca_file = v, i++;
		else if (!strcmp(a, "--timeout") && v) net.timeout_s = atoi(v), i++;
		else if (!strcmp(a, "--source") && v) net.source_addr = v, i++;
		else if (!strcmp(a, "--trace") && v) tracef = v, i++;
		else if (!strcmp(a, "--insecure")) net.insecure = true;
		else if (!strcmp(a, "--headers")) headers = 1;
		else {
			fprintf(stderr, "session_probe: bad argument %s\n", a);
			return 2;
		}
	}
	char pw[1024] = "";
	FILE *pf = pwfile ? fopen(pwfile, "r") : NULL;
	if (!pf || !fgets(pw, sizeof pw, pf) || !user) {
		fprintf(stderr, "session_probe: need --user and a readable --password-file\n");
		return 2;
	}
	fclose(pf);
	pw[strcspn(pw, "\r\n")] = '\0';

	ma_transport_init();
	struct ma_error e;
	struct ma_trace *t = NULL;
	if (tracef && ma_trace_open(tracef, &t, &e) != MA_OK) {
		report("trace", &e);
		return 2;
	}
	struct ma_endpoint ep;
	int rc = 0;
	if (imap) {
		if (ma_endpoint_parse(imap, strlen(imap), MA_PROTO_IMAP, &ep, &e) != MA_OK) {
			report("imap", &e);
			return 2;
		}
		rc |= run_imap(&ep, &net, t, user, pw, headers);
	}
	if (pop3) {
		if (ma_endpoint_parse(pop3, strlen(pop3), MA_PROTO_POP3, &ep, &e) != MA_OK) {
			report("pop3", &e);
			return 2;
		}
		rc |= run_pop3(&ep, &net, t, user, pw);
	}
	ma_trace_close(t);
	return rc;
}
