/* Our own connect and TLS, handed to libetpan as a mailstream_low driver.
 *
 * Why not libetpan's: Debian's build uses GnuTLS without certificate checks
 * and its socket driver returns 0 on EOF (endless loops, false "wrong
 * password"). This driver returns -1 on EOF, timeout, cancel or error and
 * records which of those it was, so sessions can name the failure.
 *
 * Ownership: every object returned here belongs to the caller, who frees it
 * with the matching *_free; ma_conn is owned by the session that made it
 * and must outlive the libetpan stream made over it (stream.h).
 *
 * The settings every connection shares (ma_net_opts, ma_tls, ma_cert_info)
 * are in net.h: include that where no connection is made. Neither header
 * needs libetpan; only stream.h, the bridge the protocol sessions use, does. */
#ifndef MA_TRANSPORT_H
#define MA_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "net/endpoint.h"
#include "net/net.h"

struct ma_conn;  /* one TCP connection, optionally wrapped in TLS */

/* Resolves ep->host, tries every address with a non-blocking connect bounded
 * by opts->timeout_s. For MA_SEC_TLS also runs the TLS handshake. */
ma_status ma_conn_open(const struct ma_endpoint *ep, const struct ma_net_opts *opts,
		       struct ma_conn **out, struct ma_error *err);
/* For tests and fuzzing only: wraps an already-connected socket fd as a
 * plain connection with opts' timeouts and cancel fd (no DNS, no connect,
 * no TLS context, so a later ma_conn_start_tls fails with MA_ERR_ARGUMENT).
 * Makes fd non-blocking. c owns fd from then on, even on failure (closed
 * by ma_conn_free, or here when MA_ERR_NOMEM). */
ma_status ma_conn_from_fd(int fd, const struct ma_net_opts *opts, struct ma_conn **out,
			  struct ma_error *err);
/* For the connection doctor, which resolves names itself to show where
 * they point: connects to addr (a numeric address) while naming ep->host
 * for SNI, the certificate's name check and messages. A look, not a
 * session to trust: the TLS handshake (for MA_SEC_TLS now, for STARTTLS
 * later) finishes whatever the certificate, as with opts->insecure, so its
 * details can be shown; ma_conn_cert_verdict says whether it passed. */
ma_status ma_conn_open_addr(const struct ma_endpoint *ep, const char *addr,
			    const struct ma_net_opts *opts, struct ma_conn **out,
			    struct ma_error *err);
/* Upgrades a plain connection after STARTTLS/STLS was accepted. */
ma_status ma_conn_start_tls(struct ma_conn *c, struct ma_error *err);
/* Bounds what one reply may cost, because libetpan allocates whatever
 * literal size a server announces ("{600000000}") and grows lines without
 * limit. max_literal: largest IMAP literal accepted (0 = no literal check,
 * for POP3); max_reply: bytes received between two of our writes, i.e. per
 * command (0 = unbounded). Past either, reads fail with MA_ERR_TOO_LARGE.
 * May be called again between commands: a new reply budget starts, and the
 * literal watch goes on where the stream is. */
void ma_conn_set_limits(struct ma_conn *c, uint64_t max_literal, uint64_t max_reply);
/* Ends the current reply: the bytes after it get a fresh max_reply budget
 * and a fresh per-reply time limit, as they do after each of our writes.
 * For sessions with several commands in flight, to call when one tagged
 * reply is complete; otherwise all replies after the last write would
 * share one budget and one clock. The literal watch goes on unchanged (it
 * follows the stream, not the replies). NULL ok. */
void ma_conn_reply_done(struct ma_conn *c);

/* [ALERT] texts kept per connection, and bytes of each: a server repeating
 * itself, or hostile, must not fill the report. */
#define MA_CONN_MAX_ALERTS 16
#define MA_CONN_ALERT_MAX_LEN 1000

/* The [ALERT] texts (RFC 3501 7.1: to be shown to the user) of every IMAP
 * status response received so far: untagged or tagged OK, NO, BAD, BYE,
 * PREAUTH, greeting included, found in the bytes outside literals as they
 * are read, so every alert of a reply counts, not only the last one as
 * libetpan keeps it. In order, each text once, raw (show them cleaned),
 * cut to MA_CONN_ALERT_MAX_LEN bytes at a UTF-8 character boundary, at most
 * MA_CONN_MAX_ALERTS. Only while the literal watch is on (max_literal of
 * ma_conn_set_limits, i.e. IMAP); never any for POP3. The array and its
 * texts stay valid until ma_conn_drop_alerts or ma_conn_free. NULL c: none. */
const char *const *ma_conn_alerts(const struct ma_conn *c, size_t *n);
/* Forgets the alerts received so far, and one whose line has not ended.
 * After STARTTLS: plaintext alerts may be forged by whoever sits on the
 * way. NULL ok. */
void ma_conn_drop_alerts(struct ma_conn *c);

/* Why the last read/write returned -1 (MA_ERR_CLOSED, READ_TIMEOUT, ...),
 * or MA_OK if nothing failed at the transport level. */
ma_status ma_conn_last_error(const struct ma_conn *c);
/* Words about that failure ("TLS error: bad record mac", "nothing for 30 s"),
 * "" if none. */
const char *ma_conn_last_detail(const struct ma_conn *c);
const struct ma_cert_info *ma_conn_cert(const struct ma_conn *c);
/* The certificate's verdict from the last handshake, the same sentence
 * that stops a checked connection: MA_OK when chain and name verified,
 * else MA_ERR_CERT_* with the reason (an expired leaf or a certificate in
 * its chain, the names it covers, the unknown issuer). Without a
 * handshake, or without a certificate: MA_ERR_CERT_INVALID. */
ma_status ma_conn_cert_verdict(const struct ma_conn *c, struct ma_error *err);
bool ma_conn_is_tls(const struct ma_conn *c);
/* Waits up to ms (never past the connection's own time limits) for bytes
 * to read, reading none: MA_OK when they are there (or the peer closed),
 * MA_ERR_READ_TIMEOUT when none came, MA_ERR_CANCELLED. For a look at a
 * silent greeting long before the read timeout (mail/session.c). */
ma_status ma_conn_wait_readable(struct ma_conn *c, int ms);
/* After this every read/write fails at once; safe before freeing a stream
 * whose free would otherwise talk to the network. */
void ma_conn_kill(struct ma_conn *c);
/* Closes the socket (best-effort TLS close_notify) and frees c. NULL ok. */
void ma_conn_free(struct ma_conn *c);

#endif
