/* `vecs stack`: the whole reference deployment on this machine, as the `reference`
 * target runs it. The harness never links reference-impl code: the stack is made of
 * the reference programs (vecs-host, vecs-scaleio-gw, vecs-nfs, vecs-mgmt, vecs-agent,
 * mariadbd), started as processes.
 *
 * `up` forks a keeper process that owns the run: it records everything in
 * D/stack.ledger, starts the components as its children, writes D/stack.json (mode
 * 0600: it holds the API secret key and the database key, as the contract asks), tells
 * `up` it is ready, and then waits. `down` asks the keeper to stop everything in reverse order, and whatever is
 * left (keeper killed with -9, machine crashed) is reaped from the ledgers.
 *
 * Pools (stack.json "pools", registered through the API with tag vecs-<type>): two
 * local directories per host (local-hN, local-hN-b), two SharedMountPoint directories
 * (smp, smp2), nfs (when vecs-nfs is built) and scaleio; and smp-small, a
 * SharedMountPoint pool on a filesystem of its own for real full-disk faults: the 64 MiB
 * sparse file D/smp-small.img on a loop device, mkfs.ext4 -q -m 0, mounted at
 * D/pools/smp-small before the hosts start (so every host's mount namespace has the
 * same filesystem at the same path). Its tag is vecs-smp-full, never vecs-smp, so matrix
 * cells do not land on it; its stack.json entry is {"name": "smp-small", "type": "smp",
 * "probe": {"path"}, "full_disk": true, "size_bytes": capacity as statvfs reports it}.
 * The file, the loop device and the mount are in stack.ledger (stack_smallfs.c). */
#ifndef VECS_TARGETS_STACK_H
#define VECS_TARGETS_STACK_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "util/err.h"

struct vecs_stack_opts {
	const char *dir;
	const char *bin_dir;   /* where the reference programs are (build/bin) */
	const char *db;        /* "sqlite" (default) or "mariadb" */
	const char *kdf;       /* "fast" (default) or "production" */
	int hosts;             /* default 2 */
	int timeout_s;         /* for the whole of `up`; default 300 */
	FILE *progress;        /* one line per step, or NULL */
	pid_t owner;           /* when not 0: the stack stops itself once this process is
				* gone (a `vecs run` that started it and was killed) */
};

int vecs_stack_up(const struct vecs_stack_opts *o, struct vecs_err *err);
/* Stop and remove everything `up` made in dir; idempotent, also after a crash. */
int vecs_stack_down(const char *dir, FILE *progress, struct vecs_err *err);
/* Print the state of every recorded process and of the API (JSON with json=true).
 * Returns 0 when everything runs, 1 when something is down, <0 on error. */
int vecs_stack_status(const char *dir, bool json, FILE *out, struct vecs_err *err);

/* Service control and fault hooks (stack_ctl.c).
 *
 * The keeper listens on D/control.sock (mode 0600, in the ledger; only root or the
 * keeper's user may talk to it). Protocol: one request per connection, one line of
 * tab-separated fields ending in '\n':
 *     VERB [TAB SERVICE [TAB NAME=VALUE]...]
 * answered with "ok\n" and body lines, or one line "err MESSAGE\n"; then the keeper
 * closes the connection. Requests are served one at a time; a start or restart is
 * answered only once the service is ready again (or with an error after its timeout,
 * 90 s for mgmt and agents, 30-120 s for the others).
 *   status              one line per service: "NAME PID STATE", STATE running,
 *                       stopped (on request), killed (on request) or dead (it
 *                       should run and does not); PID 0 when none runs
 *   stop SERVICE        SIGTERM (SIGKILL after 15 s; mariadb 60 s); stays down
 *   kill SERVICE        SIGKILL: a crash; stays down, no restart
 *   start SERVICE [ENV] start a stopped or killed service (ENV as for restart; none
 *                       keeps the environment of the last restart)
 *   restart SERVICE [ENV]  stop (if running) and start. ENV entries are added to the
 *                       service's environment for this and later starts; a restart
 *                       without ENV clears them
 * Body of start/restart: "NAME PID running".
 * Services: mgmt, agent-hN, libvirtd-hN, nfs (nfs-ganesha; rpcbind is restarted only
 * when gone), scaleio, mariadb (with --db mariadb). They come back on the same
 * addresses: mgmt and the ScaleIO gateway on their first port, mariadbd on the same
 * socket and datadir, libvirtd in the host's netns with the same private dirs, socket
 * and TCP address (vecs-host restart-libvirtd), nfs-ganesha on the same address and
 * export with its data (vecs-nfs restart). A restarted process gets a new record in
 * stack.ledger (the old one is closed), so `down` and the reaper find it also after
 * kill -9 of the keeper.
 * Ready means: mgmt writes its URL again and every running agent registered again and
 * is Up in listHosts; agent-hN registered again (its log) and hN is Up (not waited for
 * while mgmt is stopped); libvirtd answers virsh and has re-attached to the domains
 * that ran before (vecs-host restart-libvirtd: QEMU keeps running, the status files in
 * the host's private /run and the monitor sockets stay; a domain it lost fails the
 * restart, named; ephemeral secrets are gone, as with a real libvirtd); nfs serves the
 * export to a client in a host's netns; scaleio accepts the login; mariadb answers
 * SELECT 1 on its socket.
 *
 * Environment (ENV) notes:
 *   LD_PRELOAD  joined with the stack's own preload (the agents' I/O fault shim) as
 *               "YOURS:SHIM", so libfaketime and the shim coexist. Clock fault example:
 *               restart mgmt LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
 *               FAKETIME=+2h   (package libfaketime, installed by ci/install-deps)
 *   VECS_QEMU_IMG=PATH  (agents) passed as `vecs-agent --qemu-img PATH`: the program run
 *               for qemu-img and for the capability probe (a wrapper without LUKS, say)
 *   Agents' children (qemu-img, cryptsetup) inherit the agent's environment;
 *   libvirtd and nfs-ganesha inherit ENV through vecs-host / vecs-nfs.
 *
 * Fault hooks installed by `up` (pass-through until rules are armed):
 *   D/faults/ (0700), D/faults/iofault.rules (the rules file; absent = pass everything)
 *   agents run with LD_PRELOAD=<build/lib>/libvecs-iofault.so (when that file exists at
 *   their start) and VECS_IOFAULT_RULES=D/faults/iofault.rules
 *   D/hosts/hN/qemu-wrapper (0755) is every domain's <emulator> (vecs-agent --emulator):
 *   it sets the same two variables when the shim exists, then execs
 *   /usr/bin/qemu-system-x86_64 (libvirt gives QEMU a cleared environment)
 *   stack.json: "faults": {"iofault_rules", "control", "iofault_lib"} */
int vecs_stack_ctl(const char *dir, const char *verb, const char *service,
		   const char *const *env, char *reply, size_t reply_len, struct vecs_err *err);

#endif
