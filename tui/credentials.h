/* Where the password comes from: never argv. A no-echo prompt on the
 * terminal, the first line of a command's output, or a private file.
 *
 * Every function returns a malloc'd password the caller wipes and frees
 * with ma_password_free, or NULL with a sentence in err. */
#ifndef MA_CREDENTIALS_H
#define MA_CREDENTIALS_H

#include <stdbool.h>

#include "base/status.h"

/* The password of an account, from where the account says: its password
 * command (bounded by timeout_s, 0: MA_TIMEOUT_AUDIT_S), else its password
 * file; with neither, the no-echo prompt "Password for LOGIN: " when login
 * is given, else no password: NULL with err->status MA_OK. */
char *ma_password_get(const char *command, const char *file, int timeout_s, const char *login,
		      struct ma_error *err);

/* Runs cmd with /bin/sh -c; takes the first line of its stdout. Bounded by
 * timeout_s (0: MA_TIMEOUT_AUDIT_S): a command that hangs is killed. */
char *ma_password_from_command(const char *cmd, int timeout_s, struct ma_error *err);
/* Refused unless the file's mode is 0600 or stricter. First line. */
char *ma_password_from_file(const char *path, struct ma_error *err);
/* Prompts on /dev/tty with echo off; restores the terminal on every path. */
char *ma_password_prompt(const char *prompt, struct ma_error *err);
/* OPENSSL_cleanse then free. NULL ok. */
void ma_password_free(char *pw);

/* A password typed in this run, kept so that "audit again" and the
 * connection test need not ask for it again: one copy, in a page locked
 * against swapping and left out of core dumps, wiped by
 * ma_password_forget (registered with atexit; the signal exits call it).
 * ma_password_keep replaces any kept one; false when pw is too long or
 * no page could be had (then nothing is kept). ma_password_kept: a new
 * malloc'd copy for a job (ma_password_free it), NULL when none is kept. */
bool ma_password_keep(const char *pw);
char *ma_password_kept(void);
void ma_password_forget(void);

#endif
