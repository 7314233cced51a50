/* The I/O fault rules file: one fixed-size binary file shared between the control API
 * (iofault.c, in libvecs) and the LD_PRELOAD shim (iofault_shim.c) that every process
 * under test maps MAP_SHARED.
 *
 * Concurrency: the file is a seqlock. vecs_iofault_arm() makes `generation` odd, writes
 * the rules and zeroes the counters, then makes it even again; the shim ignores the
 * rules while the generation is odd or changes under it. The counters (`matched`,
 * `hits`) are updated with atomic adds by every process mapping the file, so "the Nth
 * matching write" counts across processes. The file is never replaced, only rewritten
 * in place, so a mapping taken once stays valid.
 *
 * Only fixed-width types: the same layout for the 64-bit harness and any process. */
#ifndef VECS_FAULTS_IOFAULT_LAYOUT_H
#define VECS_FAULTS_IOFAULT_LAYOUT_H

#include <stdint.h>

#define VECS_IOFAULT_MAGIC 0x31544641464f4956ULL /* "VIOFAFT1" little-endian */
#define VECS_IOFAULT_VERSION 1
#define VECS_IOFAULT_MAX_RULES 32
#define VECS_IOFAULT_PATH_MAX 256 /* glob, NUL included */
#define VECS_IOFAULT_COMM_MAX 16  /* like /proc/PID/comm: 15 characters + NUL */
#define VECS_IOFAULT_OFF_END UINT64_MAX

/* Operation classes a rule selects (a bit set of 1 << op). */
enum vecs_iofault_op {
	VECS_IOFAULT_OP_OPEN = 0,   /* open, openat, creat (+64, __open_2 variants) */
	VECS_IOFAULT_OP_READ,       /* read, pread, readv, preadv*, copy_file_range source */
	VECS_IOFAULT_OP_WRITE,      /* write, pwrite, writev, pwritev*, copy_file_range target */
	VECS_IOFAULT_OP_FLUSH,      /* fsync, fdatasync, sync_file_range, syncfs */
	VECS_IOFAULT_OP_TRUNCATE,   /* ftruncate */
	VECS_IOFAULT_OP_ALLOCATE,   /* fallocate, posix_fallocate */
	VECS_IOFAULT_OP_CONNECT,    /* connect: AF_UNIX path, AF_INET/AF_INET6 address */
	VECS_IOFAULT_OP_SEND,       /* send, sendto, sendmsg */
	VECS_IOFAULT_OP_COUNT
};

#define VECS_IOFAULT_OPBIT(op) (1u << (op))
#define VECS_IOFAULT_OPS_ALL ((1u << VECS_IOFAULT_OP_COUNT) - 1)

enum vecs_iofault_action {
	VECS_IOFAULT_ACT_NONE = 0,    /* an empty slot */
	VECS_IOFAULT_ACT_ERRNO,       /* fail with errno `arg`, the operation is not done */
	VECS_IOFAULT_ACT_SHORT,       /* read/write only arg/1e6 of the bytes, return that */
	VECS_IOFAULT_ACT_TORN,        /* write only the first `arg` bytes, then SIGKILL */
	VECS_IOFAULT_ACT_DELAY,       /* sleep `arg` milliseconds, then do the operation */
	VECS_IOFAULT_ACT_KILL_BEFORE, /* SIGKILL the process instead of the operation */
	VECS_IOFAULT_ACT_KILL_AFTER,  /* do the operation, then SIGKILL the process */
	VECS_IOFAULT_ACT_COUNT
};

#define VECS_IOFAULT_SHORT_SCALE 1000000 /* `short` fractions are in millionths */

/* One rule. Empty path/comm match anything; the offset range [off_lo, off_hi) must
 * overlap the bytes the operation touches (operations without an offset never match
 * a rule with a range); the rule fires on its nth..nth+count-1 matching operations
 * (count 0: every one from the nth on). */
struct vecs_iofault_rule {
	char path[VECS_IOFAULT_PATH_MAX]; /* fnmatch(3) glob without FNM_PATHNAME */
	char comm[VECS_IOFAULT_COMM_MAX]; /* fnmatch(3) glob on /proc/self/comm */
	uint32_t ops;                     /* VECS_IOFAULT_OPBIT set */
	uint32_t action;                  /* enum vecs_iofault_action */
	int64_t arg;                      /* errno / fraction ppm / bytes / milliseconds */
	uint64_t off_lo, off_hi;          /* [0, VECS_IOFAULT_OFF_END) = any offset */
	uint64_t nth;                     /* 1-based */
	uint64_t count;                   /* 0 = unlimited */
};

struct vecs_iofault_slot {
	struct vecs_iofault_rule rule;
	uint64_t matched; /* atomic: operations that matched since arm */
	uint64_t hits;    /* atomic: firings since arm */
};

struct vecs_iofault_file {
	uint64_t magic;
	uint32_t version;
	uint32_t size;       /* sizeof(struct vecs_iofault_file) */
	uint64_t generation; /* atomic seqlock: odd while being rewritten */
	uint32_t nrules;     /* active slots; 0 = disarmed */
	uint32_t narmed;     /* rules of the last arm; disarm keeps it for the hits */
	struct vecs_iofault_slot slots[VECS_IOFAULT_MAX_RULES];
};

#endif
