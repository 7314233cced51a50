/* The fault catalog: the table itself. Rule texts are iofault.h rules with
 * placeholders the runner fills per cell: @POOL@ (a glob over the byte paths of the
 * cell's storage type; for NFS the server's address), @W@ and @R@ (the operations that
 * write and read them: write/read, or send for NFS, where libnfs sends every request
 * and the shim does not see receives), @SECONDARY@ (secondary storage), @N@ (the sweep
 * point) and @S@ (a point from 2 to 6 derived from the cell's seed). */
/* needs_mariadb and no_retry, the last fields, are set only where they are true */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "faults/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scenario.h"

static const char *const layer_names[VECS_FL__COUNT] = { "io", "crash", "service", "clock",
							  "corruption", "capability" };

const char *vecs_fault_layer_name(enum vecs_fault_layer l)
{
	return (unsigned)l < VECS_FL__COUNT ? layer_names[l] : "?";
}

#define QIMG "qemu-img (the agent's child; libnfs on NFS), the agent (libcryptsetup)"
#define ONCE "storage-independent: run once, on local"
#define HDR "off=0-2359296"
#define NOWIRE                                                                              \
	"on NFS the fault is an error on the wire (qemu-img and QEMU use libnfs, nfs-ganesha "     \
	"cannot be preloaded): sends have no file offset, so a header region cannot be targeted" /* a qcow2's LUKS header (cluster 1 onward) or raw LUKS1 */

/* Sweeps: qemu-img create of a LUKS qcow2 makes 11 writes (strace, qemu-img 7.2), so 12
 * points cover every write of the operation and show it completing past the last one
 * (a point that never fires is reported as beyond the operation). */

/* Corruption of one LUKS1 / qcow2 field of a stopped VM's data volume, then start. */
#define CORRUPT(field, what, st, exp)                                                        \
	{ "corrupt-" field, VECS_FL_CORRUPTION, what, st, "start", "start", VECS_FK_CORRUPT,  \
	  field, NULL, exp, 0, "the volume's bytes on primary storage",                      \
	  (st) == VECS_FS_ALL ? NULL : "qcow2 fields: ScaleIO volumes are raw LUKS1" }

