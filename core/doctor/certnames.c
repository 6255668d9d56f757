/* Which names a certificate's SANs cover (see probe.h). Input from
 * servers: any bytes are acceptable (fuzz_doctor drives this). */
#include "doctor/probe.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool ma_cert_covers(const char *sans, const char *host)
{
	const char *p = sans;
	while (p && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		char ent[256];
		snprintf(ent, sizeof ent, "%.*s", (int)l, p);
		p = e;
		const char *name = NULL;
		if (strncmp(ent, "DNS:", 4) == 0)
			name = ent + 4;
		else if (strncmp(ent, "IP:", 3) == 0)
			name = ent + 3;
		if (!name)
			continue;
		if (strcasecmp(name, host) == 0)
			return true;
		/* RFC 6125: "*." covers exactly one leftmost label */
		if (name[0] == '*' && name[1] == '.') {
			const char *dot = strchr(host, '.');
			if (dot && dot != host && strcasecmp(dot + 1, name + 2) == 0)
				return true;
		}
	}
	return false;
}
