/* Every outcome core can report, with the sentence a mailbox owner reads.
 *
 * One X-macro list so the enum and the message table can never drift apart.
 * Classification order when a call fails (see docs/architecture.md): our own
 * network status first, then libetpan's code, then the server's response
 * code or text. A status is always shown together with struct ma_error's
 * detail (server text, certificate names), never as a bare number. */
#ifndef MA_STATUS_H
#define MA_STATUS_H

#include <stddef.h>

#define MA_STATUS_LIST(X) \
	X(MA_OK,                 N_("success")) \
	X(MA_ERR_NOMEM,          N_("out of memory")) \
	X(MA_ERR_ARGUMENT,       N_("invalid setting")) \
	X(MA_ERR_HOST_UNKNOWN,   N_("the server name does not exist (a typo, or an obsolete address)")) \
	X(MA_ERR_DNS,            N_("the server name could not be looked up (DNS failure; check the network)")) \
	X(MA_ERR_REFUSED,        N_("the server refused the connection on this port (nothing listens there)")) \
	X(MA_ERR_UNREACHABLE,    N_("the server's network is unreachable from here")) \
	X(MA_ERR_CONNECT_TIMEOUT,N_("no answer while connecting (a firewall or antivirus may block the port, or the address is wrong)")) \
	X(MA_ERR_READ_TIMEOUT,   N_("the server stopped answering (timed out waiting for a reply)")) \
	X(MA_ERR_CLOSED,         N_("the server closed the connection unexpectedly")) \
	X(MA_ERR_CANCELLED,      N_("cancelled")) \
	X(MA_ERR_NETWORK,        N_("network error")) \
	X(MA_ERR_TLS_HANDSHAKE,  N_("the secure (TLS) connection could not be set up")) \
	X(MA_ERR_CERT_EXPIRED,   N_("the server's certificate has expired")) \
	X(MA_ERR_CERT_NOT_YET_VALID, N_("the server's certificate is not valid yet (check this computer's clock)")) \
	X(MA_ERR_CERT_NAME_MISMATCH, N_("the server's certificate is for a different name")) \
	X(MA_ERR_CERT_UNTRUSTED, N_("the server's certificate was issued by an authority this computer does not trust")) \
	X(MA_ERR_CERT_SELF_SIGNED, N_("the server's certificate is self-signed")) \
	X(MA_ERR_CERT_INVALID,   N_("the server's certificate is not valid")) \
	X(MA_ERR_STARTTLS_MISSING, N_("the server does not offer STARTTLS on this port, so the connection cannot be secured (refusing to log in in plain text)")) \
	X(MA_ERR_STARTTLS_INJECTION, N_("the server sent data before the secure connection started (possible attack); refusing to continue")) \
	X(MA_ERR_GREETING,       N_("the server refused the connection in its greeting")) \
	X(MA_ERR_WRONG_PORT,     N_("the port or its security setting is wrong for this protocol")) \
	X(MA_ERR_LOGIN,          N_("the server rejected the login name or password")) \
	X(MA_ERR_UNENCRYPTED,    N_("refusing to send the password over an unencrypted connection (use /tls or /starttls, or --insecure to allow it)")) \
	X(MA_ERR_PLAINTEXT_REFUSED, N_("the server refuses logins over an unencrypted connection")) \
	X(MA_ERR_IN_USE,         N_("the mailbox is locked by another POP3 session (another device is downloading mail right now)")) \
	X(MA_ERR_LOGIN_DELAY,    N_("the server allows logins only every so often (LOGIN-DELAY); try again later")) \
	X(MA_ERR_SERVER_TEMP,    N_("the server reports a temporary failure; try again later")) \
	X(MA_ERR_SERVER_PERM,    N_("the server reports a permanent failure for this mailbox")) \
	X(MA_ERR_PROTOCOL,       N_("the server sent a reply mailaudit does not understand (protocol error)")) \
	X(MA_ERR_TOO_LARGE,      N_("the server's reply exceeded mailaudit's safety limits")) \
	X(MA_ERR_BAD_CREDENTIAL, N_("the login name or password contains a line break or NUL character")) \
	X(MA_ERR_NOT_CONNECTED,  N_("no open session (internal error)")) \
	X(MA_ERR_IO,             N_("a local file could not be read or written")) \
	X(MA_ERR_STATE_CORRUPT,  N_("the history file is damaged or not a mailaudit history file (left untouched)")) \
	X(MA_ERR_DEADLINE,       N_("the audit did not finish within its time limit (--deadline)"))

#define MA_STATUS_ENUM(name, text) name,
typedef enum { MA_STATUS_LIST(MA_STATUS_ENUM) MA_STATUS_COUNT } ma_status;
#undef MA_STATUS_ENUM

/* A failure with the context the user needs. detail never holds a password. */
struct ma_error {
	ma_status status;
	char detail[512];
};

/* Static sentence for a status; never NULL. */
const char *ma_status_message(ma_status st);
/* Stable lower-case name such as "cert-expired", for traces and tests. */
const char *ma_status_name(ma_status st);

/* Sets err (if not NULL) and returns st, so callers can write
 * `return ma_fail(err, MA_ERR_X, "fmt", ...);`. */
ma_status ma_fail(struct ma_error *err, ma_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "message: detail" (or just the message) into buf, the detail cleaned
 * by text.h's rules for a server's words (MA_CLEAN_SERVER). */
void ma_error_format(const struct ma_error *err, char *buf, size_t len);

#endif
