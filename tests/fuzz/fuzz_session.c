/* libFuzzer target for the whole IMAP and POP3 client paths (core/mail/imap.c,
 * core/mail/pop3.c, libetpan underneath, our transport driver, the trace) fed by
 * a scripted server.
 *
 * Input: one mode byte, then the bytes "the server" sends, verbatim.
 *   bit 0      0 = IMAP, 1 = POP3
 *   bit 1      security STARTTLS (the STARTTLS/STLS command and the
 *              injection check run; the handshake itself then fails at once:
 *              a socketpair connection has no TLS context)
 *   bit 2      IMAP: fetch with headers
 *   bit 3      write a --trace (into a memfd, never to disk)
 *   bit 4      password with 8-bit bytes (IMAP: AUTHENTICATE PLAIN if offered)
 *   bits 5-7   IMAP: the fetch callback stops after that many messages
 *              (0 = never)
 *
 * A thread plays the server on one end of a socketpair: it writes the whole
 * transcript (as fast as the client reads it), then shuts its sending side
 * (EOF), and all along reads and discards whatever the client sends. The
 * client runs the same calls as a real audit:
 *   IMAP: open, login, list, then per folder status, examine, search, fetch;
 *         close.
 *   POP3: open, login, scan, stat, close.
 * and the results are checked against what the headers promise (screen-safe
 * text, ascending entries, consistent errors). The fake server also checks
 * every command line it receives: nothing that changes the mailbox (SELECT,
 * STORE, EXPUNGE, ..., POP3 DELE/RETR/RSET) may ever be sent.
 *
 *   tests/fuzz/build.sh build-fuzz && build-fuzz/fuzz_session tests/fuzz/corpus/session
 *
 * Debugging one input: MA_FUZZ_DEBUG=1 prints each step's status, and
 * MA_FUZZ_TRACE=FILE writes the trace (mode bit 3) there instead.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mail/imap.h"
#include "base/parse.h"
#include "mail/pop3.h"
#include "net/trace.h"
#include "net/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
const char *__lsan_default_suppressions(void);
const char *__lsan_default_options(void);

const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}

/* Known leaks inside libetpan that our code cannot reach (see
 * docs/libetpan-bugs.md). Each names the allocating function, so a leak of
 * ours never hides behind it. */
const char *__lsan_default_suppressions(void)
{
	return
		/* parse_greeting returns on a "* BYE" greeting without freeing it. */
		"leak:mailimap_greeting_new\n"
		/* mailimap_section_parse: a section spec followed by anything but
		 * "]" is dropped unfreed. UID FETCH replies no longer go through
		 * libetpan (core/mail/imap.c reads them), but an unsolicited FETCH
		 * inside another command's reply still does. */
		"leak:mailimap_section_spec_new\n"
		/* A literal's string inside such a dropped structure (a leaked BYE
		 * greeting): reachable or not depending on libetpan's global
		 * mmap_string table left by earlier inputs, so it shows up only
		 * now and then during fuzzing and never on replay. We never make
		 * MMAPStrings ourselves; a libetpan result we failed to free would
		 * still show through its other allocations. */
		"leak:mmap_string_sized_new\n";
}

static char trace_path[64];
static bool debug;  /* MA_FUZZ_DEBUG=1: print each step's status to stderr */

static void step(const char *what, ma_status st, const struct ma_error *e)
{
	if (debug)
		fprintf(stderr, "%-10s %s%s%s\n", what, ma_status_name(st), st != MA_OK ? ": " : "",
			st != MA_OK ? e->detail : "");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ma_transport_init();
	debug = getenv("MA_FUZZ_DEBUG") != NULL;
	/* The trace goes to an anonymous in-memory file, truncated per input
	 * by ma_trace_open's O_TRUNC. Never a path like /dev/null: the trace
	 * code chmods its file to 0600. */
	const char *t = getenv("MA_FUZZ_TRACE"); /* debugging: a real file */
	int fd = t ? -1 : memfd_create("fuzz-trace", MFD_CLOEXEC);
	if (t)
		snprintf(trace_path, sizeof trace_path, "%s", t);
	else if (fd >= 0)
		snprintf(trace_path, sizeof trace_path, "/proc/self/fd/%d", fd);
	return 0;
}

