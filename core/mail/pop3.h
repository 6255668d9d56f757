/* A read-only POP3 session: what a POP3 client would see, without RETR
 * (Dovecot marks a message \Seen on RETR+QUIT) and without DELE.
 *
 * libetpan does the greeting, CAPA, STLS, USER/PASS and QUIT. STAT, LIST and
 * UIDL go through our own bounded reader over the same stream: Debian's
 * libetpan crashes on hostile LIST replies (number 0, gaps, huge numbers).
 *
 * Ownership: ma_pop3_open returns a session freed with ma_pop3_close (NULL
 * ok). A ma_pop3_view filled here belongs to the caller
 * (ma_pop3_view_clear). After a failure that broke the connection every
 * further call returns the same error without touching libetpan. */
#ifndef MA_POP3_H
#define MA_POP3_H

#include <stdbool.h>
#include <stdint.h>

#include "base/model.h"
#include "base/status.h"
#include "net/trace.h"
#include "net/endpoint.h"
#include "net/net.h"

struct ma_pop3;

/* Connects, reads the greeting and CAPA; for MA_SEC_STARTTLS sends STLS
 * (refusing if not offered) and reads CAPA again over TLS. */
ma_status ma_pop3_open(const struct ma_endpoint *ep, const struct ma_net_opts *net,
		       struct ma_trace *trace, struct ma_pop3 **out, struct ma_error *err);

/* The same over a connection already made (tests and fuzzing build it
 * with ma_conn_from_fd). Takes c, freed with the session or on failure.
 * label names the server in messages ("host:port"); security says whether
 * to send STLS; insecure is net->insecure. */
ma_status ma_pop3_open_conn(struct ma_conn *c, const char *label, enum ma_security security,
			    bool insecure, struct ma_trace *trace, struct ma_pop3 **out,
			    struct ma_error *err);

const struct ma_cert_info *ma_pop3_cert(const struct ma_pop3 *s);
bool ma_pop3_has_capa(const struct ma_pop3 *s, const char *name);

/* Whether CAPA (as last read: after STLS, the protected one) announces
 * LOGIN-DELAY (RFC 2449 6.5): a login now would keep the user's own POP3
 * program out for *seconds. *seconds is UINT32_MAX when the value is not a
 * number; a trailing "USER" (the delay may differ per user) is ignored. */
bool ma_pop3_login_delay(const struct ma_pop3 *s, uint32_t *seconds);

/* USER/PASS. Tells a wrong password ([AUTH]) from a locked mailbox
 * ([IN-USE]), LOGIN-DELAY, SYS/TEMP and SYS/PERM. */
ma_status ma_pop3_login(struct ma_pop3 *s, const char *login, const char *password,
			struct ma_error *err);

/* STAT only (cheap recount). */
ma_status ma_pop3_stat(struct ma_pop3 *s, uint32_t *count, uint64_t *size, struct ma_error *err);

/* STAT, UIDL (if supported), LIST and the CAPA lines into v. */
ma_status ma_pop3_scan(struct ma_pop3 *s, struct ma_pop3_view *v, struct ma_error *err);

/* ma_pop3_scan in two steps, so a caller can stop after STAT when the
 * mailbox is known unchanged: STAT and CAPA into v (cleared first), then
 * UIDL and LIST into the same v. On failure v is cleared. */
ma_status ma_pop3_scan_stat(struct ma_pop3 *s, struct ma_pop3_view *v, struct ma_error *err);
ma_status ma_pop3_scan_lists(struct ma_pop3 *s, struct ma_pop3_view *v, struct ma_error *err);

/* ma_pop3_scan_lists in steps, for a caller that knows the sizes of most
 * UIDLs already: UIDL alone into v (sizes 0; *have_uidl false, v
 * untouched, when the server refuses UIDL); then either LIST in full into
 * v's entries (a message UIDL did not name is a malformed reply), or
 * `LIST n` for each of e[0..n) (pipelined where CAPA says PIPELINING). A failure of the first two clears v. */
ma_status ma_pop3_scan_uidls(struct ma_pop3 *s, struct ma_pop3_view *v, bool *have_uidl,
			     struct ma_error *err);
ma_status ma_pop3_scan_sizes(struct ma_pop3 *s, struct ma_pop3_view *v, struct ma_error *err);
ma_status ma_pop3_list_each(struct ma_pop3 *s, struct ma_pop3_entry *const *e, size_t n,
			    struct ma_error *err);

/* `UIDL n` for each of numbers[0..n), pipelined as ma_pop3_list_each;
 * fn gets each UIDL (valid during the call) in order. A -ERR (no such
 * message) or a reply for another number is an error, after every reply
 * was read; fn is not called from then on. */
typedef void (*ma_pop3_uidl_fn)(uint32_t number, const char *uidl, void *ctx);
ma_status ma_pop3_uidl_each(struct ma_pop3 *s, const uint32_t *numbers, size_t n, ma_pop3_uidl_fn fn,
			    void *ctx, struct ma_error *err);

/* Whether a failure left the session unusable (see above): a refusal
 * (-ERR) does not. */
bool ma_pop3_broken(const struct ma_pop3 *s);

/* QUIT when healthy, then frees everything. Nothing was marked for
 * deletion, so QUIT's UPDATE state changes nothing. */
void ma_pop3_close(struct ma_pop3 *s);

#endif
