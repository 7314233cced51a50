/* vecs-nfs: the NFS server of a simulated stack (storage/nfs_server.h).
 *
 *   vecs-nfs up   --dir D [--export PATH]
 *   vecs-nfs down --dir D
 *   vecs-nfs restart --dir D
 *
 * It lives in a folder of its own because storage.mk links every .c file of storage/ but the
 * gateway's main into vecs-scaleio-gw and the tests.
 *
 * Exit status: 0 done; 1 failed; 2 usage or environment error. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "storage/nfs_server.h"

static int usage(FILE *f)
{
	fprintf(f, "usage: vecs-nfs up --dir D [--export PATH]\n"
		   "       vecs-nfs down --dir D\n"
		   "       vecs-nfs restart --dir D\n"
		   "\n"
		   "up    starts rpcbind and nfs-ganesha in the stack netns of the run in D (bring\n"
		   "      a host up first: vecs-host up --dir D ...), exporting D/nfs/export as\n"
		   "      PATH (default " VECS_NFS_DEFAULT_EXPORT "), NFSv3 and v4 over TCP, root not\n"
		   "      squashed; prints the export's URL (nfs://" VECS_NFS_ADDR "PATH), reachable\n"
		   "      from the hosts' namespaces only. D/nfs/nfs.json describes it.\n"
		   "down  stops the server and removes D/nfs; the hosts stay (vecs-host down\n"
		   "      removes the server too, with the rest of the run). Also after a kill.\n"
		   "restart  stops nfs-ganesha if it runs and starts it again on the same\n"
		   "      address, configuration and export (data kept); rpcbind only if gone.\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "dir", required_argument, NULL, 'd' },
					      { "export", required_argument, NULL, 'e' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *cmd, *dir = NULL, *export_path = NULL;
	struct vecs_err err = { 0 };
	int c, r;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(argc < 2 ? stderr : stdout);
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'e':
			export_path = optarg;
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	if (!dir || optind != argc)
		return usage(stderr);
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(cmd, "up") == 0) {
		struct vecs_nfs n;

		r = vecs_nfs_up(dir, export_path, &n, stderr, &err);
		if (r < 0) {
			fprintf(stderr, "vecs-nfs: %s\n", err.msg);
			return r == -EPERM || r == -ENOENT || r == -EINVAL ? 2 : 1;
		}
		printf("%s\n", n.url);
		return 0;
	}
	if (strcmp(cmd, "restart") == 0) {
		r = vecs_nfs_restart(dir, stderr, &err);
		if (r < 0) {
			fprintf(stderr, "vecs-nfs: restart failed: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (strcmp(cmd, "down") == 0) {
		if (export_path)
			return usage(stderr);
		r = vecs_nfs_down(dir, stderr, &err);
		if (r < 0) {
			fprintf(stderr, "vecs-nfs: down failed: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "vecs-nfs: unknown command '%s'\n", cmd);
	return usage(stderr);
}
