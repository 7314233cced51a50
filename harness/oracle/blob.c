#include "oracle/blob.h"

#include <errno.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int vecs_blob_read(const struct vecs_blob *b, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;

	if (off > b->size || len > b->size - off)
		return -ERANGE;
	while (done < len) {
		ssize_t n = pread(b->fd, (char *)buf + done, len - done, (off_t)(b->base + off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ERANGE; /* shrank under us */
		done += (size_t)n;
	}
	return 0;
}

int vecs_fd_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			return -errno;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*size = (uint64_t)st.st_size;
	return 0;
}
