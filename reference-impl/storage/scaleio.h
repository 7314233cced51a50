/* The emulated PowerFlex (ScaleIO) gateway: its model and its REST API.
 *
 * The model (volumes, SDCs, mappings, sessions) and the request handler are pure: every
 * effect on the machine (backing file, loop device, SDC by-id link, ledger record, state
 * file) goes through struct sio_backend, so the unit tests drive the whole API with a
 * backend of plain files while the gateway (scaleio_gateway.c) plugs in the real one
 * (scaleio_backend.c: sparse file + loop device + symlink, all in the ledger).
 *
 * One thread calls sio_handle at a time (the gateway runs libmicrohttpd with a single
 * internal thread); nothing here locks. */
#ifndef VECS_REF_STORAGE_SCALEIO_H
#define VECS_REF_STORAGE_SCALEIO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/err.h"

#define SIO_ID_LEN 17      /* 16 hex digits + NUL, as PowerFlex object ids */
#define SIO_NAME_MAX 64    /* PowerFlex volume names: at most 31 characters; we are lenient */
#define SIO_MAX_SDCS 32
#define SIO_MAX_SESSIONS 64
#define SIO_TOKEN_LEN 33   /* 32 hex digits + NUL */
#define SIO_GRANULARITY_KB (8ull << 20) /* PowerFlex allocates in 8 GiB units */
#define SIO_MAX_BODY (256 * 1024)
#define SIO_DIR_MAX 2048 /* data and SDC directories: room for the names inside */

/* PowerFlex error codes (the REST gateway's "errorCode"), as clients test them. */
enum sio_errcode {
	SIO_E_ILLEGAL_SYNTAX = 0,
	SIO_E_NOT_FOUND = 3,          /* an object other than a volume (SDC, pool) */
	SIO_E_VOLUME_NOT_FOUND = 79,
	SIO_E_ALREADY_MAPPED = 81,
	SIO_E_NOT_MAPPED = 84,
	SIO_E_NAME_IN_USE = 99,
	SIO_E_VOLUME_MAPPED = 104,
	SIO_E_CANNOT_SHRINK = 133,
	SIO_E_INTERNAL = 500,
};

enum sio_voltype { SIO_THIN, SIO_THICK, SIO_SNAPSHOT };

struct sio_sdc {
	char id[SIO_ID_LEN];
	char name[SIO_NAME_MAX];
	char guid[37];
	char ip[64];
	char dir[SIO_DIR_MAX]; /* where its by-id links go (emulates /dev/disk/by-id) */
};

struct sio_volume {
	char id[SIO_ID_LEN];
	char name[SIO_NAME_MAX]; /* "" = no name (a snapshot taken without one) */
	char vtree[SIO_ID_LEN];
	char ancestor[SIO_ID_LEN]; /* "" unless a snapshot */
	enum sio_voltype type;
	uint64_t size_kb;
	int64_t created;
	bool mapped[SIO_MAX_SDCS]; /* by index into sio_gw.sdcs */
	/* backend's own bookkeeping (not part of the API) */
	char path[PATH_MAX];  /* backing file */
	char loop[32];        /* /dev/loopN, "" when not attached */
	uint64_t rec_file, rec_loop, rec_link[SIO_MAX_SDCS]; /* ledger ids, 0 = none */
};

struct sio_gw;

/* Every effect outside memory. Each returns 0 or -errno with err set. */
struct sio_backend {
	/* a new empty (sparse) volume of v->size_kb; sets v->path and attaches it */
	int (*create)(struct sio_gw *gw, struct sio_volume *v, struct vecs_err *err);
	/* a new volume dst holding the bytes of src (snapshot) */
	int (*copy)(struct sio_gw *gw, const struct sio_volume *src, struct sio_volume *dst,
		    struct vecs_err *err);
	/* overwrite dst's content with src's (revert) */
	int (*overwrite)(struct sio_gw *gw, const struct sio_volume *src, struct sio_volume *dst,
			 struct vecs_err *err);
	/* grow to new_kb (v->size_kb still the old size) */
	int (*resize)(struct sio_gw *gw, struct sio_volume *v, uint64_t new_kb,
		      struct vecs_err *err);
	/* detach and delete */
	int (*remove)(struct sio_gw *gw, struct sio_volume *v, struct vecs_err *err);
	int (*map)(struct sio_gw *gw, struct sio_volume *v, int sdc, struct vecs_err *err);
	int (*unmap)(struct sio_gw *gw, struct sio_volume *v, int sdc, struct vecs_err *err);
	/* persist the model (called after every change) */
	int (*save)(struct sio_gw *gw, struct vecs_err *err);
};

