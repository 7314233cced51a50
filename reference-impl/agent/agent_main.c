/* vecs-agent: the reference KVM agent of a simulated (or real) host. See README.md in
 * this directory and COMMANDS.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libcryptsetup.h>
#include <libgen.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/agent_caps.h"
#include "agent/host.h"
#include "channel/channel_proto.h"
#include "util/spawn.h"

static const char usage[] =
	"usage: vecs-agent --host-dir D/NAME --mgmt-socket PATH --token-file FILE\n"
	"                  [--kdf fast|production] [--log FILE] [--sdc-dir DIR]\n"
	"                  [--domain-type auto|kvm|qemu] [--no-encryption]\n"
	"                  [--qemu-img PATH] [--emulator PATH]\n"
	"The KVM agent of the simulated host in D/NAME (its host.json, written by vecs-host up):\n"
	"registers with the management server on its agent socket, reports whether the host\n"
	"can encrypt volumes (qemu-img with luks, libcryptsetup), and serves the commands of\n"
	"reference-impl/agent/COMMANDS.md on the host's libvirtd until SIGTERM or SIGINT.\n"
	"  --kdf fast        qemu-img with the getrusage shim, libcryptsetup with 1000 PBKDF2\n"
	"                    iterations (tests, CI); production (default): calibrated\n"
	"  --sdc-dir DIR     the host's ScaleIO SDC by-id directory (D/NAME/dev/disk/by-id)\n"
	"  --domain-type T   libvirt domain type: kvm, qemu (TCG), or auto (default): kvm\n"
	"                    when /dev/kvm is usable, else qemu\n"
	"  --no-encryption   report host.volume.encryption=false and refuse encrypted volumes\n"
	"  --qemu-img PATH   the qemu-img run for every volume command and for the capability\n"
	"                    probe (default /usr/bin/qemu-img; a fault wrapper, say)\n"
	"  --emulator PATH   the domains' <emulator> (default: libvirt's choice); a wrapper that\n"
	"                    sets an environment and execs qemu-system-x86_64, since libvirt\n"
	"                    starts QEMU with a cleared environment\n"
	"LD_PRELOAD and the rest of the agent's environment reach qemu-img and cryptsetup.\n"
	"Key files live in D/NAME/agent-keys (0700), one per command, deleted after it.\n"
	"Each domain's serial console goes to D/NAME/serial/<domain>.log unless start_vm\n"
	"names a serial_log; start_vm answers its path.\n";

static const struct chan_handler handlers[] = {
	{ "host_info", h_host_info },
	{ "create_volume", h_create_volume },
	{ "delete_volume", h_delete_volume },
	{ "resize_volume", h_resize_volume },
	{ "copy_volume", h_copy_volume },
	{ "snapshot_volume", h_snapshot_volume },
	{ "revert_snapshot", h_revert_snapshot },
	{ "start_vm", h_start_vm },
	{ "stop_vm", h_stop_vm },
	{ "reboot_vm", h_reboot_vm },
	{ "attach_volume", h_attach_volume },
	{ "detach_volume", h_detach_volume },
	{ "prepare_migration", h_prepare_migration },
	{ "migrate_vm", h_migrate_vm },
	{ "post_migration", h_post_migration },
};

static int copy_str(char *dst, size_t cap, json_t *j, const char *key, const char *file,
		    struct vecs_err *err)
{
	const char *s = json_string_value(json_object_get(j, key));

	if (!s || strlen(s) >= cap)
		return vecs_err_set(err, -EINVAL, "%s: no usable \"%s\"", file, key);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int load_host(struct agent *a, const char *dir, struct vecs_err *err)
{
	char path[PATH_MAX + 16];
	json_error_t je;
	json_t *j;
	int r;

	char real[PATH_MAX];

	if (!realpath(dir, real))
		return vecs_err_set(err, -errno, "host dir %s: %s", dir, strerror(errno));
	if (strlen(real) >= sizeof(a->host_dir))
		return vecs_err_set(err, -ENAMETOOLONG, "host dir %s: path too long", real);
	memcpy(a->host_dir, real, strlen(real) + 1);
	snprintf(path, sizeof(path), "%s/host.json", a->host_dir);
	if (!(j = json_load_file(path, 0, &je)))
		return vecs_err_set(err, -ENOENT, "cannot read %s: %s (bring the host up with "
				    "vecs-host up first)", path, je.text);
	r = copy_str(a->name, sizeof(a->name), j, "name", path, err);
	if (r == 0)
		r = copy_str(a->uri, sizeof(a->uri), j, "uri", path, err);
	if (r == 0)
		r = copy_str(a->tcp_uri, sizeof(a->tcp_uri), j, "tcp_uri", path, err);
	if (r == 0)
		r = copy_str(a->address, sizeof(a->address), j, "address", path, err);
	if (r == 0)
		r = copy_str(a->netns, sizeof(a->netns), j, "netns", path, err);
	json_decref(j);
	return r;
}

/* The capability probe: qemu-img lists luks, libcryptsetup initialises. */
static bool probe(struct agent *a)
{
	const char *help_argv[] = { a->qemu_img, "--help", NULL };
	const char *ver_argv[] = { a->qemu_img, "--version", NULL };
	const char *cs_argv[] = { "cryptsetup", "--version", NULL };
	static char help[65536];
	struct vecs_err err = { 0 };
	struct crypt_device *cd = NULL;
	char ver[256] = "";
	int status = -1;
	bool luks, crypt;

	struct vecs_spawn_opts o = { .timeout_ms = 10000, .out = help, .out_cap = sizeof(help) };
	/* qemu-img --help exits 0 on current versions, 1 on some older ones */
	luks = vecs_spawn_run(help_argv, &o, &status, &err) == 0 && (status == 0 || status == 1) &&
	       agent_caps_help_lists_luks(help);
	struct vecs_spawn_opts ov = { .timeout_ms = 10000, .out = ver, .out_cap = sizeof(ver) };
	if (vecs_spawn_run(ver_argv, &ov, &status, &err) == 0 && status == 0)
		snprintf(a->qemu_img_version, sizeof(a->qemu_img_version), "%.*s",
			 (int)strcspn(ver, "\n"), ver);
	crypt = crypt_init(&cd, NULL) == 0;
	crypt_free(cd);
	ver[0] = '\0';
	struct vecs_spawn_opts oc = { .timeout_ms = 10000, .out = ver, .out_cap = sizeof(ver) };
	if (vecs_spawn_run(cs_argv, &oc, &status, &err) == 0 && status == 0)
		snprintf(a->cryptsetup_version, sizeof(a->cryptsetup_version), "%.*s",
			 (int)strcspn(ver, "\n"), ver);
	else
		snprintf(a->cryptsetup_version, sizeof(a->cryptsetup_version), "libcryptsetup");
	agent_log(a, "capability probe: %s luks %s, libcryptsetup %s", a->qemu_img,
		  luks ? "yes" : "no", crypt ? "usable" : "unusable");
	return luks && crypt;
}

