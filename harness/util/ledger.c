#include "util/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct vecs_ledger {
	int fd;
	char *path;
};

static const char *const kind_names[VECS_OBJ__COUNT] = {
	[VECS_OBJ_RUN] = "run",
	[VECS_OBJ_PROCESS] = "process",
	[VECS_OBJ_NETNS] = "netns",
	[VECS_OBJ_MOUNT] = "mount",
	[VECS_OBJ_LOOP] = "loop",
	[VECS_OBJ_DOMAIN] = "libvirt_domain",
	[VECS_OBJ_SECRET] = "libvirt_secret",
	[VECS_OBJ_FILE] = "file",
	[VECS_OBJ_DIR] = "dir",
	[VECS_OBJ_LINK] = "link",
	[VECS_OBJ_DONE] = "done",
};

#define END_MARK "."

const char *vecs_obj_name(enum vecs_obj kind)
{
	return (unsigned)kind < VECS_OBJ__COUNT ? kind_names[kind] : NULL;
}

int vecs_run_id_new(char id[VECS_RUN_ID_LEN])
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		return -errno;
	snprintf(id, VECS_RUN_ID_LEN, "vecs-%08" PRIx32, r);
	return 0;
}

/* Make the file's directory entry durable too: a new ledger must survive a crash. */
static void fsync_parent(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

int vecs_ledger_open(struct vecs_ledger **out, const char *path, struct vecs_err *err)
{
	struct vecs_ledger *l;
	bool created = access(path, F_OK) != 0;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(path))) {
		free(l);
		return vecs_err_set(err, -ENOMEM, "out of memory opening ledger %s", path);
	}
	l->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		int e = errno;
		free(l->path);
		free(l);
		return vecs_err_set(err, -e, "cannot open ledger %s: %s", path, strerror(e));
	}
	if (created)
		fsync_parent(path);
	*out = l;
	return 0;
}

void vecs_ledger_close(struct vecs_ledger *l)
{
	if (!l)
		return;
	close(l->fd);
	free(l->path);
	free(l);
}

const char *vecs_ledger_path(const struct vecs_ledger *l)
{
	return l->path;
}

static size_t encoded_len(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '%') ? 3 : 1;
	return n;
}

static char *encode(char *p, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c == 0x7f || c == '%') {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		} else {
			*p++ = (char)c;
		}
	}
	return p;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int vecs_ledger_append(struct vecs_ledger *l, enum vecs_obj kind, const char *a,
		       const char *b, const char *c, uint64_t *id, struct vecs_err *err)
{
	const char *name = vecs_obj_name(kind);
	size_t len;
	char *line, *p, last;
	struct stat st;
	int r;

	if (!name)
		return vecs_err_set(err, -EINVAL, "unknown ledger record kind %d", (int)kind);
	len = strlen(name) + encoded_len(a) + encoded_len(b) + encoded_len(c) + 16;
	line = malloc(len);
	if (!line)
		return vecs_err_set(err, -ENOMEM, "out of memory writing ledger %s", l->path);
	p = line;
	p = stpcpy(p, name);
	*p++ = '\t';
	p = encode(p, a);
	*p++ = '\t';
	p = encode(p, b);
	*p++ = '\t';
	p = encode(p, c);
	*p++ = '\t';
	p = stpcpy(p, END_MARK "\n");

	/* The lock makes "size = my offset" and the torn-tail repair exact when several
	 * processes of one run append to the same ledger. */
	while (flock(l->fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			r = vecs_err_set(err, -errno, "cannot lock ledger %s: %s", l->path,
					 strerror(errno));
			goto out;
		}
	}
	if (fstat(l->fd, &st) < 0) {
		r = vecs_err_set(err, -errno, "cannot stat ledger %s: %s", l->path, strerror(errno));
		goto unlock;
	}
	/* A writer killed mid-record left a line without newline: end it, so it stays a
	 * separate (skipped) line instead of corrupting ours. */
	if (st.st_size > 0 && pread(l->fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
		r = write_all(l->fd, "\n", 1);
		if (r < 0)
			goto werr;
		st.st_size++;
	}
	r = write_all(l->fd, line, (size_t)(p - line));
	if (r == 0 && fdatasync(l->fd) < 0)
		r = -errno;
werr:
	if (r < 0)
		vecs_err_set(err, r, "cannot append to ledger %s: %s", l->path, strerror(-r));
	else if (id)
		*id = (uint64_t)st.st_size;
unlock:
	flock(l->fd, LOCK_UN);
out:
	free(line);
	return r;
}

int vecs_ledger_add_process(struct vecs_ledger *l, pid_t pid, uint64_t starttime,
			    const char *what, uint64_t *id, struct vecs_err *err)
{
	char p[24], s[24];

	snprintf(p, sizeof(p), "%d", (int)pid);
	snprintf(s, sizeof(s), "%" PRIu64, starttime);
	return vecs_ledger_append(l, VECS_OBJ_PROCESS, p, s, what, id, err);
}

int vecs_ledger_add_path(struct vecs_ledger *l, enum vecs_obj kind, const char *path,
			 uint64_t *id, struct vecs_err *err)
{
	return vecs_ledger_append(l, kind, path, NULL, NULL, id, err);
}

int vecs_ledger_done(struct vecs_ledger *l, uint64_t id, struct vecs_err *err)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRIu64, id);
	return vecs_ledger_append(l, VECS_OBJ_DONE, s, NULL, NULL, NULL, err);
}

