#include "db/properties.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/secret.h"

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\f';
}

static int is_eol(char c)
{
	return c == '\n' || c == '\r';
}

/* Unescape text[*i..end) into out at *o, stopping (for a key) at an unescaped
 * separator. Returns 0 or -EINVAL for a \u escape. */
static int unescape(const char *text, size_t *i, size_t end, int is_key, char *out, size_t *o)
{
	while (*i < end) {
		char c = text[*i];

		if (is_key && (c == '=' || c == ':' || is_ws(c)))
			break;
		(*i)++;
		if (c != '\\') {
			out[(*o)++] = c;
			continue;
		}
		if (*i >= end)
			break; /* a lone trailing backslash of the last line: dropped, as Java */
		c = text[(*i)++];
		switch (c) {
		case 't':
			out[(*o)++] = '\t';
			break;
		case 'n':
			out[(*o)++] = '\n';
			break;
		case 'r':
			out[(*o)++] = '\r';
			break;
		case 'f':
			out[(*o)++] = '\f';
			break;
		case 'u':
			return -EINVAL;
		default:
			out[(*o)++] = c;
			break;
		}
	}
	return 0;
}

/* Join a logical line (continuations removed) from text at *pos into line. */
static size_t logical_line(const char *text, size_t len, size_t *pos, char *line, unsigned *lineno)
{
	size_t n = 0, i = *pos;
	int first = 1;

	for (;;) {
		size_t start = i, stop, slashes = 0;

		if (!first)
			while (i < len && is_ws(text[i]))
				i++;
		start = i;
		while (i < len && !is_eol(text[i]))
			i++;
		stop = i;
		if (i < len) {
			if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
				i++;
			i++;
		}
		(*lineno)++;
		for (size_t k = stop; k > start && text[k - 1] == '\\'; k--)
			slashes++;
		/* Comment lines never continue. */
		if (first) {
			size_t k = start;
			while (k < stop && is_ws(text[k]))
				k++;
			if (k < stop && (text[k] == '#' || text[k] == '!')) {
				memcpy(line, text + start, stop - start);
				n = stop - start;
				break;
			}
		}
		first = 0;
		if (slashes % 2 == 1 && i < len) {
			memcpy(line + n, text + start, stop - start - 1);
			n += stop - start - 1;
			continue;
		}
		memcpy(line + n, text + start, stop - start);
		n += stop - start;
		break;
	}
	*pos = i;
	return n;
}

int properties_parse(struct properties *p, const char *text, size_t len, const char *source,
		     struct vecs_err *err)
{
	struct vecs_secret line;
	size_t pos = 0, o = 0;
	unsigned lineno = 0;
	int r;

	memset(p, 0, sizeof(*p));
	/* Every kept line has at least one character and yields at most its characters
	 * plus two NULs. */
	r = vecs_secret_alloc(&p->arena, 3 * len + 2, err);
	if (r < 0)
		return r;
	r = vecs_secret_alloc(&line, len + 1, err);
	if (r < 0) {
		vecs_secret_release(&p->arena);
		return r;
	}
	while (pos < len) {
		char *out = (char *)p->arena.data;
		const char *l = (const char *)line.data;
		unsigned at = lineno + 1;
		size_t n = logical_line(text, len, &pos, (char *)line.data, &lineno), i = 0;
		size_t key_off, val_off;

		while (i < n && is_ws(l[i]))
			i++;
		if (i == n || l[i] == '#' || l[i] == '!')
			continue;
		if (p->n == PROPERTIES_MAX_ENTRIES) {
			r = vecs_err_set(err, -E2BIG, "%s has more than %d entries; is it the right file?",
					 source, PROPERTIES_MAX_ENTRIES);
			goto fail;
		}
		key_off = o;
		if (unescape(l, &i, n, 1, out, &o) < 0)
			goto bad_escape;
		out[o++] = '\0';
		while (i < n && is_ws(l[i]))
			i++;
		if (i < n && (l[i] == '=' || l[i] == ':'))
			i++;
		while (i < n && is_ws(l[i]))
			i++;
		val_off = o;
		if (unescape(l, &i, n, 0, out, &o) < 0)
			goto bad_escape;
		out[o++] = '\0';
		/* The last duplicate wins: overwrite the earlier entry's offsets. */
		for (size_t k = 0; k < p->n; k++) {
			if (strcmp(out + p->key_off[k], out + key_off) == 0) {
				p->val_off[k] = val_off;
				goto next;
			}
		}
		p->key_off[p->n] = key_off;
		p->val_off[p->n] = val_off;
		p->n++;
	next:
		continue;
	bad_escape:
		r = vecs_err_set(err, -EINVAL,
				 "%s line %u uses a \\u escape, which this loader does not accept; "
				 "write the characters themselves",
				 source, at);
		goto fail;
	}
	vecs_secret_release(&line);
	p->arena.len = o;
	return 0;
fail:
	vecs_secret_release(&line);
	properties_release(p);
	return r;
}

int properties_load_private(struct properties *p, const char *path, struct vecs_err *err)
{
	struct vecs_secret raw;
	struct stat st;
	size_t got = 0;
	int fd, r;

	memset(p, 0, sizeof(*p));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return vecs_err_set(err, -errno, "cannot open properties file %s: %s", path,
				    strerror(errno));
	/* fstat on the open descriptor: the mode checked is the mode of what is read. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vecs_err_set(err, -EINVAL, "properties file %s is not a regular file", path);
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return vecs_err_set(err, -EACCES,
				    "refusing properties file %s: its mode is %04o, so group or "
				    "others can access the database key it holds; run chmod 600 %s",
				    path, (unsigned)(st.st_mode & 07777), path);
	}
	if (st.st_size > PROPERTIES_MAX_BYTES) {
		close(fd);
		return vecs_err_set(err, -EFBIG,
				    "properties file %s is larger than %d bytes; is it the right file?",
				    path, PROPERTIES_MAX_BYTES);
	}
	r = vecs_secret_alloc(&raw, PROPERTIES_MAX_BYTES + 1, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	while (got < PROPERTIES_MAX_BYTES + 1) {
		ssize_t n = read(fd, raw.data + got, PROPERTIES_MAX_BYTES + 1 - got);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = vecs_err_set(err, -errno, "cannot read properties file %s: %s", path,
					 strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	if (got > PROPERTIES_MAX_BYTES) {
		r = vecs_err_set(err, -EFBIG, "properties file %s grew past %d bytes while read",
				 path, PROPERTIES_MAX_BYTES);
		goto out;
	}
	r = properties_parse(p, (const char *)raw.data, got, path, err);
out:
	close(fd);
	vecs_secret_release(&raw);
	return r;
}

const char *properties_get(const struct properties *p, const char *key)
{
	const char *arena = (const char *)p->arena.data;

	for (size_t k = 0; k < p->n; k++)
		if (strcmp(arena + p->key_off[k], key) == 0)
			return arena + p->val_off[k];
	return NULL;
}

void properties_release(struct properties *p)
{
	vecs_secret_release(&p->arena);
	p->n = 0;
}
