/* An account as the user configured it: in the accounts file (config.h)
 * or on the command line. Plain data, shared by the configuration, the
 * audit and the connection doctor. */
#ifndef MA_ACCOUNT_H
#define MA_ACCOUNT_H

#include <stdbool.h>

#include "net/endpoint.h"

struct ma_account {
	char name[64];            /* config section name, "" from the command line */
	char login[256];
	char address[256];        /* e-mail address if known, else "" */
	bool has_imap, has_pop3, has_smtp;
	struct ma_endpoint imap, pop3, smtp;
};

#endif
