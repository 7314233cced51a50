/* Control API of the I/O fault shim: the text rule syntax and the rules file. */
#include "faults/iofault.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const op_names[VECS_IOFAULT_OP_COUNT] = {
	"open", "read", "write", "flush", "truncate", "allocate", "connect", "send",
};

static const char *const action_names[VECS_IOFAULT_ACT_COUNT] = {
	"none", "errno", "short", "torn", "delay", "kill-before", "kill-after",
};

const char *vecs_iofault_op_name(enum vecs_iofault_op op)
{
	return (unsigned)op < VECS_IOFAULT_OP_COUNT ? op_names[op] : NULL;
}

const char *vecs_iofault_action_name(enum vecs_iofault_action a)
{
	return (unsigned)a < VECS_IOFAULT_ACT_COUNT ? action_names[a] : NULL;
}

int vecs_iofault_log_path(const char *rules_path, char *buf, size_t len)
{
	int w = snprintf(buf, len, "%s.log", rules_path);

	return (w < 0 || (size_t)w >= len) ? -ENAMETOOLONG : 0;
}

/* --- parsing ---------------------------------------------------------------------- */

struct parse_ctx {
	unsigned line;
	const char *line_start;
	struct vecs_err *err;
};

#define PARSE_VALUE_MAX 512

static int perr(const struct parse_ctx *c, const char *at, const char *fmt, const char *what)
{
	return vecs_err_set(c->err, -EINVAL, "I/O fault rule %u:%u: %s%s", c->line,
			    (unsigned)(at - c->line_start) + 1, fmt, what ? what : "");
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static bool word_end(char ch)
{
	return ch == '\0' || ch == '\n' || ch == '#' || is_blank(ch);
}

/* A value at *pp, plain or double-quoted, into out; *pp moves past it. */
static int read_value(const struct parse_ctx *c, const char **pp, char *out)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p != '"') {
		while (!word_end(*p)) {
			if (n + 1 >= PARSE_VALUE_MAX)
				return perr(c, *pp, "value longer than 511 characters", NULL);
			out[n++] = *p++;
		}
	} else {
		for (p++; *p != '"'; p++) {
			if (*p == '\0' || *p == '\n')
				return perr(c, *pp, "unterminated quoted value", NULL);
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			if (n + 1 >= PARSE_VALUE_MAX)
				return perr(c, *pp, "value longer than 511 characters", NULL);
			out[n++] = *p;
		}
		p++;
		if (!word_end(*p))
			return perr(c, p, "expected a blank after the quoted value", NULL);
	}
	out[n] = '\0';
	*pp = p;
	return 0;
}

