#include "imap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "parse.h"
#include "session_util.h"

/* UIDs per UID FETCH: libetpan has no limit on a reply's size, so the
 * chunk bounds both its memory and the damage a hostile server can do.
 * Debian's libetpan holds a whole chunk's parse trees (~1 KB a message with
 * headers): 2500 costs a few MB and saves 60 of 100 round trips at 100,000
 * messages against 1000. */
#define FETCH_CHUNK 2500
#define MAX_FOLDERS 100000

struct ma_imap {
	mailimap *imap;
	struct ma_conn *conn;
	struct ma_trace_tap tap;
	char host[272];
	bool allow_plain;         /* --insecure: a password may cross plain text */
	bool broken;              /* stream unusable: no more libetpan calls */
	struct ma_error broken_err;
	char *caps;
	/* Fetch in progress (the msg_att handler's context). */
	ma_imap_msg_cb cb;
	void *cb_ctx;
	bool cb_stop;
	bool cb_failed;
};

static void imap_logger(mailimap *imap, int log_type, const char *str, size_t size, void *ctx)
{
	(void)imap;
	ma_trace_event(ctx, log_type, str, size);
}

/* Turns a libetpan result into a status: our transport's view first (it
 * knows timeouts and EOF), then libetpan's code, then the server's words. */
static ma_status fail(struct ma_imap *s, int r, const char *what, struct ma_error *err)
{
	ma_status st = ma_conn_last_error(s->conn);
	char text[300] = "";
	if (s->imap->imap_response)
		ma_sanitize(text, sizeof text, s->imap->imap_response, strlen(s->imap->imap_response));
	const char *code = NULL;
	if (s->imap->imap_response_info && s->imap->imap_response_info->rsp_atom)
		code = s->imap->imap_response_info->rsp_atom;

	if (st != MA_OK) {
		ma_fail(err, st, "IMAP server %s, during %s%s%s", s->host, what,
			ma_conn_last_detail(s->conn)[0] ? ": " : "", ma_conn_last_detail(s->conn));
	} else if (r == MAILIMAP_ERROR_STREAM) {
		st = ma_fail(err, MA_ERR_CLOSED, "IMAP server %s, during %s", s->host, what);
	} else if (r == MAILIMAP_ERROR_PARSE) {
		st = ma_fail(err, MA_ERR_PROTOCOL, "IMAP server %s sent an unparsable reply to %s", s->host, what);
	} else if (r == MAILIMAP_ERROR_MEMORY) {
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
	} else if (code && (strcasecmp(code, "UNAVAILABLE") == 0 || strcasecmp(code, "INUSE") == 0)) {
		st = ma_fail(err, MA_ERR_SERVER_TEMP, "IMAP server %s said: %s", s->host, text);
	} else if (code && strcasecmp(code, "PRIVACYREQUIRED") == 0) {
		st = ma_fail(err, MA_ERR_PLAINTEXT_REFUSED, "IMAP server %s said: %s", s->host, text);
	} else if (r == MAILIMAP_ERROR_LOGIN || r == MAILIMAP_ERROR_CUSTOM_COMMAND) {
		st = ma_fail(err, MA_ERR_LOGIN, "IMAP server %s said: %s", s->host,
			     text[0] ? text : "(no reason given)");
	} else if (r == MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION || r == MAILIMAP_ERROR_CONNECTION_REFUSED) {
		st = ma_fail(err, MA_ERR_GREETING, "IMAP server %s said: %s", s->host, text);
	} else if (r == MAILIMAP_ERROR_BAD_STATE) {
		st = ma_fail(err, MA_ERR_NOT_CONNECTED, NULL);
	} else {
		st = ma_fail(err, MA_ERR_PROTOCOL, "IMAP server %s refused %s: %s", s->host, what,
			     text[0] ? text : "(no reason given)");
	}
	/* Only a failed command with a live stream (NO/BAD) lets us go on. */
	if (r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_PARSE || ma_conn_last_error(s->conn) != MA_OK ||
	    r == MAILIMAP_ERROR_MEMORY) {
		s->broken = true;
		s->broken_err = *err;
	}
	return st;
}