/* --- reading ---------------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode a field in place; false when malformed. */
static bool decode(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		int hi = hexval(r[1]), lo = hi >= 0 ? hexval(r[2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return false;
		*w++ = (char)(hi << 4 | lo);
		r += 2;
	}
	*w = '\0';
	return true;
}

static int kind_from_name(const char *s)
{
	for (int k = 0; k < VECS_OBJ__COUNT; k++)
		if (strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

/* Parse one complete line (without its newline) into rec; false when malformed. */
static bool parse_line(char *line, uint64_t id, struct vecs_ledger_rec *rec)
{
	char *f[5];
	int k, n = 0;

	for (char *p = line; n < 5; n++) {
		f[n] = p;
		p = strchr(p, '\t');
		if (!p) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	if (n != 5 || strcmp(f[4], END_MARK) != 0 || strchr(f[4], '\t'))
		return false;
	k = kind_from_name(f[0]);
	if (k < 0 || !decode(f[1]) || !decode(f[2]) || !decode(f[3]))
		return false;
	memset(rec, 0, sizeof(*rec));
	rec->id = id;
	rec->kind = (enum vecs_obj)k;
	rec->a = strdup(f[1]);
	rec->b = strdup(f[2]);
	rec->c = strdup(f[3]);
	if (!rec->a || !rec->b || !rec->c) {
		free(rec->a);
		free(rec->b);
		free(rec->c);
		return false;
	}
	return true;
}

static void rec_free(struct vecs_ledger_rec *r)
{
	free(r->a);
	free(r->b);
	free(r->c);
}

int vecs_ledger_read(const char *path, struct vecs_ledger_list *list, struct vecs_err *err)
{
	struct vecs_ledger_rec *recs = NULL;
	size_t n = 0, cap = 0, len = 0;
	char *buf = NULL, *p, *end;
	struct stat st;
	int fd, r = 0;

	memset(list, 0, sizeof(*list));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vecs_err_set(err, -errno, "cannot open ledger %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = vecs_err_set(err, -errno, "cannot stat ledger %s: %s", path, strerror(errno));
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = vecs_err_set(err, -ENOMEM, "out of memory reading ledger %s", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t got = read(fd, buf + len, (size_t)st.st_size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = vecs_err_set(err, -errno, "cannot read ledger %s: %s", path,
					 strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	buf[len] = '\0';
	for (p = buf; p < buf + len; p = end + 1) {
		struct vecs_ledger_rec rec;
		uint64_t id = (uint64_t)(p - buf);

		end = memchr(p, '\n', (size_t)(buf + len - p));
		if (!end) {
			list->skipped++; /* torn last record */
			break;
		}
		*end = '\0';
		if (memchr(p, '\0', (size_t)(end - p)) || !parse_line(p, id, &rec)) {
			list->skipped++;
			continue;
		}
		if (rec.kind == VECS_OBJ_DONE) {
			char *e;
			unsigned long long target = strtoull(rec.a, &e, 10);
			for (size_t i = 0; *e == '\0' && i < n; i++)
				if (recs[i].id == target)
					recs[i].done = true;
			rec_free(&rec);
			continue;
		}
		if (rec.kind == VECS_OBJ_RUN && !list->run_id[0]) {
			snprintf(list->run_id, sizeof(list->run_id), "%s", rec.a);
			list->owner_pid = (pid_t)atoi(rec.b);
			list->owner_start = strtoull(rec.c, NULL, 10);
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct vecs_ledger_rec *nr = realloc(recs, ncap * sizeof(*nr));
			if (!nr) {
				rec_free(&rec);
				r = vecs_err_set(err, -ENOMEM, "out of memory reading ledger %s", path);
				goto out;
			}
			recs = nr;
			cap = ncap;
		}
		recs[n++] = rec;
	}
	list->recs = recs;
	list->n = n;
	recs = NULL;
out:
	if (recs) {
		for (size_t i = 0; i < n; i++)
			rec_free(&recs[i]);
		free(recs);
	}
	free(buf);
	close(fd);
	return r;
}

void vecs_ledger_list_free(struct vecs_ledger_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		rec_free(&list->recs[i]);
	free(list->recs);
	memset(list, 0, sizeof(*list));
}
