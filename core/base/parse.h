/* Pure parsers for the bytes mail servers send: folder names, header fields,
 * POP3 listing lines, response codes and dates.
 *
 * Everything here is a pure function of its input: no I/O, no globals, no
 * locale. Inputs are (buf, len) and never need a NUL terminator, so every
 * function can be fed raw network bytes or fuzzer output. Any byte sequence
 * is acceptable input: hostile input yields NULL / -1 / false, never a crash.
 *
 * Ownership: every returned char * is malloc'd and belongs to the caller,
 * who frees it with free(). Pointers returned through `out` parameters of
 * ma_pop3_unstuff point into the caller's own buffer and are not allocated.
 *
 * Text meant for the screen (decoded folder names, From, Subject, Date) is
 * valid UTF-8 with no control characters except tab, so a hostile server
 * cannot send escape sequences to the terminal through it. The raw From
 * and Subject of ma_parse_header_fields_raw are not: they are for storing,
 * and ma_rfc2047_decode makes them screen text. */
#ifndef MA_PARSE_H
#define MA_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/model.h"

/* Longest decoded header value in bytes; longer values end in "…". */
#define MA_HEADER_MAX 4096
/* Longest raw From or Subject (ma_parse_header_fields_raw) in bytes, plus
 * "…" when cut: enough for a value encoded in UTF-8 or an 8-bit charset,
 * even as Q with every byte escaped (under 4 bytes each with the words'
 * own overhead), to decode to MA_HEADER_MAX bytes, so decoding the raw
 * text cuts where decoding at fetch time would have. */
#define MA_HEADER_RAW_MAX (4 * MA_HEADER_MAX)

/* IMAP modified UTF-7 (RFC 3501 5.1.3) folder name to UTF-8.
 * NULL when the name is not valid modified UTF-7 (bad base64, odd or
 * unpaired UTF-16, raw non-ASCII or control bytes, unterminated "&"), when
 * it decodes to a control character or a bidi or zero-width one (text.h's
 * ma_cp_hidden; errno EINVAL: show the raw name then),
 * or when memory ran out (errno ENOMEM). */
char *ma_mutf7_decode(const char *buf, size_t len);

/* Joins folded header lines: a line break (CRLF, LF or CR) followed by a
 * space or tab is removed, keeping the space or tab. Any other line break
 * becomes one space, and trailing line breaks are dropped; NUL bytes become
 * spaces. NULL only on ENOMEM. */
char *ma_header_unfold(const char *buf, size_t len);

/* Decodes RFC 2047 encoded words (=?charset?B|Q?text?=) into UTF-8 using
 * iconv. Whitespace between adjacent encoded words is dropped; an encoded
 * word with an unknown charset or invalid payload stays as it was written.
 * Invalid UTF-8 outside encoded words becomes U+FFFD; CR and LF become a
 * space, other control characters become '?'. At most MA_HEADER_MAX bytes,
 * truncated with "…". Expects an unfolded value. NULL only on ENOMEM.
 * Text this function returned comes back unchanged unless it holds an
 * encoded word that decodes (which needs one encoded inside another):
 * valid UTF-8 without control characters but tab is kept as it is, and a
 * value cut with "…" is cut at the same place again. */
char *ma_rfc2047_decode(const char *buf, size_t len);

/* Fills m->message_id, m->date, m->from and m->subject from the bytes of an
 * IMAP BODY[HEADER.FIELDS (...)] reply (or any header block): names are
 * case-insensitive, folded lines are joined, the first of duplicate fields
 * wins, and parsing stops at the first empty line. Fields already set in m
 * are left alone (so calling twice never leaks). message_id is normalized
 * (see ma_msgid_normalize); date is unfolded, trimmed and made safe for the
 * screen; from and subject are also RFC 2047-decoded. A field that is absent
 * stays NULL. Returns 0, or -1 on ENOMEM (m then holds what was parsed). */
int ma_parse_header_fields(const char *buf, size_t len, struct ma_message *m);

/* The same, except that from and subject stay RAW: unfolded and trimmed
 * but neither RFC 2047-decoded nor made safe for the screen (NUL bytes
 * become spaces, there are no CR or LF; anything else is as the server sent
 * it, invalid UTF-8 and control characters included). At most
 * MA_HEADER_RAW_MAX bytes, then "…". This is what an audit fetches with:
 * decoding costs more than the rest of a fetch's parsing and is only
 * needed for the few messages ever shown. Raw text MUST go through
 * ma_rfc2047_decode before it is displayed; that gives exactly what
 * ma_parse_header_fields gives (unless the raw text was cut). */
int ma_parse_header_fields_raw(const char *buf, size_t len, struct ma_message *m);

/* Message-ID to a stable key "<left@right>": comments and whitespace around
 * it are skipped, the first <...> token is taken (a bare token containing
 * '@' is accepted too), whitespace inside is removed and the part after the
 * last '@' is lowercased. NULL when there is no usable id (empty, longer
 * than 998 bytes, non-printable or non-ASCII bytes, unterminated "<") or on
 * ENOMEM (errno ENOMEM then). */
