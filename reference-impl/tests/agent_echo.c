/* vecs-test-agent: a stand-in agent for the channel's integration test
 * (harness/tests/integration/t-agent-channel.sh). The real agent (command handlers on
 * libvirt, qemu-img, cryptsetup) is built on the same client library.
 *
 * Handlers: echo (answers its args), sleep {ms}, fail {message}, passphrase_len (the
 * length of the "passphrase" argument, proving it arrived, never its value). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/channel_client.h"
#include "channel/channel_proto.h"

static const char usage[] =
	"usage: vecs-test-agent --socket PATH --host NAME --token-file FILE\n"
	"                       [--encryption true|false] [--ip ADDR] [--libvirt-uri URI]\n"
	"                       [--log FILE]\n"
	"Connects to vecs-mgmt's agent socket as host NAME and serves the test commands\n"
	"echo, sleep, fail and passphrase_len until SIGTERM or SIGINT.\n";

static int h_echo(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		  struct vecs_err *err)
{
	*result = json_deep_copy(args);
	return *result ? 0 : vecs_err_set(err, -ENOMEM, "out of memory");
}

static int h_sleep(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		   struct vecs_err *err)
{
	json_int_t ms = json_integer_value(json_object_get(args, "ms"));
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	if (ms < 0 || ms > 600000)
		return vecs_err_set(err, -EINVAL, "sleep: ms must be 0 to 600000");
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	*result = json_pack("{s:I}", "slept_ms", ms);
	return 0;
}

static int h_fail(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		  struct vecs_err *err)
{
	const char *m = json_string_value(json_object_get(args, "message"));

	return vecs_err_set(err, -EIO, "%s", m ? m : "asked to fail");
}

static int h_passphrase_len(void *ctx, json_t *args, const struct chan_secrets *s,
			    json_t **result, struct vecs_err *err)
{
	const struct vecs_secret *p = chan_secret_get(s, "passphrase");

	if (!p)
		return vecs_err_set(err, -EINVAL, "passphrase_len: no passphrase argument");
	/* the handler's args must no longer hold the JSON copy */
	*result = json_pack("{s:I, s:b}", "length", (json_int_t)p->len, "in_args",
			    json_object_get(args, "passphrase") != NULL);
	return 0;
}

static const struct chan_handler handlers[] = {
	{ "echo", h_echo },
	{ "sleep", h_sleep },
	{ "fail", h_fail },
	{ "passphrase_len", h_passphrase_len },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "host", required_argument, NULL, 'H' },
		{ "token-file", required_argument, NULL, 't' },
		{ "encryption", required_argument, NULL, 'e' },
		{ "ip", required_argument, NULL, 'i' },
		{ "libvirt-uri", required_argument, NULL, 'u' },
		{ "log", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct channel_client_config cfg = { .handlers = handlers,
					     .n_handlers = sizeof(handlers) / sizeof(handlers[0]) };
	const char *enc = "false", *logpath = NULL;
	struct channel_client *cc = NULL;
	struct vecs_err err = { 0 };
	sigset_t sigs;
	int c, sig, rc = 2;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': cfg.socket_path = optarg; break;
		case 'H': cfg.host = optarg; break;
		case 't': cfg.token_file = optarg; break;
		case 'e': enc = optarg; break;
		case 'i': cfg.ip = optarg; break;
		case 'u': cfg.libvirt_uri = optarg; break;
		case 'L': logpath = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc || !cfg.socket_path || !cfg.host || !cfg.token_file ||
	    (strcmp(enc, "true") && strcmp(enc, "false"))) {
		fputs(usage, stderr);
		return 2;
	}
	if (logpath && !(cfg.log = fopen(logpath, "ae"))) {
		fprintf(stderr, "vecs-test-agent: cannot open log %s: %s\n", logpath, strerror(errno));
		return 2;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	chan_proto_init(); /* before the first jansson object */
	cfg.details = json_pack("{s:s, s:s}", "host.volume.encryption", enc, "agent.kind", "test");
	if (channel_client_start(&cc, &cfg, &err) < 0) {
		fprintf(stderr, "vecs-test-agent: %s\n", err.msg);
		goto out;
	}
	do
		c = sigwait(&sigs, &sig);
	while (c != 0);
	rc = 0;
out:
	channel_client_stop(cc);
	json_decref(cfg.details);
	if (cfg.log)
		fclose(cfg.log);
	return rc;
}
