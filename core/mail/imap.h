/* A read-only IMAP session: libetpan speaks the protocol over our transport.
 *
 * Read-only by construction: this interface offers EXAMINE, STATUS, LIST,
 * UID SEARCH and UID FETCH of BODY.PEEK items only. There is no way to
 * SELECT, STORE, EXPUNGE, COPY or MOVE through it.
 *
 * Ownership: ma_imap_open returns a session the caller frees with
 * ma_imap_close (NULL ok). Folder arrays from ma_imap_list belong to the
 * caller (ma_folder_clear each, then free the array); UID arrays from
 * ma_imap_search likewise (free). After any failure that broke the
 * connection every further call returns the same error at once: libetpan
 * must not be called on a dead stream. One session per thread. */
#ifndef MA_IMAP_H
#define MA_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/model.h"
#include "base/status.h"
#include "net/trace.h"
#include "net/endpoint.h"
#include "net/net.h"

struct ma_imap;

/* Connects, reads the greeting, upgrades with STARTTLS for
 * MA_SEC_STARTTLS (refusing if the server does not offer it), and reads the
 * capabilities (again after TLS: the plaintext ones may have been forged). */
ma_status ma_imap_open(const struct ma_endpoint *ep, const struct ma_net_opts *net,
		       struct ma_trace *trace, struct ma_imap **out, struct ma_error *err);

/* The same, its trace lines marked trace_name (a static string) instead of
 * "imap": for a second session of the same audit. */
ma_status ma_imap_open_as(const struct ma_endpoint *ep, const struct ma_net_opts *net,
			  struct ma_trace *trace, const char *trace_name, struct ma_imap **out,
			  struct ma_error *err);

/* The same over a connection already made (tests and fuzzing build it
 * with ma_conn_from_fd). Takes c, freed with the session or on failure.
 * label names the server in messages ("host:port"); security says whether
 * to send STARTTLS; insecure is net->insecure. */
ma_status ma_imap_open_conn(struct ma_conn *c, const char *label, enum ma_security security,
			    bool insecure, struct ma_trace *trace, struct ma_imap **out,
			    struct ma_error *err);

bool ma_imap_has_cap(const struct ma_imap *s, const char *name);
/* The [ALERT] texts the server sent so far (greeting, login and every
 * later command's response, all of a response's), raw, each text once, in
 * order, at most MA_CONN_MAX_ALERTS of MA_CONN_ALERT_MAX_LEN bytes; after
 * STARTTLS only those sent over TLS. Owned by s (ma_conn_alerts). */
const char *const *ma_imap_alerts(const struct ma_imap *s, size_t *n);
/* Space-separated capability list for the report; owned by s. */
const char *ma_imap_caps(const struct ma_imap *s);
const struct ma_cert_info *ma_imap_cert(const struct ma_imap *s);

/* LOGIN, or AUTHENTICATE PLAIN (SASL-IR) when the password is not 7-bit.
 * Refuses CR, LF or NUL in either string before anything is sent. */
ma_status ma_imap_login(struct ma_imap *s, const char *login, const char *password,
			struct ma_error *err);

/* LIST "" "*": fills name (decoded to UTF-8), raw_name, delimiter, noselect
 * and special (RFC 6154 attributes the server reports in LIST). */
ma_status ma_imap_list(struct ma_imap *s, struct ma_folder **folders, size_t *n,
		       struct ma_error *err);
/* STATUS (MESSAGES UIDNEXT UIDVALIDITY UNSEEN) of f->raw_name into f. A
 * message count past UIDNEXT - 1 (MA_ERR_PROTOCOL) or past 10,000,000
 * (MA_ERR_TOO_LARGE) is refused, f unchanged, and ends the session (as
 * broken); for EXAMINE's EXISTS too. */
ma_status ma_imap_status(struct ma_imap *s, struct ma_folder *f, struct ma_error *err);
/* EXAMINE f->raw_name (read-only open); updates messages/uidnext/uidvalidity. */
ma_status ma_imap_examine(struct ma_imap *s, struct ma_folder *f, struct ma_error *err);
/* UID SEARCH ALL in the examined folder; *uids ascending, each once,
 * caller frees. */
ma_status ma_imap_search_all(struct ma_imap *s, uint32_t **uids, size_t *n,
			     struct ma_error *err);

/* UID SEARCH DELETED: the UIDs flagged \Deleted, ascending, each once,
 * caller frees. */
ma_status ma_imap_search_deleted(struct ma_imap *s, uint32_t **uids, size_t *n,
				 struct ma_error *err);

/* Called once per fetched message. The callback may take the strings out of
 * m (set the pointers to NULL); whatever is left is freed after it returns.
 * Return non-zero to stop the fetch (reported as MA_ERR_CANCELLED). */
typedef int (*ma_imap_msg_cb)(struct ma_message *m, void *ctx);

