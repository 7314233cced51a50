/* LD_PRELOAD I/O fault shim: build/lib/libvecs-iofault.so (harness/faults/README.md).
 *
 * Started with VECS_IOFAULT_RULES=FILE, a process maps FILE (iofault_layout.h) shared
 * and checks each intercepted libc I/O call against its rules: by operation class,
 * process name, path glob, offset range and match count, then fails it with an errno,
 * shortens it, tears it, delays it or SIGKILLs the process around it. Without the
 * variable every wrapper is one predictable branch in front of the real function.
 *
 * Rules armed after the process started are seen: the file is looked for at most every
 * 100 ms until it exists, then stays mapped; rewriting it in place (vecs_iofault_arm)
 * changes what every mapping process sees. Firings are counted in the mapping and
 * logged to FILE.log, one line each, buffer contents never.
 *
 * Written for multi-threaded QEMU: no locks and no malloc on the I/O path, real
 * functions resolved once with dlsym(RTLD_NEXT), errno kept on pass-through, and a
 * thread-local guard so the shim's own calls are never checked. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "faults/iofault_layout.h"

#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* glibc's fortified entry points, declared only under _FORTIFY_SOURCE. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);

/* --- the real functions ----------------------------------------------------------- */

#define REAL_FUNCS(X)                                                                       \
	X(open) X(open64) X(openat) X(openat64) X(creat) X(creat64) X(__open_2) X(__open64_2) \
	X(__openat_2) X(__openat64_2) X(close) X(dup2) X(dup3) X(close_range) X(closefrom)    \
	X(read) X(__read_chk) X(write) X(pread) X(pread64) X(__pread_chk) X(__pread64_chk)    \
	X(pwrite) X(pwrite64) X(readv) X(writev) X(preadv) X(preadv64) X(preadv2)             \
	X(preadv64v2) X(pwritev) X(pwritev64) X(pwritev2) X(pwritev64v2) X(fsync)             \
	X(fdatasync) X(syncfs) X(sync_file_range) X(ftruncate) X(ftruncate64) X(fallocate)    \
	X(fallocate64) X(posix_fallocate) X(posix_fallocate64) X(copy_file_range) X(connect)  \
	X(send) X(sendto) X(sendmsg)

#define DECLARE_REAL(name) static __typeof__(name) *real_##name;
REAL_FUNCS(DECLARE_REAL)

