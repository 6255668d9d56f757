/* core/mail/, the mail sessions over net/'s connections, with libetpan
 * speaking the protocols: session.h (this base and the protocol table),
 * imap.h (read-only IMAP), pop3.h (read-only POP3), smtp.h (look-only
 * SMTP for the doctor), session_util.h (credentials, SASL PLAIN, the
 * bulk reply reader, folder order).
 *
 * The session base: what the IMAP, POP3 and SMTP sessions share, and the
 * table of the three that the connection doctor picks a protocol from.
 *
 * In the spirit of isync's driver table: each protocol's session struct
 * (struct ma_imap, ma_pop3, ma_smtp) starts with a struct ma_session, and
 * each protocol fills one struct ma_session_driver. The steps every
 * session takes before its own work are written once, in session.c:
 * greeting, capabilities, STARTTLS with its injection check (bytes behind
 * the reply, CVE-2020-15953), the TLS handshake on the same socket, the
 * capabilities again (the plaintext ones may have been forged); and the
 * checks before a login (a usable session, credentials without CR/LF, no
 * password over plain text unless --insecure).
 *
 * A session that failed its greeting or its STARTTLS says nothing more to
 * the server (no LOGOUT or QUIT): either the server does not speak the
 * protocol, or it is not to be trusted with another word.
 *
 * Ownership: a session owns its connection (freed with the session, or by
 * a failed open); ma_session_close frees both (NULL ok). One session per
 * thread. The imap.h, pop3.h and smtp.h calls stay the way to use one
 * protocol; the ma_session_* calls below serve callers that take the
 * protocol from a table. */
#ifndef MA_SESSION_H
#define MA_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"
#include "net/endpoint.h"
#include "net/trace.h"
#include "net/transport.h"

struct ma_session_driver;
/* libetpan's stream (mailstream), named by its struct tag so that callers
 * of the table (the doctor) do not see libetpan's headers. */
struct _mailstream;

/* The first member of every protocol's session struct. */
struct ma_session {
	const struct ma_session_driver *drv;
	struct ma_conn *conn;         /* owned */
	char host[272];               /* "host:port", for messages */
	bool allow_plain;             /* --insecure: a password may cross plain text */
	bool broken;                  /* no more I/O: libetpan must not be called */
	struct ma_error broken_err;   /* what broke it, repeated by later calls */
};

struct ma_session_driver {
	enum ma_proto proto;
	const char *name;             /* "IMAP", in messages */
	const char *starttls;         /* its STARTTLS command: "STARTTLS", "STLS" */

	/* The opening, in the order ma_session_start calls them. */
	/* Makes the stream over s->conn and reads the greeting. */
	ma_status (*greet)(struct ma_session *s, struct ma_error *err);
	/* (Re)reads the capabilities: CAPABILITY, CAPA, EHLO. */
	ma_status (*read_caps)(struct ma_session *s, struct ma_error *err);
	bool (*offers_starttls)(const struct ma_session *s);
	/* Sends the STARTTLS command and reads its reply: libetpan's result,
	 * 0 when the server agreed. */
	int (*send_starttls)(struct ma_session *s);
	/* The status for a STARTTLS the server refused (r from send_starttls). */
	ma_status (*starttls_refused)(struct ma_session *s, int r, struct ma_error *err);
	struct _mailstream *(*stream)(const struct ma_session *s);
	/* After the handshake: forget what the server said in plain text
	 * beyond its capabilities (IMAP's alerts). NULL: nothing to forget. */
	void (*tls_started)(struct ma_session *s);

	/* The calls behind the ma_session_* ones below. */
	ma_status (*open_conn)(struct ma_conn *c, const char *label, enum ma_security security,
			       bool insecure, struct ma_trace *trace, struct ma_session **out,
			       struct ma_error *err);
	/* The capabilities a report shows, space-separated, into buf. */
	void (*caps)(const struct ma_session *s, char *buf, size_t len);
	/* The protocol's own login, after ma_session_login's checks. */
	ma_status (*login)(struct ma_session *s, const char *login, const char *password,
			   struct ma_error *err);
	void (*close)(struct ma_session *s);
};