static ma_status check_usable(struct ma_imap *s, struct ma_error *err)
{
	if (!s || !s->imap)
		return ma_fail(err, MA_ERR_NOT_CONNECTED, NULL);
	if (s->broken) {
		*err = s->broken_err;
		return err->status;
	}
	return MA_OK;
}

static ma_status read_caps(struct ma_imap *s, struct ma_error *err)
{
	/* libetpan answers CAPABILITY with a copy of its cache: a server that
	 * sends no capability data leaves that NULL and libetpan dereferences
	 * it (segfault), and after STARTTLS the cache would still hold the
	 * plaintext list. So each read starts from an empty cache. */
	struct mailimap_connection_info *ci = s->imap->imap_connection_info;
	if (!ci)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	clist *none = clist_new();
	struct mailimap_capability_data *fresh = none ? mailimap_capability_data_new(none) : NULL;
	if (!fresh) {
		if (none)
			clist_free(none);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	if (ci->imap_capability)
		mailimap_capability_data_free(ci->imap_capability);
	ci->imap_capability = fresh;

	struct mailimap_capability_data *cap = NULL;
	int r = mailimap_capability(s->imap, &cap);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, r, "CAPABILITY", err);
	size_t len = 0, used = 0;
	for (clistiter *it = clist_begin(cap->cap_list); it; it = clist_next(it)) {
		struct mailimap_capability *c = clist_content(it);
		if (c->cap_type == MAILIMAP_CAPABILITY_AUTH_TYPE)
			len += strlen(c->cap_data.cap_auth_type) + 6;
		else
			len += strlen(c->cap_data.cap_name) + 1;
	}
	free(s->caps);
	s->caps = malloc(len + 1);
	if (!s->caps) {
		mailimap_capability_data_free(cap);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	s->caps[0] = '\0';
	for (clistiter *it = clist_begin(cap->cap_list); it; it = clist_next(it)) {
		struct mailimap_capability *c = clist_content(it);
		int w;
		if (c->cap_type == MAILIMAP_CAPABILITY_AUTH_TYPE)
			w = snprintf(s->caps + used, len + 1 - used, "%sAUTH=%s", used ? " " : "",
				     c->cap_data.cap_auth_type);
		else
			w = snprintf(s->caps + used, len + 1 - used, "%s%s", used ? " " : "",
				     c->cap_data.cap_name);
		if (w > 0 && (size_t)w < len + 1 - used)
			used += (size_t)w;
	}
	mailimap_capability_data_free(cap);
	/* libetpan lets 8-bit bytes into atoms; the list goes to the screen. */
	char *clean = ma_sanitize_dup(s->caps, used);
	if (!clean)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	free(s->caps);
	s->caps = clean;
	return MA_OK;
}

bool ma_imap_has_cap(const struct ma_imap *s, const char *name)
{
	if (!s || !s->caps)
		return false;
	size_t n = strlen(name);
	for (const char *p = s->caps; *p;) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && strncasecmp(p, name, n) == 0)
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

const char *ma_imap_caps(const struct ma_imap *s)
{
	return s && s->caps ? s->caps : "";
}

const struct ma_cert_info *ma_imap_cert(const struct ma_imap *s)
{
	return s ? ma_conn_cert(s->conn) : NULL;
}

static ma_status starttls(struct ma_imap *s, struct ma_error *err)
{
	if (!ma_imap_has_cap(s, "STARTTLS"))
		return ma_fail(err, MA_ERR_STARTTLS_MISSING,
			       "IMAP server %s on this port does not list STARTTLS (it may have been removed on the way)",
			       s->host);
	int r = mailimap_starttls(s->imap);
	if (s->imap->imap_stream && s->imap->imap_stream->read_buffer_len != 0)
		return ma_fail(err, MA_ERR_STARTTLS_INJECTION, "IMAP server %s sent %zu bytes after its STARTTLS reply",
			       s->host, s->imap->imap_stream->read_buffer_len);
	if (r != MAILIMAP_NO_ERROR) {
		ma_status st = fail(s, r, "STARTTLS", err);
		if (st == MA_ERR_PROTOCOL)
			return ma_fail(err, MA_ERR_STARTTLS_MISSING, "IMAP server %s refused STARTTLS", s->host);
		return st;
	}
	return ma_session_upgrade(s->imap->imap_stream, s->conn, s->host, err);
}

ma_status ma_imap_open(const struct ma_endpoint *ep, const struct ma_net_opts *net,
		       struct ma_trace *trace, struct ma_imap **out, struct ma_error *err)
{
	*out = NULL;
	char label[272];
	snprintf(label, sizeof label, "%s:%u", ep->host, ep->port);
	struct ma_conn *c = NULL;
	ma_status st = ma_conn_open(ep, net, &c, err);
	if (st != MA_OK)
		return st;
	return ma_imap_open_conn(c, label, ep->security, net->insecure, trace, out, err);
}

ma_status ma_imap_open_conn(struct ma_conn *c, const char *label, enum ma_security security,
			    bool insecure, struct ma_trace *trace, struct ma_imap **out,
			    struct ma_error *err)
{
	ma_status st;
	*out = NULL;
	struct ma_imap *s = calloc(1, sizeof *s);
	if (!s) {
		ma_conn_free(c);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	s->conn = c;
	/* We fetch four header fields, never bodies: 1 MB is a generous
	 * literal; 64 MB covers a SEARCH of millions of UIDs. */
	ma_conn_set_limits(c, 1 << 20, 64 << 20);
	snprintf(s->host, sizeof s->host, "%s", label);
	s->tap.trace = trace;
	s->allow_plain = insecure;
	s->tap.proto = "imap";
	ma_trace_note(&s->tap, "connected to %s (%s)", s->host, ma_security_name(security));

	s->imap = mailimap_new(0, NULL);
	if (!s->imap) {
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
		goto cleanup;
	}
	mailstream *stream = mailstream_new(ma_conn_low(s->conn), 8192);
	if (!stream) {
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
		goto cleanup;
	}
	if (trace)
		mailimap_set_logger(s->imap, imap_logger, &s->tap);
	/* From here the stream belongs to s->imap, even if connect fails. */
	int r = mailimap_connect(s->imap, stream);
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		st = fail(s, r, "the greeting", err);
		if (st == MA_ERR_PROTOCOL || st == MA_ERR_LOGIN)
			st = ma_fail(err, MA_ERR_GREETING, "IMAP server %s did not greet as an IMAP server", s->host);
		s->broken = true;
		goto cleanup;
	}
	st = read_caps(s, err);
	if (st != MA_OK)
		goto cleanup;
	if (security == MA_SEC_STARTTLS) {
		st = starttls(s, err);
		if (st != MA_OK) {
			s->broken = true;
			goto cleanup;
		}
		st = read_caps(s, err);
		if (st != MA_OK)
			goto cleanup;
	}
	*out = s;
	return MA_OK;
cleanup:
	ma_imap_close(s);
	return st;
}

static bool has_8bit(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return true;
	return false;
}

ma_status ma_imap_login(struct ma_imap *s, const char *login, const char *password,
			struct ma_error *err)
{
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		return st;
	if (!ma_credential_ok(login) || !ma_credential_ok(password))
		return ma_fail(err, MA_ERR_BAD_CREDENTIAL, NULL);
	if (!ma_conn_is_tls(s->conn) && !s->allow_plain)
		return ma_fail(err, MA_ERR_UNENCRYPTED, "IMAP server %s", s->host);
	if (ma_imap_has_cap(s, "LOGINDISABLED"))
		return ma_fail(err, MA_ERR_PLAINTEXT_REFUSED,
			       "IMAP server %s advertises LOGINDISABLED on this connection", s->host);

	/* A PREAUTH greeting: already logged in, libetpan would refuse LOGIN
	 * (BAD_STATE). Send no credentials. */
	if (s->imap->imap_state == MAILIMAP_STATE_AUTHENTICATED) {
		ma_trace_note(&s->tap, "server greeted with PREAUTH: no login sent");
		return MA_OK;
	}

	int r;
	s->tap.phase = MA_TRACE_SECRET;
	if (has_8bit(password) && ma_imap_has_cap(s, "SASL-IR") && ma_imap_has_cap(s, "AUTH=PLAIN")) {
		/* LOGIN's quoted string is 7-bit by the book; SASL PLAIN carries
		 * UTF-8. The whole command is traced as redacted (phase). */
		char *cmd = ma_sasl_plain_command("AUTHENTICATE PLAIN ", login, password);
		if (!cmd) {
			s->tap.phase = MA_TRACE_NORMAL;
			return ma_fail(err, MA_ERR_NOMEM, NULL);
		}
		r = mailimap_custom_command(s->imap, cmd);
		OPENSSL_cleanse(cmd, strlen(cmd));
		free(cmd);
		/* libetpan does not know this command logged in: without this
		 * every later LIST/STATUS/... fails with BAD_STATE. */
		if (r == MAILIMAP_NO_ERROR)
			s->imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
	} else {
		r = mailimap_login(s->imap, login, password);
	}
	s->tap.phase = MA_TRACE_NORMAL;
	if (r != MAILIMAP_NO_ERROR) {
		st = fail(s, r, "login", err);
		if (st == MA_ERR_PROTOCOL && !s->broken)
			st = err->status = MA_ERR_LOGIN; /* a NO to LOGIN or AUTHENTICATE */
		return st;
	}
	/* Servers may send new capabilities after login; ask once more. */
	return read_caps(s, err);
}

ma_status ma_imap_list(struct ma_imap *s, struct ma_folder **folders, size_t *n,
		       struct ma_error *err)
{
	*folders = NULL;
	*n = 0;
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		return st;
	clist *list = NULL;
	/* libetpan parses the whole LIST before we can count it, at ~300
	 * bytes of structures per folder: 8 MB of reply (100,000 folders
	 * of ordinary names fit) bounds that. */
	ma_conn_set_limits(s->conn, 1 << 20, 8 << 20);
	int r = mailimap_list(s->imap, "", "*", &list);
	ma_conn_set_limits(s->conn, 1 << 20, 64 << 20);
	if (r != MAILIMAP_NO_ERROR) {
		/* libetpan hands over the list before it looks at NO/BAD. */
		if (list)
			mailimap_list_result_free(list);
		return fail(s, r, "LIST", err);
	}
	size_t count = (size_t)clist_count(list);
	if (count > MAX_FOLDERS) {
		mailimap_list_result_free(list);
		return ma_fail(err, MA_ERR_TOO_LARGE, "IMAP server %s lists %zu folders", s->host, count);
	}
	struct ma_folder *out = calloc(count ? count : 1, sizeof *out);
	if (!out) {
		mailimap_list_result_free(list);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	size_t i = 0;
	for (clistiter *it = clist_begin(list); it; it = clist_next(it)) {
		struct mailimap_mailbox_list *mb = clist_content(it);
		if (!mb->mb_name)
			continue;
		struct ma_folder *f = &out[i];
		f->raw_name = strdup(mb->mb_name);
		if (strcasecmp(mb->mb_name, "INBOX") == 0)
			f->name = strdup("INBOX");
		else
			f->name = ma_mutf7_decode(mb->mb_name, strlen(mb->mb_name));
		if (!f->name) /* not valid modified UTF-7: show it as sent, made safe */
			f->name = ma_sanitize_dup(mb->mb_name, strlen(mb->mb_name));
		f->delimiter = mb->mb_delimiter;
		/* libetpan sends a name back as a quoted string with CR and LF
		 * raw: a name holding them (a literal in LIST, say from another
		 * user's shared folder) would smuggle commands into STATUS or
		 * EXAMINE. Show it, never send it. */
		if (strpbrk(mb->mb_name, "\r\n"))
			f->noselect = true;
		if (mb->mb_flag) {
			if (mb->mb_flag->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
			    mb->mb_flag->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
				f->noselect = true;
			for (clistiter *o = clist_begin(mb->mb_flag->mbf_oflags); o; o = clist_next(o)) {
				struct mailimap_mbx_list_oflag *of = clist_content(o);
				if (of->of_type == MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT && of->of_flag_ext &&
				    strcasecmp(of->of_flag_ext, "NonExistent") == 0)
					f->noselect = true;
			}
		}
		if (!f->raw_name || !f->name) {
			mailimap_list_result_free(list);
			for (size_t j = 0; j <= i; j++)
				ma_folder_clear(&out[j]);
			free(out);
			return ma_fail(err, MA_ERR_NOMEM, NULL);
		}
		i++;
	}
	mailimap_list_result_free(list);
	ma_folders_sort(out, i);
	*folders = out;
	*n = i;
	return MA_OK;
}

ma_status ma_imap_status(struct ma_imap *s, struct ma_folder *f, struct ma_error *err)
{
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		return st;
	struct mailimap_status_att_list *atts = mailimap_status_att_list_new_empty();
	if (!atts)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_MESSAGES);
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UIDNEXT);
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UIDVALIDITY);
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UNSEEN);
	struct mailimap_mailbox_data_status *res = NULL;
	int r = mailimap_status(s->imap, f->raw_name, atts, &res);
	mailimap_status_att_list_free(atts);
	if (r != MAILIMAP_NO_ERROR) {
		if (res) /* set even on NO/BAD */
			mailimap_mailbox_data_status_free(res);
		char what[300];
		snprintf(what, sizeof what, "STATUS of folder \"%s\"", f->name);
		return fail(s, r, what, err);
	}
	/* "* STATUS x ()" leaves no list, and an OK without any STATUS line
	 * leaves no result: keep the counts as they were. */
	if (!res)
		return MA_OK;
	for (clistiter *it = res->st_info_list ? clist_begin(res->st_info_list) : NULL; it;
	     it = clist_next(it)) {
		struct mailimap_status_info *si = clist_content(it);
		switch (si->st_att) {
		case MAILIMAP_STATUS_ATT_MESSAGES: f->messages = si->st_value; break;
		case MAILIMAP_STATUS_ATT_UIDNEXT: f->uidnext = si->st_value; break;
		case MAILIMAP_STATUS_ATT_UIDVALIDITY: f->uidvalidity = si->st_value; break;
		case MAILIMAP_STATUS_ATT_UNSEEN: f->unseen = si->st_value; break;
		default: break;
		}
	}
	mailimap_mailbox_data_status_free(res);
	return MA_OK;
}