static void resolve_all(void)
{
#define RESOLVE(name)                                                                  \
	if (!real_##name)                                                              \
		__atomic_store_n(&real_##name, (__typeof__(name) *)dlsym(RTLD_NEXT, #name), \
				 __ATOMIC_RELEASE);
	REAL_FUNCS(RESOLVE)
#undef RESOLVE
}

#define ENSURE(name)                         \
	do {                                 \
		if (UNLIKELY(!real_##name))  \
			resolve_all();       \
	} while (0)

/* A libc without this symbol (never on Debian 12): the call fails like a syscall the
 * kernel lacks. */
#define REAL_OR_ENOSYS(name, fail)          \
	do {                                \
		ENSURE(name);               \
		if (UNLIKELY(!real_##name)) { \
			errno = ENOSYS;     \
			return fail;        \
		}                           \
	} while (0)

/* --- process state ---------------------------------------------------------------- */

enum { ST_UNINIT = 0, ST_OFF, ST_ON };

static int g_state;                         /* ST_*, atomic */
static struct vecs_iofault_file *g_map;     /* atomic; set once, never unmapped */
static int g_trying;                        /* atomic: one thread maps at a time */
static uint64_t g_next_try_ns;              /* atomic: when to look for the file again */
static char g_rules_path[PATH_MAX];
static char g_log_path[PATH_MAX + 8];
static char g_comm[VECS_IOFAULT_COMM_MAX];
static __thread int t_busy __attribute__((tls_model("initial-exec")));

#define RETRY_NS (100ull * 1000 * 1000)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void read_comm(void)
{
	int fd = real_open ? real_open("/proc/self/comm", O_RDONLY | O_CLOEXEC) : -1;
	ssize_t n = -1;

	if (fd >= 0) {
		n = real_read(fd, g_comm, sizeof(g_comm) - 1);
		real_close(fd);
	}
	g_comm[n > 0 ? n : 0] = '\0';
	g_comm[strcspn(g_comm, "\n")] = '\0';
}

static void after_fork_child(void)
{
	__atomic_store_n(&g_trying, 0, __ATOMIC_RELAXED);
	t_busy = 0;
}

static void iof_init(void)
{
	const char *p;
	int saved = errno;

	resolve_all();
	p = getenv("VECS_IOFAULT_RULES");
	if (!p || !*p || strlen(p) >= sizeof(g_rules_path)) {
		__atomic_store_n(&g_state, ST_OFF, __ATOMIC_RELEASE);
		errno = saved;
		return;
	}
	strcpy(g_rules_path, p);
	snprintf(g_log_path, sizeof(g_log_path), "%s.log", p);
	read_comm();
	pthread_atfork(NULL, NULL, after_fork_child);
	__atomic_store_n(&g_state, ST_ON, __ATOMIC_RELEASE);
	errno = saved;
}

__attribute__((constructor)) static void iof_ctor(void)
{
	if (__atomic_load_n(&g_state, __ATOMIC_ACQUIRE) == ST_UNINIT)
		iof_init();
}

/* Map the rules file if it exists now; at most every RETRY_NS. */
static struct vecs_iofault_file *iof_map_slow(void)
{
	struct vecs_iofault_file *m = NULL;
	struct stat st;
	uint64_t now = now_ns();
	int saved = errno, fd;
	void *p;

	if (now < __atomic_load_n(&g_next_try_ns, __ATOMIC_RELAXED) ||
	    __atomic_exchange_n(&g_trying, 1, __ATOMIC_ACQUIRE))
		return NULL;
	__atomic_store_n(&g_next_try_ns, now + RETRY_NS, __ATOMIC_RELAXED);
	fd = real_open(g_rules_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && st.st_size == (off_t)sizeof(*m)) {
			p = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (p != MAP_FAILED)
				m = p;
		}
		real_close(fd);
	}
	if (m && (__atomic_load_n(&m->magic, __ATOMIC_ACQUIRE) != VECS_IOFAULT_MAGIC ||
		  m->version != VECS_IOFAULT_VERSION || m->size != sizeof(*m))) {
		munmap(m, sizeof(*m)); /* being created: try again later */
		m = NULL;
	}
	if (m)
		__atomic_store_n(&g_map, m, __ATOMIC_RELEASE);
	__atomic_store_n(&g_trying, 0, __ATOMIC_RELEASE);
	errno = saved;
	return m;
}

/* The mapping when some rule is armed, NULL otherwise (the common, fast answer). */
static inline struct vecs_iofault_file *iof_rules(void)
{
	struct vecs_iofault_file *m;
	int st = __atomic_load_n(&g_state, __ATOMIC_ACQUIRE);

	if (LIKELY(st == ST_OFF))
		return NULL;
	if (UNLIKELY(st == ST_UNINIT)) {
		iof_init();
		if (__atomic_load_n(&g_state, __ATOMIC_ACQUIRE) != ST_ON)
			return NULL;
	}
	m = __atomic_load_n(&g_map, __ATOMIC_ACQUIRE);
	if (UNLIKELY(!m) && !(m = iof_map_slow()))
		return NULL;
	if (LIKELY(__atomic_load_n(&m->nrules, __ATOMIC_RELAXED) == 0) || t_busy)
		return NULL;
	return m;
}

/* --- fd -> path ------------------------------------------------------------------- */

/* Paths of fds opened (or connected) while rules were armed, so a glob sees the name
 * the program used; other fds are resolved through /proc/self/fd. Each entry is a
 * small seqlock: odd while written. */
#define FD_CACHE 1024
struct fd_entry {
	uint32_t seq;
	char path[508];
};
static struct fd_entry *g_fdc; /* atomic; mmap'd on the first armed check */

static void fdc_create(void)
{
	void *p;

	if (__atomic_load_n(&g_fdc, __ATOMIC_ACQUIRE))
		return;
	p = mmap(NULL, FD_CACHE * sizeof(struct fd_entry), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (!__atomic_compare_exchange_n(&g_fdc, &(struct fd_entry *){ NULL }, p, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		munmap(p, FD_CACHE * sizeof(struct fd_entry));
}

static void fdc_set(int fd, const char *path)
{
	struct fd_entry *c = __atomic_load_n(&g_fdc, __ATOMIC_ACQUIRE), *e;
	size_t len = path ? strlen(path) : 0;

	if (LIKELY(!c) || fd < 0 || fd >= FD_CACHE)
		return;
	e = &c[fd];
	__atomic_fetch_add(&e->seq, 1, __ATOMIC_ACQ_REL);
	if (len < sizeof(e->path))
		memcpy(e->path, path ? path : "", len + 1);
	else
		e->path[0] = '\0'; /* too long: resolve through /proc */
	__atomic_fetch_add(&e->seq, 1, __ATOMIC_RELEASE);
}

static void fdc_clear_range(unsigned lo, unsigned hi)
{
	unsigned fd;

	if (LIKELY(!__atomic_load_n(&g_fdc, __ATOMIC_ACQUIRE)))
		return;
	for (fd = lo; fd <= hi && fd < FD_CACHE; fd++)
		fdc_set((int)fd, NULL);
}

static int fdc_get(int fd, char *buf, size_t len)
{
	struct fd_entry *c = __atomic_load_n(&g_fdc, __ATOMIC_ACQUIRE), *e;
	uint32_t s1;

	if (!c || fd < 0 || fd >= FD_CACHE || len < sizeof(e->path))
		return 0;
	e = &c[fd];
	s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
	if (s1 & 1)
		return 0;
	memcpy(buf, e->path, sizeof(e->path));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&e->seq, __ATOMIC_RELAXED) == s1 && buf[0];
}

static const char *fd_path(int fd, char *buf, size_t len)
{
	char link[40];
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fdc_get(fd, buf, len))
		return buf;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* path made absolute against dirfd (AT_FDCWD: the working directory). */
static const char *abs_path(int dirfd, const char *path, char *buf, size_t len)
{
	char dir[PATH_MAX];
	const char *d;

	if (!path || path[0] == '/')
		return path;
	d = dirfd == AT_FDCWD ? getcwd(dir, sizeof(dir)) : fd_path(dirfd, dir, sizeof(dir));
	if (!d || snprintf(buf, len, "%s/%s", d, path) >= (int)len)
		return path;
	return buf;
}

/* "unix:/run/x.sock", "unix:@abstract", "1.2.3.4:80", "[::1]:80" */
static const char *sockaddr_text(const struct sockaddr *sa, socklen_t salen, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!sa || salen < sizeof(sa_family_t))
		return NULL;
	if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
		size_t n = salen - offsetof(struct sockaddr_un, sun_path);

		if (n == 0 || n > sizeof(un->sun_path))
			return NULL;
		if (un->sun_path[0] == '\0')
			snprintf(buf, len, "unix:@%.*s", (int)(n - 1), un->sun_path + 1);
		else
			snprintf(buf, len, "unix:%.*s", (int)strnlen(un->sun_path, n), un->sun_path);
		return buf;
	}
	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
		return buf;
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
		return buf;
	}
	return NULL;
}

/* --- matching --------------------------------------------------------------------- */

#define OFF_NONE (-1LL) /* no offset: never matches a rule with a range */
#define OFF_CUR (-2LL)  /* the fd's file position, read only when a rule needs it */

struct iof_op {
	enum vecs_iofault_op op;
	int fd;
	int dirfd;              /* open: what a relative path is relative to */
	const char *path;       /* open: the path; connect/sendto: the address text */
	long long off;          /* >= 0, OFF_NONE or OFF_CUR */
	unsigned long long len; /* bytes touched (0: a point) */
	const struct iovec *iov; /* len computed from these when set */
	int iovcnt;
};

struct iof_fire {
	uint32_t action;
	int64_t arg;
};

static const char *const op_names[VECS_IOFAULT_OP_COUNT] = {
	"open", "read", "write", "flush", "truncate", "allocate", "connect", "send",
};

static const char *op_path(const struct iof_op *o, char *buf, size_t len)
{
	if (o->op == VECS_IOFAULT_OP_OPEN)
		return abs_path(o->dirfd, o->path, buf, len);
	if (o->path)
		return o->path;
	return fd_path(o->fd, buf, len);
}

static void action_text(const struct iof_fire *f, char *buf, size_t len)
{
	const char *e;

	switch (f->action) {
	case VECS_IOFAULT_ACT_ERRNO:
		e = strerrorname_np((int)f->arg);
		if (e)
			snprintf(buf, len, "errno:%s", e);
		else
			snprintf(buf, len, "errno:%lld", (long long)f->arg);
		break;
	case VECS_IOFAULT_ACT_SHORT: {
		char frac[16];
		size_t l;

		snprintf(frac, sizeof(frac), "%06lld", (long long)f->arg);
		for (l = strlen(frac); l > 1 && frac[l - 1] == '0'; l--)
			frac[l - 1] = '\0';
		snprintf(buf, len, "short:0.%s", frac); /* as the rule says it */
		break;
	}
	case VECS_IOFAULT_ACT_TORN: snprintf(buf, len, "torn:%lld", (long long)f->arg); break;
	case VECS_IOFAULT_ACT_DELAY: snprintf(buf, len, "delay:%lld", (long long)f->arg); break;
	case VECS_IOFAULT_ACT_KILL_BEFORE: snprintf(buf, len, "kill-before"); break;
	default: snprintf(buf, len, "kill-after"); break;
	}
}

/* One line per firing into FILE.log, one write(2) with O_APPEND so lines of several
 * processes never interleave. */
static void iof_log(const struct iof_op *o, const char *path, unsigned rule, uint64_t gen,
		    const struct iof_fire *f)
{
	char line[1024], act[48], off[32], safe[600];
	size_t i;
	int fd, n;

	if (!path)
		path = "-";
	/* one word per field: blanks and newlines in a path become '?' */
	for (i = 0; path[i] && i + 1 < sizeof(safe); i++)
		safe[i] = (path[i] == '\n' || path[i] == ' ') ? '?' : path[i];
	safe[i] = '\0';
	if (o->off >= 0)
		snprintf(off, sizeof(off), "%lld", o->off);
	else
		snprintf(off, sizeof(off), "-");
	action_text(f, act, sizeof(act));
	n = snprintf(line, sizeof(line), "gen=%llu rule=%u pid=%d comm=%s op=%s path=%s off=%s len=%llu action=%s\n",
		     (unsigned long long)gen, rule + 1, (int)getpid(), g_comm[0] ? g_comm : "-",
		     op_names[o->op], safe, off, o->len, act);
	fd = real_open(g_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	if (n > 0 && real_write(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0) {
		/* nothing to do: the hit counter in the mapping still says it fired */
	}
	real_close(fd);
}

static int off_matches(const struct vecs_iofault_rule *r, struct iof_op *o)
{
	unsigned long long end;

	if (r->off_lo == 0 && r->off_hi == VECS_IOFAULT_OFF_END)
		return 1;
	if (o->off == OFF_CUR) {
		off_t cur = lseek(o->fd, 0, SEEK_CUR);

		o->off = cur >= 0 ? (long long)cur : OFF_NONE;
	}
	if (o->off < 0)
		return 0;
	end = (unsigned long long)o->off + (o->len ? o->len : 1);
	return (unsigned long long)o->off < r->off_hi && end > r->off_lo;
}

static void op_len(struct iof_op *o)
{
	int i;

	if (!o->iov)
		return;
	o->len = 0;
	for (i = 0; i < o->iovcnt; i++)
		o->len += o->iov[i].iov_len;
}

/* eventfd, signalfd, io_uring, timerfd: QEMU's event loop, not I/O. A rule reaches
 * them only when its glob says so ("anon_inode:*"); a stray `op=read` without a path
 * would otherwise hang the event loop instead of failing a disk read. */
static int is_anon(const char *path)
{
	return strncmp(path, "anon_inode:", 11) == 0;
}

/* The first rule that matches o and is due fires; 1 and *f then. */
static int iof_match(struct vecs_iofault_file *m, struct iof_op *o, struct iof_fire *f)
{
	char pathbuf[PATH_MAX];
	const char *path = NULL;
	int saved = errno, path_done = 0, fired = 0;
	uint64_t gen, k;
	uint32_t i, n;

	t_busy = 1;
	fdc_create();
	op_len(o);
	gen = __atomic_load_n(&m->generation, __ATOMIC_ACQUIRE);
	n = __atomic_load_n(&m->nrules, __ATOMIC_ACQUIRE);
	if ((gen & 1) || n > VECS_IOFAULT_MAX_RULES)
		goto out;
	for (i = 0; i < n && !fired; i++) {
		struct vecs_iofault_slot *s = &m->slots[i];
		const struct vecs_iofault_rule *r = &s->rule;
		uint64_t nth = r->nth ? r->nth : 1, count = r->count;

		if (!(r->ops & VECS_IOFAULT_OPBIT(o->op)))
			continue;
		if (r->comm[0] && fnmatch(r->comm, g_comm, 0) != 0)
			continue;
		if (!off_matches(r, o))
			continue;
		if (!path_done) {
			path = op_path(o, pathbuf, sizeof(pathbuf));
			path_done = 1;
		}
		if (r->path[0] && (!path || fnmatch(r->path, path, 0) != 0))
			continue;
		if (path && is_anon(path) && !is_anon(r->path))
			continue;
		f->action = r->action;
		f->arg = r->arg;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&m->generation, __ATOMIC_RELAXED) != gen)
			break; /* rewritten under us: this operation passes */
		k = __atomic_add_fetch(&s->matched, 1, __ATOMIC_ACQ_REL);
		if (k < nth || (count && k - nth >= count))
			continue;
		__atomic_add_fetch(&s->hits, 1, __ATOMIC_ACQ_REL);
		iof_log(o, path, i, gen, f);
		fired = 1;
	}
out:
	t_busy = 0;
	errno = saved;
	return fired;
}

static inline int iof_fires(struct iof_op *o, struct iof_fire *f)
{
	struct vecs_iofault_file *m = iof_rules();

	return UNLIKELY(m != NULL) && iof_match(m, o, f);
}

/* --- actions ---------------------------------------------------------------------- */

__attribute__((noreturn)) static void die(void)
{
	syscall(SYS_kill, getpid(), SIGKILL);
	_exit(137);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Before the operation: 1 when it must not run and the wrapper returns -1 (errno set). */
static int iof_pre(const struct iof_fire *f)
{
	int saved = errno;

	switch (f->action) {
	case VECS_IOFAULT_ACT_ERRNO:
		errno = (int)f->arg;
		return 1;
	case VECS_IOFAULT_ACT_DELAY:
		sleep_ms(f->arg);
		errno = saved;
		return 0;
	case VECS_IOFAULT_ACT_KILL_BEFORE:
		die();
	default:
		return 0;
	}
}

/* After the operation: torn and kill-after end the process here. */
static void iof_post(const struct iof_fire *f)
{
	if (f->action == VECS_IOFAULT_ACT_TORN || f->action == VECS_IOFAULT_ACT_KILL_AFTER)
		die();
}

/* The byte count a short or torn operation does instead of n. */
static size_t iof_cut(const struct iof_fire *f, size_t n)
{
	if (f->action == VECS_IOFAULT_ACT_TORN)
		return (uint64_t)f->arg < n ? (size_t)f->arg : n;
	if (f->action == VECS_IOFAULT_ACT_SHORT && n > 1) {
		size_t c = (size_t)((unsigned __int128)n * (uint64_t)f->arg / VECS_IOFAULT_SHORT_SCALE);

		return c ? c : 1;
	}
	return n;
}

#define IOV_CUT_MAX 64

/* iov shortened to `want` bytes: a trimmed copy in tmp when it fits, else the
 * original's whole leading elements. Returns the element count. */
static int iov_cut(const struct iovec *iov, int cnt, size_t want, struct iovec *tmp,
		   const struct iovec **out)
{
	size_t sum = 0;
	int i;

	for (i = 0; i < cnt && sum + iov[i].iov_len <= want; i++)
		sum += iov[i].iov_len;
	if (i == cnt) {
		*out = iov;
		return cnt;
	}
	if (i + 1 <= IOV_CUT_MAX) {
		memcpy(tmp, iov, (size_t)(i + 1) * sizeof(*iov));
		tmp[i].iov_len = want - sum;
		*out = tmp;
		return want - sum ? i + 1 : i;
	}
	*out = iov;
	return i;
}

/* --- open, close ------------------------------------------------------------------ */

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

/* After a successful open under VECS_IOFAULT_RULES: remember the path the program
 * used when it is absolute; a relative one is resolved through /proc when needed.
 * Without the variable nothing is recorded. */
static void opened(int fd, const char *path)
{
	if (fd < 0 || LIKELY(__atomic_load_n(&g_state, __ATOMIC_RELAXED) != ST_ON))
		return;
	fdc_create();
	fdc_set(fd, path && path[0] == '/' ? path : NULL);
}

#define OPEN_BODY(callexpr, dirfd_, path_)                                        \
	struct iof_fire f;                                                        \
	struct iof_op o = { VECS_IOFAULT_OP_OPEN, -1, dirfd_, path_, OFF_NONE, 0, NULL, 0 }; \
	int fd, fired = iof_fires(&o, &f);                                        \
	if (UNLIKELY(fired) && iof_pre(&f))                                       \
		return -1;                                                        \
	fd = callexpr;                                                            \
	opened(fd, path_);                                                        \
	if (UNLIKELY(fired))                                                      \
		iof_post(&f);                                                     \
	return fd;

EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	ENSURE(open);
	OPEN_BODY(real_open(path, flags, mode), AT_FDCWD, path)
}

EXPORT int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	ENSURE(open64);
	OPEN_BODY(real_open64(path, flags, mode), AT_FDCWD, path)
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	ENSURE(openat);
	OPEN_BODY(real_openat(dirfd, path, flags, mode), dirfd, path)
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	ENSURE(openat64);
	OPEN_BODY(real_openat64(dirfd, path, flags, mode), dirfd, path)
}

EXPORT int creat(const char *path, mode_t mode)
{
	ENSURE(creat);
	OPEN_BODY(real_creat(path, mode), AT_FDCWD, path)
}

EXPORT int creat64(const char *path, mode_t mode)
{
	ENSURE(creat64);
	OPEN_BODY(real_creat64(path, mode), AT_FDCWD, path)
}

EXPORT int __open_2(const char *path, int flags)
{
	REAL_OR_ENOSYS(__open_2, -1);
	OPEN_BODY(real___open_2(path, flags), AT_FDCWD, path)
}

EXPORT int __open64_2(const char *path, int flags)
{
	REAL_OR_ENOSYS(__open64_2, -1);
	OPEN_BODY(real___open64_2(path, flags), AT_FDCWD, path)
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	REAL_OR_ENOSYS(__openat_2, -1);
	OPEN_BODY(real___openat_2(dirfd, path, flags), dirfd, path)
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	REAL_OR_ENOSYS(__openat64_2, -1);
	OPEN_BODY(real___openat64_2(dirfd, path, flags), dirfd, path)
}

EXPORT int close(int fd)
{
	ENSURE(close);
	if (UNLIKELY(__atomic_load_n(&g_fdc, __ATOMIC_RELAXED) != NULL) && fd >= 0)
		fdc_set(fd, NULL);
	return real_close(fd);
}

EXPORT int dup2(int oldfd, int newfd)
{
	ENSURE(dup2);
	if (UNLIKELY(__atomic_load_n(&g_fdc, __ATOMIC_RELAXED) != NULL) && oldfd != newfd)
		fdc_set(newfd, NULL);
	return real_dup2(oldfd, newfd);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	ENSURE(dup3);
	if (UNLIKELY(__atomic_load_n(&g_fdc, __ATOMIC_RELAXED) != NULL))
		fdc_set(newfd, NULL);
	return real_dup3(oldfd, newfd, flags);
}

EXPORT int close_range(unsigned lo, unsigned hi, int flags)
{
	REAL_OR_ENOSYS(close_range, -1);
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		fdc_clear_range(lo, hi);
	return real_close_range(lo, hi, flags);
}

EXPORT void closefrom(int lo)
{
	ENSURE(closefrom);
	fdc_clear_range(lo < 0 ? 0 : (unsigned)lo, FD_CACHE);
	if (real_closefrom)
		real_closefrom(lo);
}

/* --- data: read, write and their positional and vectored forms --------------------- */

/* One body for every (fd, buf, n[, off]) read or write: check, act, call, act. */
#define DATA_BODY(opc, fd_, n_, off_, CALL)                                       \
	struct iof_fire f;                                                        \
	struct iof_op o = { opc, fd_, AT_FDCWD, NULL, off_, n_, NULL, 0 };        \
	ssize_t r;                                                                \
	if (LIKELY(!iof_fires(&o, &f)))                                           \
		return CALL(n_);                                                  \
	if (iof_pre(&f))                                                          \
		return -1;                                                        \
	r = CALL(iof_cut(&f, n_));                                                \
	iof_post(&f);                                                             \
	return r;

#define C_READ(len) real_read(fd, buf, len)
EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	ENSURE(read);
	DATA_BODY(VECS_IOFAULT_OP_READ, fd, n, OFF_CUR, C_READ)
}

