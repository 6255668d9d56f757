/* Server addresses as the user types them: HOST[:PORT][/tls|/ssl|/starttls|/plain].
 *
 * Errors are sentences for the mailbox owner. They quote what was typed
 * only after replacing anything unprintable, so a pasted escape sequence
 * never reaches the terminal through an error message. */
#include "net/endpoint.h"
#include "base/i18n.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 253 /* longest DNS name */

unsigned ma_default_port(enum ma_proto proto, enum ma_security sec)
{
	bool tls = sec == MA_SEC_TLS;
	switch (proto) {
	case MA_PROTO_IMAP:
		return tls ? 993 : 143;
	case MA_PROTO_POP3:
		return tls ? 995 : 110;
	case MA_PROTO_SMTP:
		return tls ? 465 : 587;
	}
	return 0;
}

static const struct {
	const char *name, *label, *short_label;
} security[] = {
	[MA_SEC_TLS] = { "tls", "SSL/TLS", "SSL/TLS" },
	[MA_SEC_STARTTLS] = { "starttls", "STARTTLS", "STARTTLS" },
	[MA_SEC_PLAIN] = { "plain", "no encryption", "none" },
};
#define NSECURITY (sizeof security / sizeof security[0])

static const char *const proto_names[] = {
	[MA_PROTO_IMAP] = "IMAP", [MA_PROTO_POP3] = "POP3", [MA_PROTO_SMTP] = "SMTP",
};

const char *ma_security_name(enum ma_security sec)
{
	return (unsigned)sec < NSECURITY ? security[sec].name : "unknown";
}

const char *ma_security_label(enum ma_security sec)
{
	return (unsigned)sec < NSECURITY ? security[sec].label : "?";
}

const char *ma_security_short(enum ma_security sec)
{
	return (unsigned)sec < NSECURITY ? security[sec].short_label : "?";
}

const char *ma_proto_name(enum ma_proto proto)
{
	return (unsigned)proto < sizeof proto_names / sizeof proto_names[0] ? proto_names[proto] : "?";
}

bool ma_greeting_proto(const char *line, size_t len, enum ma_proto *out)
{
	if (!line)
		return false;
	if ((len >= 3 && memcmp(line, "+OK", 3) == 0) || (len >= 4 && memcmp(line, "-ERR", 4) == 0)) {
		*out = MA_PROTO_POP3;
		return true;
	}
	static const char *const imap[] = { "* OK", "* PREAUTH", "* BYE" };
	for (size_t i = 0; i < sizeof imap / sizeof imap[0]; i++) {
		size_t n = strlen(imap[i]);
		if (len >= n && strncasecmp(line, imap[i], n) == 0 && (len == n || line[n] == ' ')) {
			*out = MA_PROTO_IMAP;
			return true;
		}
	}
	if (len >= 4 && line[0] >= '1' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' &&
	    line[2] >= '0' && line[2] <= '9' && (line[3] == ' ' || line[3] == '-')) {
		*out = MA_PROTO_SMTP;
		return true;
	}
	return false;
}

bool ma_port_implicit_tls(unsigned port)
{
	return port == ma_default_port(MA_PROTO_IMAP, MA_SEC_TLS) ||
	       port == ma_default_port(MA_PROTO_POP3, MA_SEC_TLS) ||
	       port == ma_default_port(MA_PROTO_SMTP, MA_SEC_TLS);
}

void ma_proto_ports_text(enum ma_proto proto, char *buf, size_t len)
{
	snprintf(buf, len, _("%s is on %u (%s) or %u (%s)"), ma_proto_name(proto),
		 ma_default_port(proto, MA_SEC_TLS), ma_security_label(MA_SEC_TLS),
		 ma_default_port(proto, MA_SEC_STARTTLS), ma_security_label(MA_SEC_STARTTLS));
}

/* A short printable copy of user text for an error message. */
static const char *quote(const char *s, size_t n, char *buf, size_t size)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 4 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n > 0 && k < n && k + 4 <= size) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = '\0';
	return buf;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

static bool is_ipv6_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       c == ':' || c == '.';
}

ma_status ma_endpoint_parse(const char *text, size_t len, enum ma_proto proto,
			    struct ma_endpoint *ep, struct ma_error *err)
{
	char q[48];
	struct ma_endpoint e = { .security = MA_SEC_TLS };
	if (!text)
		len = 0;
	while (len && is_space(text[0]))
		text++, len--;
	while (len && is_space(text[len - 1]))
		len--;
	if (len == 0)
		return ma_fail(err, MA_ERR_ARGUMENT, _("The server address is empty."));

