/* Server addresses as the user writes them: HOST[:PORT][/tls|/starttls|/plain]
 * (/ssl is /tls). Plain data and a parser: no I/O, no libetpan, so
 * configuration and reports can name servers without pulling in the
 * network layer; and what a server's greeting says it speaks, for naming
 * a wrong port. */
#ifndef MA_ENDPOINT_H
#define MA_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"

enum ma_security { MA_SEC_TLS, MA_SEC_STARTTLS, MA_SEC_PLAIN };
enum ma_proto { MA_PROTO_IMAP, MA_PROTO_POP3, MA_PROTO_SMTP };

/* HOST[:PORT][/tls|/ssl|/starttls|/plain]; "[v6]" literal accepted. */
struct ma_endpoint {
	char host[256];
	unsigned port;
	enum ma_security security;
};

/* Parses text into ep, filling the default port for proto and security.
 * On failure returns MA_ERR_ARGUMENT with the reason in err. */
ma_status ma_endpoint_parse(const char *text, size_t len, enum ma_proto proto,
			    struct ma_endpoint *ep, struct ma_error *err);
unsigned ma_default_port(enum ma_proto proto, enum ma_security sec);
/* The names of a security and a protocol, from one table each:
 * ma_security_name as the endpoint syntax spells it ("tls", "starttls",
 * "plain"); ma_security_label for people ("SSL/TLS", "STARTTLS", "no
 * encryption"); ma_security_short, the same for a table column ("none" for
 * plain); ma_proto_name "IMAP", "POP3", "SMTP". "?" for a value outside
 * the enum ("unknown" from ma_security_name). */
const char *ma_security_name(enum ma_security sec);
const char *ma_security_label(enum ma_security sec);
const char *ma_security_short(enum ma_security sec);
const char *ma_proto_name(enum ma_proto proto);

/* ---- naming a wrong port (the sessions' diagnosis) ---- */

/* Which protocol a server's first line is from: "+OK"/"-ERR" POP3, "* OK",
 * "* PREAUTH" or "* BYE" IMAP, three digits and a space or '-' SMTP (RFC
 * 5321 greeting). False for anything else (a TLS record, silence, junk). */
bool ma_greeting_proto(const char *line, size_t len, enum ma_proto *out);
/* 993, 995 and 465: the ports where TLS starts with the first byte (RFC
 * 8314), so a client that waits for a greeting in plain text waits for
 * ever. */
bool ma_port_implicit_tls(unsigned port);
/* "IMAP is on 993 (SSL/TLS) or 143 (STARTTLS)", into buf. */
void ma_proto_ports_text(enum ma_proto proto, char *buf, size_t len);

#endif
