/* core/net: the network layer. What every connection of a run shares, as
 * plain data, without libetpan: the settings (ma_net_opts), the loaded
 * trust store (ma_tls) and what the report shows about a TLS connection
 * (ma_cert_info). The audit, the configuration, the report and the screens
 * use these; only the sessions need the connection itself.
 *
 *   net.h         this: settings, TLS trust store, certificate facts
 *   endpoint.h    HOST[:PORT][/tls|/starttls|/plain] (plain data, a parser)
 *   transport.h   one connection, and the libetpan driver over it
 *   dns.h         DNS facts for the connection doctor
 *   trace.h       the --trace file
 *
 * Ownership: a ma_tls made by ma_tls_new belongs to the caller, who frees
 * it with ma_tls_free; connections made with it keep their own reference. */
#ifndef MA_NET_H
#define MA_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/status.h"

struct ma_tls;   /* TLS settings (trust store, minimum version), see ma_tls_new */
struct ma_conn;  /* one TCP connection, optionally in TLS: transport.h works with it */

/* Connection settings shared by every session of one run. */
struct ma_net_opts {
	const char *ca_file;      /* NULL: the system CA store */
	bool insecure;            /* skip certificate checks (user asked) */
	int timeout_s;            /* connect timeout and idle timeout per read; <= 0: 30 */
	int deadline_s;           /* whole-session limit, 0 = none */
	/* The end of the whole run (--deadline), on ma_now_ms()'s clock: every
	 * connection of the run, whenever it was opened, stops there with
	 * MA_ERR_DEADLINE. 0 = none. */
	int64_t run_deadline_ms;
	const char *source_addr;  /* bind before connect (tests use 127.0.0.2); NULL = any */
	int cancel_fd;            /* readable => cancel everything; -1 = none */
	struct ma_tls *tls;       /* from ma_tls_new(), shared by sessions and threads;
	                           * NULL: each connection builds its own from the above */
	/* NULL, or where every connection opened with these options adds
	 * the bytes it receives (decrypted), from any thread. */
	_Atomic uint64_t *bytes_in;
};

/* Builds the TLS settings of one run from opts->ca_file (insecure is read
 * per connection): loading a CA store costs time, so sessions share one.
 * Thread-safe once made.
 * A missing or unreadable ca_file gives MA_ERR_ARGUMENT naming the file.
 * Connections keep their own reference: free it whenever convenient. */
ma_status ma_tls_new(const struct ma_net_opts *opts, struct ma_tls **out,
		     struct ma_error *err);
void ma_tls_free(struct ma_tls *tls);  /* NULL ok */

/* What the report shows about a TLS connection. */
struct ma_cert_info {
	bool present;
	char subject[256];
	char issuer[256];
	char sans[512];           /* "DNS:a, DNS:b, IP:1.2.3.4" */
	char not_before[32];      /* "2026-01-01 00:00:00 UTC" */
	char not_after[32];
	time_t not_after_t;
	char sha256[100];         /* "AB:CD:..." */
	char tls_version[16];
	char cipher[64];
	long verify_result;       /* X509_V_OK ... */
	char verify_text[128];
	bool verified;            /* chain and name both checked and good */
};

/* Process-wide set-up: ignore SIGPIPE, initialise OpenSSL. Idempotent. */
void ma_transport_init(void);

#endif
