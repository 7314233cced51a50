/* Simulated KVM hosts: one libvirtd per host, each in its own network, mount and UTS
 * namespaces, so N hosts share one machine the way N real hosts share a network.
 *
 * Layout (D = the stack directory given to every call):
 *   D/vecs.ledger           every object below, for down/reap (util/ledger.h)
 *   D/<name>/               the host's private dirs, bound in its mount namespace onto
 *                           /etc/libvirt, /var/lib/libvirt, /var/log/libvirt,
 *                           /var/cache/libvirt and /run
 *   D/<name>/run/libvirt/libvirt-sock
 *                           its libvirtd's socket: qemu+unix:///system?socket=<that>,
 *                           usable from the root namespace
 *   D/<name>/host.json      name, index, run id, netns, address, URIs, host UUID, pid
 *   D/<name>/libvirtd.log   libvirtd's stderr (warnings and errors)
 *
 * Network: netns "<run id>-stack" holds bridge br0 (VECS_HOST_NET.1/24); host N is
 * netns "<run id>-<name>" with eth0 = VECS_HOST_NET.(10+N), a veth into br0. Nothing
 * is added to the root namespace: the TCP listener (auth none, for migration) is
 * reachable only from the run's own namespaces. */
#ifndef VECS_AGENT_HOST_H
#define VECS_AGENT_HOST_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "util/err.h"
#include "util/ledger.h"

#define VECS_HOST_NET "10.251.1"
#define VECS_HOST_MAX_INDEX 200
#define VECS_HOST_LEDGER "vecs.ledger"

struct vecs_host {
	char name[16]; /* at most 12: "v<name>" is an interface name */
	int index;
	char run_id[VECS_RUN_ID_LEN];
	char netns[64];
	char address[32];
	char dir[PATH_MAX + 16];
	char uri[PATH_MAX + 96]; /* qemu+unix:///system?socket=... */
	char tcp_uri[96];        /* qemu+tcp://ADDR/system, from the run's namespaces */
	char host_uuid[37];
	pid_t libvirtd_pid;
	uint64_t libvirtd_start;
};

/* What is missing on this machine to run hosts ("" when nothing), as a sentence that
 * says how to get it. */
int vecs_host_check_env(char *msg, size_t len);

/* Bring up host `name` (letters, digits, '-'; at most 12) with index 1..200 in dir.
 * The first host of a dir starts the run: a fresh run id and ledger owned by
 * owner_pid (whose death marks the run dead), the stack namespace and bridge; a
 * ledger left by a dead owner is reaped first. On failure, what this call created is
 * removed again. */
int vecs_host_up(const char *dir, const char *name, int index, pid_t owner_pid,
		 struct vecs_host *host, FILE *log, struct vecs_err *err);

/* Restart the libvirtd of host `name` of the live run in dir: stop it if it runs
 * (SIGTERM; running domains stay), close its ledger records, start a new one in the
 * same netns with the same private dirs, socket and TCP address, and wait until it
 * answers. host.json gets the new pid. Also the way back after the daemon was killed. */
int vecs_host_restart_libvirtd(const char *dir, const char *name, FILE *log,
			       struct vecs_err *err);

/* Stop and remove everything the dir's ledger records (every host and the stack),
 * then the ledger itself. Also the way to clean up after a killed run; idempotent. */
int vecs_host_down(const char *dir, FILE *log, struct vecs_err *err);

#endif
