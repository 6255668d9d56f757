/* The settings of a run as core options, for both front ends; see tui.h. */
#include <string.h>

#include "base/i18n.h"
#include "tui.h"

void ma_run_audit_opts(const struct ma_run_settings *s, const char *ca_file,
		       struct ma_audit_opts *o)
{
	memset(o, 0, sizeof *o);
	o->net.ca_file = ca_file;
	o->net.insecure = s->insecure;
	o->net.timeout_s = s->timeout ? s->timeout : MA_TIMEOUT_AUDIT_S;
	o->net.source_addr = s->source_addr;
	o->net.cancel_fd = -1;
	o->state_dir = s->state_dir;
	o->no_history = s->no_history;
	o->now = s->now;
	o->pop3_despite_login_delay = s->pop3_despite_login_delay;
}

void ma_run_probe_net(const struct ma_run_settings *s, const char *ca_file,
		      struct ma_net_opts *net)
{
	memset(net, 0, sizeof *net);
	net->ca_file = ca_file;
	net->timeout_s = s->timeout ? s->timeout : MA_TIMEOUT_PROBE_S;
	net->source_addr = s->source_addr;
	net->cancel_fd = -1;
}
