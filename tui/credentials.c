#include "base/i18n.h"
#include "credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "tui.h"  /* MA_TIMEOUT_AUDIT_S */

#define PW_MAX 1024

void ma_password_free(char *pw)
{
	if (!pw)
		return;
	OPENSSL_cleanse(pw, strlen(pw));
	free(pw);
}

static char *kept;       /* a locked page, or NULL */
static size_t kept_size;

void ma_password_forget(void)
{
	if (!kept)
		return;
	OPENSSL_cleanse(kept, kept_size);
	munlock(kept, kept_size);
	munmap(kept, kept_size);
	kept = NULL;
}

bool ma_password_keep(const char *pw)
{
	static bool registered;
	ma_password_forget();
	long page = sysconf(_SC_PAGESIZE);
	size_t len = strlen(pw);
	kept_size = page > 0 ? (size_t)page : 4096;
	if (len >= kept_size)
		return false;
	void *p = mmap(NULL, kept_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	/* Locking can fail under a tight RLIMIT_MEMLOCK; the page is still
	 * private, out of core dumps and wiped. */
	(void)mlock(p, kept_size);
	(void)madvise(p, kept_size, MADV_DONTDUMP);
	kept = p;
	memcpy(kept, pw, len + 1);
	if (!registered)
		registered = atexit(ma_password_forget) == 0;
	return true;
}

char *ma_password_kept(void)
{
	return kept ? strdup(kept) : NULL;
}

/* Keeps the first line of buf (without CR/LF) as the password. */
static char *first_line(char *buf, size_t len, const char *source, struct ma_error *err)
{
	size_t n = 0;
	while (n < len && buf[n] != '\n' && buf[n] != '\r')
		n++;
	if (memchr(buf, '\0', n)) {
		ma_fail(err, MA_ERR_BAD_CREDENTIAL, _("the password from %s contains a NUL byte"), source);
		return NULL;
	}
	if (n == 0) {
		ma_fail(err, MA_ERR_ARGUMENT, _("%s gave an empty password"), source);
		return NULL;
	}
	char *pw = malloc(n + 1);
	if (!pw) {
		ma_fail(err, MA_ERR_NOMEM, NULL);
		return NULL;
	}
	memcpy(pw, buf, n);
	pw[n] = '\0';
	return pw;
}

/* Reads fd into buf (size bytes, *len used) until a line is complete, buf
 * is full, the writer is done, or the time is past end: true for the
 * last. */
static bool read_line_until(int fd, char *buf, size_t size, size_t *len, time_t end)
{
	for (;;) {
		int left = (int)(end - time(NULL));
		if (left <= 0)
			return true;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, left * 1000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0;
		ssize_t got = read(fd, buf + *len, size - 1 - *len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		*len += (size_t)got;
		if (memchr(buf, '\n', *len) || *len == size - 1)
			return false;
	}
}

char *ma_password_from_command(const char *cmd, int timeout_s, struct ma_error *err)
{
	char buf[PW_MAX];
	size_t len = 0;
	char *pw = NULL;
	int fds[2];
	if (pipe(fds) != 0) {
		ma_fail(err, MA_ERR_IO, _("cannot run the password command: %s"), strerror(errno));
		return NULL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		ma_fail(err, MA_ERR_IO, _("cannot run the password command: %s"), strerror(errno));
		return NULL;
	}
	if (pid == 0) {
		/* Own process group so a hanging pipeline dies as a whole. */
		setpgid(0, 0);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(fds[1]);
	if (timeout_s <= 0)
		timeout_s = MA_TIMEOUT_AUDIT_S;
	bool timed_out = read_line_until(fds[0], buf, sizeof buf, &len, time(NULL) + timeout_s);
	close(fds[0]);
	if (timed_out)
		kill(-pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		ma_fail(err, MA_ERR_ARGUMENT, _("the password command did not answer within %d seconds"),
			timeout_s);
	} else if (!memchr(buf, '\n', len) && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		ma_fail(err, MA_ERR_ARGUMENT, _("the password command failed (exit status %d)"),
			WEXITSTATUS(status));
	} else if (WIFSIGNALED(status) && !memchr(buf, '\n', len)) {
		ma_fail(err, MA_ERR_ARGUMENT, _("the password command was killed by signal %d"),
			WTERMSIG(status));
	} else {
		pw = first_line(buf, len, _("the password command"), err);
	}
	OPENSSL_cleanse(buf, sizeof buf);
	return pw;
}

/* What a password file that is not a plain file is, for the message. */
static const char *file_kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return _("a named pipe (FIFO)");
	if (S_ISDIR(mode))
		return _("a directory");
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return _("a device");
	if (S_ISSOCK(mode))
		return _("a socket");
	return _("something else");
}

char *ma_password_from_file(const char *path, struct ma_error *err)
{
	char buf[PW_MAX];
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer, for
	 * ever; a device could block too. The kind is judged on the open file
	 * (fstat), so nothing can swap it in between. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ma_fail(err, MA_ERR_IO, _("cannot read the password file %s: %s"), path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		ma_fail(err, MA_ERR_IO, _("cannot read the password file %s: %s"), path, strerror(e));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		const char *kind = file_kind(st.st_mode);
		close(fd);
		ma_fail(err, MA_ERR_IO, _("the password file %s is not a regular file but %s; give a file "
			"of mode 0600"), path, kind);
		return NULL;
	}
	if (st.st_mode & 077) {
		close(fd);
		ma_fail(err, MA_ERR_ARGUMENT,
			_("the password file %s can be read by other users (mode %03o); run: chmod 600 %s"),
			path, (unsigned)(st.st_mode & 0777), path);
		return NULL;
	}
	ssize_t got;
	while ((got = read(fd, buf, sizeof buf - 1)) < 0 && errno == EINTR)
		;
	close(fd);
	if (got < 0) {
		ma_fail(err, MA_ERR_IO, _("cannot read the password file %s: %s"), path, strerror(errno));
		return NULL;
	}
	char *pw = first_line(buf, (size_t)got, _("the password file"), err);
	OPENSSL_cleanse(buf, sizeof buf);
	return pw;
}

/* The prompt's terminal and its settings before echo went off, for the
 * signal handler: a shell that does not restore the terminal after a
 * killed program (dash) would leave the user typing blind. */
static volatile sig_atomic_t prompt_fd = -1;
static struct termios prompt_saved, prompt_quiet;
static const char *prompt_text;
static const int prompt_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
#define NSIGS (sizeof prompt_sigs / sizeof prompt_sigs[0])

static void prompt_signal(int sig)
{
	int saved = errno;
	int fd = prompt_fd;
	if (fd >= 0)
		tcsetattr(fd, TCSANOW, &prompt_saved);
	/* Echo is back: now what the signal would have done without us (end
	 * the program, or stop it), with the signal it was. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	/* Only a stop comes back here, once continued (fg): echo off again
	 * and the question asked again, as the input goes on being read. */
	struct sigaction me = dfl;
	me.sa_handler = prompt_signal;
	for (size_t i = 0; i < NSIGS; i++)
		sigaddset(&me.sa_mask, prompt_sigs[i]);
	sigaction(sig, &me, NULL);
	if (fd >= 0) {
		tcsetattr(fd, TCSANOW, &prompt_quiet);
		if (write(fd, prompt_text, strlen(prompt_text)) < 0) {
			/* cosmetic only */
		}
	}
	errno = saved;
}

/* Installs the handler for each signal not ignored (a program started with
 * SIGINT ignored, say by nohup, keeps it so); old[] gets what was there. */
static void prompt_catch(struct sigaction old[NSIGS], bool caught[NSIGS])
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = prompt_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NSIGS; i++)
		sigaddset(&sa.sa_mask, prompt_sigs[i]);
	/* No SA_RESTART: the read loop sees EINTR and reads on. */
	for (size_t i = 0; i < NSIGS; i++) {
		caught[i] = sigaction(prompt_sigs[i], NULL, &old[i]) == 0 && old[i].sa_handler != SIG_IGN &&
			    sigaction(prompt_sigs[i], &sa, NULL) == 0;
	}
}