extern const struct ma_session_driver ma_imap_driver, ma_pop3_driver, ma_smtp_driver;

/* ---- for the protocols (imap.c, pop3.c, smtp.c) ---- */

/* Fills the base of a new session; the session takes c. */
void ma_session_init(struct ma_session *s, const struct ma_session_driver *drv, struct ma_conn *c,
		     const char *label, bool insecure);
/* The opening every session shares (see above): greeting and
 * capabilities, and for MA_SEC_STARTTLS the upgrade and the capabilities
 * again. On failure the session may only be closed. */
ma_status ma_session_start(struct ma_session *s, enum ma_security security, struct ma_error *err);
/* Marks s broken with err's status and detail; returns the status. */
ma_status ma_session_mark_broken(struct ma_session *s, const struct ma_error *err);
/* MA_OK, or the error that broke s (MA_ERR_NOT_CONNECTED for NULL). */
ma_status ma_session_usable(const struct ma_session *s, struct ma_error *err);

/* ---- a wrong port or security, named (the audit's opens) ----
 *
 * A mail client set to the wrong port or security gets a greeting in
 * another protocol, a TLS error, or silence. The audit says which and
 * where the protocol is instead (MA_ERR_WRONG_PORT), as the doctor would:
 * "this port speaks POP3; IMAP is on 993 (SSL/TLS) or 143 (STARTTLS)". */

/* ma_conn_open for the opening of a proto session, which names a wrong
 * port or security: a TLS handshake that failed because the port speaks in
 * plain text, and (for /starttls and /plain) a greeting that does not come
 * within about 2 s because the port waits for TLS (993, 995, 465, or any
 * port that answers a TLS handshake). To tell, it may look at the port
 * over a second short connection that sends nothing but a TLS handshake,
 * and only after such a failure. The greeting keeps its timeout in all,
 * the look counted in it (a silent port that does not speak TLS either is
 * MA_ERR_READ_TIMEOUT here, as it was in the greeting's read). Otherwise
 * as ma_conn_open. */
ma_status ma_session_connect(enum ma_proto proto, const struct ma_endpoint *ep,
			     const struct ma_net_opts *net, struct ma_conn **out,
			     struct ma_error *err);
/* For the protocols' greeting: line (the first line the server sent) is
 * another protocol's greeting, e.g. a POP3 "+OK" to an IMAP session:
 * MA_ERR_WRONG_PORT naming both. Else MA_OK and err untouched. */
ma_status ma_session_wrong_greeting(const struct ma_session *s, const char *line, size_t len,
				    struct ma_error *err);

/* ---- for callers that take the protocol from a table (the doctor) ---- */

/* The driver of proto (every enum ma_proto has one). */
const struct ma_session_driver *ma_session_driver(enum ma_proto proto);
/* ma_imap_open_conn, ma_pop3_open_conn or ma_smtp_open_conn, by proto:
 * takes c; insecure and trace are ignored by SMTP (never a password over
 * plain text, no trace). */
ma_status ma_session_open_conn(enum ma_proto proto, struct ma_conn *c, const char *label,
			       enum ma_security security, bool insecure, struct ma_trace *trace,
			       struct ma_session **out, struct ma_error *err);
void ma_session_caps(const struct ma_session *s, char *buf, size_t len);
const struct ma_cert_info *ma_session_cert(const struct ma_session *s);
/* The certificate's verdict (ma_conn_cert_verdict) of s's connection. */
ma_status ma_session_cert_verdict(const struct ma_session *s, struct ma_error *err);
/* Refuses a broken session, CR or LF in either string, and a password over
 * plain text (unless --insecure), then the protocol's login. */
ma_status ma_session_login(struct ma_session *s, const char *login, const char *password,
			   struct ma_error *err);
void ma_session_close(struct ma_session *s);
/* False if s holds CR, LF (command injection) or is empty: such a login or
 * password is refused before anything is sent (libetpan would send it raw). */
bool ma_credential_ok(const char *s);

#endif