/* A decimal number with an optional k/M/G (binary) suffix when allow_suffix. */
static int parse_u64(const char *s, bool allow_suffix, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (allow_suffix && *end) {
		switch (*end++) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return -EINVAL;
		}
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_ops(const struct parse_ctx *c, const char *at, const char *v, uint32_t *ops)
{
	char word[32];
	const char *p = v;

	*ops = 0;
	if (strcmp(v, "all") == 0) {
		*ops = VECS_IOFAULT_OPS_ALL;
		return 0;
	}
	while (*p) {
		size_t len = strcspn(p, ",");
		int i;

		if (len == 0 || len >= sizeof(word))
			return perr(c, at, "op wants a comma list of ", "open,read,write,flush,truncate,allocate,connect,send");
		memcpy(word, p, len);
		word[len] = '\0';
		for (i = 0; i < VECS_IOFAULT_OP_COUNT && strcmp(word, op_names[i]); i++)
			;
		if (i == VECS_IOFAULT_OP_COUNT)
			return perr(c, at, "unknown op (open, read, write, flush, truncate, allocate, connect, send, all): ", word);
		*ops |= VECS_IOFAULT_OPBIT(i);
		p += len;
		if (*p == ',' && *++p == '\0')
			return perr(c, at, "op list ends with a comma", NULL);
	}
	return 0;
}

static int parse_off(const struct parse_ctx *c, const char *at, const char *v,
		     struct vecs_iofault_rule *r)
{
	char lo[64];
	const char *dash = strchr(v, '-');
	size_t len = dash ? (size_t)(dash - v) : 0;

	if (!dash || len == 0 || len >= sizeof(lo))
		return perr(c, at, "off wants LO-HI or LO- (bytes, k/M/G suffixes allowed)", NULL);
	memcpy(lo, v, len);
	lo[len] = '\0';
	if (parse_u64(lo, true, &r->off_lo))
		return perr(c, at, "off: bad lower bound ", lo);
	if (dash[1] == '\0')
		r->off_hi = VECS_IOFAULT_OFF_END;
	else if (parse_u64(dash + 1, true, &r->off_hi))
		return perr(c, at, "off: bad upper bound ", dash + 1);
	if (r->off_hi <= r->off_lo)
		return perr(c, at, "off: the range is empty (HI must be above LO)", NULL);
	return 0;
}

static int errno_by_name(const char *name)
{
	int e;

	for (e = 1; e < 256; e++) {
		const char *n = strerrorname_np(e);

		if (n && strcmp(n, name) == 0)
			return e;
	}
	return 0;
}

/* "0.5", ".25", "50%", "12.5%" into millionths, strictly between 0 and 1. */
static int parse_fraction(const char *s, int64_t *ppm)
{
	size_t len = strlen(s);
	bool pct = len > 0 && s[len - 1] == '%';
	uint64_t whole = 0, frac = 0;
	unsigned digits = 0, max_digits = pct ? 4 : 6;
	const char *p = s;

	if (!isdigit((unsigned char)*p) && *p != '.')
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > 100)
			return -EINVAL;
	}
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++) {
			if (++digits > max_digits)
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
	if (*p != (pct ? '%' : '\0') || (pct && p[1] != '\0'))
		return -EINVAL;
	for (; digits < max_digits; digits++)
		frac *= 10;
	*ppm = (int64_t)(pct ? whole * 10000 + frac : whole * 1000000 + frac);
	return (*ppm > 0 && *ppm < VECS_IOFAULT_SHORT_SCALE) ? 0 : -ERANGE;
}

static int parse_action(const struct parse_ctx *c, const char *at, const char *v,
			struct vecs_iofault_rule *r)
{
	const char *colon = strchr(v, ':');
	size_t len = colon ? (size_t)(colon - v) : strlen(v);
	const char *arg = colon ? colon + 1 : NULL;
	uint64_t u;
	int a;

	for (a = 1; a < VECS_IOFAULT_ACT_COUNT; a++)
		if (strlen(action_names[a]) == len && strncmp(v, action_names[a], len) == 0)
			break;
	if (a == VECS_IOFAULT_ACT_COUNT)
		return perr(c, at, "unknown action (errno:NAME, short:FRACTION, torn:BYTES, delay:MS, kill-before, kill-after): ", v);
	r->action = (uint32_t)a;
	if (a == VECS_IOFAULT_ACT_KILL_BEFORE || a == VECS_IOFAULT_ACT_KILL_AFTER) {
		if (arg)
			return perr(c, at, "this action takes no argument: ", v);
		return 0;
	}
	if (!arg || !*arg)
		return perr(c, at, "this action needs an argument after ':': ", v);
	switch (a) {
	case VECS_IOFAULT_ACT_ERRNO:
		if (parse_u64(arg, false, &u) == 0 && u >= 1 && u < 4096)
			r->arg = (int64_t)u;
		else if (!(r->arg = errno_by_name(arg)))
			return perr(c, at, "unknown errno name (EIO, ENOSPC, EDQUOT, EROFS, ...): ", arg);
		return 0;
	case VECS_IOFAULT_ACT_SHORT:
		if (parse_fraction(arg, &r->arg))
			return perr(c, at, "short wants a fraction between 0 and 1 (0.5, 50%, at most 6 decimals): ", arg);
		return 0;
	case VECS_IOFAULT_ACT_TORN:
		if (parse_u64(arg, true, &u) || u > (1u << 30))
			return perr(c, at, "torn wants a byte count (at most 1G): ", arg);
		r->arg = (int64_t)u;
		return 0;
	default: /* delay */
		if (parse_u64(arg, false, &u) || u > 3600000)
			return perr(c, at, "delay wants milliseconds (at most 3600000): ", arg);
		r->arg = (int64_t)u;
		return 0;
	}
}

