/*
 * refclient: the benchmark's floor. Fetches over IMAPS and then POP3S exactly
 * what a first mailaudit audit fetches, with nothing but OpenSSL and the
 * cheapest client strategy: every command pipelined, replies read but not
 * parsed beyond finding each tagged completion (IMAP) or the terminating "."
 * (POP3). Only LIST replies are looked at, for the folder names.
 *
 *   refclient --host H --imap-port P --pop3-port P --user U
 *             --password-file F --ca-file CA
 *
 * The password comes from a file (first line), never from argv, where any
 * local user could read it in /proc. Prints one line of key=value counters
 * (bytes received as plain protocol text and as TLS records on the wire,
 * folders, FETCH replies, POP3 UIDL lines) and exits 0, or 1 on any failure.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* At most this many IMAP commands in flight: enough to hide every round
 * trip, small enough that our unread replies can never fill the socket
 * buffers while we are still writing (which would deadlock both sides). */
#define WINDOW 32

struct conn {
	SSL *ssl;
	int fd;
	unsigned char buf[65536];
	size_t off, len;
	uint64_t plain;           /* protocol bytes received (after TLS) */
	char *line;               /* the current line, CRLF stripped, NUL-terminated */
	size_t line_len, line_cap;
};

static const char *host, *user;
static char password[1024];

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("refclient: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void conn_open(struct conn *c, SSL_CTX *ctx, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		die("cannot resolve %s", host);
	c->fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0)
		die("cannot connect to %s:%s", host, port);
	freeaddrinfo(ai);
	/* Pipelined commands leave in small writes: do not let Nagle hold them. */
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
		die("SSL_new failed");
	/* Verify the name like a real client: an IP literal against the
	 * certificate's IP SAN, anything else as a host name (with SNI). */
	unsigned char a[16];
	if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host);
	} else {
		SSL_set1_host(c->ssl, host);
		SSL_set_tlsext_host_name(c->ssl, host);
	}
	if (SSL_connect(c->ssl) != 1)
		die("TLS handshake with %s:%s failed", host, port);
	c->off = c->len = 0;
	c->plain = 0;
}

/* Wire bytes: what the socket BIO under TLS has read, records and all. */
static uint64_t conn_close(struct conn *c)
{
	uint64_t wire = BIO_number_read(SSL_get_rbio(c->ssl));
	SSL_shutdown(c->ssl);
	SSL_free(c->ssl);
	close(c->fd);
	free(c->line);
	c->line = NULL;
	c->line_cap = 0;
	return wire;
}

static void send_str(struct conn *c, const char *s)
{
	size_t n = strlen(s);
	size_t done;
	if (SSL_write_ex(c->ssl, s, n, &done) != 1 || done != n)
		die("write failed");
}

static void fill(struct conn *c)
{
	if (c->off == c->len)
		c->off = c->len = 0;
	if (c->len == sizeof c->buf) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	size_t n;
	if (SSL_read_ex(c->ssl, c->buf + c->len, sizeof c->buf - c->len, &n) != 1)
		die("connection closed or read failed");
	c->len += n;
	c->plain += n;
}

static void line_add(struct conn *c, const unsigned char *p, size_t n)
{
	if (c->line_len + n + 1 > c->line_cap) {
		size_t cap = c->line_cap ? c->line_cap : 4096;
		while (cap < c->line_len + n + 1)
			cap *= 2;
		char *nl = realloc(c->line, cap);
		if (!nl)
			die("out of memory");
		c->line = nl;
		c->line_cap = cap;
	}
	memcpy(c->line + c->line_len, p, n);
	c->line_len += n;
	c->line[c->line_len] = '\0';
}

/* One line into c->line without its CRLF. Lines may be long (UID SEARCH ALL
 * at 100,000 messages is ~600 KB), so the line buffer grows. */
static void read_line(struct conn *c)
{
	c->line_len = 0;
	line_add(c, (const unsigned char *)"", 0);
	for (;;) {
		if (c->off == c->len)
			fill(c);
		unsigned char *s = c->buf + c->off;
		unsigned char *nl = memchr(s, '\n', c->len - c->off);
		size_t n = nl ? (size_t)(nl - s) + 1 : c->len - c->off;
		line_add(c, s, n);
		c->off += n;
		if (nl)
			break;
	}
	while (c->line_len && (c->line[c->line_len - 1] == '\n' || c->line[c->line_len - 1] == '\r'))
		c->line[--c->line_len] = '\0';
}

static void skip_bytes(struct conn *c, uint64_t n)
{
	while (n) {
		if (c->off == c->len)
			fill(c);
		size_t k = c->len - c->off < n ? c->len - c->off : (size_t)n;
		c->off += k;
		n -= k;
	}
}

