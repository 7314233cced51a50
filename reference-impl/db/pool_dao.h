/* Rows of `storage_pool` (with its tags and details) and `vm_template`.
 *
 * Pools are registered through createStoragePool, templates through registerTemplate;
 * both are read by the allocator (mgmt/allocator.h) and sent to agents as the `pool`
 * and `template` objects of agent/COMMANDS.md. */
#ifndef VECS_REF_DB_POOL_DAO_H
#define VECS_REF_DB_POOL_DAO_H

#include <stdint.h>

#include "db/db.h"

/* CloudStack's StoragePoolType names. */
#define POOL_NFS "NetworkFilesystem"
#define POOL_LOCAL "Filesystem"
#define POOL_SMP "SharedMountPoint"
#define POOL_POWERFLEX "PowerFlex"
#define POOL_RBD "RBD"

struct pool_record {
	int64_t id;
	char uuid[41];
	char name[256];
	char pool_type[33];
	char path[256];
	char host_address[256];
	unsigned port;
	int64_t zone_id;
	char scope[16];        /* ZONE, HOST */
	int64_t host_id;       /* scope HOST: the host that has it */
	char provider[64];
	char status[33];
	uint64_t capacity;
	uint64_t used;
	char tags[1024];       /* comma-separated, as CloudStack returns them */
	char gateway_url[256]; /* PowerFlex detail */
	char system_id[256];   /* PowerFlex detail */
	int removed;
	char created[32];      /* read only */
	char zone_uuid[41];    /* read only */
	char zone_name[256];   /* read only */
	char host_uuid[41];    /* read only */
	char host_name[256];   /* read only */
};

struct pool_filter {
	const char *uuid;
	const char *name;
	const char *zone_uuid;
	int64_t id; /* 0: any */
};

/* Whether volumes of this pool type can be encrypted (CLOUDSTACK.md, "Scheduling"). */
int pool_type_supports_encryption(const char *pool_type);
/* The agent's name of the pool type (COMMANDS.md): local, smp, nfs, scaleio; NULL for
 * a type no agent serves. */
const char *pool_type_agent_name(const char *pool_type);

/* Insert p with its tags (comma-separated in p->tags) and PowerFlex details in one
 * transaction; fills id and uuid. */
int pool_insert(struct db *db, struct pool_record *p, struct vecs_err *err);
/* Removed pools are returned with removed set; -ENOENT when there is no row. */
int pool_get(struct db *db, int64_t id, struct pool_record *out, struct vecs_err *err);
/* Live pools matching f, in id order. */
int pool_list(struct db *db, const struct pool_filter *f,
	      int (*cb)(void *ctx, const struct pool_record *p), void *ctx, struct vecs_err *err);
/* Whether every tag of the comma-separated list `want` is one of the pool's tags
 * (CloudStack: an offering's tags must all be on the pool). NULL or "" matches. */
int pool_has_tags(const struct pool_record *p, const char *want);

struct template_record {
	int64_t id;
	char uuid[41];
	char name[256];
	char display_text[1024];
	char format[33];   /* QCOW2, RAW */
	char url[256];
	char path[256];    /* on secondary storage, as hosts see it */
	uint64_t size;
	char hypervisor[33];
	char kernel[256];  /* details: optional direct boot */
	char initrd[256];
	char cmdline[512]; /* details: kernel command line (with kernel) */
	int removed;
	char created[32];
};

int template_insert(struct db *db, struct template_record *t, struct vecs_err *err);
int template_get(struct db *db, int64_t id, struct template_record *out, struct vecs_err *err);
/* Live templates; uuid and name may be NULL (any). */
int template_list(struct db *db, const char *uuid, const char *name,
		  int (*cb)(void *ctx, const struct template_record *t), void *ctx,
		  struct vecs_err *err);

#endif
