/* vecs-test-agent: a stand-in agent for the channel's integration test
 * (harness/tests/integration/t-agent-channel.sh). The real agent (command handlers on
 * libvirt, qemu-img, cryptsetup) is built on the same client library.
 *
 * Handlers: echo (answers its args), sleep {ms}, fail {message}, passphrase_len (the
 * length of the "passphrase" argument, proving it arrived, never its value).
 *
 * --record FILE appends one JSON line per command received: {"cmd", "args" (as the
 * handler sees them: passphrases already taken out), "secrets" (the paths at which a
 * passphrase arrived, e.g. ["volume.passphrase"]; never a value)}. vecs-mgmt's tests
 * assert on it which command each API operation sends, with which fields, and that a
 * passphrase goes only where it is needed.
 *
 * --store DIR adds a storage stand-in for control-plane tests (crash recovery): the
 * agent commands create_volume, delete_volume, resize_volume, start_vm, stop_vm,
 * attach_volume, detach_volume act on plain files: a volume is the file
 * <pool.path>/<volume.path> (first line "luks" when a passphrase came with it, else
 * "raw"), a running VM the file DIR/<name>. No qemu-img, no libvirt: what is tested
 * is the control plane's bookkeeping against what "exists". */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
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
	"                       [--log FILE] [--record FILE] [--store DIR]\n"
	"Connects to vecs-mgmt's agent socket as host NAME and serves the test commands\n"
	"echo, sleep, fail and passphrase_len until SIGTERM or SIGINT. --record FILE: one\n"
	"JSON line per command (args without passphrases, and where passphrases came).\n"
	"--store DIR: also create/delete/resize_volume, start/stop_vm, attach/detach_volume\n"
	"on plain files (volumes under the pool's path, running VMs under DIR).\n";

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

static const char *record_path, *store_dir;
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;

static void record(const char *name, json_t *args, const struct chan_secrets *s)
{
	json_t *line, *paths = json_array();
	char *text;
	FILE *f;

	if (!record_path)
		return;
	for (unsigned i = 0; s && i < s->n; i++)
		json_array_append_new(paths, json_string(s->v[i].path));
	line = json_pack("{s:s, s:O, s:o}", "cmd", name, "args", args ? args : json_object(),
			 "secrets", paths);
	text = line ? json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	pthread_mutex_lock(&record_lock);
	if (text && (f = fopen(record_path, "ae"))) {
		fprintf(f, "%s\n", text);
		fclose(f);
	}
	pthread_mutex_unlock(&record_lock);
	free(text);
	json_decref(line);
}

/* <pool.path>/<volume.path> of args[key] */
static int vol_file(json_t *args, const char *key, char *out, size_t n, struct vecs_err *err)
{
	json_t *v = json_object_get(args, key);
	const char *dir = json_string_value(json_object_get(json_object_get(v, "pool"), "path"));
	const char *path = json_string_value(json_object_get(v, "path"));

	if (!dir || !path || strchr(path, '/'))
		return vecs_err_set(err, -EINVAL, "%s: no pool path or a bad volume path", key);
	snprintf(out, n, "%s/%s", dir, path);
	return 0;
}

static int h_create_volume(void *ctx, json_t *args, const struct chan_secrets *s,
			   json_t **result, struct vecs_err *err)
{
	char f[1024];
	bool enc = chan_secret_get(s, "volume.passphrase") != NULL;
	json_int_t size = json_integer_value(json_object_get(json_object_get(args, "volume"), "size"));
	FILE *fp;
	int r;

	record("create_volume", args, s);
	if ((r = vol_file(args, "volume", f, sizeof(f), err)) < 0)
		return r;
	if (!(fp = fopen(f, "we")))
		return vecs_err_set(err, -errno, "cannot create %s: %s", f, strerror(errno));
	fprintf(fp, "%s\n", enc ? "luks" : "raw");
	fclose(fp);
	*result = json_pack("{s:s, s:I, s:s, s:s?}", "path",
			    json_string_value(json_object_get(json_object_get(args, "volume"), "path")),
			    "size", size, "format", "qcow2", "encrypt_format", enc ? "luks" : NULL);
	return 0;
}

