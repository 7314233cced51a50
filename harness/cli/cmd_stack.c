#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "targets/reference.h"
#include "targets/stack.h"

static void stack_usage(FILE *f)
{
	fprintf(f,
		"usage: vecs stack up --dir D [--db sqlite|mariadb] [--hosts N] [--kdf fast|production]\n"
		"       vecs stack status --dir D [--json]\n"
		"       vecs stack down --dir D\n"
		"       vecs stack config --dir D > F\n"
		"       vecs stack ctl --dir D VERB [SERVICE] [--env NAME=VALUE]...\n"
		"\n"
		"The whole reference deployment on this machine: N simulated KVM hosts (each a\n"
		"libvirtd in its own network and mount namespaces), the ScaleIO gateway emulator,\n"
		"NFS (nfs-ganesha) when built, the database (SQLite file, or a private mariadbd),\n"
		"the management server vecs-mgmt and one vecs-agent per host.\n"
		"\n"
		"up      starts everything under a keeper process that owns the run, and writes\n"
		"        D/stack.json (mode 0600: api_url, api_key, secret_key, db, hosts, pools);\n"
		"        leftovers of an earlier, killed stack in D are removed first;\n"
		"        VECS_DOMAIN_TYPE=auto|kvm|qemu is the agents' --domain-type (qemu:\n"
		"        TCG, for the tiny guest where nested KVM hangs it)\n"
		"status  which recorded processes run; exit 0 when all do, 1 otherwise\n"
		"down    stops and removes everything up made, also after a crash or kill -9\n"
		"config  prints the running stack as a target configuration for\n"
		"        `vecs run --target cloudstack --target-config F` (JSON, format in\n"
		"        harness/targets/README.md; it holds the keys: write it with umask 077)\n"
		"ctl     service control through the keeper's socket D/control.sock (fault\n"
		"        injection). VERB:\n"
		"          status             every service: NAME PID STATE (running, stopped,\n"
		"                             killed, dead)\n"
		"          stop SERVICE       SIGTERM; it stays down\n"
		"          kill SERVICE       SIGKILL (a crash); it stays down\n"
		"          start SERVICE      start it again (after stop or kill)\n"
		"          restart SERVICE    stop and start; --env entries are added to its\n"
		"                             environment for this and later starts, a restart\n"
		"                             without --env clears them\n"
		"        SERVICE: mgmt, agent-hN, libvirtd-hN, nfs, scaleio, mariadb (--db\n"
		"        mariadb). Services come back on the same addresses; start and restart\n"
		"        return once the service is ready (mgmt: API answers and every agent is\n"
		"        Up again; agent-hN: hN Up; libvirtd: virsh answers; nfs: the export is\n"
		"        served; scaleio: login works; mariadb: the socket answers).\n"
		"        --env LD_PRELOAD=... is joined with the stack's own preload (the\n"
		"        agents' I/O fault shim) by ':'; clock faults: --env LD_PRELOAD=\n"
		"        /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 --env FAKETIME=+2h.\n"
		"        Agents: --env VECS_QEMU_IMG=PATH runs PATH as qemu-img (commands and the\n"
		"        capability probe).\n"
		"\n"
		"Fault hooks (always installed by up, pass-through until armed): agents run\n"
		"with LD_PRELOAD=build/lib/libvecs-iofault.so (if built) and\n"
		"VECS_IOFAULT_RULES=D/faults/iofault.rules; QEMU runs through\n"
		"D/hosts/hN/qemu-wrapper, which sets the same; stack.json has \"faults\".\n"
		"\n"
		"  --dir D      the stack directory (created if missing)\n"
		"  --db KIND    sqlite (default) or mariadb\n"
		"  --hosts N    simulated hosts, 1 to 8 (default 2)\n"
		"  --kdf P      fast (default: minimal LUKS iteration counts) or production\n"
		"  --bin DIR    where the reference programs are (default: next to vecs)\n"
		"  --env N=V    (ctl) environment entry for start/restart; repeatable\n"
		"\n"
		"Needs root (namespaces, loop devices, libvirtd). Exit status: 0 done, 1 status\n"
		"found something down or ctl failed (the reason on stderr), 2 usage or\n"
		"environment error.\n");
}

