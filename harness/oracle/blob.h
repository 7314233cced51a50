/* A byte range of an open file or block device: where a LUKS device lives (the whole
 * of a raw file or device, or the encryption header region of a qcow2 file). */
#ifndef VECS_ORACLE_BLOB_H
#define VECS_ORACLE_BLOB_H

#include <stddef.h>
#include <stdint.h>

struct vecs_blob {
	int fd;
	uint64_t base; /* offset of byte 0 of the blob in fd */
	uint64_t size; /* bytes */
};

/* Read len bytes at off within the blob: 0, -ERANGE past its end, or -errno. */
int vecs_blob_read(const struct vecs_blob *b, uint64_t off, void *buf, size_t len);

/* Size of an open regular file or block device, or -errno. */
int vecs_fd_size(int fd, uint64_t *size);

#endif