static int h_delete_volume(void *ctx, json_t *args, const struct chan_secrets *s,
			   json_t **result, struct vecs_err *err)
{
	char f[1024];
	int r;

	record("delete_volume", args, s);
	if ((r = vol_file(args, "volume", f, sizeof(f), err)) < 0)
		return r;
	if (unlink(f) < 0 && errno != ENOENT)
		return vecs_err_set(err, -errno, "cannot delete %s: %s", f, strerror(errno));
	return 0;
}

static int h_resize_volume(void *ctx, json_t *args, const struct chan_secrets *s,
			   json_t **result, struct vecs_err *err)
{
	record("resize_volume", args, s);
	*result = json_pack("{s:O}", "size", json_object_get(args, "new_size"));
	return 0;
}

static int vm_file(json_t *args, char *out, size_t n, struct vecs_err *err)
{
	json_t *vm = json_object_get(args, "vm");
	const char *name = json_string_value(json_object_get(args, "name"));

	if (!name && json_is_object(vm))
		name = json_string_value(json_object_get(vm, "name"));
	if (!name || strchr(name, '/') || !store_dir)
		return vecs_err_set(err, -EINVAL, "the command has no vm name");
	snprintf(out, n, "%s/%s", store_dir, name);
	return 0;
}

static int h_start_vm(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		      struct vecs_err *err)
{
	char f[1024];
	FILE *fp;
	int r;

	record("start_vm", args, s);
	if ((r = vm_file(args, f, sizeof(f), err)) < 0)
		return r;
	if (!(fp = fopen(f, "we")))
		return vecs_err_set(err, -errno, "cannot create %s: %s", f, strerror(errno));
	fclose(fp);
	*result = json_pack("{s:s}", "domain_uuid", "00000000-0000-0000-0000-000000000000");
	return 0;
}

static int h_stop_vm(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		     struct vecs_err *err)
{
	char f[1024];
	int r;

	record("stop_vm", args, s);
	if ((r = vm_file(args, f, sizeof(f), err)) < 0)
		return r;
	if (unlink(f) < 0)
		return vecs_err_set(err, -ENOENT, "VM %s is not running on this host",
				    json_string_value(json_object_get(args, "name")));
	return 0;
}

static int h_record_only(void *ctx, json_t *args, const struct chan_secrets *s,
			 json_t **result, struct vecs_err *err)
{
	record(ctx ? (const char *)ctx : "?", args, s);
	return 0;
}

static int h_attach(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		    struct vecs_err *err)
{
	return h_record_only("attach_volume", args, s, result, err);
}

static int h_detach(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		    struct vecs_err *err)
{
	return h_record_only("detach_volume", args, s, result, err);
}

static const struct chan_handler handlers[] = {
	{ "echo", h_echo },
	{ "sleep", h_sleep },
	{ "fail", h_fail },
	{ "passphrase_len", h_passphrase_len },
	/* --store */
	{ "create_volume", h_create_volume },
	{ "delete_volume", h_delete_volume },
	{ "resize_volume", h_resize_volume },
	{ "start_vm", h_start_vm },
	{ "stop_vm", h_stop_vm },
	{ "attach_volume", h_attach },
	{ "detach_volume", h_detach },
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
		{ "record", required_argument, NULL, 'r' },
		{ "store", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct channel_client_config cfg = { .handlers = handlers };
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
		case 'r': record_path = optarg; break;
		case 'S': store_dir = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	/* the storage stand-in only with --store: otherwise the four test commands */
	cfg.n_handlers = store_dir ? sizeof(handlers) / sizeof(handlers[0]) : 4;
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