#define C_READ_CHK(len) real___read_chk(fd, buf, len, buflen)
EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	REAL_OR_ENOSYS(__read_chk, -1);
	DATA_BODY(VECS_IOFAULT_OP_READ, fd, n, OFF_CUR, C_READ_CHK)
}

#define C_WRITE(len) real_write(fd, buf, len)
EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	ENSURE(write);
	DATA_BODY(VECS_IOFAULT_OP_WRITE, fd, n, OFF_CUR, C_WRITE)
}

#define C_PREAD(len) real_pread(fd, buf, len, off)
EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	ENSURE(pread);
	DATA_BODY(VECS_IOFAULT_OP_READ, fd, n, (long long)off, C_PREAD)
}

#define C_PREAD64(len) real_pread64(fd, buf, len, off)
EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	ENSURE(pread64);
	DATA_BODY(VECS_IOFAULT_OP_READ, fd, n, (long long)off, C_PREAD64)
}

#define C_PREAD_CHK(len) real___pread_chk(fd, buf, len, off, buflen)
EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	REAL_OR_ENOSYS(__pread_chk, -1);
	DATA_BODY(VECS_IOFAULT_OP_READ, fd, n, (long long)off, C_PREAD_CHK)
}

#define C_PREAD64_CHK(len) real___pread64_chk(fd, buf, len, off, buflen)
EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
	REAL_OR_ENOSYS(__pread64_chk, -1);
	DATA_BODY(VECS_IOFAULT_OP_READ, fd, n, (long long)off, C_PREAD64_CHK)
}

