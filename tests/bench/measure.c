/*
 * measure: runs a command and reports what it cost, for the benchmark.
 *
 *   measure OUTFILE COMMAND [ARGS...]
 *
 * Writes one line to OUTFILE: "wall_s cpu_s maxrss_kb exit", where cpu is
 * user+sys and maxrss the peak resident set of the command and of every
 * descendant it waited for (wait4's rusage covers those). The command's own
 * stdout and stderr pass through. Wall time is monotonic, in microseconds;
 * GNU time's %e only has centiseconds and may not be installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: measure OUTFILE COMMAND [ARGS...]\n");
		return 2;
	}
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0) {
		perror("measure: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror("measure: exec");
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) != pid) {
		perror("measure: wait4");
		return 2;
	}
	double wall = now() - t0;
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	fprintf(f, "%.6f %.6f %ld %d\n", wall, cpu, ru.ru_maxrss, code);
	fclose(f);
	return code;
}
