/* core/doctor/, the connection doctor: tries every usual port and security
 * for one account (the provider's own advice: "try different combinations
 * of ports and security") and says which work, which fail and why.
 *
 * Files: probe.c (the run: discovery, the cells on their threads),
 * checks.c (the findings, one check per kind, from audit/finding_kinds.h),
 * certnames.c (which names a certificate covers), probe_text.c (the text),
 * frontend.h (what the front ends ask beyond a run: the request for an
 * account, the worst severity). The provider rules are store/rules.h,
 * shared with the audit. Above net/ and mail/ (each cell speaks through the session
 * table of mail/session.h) and beside audit/, whose findings table it
 * shares.
 *
 * Six cells, each in its own thread with its own timeouts, so the matrix
 * takes about as long as its slowest cell:
 *   IMAP 993 TLS, IMAP 143 STARTTLS, POP3 995 TLS, POP3 110 STARTTLS,
 *   SMTP 465 TLS, SMTP 587 STARTTLS.
 * Each walks DNS -> TCP -> greeting -> TLS -> certificate -> capabilities
 * -> login. Login only with a password at hand over TLS with a verified
 * certificate; nothing else is ever sent (no mail, no MAIL FROM, no
 * SELECT). Findings follow docs/findings.md.
 *
 * Ownership: ma_probe_run returns a result freed with ma_probe_result_free.
 * The request's strings and password are borrowed for the call only. */
#ifndef MA_PROBE_H
#define MA_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/dns.h"
#include "audit/findings.h"
#include "base/status.h"
#include "net/endpoint.h"
#include "net/net.h"
#include "store/rules.h"

enum ma_probe_slot {
	MA_PROBE_IMAPS, MA_PROBE_IMAP, MA_PROBE_POP3S, MA_PROBE_POP3,
	MA_PROBE_SMTPS, MA_PROBE_SUBMISSION, MA_PROBE_NSLOTS
};

/* ---- the probe ---- */

struct ma_probe_request {
	const char *address;      /* the mailbox's e-mail address; may be NULL */
	const char *login;        /* NULL: the address */
	const char *password;     /* borrowed; NULL: no login attempted */
	const char *imap_host;    /* NULL: discovered from the address */
	const char *pop3_host;    /* NULL: the IMAP host (the provider's advice), else discovered */
	const char *smtp_host;    /* NULL: discovered from the address */
	unsigned port[MA_PROBE_NSLOTS];  /* 0: the standard port (or the SRV one) */
	unsigned slots;           /* bit (1u << slot) per cell to run; 0 = all */
	struct ma_net_opts net;   /* timeout_s bounds each step of each cell */
	const struct ma_rules *rules;    /* NULL: ma_rules_load() */
};

struct ma_probe_cell {
	enum ma_probe_slot slot;
	enum ma_proto proto;
	struct ma_endpoint ep;
	char how_found[64];       /* "given", "SRV _imaps._tcp...", "guessed" */
	struct ma_dns_facts dns;
	ma_status status;         /* the first failure, MA_OK if all went well */
	struct ma_error err;
	bool dns_ok, tcp_ok, greeting_ok, tls_ok, cert_ok, starttls_offered;
	bool login_tried, login_ok;
	bool alt_login_tried, alt_login_ok;   /* the full address instead of login */
	ma_status login_status;
	char caps[512];
	struct ma_cert_info cert;
	int64_t elapsed_ms;
};

struct ma_probe_result {
	char address[256];
	char login[256];
	struct ma_probe_cell cells[MA_PROBE_NSLOTS];
	size_t n_cells;
	struct ma_finding *findings;   /* most severe first */
	size_t n_findings;
	int64_t elapsed_ms;
};

ma_status ma_probe_run(const struct ma_probe_request *req, struct ma_probe_result **out,
		       struct ma_error *err);
void ma_probe_result_free(struct ma_probe_result *r);

/* The findings of a finished run (its cells filled) into r->findings,
 * most severe first (doctor/checks.c); ma_probe_run calls it. MA_ERR_NOMEM
 * leaves none. */
ma_status ma_probe_analyze(struct ma_probe_result *r, const struct ma_rules *rules);

/* The matrix and findings as plain text, lines <= 78 columns. *out is
 * malloc'd; the caller frees it. */
ma_status ma_probe_text(const struct ma_probe_result *r, char **out);

/* Exposed for tests. */
const char *ma_probe_slot_name(enum ma_probe_slot s);   /* "imaps", "imap", ... */
/* True if host is covered by one of sans ("DNS:a, DNS:*.b, IP:1.2.3.4"). */
bool ma_cert_covers(const char *sans, const char *host);

#endif