/* Every fetch hands each message to the callback once: a FETCH response
 * for a UID already handed over, or for a message not asked for (an
 * unsolicited flag update), is not one; one with only UID and FLAGS where
 * more was asked counts only if no full answer for its UID came. */

/* UID FETCH of the given UIDs (ascending, each once: MA_ERR_ARGUMENT
 * otherwise) in bounded chunks: UID FLAGS RFC822.SIZE
 * INTERNALDATE, and with headers also
 * BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)], parsed by
 * ma_parse_header_fields_raw: m->from and m->subject are raw, to be
 * decoded with ma_rfc2047_decode before they are shown. */
ma_status ma_imap_fetch(struct ma_imap *s, const uint32_t *uids, size_t n, bool headers,
			ma_imap_msg_cb cb, void *ctx, struct ma_error *err);

/* UID FETCH of UID FLAGS only: for UIDs whose size, date and headers are
 * already known (they never change for a UID); m->size stays 0. */
ma_status ma_imap_fetch_flags(struct ma_imap *s, const uint32_t *uids, size_t n,
			      ma_imap_msg_cb cb, void *ctx, struct ma_error *err);

/* Every message of the examined folder, 1..count by sequence number (count
 * from EXAMINE's EXISTS), with the same items as ma_imap_fetch: for a
 * folder whose UIDs are all new, this spares the UID SEARCH. A message
 * expunged meanwhile by another session may be missing or refused (NO).
 * A command answered without its last message ends the fetch with
 * MA_ERR_PROTOCOL and the session (the folder holds fewer than count): no
 * command is sent for messages past the last one the server has. */
ma_status ma_imap_fetch_all(struct ma_imap *s, uint32_t count, bool headers, ma_imap_msg_cb cb,
			    void *ctx, struct ma_error *err);

/* Hands out the next UID range for ma_imap_fetch_ranges (true), or says
 * none is left (false). Called on the fetching session's thread. */
typedef bool (*ma_imap_range_cb)(uint32_t *lo, uint32_t *hi, void *ctx);

/* UID FETCH lo:hi of each range next hands out, with the items of
 * ma_imap_fetch, several in flight. Two sessions can share one folder's
 * ranges (next locks): a UID always names the same message, so disjoint
 * ranges neither miss nor repeat one, whatever else happens meanwhile. */
ma_status ma_imap_fetch_ranges(struct ma_imap *s, ma_imap_range_cb next, void *next_ctx,
			       bool headers, ma_imap_msg_cb cb, void *ctx, struct ma_error *err);

/* ---- Incremental looks (RFC 7162) ----
 *
 * Where the server offers CONDSTORE, ma_imap_examine from then on sends
 * EXAMINE box (CONDSTORE) and sets f->modseq to HIGHESTMODSEQ (0 for
 * NOMODSEQ); where it also offers QRESYNC and ENABLE, ENABLE QRESYNC (per
 * session: nothing another client sees changes); *enabled says whether
 * that took. A refusal is not an error (the session goes on without). */
ma_status ma_imap_enable_qresync(struct ma_imap *s, bool *enabled, struct ma_error *err);
bool ma_imap_qresync(const struct ma_imap *s);
bool ma_imap_condstore(const struct ma_imap *s);

/* A count of EXISTS, EXPUNGE and VANISHED (without EARLIER) responses the
 * session's fetches have met: the folder changed while it was read. */
unsigned ma_imap_events(const struct ma_imap *s);

/* UID SEARCH UID lo:* in the examined folder, only UIDs >= lo (ascending,
 * each once, caller frees). */
ma_status ma_imap_search_from(struct ma_imap *s, uint32_t lo, uint32_t **uids, size_t *n,
			      struct ma_error *err);

/* A range of UIDs the server reports expunged (VANISHED (EARLIER)), lo <= hi;
 * it may include UIDs never known to the caller. */
typedef void (*ma_imap_vanished_cb)(uint32_t lo, uint32_t hi, void *ctx);

/* UID FETCH 1:hi (UID FLAGS) (CHANGEDSINCE modseq VANISHED), CONDSTORE
 * offered: cb gets each message in 1..hi whose flags changed since modseq
 * (m->size 0; ctx is passed to both callbacks), vanished the UIDs expunged
 * since then. Without QRESYNC there is no VANISHED: vanished is never
 * called, and expunges are the caller's to find (UID SEARCH ALL). */
ma_status ma_imap_fetch_changed(struct ma_imap *s, uint32_t hi, uint64_t modseq,
				ma_imap_vanished_cb vanished, ma_imap_msg_cb cb, void *ctx,
				struct ma_error *err);

/* Whether the connection is past use (a stream or protocol failure): every
 * further call would fail the same way. */
bool ma_imap_broken(const struct ma_imap *s);

/* LOGOUT when the connection is healthy, then frees everything. */
void ma_imap_close(struct ma_imap *s);

#endif