ma_status ma_imap_examine(struct ma_imap *s, struct ma_folder *f, struct ma_error *err)
{
	ma_status st = check_usable(s, err);
	if (st != MA_OK)
		return st;
	int r = mailimap_examine(s->imap, f->raw_name);
	if (r != MAILIMAP_NO_ERROR) {
		char what[300];
		snprintf(what, sizeof what, "EXAMINE of folder \"%s\"", f->name);
		return fail(s, r, what, err);
	}
	struct mailimap_selection_info *si = s->imap->imap_selection_info;
	if (si) {
		if (si->sel_has_exists)
			f->messages = si->sel_exists;
		if (si->sel_uidnext)
			f->uidnext = si->sel_uidnext;
		if (si->sel_uidvalidity)
			f->uidvalidity = si->sel_uidvalidity;
	}
	return MA_OK;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* UID SEARCH with one key in the examined folder; takes key. */
static ma_status search(struct ma_imap *s, struct mailimap_search_key *key, uint32_t **uids,
			 size_t *n, struct ma_error *err)
{
	*uids = NULL;
	*n = 0;
	ma_status st = check_usable(s, err);
	if (st != MA_OK) {
		if (key)
			mailimap_search_key_free(key);
		return st;
	}
	if (!key)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	clist *res = NULL;
	int r = mailimap_uid_search(s->imap, NULL, key, &res);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR) {
		if (res) /* set even on NO/BAD */
			mailimap_search_result_free(res);
		return fail(s, r, "UID SEARCH", err);
	}
	size_t count = (size_t)clist_count(res);
	uint32_t *out = malloc((count ? count : 1) * sizeof *out);
	if (!out) {
		mailimap_search_result_free(res);
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	}
	size_t i = 0;
	for (clistiter *it = clist_begin(res); it; it = clist_next(it))
		out[i++] = *(uint32_t *)clist_content(it);
	mailimap_search_result_free(res);
	qsort(out, i, sizeof *out, cmp_u32);
	*uids = out;
	*n = i;
	return MA_OK;
}

