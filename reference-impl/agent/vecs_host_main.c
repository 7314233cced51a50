/* vecs-host: simulated KVM hosts for tests and for `vecs stack` (agent/host.h).
 *
 *   vecs-host up --dir D --name NAME --index N [--owner PID]
 *   vecs-host down --dir D
 *   vecs-host reap --dir D
 *   vecs-host restart-libvirtd --dir D --name NAME
 *
 * Exit status: 0 done; 1 failed; 2 usage or environment error. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/host.h"

static int usage(FILE *f)
{
	fprintf(f, "usage: vecs-host up --dir D --name NAME --index N [--owner PID]\n"
		   "       vecs-host down --dir D\n"
		   "       vecs-host reap --dir D\n"
		   "       vecs-host restart-libvirtd --dir D --name NAME\n"
		   "\n"
		   "up    starts host NAME (its own netns, mount ns and libvirtd) in stack dir D;\n"
		   "      prints its libvirt URI; D/NAME/host.json describes it. The run ends\n"
		   "      (leftovers may be reaped) when PID (default: the parent) is gone.\n"
		   "down  stops and removes every host and object recorded in D/vecs.ledger.\n"
		   "reap  the same, meant for the leftovers of a killed run.\n"
		   "restart-libvirtd  stops host NAME's libvirtd if it runs (domains keep\n"
		   "      running) and starts a new one in the same namespaces, on the same\n"
		   "      socket and address; returns once it answers and has re-attached to\n"
		   "      every domain whose QEMU ran before (a lost one is an error naming it;\n"
		   "      ephemeral secrets do not survive). The run must be alive.\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "dir", required_argument, NULL, 'd' },
					      { "name", required_argument, NULL, 'n' },
					      { "index", required_argument, NULL, 'i' },
					      { "owner", required_argument, NULL, 'o' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *cmd, *dir = NULL, *name = NULL;
	struct vecs_err err = { 0 };
	pid_t owner = getppid();
	int index = 0, c, r;
	char *end;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(argc < 2 ? stderr : stdout);
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'i':
			index = (int)strtol(optarg, &end, 10);
			if (*end)
				return usage(stderr);
			break;
		case 'o':
			owner = (pid_t)strtol(optarg, &end, 10);
			if (*end || owner <= 0)
				return usage(stderr);
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	if (!dir || optind != argc)
		return usage(stderr);
	/* A closed stdout (a test reading only the first line) must not kill us midway. */
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(cmd, "up") == 0) {
		struct vecs_host h;

		if (!name || index == 0)
			return usage(stderr);
		r = vecs_host_up(dir, name, index, owner, &h, stderr, &err);
		if (r < 0) {
			fprintf(stderr, "vecs-host: %s\n", err.msg);
			return r == -EPERM || r == -ENOENT || r == -EINVAL ? 2 : 1;
		}
		printf("%s\n", h.uri);
		return 0;
	}
	if (strcmp(cmd, "restart-libvirtd") == 0) {
		if (!name)
			return usage(stderr);
		r = vecs_host_restart_libvirtd(dir, name, stderr, &err);
		if (r < 0) {
			fprintf(stderr, "vecs-host: restart-libvirtd failed: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (strcmp(cmd, "down") == 0 || strcmp(cmd, "reap") == 0) {
		r = vecs_host_down(dir, stderr, &err);
		if (r < 0) {
			fprintf(stderr, "vecs-host: %s failed: %s\n", cmd, err.msg);
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "vecs-host: unknown command '%s'\n", cmd);
	return usage(stderr);
}