#define C_PWRITE(len) real_pwrite(fd, buf, len, off)
EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	ENSURE(pwrite);
	DATA_BODY(VECS_IOFAULT_OP_WRITE, fd, n, (long long)off, C_PWRITE)
}

#define C_PWRITE64(len) real_pwrite64(fd, buf, len, off)
EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	ENSURE(pwrite64);
	DATA_BODY(VECS_IOFAULT_OP_WRITE, fd, n, (long long)off, C_PWRITE64)
}

/* Vectored: the iovec array is cut for short and torn. CALL(iov, cnt). */
#define VEC_BODY(opc, off_, CALL)                                                 \
	struct iof_fire f;                                                        \
	struct iof_op o = { opc, fd, AT_FDCWD, NULL, off_, 0, iov, cnt };         \
	struct iovec tmp[IOV_CUT_MAX];                                            \
	const struct iovec *use;                                                  \
	int ucnt;                                                                 \
	ssize_t r;                                                                \
	if (LIKELY(!iof_fires(&o, &f)))                                           \
		return CALL(iov, cnt);                                            \
	if (iof_pre(&f))                                                          \
		return -1;                                                        \
	ucnt = iov_cut(iov, cnt, iof_cut(&f, (size_t)o.len), tmp, &use);         \
	r = CALL(use, ucnt);                                                      \
	iof_post(&f);                                                             \
	return r;

