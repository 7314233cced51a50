/* vecs-agent, the reference KVM agent (agent/README.md, COMMANDS.md): state shared by
 * its command handlers, and the plumbing they use (key files, qemu-img, libvirt
 * connection, ledger, log). Handlers run on the channel client's worker threads, several
 * at a time: everything here is thread-safe. */
#ifndef VECS_REF_AGENT_AGENT_H
#define VECS_REF_AGENT_AGENT_H

#include <jansson.h>
#include <libvirt/libvirt.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "agent/channel_client.h"
#include "agent/qemu_img_argv.h"
#include "util/err.h"
#include "util/ledger.h"
#include "util/secret.h"

#define AGENT_QIMG_RETRIES 3
#define AGENT_MAX_MIGRATIONS 16
#define AGENT_MAX_DOMAINS 64
#define AGENT_DOM_SECRETS 8 /* = AGENT_VM_MAX_DISKS (agent_xml.h) */
#define AGENT_MAX_BUSY 32

struct agent {
	/* from D/<host>/host.json */
	char name[16];
	char host_dir[PATH_MAX / 2];
	char uri[PATH_MAX + 96];
	char tcp_uri[96];
	char address[32];
	char netns[64];
	/* files */
	char key_dir[PATH_MAX / 2 + 16]; /* private 0700 directory of the key files */
	char serial_dir[PATH_MAX / 2 + 16]; /* the domains' serial logs: <serial_dir>/<name>.log */
	char sdc_dir[PATH_MAX];  /* the ScaleIO SDC's by-id directory of this host */
	char shim[PATH_MAX];     /* getrusage-shim.so (kdf=fast) */
	const char *qemu_img;    /* --qemu-img: every qemu-img run and the probe */
	const char *emulator;    /* --emulator: the domains' <emulator>, NULL for libvirt's */
	char ledger_path[PATH_MAX + 16];
	uint64_t key_dir_ledger_id;
	struct vecs_ledger *ledger;
	bool kdf_fast;
	bool encryption;         /* the capability probe's answer (false with --no-encryption) */
	char qemu_img_version[96];
	char cryptsetup_version[96];
	const char *domain_type; /* --domain-type; auto: "kvm" with /dev/kvm, else "qemu" */
	atomic_uint kdf_retries; /* "Unable to get accurate CPU usage" retries since start */
	FILE *log;
	pthread_mutex_t log_lock;
	virConnectPtr conn;
	pthread_mutex_t conn_lock;
	/* secrets of domains migrated away, undefined by post_migration */
	pthread_mutex_t mig_lock;
	struct {
		char name[128];
		size_t n;
		char uuids[8][37];
	} migrated[AGENT_MAX_MIGRATIONS];
	/* secrets of each domain started or received here, so that a stop_vm that finds
	 * the domain gone (QEMU died, libvirtd restarted) still undefines them */
	pthread_mutex_t dom_lock;
	struct agent_dom_secrets {
		char name[128];
		size_t n;
		char uuids[AGENT_DOM_SECRETS][37];
	} doms[AGENT_MAX_DOMAINS];
	/* volume commands on one path run one after another (agent_path_hold): a
	 * delete_volume sent after a create_volume timed out waits for that create */
	pthread_mutex_t path_lock;
	pthread_cond_t path_cond;
	uint64_t busy[AGENT_MAX_BUSY]; /* hashes of the paths held, 0 = free */
};

