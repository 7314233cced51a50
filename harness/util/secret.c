#include "util/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int vecs_secret_alloc(struct vecs_secret *s, size_t cap, struct vecs_err *err)
{
	memset(s, 0, sizeof(*s));
	s->data = calloc(1, cap ? cap : 1);
	if (!s->data)
		return vecs_err_set(err, -ENOMEM, "out of memory for a secret buffer");
	s->cap = cap ? cap : 1;
	/* Best effort: keep the secret out of swap. Failure (RLIMIT_MEMLOCK) is not fatal. */
	(void)mlock(s->data, s->cap);
	return 0;
}

int vecs_secret_read_file(struct vecs_secret *s, const char *path, struct vecs_err *err)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, r;

	memset(s, 0, sizeof(*s));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return vecs_err_set(err, -errno, "cannot open passphrase file %s: %s", path,
				    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vecs_err_set(err, -EINVAL, "passphrase file %s is not a regular file", path);
	}
	if (st.st_size > (off_t)VECS_SECRET_MAX) {
		close(fd);
		return vecs_err_set(err, -EFBIG,
				    "passphrase file %s is larger than %u bytes (cryptsetup's key file limit); is it the right file?",
				    path, VECS_SECRET_MAX);
	}
	if (st.st_size == 0) {
		close(fd);
		return vecs_err_set(err, -ENODATA, "passphrase file %s is empty", path);
	}
	/* one byte more than the file: a file that grew while we read is noticed */
	r = vecs_secret_alloc(s, (size_t)st.st_size + 1, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	while (got < s->cap && (n = read(fd, s->data + got, s->cap - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			vecs_secret_release(s);
			return vecs_err_set(err, r, "cannot read passphrase file %s: %s", path,
					    strerror(-r));
		}
		got += (size_t)n;
	}
	close(fd);
	if (got == s->cap) {
		vecs_secret_release(s);
		return vecs_err_set(err, -EAGAIN, "passphrase file %s changed while being read", path);
	}
	s->len = got;
	return 0;
}

int vecs_secret_from_mem(struct vecs_secret *s, const void *p, size_t len, struct vecs_err *err)
{
	int r = vecs_secret_alloc(s, len, err);

	if (r < 0)
		return r;
	memcpy(s->data, p, len);
	s->len = len;
	return 0;
}

void vecs_secret_release(struct vecs_secret *s)
{
	if (!s || !s->data)
		return;
	explicit_bzero(s->data, s->cap);
	munlock(s->data, s->cap);
	free(s->data);
	memset(s, 0, sizeof(*s));
}
