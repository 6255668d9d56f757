/* The doctor as the front ends use it; see frontend.h. */
#include "doctor/frontend.h"

#include <string.h>

static void set_port(struct ma_probe_request *req, const struct ma_endpoint *ep,
		     enum ma_probe_slot tls_slot, enum ma_probe_slot starttls_slot)
{
	req->port[ep->security == MA_SEC_TLS ? tls_slot : starttls_slot] = ep->port;
}

void ma_probe_request_for(const struct ma_account *a, struct ma_probe_request *req)
{
	memset(req, 0, sizeof *req);
	/* The login may be the address: its domain names the provider in the
	 * doctor's findings. */
	if (a->address[0])
		req->address = a->address;
	else if (strchr(a->login, '@'))
		req->address = a->login;
	req->login = a->login[0] ? a->login : NULL;
	const char *audited = a->has_imap ? a->imap.host : a->has_pop3 ? a->pop3.host : NULL;
	/* A host of our own rather than DNS discovery: the doctor then
	 * tests the servers this audit talked to, and a domain without SRV
	 * records cannot send it to guessed names elsewhere. */
	req->imap_host = a->has_imap ? a->imap.host : audited;
	req->pop3_host = a->has_pop3 ? a->pop3.host : audited;
	req->smtp_host = a->has_smtp ? a->smtp.host : audited;
	if (a->has_imap)
		set_port(req, &a->imap, MA_PROBE_IMAPS, MA_PROBE_IMAP);
	if (a->has_pop3)
		set_port(req, &a->pop3, MA_PROBE_POP3S, MA_PROBE_POP3);
	if (a->has_smtp)
		set_port(req, &a->smtp, MA_PROBE_SMTPS, MA_PROBE_SUBMISSION);
}

enum ma_severity ma_probe_worst(const struct ma_probe_result *r)
{
	enum ma_severity worst = MA_SEV_OK;
	for (size_t i = 0; i < r->n_findings; i++)
		if (r->findings[i].severity > worst)
			worst = r->findings[i].severity;
	return worst;
}
