/* Files written whole or not at all. */
#ifndef VECS_UTIL_FILE_H
#define VECS_UTIL_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"
#include "util/json_writer.h"

/* Write len bytes to path through path.tmp (created with mode, never through a
 * symlink), fsync, rename over path, fsync the directory: a reader sees the old file
 * or the new one, never half of one, also after a crash. */
int vecs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			   struct vecs_err *err);

/* Collect a memory json_writer (jw_init_mem) and write it to path as above. An
 * allocation failure while the JSON was built is reported here. */
int vecs_write_json_atomic(struct json_writer *w, const char *path, mode_t mode,
			   struct vecs_err *err);

#endif
