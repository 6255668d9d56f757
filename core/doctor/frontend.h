/* What both front ends (the command line and the full-screen program) ask
 * of the connection doctor beyond running it: the request for an account
 * they audit, and the worst severity a test found.
 *
 * Ownership: the request borrows the account's strings, so the account
 * must outlive it; nothing here allocates. */
#ifndef MA_DOCTOR_FRONTEND_H
#define MA_DOCTOR_FRONTEND_H

#include "audit/findings.h"
#include "doctor/probe.h"
#include "store/account.h"

/* The doctor's request for an audited account, pointing into acct: every
 * protocol without a server of its own is tried on the audited host (the
 * IMAP host, else the POP3 one), and a configured port replaces the
 * standard port of the cell with that security (plain counts as the
 * STARTTLS cell). Fills everything but password and net. */
void ma_probe_request_for(const struct ma_account *acct, struct ma_probe_request *req);

/* The most severe finding's severity; MA_SEV_OK without findings. */
enum ma_severity ma_probe_worst(const struct ma_probe_result *r);

#endif
