/* A look-only SMTP session for the connection doctor: greeting, EHLO,
 * STARTTLS, AUTH PLAIN, QUIT. It offers no MAIL FROM, RCPT or DATA, so it
 * cannot send a message. libetpan's mailsmtp speaks over our transport;
 * AUTH is ours (libetpan's needs Cyrus SASL, which may lack PLAIN).
 *
 * Ownership: ma_smtp_open_conn takes c (freed with the session or on
 * failure); the session is freed with ma_smtp_close (NULL ok). */
#ifndef MA_SMTP_H
#define MA_SMTP_H

#include <stdbool.h>

#include "base/status.h"
#include "net/endpoint.h"
#include "net/net.h"

struct ma_smtp;

/* Reads the greeting, EHLO; for MA_SEC_STARTTLS sends STARTTLS (refusing
 * if not offered), upgrades and says EHLO again. */
ma_status ma_smtp_open_conn(struct ma_conn *c, const char *label, enum ma_security security,
			    struct ma_smtp **out, struct ma_error *err);
/* "STARTTLS AUTH=PLAIN ..." as the last EHLO listed them; owned by s. */
const char *ma_smtp_caps(const struct ma_smtp *s);
const struct ma_cert_info *ma_smtp_cert(const struct ma_smtp *s);
/* AUTH PLAIN over TLS only; MA_ERR_LOGIN on 535. */
ma_status ma_smtp_login(struct ma_smtp *s, const char *login, const char *password,
			struct ma_error *err);
/* QUIT when healthy, then frees everything. */
void ma_smtp_close(struct ma_smtp *s);

#endif