/* ---- the scripted server ---- */

struct server {
	int fd;
	const uint8_t *data;
	size_t len;
	bool pop3;
	char line[512];   /* the start of the client's current line */
	size_t linelen;
};

/* Read-only, whatever the server says: no command the client sends may
 * change the mailbox (or, for POP3, read a message with RETR, which marks
 * it seen on Dovecot). */
static void check_command(struct server *sv)
{
	static const char *const imap_bad[] = {
		"SELECT", "STORE", "EXPUNGE", "COPY", "MOVE", "APPEND", "CREATE", "DELETE",
		"RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "SETACL", "DELETEACL", "SETQUOTA",
		"SETMETADATA", "CLOSE", NULL,
	};
	static const char *const pop3_bad[] = { "DELE", "RETR", "RSET", NULL };
	char *save = NULL;
	sv->line[sv->linelen] = '\0';
	char *word = strtok_r(sv->line, " \r", &save);
	if (word && !sv->pop3) {
		word = strtok_r(NULL, " \r", &save); /* past the tag */
		if (word && strcasecmp(word, "UID") == 0)
			word = strtok_r(NULL, " \r", &save);
	}
	if (!word)
		return;
	for (const char *const *b = sv->pop3 ? pop3_bad : imap_bad; *b; b++)
		if (strcasecmp(word, *b) == 0) {
			fprintf(stderr, "fuzz_session: the client sent %s\n", *b);
			abort();
		}
}

static void client_bytes(struct server *sv, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			check_command(sv);
			sv->linelen = 0;
		} else if (sv->linelen + 1 < sizeof sv->line) {
			sv->line[sv->linelen++] = p[i];
		}
	}
}

static void *server_main(void *arg)
{
	struct server *sv = arg;
	size_t off = 0;
	bool sending = sv->len > 0;
	char sink[16384];
	if (!sending)
		shutdown(sv->fd, SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = sv->fd, .events = POLLIN | (sending ? POLLOUT : 0) };
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(sv->fd, sink, sizeof sink, MSG_DONTWAIT);
			if (n == 0)
				break; /* the client closed: done */
			if (n > 0)
				client_bytes(sv, sink, (size_t)n);
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				break;
		}
		if (sending && (p.revents & POLLOUT)) {
			ssize_t n = send(sv->fd, sv->data + off, sv->len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				off = sv->len;
			if (off >= sv->len) {
				sending = false;
				shutdown(sv->fd, SHUT_WR);
			}
		}
	}
	close(sv->fd);
	return NULL;
}

/* ---- checks ---- */

/* Valid UTF-8, no C0 (except tab), DEL or C1 control, bounded. */
static void check_screen_text(const char *s, size_t max)
{
	if (!s)
		return;
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (u[i]) {
		unsigned c = u[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				abort();
			i++;
			continue;
		}
		size_t n;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			abort();
		}
		for (size_t k = 1; k <= n; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				abort();
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			abort();
		i += n + 1;
	}
	if (i > max)
		abort();
}

/* Raw From and Subject (ma_parse_header_fields_raw): unfolded, bounded,
 * and screen text once decoded as the history decodes them. */
static void check_raw_text(const char *s)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (n > MA_HEADER_RAW_MAX + 3 || strpbrk(s, "\r\n"))
		abort();
	char *d = ma_rfc2047_decode(s, n);
	check_screen_text(d, MA_HEADER_MAX);
	free(d);
}