#define V_READV(v, c) real_readv(fd, v, c)
EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	ENSURE(readv);
	VEC_BODY(VECS_IOFAULT_OP_READ, OFF_CUR, V_READV)
}

#define V_WRITEV(v, c) real_writev(fd, v, c)
EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	ENSURE(writev);
	VEC_BODY(VECS_IOFAULT_OP_WRITE, OFF_CUR, V_WRITEV)
}

#define V_PREADV(v, c) real_preadv(fd, v, c, off)
EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ENSURE(preadv);
	VEC_BODY(VECS_IOFAULT_OP_READ, (long long)off, V_PREADV)
}

#define V_PREADV64(v, c) real_preadv64(fd, v, c, off)
EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	ENSURE(preadv64);
	VEC_BODY(VECS_IOFAULT_OP_READ, (long long)off, V_PREADV64)
}

#define V_PREADV2(v, c) real_preadv2(fd, v, c, off, flags)
EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	REAL_OR_ENOSYS(preadv2, -1);
	VEC_BODY(VECS_IOFAULT_OP_READ, off == -1 ? OFF_CUR : (long long)off, V_PREADV2)
}

#define V_PREADV64V2(v, c) real_preadv64v2(fd, v, c, off, flags)
EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	REAL_OR_ENOSYS(preadv64v2, -1);
	VEC_BODY(VECS_IOFAULT_OP_READ, off == -1 ? OFF_CUR : (long long)off, V_PREADV64V2)
}