ma_status ma_imap_search_all(struct ma_imap *s, uint32_t **uids, size_t *n, struct ma_error *err)
{
	return search(s, mailimap_search_key_new_all(), uids, n, err);
}

ma_status ma_imap_search_deleted(struct ma_imap *s, uint32_t **uids, size_t *n,
				 struct ma_error *err)
{
	/* libetpan has no helper for the flag keys: the general constructor
	 * with every operand empty. */
	struct mailimap_search_key *key = mailimap_search_key_new(MAILIMAP_SEARCH_KEY_DELETED,
		NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL);
	return search(s, key, uids, n, err);
}

static int64_t imap_date_to_unix(const struct mailimap_date_time *d)
{
	struct tm tm = { 0 };
	tm.tm_year = d->dt_year - 1900;
	tm.tm_mon = d->dt_month - 1;
	tm.tm_mday = d->dt_day;
	tm.tm_hour = d->dt_hour;
	tm.tm_min = d->dt_min;
	tm.tm_sec = d->dt_sec;
	int64_t t = (int64_t)timegm(&tm);
	int zone = d->dt_zone; /* e.g. +0130 arrives as 130 */
	int sign = zone < 0 ? -1 : 1;
	zone *= sign;
	return t - sign * ((zone / 100) * 3600 + (zone % 100) * 60);
}