static int copy_glob(const struct parse_ctx *c, const char *at, const char *v, char *dst,
		     size_t cap, const char *key)
{
	if (strlen(v) >= cap)
		return perr(c, at, key, cap == VECS_IOFAULT_PATH_MAX ? " is longer than 255 characters"
								  : " is longer than 15 characters");
	strcpy(dst, v);
	return 0;
}

enum { SEEN_PATH = 1, SEEN_COMM = 2, SEEN_OP = 4, SEEN_OFF = 8, SEEN_NTH = 16, SEEN_COUNT = 32,
       SEEN_ACTION = 64 };

static int apply_key(const struct parse_ctx *c, const char *kat, const char *key, const char *vat,
		     const char *v, struct vecs_iofault_rule *r, unsigned *seen)
{
	static const char *const keys[] = { "path", "comm", "op", "off", "nth", "count", "action" };
	unsigned i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && strcmp(key, keys[i]); i++)
		;
	if (i == sizeof(keys) / sizeof(keys[0]))
		return perr(c, kat, "unknown key (path, comm, op, off, nth, count, action): ", key);
	if (*seen & (1u << i))
		return perr(c, kat, "key given twice: ", key);
	*seen |= 1u << i;
	switch (i) {
	case 0: return copy_glob(c, vat, v, r->path, sizeof(r->path), "path");
	case 1: return copy_glob(c, vat, v, r->comm, sizeof(r->comm), "comm");
	case 2: return parse_ops(c, vat, v, &r->ops);
	case 3: return parse_off(c, vat, v, r);
	case 4:
		if (parse_u64(v, false, &r->nth) || r->nth == 0)
			return perr(c, vat, "nth wants a number from 1 on: ", v);
		return 0;
	case 5:
		if (parse_u64(v, false, &r->count))
			return perr(c, vat, "count wants a number (0: every time): ", v);
		return 0;
	default: return parse_action(c, vat, v, r);
	}
}

static int check_rule(const struct parse_ctx *c, const char *at, const struct vecs_iofault_rule *r,
		      unsigned seen)
{
	const uint32_t data = VECS_IOFAULT_OPBIT(VECS_IOFAULT_OP_READ) | VECS_IOFAULT_OPBIT(VECS_IOFAULT_OP_WRITE);

	if (!(seen & SEEN_OP))
		return perr(c, at, "the rule has no op= (e.g. op=write)", NULL);
	if (!(seen & SEEN_ACTION))
		return perr(c, at, "the rule has no action= (e.g. action=errno:EIO)", NULL);
	if (r->action == VECS_IOFAULT_ACT_SHORT && (r->ops & ~data))
		return perr(c, at, "action short applies to op=read and op=write only", NULL);
	if (r->action == VECS_IOFAULT_ACT_TORN && r->ops != VECS_IOFAULT_OPBIT(VECS_IOFAULT_OP_WRITE))
		return perr(c, at, "action torn applies to op=write only", NULL);
	return 0;
}

/* One line (without its '\n'): 0 and *got 1 for a rule, *got 0 for a blank line. */
static int parse_line(struct parse_ctx *c, const char *p, struct vecs_iofault_rule *r, int *got)
{
	char key[32], value[PARSE_VALUE_MAX];
	unsigned seen = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	r->off_hi = VECS_IOFAULT_OFF_END;
	r->nth = 1;
	*got = 0;
	for (;;) {
		const char *kat, *vat;
		size_t klen;

		while (is_blank(*p))
			p++;
		if (*p == '\0' || *p == '\n' || *p == '#')
			break;
		kat = p;
		while (!word_end(*p) && *p != '=')
			p++;
		klen = (size_t)(p - kat);
		if (*p != '=' || klen == 0)
			return perr(c, kat, "expected key=value", NULL);
		if (klen >= sizeof(key))
			return perr(c, kat, "unknown key", NULL);
		memcpy(key, kat, klen);
		key[klen] = '\0';
		vat = ++p;
		if ((rc = read_value(c, &p, value)) < 0)
			return rc;
		if ((rc = apply_key(c, kat, key, vat, value, r, &seen)) < 0)
			return rc;
		*got = 1;
	}
	return *got ? check_rule(c, c->line_start, r, seen) : 0;
}

