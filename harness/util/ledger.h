/* The resource ledger: an append-only file per run that names every object the run
 * creates (process, netns, mount, loop device, libvirt domain and secret, file, dir,
 * network link), so that a reaper can remove them all, even after the run was killed.
 *
 * Rules for writers: append the record *before* creating the object (an intent: the
 * reaper accepts objects that never came to be), and append a "done" tombstone after
 * removing it normally. Every append is one write(2) under flock(2) followed by
 * fsync(2), so a kill -9 at any moment leaves a readable ledger whose last line may be
 * torn; a torn line is recognised (no end marker) and skipped.
 *
 * Format, one record per line: KIND TAB A TAB B TAB C TAB "." NEWLINE. Fields are
 * percent-encoded (bytes <= 0x20, 0x7f and '%'). A record's id is its byte offset in
 * the file, unique and increasing, so "done" records can name it.
 *
 * Names of objects carry the run id (vecs_run_id_new: "vecs-" and 8 hex digits), so
 * leftovers are recognisable whoever finds them. */
#ifndef VECS_UTIL_LEDGER_H
#define VECS_UTIL_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

enum vecs_obj {
	VECS_OBJ_RUN,     /* a: run id, b: owner pid, c: owner start time (vecs_proc_*) */
	VECS_OBJ_PROCESS, /* a: pid, b: start time, c: what it is (free text) */
	VECS_OBJ_NETNS,   /* a: name under /run/netns (must start with "vecs-") */
	VECS_OBJ_MOUNT,   /* a: path, b: "" for the reaper's mount namespace, or
			   *    "PID:START" of a process whose mount namespace holds it */
	VECS_OBJ_LOOP,    /* a: /dev/loopN, b: backing file */
	VECS_OBJ_DOMAIN,  /* a: libvirt URI, b: domain name or uuid */
	VECS_OBJ_SECRET,  /* a: libvirt URI, b: secret uuid */
	VECS_OBJ_FILE,    /* a: path */
	VECS_OBJ_DIR,     /* a: path; removed with its contents, refusing if a mount is
			   *    inside */
	VECS_OBJ_LINK,    /* a: interface name, b: netns name it lives in */
	VECS_OBJ_DONE,    /* a: id of the record whose object was removed */
	VECS_OBJ__COUNT
};

#define VECS_RUN_ID_LEN 14 /* "vecs-" + 8 hex + NUL */

/* A fresh run id from getrandom(2). */
int vecs_run_id_new(char id[VECS_RUN_ID_LEN]);

/* "process", "netns", ..., as written in the file; NULL for an unknown kind. */
const char *vecs_obj_name(enum vecs_obj kind);

struct vecs_ledger;

/* Open (creating with mode 0600 if missing) the ledger at path for appending. */
int vecs_ledger_open(struct vecs_ledger **l, const char *path, struct vecs_err *err);
void vecs_ledger_close(struct vecs_ledger *l);
const char *vecs_ledger_path(const struct vecs_ledger *l);

/* Append one record (a, b, c may be NULL for empty); *id receives its id if id is not
 * NULL. Durable (fsync'ed) when it returns 0. */
int vecs_ledger_append(struct vecs_ledger *l, enum vecs_obj kind, const char *a,
		       const char *b, const char *c, uint64_t *id, struct vecs_err *err);

/* Shorthands. */
int vecs_ledger_add_process(struct vecs_ledger *l, pid_t pid, uint64_t starttime,
			    const char *what, uint64_t *id, struct vecs_err *err);
int vecs_ledger_add_path(struct vecs_ledger *l, enum vecs_obj kind, const char *path,
			 uint64_t *id, struct vecs_err *err);
int vecs_ledger_done(struct vecs_ledger *l, uint64_t id, struct vecs_err *err);

struct vecs_ledger_rec {
	uint64_t id;
	enum vecs_obj kind;
	char *a, *b, *c; /* decoded, never NULL */
	bool done;       /* a later "done" record names this one */
};

struct vecs_ledger_list {
	struct vecs_ledger_rec *recs; /* in file order, "done" records left out */
	size_t n;
	size_t skipped; /* torn or unreadable lines */
	char run_id[VECS_RUN_ID_LEN];
	pid_t owner_pid; /* from the first "run" record, 0 if none */
	uint64_t owner_start;
};

/* Read a ledger. A missing file is -ENOENT. */
int vecs_ledger_read(const char *path, struct vecs_ledger_list *list, struct vecs_err *err);
void vecs_ledger_list_free(struct vecs_ledger_list *list);

#endif