struct sio_session {
	char token[SIO_TOKEN_LEN];
	time_t expires; /* 0 = free slot */
};

/* Fault hooks (README.md, "Fault hooks"): armed through POST /api/vecs/faults. */
struct sio_faults {
	unsigned fail_next;  /* the next N API requests answer 500 */
	unsigned delay_next; /* the next N API requests are answered after delay_ms */
	unsigned delay_ms;
};

struct sio_gw {
	char system_id[SIO_ID_LEN];
	char pool_id[SIO_ID_LEN];
	char pd_id[SIO_ID_LEN]; /* protection domain */
	char user[64];
	unsigned char *password; /* from the 0600 file, in locked memory (util/secret.h) */
	size_t password_len;
	uint64_t granularity_kb;
	uint64_t capacity_kb; /* pool capacity reported to clients */
	unsigned token_ttl;   /* seconds of idleness before a token expires */
	char data_dir[SIO_DIR_MAX];

	struct sio_sdc sdcs[SIO_MAX_SDCS];
	int n_sdcs;
	struct sio_volume *vols;
	size_t n_vols, cap_vols;
	uint64_t next_serial; /* low half of new object ids */
	struct sio_session sessions[SIO_MAX_SESSIONS];
	struct sio_faults faults;

	const struct sio_backend *be;
	void *be_ctx;
	time_t (*now)(void); /* time source; tests replace it */
};

struct sio_reply {
	int status;
	char *body; /* malloc'ed JSON, owned by the caller */
	size_t len;
	unsigned delay_ms; /* fault hook: answer after this long */
};

/* Initialise gw: ids derived from system_id, SDC ids from their names (stable across
 * restarts, so clients may keep them). */
void sio_gw_init(struct sio_gw *gw, const char *system_id);
/* Add an SDC; -EINVAL on a bad name, -ENOSPC beyond SIO_MAX_SDCS. */
int sio_gw_add_sdc(struct sio_gw *gw, const char *name, const char *ip, const char *dir,
		   struct vecs_err *err);
void sio_gw_free(struct sio_gw *gw);

/* Handle one request. auth is the Authorization header (may be NULL); body may be NULL.
 * Always fills r (r->body is NULL only when out of memory). */
void sio_handle(struct sio_gw *gw, const char *method, const char *path, const char *auth,
		const char *body, size_t body_len, struct sio_reply *r);

/* Model helpers, exposed for the gateway and the tests. */
struct sio_volume *sio_find_volume(struct sio_gw *gw, const char *id);
/* size rounded up to the granularity (0 stays 0; overflow gives 0) */
uint64_t sio_round_kb(const struct sio_gw *gw, uint64_t kb);
/* The link name an SDC shows for a volume: emc-vol-<systemId>-<volumeId>. */
void sio_link_name(const struct sio_gw *gw, const struct sio_volume *v, char *buf, size_t len);
/* Decode "Basic base64(user:pass)" into user (NUL-terminated) and pass (pass_len bytes,
 * NUL-terminated too); 0 or -EINVAL. The base64 is canonical or refused (util/base64.h:
 * padding required, no stray bits), as RFC 7617 clients send it. The caller zeroes
 * pass. */
int sio_basic_auth_decode(const char *header, char *user, size_t user_cap, char *pass,
			  size_t pass_cap, size_t *pass_len);

/* State file: the model as JSON (volumes, mappings by SDC name). */
int sio_state_to_json(const struct sio_gw *gw, char **out, struct vecs_err *err);
/* Load volumes from JSON into an initialised gw with its SDCs; mappings to SDCs no
 * longer configured are dropped (with a line on stderr). */
int sio_state_from_json(struct sio_gw *gw, const char *json, struct vecs_err *err);

#endif