/* Error details reach the terminal: no C0 control or DEL. */
static void check_error(ma_status st, const struct ma_error *e)
{
	if ((unsigned)st >= MA_STATUS_COUNT)
		abort();
	if (st == MA_OK)
		return;
	if (e->status != st)
		abort();
	if (!memchr(e->detail, '\0', sizeof e->detail))
		abort();
	for (const unsigned char *p = (const unsigned char *)e->detail; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
}

/* ---- IMAP ---- */

struct fetch_ctx {
	unsigned stop_after;  /* 0 = never */
	unsigned seen;
};

static int on_message(struct ma_message *m, void *arg)
{
	struct fetch_ctx *fc = arg;
	check_raw_text(m->from);
	check_raw_text(m->subject);
	check_screen_text(m->date, 4 * MA_HEADER_MAX);
	if (m->message_id) {
		size_t n = strlen(m->message_id);
		if (n < 3 || n > 998 || m->message_id[0] != '<' || m->message_id[n - 1] != '>')
			abort();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)m->message_id[i] <= 0x20 || (unsigned char)m->message_id[i] >= 0x7f)
				abort();
	}
	/* Take one string, as the audit does, to exercise the ownership rule. */
	free(m->subject);
	m->subject = NULL;
	fc->seen++;
	if (debug)
		fprintf(stderr, "message    uid %u size %u flags %#x id %s\n", m->uid, m->size, m->flags,
			m->message_id ? m->message_id : "-");
	return fc->stop_after && fc->seen >= fc->stop_after;
}

static void run_imap(struct ma_conn *c, unsigned mode, struct ma_trace *trace, const char *pw)
{
	struct ma_imap *s = NULL;
	struct ma_error e = { 0 };
	enum ma_security sec = (mode & 2) ? MA_SEC_STARTTLS : MA_SEC_PLAIN;
	ma_status st = ma_imap_open_conn(c, "fuzz.test:143", sec, true, trace, &s, &e);
	check_error(st, &e);
	step("open", st, &e);
	if (st != MA_OK) {
		if (s)
			abort();
		return;
	}
	(void)ma_imap_has_cap(s, "IMAP4rev1");
	check_screen_text(ma_imap_caps(s), SIZE_MAX);
	st = ma_imap_login(s, "u@example.test", pw, &e);
	check_error(st, &e);
	step("login", st, &e);
	struct ma_folder *f = NULL;
	size_t n = 0;
	/* Like the audit: a failed login ends the session. */
	if (st == MA_OK) {
		st = ma_imap_list(s, &f, &n, &e);
		check_error(st, &e);
		step("list", st, &e);
		if (st != MA_OK && (f || n))
			abort();
	}
	for (size_t i = 0; i < n; i++) {
		if (!f[i].name || !f[i].raw_name)
			abort();
		check_screen_text(f[i].name, SIZE_MAX);
		if (strpbrk(f[i].raw_name, "\r\n") && !f[i].noselect)
			abort(); /* such a name must never be sent back */
		/* INBOX sorts first (a server may list it more than once). */
		if (i > 0 && strcmp(f[i].name, "INBOX") == 0 && strcmp(f[i - 1].name, "INBOX") != 0)
			abort();
		if (f[i].noselect)
			continue;
		st = ma_imap_status(s, &f[i], &e);
		check_error(st, &e);
		step("status", st, &e);
		st = ma_imap_examine(s, &f[i], &e);
		check_error(st, &e);
		step("examine", st, &e);
		if (st != MA_OK)
			continue;
		uint32_t *uids = NULL;
		size_t nu = 0;
		st = ma_imap_search_all(s, &uids, &nu, &e);
		check_error(st, &e);
		step("search", st, &e);
		for (size_t k = 1; k < nu; k++)
			if (uids[k - 1] > uids[k])
				abort();
		if (st == MA_OK) {
			struct fetch_ctx fc = { .stop_after = (mode >> 5) & 7 };
			st = ma_imap_fetch(s, uids, nu, (mode & 4) != 0, on_message, &fc, &e);
			check_error(st, &e);
			step("fetch", st, &e);
		}
		free(uids);
	}
	for (size_t i = 0; i < n; i++)
		ma_folder_clear(&f[i]);
	free(f);
	ma_imap_close(s);
}

/* ---- POP3 ---- */

/* A probe's UIDL (ma_pop3_uidl_each): printable, 1 to 70 characters, for
 * a number asked (1 to 3 here). */