const struct vecs_fault vecs_faults[] = {
	/* ---- I/O: the shim in the processes that write the pool's bytes ---------------- */
	{ "io-eio-write-deploy", VECS_FL_IO,
	  "every write to the pool fails with EIO while the encrypted ROOT volume is copied "
	  "from the template",
	  VECS_FS_ALL, "deploy", "deploy", VECS_FK_IORULE, "path=@POOL@ op=@W@ action=errno:EIO",
	  NULL, VECS_FE_FAILS, 0, QIMG, NULL },
	{ "io-eio-write-create", VECS_FL_IO,
	  "every write to the pool fails with EIO while an empty encrypted DATA volume is made",
	  VECS_FS_ALL, "attach", "attach-data", VECS_FK_IORULE,
	  "path=@POOL@ op=@W@ action=errno:EIO", NULL, VECS_FE_FAILS, 0, QIMG, NULL },
	{ "io-eio-flush-deploy", VECS_FL_IO,
	  "flushes (fsync, fdatasync) of the pool's files fail with EIO during the template copy",
	  VECS_FS_LOCAL | VECS_FS_SMP, "deploy", "deploy", VECS_FK_IORULE, "path=@POOL@ op=flush action=errno:EIO",
	  NULL, VECS_FE_EITHER, 0, QIMG, "on NFS a flush is a COMMIT request on the wire (libnfs), not an fsync; "
	  "ScaleIO devices are written without a flush the shim sees" },
	{ "io-eio-read-snapshot", VECS_FL_IO,
	  "reads of the volume fail with EIO while a stopped VM's volume is backed up to "
	  "secondary storage",
	  VECS_FS_ALL, "snapshot", "snapshot", VECS_FK_IORULE, "path=@POOL@ op=@R@ action=errno:EIO",
	  NULL, VECS_FE_FAILS, 0, QIMG, NULL },
	{ "io-enospc-write-deploy", VECS_FL_IO,
	  "the pool is full (ENOSPC on every write) during the template copy", VECS_FS_ALL,
	  "deploy", "deploy", VECS_FK_IORULE, "path=@POOL@ op=@W@,allocate action=errno:ENOSPC",
	  NULL, VECS_FE_FAILS, 0, QIMG, NULL },
	{ "io-enospc-create", VECS_FL_IO,
	  "the pool is full (ENOSPC on writes, fallocate and truncate) while a DATA volume is made",
	  VECS_FS_ALL, "attach", "attach-data", VECS_FK_IORULE,
	  "path=@POOL@ op=@W@,allocate,truncate action=errno:ENOSPC", NULL, VECS_FE_FAILS, 0, QIMG,
	  NULL },
	{ "io-enospc-secondary", VECS_FL_IO,
	  "secondary storage is full (ENOSPC) while a volume snapshot is written to it",
	  VECS_FS_ALL, "snapshot", "snapshot", VECS_FK_IORULE,
	  "path=@SECONDARY@ op=write,allocate action=errno:ENOSPC", NULL, VECS_FE_FAILS, 0,
	  "qemu-img (agent's child)", NULL },
	{ "io-short-write-deploy", VECS_FL_IO,
	  "the first write to the pool is short (half the bytes) during the template copy",
	  VECS_FS_LOCAL | VECS_FS_SMP | VECS_FS_SCALEIO, "deploy", "deploy", VECS_FK_IORULE,
	  "path=@POOL@ op=@W@ nth=1 count=1 action=short:50%", NULL, VECS_FE_EITHER, 0, QIMG, "on NFS a write is a request on the wire: a short send is completed by libnfs, not a short write to test" },
	{ "io-torn-header-create", VECS_FL_IO,
	  "the first write into the LUKS header region is torn after 512 bytes and its writer "
	  "killed",
	  VECS_FS_LOCAL | VECS_FS_SMP | VECS_FS_SCALEIO, "attach", "attach-data", VECS_FK_IORULE,
	  "path=@POOL@ op=@W@ " HDR " nth=1 count=1 action=torn:512", NULL, VECS_FE_EITHER, 0, QIMG,
	  NOWIRE },
	{ "io-slow-write-deploy", VECS_FL_IO,
	  "the first 20 writes to the pool take 100 ms each (slow disk): the copy must still "
	  "succeed",
	  VECS_FS_ALL, "deploy", "deploy", VECS_FK_IORULE,
	  "path=@POOL@ op=@W@ nth=1 count=20 action=delay:100", NULL, VECS_FE_SUCCEEDS, 0, QIMG,
	  NULL },
	{ "io-eio-write-resize", VECS_FL_IO,
	  "writes to the pool fail with EIO during an offline resize (qemu-img resize)",
	  VECS_FS_FILES, "resize", "resize", VECS_FK_IORULE,
	  "path=@POOL@ op=@W@,truncate,allocate action=errno:EIO", NULL, VECS_FE_EITHER, 0,
	  "qemu-img (the agent's child; libnfs on NFS)",
	  "a ScaleIO resize is the gateway's; the agent writes nothing" },
	{ "io-eio-write-migrate-volume", VECS_FL_IO,
	  "writes to the pools fail with EIO while a volume is copied to another pool",
	  VECS_FS_LOCAL | VECS_FS_SMP, "migrate-volume", "migrate", VECS_FK_IORULE,
	  "path=@POOL@ op=@W@ action=errno:EIO", NULL, VECS_FE_FAILS, 0, QIMG,
	  "needs two pools of the storage type (the stack has one nfs and one ScaleIO pool)" },
	{ "io-full-disk", VECS_FL_IO,
	  "a real full disk: the pool's own small filesystem (ext4 on a loop device) is filled "
	  "before an encrypted DATA volume is made on it; ENOSPC comes from the kernel",
	  VECS_FS_SMP, "attach", "attach-data", VECS_FK_FULL_DISK, "smp-small", NULL,
	  VECS_FE_FAILS, 0, "the kernel's ext4 (no shim)",
	  "the stack has one small-filesystem pool, a SharedMountPoint one (smp-small)" },
	{ "io-eio-read-start", VECS_FL_IO,
	  "QEMU's reads of the volume fail with EIO when the VM starts", VECS_FS_ALL, "start",
	  "start", VECS_FK_IORULE, "path=@POOL@ op=@R@ action=errno:EIO", NULL, VECS_FE_EITHER, 0,
	  "QEMU (emulator wrapper; libnfs on NFS)", NULL },

	/* ---- crash points ------------------------------------------------------------- */
	{ "crash-before-luks-header", VECS_FL_CRASH,
	  "the writer is killed just before its first write into the LUKS header region of a new "
	  "DATA volume",
	  VECS_FS_LOCAL | VECS_FS_SMP | VECS_FS_SCALEIO, "attach", "attach-data", VECS_FK_IORULE,
	  "path=@POOL@ op=@W@ " HDR " nth=1 count=1 action=kill-before", NULL, VECS_FE_FAILS, 0,
	  QIMG, NOWIRE },
	{ "crash-after-luks-header", VECS_FL_CRASH,
	  "the writer is killed right after its first write into the LUKS header region",
	  VECS_FS_LOCAL | VECS_FS_SMP | VECS_FS_SCALEIO, "attach", "attach-data", VECS_FK_IORULE,
	  "path=@POOL@ op=@W@ " HDR " nth=1 count=1 action=kill-after", NULL, VECS_FE_EITHER, 0,
	  QIMG, NOWIRE },
	{ "crash-mid-copy", VECS_FL_CRASH,
	  "qemu-img is killed mid-copy (at a seed-chosen write) while the ROOT volume is copied "
	  "from the template",
	  VECS_FS_ALL, "deploy", "deploy", VECS_FK_IORULE,
	  "path=@POOL@ op=@W@ nth=@S@ count=1 action=kill-before", NULL, VECS_FE_EITHER, 0, QIMG,
	  NULL },
	{ "crash-mid-snapshot", VECS_FL_CRASH,
	  "qemu-img is killed mid-write of a volume snapshot on secondary storage", VECS_FS_ALL,
	  "snapshot", "snapshot", VECS_FK_IORULE,
	  "path=@SECONDARY@ op=write nth=@S@ count=1 action=kill-before", NULL, VECS_FE_EITHER, 0,
	  "qemu-img (agent's child)", NULL },
	{ "crash-agent-key-file", VECS_FL_CRASH,
	  "the agent is killed right after writing a command's key file (the file must not "
	  "outlive the restart)",
	  VECS_FS_ALL, "attach", "attach-data", VECS_FK_IORULE,
	  "comm=vecs-agent path=*/agent-keys/* op=write nth=1 count=1 action=kill-after", NULL,
	  VECS_FE_EITHER, 0, "the agent", NULL },
	{ "crash-mid-migration", VECS_FL_CRASH,
	  "the source QEMU is killed during a live migration", VECS_FS_ALL, "migrate-vm", "migrate",
	  VECS_FK_IORULE, "comm=qemu-system-x86 op=send nth=@S@ count=1 action=kill-before", NULL,
	  VECS_FE_EITHER, 0, "QEMU (emulator wrapper)", NULL },
	{ "crash-mgmt-after-db-commit", VECS_FL_CRASH,
	  "the management server dies after committing a new volume to the database and before "
	  "sending the agent its command",
	  VECS_FS_LOCAL, "attach", "attach-data", VECS_FK_CRASHPOINT, "create_volume:before_agent",
	  NULL, VECS_FE_FAILS, 0, "vecs-mgmt", ONCE },
	{ "crash-mgmt-after-agent-answer", VECS_FL_CRASH,
	  "the management server dies after the agent made the volume and before the database "
	  "records it",
	  VECS_FS_LOCAL, "attach", "attach-data", VECS_FK_CRASHPOINT, "create_volume:after_agent",
	  NULL, VECS_FE_FAILS, 0, "vecs-mgmt", ONCE },
	{ "crash-mgmt-start-after-agent", VECS_FL_CRASH,
	  "the management server dies after the agent started the VM and before the database "
	  "says Running",
	  VECS_FS_LOCAL, "start", "start", VECS_FK_CRASHPOINT, "start_vm:after_agent", NULL,
	  VECS_FE_FAILS, 0, "vecs-mgmt", ONCE },
	{ "crash-mgmt-snapshot-after-agent", VECS_FL_CRASH,
	  "the management server dies after the agent wrote a snapshot to secondary storage and "
	  "before the database records it",
	  VECS_FS_LOCAL, "snapshot", "snapshot", VECS_FK_CRASHPOINT, "snapshot:after_agent", NULL,
	  VECS_FE_FAILS, 0, "vecs-mgmt", ONCE },
	{ "crash-mgmt-migrate-before-agent", VECS_FL_CRASH,
	  "the management server dies during a volume migration, after the database and before "
	  "the agent copies",
	  VECS_FS_LOCAL, "migrate-volume", "migrate", VECS_FK_CRASHPOINT,
	  "migrate_volume:before_agent", NULL, VECS_FE_FAILS, 0, "vecs-mgmt", ONCE },
	{ "crash-mgmt-migrate-after-agent", VECS_FL_CRASH,
	  "the management server dies during a volume migration, after the agent copied and "
	  "before the database switches the volume",
	  VECS_FS_LOCAL, "migrate-volume", "migrate", VECS_FK_CRASHPOINT,
	  "migrate_volume:after_agent", NULL, VECS_FE_FAILS, 0, "vecs-mgmt", ONCE },
	{ "crash-mgmt-migrate-after-commit", VECS_FL_CRASH,
	  "the management server dies during a volume migration, after the database switched "
	  "the volume and before the source copy is removed",
	  VECS_FS_LOCAL, "migrate-volume", "migrate", VECS_FK_CRASHPOINT,
	  "migrate_volume:after_commit", NULL, VECS_FE_FAILS, 0, "vecs-mgmt", ONCE, false, true },
	{ "crash-sweep-create", VECS_FL_CRASH,
	  "crash sweep: the writer is killed before its Nth write to the pool while a DATA volume "
	  "is made, for every N",
	  VECS_FS_ALL, "attach", "attach-data", VECS_FK_SWEEP,
	  "path=@POOL@ op=@W@ nth=@N@ count=1 action=kill-before", NULL, VECS_FE_EITHER, 12, QIMG,
	  NULL },
	{ "fail-sweep-create", VECS_FL_CRASH,
	  "failure sweep: the Nth write to the pool fails with EIO while a DATA volume is made, "
	  "for every N",
	  VECS_FS_ALL, "attach", "attach-data", VECS_FK_SWEEP,
	  "path=@POOL@ op=@W@ nth=@N@ count=1 action=errno:EIO", NULL, VECS_FE_EITHER, 12, QIMG,
	  NULL },

	/* ---- services ------------------------------------------------------------------ */
	{ "svc-nfs-down-deploy", VECS_FL_SERVICE,
	  "the NFS server is stopped while a VM with an encrypted ROOT volume is deployed",
	  VECS_FS_NFS, "deploy", "deploy", VECS_FK_SVC_STOP, "nfs", NULL, VECS_FE_FAILS, 0,
	  "nfs-ganesha", "only nfs pools use the NFS server" },
	{ "svc-nfs-restart-start", VECS_FL_SERVICE,
	  "the NFS server restarts just before a stopped VM is started", VECS_FS_NFS, "start",
	  "start", VECS_FK_SVC_RESTART, "nfs", NULL, VECS_FE_SUCCEEDS, 0, "nfs-ganesha",
	  "only nfs pools use the NFS server" },
	{ "svc-nfs-restart-running", VECS_FL_SERVICE,
	  "the NFS server restarts under a running VM; the guest-visible path then reads the data",
	  VECS_FS_NFS, "attach", "verify-data", VECS_FK_SVC_RESTART, "nfs", NULL, VECS_FE_SUCCEEDS,
	  0, "nfs-ganesha", "only nfs pools use the NFS server" },
	{ "svc-scaleio-down-create", VECS_FL_SERVICE,
	  "the ScaleIO gateway is down while an encrypted DATA volume is made", VECS_FS_SCALEIO,
	  "attach", "attach-data", VECS_FK_SVC_STOP, "scaleio", NULL, VECS_FE_FAILS, 0,
	  "vecs-scaleio-gw", "only ScaleIO pools use the gateway" },
	{ "svc-scaleio-eio-create", VECS_FL_SERVICE,
	  "the ScaleIO gateway cannot write its state (EIO) while a volume is made: it answers "
	  "with HTTP errors",
	  VECS_FS_SCALEIO, "attach", "attach-data", VECS_FK_IORULE,
	  "comm=vecs-scaleio-gw path=*/scaleio/* op=write,flush action=errno:EIO", NULL,
	  VECS_FE_FAILS, 0, "vecs-scaleio-gw", "only ScaleIO pools use the gateway" },
	{ "svc-scaleio-slow", VECS_FL_SERVICE,
	  "the ScaleIO gateway answers slowly (each state write takes 1 s)", VECS_FS_SCALEIO,
	  "attach", "attach-data", VECS_FK_IORULE,
	  "comm=vecs-scaleio-gw path=*/scaleio/* op=write nth=1 count=4 action=delay:1000", NULL,
	  VECS_FE_SUCCEEDS, 0, "vecs-scaleio-gw", "only ScaleIO pools use the gateway" },
	{ "svc-scaleio-http-500", VECS_FL_SERVICE,
	  "the ScaleIO gateway answers the next request with HTTP 500 while a volume is made",
	  VECS_FS_SCALEIO, "attach", "attach-data", VECS_FK_GATEWAY, "{\"failNext\": 1}", NULL,
	  VECS_FE_FAILS, 0, "vecs-scaleio-gw (its fault hook)",
	  "only ScaleIO pools use the gateway" },
	{ "svc-scaleio-timeout", VECS_FL_SERVICE,
	  "the ScaleIO gateway answers the next two requests only after 3 s each", VECS_FS_SCALEIO,
	  "attach", "attach-data", VECS_FK_GATEWAY, "{\"delayNext\": 2, \"delayMs\": 3000}",
	  NULL, VECS_FE_SUCCEEDS, 0, "vecs-scaleio-gw (its fault hook)",
	  "only ScaleIO pools use the gateway" },
	{ "svc-scaleio-unmap", VECS_FL_SERVICE,
	  "the running VM's encrypted DATA volume is unmapped from its host's SDC behind the "
	  "stack's back; the VM is then stopped and started, and its data reads back",
	  VECS_FS_SCALEIO, "start", "stop", VECS_FK_GATEWAY, "unmap", NULL, VECS_FE_EITHER, 0,
	  "vecs-scaleio-gw (its fault hook)", "only ScaleIO pools use the gateway" },
	{ "svc-scaleio-restart", VECS_FL_SERVICE,
	  "the ScaleIO gateway restarts just before a volume is made", VECS_FS_SCALEIO, "attach",
	  "attach-data", VECS_FK_SVC_RESTART, "scaleio", NULL, VECS_FE_SUCCEEDS, 0,
	  "vecs-scaleio-gw", "only ScaleIO pools use the gateway" },
	{ "svc-libvirtd-restart", VECS_FL_SERVICE,
	  "libvirtd restarts on every host under a running VM; the VM then stops cleanly (its "
	  "ephemeral secrets are gone with the old libvirtd)",
	  VECS_FS_ALL, "start", "stop", VECS_FK_SVC_RESTART, "libvirtd", NULL, VECS_FE_SUCCEEDS, 0,
	  "libvirtd", NULL },
	{ "svc-libvirtd-down-start", VECS_FL_SERVICE,
	  "libvirtd is down on every host when a VM is started", VECS_FS_LOCAL, "start", "start",
	  VECS_FK_SVC_STOP, "libvirtd", NULL, VECS_FE_FAILS, 0, "libvirtd", ONCE },
	{ "svc-agent-down-create", VECS_FL_SERVICE,
	  "every agent is disconnected while a DATA volume is made", VECS_FS_LOCAL, "attach",
	  "attach-data", VECS_FK_SVC_STOP, "agents", NULL, VECS_FE_FAILS, 0, "vecs-agent", ONCE },
	{ "svc-agent-restart", VECS_FL_SERVICE,
	  "every agent restarts (reconnects) just before a DATA volume is made", VECS_FS_ALL,
	  "attach", "attach-data", VECS_FK_SVC_RESTART, "agents", NULL, VECS_FE_SUCCEEDS, 0,
	  "vecs-agent", NULL },
	{ "svc-nfs-restart-mid-copy", VECS_FL_SERVICE,
	  "the NFS server restarts while the encrypted ROOT volume is being copied onto it",
	  VECS_FS_NFS, "deploy", "deploy", VECS_FK_SVC_DURING, "nfs", "restart", VECS_FE_EITHER,
	  0, "nfs-ganesha", "only nfs pools use the NFS server" },
	{ "svc-agent-killed-mid-create", VECS_FL_SERVICE,
	  "the agents are killed while a DATA volume is made (started again after the step)",
	  VECS_FS_ALL, "attach", "attach-data", VECS_FK_SVC_DURING, "agents", "kill",
	  VECS_FE_EITHER, 0, "vecs-agent", NULL },
	{ "svc-libvirtd-restart-mid-migration", VECS_FL_SERVICE,
	  "libvirtd restarts on every host during a live migration", VECS_FS_ALL, "migrate-vm",
	  "migrate", VECS_FK_SVC_DURING, "libvirtd", "restart", VECS_FE_EITHER, 0, "libvirtd",
	  NULL },
	{ "svc-mariadb-restart", VECS_FL_SERVICE,
	  "MariaDB restarts just before a DATA volume is made: vecs-mgmt reconnects",
	  VECS_FS_LOCAL, "attach", "attach-data", VECS_FK_SVC_RESTART, "mariadb", NULL,
	  VECS_FE_SUCCEEDS, 0, "mariadbd", ONCE, true },
	{ "svc-mariadb-restart-mid-job", VECS_FL_SERVICE,
	  "MariaDB restarts while a DATA volume is being made (mid-transaction): the job "
	  "completes or fails cleanly, nothing is half-written",
	  VECS_FS_LOCAL, "attach", "attach-data", VECS_FK_SVC_DURING, "mariadb", "restart",
	  VECS_FE_EITHER, 0, "mariadbd", ONCE, true },
	{ "svc-mariadb-killed-mid-job", VECS_FL_SERVICE,
	  "MariaDB is killed (SIGKILL) while a DATA volume is being made, started after the step",
	  VECS_FS_LOCAL, "attach", "attach-data", VECS_FK_SVC_DURING, "mariadb", "kill",
	  VECS_FE_EITHER, 0, "mariadbd", ONCE, true },
	{ "svc-mgmt-restart", VECS_FL_SERVICE,
	  "the management server restarts just before a DATA volume is made", VECS_FS_LOCAL,
	  "attach", "attach-data", VECS_FK_SVC_RESTART, "mgmt", NULL, VECS_FE_SUCCEEDS, 0,
	  "vecs-mgmt", ONCE },

	/* ---- clock ----------------------------------------------------------------------- */
	{ "clock-mgmt-ahead", VECS_FL_CLOCK,
	  "the management server's clock is 2 h ahead: a signed request whose `expires` is 10 min "
	  "ahead in real time must be refused (401); unexpiring requests still work",
	  VECS_FS_LOCAL, "attach", "attach-data", VECS_FK_CLOCK, "mgmt", "+2h", VECS_FE_SUCCEEDS, 0,
	  "vecs-mgmt", ONCE },
	{ "clock-mgmt-behind", VECS_FL_CLOCK,
	  "the management server's clock is a day behind", VECS_FS_LOCAL, "attach", "attach-data",
	  VECS_FK_CLOCK, "mgmt", "-1d", VECS_FE_SUCCEEDS, 0, "vecs-mgmt", ONCE },
	{ "clock-mgmt-fast", VECS_FL_CLOCK,
	  "the management server's clock runs 20 times too fast (job timeouts, token ages)",
	  VECS_FS_LOCAL, "attach", "attach-data", VECS_FK_CLOCK, "mgmt", "+0 x20", VECS_FE_EITHER, 0,
	  "vecs-mgmt", ONCE },
	{ "clock-agent-ahead", VECS_FL_CLOCK,
	  "every agent's clock is a year ahead", VECS_FS_ALL, "attach", "attach-data", VECS_FK_CLOCK,
	  "agents", "+365d", VECS_FE_SUCCEEDS, 0, "vecs-agent, qemu-img", NULL },

	/* ---- corruption of a stopped VM's DATA volume, then start ------------------------ */
	CORRUPT("luks.magic", "flip a bit of the LUKS1 magic", VECS_FS_ALL, VECS_FE_FAILS),
	CORRUPT("luks.version", "flip a bit of the LUKS1 version", VECS_FS_ALL, VECS_FE_FAILS),
	CORRUPT("luks.cipher_name", "flip a bit of the cipher name", VECS_FS_ALL, VECS_FE_FAILS),
	CORRUPT("luks.cipher_mode", "flip a bit of the cipher mode", VECS_FS_ALL, VECS_FE_FAILS),
	CORRUPT("luks.hash_spec", "flip a bit of the hash spec", VECS_FS_ALL, VECS_FE_FAILS),
	CORRUPT("luks.payload_offset", "flip a bit of the payload offset", VECS_FS_ALL,
		VECS_FE_EITHER),
	CORRUPT("luks.key_bytes", "flip a bit of the key length", VECS_FS_ALL, VECS_FE_FAILS),
	CORRUPT("luks.mk_digest", "flip a bit of the master key digest", VECS_FS_ALL,
		VECS_FE_FAILS),
	CORRUPT("luks.mk_digest_salt", "flip a bit of the master key digest salt", VECS_FS_ALL,
		VECS_FE_FAILS),
	CORRUPT("luks.mk_digest_iter", "change the master key digest iteration count",
		VECS_FS_ALL, VECS_FE_FAILS),
	CORRUPT("luks.uuid", "flip a bit of the header UUID (nobody checks it)", VECS_FS_ALL,
		VECS_FE_EITHER),
	CORRUPT("luks.ks0.active", "mark keyslot 0 inactive", VECS_FS_ALL, VECS_FE_FAILS),
	CORRUPT("luks.ks0.iterations", "change keyslot 0's iteration count", VECS_FS_ALL,
		VECS_FE_FAILS),
	CORRUPT("luks.ks0.salt", "flip a bit of keyslot 0's salt", VECS_FS_ALL, VECS_FE_FAILS),
	CORRUPT("luks.ks0.key_offset", "flip a bit of keyslot 0's key material offset",
		VECS_FS_ALL, VECS_FE_FAILS),
	CORRUPT("luks.ks0.stripes", "change keyslot 0's AF stripe count", VECS_FS_ALL,
		VECS_FE_FAILS),
	CORRUPT("luks.ks0.material", "flip a bit of keyslot 0's key material", VECS_FS_ALL,
		VECS_FE_FAILS),
	CORRUPT("luks.ks1.active", "mark the unused keyslot 1 active (garbage slot)", VECS_FS_ALL,
		VECS_FE_EITHER),
	CORRUPT("qcow2.crypt_method", "change the qcow2 header's crypt_method", VECS_FS_FILES,
		VECS_FE_FAILS),
	CORRUPT("qcow2.crypto_ext", "flip a bit of the qcow2 full disk encryption header "
		"extension (offset/length)", VECS_FS_FILES, VECS_FE_FAILS),
	CORRUPT("qcow2.crypto_ext_length", "set a high bit of the qcow2 encryption header "
		"extension's length (the region runs past the end of the file)", VECS_FS_FILES,
		VECS_FE_EITHER),
	CORRUPT("ciphertext", "flip a bit of ciphertext in an allocated data cluster (LUKS1 has "
		"no integrity: undetectable by the stack by design)", VECS_FS_ALL, VECS_FE_EITHER),

	/* ---- capability ------------------------------------------------------------------ */
	{ "cap-host-no-luks", VECS_FL_CAPABILITY,
	  "host h1's qemu-img loses LUKS support: h1 reports encryptionsupported=false and the "
	  "encrypted VM is placed on h2",
	  VECS_FS_SMP | VECS_FS_NFS | VECS_FS_SCALEIO, "deploy", "deploy", VECS_FK_NO_LUKS, "h1",
	  NULL, VECS_FE_SUCCEEDS, 0, "vecs-agent's capability probe",
	  "local pools belong to one host: placement elsewhere cannot apply" },
	{ "cap-no-host-luks", VECS_FL_CAPABILITY,
	  "no host can encrypt: deploying an encrypted VM is refused, nothing is created",
	  VECS_FS_LOCAL, "deploy", "deploy", VECS_FK_NO_LUKS, "all", NULL, VECS_FE_FAILS, 0,
	  "vecs-agent's capability probe", ONCE },
	{ "cap-passphrase-row-delete", VECS_FL_CAPABILITY,
	  "deleting the passphrase row of a live encrypted volume is refused by the foreign key",
	  VECS_FS_LOCAL, "attach", "write-data", VECS_FK_DB_DELETE, NULL, NULL, VECS_FE_SUCCEEDS, 0,
	  "the database", ONCE },
	{ "cap-wrong-db-key", VECS_FL_CAPABILITY,
	  "the management server is restarted with a wrong database key: it must not serve, and "
	  "must say the key is wrong",
	  VECS_FS_LOCAL, "attach", "write-data", VECS_FK_WRONG_KEY, NULL, NULL, VECS_FE_SUCCEEDS, 0,
	  "vecs-mgmt", ONCE },
};
const size_t vecs_faults_len = sizeof(vecs_faults) / sizeof(vecs_faults[0]);