	const char *slash = memchr(text, '/', len);
	if (slash) {
		const char *sfx = slash + 1;
		size_t n = len - (size_t)(sfx - text);
		/* "SSL/TLS" is what providers' tables say; SSL is TLS's old name. */
		if ((n == 3 && strncasecmp(sfx, "tls", 3) == 0) || (n == 3 && strncasecmp(sfx, "ssl", 3) == 0))
			e.security = MA_SEC_TLS;
		else if (n == 8 && strncasecmp(sfx, "starttls", 8) == 0)
			e.security = MA_SEC_STARTTLS;
		else if (n == 5 && strncasecmp(sfx, "plain", 5) == 0)
			e.security = MA_SEC_PLAIN;
		else
			return ma_fail(err, MA_ERR_ARGUMENT,
				       _("\"/%s\" after the server name is not a known security "
				       "setting; use /tls (or /ssl), /starttls or /plain."),
				       quote(sfx, n, q, sizeof q));
		len = (size_t)(slash - text);
	}

	const char *host = text, *port = NULL;
	size_t host_len, port_len = 0;
	bool v6 = len > 0 && text[0] == '[';
	if (v6) {
		const char *close = memchr(text, ']', len);
		if (!close)
			return ma_fail(err, MA_ERR_ARGUMENT,
				       _("The IPv6 address has no closing bracket; write it as "
				       "[2001:db8::1]:993."));
		host = text + 1;
		host_len = (size_t)(close - host);
		const char *rest = close + 1;
		size_t rest_len = len - (size_t)(rest - text);
		if (rest_len && rest[0] != ':')
			return ma_fail(err, MA_ERR_ARGUMENT,
				       _("Unexpected \"%s\" after the IPv6 address; write it as "
				       "[2001:db8::1]:993."), quote(rest, rest_len, q, sizeof q));
		if (rest_len)
			port = rest + 1, port_len = rest_len - 1;
	} else {
		const char *colon = memchr(text, ':', len);
		host_len = colon ? (size_t)(colon - text) : len;
		if (colon && memchr(colon + 1, ':', len - host_len - 1))
			return ma_fail(err, MA_ERR_ARGUMENT,
				       _("An IPv6 address must be written in brackets, for "
				       "example [2001:db8::1]:993."));
		if (colon)
			port = colon + 1, port_len = len - host_len - 1;
	}

	if (host_len == 0)
		return ma_fail(err, MA_ERR_ARGUMENT, _("The server name is missing."));
	if (host_len > HOST_MAX)
		return ma_fail(err, MA_ERR_ARGUMENT,
			       _("The server name is too long (more than %d characters)."), HOST_MAX);
	bool has_colon = false;
	for (size_t i = 0; i < host_len; i++) {
		char c = host[i];
		has_colon |= c == ':';
		if (v6 ? is_ipv6_char(c) : is_host_char(c))
			continue;
		if ((unsigned char)c > 0x20 && (unsigned char)c < 0x7f)
			return ma_fail(err, MA_ERR_ARGUMENT,
				       _("The server name \"%s\" contains '%c', which is not "
				       "allowed there."), quote(host, host_len, q, sizeof q), c);
		return ma_fail(err, MA_ERR_ARGUMENT,
			       _("The server name contains a space or an invisible character."));
	}
	if (v6 && !has_colon)
		return ma_fail(err, MA_ERR_ARGUMENT,
			       _("\"%s\" in brackets is not an IPv6 address."),
			       quote(host, host_len, q, sizeof q));
	if (!v6 && host[0] == '-')
		return ma_fail(err, MA_ERR_ARGUMENT,
			       _("The server name cannot start with '-'."));

	e.port = ma_default_port(proto, e.security);
	if (port) {
		unsigned long v = 0;
		bool ok = port_len > 0 && port_len <= 5;
		for (size_t i = 0; ok && i < port_len; i++) {
			ok = port[i] >= '0' && port[i] <= '9';
			if (ok)
				v = v * 10 + (unsigned long)(port[i] - '0');
		}
		if (!ok || v == 0 || v > 65535)
			return ma_fail(err, MA_ERR_ARGUMENT,
				       _("The port \"%s\" is not a number from 1 to 65535."),
				       quote(port, port_len, q, sizeof q));
		e.port = (unsigned)v;
	}

	memcpy(e.host, host, host_len);
	e.host[host_len] = '\0';
	if (ep)
		*ep = e;
	return MA_OK;
}
