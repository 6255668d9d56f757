/*
 * netcount.so: an LD_PRELOAD shim that counts the bytes a process receives
 * from TCP sockets (TLS records as they arrive, i.e. wire bytes), so every
 * client in the benchmark is measured the same way without changing it.
 * At exit it appends "bytes=N pid=P" to the file named by MA_NETCOUNT_FILE.
 *
 * OpenSSL's socket BIO reads with read(), curl and Python with recv(), so
 * read/recv/recvfrom/recvmsg are wrapped; a read counts only when its fd
 * is a TCP socket (DNS over UDP and local sockets are not mail traffic).
 * The extra getsockname() per read costs a syscall, which is why the
 * benchmark uses this shim only in a separate, untimed run. A process that ends in _exit() or by a signal is not counted.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static unsigned long long total;

static int is_tcp(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int saved = errno;
	int type = 0;
	socklen_t tl = sizeof type;
	int r = getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
		(ss.ss_family == AF_INET || ss.ss_family == AF_INET6) &&
		getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM;
	errno = saved;
	return r;
}

static void add(ssize_t n)
{
	if (n > 0)
		__atomic_fetch_add(&total, (unsigned long long)n, __ATOMIC_RELAXED);
}

#define REAL(name) \
	static __typeof__(name) *real; \
	if (!real) \
		real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t read(int fd, void *buf, size_t n)
{
	REAL(read);
	ssize_t r = real(fd, buf, n);
	if (r > 0 && is_tcp(fd))
		add(r);
	return r;
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	(void)buflen;
	return read(fd, buf, n);
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	REAL(recv);
	ssize_t r = real(fd, buf, n, flags);
	if (!(flags & MSG_PEEK) && r > 0 && is_tcp(fd))
		add(r);
	return r;
}

ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	(void)buflen;
	return recv(fd, buf, n, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *al)
{
	REAL(recvfrom);
	ssize_t r = real(fd, buf, n, flags, a, al);
	if (!(flags & MSG_PEEK) && r > 0 && is_tcp(fd))
		add(r);
	return r;
}

ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	REAL(recvmsg);
	ssize_t r = real(fd, m, flags);
	if (!(flags & MSG_PEEK) && r > 0 && is_tcp(fd))
		add(r);
	return r;
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("MA_NETCOUNT_FILE");
	if (!path || !total)
		return;
	char line[64];
	int len = snprintf(line, sizeof line, "bytes=%llu pid=%d\n", total, (int)getpid());
	/* one write with O_APPEND: several processes may report to one file */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, line, (size_t)len) < 0) {
			/* nothing to do: the benchmark then shows n/a */
		}
		close(fd);
	}
}