/* The private key directory, emptied of a killed agent's key files. */
static int key_dir_setup(struct agent *a, struct vecs_err *err)
{
	struct stat st;
	int r;

	snprintf(a->key_dir, sizeof(a->key_dir), "%s/agent-keys", a->host_dir);
	if (lstat(a->key_dir, &st) == 0) {
		char cmd_path[PATH_MAX + 512];
		if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
			return vecs_err_set(err, -EPERM, "%s is not our directory", a->key_dir);
		/* leftovers of a killed agent: each is a passphrase */
		int dfd = open(a->key_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (!strncmp(e->d_name, "key-", 4)) {
				snprintf(cmd_path, sizeof(cmd_path), "%s/%s", a->key_dir, e->d_name);
				unlink(cmd_path);
				agent_ledger_forget(a, VECS_OBJ_FILE, cmd_path, NULL);
			}
		if (d)
			closedir(d);
		return chmod(a->key_dir, 0700) < 0 ? vecs_err_set(err, -errno, "chmod %s: %s",
								   a->key_dir, strerror(errno))
						    : 0;
	}
	if ((r = agent_ledger_add(a, VECS_OBJ_DIR, a->key_dir, NULL, &a->key_dir_ledger_id, err)) < 0)
		return r;
	if (mkdir(a->key_dir, 0700) < 0)
		return vecs_err_set(err, -errno, "cannot create %s: %s", a->key_dir, strerror(errno));
	return 0;
}

/* auto: kvm when /dev/kvm is usable, else qemu (TCG); kvm is refused without /dev/kvm. */
static int domain_type_pick(struct agent *a, const char *want, struct vecs_err *err)
{
	bool kvm = access("/dev/kvm", R_OK | W_OK) == 0;

	if (!strcmp(want, "kvm") && !kvm)
		return vecs_err_set(err, -ENODEV, "--domain-type kvm needs a usable /dev/kvm "
				    "(use --domain-type qemu for TCG)");
	a->domain_type = !strcmp(want, "auto") ? (kvm ? "kvm" : "qemu")
			 : !strcmp(want, "kvm") ? "kvm" : "qemu";
	return 0;
}

/* D/NAME/serial: the domains' serial console logs (removed with the host dir by
 * vecs-host down, which the ledger record makes sure of). */
static int serial_dir_setup(struct agent *a, struct vecs_err *err)
{
	int r;

	snprintf(a->serial_dir, sizeof(a->serial_dir), "%s/serial", a->host_dir);
	if (access(a->serial_dir, F_OK) == 0)
		return 0;
	if ((r = agent_ledger_add(a, VECS_OBJ_DIR, a->serial_dir, NULL, NULL, err)) < 0)
		return r;
	if (mkdir(a->serial_dir, 0750) < 0 && errno != EEXIST)
		return vecs_err_set(err, -errno, "cannot create %s: %s", a->serial_dir,
				    strerror(errno));
	return 0;
}

static void quiet_virt_errors(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e; /* reported where understood, through agent_virt_error() */
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host-dir", required_argument, NULL, 'd' },
		{ "mgmt-socket", required_argument, NULL, 's' },
		{ "token-file", required_argument, NULL, 't' },
		{ "kdf", required_argument, NULL, 'k' },
		{ "log", required_argument, NULL, 'L' },
		{ "sdc-dir", required_argument, NULL, 'S' },
		{ "no-encryption", no_argument, NULL, 'N' },
		{ "domain-type", required_argument, NULL, 'T' },
		{ "qemu-img", required_argument, NULL, 'Q' },
		{ "emulator", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct agent a;
	struct channel_client_config cfg = { .handlers = handlers,
					     .n_handlers = sizeof(handlers) / sizeof(handlers[0]) };
	const char *host_dir = NULL, *kdf = "production", *logpath = NULL, *sdc = NULL,
		   *dtype = "auto";
	struct channel_client *cc = NULL;
	struct vecs_err err = { 0 };
	char self[PATH_MAX], tmp[PATH_MAX + 32];
	bool no_enc = false;
	sigset_t sigs;
	int c, sig, r, rc = 2;

	if (argc > 1 && !strcmp(argv[1], "--nfs-helper"))
		return agent_nfs_helper_main(argc, argv);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': host_dir = optarg; break;
		case 's': cfg.socket_path = optarg; break;
		case 't': cfg.token_file = optarg; break;
		case 'k': kdf = optarg; break;
		case 'L': logpath = optarg; break;
		case 'S': sdc = optarg; break;
		case 'N': no_enc = true; break;
		case 'T': dtype = optarg; break;
		case 'Q': a.qemu_img = optarg; break;
		case 'E': a.emulator = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc || !host_dir || !cfg.socket_path || !cfg.token_file ||
	    (strcmp(kdf, "fast") && strcmp(kdf, "production")) ||
	    (strcmp(dtype, "auto") && strcmp(dtype, "kvm") && strcmp(dtype, "qemu"))) {
		fputs(usage, stderr);
		return 2;
	}
	if (!a.qemu_img)
		a.qemu_img = "/usr/bin/qemu-img";
	if (access(a.qemu_img, X_OK) != 0 || (a.emulator && access(a.emulator, X_OK) != 0)) {
		fprintf(stderr, "vecs-agent: %s is not an executable program\n",
			access(a.qemu_img, X_OK) != 0 ? a.qemu_img : a.emulator);
		return 2;
	}
	pthread_mutex_init(&a.log_lock, NULL);
	pthread_mutex_init(&a.conn_lock, NULL);
	pthread_mutex_init(&a.mig_lock, NULL);
	pthread_mutex_init(&a.dom_lock, NULL);
	pthread_mutex_init(&a.path_lock, NULL);
	pthread_cond_init(&a.path_cond, NULL);
	a.kdf_fast = !strcmp(kdf, "fast");
	snprintf(a.name, sizeof(a.name), "?");
	if (logpath) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0 || !(a.log = fdopen(fd, "a"))) {
			fprintf(stderr, "vecs-agent: cannot open log %s: %s\n", logpath, strerror(errno));
			return 2;
		}
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	chan_proto_init(); /* before the first jansson object */

	if (load_host(&a, host_dir, &err) < 0)
		goto fail;
	/* the run's ledger: the host dir's parent holds it (host.h) */
	snprintf(tmp, sizeof(tmp), "%s", a.host_dir);
	snprintf(a.ledger_path, sizeof(a.ledger_path), "%s/" VECS_HOST_LEDGER, dirname(tmp));
	if (vecs_ledger_open(&a.ledger, a.ledger_path, &err) < 0)
		goto fail;
	if (sdc)
		snprintf(a.sdc_dir, sizeof(a.sdc_dir), "%s", sdc);
	else
		snprintf(a.sdc_dir, sizeof(a.sdc_dir), "%s/dev/disk/by-id", a.host_dir);
	/* the shim sits beside this program (build/bin) */
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	snprintf(a.shim, sizeof(a.shim), "%s/getrusage-shim.so", dirname(self));
	if (a.kdf_fast && access(a.shim, R_OK) < 0) {
		vecs_err_set(&err, -ENOENT, "kdf=fast needs %s (make builds it)", a.shim);
		goto fail;
	}
	if ((r = domain_type_pick(&a, dtype, &err)) < 0 || key_dir_setup(&a, &err) < 0 ||
	    serial_dir_setup(&a, &err) < 0)
		goto fail;
	a.encryption = probe(&a) && !no_enc;
	if (virInitialize() < 0) {
		vecs_err_set(&err, -EIO, "libvirt does not initialise");
		goto fail;
	}
	virSetErrorFunc(NULL, quiet_virt_errors);
	{
		virConnectPtr conn = agent_conn(&a, &err);
		if (!conn)
			goto fail;
		virConnectClose(conn);
	}

	cfg.host = a.name;
	cfg.ip = a.address;
	cfg.libvirt_uri = a.uri;
	cfg.log = a.log;
	cfg.handler_ctx = &a;
	cfg.details = json_pack("{s:s, s:s, s:s}", "host.volume.encryption",
				a.encryption ? "true" : "false", "agent.kind", "vecs-agent", "kdf",
				kdf);
	if (channel_client_start(&cc, &cfg, &err) < 0)
		goto fail;
	agent_log(&a, "serving (libvirt %s, %s, kdf=%s, encryption %s)", a.uri, a.domain_type, kdf,
		  a.encryption ? "supported" : "not supported");
	do
		c = sigwait(&sigs, &sig);
	while (c != 0);
	rc = 0;
	agent_log(&a, "signal %d: stopping", sig);
	goto out;
fail:
	fprintf(stderr, "vecs-agent: %s\n", err.msg);
	if (a.ledger)
		agent_log(&a, "cannot start: %s", err.msg);
out:
	channel_client_stop(cc);
	json_decref(cfg.details);
	if (a.conn)
		virConnectClose(a.conn);
	if (a.key_dir[0] && a.key_dir_ledger_id && rmdir(a.key_dir) == 0)
		vecs_ledger_done(a.ledger, a.key_dir_ledger_id, NULL);
	vecs_ledger_close(a.ledger);
	if (a.log)
		fclose(a.log);
	return rc;
}