/* One line in the agent's log (a newline is added). Names, paths and outcomes only. */
void agent_log(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The libvirt connection, opened (again) if needed: a new reference the caller
 * virConnectClose's. */
virConnectPtr agent_conn(struct agent *a, struct vecs_err *err);
/* libvirt's last error of this thread as text (never holds a secret value). */
const char *agent_virt_error(void);

/* Ledger: append a record before creating the object; agent_ledger_forget appends the
 * "done" record of the newest open record of (kind, a, b), whichever process wrote it. */
int agent_ledger_add(struct agent *a, enum vecs_obj kind, const char *x, const char *y,
		     uint64_t *id, struct vecs_err *err);
void agent_ledger_forget(struct agent *a, enum vecs_obj kind, const char *x, const char *y);

/* Hold path for one volume command, waiting while another command holds it; returns
 * the token agent_path_release takes. Paths are compared by a 64-bit hash: two paths
 * that collide only wait for each other. */
uint64_t agent_path_hold(struct agent *a, const char *path);
void agent_path_release(struct agent *a, uint64_t token);

/* A key file: the secret's bytes, mode 0600, in the key dir, recorded in the ledger. */
struct agent_key {
	char path[PATH_MAX];
	uint64_t ledger_id;
	bool made;
};
int agent_key_write(struct agent *a, const struct vecs_secret *s, struct agent_key *k,
		    struct vecs_err *err);
/* Remove the key file (if made) and close its ledger record; safe to call twice. */
void agent_key_remove(struct agent *a, struct agent_key *k);

/* Run a qemu-img command: the shim preloaded in kdf=fast, "Unable to get accurate CPU
 * usage" retried up to AGENT_QIMG_RETRIES times (*retries counts them). out (may be
 * NULL) receives stdout. An error names what failed and quotes qemu-img's last line. */
int agent_qimg_run(struct agent *a, struct qimg_cmd *c, char *out, size_t out_cap,
		   unsigned *retries, struct vecs_err *err);

/* libcryptsetup: LUKS1 aes-xts-plain64, 512-bit key, sha256 on a block device, the
 * passphrase in keyslot 0 (kdf=fast: PBKDF2 1000 iterations, no benchmark). */
int agent_luks_format(struct agent *a, const char *dev, const struct vecs_secret *pass,
		      struct vecs_err *err);
/* Overwrite the LUKS1 header area (the first 2 MiB) with zeros. */
int agent_luks_wipe_header(const char *dev, struct vecs_err *err);

/* A volume argument resolved on this host. */
enum agent_pool { POOL_LOCAL, POOL_SMP, POOL_NFS, POOL_SCALEIO };

struct agent_vol {
	const char *name;       /* for messages */
	enum agent_pool pool;
	const char *path_arg;   /* volume.path: file name, or ScaleIO volume id */
	char path[PATH_MAX];    /* file, or the block device the SDC link resolves to */
	char usage[PATH_MAX];   /* what names its secret (file path; ScaleIO: by-id path;
				 * NFS: /mnt/<pool uuid>/<file>, CloudStack's mount point) */
	/* NFS: path is the volume's nfs://<host><export>/<file> URL (qemu-img) */
	char nfs_host[64];      /* server address */
	char nfs_path[PATH_MAX / 2]; /* <export>/<file>: the path on the server */
	char secret_uuid[37];
	const char *format;     /* qcow2 / raw */
	uint64_t size;
	bool encrypted;
	const struct vecs_secret *pass; /* NULL when not encrypted */
};

/* Parse a volume object. secret_path: where chan_secrets holds its passphrase.
 * need_device: a ScaleIO volume must be mapped here (waits up to 5 s for the link). */
int agent_vol_parse(struct agent *a, json_t *vol, const struct chan_secrets *secrets,
		    const char *secret_path, bool need_device, struct agent_vol *v,
		    struct vecs_err *err);

/* A file volume (local, smp: the file system; NFS: libnfs in this host's netns, through
 * `vecs-agent --nfs-helper`): whether it exists (1, 0, or <0 when the server cannot be
 * asked), unlink (ENOENT is not an error),
 * rename to another file name in the same directory. */
int agent_vol_exists(struct agent *a, const struct agent_vol *v, struct vecs_err *err);
int agent_vol_unlink(struct agent *a, const struct agent_vol *v, struct vecs_err *err);
int agent_vol_rename(struct agent *a, const struct agent_vol *from, const struct agent_vol *to,
		     struct vecs_err *err);
/* `vecs-agent --nfs-helper OP SERVER EXPORT FILE [FILE2]` (run in the host's netns):
 * OP exists | rm | rename. Exit 0, 1 (no such file), 2 (error, on stderr). */
int agent_nfs_helper_main(int argc, char **argv);

/* Command handlers (volume_cmds.c, vm_cmds.c). */
int h_host_info(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_create_volume(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_delete_volume(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_resize_volume(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_copy_volume(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_snapshot_volume(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_revert_snapshot(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_start_vm(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_stop_vm(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_reboot_vm(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_attach_volume(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_detach_volume(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_prepare_migration(void *, json_t *, const struct chan_secrets *, json_t **,
			struct vecs_err *);
int h_migrate_vm(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);
int h_post_migration(void *, json_t *, const struct chan_secrets *, json_t **, struct vecs_err *);

/* Secrets of libvirt (vm_cmds.c): define (ledger first) and set the value; undefine. */
int agent_secret_define(struct agent *a, virConnectPtr conn, const struct agent_vol *v,
			struct vecs_err *err);
void agent_secret_undefine(struct agent *a, virConnectPtr conn, const char *uuid);

#endif
