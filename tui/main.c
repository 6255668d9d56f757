/* mailaudit: entry point. Parses options and hands off to the report or the TUI. */
#include <stdio.h>
#include <string.h>

#include "status.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mailaudit [OPTIONS]\n"
		"Tells whether your mail is safe on the server: logs in over IMAP and POP3\n"
		"(read-only), finds what deletes mail, and explains the fix.\n\n"
		"  --version        print the version and exit\n"
		"  --help           print this help and exit\n");
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("mailaudit %s\n", MA_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "mailaudit: unknown option '%s' (see mailaudit --help)\n", argv[i]);
		return 3;
	}
	usage(stdout);
	return 0;
}