char *ma_msgid_normalize(const char *buf, size_t len);
/* SHA-256 of the normalized id (NULL hashes as ""). */
void ma_msgid_hash(const char *normalized, unsigned char out[32]);
/* The same for n ids at once: out[i] = ma_msgid_hash(normalized[i]); a NULL
 * id is skipped (out[i] left as it was). */
void ma_msgid_hash_many(const char *const *normalized, size_t n, unsigned char (*out)[32]);
/* Lower-case hex of n bytes into out, which holds 2 * n + 1 bytes. */
void ma_hex(const unsigned char *b, size_t n, char *out);

/* One line of a POP3 multi-line reply, with or without its CRLF. Sets
 * *is_end for the "." terminator; otherwise removes the leading dot of a
 * dot-stuffed line. *out points into line (not NUL-terminated; use
 * *outlen). Returns 0, or -1 if an argument is NULL. */
int ma_pop3_unstuff(const char *line, size_t len, const char **out, size_t *outlen,
		    bool *is_end);
/* "NUM SIZE" from a LIST reply (CRLF optional). Strict decimal, NUM >= 1,
 * both must fit in 32 bits; further tokens after a space are allowed (RFC
 * 1939 lets servers add them). Returns 0, or -1 if malformed. */
int ma_pop3_parse_list_line(const char *buf, size_t len, uint32_t *num, uint32_t *size);
/* "NUM UIDL" from a UIDL reply: the unique-id is 1 to 70 characters
 * 0x21-0x7E and must be the last token. uidl receives it NUL-terminated.
 * Returns 0, or -1 if malformed. */
int ma_pop3_parse_uidl_line(const char *buf, size_t len, uint32_t *num, char uidl[71]);
/* "+OK NUM UIDL", the reply to `UIDL n` (RFC 1939): "+OK", then a line
 * as ma_pop3_parse_uidl_line reads it. Returns 0, or -1 if malformed. */
int ma_pop3_parse_uidl_reply(const char *buf, size_t len, uint32_t *num, char uidl[71]);
/* "+OK COUNT SIZE [text]" (the "+OK" may be omitted). Returns 0 or -1. */
int ma_pop3_parse_stat(const char *buf, size_t len, uint32_t *count, uint64_t *size);

/* Dovecot's default POP3 UIDL "%08Xu%08Xv": exactly 16 hex digits, the IMAP
 * UID then UIDVALIDITY, both non-zero. False for anything else. */
bool ma_dovecot_uidl_decode(const char *uidl, size_t len, uint32_t *uid,
			    uint32_t *uidvalidity);

/* The RFC 2449 / 3206 response code of a POP3 reply such as
 * "-ERR [IN-USE] locked" (the "-ERR"/"+OK" may be omitted): copies it
 * upper-cased and without brackets ("IN-USE", "SYS/TEMP") into code.
 * Returns 1 if found, 0 if there is none or it does not fit in codelen. */
int ma_pop3_response_code(const char *text, size_t len, char *code, size_t codelen);

/* One untagged FETCH response, as ma_parse_fetch finds it. Pointers point
 * into the parsed buffer. */
struct ma_fetch_resp {
	uint32_t seq;             /* message sequence number */
	bool has_uid;
	uint32_t uid;
	unsigned flags;           /* enum ma_flag bits; keywords are ignored */
	bool has_size;
	uint32_t size;            /* RFC822.SIZE */
	int64_t internaldate;     /* Unix time; 0 if absent or invalid */
	bool has_header;          /* a BODY[HEADER.FIELDS (...)] item was there */
	const char *header;       /* its value (NULL for NIL), not NUL-terminated */
	size_t header_len;
	bool header_escaped;      /* a quoted value holding backslash escapes,
	                           * left as sent: the caller unescapes */
};

/* Parses one whole untagged FETCH response exactly as received, from "* "
 * to the end without the final CRLF, literals inline ("{N}" CRLF, then N
 * bytes), for example
 *   * 12 FETCH (UID 7 FLAGS (\Seen) RFC822.SIZE 99 INTERNALDATE
 *   " 1-Jul-2024 10:00:00 +0200" BODY[HEADER.FIELDS (SUBJECT)] {14}...)
 * (one line on the wire). Items may come in any order; UID, FLAGS (\Seen
 * \Answered \Flagged \Deleted \Draft \Recent, any case), RFC822.SIZE,
 * INTERNALDATE and a BODY[HEADER.FIELDS ...] section (any field list, an
 * optional <origin>; literal, quoted or NIL) are read, anything else
 * (MODSEQ, X-GM-*, BODYSTRUCTURE, ENVELOPE, other sections) is skipped
 * whatever its shape, with lists nested at most 64 deep. Returns 0, or -1 if
 * anything is malformed (out is then unspecified). Never reads outside
 * [buf, buf + len) and allocates nothing. */
int ma_parse_fetch(const char *buf, size_t len, struct ma_fetch_resp *out);

/* RFC 5322 / 822 Date header (also IMAP INTERNALDATE "17-Jul-1996 02:44:25
 * -0700") to Unix time, best effort: optional weekday, 2- and 4-digit years,
 * numeric and obsolete zones, missing seconds or zone (taken as UTC), a
 * trailing comment. Returns 0 and sets *out, or -1 if not parseable. */
int ma_imap_date_parse(const char *buf, size_t len, int64_t *out);

#endif