static void prompt_release(const struct sigaction old[NSIGS], const bool caught[NSIGS])
{
	for (size_t i = 0; i < NSIGS; i++)
		if (caught[i])
			sigaction(prompt_sigs[i], &old[i], NULL);
}

char *ma_password_prompt(const char *prompt, struct ma_error *err)
{
	char buf[PW_MAX];
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ma_fail(err, MA_ERR_ARGUMENT,
			_("no terminal to ask for the password; use --password-command or --password-file"));
		return NULL;
	}
	struct sigaction old[NSIGS];
	bool caught[NSIGS] = { false };
	bool have_tty = tcgetattr(fd, &prompt_saved) == 0;
	if (have_tty) {
		prompt_quiet = prompt_saved;
		prompt_quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		prompt_quiet.c_lflag |= ICANON;
		prompt_text = prompt;
		/* The settings to restore are in place before any handler can
		 * run, and the handlers before echo goes off. */
		prompt_fd = fd;
		prompt_catch(old, caught);
		tcsetattr(fd, TCSAFLUSH, &prompt_quiet);
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* nothing useful to do: the read below still works */
	}
	size_t len = 0;
	while (len < sizeof buf - 1) {
		ssize_t got = read(fd, buf + len, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || buf[len] == '\n')
			break;
		len++;
	}
	if (have_tty) {
		/* Held off while the terminal and the handlers are put back: a
		 * stop caught in between would turn echo off again after the
		 * restore. A signal that came meanwhile then takes its usual
		 * course, with echo on. */
		sigset_t hold, was;
		sigemptyset(&hold);
		for (size_t i = 0; i < NSIGS; i++)
			sigaddset(&hold, prompt_sigs[i]);
		sigprocmask(SIG_BLOCK, &hold, &was);
		tcsetattr(fd, TCSAFLUSH, &prompt_saved);
		prompt_release(old, caught);
		prompt_fd = -1;
		sigprocmask(SIG_SETMASK, &was, NULL);
	}
	if (write(fd, "\n", 1) < 0) {
		/* cosmetic only */
	}
	close(fd);
	char *pw = first_line(buf, len, _("the prompt"), err);
	OPENSSL_cleanse(buf, sizeof buf);
	return pw;
}

char *ma_password_get(const char *command, const char *file, int timeout_s, const char *login,
		      struct ma_error *err)
{
	if (command)
		return ma_password_from_command(command, timeout_s, err);
	if (file)
		return ma_password_from_file(file, err);
	if (!login) {
		err->status = MA_OK;
		err->detail[0] = '\0';
		return NULL;
	}
	char prompt[400];
	snprintf(prompt, sizeof prompt, _("Password for %s: "), login);
	return ma_password_prompt(prompt, err);
}