/* vecs stack ctl --dir D VERB [SERVICE] [--env N=V]...: prints the keeper's answer. */
static int stack_ctl_cli(const char *dir, int n, char **args, const char *const *env)
{
	struct vecs_err err = { 0 };
	char reply[8192];

	if (!dir || n < 1 || n > 2) {
		fprintf(stderr, "vecs stack ctl: usage: vecs stack ctl --dir D VERB [SERVICE] "
				"[--env NAME=VALUE]... (see vecs stack --help)\n");
		return VECS_EXIT_USAGE;
	}
	if (vecs_stack_ctl(dir, args[0], n > 1 ? args[1] : NULL, env, reply, sizeof(reply),
			   &err) < 0) {
		fprintf(stderr, "vecs stack ctl %s%s%s: %s\n", args[0], n > 1 ? " " : "",
			n > 1 ? args[1] : "", err.msg);
		return VECS_EXIT_FAIL;
	}
	fputs(reply, stdout);
	return VECS_EXIT_OK;
}

int cmd_stack(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },  { "db", required_argument, NULL, 'D' },
		{ "hosts", required_argument, NULL, 'n' }, { "kdf", required_argument, NULL, 'k' },
		{ "bin", required_argument, NULL, 'b' },  { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },       { "env", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env[32];
	int nenv = 0;
	struct vecs_stack_opts o = { .db = "sqlite", .kdf = "fast", .hosts = 2, .timeout_s = 300,
				     .progress = stderr };
	struct vecs_err err = { 0 };
	char bin[PATH_MAX];
	const char *verb;
	bool json = false;
	int c, r;
	ssize_t n;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		stack_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? VECS_EXIT_USAGE : VECS_EXIT_OK;
	}
	verb = argv[1];
	n = readlink("/proc/self/exe", bin, sizeof(bin) - 1);
	bin[n > 0 ? n : 0] = '\0';
	if (strrchr(bin, '/'))
		*strrchr(bin, '/') = '\0';
	o.bin_dir = bin;
	optind = 2;
	while ((c = getopt_long(argc, argv, "d:D:n:k:b:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (nenv >= 31 || !strchr(optarg, '=')) {
				fprintf(stderr, "vecs stack ctl: --env wants NAME=VALUE (at most 31)\n");
				return VECS_EXIT_USAGE;
			}
			env[nenv++] = optarg;
			break;
		case 'd': o.dir = optarg; break;
		case 'D': o.db = optarg; break;
		case 'n': o.hosts = atoi(optarg); break;
		case 'k': o.kdf = optarg; break;
		case 'b': o.bin_dir = optarg; break;
		case 'j': json = true; break;
		case 'h': stack_usage(stdout); return VECS_EXIT_OK;
		default: stack_usage(stderr); return VECS_EXIT_USAGE;
		}
	}
	env[nenv] = NULL;
	if (!strcmp(verb, "ctl"))
		return stack_ctl_cli(o.dir, argc - optind, argv + optind, env);
	if (!o.dir || optind != argc) {
		fprintf(stderr, "vecs stack %s: --dir D is required (and nothing else)\n", verb);
		return VECS_EXIT_USAGE;
	}
	if (strcmp(o.db, "sqlite") && strcmp(o.db, "mariadb")) {
		fprintf(stderr, "vecs stack: --db is sqlite or mariadb\n");
		return VECS_EXIT_USAGE;
	}
	if (strcmp(o.kdf, "fast") && strcmp(o.kdf, "production")) {
		fprintf(stderr, "vecs stack: --kdf is fast or production\n");
		return VECS_EXIT_USAGE;
	}
	if (!strcmp(verb, "up")) {
		if (geteuid() != 0) {
			fprintf(stderr, "vecs stack up: needs root (network namespaces, loop devices, libvirtd)\n");
			return VECS_EXIT_USAGE;
		}
		r = vecs_stack_up(&o, &err);
	} else if (!strcmp(verb, "down")) {
		r = vecs_stack_down(o.dir, stderr, &err);
	} else if (!strcmp(verb, "config")) {
		json_t *conf = NULL;
		char real[PATH_MAX];
		r = realpath(o.dir, real) ? vecs_reference_config(real, &conf, &err)
					  : vecs_err_set(&err, -ENOENT, "no stack directory %s", o.dir);
		if (r == 0 && json_dumpf(conf, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) < 0)
			r = vecs_err_set(&err, -EIO, "cannot write the configuration");
		if (r == 0)
			putchar('\n');
		json_decref(conf);
	} else if (!strcmp(verb, "status")) {
		r = vecs_stack_status(o.dir, json, stdout, &err);
		if (r >= 0)
			return r ? VECS_EXIT_FAIL : VECS_EXIT_OK;
	} else {
		fprintf(stderr, "vecs stack: unknown action '%s' (up, status, down, config, ctl)\n", verb);
		return VECS_EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "vecs stack %s: %s\n", verb, err.msg);
		return VECS_EXIT_USAGE;
	}
	return VECS_EXIT_OK;
}
