/* NFS primary storage for the simulated stack: a real nfs-ganesha (VFS FSAL) and
 * rpcbind on the hosts' network, reached the way CloudStack's KVM agent reaches an NFS
 * pool without a kernel client: QEMU's NFS driver (libnfs) and libvirt network disks.
 *
 * Both daemons run in the run's stack netns ("<run id>-stack", where br0 has
 * VECS_NFS_ADDR), each in a mount namespace of its own with D/nfs/run bound onto /run
 * and D/nfs/state onto /var/lib/nfs, so their sockets, pid files and state never touch
 * the machine's. Nothing listens in the root namespace.
 *
 * Layout (D = the stack directory of `vecs-host up`):
 *   D/nfs/export/           the exported directory: volumes live at its top level
 *   D/nfs/ganesha.conf      the server's configuration (written by up)
 *   D/nfs/ganesha.log       its log; rpcbind.log: rpcbind's stderr
 *   D/nfs/run/, state/      private /run and /var/lib/nfs (recovery dir inside)
 *   D/nfs/nfs.json          address, export path, URL, pids and start times
 *
 * Clients address a volume as nfs://VECS_NFS_ADDR<export>/<file> (export "/export"
 * unless chosen otherwise), over NFSv3 or v4, TCP, AUTH_SYS, root not squashed. */
#ifndef VECS_STORAGE_NFS_SERVER_H
#define VECS_STORAGE_NFS_SERVER_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "agent/host.h"
#include "util/err.h"
#include "util/ledger.h"

#define VECS_NFS_ADDR VECS_HOST_NET ".1" /* br0 in the stack netns */
#define VECS_NFS_DEFAULT_EXPORT "/export"
#define VECS_NFS_EXPORT_MAX 64
#define VECS_NFS_DIR_MAX 200 /* the stack directory's real path, at most */

/* Ledger records of the NFS server carry this tag in their third field, so that
 * `vecs-nfs down` removes them and nothing else of the run. */
#define VECS_NFS_LEDGER_TAG "nfs"

struct vecs_nfs {
	char run_id[VECS_RUN_ID_LEN];
	char netns[64];
	char dir[VECS_NFS_DIR_MAX + 8];         /* D/nfs */
	char export_dir[VECS_NFS_DIR_MAX + 16]; /* D/nfs/export */
	char export_path[VECS_NFS_EXPORT_MAX + 1];
	char url[128]; /* nfs://VECS_NFS_ADDR<export_path> */
	pid_t rpcbind_pid, ganesha_pid;
	uint64_t rpcbind_start, ganesha_start;
};

/* What is missing on this machine to run the server ("" when nothing), as a sentence
 * that says how to get it. */
int vecs_nfs_check_env(char *msg, size_t len);

/* Start rpcbind and nfs-ganesha for the run of stack dir `dir`, exporting D/nfs/export
 * as export_path (NULL: VECS_NFS_DEFAULT_EXPORT). The run must exist: at least one
 * `vecs-host up` in dir with its owner alive (the stack netns is the hosts'). Returns
 * once a client in a host's netns can list the export. On failure, what this call
 * created is removed again; -EEXIST when the server is up already. */
int vecs_nfs_up(const char *dir, const char *export_path, struct vecs_nfs *nfs, FILE *log,
		struct vecs_err *err);

/* Restart the server of dir in place (fault injection): nfs-ganesha is stopped if it
 * runs (SIGTERM) and started again with the same configuration, address, export and
 * data; rpcbind is started again only when it is gone. Returns once a client in a
 * host's netns can list the export; nfs.json gets the new pids. */
int vecs_nfs_restart(const char *dir, FILE *log, struct vecs_err *err);

/* Stop the server of dir and remove D/nfs (also after a killed run); the hosts stay.
 * Idempotent. `vecs-host down` removes the server too, with the rest of the run. */
int vecs_nfs_down(const char *dir, FILE *log, struct vecs_err *err);

#endif