const struct vecs_fault *vecs_fault_find(const char *id)
{
	for (size_t i = 0; i < vecs_faults_len; i++)
		if (!strcmp(vecs_faults[i].id, id))
			return &vecs_faults[i];
	return NULL;
}

const struct vecs_fault *vecs_fault_parse_id(const char *id, unsigned *point)
{
	char name[96];
	const char *at = strchr(id, '@');
	size_t n = at ? (size_t)(at - id) : strlen(id);

	*point = 0;
	if (n >= sizeof(name))
		return NULL;
	memcpy(name, id, n);
	name[n] = '\0';
	if (at) {
		char *end;
		unsigned long v = strtoul(at + 1, &end, 10);
		if (*end || v == 0 || v > 1000)
			return NULL;
		*point = (unsigned)v;
	}
	return vecs_fault_find(name);
}

const char *vecs_fault_storage_list(unsigned mask, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < VECS_STORAGE_COUNT; i++)
		if (mask & (1u << i))
			o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? "," : "",
					      vecs_storage_types[i]);
	return buf;
}

unsigned vecs_fault_sweep_points(const struct vecs_fault *f, int storage)
{
	if (f->kind != VECS_FK_SWEEP)
		return 0;
	/* on NFS the writes are requests on the wire: a LUKS qcow2 create's qemu-img sends
	 * 47, so these points cover its first half (harness/faults/README.md) */
	return storage == vecs_storage_index("nfs") ? 2 * f->sweep : f->sweep;
}
