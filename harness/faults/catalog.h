/* The fault catalog (`vecs list --faults`): every named fault kind, the layer it hits,
 * where it applies, which fault scenario (scenarios/faults/<base>.yaml) it runs in and
 * around which step of it, how it is injected and what the faulted step may do.
 *
 * A fault cell is one fault on one storage type: `<fault id>/<storage>/<profile>`, or
 * `<fault id>@<N>/<storage>/<profile>` for the points of a crash sweep. The runner
 * (fault_run.h) arms the fault before the `at` step, judges the step by `expect`,
 * disarms, recovers (restarts what died, restores what was corrupted), retries the
 * step when it failed, and then runs the rest of the scenario with its invariants after
 * every step: data written before the fault still reads back, nothing in plaintext, no
 * orphan passphrase, no stray key file, API state matches storage. */
#ifndef VECS_FAULTS_CATALOG_H
#define VECS_FAULTS_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

enum vecs_fault_layer {
	VECS_FL_IO,         /* LD_PRELOAD I/O shim (iofault.h) */
	VECS_FL_CRASH,      /* SIGKILL at named points, crash sweeps */
	VECS_FL_SERVICE,    /* services stopped, restarted, failing */
	VECS_FL_CLOCK,      /* libfaketime on the management server or agents */
	VECS_FL_CORRUPTION, /* bytes of a volume changed on disk (corrupt.h) */
	VECS_FL_CAPABILITY, /* a host without encryption, database constraints and keys */
	VECS_FL__COUNT
};
const char *vecs_fault_layer_name(enum vecs_fault_layer l);

enum vecs_fault_kind {
	VECS_FK_IORULE,        /* arm `arg` (iofault rule text) around the step */
	VECS_FK_SWEEP,         /* IORULE with @N@ = the sweep point, for N = 1..sweep */
	VECS_FK_SVC_STOP,      /* stop `arg` (service, or "agents"/"libvirtd") before the
				* step, start it again after */
	VECS_FK_SVC_RESTART,   /* restart `arg` before the step */
	VECS_FK_CRASHPOINT,    /* restart mgmt with VECS_MGMT_CRASHPOINT=`arg`: it kills
				* itself there; started plain again after the step */
	VECS_FK_CLOCK,         /* restart service `arg` with libfaketime FAKETIME=`env`,
				* plain again after the step */
	VECS_FK_CORRUPT,       /* flip `arg` (corrupt.h target) in the data volume before
				* the step, restore it after */
	VECS_FK_NO_LUKS,       /* restart agents `arg` with a qemu-img that lacks LUKS */
	VECS_FK_DB_DELETE,     /* delete a referenced passphrase row: must be refused */
	VECS_FK_WRONG_KEY,     /* restart mgmt with a wrong database key: must not start
				* serving, and say why */
	VECS_FK_FULL_DISK,     /* the cell runs on pool `arg` (stack.json "full_disk": a
				* small filesystem of its own), filled before the step */
	VECS_FK_GATEWAY,       /* the ScaleIO gateway's fault hook (POST /api/vecs/faults)
				* with `arg` as the body; "unmap" unmaps the cell's DATA volume
				* from its SDC behind the stack's back */
	VECS_FK_SVC_DURING,    /* while the step runs: `env` ("restart" or "kill") service
				* `arg` after a delay from the cell's seed (50-400 ms); a
				* killed service is started again after the step */
};

enum vecs_fault_expect {
	VECS_FE_EITHER,   /* the step may succeed or fail cleanly */
	VECS_FE_FAILS,    /* the step must fail (refused, or a failed job) */
	VECS_FE_SUCCEEDS, /* the stack must ride it out */
};

/* where a fault applies: bits of vecs_storage_types (engine/scenario.h) */
#define VECS_FS_NFS (1u << 0)
#define VECS_FS_LOCAL (1u << 1)
#define VECS_FS_SMP (1u << 2)
#define VECS_FS_SCALEIO (1u << 3)
#define VECS_FS_FILES (VECS_FS_NFS | VECS_FS_LOCAL | VECS_FS_SMP)
#define VECS_FS_ALL (VECS_FS_FILES | VECS_FS_SCALEIO)

struct vecs_fault {
	const char *id;
	enum vecs_fault_layer layer;
	const char *description;
	unsigned storage;    /* VECS_FS_* */
	const char *base;    /* fault scenario id (scenarios/faults/<base>.yaml) */
	const char *at;      /* the step the fault is armed around */
	enum vecs_fault_kind kind;
	const char *arg;     /* see enum vecs_fault_kind */
	const char *env;     /* VECS_FK_CLOCK: the FAKETIME value */
	enum vecs_fault_expect expect;
	unsigned sweep;      /* VECS_FK_SWEEP: points 1..sweep */
	const char *where;   /* processes it reaches, for the catalog listing */
	const char *storage_note; /* why it runs on fewer storage types, or NULL */
	bool needs_mariadb;  /* runs only on a stack with --db mariadb (skipped otherwise) */
	bool no_retry;       /* a failed step is not retried: the operation may have
			      * completed (crash after the commit); the rest of the
			      * scenario then checks what the stack says happened */
};

extern const struct vecs_fault vecs_faults[];
extern const size_t vecs_faults_len;

const struct vecs_fault *vecs_fault_find(const char *id);
/* "io-eio-write-deploy@3" -> the fault and point 3; point 0 without '@'. */
const struct vecs_fault *vecs_fault_parse_id(const char *id, unsigned *point);
/* Points of a sweep on a storage type (vecs_storage_types index): f->sweep, twice that
 * on NFS (requests on the wire, not file writes); 0 for other kinds. */
unsigned vecs_fault_sweep_points(const struct vecs_fault *f, int storage);
/* Comma-separated storage names of a VECS_FS_* mask, into buf. */
const char *vecs_fault_storage_list(unsigned mask, char *buf, size_t len);

#endif
