/* The ciphertext-at-rest oracle: finds canary plaintext (oracle/canary.h) at any byte
 * offset in files, directory trees and block devices.
 *
 * What counts as found (each hit is a byte range of one file):
 *   match    whole records of the scan's seed (check value verified); the range is
 *            extended byte-exactly into cut records at either end, so a piece of canary
 *            copied from any stream offset is reported with its exact file offset,
 *            length and canary offset
 *   corrupt  a 16 x 0xC3 run followed by the scan's seed id whose check value is wrong
 *            (altered, or cut inside its last 8 bytes); the range covers the bytes that
 *            still agree with the record its index names
 *   partial  a run of 16 x 0xC3 cut by the end of the file or of a data extent, followed
 *            by as much of the scan's seed id as there is room for
 *   foreign  two or more consecutive records of another seed (same seed id, indexes
 *            i, i+1, ...): still plaintext at rest. One lone record of another seed is
 *            not reported: without the seed its check value proves nothing.
 *   hex      records of the scan's seed written as hex text ("c3c3...", either case), as
 *            a log line would carry them; at least run + seed id + index (48 chars)
 * A run of 0xC3 followed by anything else is not a hit.
 *
 * Speed: every 4-byte-aligned word (by file offset) is compared with the run constant
 * (and the hex forms) 64 bytes at a time in vector registers, branching once a block;
 * only candidates are looked at byte by byte. Holes of sparse files are skipped
 * (SEEK_DATA/SEEK_HOLE). A scanner is single-threaded and not thread-safe. */
#ifndef VECS_ORACLE_SCAN_H
#define VECS_ORACLE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oracle/canary.h"
#include "util/err.h"

enum vecs_scan_kind {
	VECS_SCAN_MATCH,
	VECS_SCAN_CORRUPT,
	VECS_SCAN_PARTIAL,
	VECS_SCAN_FOREIGN,
	VECS_SCAN_HEX,
};

/* "match", "corrupt", "partial", "foreign", "hex" */
const char *vecs_scan_kind_name(enum vecs_scan_kind kind);

struct vecs_scan_hit {
	const char *path;        /* as given, or joined below a given directory */
	enum vecs_scan_kind kind;
	uint64_t offset;         /* byte offset in the file or device where the range starts */
	uint64_t length;         /* bytes of the file in the range (hex: text characters) */
	int64_t canary_offset;   /* canary stream offset of the range's first byte (hex: of
				  * the first encoded byte); -1 when the range is too short
				  * to tell */
	uint64_t records;        /* 16-byte runs (records, whole or cut) in the range */
	uint8_t seed_id[VECS_CANARY_SEED_ID_LEN];
};

struct vecs_scan_stats {
	uint64_t files_scanned;        /* regular files and block devices read */
	uint64_t files_skipped;        /* symlinks, sockets, fifos, char devices in trees */
	uint64_t bytes_scanned;        /* data bytes read */
	uint64_t bytes_skipped_holes;  /* bytes of holes not read */
	uint64_t hits;                 /* hit ranges reported */
	uint64_t errors;               /* paths that could not be read */
};

struct vecs_scan_opts {
	/* Bytes per read; 0 for the default (512 KiB). Rounded up to a multiple of 64, at
	 * least 256: tests set it small to put records across read boundaries. */
	size_t buf_size;
	bool no_hex;     /* skip the hex text check */
	/* Called for each hit range, in file order; a negative return stops the scan and
	 * is returned by vecs_scan_path. */
	int (*on_hit)(const struct vecs_scan_hit *hit, void *ctx);
	/* Called for each path below a directory that cannot be read; the scan goes on. */
	void (*on_error)(const struct vecs_err *err, void *ctx);
	void *ctx;
};

struct vecs_scan;

int vecs_scan_new(struct vecs_scan **out, const char *seed, const struct vecs_scan_opts *opts,
		  struct vecs_err *err);
void vecs_scan_free(struct vecs_scan *s);

/* Scan a regular file, a block device, or a directory tree. A symlink given as path is
 * followed; below a directory, symlinks are never followed (so a scan cannot leave the
 * tree or count a file twice) and only directories, regular files and block devices are
 * read. Fails only when path itself cannot be scanned; trouble below a directory goes to
 * on_error and stats.errors. */
int vecs_scan_path(struct vecs_scan *s, const char *path, struct vecs_err *err);

/* Scan len bytes of memory as one data extent named name, through the same buffered
 * reader as files (for tests and fuzzing). */
int vecs_scan_mem(struct vecs_scan *s, const char *name, const void *buf, size_t len,
		  struct vecs_err *err);

const struct vecs_scan_stats *vecs_scan_get_stats(const struct vecs_scan *s);
const struct vecs_canary *vecs_scan_get_canary(const struct vecs_scan *s);

#endif
