/* Small pieces the IMAP and POP3 sessions share. Internal to core. */
#ifndef MA_SESSION_UTIL_H
#define MA_SESSION_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "status.h"
#include "transport.h"

/* Copies server text into dst (NUL-terminated, truncated), replacing control
 * characters so nothing a server says can drive the user's terminal: CR and
 * LF become spaces, other C0 controls, DEL, C1 controls and bytes that are
 * not valid UTF-8 become '?'. The result is valid UTF-8 and never longer
 * than the input. */
void ma_sanitize(char *dst, size_t dstlen, const char *src, size_t len);
/* The same into a new string the caller frees; NULL on ENOMEM. */
char *ma_sanitize_dup(const char *src, size_t len);

/* False if s holds CR, LF (command injection) or is empty. */
bool ma_credential_ok(const char *s);

/* prefix + base64("\0" login "\0" password) as one string the caller must
 * OPENSSL_cleanse and free. NULL on ENOMEM. */
char *ma_sasl_plain_command(const char *prefix, const char *login, const char *password);

/* After a STARTTLS/STLS "OK": refuses if the server already sent bytes
 * behind the reply (they would be read as if protected, CVE-2020-15953),
 * then runs the TLS handshake on the same socket and swaps stream's low
 * driver for a TLS one. */
ma_status ma_session_upgrade(mailstream *stream, struct ma_conn *conn, const char *host,
			     struct ma_error *err);

/* INBOX first, then by name (byte order of the UTF-8 names). */
void ma_folders_sort(struct ma_folder *f, size_t n);

#endif