int vecs_iofault_parse(const char *text, struct vecs_iofault_rule *rules, size_t cap, size_t *n,
		       struct vecs_err *err)
{
	struct parse_ctx c = { .line = 1, .line_start = text, .err = err };
	struct vecs_iofault_rule r;
	const char *p = text;
	int got, rc;

	*n = 0;
	while (*p) {
		c.line_start = p;
		if ((rc = parse_line(&c, p, &r, &got)) < 0)
			return rc;
		if (got) {
			if (*n >= cap)
				return perr(&c, p, "too many rules (at most ", cap == VECS_IOFAULT_MAX_RULES ? "32)" : "the caller's capacity)");
			rules[(*n)++] = r;
		}
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
		c.line++;
	}
	return 0;
}

/* --- formatting ------------------------------------------------------------------- */

struct outbuf {
	char *buf;
	size_t len, used;
};

static void out_raw(struct outbuf *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, o->used++)
		if (o->used + 1 < o->len)
			o->buf[o->used] = s[i];
	if (o->len)
		o->buf[o->used < o->len ? o->used : o->len - 1] = '\0';
}

static void out_str(struct outbuf *o, const char *s)
{
	out_raw(o, s, strlen(s));
}

/* The blank between two key=value words. */
static void out_sep(struct outbuf *o)
{
	if (o->used)
		out_str(o, " ");
}

static void out_fmt(struct outbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_fmt(struct outbuf *o, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (w > 0)
		out_raw(o, tmp, (size_t)w < sizeof(tmp) ? (size_t)w : sizeof(tmp) - 1);
}

/* A value, quoted when it would not read back as one word. */
static void out_value(struct outbuf *o, const char *key, const char *v)
{
	bool quote = *v == '\0' || *v == '"' || strpbrk(v, " \t\r#\\") != NULL;

	out_sep(o);
	out_str(o, key);
	if (!quote) {
		out_str(o, v);
		return;
	}
	out_str(o, "\"");
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			out_str(o, "\\");
		out_raw(o, v, 1);
	}
	out_str(o, "\"");
}

static void out_ops(struct outbuf *o, uint32_t ops)
{
	const char *sep = "";
	int i;

	out_sep(o);
	if (ops == VECS_IOFAULT_OPS_ALL) {
		out_str(o, "op=all");
		return;
	}
	out_str(o, "op=");
	for (i = 0; i < VECS_IOFAULT_OP_COUNT; i++)
		if (ops & VECS_IOFAULT_OPBIT(i)) {
			out_str(o, sep);
			out_str(o, op_names[i]);
			sep = ",";
		}
}

static void out_action(struct outbuf *o, const struct vecs_iofault_rule *r)
{
	const char *name;

	out_str(o, " action=");
	out_str(o, action_names[r->action]);
	switch (r->action) {
	case VECS_IOFAULT_ACT_ERRNO:
		name = strerrorname_np((int)r->arg);
		if (name)
			out_fmt(o, ":%s", name);
		else
			out_fmt(o, ":%" PRId64, r->arg);
		break;
	case VECS_IOFAULT_ACT_SHORT: {
		char frac[16];
		size_t l;

		snprintf(frac, sizeof(frac), "%06u", (unsigned)r->arg);
		for (l = strlen(frac); l > 1 && frac[l - 1] == '0'; l--)
			frac[l - 1] = '\0';
		out_fmt(o, ":0.%s", frac);
		break;
	}
	case VECS_IOFAULT_ACT_TORN:
	case VECS_IOFAULT_ACT_DELAY:
		out_fmt(o, ":%" PRId64, r->arg);
		break;
	default:
		break;
	}
}