static unsigned flags_of(struct mailimap_msg_att_dynamic *dyn)
{
	unsigned flags = 0;
	if (!dyn || !dyn->att_list)
		return 0;
	for (clistiter *it = clist_begin(dyn->att_list); it; it = clist_next(it)) {
		struct mailimap_flag_fetch *ff = clist_content(it);
		if (ff->fl_type == MAILIMAP_FLAG_FETCH_RECENT) {
			flags |= MA_FLAG_RECENT;
			continue;
		}
		if (!ff->fl_flag)
			continue;
		switch (ff->fl_flag->fl_type) {
		case MAILIMAP_FLAG_ANSWERED: flags |= MA_FLAG_ANSWERED; break;
		case MAILIMAP_FLAG_FLAGGED: flags |= MA_FLAG_FLAGGED; break;
		case MAILIMAP_FLAG_DELETED: flags |= MA_FLAG_DELETED; break;
		case MAILIMAP_FLAG_SEEN: flags |= MA_FLAG_SEEN; break;
		case MAILIMAP_FLAG_DRAFT: flags |= MA_FLAG_DRAFT; break;
		default: break;
		}
	}
	return flags;
}

/* libetpan calls this as each FETCH response is parsed, so a chunk never
 * sits in memory as a whole list. */
static void on_msg_att(struct mailimap_msg_att *att, void *ctx)
{
	struct ma_imap *s = ctx;
	struct ma_message m = { 0 };
	bool have_uid = false;
	if (s->cb_stop || s->cb_failed)
		return;
	for (clistiter *it = clist_begin(att->att_list); it; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC) {
			m.flags = flags_of(item->att_data.att_dyn);
			continue;
		}
		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		struct mailimap_msg_att_static *st = item->att_data.att_static;
		switch (st->att_type) {
		case MAILIMAP_MSG_ATT_UID:
			m.uid = st->att_data.att_uid;
			have_uid = true;
			break;
		case MAILIMAP_MSG_ATT_RFC822_SIZE:
			m.size = st->att_data.att_rfc822_size;
			break;
		case MAILIMAP_MSG_ATT_INTERNALDATE:
			if (st->att_data.att_internal_date)
				m.internaldate = imap_date_to_unix(st->att_data.att_internal_date);
			break;
		case MAILIMAP_MSG_ATT_BODY_SECTION:
			if (st->att_data.att_body_section && st->att_data.att_body_section->sec_body_part) {
				const struct mailimap_msg_att_body_section *b = st->att_data.att_body_section;
				if (ma_parse_header_fields(b->sec_body_part, b->sec_length, &m) != 0)
					s->cb_failed = true;
			}
			break;
		default:
			break;
		}
	}
	/* A FETCH without UID is an unsolicited flag update: not ours. */
	if (have_uid && !s->cb_failed && s->cb(&m, s->cb_ctx) != 0)
		s->cb_stop = true;
	ma_message_clear(&m);
}