/* A line ending in {N} (or {N+}) announces an N-byte literal. */
static int literal_size(const char *l, size_t len, uint64_t *n)
{
	if (len < 3 || l[len - 1] != '}')
		return 0;
	size_t i = len - 2;
	if (l[i] == '+')
		i--;
	size_t end = i + 1;
	while (i > 0 && l[i] >= '0' && l[i] <= '9')
		i--;
	if (l[i] != '{' || i + 1 == end)
		return 0;
	*n = strtoull(l + i + 1, NULL, 10);
	return 1;
}

/* ---- IMAP ------------------------------------------------------------ */

struct imap {
	struct conn c;
	unsigned next_tag, done_tag;  /* tags sent / completions seen so far */
	char **folders;
	size_t nfolders;
	unsigned long fetches;
	int want_list;
};

/* Quoted string for a command; our names and credentials have no CR/LF. */
static char *quote(const char *s)
{
	char *q = malloc(strlen(s) * 2 + 3), *p = q;
	if (!q)
		die("out of memory");
	*p++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

/* The mailbox name: the last token of "* LIST (flags) "/" name", as
 * Dovecot sends it (quoted string or atom). Noselect folders are skipped. */
static void note_list(struct imap *im, const char *l)
{
	if (strncmp(l, "* LIST ", 7) != 0 || strstr(l, "\\Noselect") || strstr(l, "\\NonExistent"))
		return;
	const char *p = strrchr(l, ' ');
	size_t len = strlen(l);
	char *name;
	if (l[len - 1] == '"') {
		/* scan back to the opening quote, honouring backslash escapes */
		const char *e = l + len - 1, *b = e - 1;
		while (b > l && !(*b == '"' && b[-1] != '\\'))
			b--;
		name = malloc((size_t)(e - b));
		size_t k = 0;
		for (const char *s = b + 1; s < e; s++) {
			if (*s == '\\')
				s++;
			name[k++] = *s;
		}
		name[k] = '\0';
	} else {
		name = strdup(p + 1);
	}
	im->folders = realloc(im->folders, (im->nfolders + 1) * sizeof *im->folders);
	if (!im->folders || !name)
		die("out of memory");
	im->folders[im->nfolders++] = name;
}

/* Reads one whole response: a line plus any literals and continuations.
 * A tagged one completes the oldest command in flight (tags are sequential
 * and the server answers in order). */
static void imap_response(struct imap *im)
{
	struct conn *c = &im->c;
	read_line(c);
	if (c->line[0] == 'a') {
		const char *sp = strchr(c->line, ' ');
		if (!sp || strncmp(sp, " OK", 3) != 0)
			die("IMAP command failed: %s", c->line);
		im->done_tag++;
		return;
	}
	if (im->want_list)
		note_list(im, c->line);
	if (strncmp(c->line, "* ", 2) == 0 && strstr(c->line, " FETCH ("))
		im->fetches++;
	uint64_t n;
	while (literal_size(c->line, c->line_len, &n)) {
		skip_bytes(c, n);
		read_line(c);
	}
}

/* Sends a command now if the window allows, reading replies until it does. */
static void imap_cmd(struct imap *im, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	int k = snprintf(cmd, sizeof cmd, "a%u ", ++im->next_tag);
	vsnprintf(cmd + k, sizeof cmd - (size_t)k, fmt, ap);
	va_end(ap);
	strncat(cmd, "\r\n", sizeof cmd - strlen(cmd) - 1);
	while (im->next_tag - im->done_tag > WINDOW)
		imap_response(im);
	send_str(&im->c, cmd);
}

static void imap_drain(struct imap *im)
{
	while (im->done_tag < im->next_tag)
		imap_response(im);
}

static uint64_t run_imap(SSL_CTX *ctx, const char *port, uint64_t *wire, unsigned long *fetches,
			 size_t *nfolders)
{
	struct imap im = { 0 };
	conn_open(&im.c, ctx, port);
	read_line(&im.c);  /* greeting */
	if (strncmp(im.c.line, "* OK", 4) != 0)
		die("IMAP greeting: %s", im.c.line);

	/* LOGIN and LIST pipelined; LIST must complete before the rest,
	 * which needs its folder names. */
	char *qu = quote(user), *qp = quote(password);
	imap_cmd(&im, "LOGIN %s %s", qu, qp);
	OPENSSL_cleanse(qp, strlen(qp));
	free(qu);
	free(qp);
	im.want_list = 1;
	imap_cmd(&im, "LIST \"\" \"*\"");
	imap_drain(&im);
	im.want_list = 0;

	/* Every STATUS first (Dovecot answers STATUS of a folder cheaply
	 * while no other folder is open), then each folder in turn. */
	for (size_t i = 0; i < im.nfolders; i++) {
		char *q = quote(im.folders[i]);
		imap_cmd(&im, "STATUS %s (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)", q);
		free(q);
	}
	for (size_t i = 0; i < im.nfolders; i++) {
		char *q = quote(im.folders[i]);
		/* No UID SEARCH: a first audit knows no UID yet, so it has
		 * nothing to split and fetches every message. */
		imap_cmd(&im, "EXAMINE %s", q);
		imap_cmd(&im, "UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE "
			      "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)])");
		free(q);
	}
	imap_cmd(&im, "LOGOUT");
	imap_drain(&im);

	uint64_t plain = im.c.plain;
	*wire = conn_close(&im.c);
	*fetches = im.fetches;
	*nfolders = im.nfolders;
	for (size_t i = 0; i < im.nfolders; i++)
		free(im.folders[i]);
	free(im.folders);
	return plain;
}

/* ---- POP3 ------------------------------------------------------------ */

static void pop3_status(struct conn *c, const char *what)
{
	read_line(c);
	if (strncmp(c->line, "+OK", 3) != 0)
		die("POP3 %s: %s", what, c->line);
}

/* A multi-line reply ends with a line of a single "."; counts its lines. */
static unsigned long pop3_multi(struct conn *c, const char *what)
{
	unsigned long n = 0;
	pop3_status(c, what);
	for (;;) {
		read_line(c);
		if (c->line[0] == '.' && c->line[1] == '\0')
			return n;
		n++;
	}
}

static uint64_t run_pop3(SSL_CTX *ctx, const char *port, uint64_t *wire, unsigned long *uidls)
{
	struct conn c = { 0 };
	conn_open(&c, ctx, port);
	pop3_status(&c, "greeting");
	/* Everything in one write (RFC 2449 PIPELINING, which Dovecot offers):
	 * the floor pays a single round trip. */
	char cmds[2200];
	snprintf(cmds, sizeof cmds, "USER %s\r\nPASS %s\r\nSTAT\r\nUIDL\r\nLIST\r\nQUIT\r\n", user, password);
	send_str(&c, cmds);
	OPENSSL_cleanse(cmds, sizeof cmds);
	pop3_status(&c, "USER");
	pop3_status(&c, "PASS");
	pop3_status(&c, "STAT");
	*uidls = pop3_multi(&c, "UIDL");
	pop3_multi(&c, "LIST");
	pop3_status(&c, "QUIT");
	uint64_t plain = c.plain;
	*wire = conn_close(&c);
	return plain;
}

int main(int argc, char **argv)
{
	const char *imap_port = NULL, *pop3_port = NULL, *passfile = NULL, *ca = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--host")) host = argv[i + 1];
		else if (!strcmp(argv[i], "--imap-port")) imap_port = argv[i + 1];
		else if (!strcmp(argv[i], "--pop3-port")) pop3_port = argv[i + 1];
		else if (!strcmp(argv[i], "--user")) user = argv[i + 1];
		else if (!strcmp(argv[i], "--password-file")) passfile = argv[i + 1];
		else if (!strcmp(argv[i], "--ca-file")) ca = argv[i + 1];
		else die("unknown option %s", argv[i]);
	}
	if (!host || !imap_port || !pop3_port || !user || !passfile || !ca)
		die("usage: refclient --host H --imap-port P --pop3-port P --user U --password-file F --ca-file CA");
	if (strpbrk(user, "\r\n"))
		die("bad user name");
	FILE *f = fopen(passfile, "r");
	if (!f || !fgets(password, sizeof password, f))
		die("cannot read %s", passfile);
	fclose(f);
	password[strcspn(password, "\r\n")] = '\0';

	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		die("cannot load CA %s", ca);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);

	uint64_t iw, pw;
	unsigned long fetches, uidls;
	size_t nfolders;
	uint64_t ip = run_imap(ctx, imap_port, &iw, &fetches, &nfolders);
	uint64_t pp = run_pop3(ctx, pop3_port, &pw, &uidls);
	OPENSSL_cleanse(password, sizeof password);
	SSL_CTX_free(ctx);
	printf("imap_plain=%llu imap_wire=%llu pop3_plain=%llu pop3_wire=%llu plain=%llu wire=%llu "
	       "folders=%zu fetched=%lu uidl=%lu\n",
	       (unsigned long long)ip, (unsigned long long)iw, (unsigned long long)pp, (unsigned long long)pw,
	       (unsigned long long)(ip + pp), (unsigned long long)(iw + pw), nfolders, fetches, uidls);
	return 0;
}
