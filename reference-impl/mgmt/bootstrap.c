#include "mgmt/bootstrap.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/host_dao.h"
#include "db/passphrase.h"
#include "db/user_dao.h"

int mgmt_random_key(char out[MGMT_KEY_LEN + 1], struct vecs_err *err)
{
	unsigned char raw[64], b64[89];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vecs_err_set(err, -errno, "getrandom failed making an API key: %s",
					    strerror(errno));
		}
		got += (size_t)n;
	}
	EVP_EncodeBlock(b64, raw, sizeof(raw)); /* 88 characters, "==" at the end */
	for (int i = 0; i < MGMT_KEY_LEN; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[MGMT_KEY_LEN] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(b64, sizeof(b64));
	return 0;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_credentials(const char *path, const char *api_key, const char *secret_key,
			     struct vecs_err *err)
{
	char head[] = "# vecs-mgmt admin API credentials (CloudStack apiKey and secretKey)\n";
	struct stat st;
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return vecs_err_set(err, -errno, "cannot write credentials file %s: %s", path,
				    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fchmod(fd, 0600) < 0) {
		close(fd);
		return vecs_err_set(err, -EPERM,
				    "credentials file %s is not a regular file this user can make "
				    "private (mode 0600)",
				    path);
	}
	r = write_all(fd, head, strlen(head));
	if (r == 0)
		r = write_all(fd, "api_key=", 8);
	if (r == 0)
		r = write_all(fd, api_key, strlen(api_key));
	if (r == 0)
		r = write_all(fd, "\nsecret_key=", 12);
	if (r == 0)
		r = write_all(fd, secret_key, strlen(secret_key));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		return vecs_err_set(err, r, "cannot write credentials file %s: %s", path,
				    strerror(-r));
	return 0;
}

/* The first value of a one-column query, decrypted into *out: 1 when there was a
 * value and it decrypted, 0 when there was none, -EKEYREJECTED when it did not. */
static int decrypt_first(struct db *db, const struct db_encryptor *enc, const char *sql,
			 struct vecs_secret *out, struct vecs_err *err)
{
	struct vecs_err why = { 0 };
	struct db_stmt *st;
	int r = db_prepare(db, sql, &st, err);

	if (r < 0)
		return r;
	if ((r = db_step(st, err)) == DB_ROW) {
		const char *v = db_column_text(st, 0);
		r = !v ? 0 : db_decrypt(enc, v, out, &why) == 0 ? 1 : -EKEYREJECTED;
	}
	db_finalize(st);
	return r;
}

static bool printable(const struct vecs_secret *s)
{
	for (size_t i = 0; i < s->len; i++)
		if (s->data[i] < 0x21 || s->data[i] > 0x7e)
			return false;
	return s->len > 0;
}

int mgmt_check_db_key(struct db *db, const struct db_encryptor *enc, const char *key_file,
		      struct vecs_err *err)
{
	struct vecs_secret s = { 0 };
	const char *what = "the secret key of user";
	bool ok;
	int r;

	r = decrypt_first(db, enc,
			  "SELECT secret_key FROM user WHERE removed IS NULL AND secret_key IS NOT"
			  " NULL ORDER BY id LIMIT 1",
			  &s, err);
	ok = r <= 0 || printable(&s);
	vecs_secret_release(&s);
	if (r >= 0 && ok) {
		what = "the newest passphrase row";
		r = decrypt_first(db, enc,
				  "SELECT passphrase FROM passphrase WHERE passphrase IS NOT NULL"
				  " ORDER BY id DESC LIMIT 1",
				  &s, err);
		ok = r <= 0 || passphrase_check_format((const char *)s.data, s.len, NULL) == 0;
		vecs_secret_release(&s);
	}
	if (r == -EKEYREJECTED || !ok)
		return vecs_err_set(err, -EKEYREJECTED,
				    "the key in %s (db.cloud.encrypt.secret) does not decrypt the "
				    "database: %s cannot be decrypted with it. Start with the key "
				    "file this database was created with",
				    key_file, what);
	return r < 0 ? r : 0;
}

int mgmt_bootstrap_admin(struct db *db, const struct db_encryptor *enc, const char *path,
			 bool *created, struct vecs_err *err)
{
	struct user_record u = { 0 };
	char secret[MGMT_KEY_LEN + 1];
	int64_t n;
	int r;

	*created = false;
	r = db_begin(db, err);
	if (r < 0)
		return r;
	r = user_count(db, &n, err);
	if (r < 0 || n > 0) {
		db_rollback(db);
		return r;
	}
	snprintf(u.username, sizeof(u.username), "admin");
	u.account_type = 1;
	r = mgmt_random_key(u.api_key, err);
	if (r == 0)
		r = mgmt_random_key(secret, err);
	if (r == 0)
		r = user_insert(db, enc, &u, secret, err);
	/* The file first: a user whose key nobody received would lock everyone out. */
	if (r == 0)
		r = write_credentials(path, u.api_key, secret, err);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	r = db_commit(db, err);
	if (r == 0)
		*created = true;
	return r;
}

static int parse_host_line(char *line, struct host_record *h, const char *path, unsigned lineno,
			   struct vecs_err *err)
{
	char *save = NULL, *tok;
	int first = 1;

	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq;

		if (first) {
			if (strlen(tok) >= sizeof(h->name))
				return vecs_err_set(err, -EINVAL, "%s:%u: host name too long", path,
						    lineno);
			snprintf(h->name, sizeof(h->name), "%s", tok);
			first = 0;
			continue;
		}
		eq = strchr(tok, '=');
		if (!eq || eq == tok)
			return vecs_err_set(err, -EINVAL,
					    "%s:%u: expected KEY=VALUE after the host name", path,
					    lineno);
		*eq++ = '\0';
		if (strcmp(tok, "ip") == 0) {
			if (strlen(eq) >= sizeof(h->ip))
				return vecs_err_set(err, -EINVAL, "%s:%u: ip too long", path, lineno);
			snprintf(h->ip, sizeof(h->ip), "%s", eq);
		} else if (strcmp(tok, "hypervisor") == 0) {
			if (strlen(eq) >= sizeof(h->hypervisor))
				return vecs_err_set(err, -EINVAL, "%s:%u: hypervisor too long", path,
						    lineno);
			snprintf(h->hypervisor, sizeof(h->hypervisor), "%s", eq);
		} else {
			struct host_detail *d;
			if (h->n_details == HOST_MAX_DETAILS)
				return vecs_err_set(err, -E2BIG, "%s:%u: more than %d details", path,
						    lineno, HOST_MAX_DETAILS);
			if (strlen(tok) >= sizeof(d->name) || strlen(eq) >= sizeof(d->value))
				return vecs_err_set(err, -EINVAL, "%s:%u: detail too long", path,
						    lineno);
			d = &h->details[h->n_details++];
			snprintf(d->name, sizeof(d->name), "%s", tok);
			snprintf(d->value, sizeof(d->value), "%s", eq);
		}
	}
	return first ? 1 : 0; /* 1: blank line */
}

int mgmt_load_hosts(struct db *db, int64_t zone_id, const char *path, unsigned *n,
		    struct vecs_err *err)
{
	struct host_record *h = malloc(sizeof(*h));
	char line[4096];
	unsigned lineno = 0;
	FILE *f;
	int r = 0;

	*n = 0;
	if (!h)
		return vecs_err_set(err, -ENOMEM, "out of memory reading %s", path);
	f = fopen(path, "re");
	if (!f) {
		r = vecs_err_set(err, -errno, "cannot read host list %s: %s", path, strerror(errno));
		free(h);
		return r;
	}
	while (r >= 0 && fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#');

		lineno++;
		if (hash)
			*hash = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		memset(h, 0, sizeof(*h));
		h->zone_id = zone_id;
		r = parse_host_line(line, h, path, lineno, err);
		if (r == 0) {
			r = host_register(db, h, err);
			if (r == 0)
				(*n)++;
		}
	}
	fclose(f);
	free(h);
	return r < 0 ? r : 0;
}
