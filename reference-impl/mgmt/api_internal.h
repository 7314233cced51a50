/* Shared by api.c (dispatch, parameters, response shapes) and api_commands.c. */
#ifndef VECS_REF_MGMT_API_INTERNAL_H
#define VECS_REF_MGMT_API_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "db/user_dao.h"
#include "mgmt/api.h"
#include "util/json_writer.h"

struct api_ctx {
	struct mgmt *m;
	struct db *db;
	const struct api_params *p;
	const struct user_record *user;
	const char *cmd_lc;   /* "creatediskoffering" */
	struct json_writer *out;     /* inside the "<cmd>response" object */
	int status;
	int cserror;
	char errortext[512];
};

typedef int (*api_handler)(struct api_ctx *c);

struct api_command {
	const char *name;   /* as CloudStack spells it: "listZones" */
	api_handler fn;
	bool async;
};

const struct api_command *api_command_find(const char *name);
/* The VM, volume, pool and template commands (api_vm.c, api_volume.c, api_storage.c). */
const struct api_command *api_cloud_command_find(const char *name);
/* storagetype (shared|local, default shared) and tags of create*Offering, into the
 * disk offering's use_local_storage and tags. */
int api_get_storage_placement(struct api_ctx *c, char *tags, size_t tags_size, int *local);

/* Record an error and return -1 (handlers `return api_fail(...)`). */
int api_fail(struct api_ctx *c, int code, int cserror, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Map a DAO error (negative errno, message) to a 530 without internals in the text. */
int api_fail_db(struct api_ctx *c, int r, const struct vecs_err *err);

/* Parameters. Each returns 0, or -1 after api_fail with CloudStack's 431 message. */
int api_get_str(struct api_ctx *c, const char *name, bool required, size_t maxlen,
		const char **out);
/* true/false (any case); *out keeps dflt when absent. */
int api_get_bool(struct api_ctx *c, const char *name, int dflt, int *out);
/* A decimal integer in [min, max]; *present says whether it was given. */
int api_get_long(struct api_ctx *c, const char *name, bool required, int64_t min, int64_t max,
		 int64_t *out, bool *present);
/* A UUID (8-4-4-4-12 hex); NULL when absent and not required. */
int api_get_uuid(struct api_ctx *c, const char *name, bool required, const char **out);
/* 431 for an id that names nothing, as CloudStack words it. */
int api_fail_no_entity(struct api_ctx *c, const char *name, const char *value);

/* Lists: page/pagesize, count = all matching rows, {} when there are none. */
struct api_list {
	struct api_ctx *c;
	struct json_writer rows;
	int64_t total, first, limit;
};
int api_list_begin(struct api_list *l, struct api_ctx *c);
/* Count a row; true when it is on the requested page (write it into l->rows). */
bool api_list_take(struct api_list *l);
void api_list_end(struct api_list *l, const char *key);
/* Drop the rows of a list whose parameters were refused; returns -1. */
int api_list_abandon(struct api_list *l);
/* After the DAO's list call returned r: the list under key (0), or a 530 from err
 * (-1, rows dropped) when r < 0. */
int api_list_finish(struct api_list *l, int r, const struct vecs_err *err, const char *key);

/* "2026-01-02 03:04:05" (as stored) to CloudStack's "2026-01-02T03:04:05+0000". */
void api_kv_date(struct json_writer *j, const char *key, const char *db_time);

#endif
