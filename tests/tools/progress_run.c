/* Test driver for the audit's progress reports (tests/integration/
 * t_progress.sh): runs ma_audit_run with a progress callback, as the
 * full-screen program does, and prints every report, then the messages the
 * result counted over all folders.
 *
 *   progress_run --imap HOST:PORT[/SEC] --user LOGIN --password-file F
 *                --ca-file CA --state-dir DIR [--no-history]
 *
 * Output lines: "progress STEP DONE TOTAL ALL_DONE ALL_TOTAL" (STEP as
 * enum ma_step), then "result MESSAGES FOLDERS". Exit 0 when the audit ran
 * and its IMAP look succeeded, 2 on a usage error, 1 otherwise. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "net/endpoint.h"

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

/* From the audit's threads: one line at a time. */
static void on_progress(const struct ma_progress *p, void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&out_mu);
	printf("progress %d %zu %zu %zu %zu\n", (int)p->step, p->done, p->total, p->all_done,
	       p->all_total);
	pthread_mutex_unlock(&out_mu);
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
	struct ma_account acct = { 0 };
	struct ma_audit_opts o = { .net = { .cancel_fd = -1, .timeout_s = 10 } };
	struct ma_error err = { 0 };
	char *password = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--no-history")) {
			o.no_history = true;
			continue;
		}
		const char *v = i + 1 < argc ? argv[++i] : NULL;
		if (!v) {
			fprintf(stderr, "progress_run: %s needs a value\n", a);
			return 2;
		}
		if (!strcmp(a, "--imap")) {
			if (ma_endpoint_parse(v, strlen(v), MA_PROTO_IMAP, &acct.imap, &err) != MA_OK) {
				char e[600];
				ma_error_format(&err, e, sizeof e);
				fprintf(stderr, "progress_run: --imap %s: %s\n", v, e);
				return 2;
			}
			acct.has_imap = true;
		} else if (!strcmp(a, "--user"))
			snprintf(acct.login, sizeof acct.login, "%s", v);
		else if (!strcmp(a, "--password-file")) {
			free(password);
			if (!(password = read_secret(v))) {
				fprintf(stderr, "progress_run: cannot read %s\n", v);
				return 2;
			}
		} else if (!strcmp(a, "--ca-file"))
			o.net.ca_file = v;
		else if (!strcmp(a, "--state-dir"))
			o.state_dir = v;
		else {
			fprintf(stderr, "progress_run: unknown option %s\n", a);
			return 2;
		}
	}
	if (!acct.has_imap || !acct.login[0] || !password) {
		fprintf(stderr, "progress_run: --imap, --user and --password-file are needed\n");
		free(password);
		return 2;
	}
	o.progress = on_progress;
	struct ma_tls *tls = NULL;
	struct ma_audit_result *r = NULL;
	int rc = 1;
	char e[600];
	if (ma_tls_new(&o.net, &tls, &err) != MA_OK) {
		ma_error_format(&err, e, sizeof e);
		fprintf(stderr, "progress_run: %s\n", e);
		goto cleanup;
	}
	o.net.tls = tls;
	if (ma_audit_run(&acct, password, &o, &r, &err) != MA_OK) {
		ma_error_format(&err, e, sizeof e);
		fprintf(stderr, "progress_run: %s\n", e);
		goto cleanup;
	}
	uint64_t sum = 0;
	for (size_t i = 0; i < r->nfolders; i++)
		sum += r->folders[i].folder.messages;
	printf("result %llu %zu\n", (unsigned long long)sum, r->nfolders);
	rc = r->imap_ok ? 0 : 1;
cleanup:
	ma_audit_result_free(r);
	ma_tls_free(tls);
	free(password);
	return rc;
}