enum items { ITEMS_FLAGS, ITEMS_META, ITEMS_HEADERS };

static struct mailimap_fetch_type *fetch_items(enum items what)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	if (!ft)
		return NULL;
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_flags());
	if (what == ITEMS_FLAGS)
		return ft;
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_internaldate());
	if (what == ITEMS_HEADERS) {
		static const char *const names[] = { "MESSAGE-ID", "DATE", "FROM", "SUBJECT" };
		clist *hdrs = clist_new();
		for (size_t i = 0; hdrs && i < sizeof names / sizeof names[0]; i++)
			clist_append(hdrs, strdup(names[i])); /* libetpan frees them */
		struct mailimap_header_list *hl = mailimap_header_list_new(hdrs);
		struct mailimap_section *sec = mailimap_section_new_header_fields(hl);
		/* PEEK: fetching must never set \Seen. */
		mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_body_peek_section(sec));
	}
	return ft;
}

static ma_status fetch(struct ma_imap *s, const uint32_t *uids, size_t n, enum items what,
		       ma_imap_msg_cb cb, void *ctx, struct ma_error *err)
{
	ma_status st = check_usable(s, err);
	if (st != MA_OK || n == 0)
		return st;
	struct mailimap_fetch_type *ft = fetch_items(what);
	if (!ft)
		return ma_fail(err, MA_ERR_NOMEM, NULL);
	s->cb = cb;
	s->cb_ctx = ctx;
	s->cb_stop = s->cb_failed = false;
	mailimap_set_msg_att_handler(s->imap, on_msg_att, s);
	s->tap.phase = MA_TRACE_BULK;
	for (size_t i = 0; i < n && st == MA_OK;) {
		struct mailimap_set *set = mailimap_set_new_empty();
		if (!set) {
			st = ma_fail(err, MA_ERR_NOMEM, NULL);
			break;
		}
		/* Consecutive UIDs travel as ranges to keep the command short. */
		size_t end = i + FETCH_CHUNK < n ? i + FETCH_CHUNK : n;
		while (i < end) {
			size_t j = i;
			while (j + 1 < end && uids[j + 1] == uids[j] + 1)
				j++;
			mailimap_set_add_interval(set, uids[i], uids[j]);
			i = j + 1;
		}
		clist *res = NULL;
		int r = mailimap_uid_fetch(s->imap, set, ft, &res);
		mailimap_set_free(set);
		/* Debian's 1.9.4 collects the replies instead of calling the
		 * handler; take them from the list then. */
		if (res) {
			if (r == MAILIMAP_NO_ERROR)
				for (clistiter *it = clist_begin(res); it; it = clist_next(it))
					on_msg_att(clist_content(it), s);
			mailimap_fetch_list_free(res);
		}
		if (r != MAILIMAP_NO_ERROR)
			st = fail(s, r, "UID FETCH", err);
		else if (s->cb_failed)
			st = ma_fail(err, MA_ERR_NOMEM, NULL);
		else if (s->cb_stop)
			st = ma_fail(err, MA_ERR_CANCELLED, NULL);
	}
	s->tap.phase = MA_TRACE_NORMAL;
	mailimap_set_msg_att_handler(s->imap, NULL, NULL);
	mailimap_fetch_type_free(ft);
	return st;
}

ma_status ma_imap_fetch(struct ma_imap *s, const uint32_t *uids, size_t n, bool headers,
			ma_imap_msg_cb cb, void *ctx, struct ma_error *err)
{
	return fetch(s, uids, n, headers ? ITEMS_HEADERS : ITEMS_META, cb, ctx, err);
}

ma_status ma_imap_fetch_flags(struct ma_imap *s, const uint32_t *uids, size_t n,
			      ma_imap_msg_cb cb, void *ctx, struct ma_error *err)
{
	return fetch(s, uids, n, ITEMS_FLAGS, cb, ctx, err);
}

void ma_imap_close(struct ma_imap *s)
{
	if (!s)
		return;
	if (s->imap) {
		/* mailimap_free sends LOGOUT on a live stream; on a dead one it
		 * must fail at once instead of waiting for a timeout. */
		if (s->broken)
			ma_conn_kill(s->conn);
		else if (s->imap->imap_stream)
			mailimap_logout(s->imap);
		mailimap_free(s->imap);
	}
	ma_conn_free(s->conn);
	free(s->caps);
	free(s);
}