#define V_PWRITEV(v, c) real_pwritev(fd, v, c, off)
EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ENSURE(pwritev);
	VEC_BODY(VECS_IOFAULT_OP_WRITE, (long long)off, V_PWRITEV)
}

#define V_PWRITEV64(v, c) real_pwritev64(fd, v, c, off)
EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	ENSURE(pwritev64);
	VEC_BODY(VECS_IOFAULT_OP_WRITE, (long long)off, V_PWRITEV64)
}

#define V_PWRITEV2(v, c) real_pwritev2(fd, v, c, off, flags)
EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	REAL_OR_ENOSYS(pwritev2, -1);
	VEC_BODY(VECS_IOFAULT_OP_WRITE, off == -1 ? OFF_CUR : (long long)off, V_PWRITEV2)
}

#define V_PWRITEV64V2(v, c) real_pwritev64v2(fd, v, c, off, flags)
EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	REAL_OR_ENOSYS(pwritev64v2, -1);
	VEC_BODY(VECS_IOFAULT_OP_WRITE, off == -1 ? OFF_CUR : (long long)off, V_PWRITEV64V2)
}

/* The target side is checked as a write, then the source side as a read. */
EXPORT ssize_t copy_file_range(int in, off64_t *off_in, int out, off64_t *off_out, size_t n,
			       unsigned flags)
{
	struct iof_fire f;
	struct iof_op w = { VECS_IOFAULT_OP_WRITE, out, AT_FDCWD, NULL, off_out ? *off_out : OFF_CUR, n, NULL, 0 };
	struct iof_op r = { VECS_IOFAULT_OP_READ, in, AT_FDCWD, NULL, off_in ? *off_in : OFF_CUR, n, NULL, 0 };
	ssize_t rc;

	REAL_OR_ENOSYS(copy_file_range, -1);
	if (LIKELY(!iof_fires(&w, &f)) && LIKELY(!iof_fires(&r, &f)))
		return real_copy_file_range(in, off_in, out, off_out, n, flags);
	if (iof_pre(&f))
		return -1;
	rc = real_copy_file_range(in, off_in, out, off_out, iof_cut(&f, n), flags);
	iof_post(&f);
	return rc;
}