int vecs_iofault_format(const struct vecs_iofault_rule *r, char *buf, size_t len)
{
	struct outbuf o = { buf, len, 0 };

	if (r->action == VECS_IOFAULT_ACT_NONE || r->action >= VECS_IOFAULT_ACT_COUNT ||
	    memchr(r->path, '\0', sizeof(r->path)) == NULL || memchr(r->comm, '\0', sizeof(r->comm)) == NULL)
		return -EINVAL;
	if (len)
		buf[0] = '\0';
	if (r->path[0])
		out_value(&o, "path=", r->path);
	if (r->comm[0])
		out_value(&o, "comm=", r->comm);
	out_ops(&o, r->ops);
	if (r->off_lo != 0 || r->off_hi != VECS_IOFAULT_OFF_END) {
		out_fmt(&o, " off=%" PRIu64 "-", r->off_lo);
		if (r->off_hi != VECS_IOFAULT_OFF_END)
			out_fmt(&o, "%" PRIu64, r->off_hi);
	}
	if (r->nth != 1)
		out_fmt(&o, " nth=%" PRIu64, r->nth);
	if (r->count)
		out_fmt(&o, " count=%" PRIu64, r->count);
	out_action(&o, r);
	return (int)o.used;
}

/* --- the rules file --------------------------------------------------------------- */

struct rules_map {
	int fd;
	struct vecs_iofault_file *f;
};

/* "# armed generation G rules N" / "# disarmed generation G" into the shim's log, so
 * a reader can tell the firings of one arm from those of the next. */
static void log_marker(const char *rules_path, const char *what, uint64_t gen, uint32_t n)
{
	char path[4200], line[128];
	int fd, w;

	if (vecs_iofault_log_path(rules_path, path, sizeof(path)))
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	if (strcmp(what, "armed") == 0)
		w = snprintf(line, sizeof(line), "# armed generation %" PRIu64 " rules %" PRIu32 "\n", gen, n);
	else
		w = snprintf(line, sizeof(line), "# %s generation %" PRIu64 "\n", what, gen);
	if (w > 0 && write(fd, line, (size_t)w) < 0) {
		/* the log is evidence, not state: a failed marker is not worth failing arm */
	}
	close(fd);
}

