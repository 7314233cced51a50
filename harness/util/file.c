#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

int vecs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			   struct vecs_err *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *p = data, *slash;
	size_t done = 0;
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return vecs_err_set(err, -ENAMETOOLONG, "path %s is too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return vecs_err_set(err, -errno, "cannot write %s: %s", tmp, strerror(errno));
	while (done < len && r == 0) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			done += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return vecs_err_set(err, r, "cannot write %s: %s", path, strerror(-r));
	}
	/* the rename itself survives a crash once the directory is synced */
	slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
		 slash ? path : ".");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}

int vecs_write_json_atomic(struct json_writer *w, const char *path, mode_t mode,
			   struct vecs_err *err)
{
	size_t len = 0;
	char *text = jw_take(w, &len);
	int r;

	if (!text)
		return vecs_err_set(err, -ENOMEM, "out of memory building %s", path);
	r = vecs_write_file_atomic(path, text, len, mode, err);
	free(text);
	return r;
}