/* --- flush, truncate, allocate ---------------------------------------------------- */

/* Operations without a byte count to cut: check, act, call, act. */
#define PLAIN_BODY(opc, off_, len_, ret_t, CALLEXPR)                              \
	struct iof_fire f;                                                        \
	struct iof_op o = { opc, fd, AT_FDCWD, NULL, off_, len_, NULL, 0 };       \
	ret_t r;                                                                  \
	if (LIKELY(!iof_fires(&o, &f)))                                           \
		return CALLEXPR;                                                  \
	if (iof_pre(&f))                                                          \
		return -1;                                                        \
	r = CALLEXPR;                                                             \
	iof_post(&f);                                                             \
	return r;

EXPORT int fsync(int fd)
{
	ENSURE(fsync);
	PLAIN_BODY(VECS_IOFAULT_OP_FLUSH, OFF_NONE, 0, int, real_fsync(fd))
}

EXPORT int fdatasync(int fd)
{
	ENSURE(fdatasync);
	PLAIN_BODY(VECS_IOFAULT_OP_FLUSH, OFF_NONE, 0, int, real_fdatasync(fd))
}

EXPORT int syncfs(int fd)
{
	REAL_OR_ENOSYS(syncfs, -1);
	PLAIN_BODY(VECS_IOFAULT_OP_FLUSH, OFF_NONE, 0, int, real_syncfs(fd))
}

EXPORT int sync_file_range(int fd, off64_t off, off64_t len, unsigned int flags)
{
	REAL_OR_ENOSYS(sync_file_range, -1);
	PLAIN_BODY(VECS_IOFAULT_OP_FLUSH, (long long)off, (unsigned long long)len, int,
		   real_sync_file_range(fd, off, len, flags))
}

