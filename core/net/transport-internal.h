/* Shared between transport.c (sockets, driver) and tls.c (handshake,
 * certificates). Nothing outside those two files includes this. */
#ifndef MA_TRANSPORT_INTERNAL_H
#define MA_TRANSPORT_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <netinet/in.h>
#include <openssl/ssl.h>

#include "base/text.h"   /* ma_now_ms */
#include "net/transport.h"

struct ma_conn {
	int fd;                   /* owned: closed by ma_conn_free only */
	SSL *ssl;                 /* owned; NULL until start_tls */
	SSL_CTX *ctx;             /* own reference; NULL for plain endpoints */
	bool tls_up;              /* handshake finished */
	bool tls_broken;          /* fatal TLS error: no close_notify */
	atomic_bool killed;       /* ma_conn_kill, from any thread */

	char host[256];           /* as asked for: SNI, name check, messages */
	char addr[INET6_ADDRSTRLEN]; /* the address actually connected to */
	unsigned port;
	char source_addr[INET6_ADDRSTRLEN];
	bool insecure;
	int cancel_fd;
	_Atomic uint64_t *bytes_in; /* opts->bytes_in: shared, not owned */
	int timeout_ms;
	int64_t deadline_ms;      /* monotonic; 0 = none */
	bool run_deadline;        /* deadline_ms is the run's (--deadline), not the session's */
	int64_t reply_until_ms;   /* the current reply must be complete by then */

	/* Reply limits (ma_conn_set_limits), checked on every byte read. */
	struct {
		uint64_t max_literal, max_reply;
		uint64_t used;        /* bytes since our last write */
		uint64_t lit_left;    /* bytes of a literal still to come */
		uint64_t num;         /* size of the literal being announced */
		int state;            /* GUARD_* in transport.c: how far into "{N}" CRLF */
		int pf;               /* PF_* in transport.c: where in a PERMANENTFLAGS code */
	} guard;

	/* [ALERT] lines (alert_watch in transport.c), fed by the guard with
	 * every byte outside literals; only while the guard watches literals. */
	struct {
		int state;            /* ALERT_* in transport.c: where in the line */
		unsigned head;        /* bytes of the line before its text */
		unsigned char kw[8];  /* the response's keyword so far ("PREAUTH") */
		unsigned kw_len;
		unsigned code_len;    /* bytes of "[ALERT]" matched */
		char text[MA_CONN_ALERT_MAX_LEN + 1]; /* one more: is the cut mid-character? */
		size_t text_len;
		char *kept[MA_CONN_MAX_ALERTS];
		size_t nkept;
	} alerts;

	struct ma_cert_info cert;
	struct ma_error verdict;  /* the certificate's (tls.c), once a handshake ran */
	ma_status last_error;
	char last_detail[256];
};

int64_t ma_conn_wait_limit(const struct ma_conn *c);
/* The run's deadline (ma_net_opts.run_deadline_ms) has passed: a wait that
 * ended now ended because of it, which is MA_ERR_DEADLINE, not a timeout. */
bool ma_conn_run_deadline_passed(const struct ma_conn *c);
/* MA_OK when fd is ready for events, else MA_ERR_READ_TIMEOUT (until_ms,
 * monotonic, passed), MA_ERR_CANCELLED or MA_ERR_NETWORK. */
ma_status ma_wait_fd(int fd, short events, int cancel_fd, int64_t until_ms);
void ma_conn_set_error(struct ma_conn *c, ma_status st, const char *detail);

SSL_CTX *ma_tls_ctx_ref(struct ma_tls *t);
void ma_tls_ctx_unref(SSL_CTX *ctx);       /* NULL ok */
void ma_tls_close(struct ma_conn *c);      /* close_notify if sane, free SSL */
/* A readable reason for an OpenSSL error code; during a handshake with a
 * hint when the reason has a usual cause. */
void ma_tls_reason(unsigned long code, bool handshake, char *buf, size_t len);

#endif
