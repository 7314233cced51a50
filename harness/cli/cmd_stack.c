#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "targets/stack.h"

static void stack_usage(FILE *f)
{
	fprintf(f,
		"usage: vecs stack up --dir D [--db sqlite|mariadb] [--hosts N] [--kdf fast|production]\n"
		"       vecs stack status --dir D [--json]\n"
		"       vecs stack down --dir D\n"
		"\n"
		"The whole reference deployment on this machine: N simulated KVM hosts (each a\n"
		"libvirtd in its own network and mount namespaces), the ScaleIO gateway emulator,\n"
		"NFS (nfs-ganesha) when built, the database (SQLite file, or a private mariadbd),\n"
		"the management server vecs-mgmt and one vecs-agent per host.\n"
		"\n"
		"up      starts everything under a keeper process that owns the run, and writes\n"
		"        D/stack.json (mode 0600: api_url, api_key, secret_key, db, hosts, pools);\n"
		"        leftovers of an earlier, killed stack in D are removed first\n"
		"status  which recorded processes run; exit 0 when all do, 1 otherwise\n"
		"down    stops and removes everything up made, also after a crash or kill -9\n"
		"\n"
		"  --dir D      the stack directory (created if missing)\n"
		"  --db KIND    sqlite (default) or mariadb\n"
		"  --hosts N    simulated hosts, 1 to 8 (default 2)\n"
		"  --kdf P      fast (default: minimal LUKS iteration counts) or production\n"
		"  --bin DIR    where the reference programs are (default: next to vecs)\n"
		"\n"
		"Needs root (namespaces, loop devices, libvirtd). Exit status: 0 done, 1 status\n"
		"found something down, 2 usage or environment error.\n");
}

int cmd_stack(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },  { "db", required_argument, NULL, 'D' },
		{ "hosts", required_argument, NULL, 'n' }, { "kdf", required_argument, NULL, 'k' },
		{ "bin", required_argument, NULL, 'b' },  { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
	};
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
	} else if (!strcmp(verb, "status")) {
		r = vecs_stack_status(o.dir, json, stdout, &err);
		if (r >= 0)
			return r ? VECS_EXIT_FAIL : VECS_EXIT_OK;
	} else {
		fprintf(stderr, "vecs stack: unknown action '%s' (up, status, down)\n", verb);
		return VECS_EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "vecs stack %s: %s\n", verb, err.msg);
		return VECS_EXIT_USAGE;
	}
	return VECS_EXIT_OK;
}