EXPORT int ftruncate(int fd, off_t len)
{
	ENSURE(ftruncate);
	PLAIN_BODY(VECS_IOFAULT_OP_TRUNCATE, (long long)len, 0, int, real_ftruncate(fd, len))
}

EXPORT int ftruncate64(int fd, off64_t len)
{
	ENSURE(ftruncate64);
	PLAIN_BODY(VECS_IOFAULT_OP_TRUNCATE, (long long)len, 0, int, real_ftruncate64(fd, len))
}

EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
	REAL_OR_ENOSYS(fallocate, -1);
	PLAIN_BODY(VECS_IOFAULT_OP_ALLOCATE, (long long)off, (unsigned long long)len, int,
		   real_fallocate(fd, mode, off, len))
}

EXPORT int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	REAL_OR_ENOSYS(fallocate64, -1);
	PLAIN_BODY(VECS_IOFAULT_OP_ALLOCATE, (long long)off, (unsigned long long)len, int,
		   real_fallocate64(fd, mode, off, len))
}

/* posix_fallocate reports its error as the return value, not in errno. */
#define PFALLOC_BODY(CALLEXPR)                                                    \
	struct iof_fire f;                                                        \
	struct iof_op o = { VECS_IOFAULT_OP_ALLOCATE, fd, AT_FDCWD, NULL, (long long)off, \
			    (unsigned long long)len, NULL, 0 };                   \
	int r;                                                                    \
	if (LIKELY(!iof_fires(&o, &f)))                                           \
		return CALLEXPR;                                                  \
	if (iof_pre(&f))                                                          \
		return (int)f.arg;                                                \
	r = CALLEXPR;                                                             \
	iof_post(&f);                                                             \
	return r;

EXPORT int posix_fallocate(int fd, off_t off, off_t len)
{
	ENSURE(posix_fallocate);
	PFALLOC_BODY(real_posix_fallocate(fd, off, len))
}

EXPORT int posix_fallocate64(int fd, off64_t off, off64_t len)
{
	ENSURE(posix_fallocate64);
	PFALLOC_BODY(real_posix_fallocate64(fd, off, len))
}

/* --- sockets ---------------------------------------------------------------------- */

EXPORT int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	char text[160];
	const char *peer = NULL;
	struct iof_fire f;
	int fired = 0, r;

	ENSURE(connect);
	if (UNLIKELY(__atomic_load_n(&g_state, __ATOMIC_ACQUIRE) != ST_OFF)) {
		int saved = errno;
		struct iof_op o = { VECS_IOFAULT_OP_CONNECT, fd, AT_FDCWD, NULL, OFF_NONE, 0, NULL, 0 };

		o.path = peer = sockaddr_text(addr.__sockaddr__, len, text, sizeof(text));
		fdc_create(); /* so that sends can be matched by this peer later */
		errno = saved;
		fired = iof_fires(&o, &f);
		if (fired && iof_pre(&f))
			return -1;
	}
	r = real_connect(fd, addr, len);
	if (peer && (r == 0 || errno == EINPROGRESS)) {
		int saved = errno;

		fdc_set(fd, peer);
		errno = saved;
	}
	if (fired)
		iof_post(&f);
	return r;
}

#define SEND_BODY(peer_, len_, CALLEXPR)                                          \
	struct iof_fire f;                                                        \
	struct iof_op o = { VECS_IOFAULT_OP_SEND, fd, AT_FDCWD, NULL, OFF_NONE, 0, NULL, 0 }; \
	char text[160];                                                           \
	ssize_t r;                                                                \
	(void)text;                                                               \
	if (LIKELY(iof_rules() == NULL))                                          \
		return CALLEXPR;                                                  \
	o.path = peer_;                                                           \
	o.len = len_;                                                             \
	if (!iof_fires(&o, &f))                                                   \
		return CALLEXPR;                                                  \
	if (iof_pre(&f))                                                          \
		return -1;                                                        \
	r = CALLEXPR;                                                             \
	iof_post(&f);                                                             \
	return r;

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	ENSURE(send);
	SEND_BODY(NULL, n, real_send(fd, buf, n, flags))
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr,
		      socklen_t alen)
{
	ENSURE(sendto);
	SEND_BODY(sockaddr_text(addr.__sockaddr__, alen, text, sizeof(text)), n,
		  real_sendto(fd, buf, n, flags, addr, alen))
}

static unsigned long long msg_len(const struct msghdr *msg)
{
	unsigned long long n = 0;
	size_t i;

	for (i = 0; msg && i < msg->msg_iovlen; i++)
		n += msg->msg_iov[i].iov_len;
	return n;
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ENSURE(sendmsg);
	SEND_BODY(msg && msg->msg_name ? sockaddr_text(msg->msg_name, msg->msg_namelen, text, sizeof(text)) : NULL,
		  msg_len(msg), real_sendmsg(fd, msg, flags))
}