static void check_probed_uidl(uint32_t number, const char *uidl, void *ctx)
{
	(void)ctx;
	size_t ul = strnlen(uidl, MA_UIDL_MAX + 1);
	if (number < 1 || number > 3 || ul == 0 || ul > MA_UIDL_MAX)
		abort();
	for (size_t k = 0; k < ul; k++)
		if (uidl[k] < 0x21 || uidl[k] > 0x7e)
			abort();
}

static void run_pop3(struct ma_conn *c, unsigned mode, struct ma_trace *trace, const char *pw)
{
	struct ma_pop3 *s = NULL;
	struct ma_error e = { 0 };
	enum ma_security sec = (mode & 2) ? MA_SEC_STARTTLS : MA_SEC_PLAIN;
	ma_status st = ma_pop3_open_conn(c, "fuzz.test:110", sec, true, trace, &s, &e);
	check_error(st, &e);
	step("open", st, &e);
	if (st != MA_OK) {
		if (s)
			abort();
		return;
	}
	(void)ma_pop3_has_capa(s, "UIDL");
	st = ma_pop3_login(s, "u@example.test", pw, &e);
	check_error(st, &e);
	step("login", st, &e);
	if (st == MA_OK) {
		struct ma_pop3_view v;
		st = ma_pop3_scan(s, &v, &e);
		check_error(st, &e);
		step("scan", st, &e);
		if (st == MA_OK) {
			for (size_t i = 0; i < v.nentries; i++) {
				if (v.entries[i].number == 0 || (i > 0 && v.entries[i - 1].number >= v.entries[i].number))
					abort();
				size_t ul = strnlen(v.entries[i].uidl, MA_UIDL_MAX + 1);
				if (ul > MA_UIDL_MAX)
					abort();
				for (size_t k = 0; k < ul; k++)
					if (v.entries[i].uidl[k] < 0x21 || v.entries[i].uidl[k] > 0x7e)
						abort();
			}
			for (size_t i = 0; i < v.ncapa; i++)
				check_screen_text(v.capa[i], SIZE_MAX);
		} else if (v.entries || v.nentries || v.capa || v.ncapa) {
			abort();
		}
		ma_pop3_view_clear(&v);
		uint32_t count = 0;
		uint64_t bytes = 0;
		st = ma_pop3_stat(s, &count, &bytes, &e);
		check_error(st, &e);
		step("stat", st, &e);
		static const uint32_t probe[3] = { 1, 2, 3 };
		st = ma_pop3_uidl_each(s, probe, 3, check_probed_uidl, NULL, &e);
		check_error(st, &e);
		step("uidl_each", st, &e);
	}
	ma_pop3_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned mode = data[0];
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	/* An exact-size copy, so ASan sees the thread read past nothing. */
	uint8_t *script = malloc(size - 1 ? size - 1 : 1);
	if (!script)
		abort();
	memcpy(script, data + 1, size - 1);
	struct server server = { .fd = sv[1], .data = script, .len = size - 1, .pop3 = (mode & 1) != 0 };
	pthread_t tid;
	if (pthread_create(&tid, NULL, server_main, &server) != 0)
		abort();

	struct ma_trace *trace = NULL;
	if ((mode & 8) && trace_path[0]) {
		struct ma_error te;
		if (ma_trace_open(trace_path, &trace, &te) != MA_OK)
			trace = NULL;
	}
	struct ma_net_opts net = { .timeout_s = 1, .deadline_s = 5, .cancel_fd = -1, .insecure = true };
	struct ma_conn *c = NULL;
	struct ma_error e;
	if (ma_conn_from_fd(sv[0], &net, &c, &e) != MA_OK)
		abort();
	const char *pw = (mode & 16) ? "p\xc3\xa4ss" : "pw";
	if (mode & 1)
		run_pop3(c, mode, trace, pw);
	else
		run_imap(c, mode, trace, pw);
	/* The session closed its socket: the server thread sees EOF. */
	pthread_join(tid, NULL);
	ma_trace_close(trace);
	free(script);
	return 0;
}