/* Open (create when `create`) and map the rules file, locked for us. */
static int rules_open(const char *path, bool create, struct rules_map *m, struct vecs_err *err)
{
	struct stat st;
	void *p;
	int rc;

	m->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
	if (m->fd < 0)
		return vecs_err_set(err, -errno, "I/O fault rules %s: cannot open it: %s%s", path,
				    strerror(errno), create ? "" : " (arm it first)");
	if (flock(m->fd, LOCK_EX) < 0 || fstat(m->fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (st.st_size == 0 && create && ftruncate(m->fd, (off_t)sizeof(*m->f)) < 0) {
		rc = -errno;
		goto fail;
	}
	if (st.st_size != 0 && st.st_size != (off_t)sizeof(*m->f)) {
		close(m->fd);
		return vecs_err_set(err, -EINVAL, "I/O fault rules %s: %lld bytes, not a rules file of this vecs (%zu bytes); remove it",
				    path, (long long)st.st_size, sizeof(*m->f));
	}
	p = mmap(NULL, sizeof(*m->f), PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (p == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	m->f = p;
	if (m->f->magic == 0 && st.st_size == 0) {
		m->f->version = VECS_IOFAULT_VERSION;
		m->f->size = sizeof(*m->f);
		__atomic_store_n(&m->f->magic, VECS_IOFAULT_MAGIC, __ATOMIC_RELEASE);
	}
	if (m->f->magic != VECS_IOFAULT_MAGIC || m->f->version != VECS_IOFAULT_VERSION ||
	    m->f->size != sizeof(*m->f)) {
		munmap(p, sizeof(*m->f));
		close(m->fd);
		return vecs_err_set(err, -EINVAL, "I/O fault rules %s: wrong magic or version, not a rules file of this vecs; remove it", path);
	}
	return 0;
fail:
	close(m->fd);
	return vecs_err_set(err, rc, "I/O fault rules %s: %s", path, strerror(-rc));
}

static void rules_close(struct rules_map *m)
{
	munmap(m->f, sizeof(*m->f));
	close(m->fd); /* drops the flock */
}

/* Seqlock writer: odd generation while the slots change. Returns the new generation. */
static uint64_t rules_begin(struct vecs_iofault_file *f)
{
	uint64_t g = __atomic_load_n(&f->generation, __ATOMIC_ACQUIRE);

	if (!(g & 1))
		__atomic_store_n(&f->generation, ++g, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return g + 1;
}

static void rules_end(struct vecs_iofault_file *f, uint64_t gen)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&f->generation, gen, __ATOMIC_RELEASE);
}

int vecs_iofault_arm(const char *rules_path, const struct vecs_iofault_rule *rules, size_t n,
		     struct vecs_err *err)
{
	struct rules_map m;
	uint64_t gen;
	size_t i;
	int rc;

	if (n > VECS_IOFAULT_MAX_RULES)
		return vecs_err_set(err, -E2BIG, "I/O fault rules %s: %zu rules, at most %d", rules_path, n,
				    VECS_IOFAULT_MAX_RULES);
	for (i = 0; i < n; i++)
		if (rules[i].action == VECS_IOFAULT_ACT_NONE || rules[i].action >= VECS_IOFAULT_ACT_COUNT ||
		    rules[i].ops == 0 || rules[i].nth == 0)
			return vecs_err_set(err, -EINVAL, "I/O fault rules %s: rule %zu has no action, no op or nth 0",
					    rules_path, i + 1);
	if ((rc = rules_open(rules_path, true, &m, err)) < 0)
		return rc;
	gen = rules_begin(m.f);
	__atomic_store_n(&m.f->nrules, 0, __ATOMIC_RELEASE);
	memset(m.f->slots, 0, sizeof(m.f->slots));
	for (i = 0; i < n; i++)
		m.f->slots[i].rule = rules[i];
	__atomic_store_n(&m.f->narmed, (uint32_t)n, __ATOMIC_RELEASE);
	__atomic_store_n(&m.f->nrules, (uint32_t)n, __ATOMIC_RELEASE);
	rules_end(m.f, gen);
	rules_close(&m);
	log_marker(rules_path, "armed", gen, (uint32_t)n);
	return 0;
}

int vecs_iofault_disarm(const char *rules_path, struct vecs_err *err)
{
	struct rules_map m;
	uint64_t gen;
	int rc;

	if ((rc = rules_open(rules_path, false, &m, err)) < 0)
		return rc;
	gen = rules_begin(m.f);
	__atomic_store_n(&m.f->nrules, 0, __ATOMIC_RELEASE);
	rules_end(m.f, gen);
	rules_close(&m);
	log_marker(rules_path, "disarmed", gen, 0);
	return 0;
}

int vecs_iofault_hits(const char *rules_path, uint64_t *hits, size_t cap, size_t *n,
		      struct vecs_err *err)
{
	struct rules_map m;
	size_t i, armed;
	int rc;

	*n = 0;
	if ((rc = rules_open(rules_path, false, &m, err)) < 0)
		return rc;
	armed = __atomic_load_n(&m.f->narmed, __ATOMIC_ACQUIRE);
	if (armed > VECS_IOFAULT_MAX_RULES)
		armed = VECS_IOFAULT_MAX_RULES;
	for (i = 0; i < armed && i < cap; i++)
		hits[i] = __atomic_load_n(&m.f->slots[i].hits, __ATOMIC_ACQUIRE);
	*n = armed;
	rules_close(&m);
	return armed > cap ? vecs_err_set(err, -ENOBUFS, "I/O fault rules %s: %zu rules, room for %zu hit counts",
					  rules_path, armed, cap)
			   : 0;
}
