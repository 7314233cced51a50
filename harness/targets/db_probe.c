#include "targets/db_probe.h"

#include <errno.h>
#include <mysql.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vecs_dbprobe {
	sqlite3 *lite;
	MYSQL *my;
	char key[256];
	char path[4096]; /* sqlite */
};

/* A new read-only connection for every probe: a connection kept across a restart of
 * the management server (fault injection restarts it) can keep reading the database
 * as it was (its WAL index from before), and a probe must see what is there now.
 * MariaDB: reconnect when the server went away. */
static int fresh(struct vecs_dbprobe *p, struct vecs_err *err)
{
	if (p->my)
		return mysql_ping(p->my) == 0 || mysql_ping(p->my) == 0
			       ? 0
			       : vecs_err_set(err, -ECONNREFUSED, "MariaDB went away: %s",
					      mysql_error(p->my));
	if (p->lite)
		sqlite3_close(p->lite);
	p->lite = NULL;
	if (sqlite3_open_v2(p->path, &p->lite, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		vecs_err_set(err, -EIO, "cannot open the database %s read-only: %s", p->path,
			     p->lite ? sqlite3_errmsg(p->lite) : "out of memory");
		sqlite3_close(p->lite);
		p->lite = NULL;
		return -EIO;
	}
	sqlite3_busy_timeout(p->lite, 5000);
	return 0;
}

static const char volume_sql[] =
	"SELECT v.passphrase_id, p.id, p.passphrase, v.encrypt_format FROM volumes v"
	" LEFT JOIN passphrase p ON p.id = v.passphrase_id WHERE v.uuid = ?";
static const char orphans_sql[] =
	"SELECT COUNT(*) FROM passphrase p WHERE NOT EXISTS"
	" (SELECT 1 FROM volumes v WHERE v.passphrase_id = p.id)";

int vecs_dbprobe_open(struct vecs_dbprobe **out, const char *kind, const char *target,
		      const char *key, struct vecs_err *err)
{
	struct vecs_dbprobe *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return vecs_err_set(err, -ENOMEM, "out of memory for a database probe");
	snprintf(p->key, sizeof(p->key), "%s", key);
	if (!strcmp(kind, "sqlite")) {
		snprintf(p->path, sizeof(p->path), "%s", target);
		if (sqlite3_open_v2(target, &p->lite, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
			vecs_err_set(err, -EIO, "cannot open the database %s read-only: %s", target,
				     p->lite ? sqlite3_errmsg(p->lite) : "out of memory");
			vecs_dbprobe_close(p);
			return -EIO;
		}
		sqlite3_busy_timeout(p->lite, 5000);
	} else if (!strcmp(kind, "mariadb")) {
		char sock[512] = "", db[128] = "";
		const char *s = strstr(target, "socket="), *d = strstr(target, "database=");
		if (s)
			snprintf(sock, sizeof(sock), "%.*s", (int)strcspn(s + 7, ";"), s + 7);
		if (d)
			snprintf(db, sizeof(db), "%.*s", (int)strcspn(d + 9, ";"), d + 9);
		p->my = mysql_init(NULL);
		if (p->my) {
			/* a restarted server is reconnected to by mysql_ping (fresh) */
			my_bool reconnect = 1;
			mysql_options(p->my, MYSQL_OPT_RECONNECT, &reconnect);
		}
		if (!p->my || !mysql_real_connect(p->my, NULL, "root", NULL, db, 0, sock, 0)) {
			vecs_err_set(err, -ECONNREFUSED, "cannot connect to MariaDB %s: %s", target,
				     p->my ? mysql_error(p->my) : "out of memory");
			vecs_dbprobe_close(p);
			return -ECONNREFUSED;
		}
	} else {
		free(p);
		return vecs_err_set(err, -EINVAL, "unknown database kind %s", kind);
	}
	*out = p;
	return 0;
}

void vecs_dbprobe_close(struct vecs_dbprobe *p)
{
	if (!p)
		return;
	if (p->lite)
		sqlite3_close(p->lite);
	if (p->my)
		mysql_close(p->my);
	explicit_bzero(p->key, sizeof(p->key));
	free(p);
}

bool vecs_passphrase_well_formed(const unsigned char *s, size_t len)
{
	unsigned char raw[64];
	int n;

	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '+' && s[i] != '/')
			return false; /* 48 bytes make no '=' padding */
	n = EVP_DecodeBlock(raw, s, 64);
	explicit_bzero(raw, sizeof(raw));
	return n == 48;
}

int vecs_db_v2_decrypt(const char *key, const char *stored, struct vecs_secret *out,
		       struct vecs_err *err)
{
	size_t slen = strlen(stored);
	unsigned char *buf = malloc(slen + 4), k[32];
	unsigned int klen = 0;
	int n, len = 0, fin = 0, r = -EBADMSG;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	memset(out, 0, sizeof(*out));
	if (!buf || !c || slen % 4)
		goto out;
	n = EVP_DecodeBlock(buf, (const unsigned char *)stored, (int)slen);
	if (n < 0)
		goto out;
	while (slen && stored[slen - 1] == '=') { /* EVP_DecodeBlock counts padding bytes */
		slen--;
		n--;
	}
	if (n < 12 + 16 || !EVP_Digest(key, strlen(key), k, &klen, EVP_sha256(), NULL))
		goto out;
	if (vecs_secret_alloc(out, (size_t)n, err) < 0)
		goto out;
	if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
	    EVP_DecryptInit_ex(c, NULL, NULL, k, buf) &&
	    EVP_DecryptUpdate(c, out->data, &len, buf + 12, n - 12 - 16) &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, buf + n - 16) &&
	    EVP_DecryptFinal_ex(c, out->data + len, &fin) == 1) {
		out->len = (size_t)(len + fin);
		r = 0;
	}
out:
	if (r < 0) {
		vecs_secret_release(out);
		vecs_err_set(err, -EBADMSG,
			     "the stored passphrase does not decrypt as V2 (AES-256-GCM) with the installation key");
	}
	explicit_bzero(k, sizeof(k));
	if (buf) {
		explicit_bzero(buf, slen + 4);
		free(buf);
	}
	EVP_CIPHER_CTX_free(c);
	return r;
}

static void fill(struct vecs_volume_pass *v, const char *pid, const char *rowid,
		 const char *stored, const char *fmt, const char *key)
{
	struct vecs_err e = { 0 };

	v->has_passphrase = pid != NULL;
	v->passphrase_id = pid ? atoll(pid) : 0;
	v->row_exists = rowid != NULL;
	snprintf(v->stored, sizeof(v->stored), "%s", stored ? stored : "");
	snprintf(v->encrypt_format, sizeof(v->encrypt_format), "%s", fmt ? fmt : "");
	if (!stored)
		return;
	if (vecs_db_v2_decrypt(key, stored, &v->pass, &e) < 0) {
		snprintf(v->why, sizeof(v->why), "%.150s", e.msg);
		return;
	}
	v->decrypted = true;
	if (!vecs_passphrase_well_formed(v->pass.data, v->pass.len))
		snprintf(v->why, sizeof(v->why),
			 "the decrypted passphrase is not 64 base64 characters of 48 bytes");
}

int vecs_dbprobe_volume(struct vecs_dbprobe *p, const char *uuid, struct vecs_volume_pass *v,
			struct vecs_err *err)
{
	int found = 0;

	memset(v, 0, sizeof(*v));
	if (fresh(p, err) < 0)
		return err ? err->code : -EIO;
	if (p->lite) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(p->lite, volume_sql, -1, &st, NULL) != SQLITE_OK)
			return vecs_err_set(err, -EIO, "probe query failed: %s", sqlite3_errmsg(p->lite));
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			found = 1;
			fill(v, (const char *)sqlite3_column_text(st, 0),
			     (const char *)sqlite3_column_text(st, 1),
			     (const char *)sqlite3_column_text(st, 2),
			     (const char *)sqlite3_column_text(st, 3), p->key);
		}
		sqlite3_finalize(st);
	} else {
		char q[512], esc[160];
		MYSQL_RES *res;
		MYSQL_ROW row;
		/* a uuid is hex and dashes; escape anyway */
		mysql_real_escape_string(p->my, esc, uuid, (unsigned long)strnlen(uuid, 70));
		snprintf(q, sizeof(q), "%.*s'%s'", (int)(sizeof(volume_sql) - 2), volume_sql, esc);
		if (mysql_query(p->my, q) != 0 || !(res = mysql_store_result(p->my)))
			return vecs_err_set(err, -EIO, "probe query failed: %s", mysql_error(p->my));
		if ((row = mysql_fetch_row(res))) {
			found = 1;
			fill(v, row[0], row[1], row[2], row[3], p->key);
		}
		mysql_free_result(res);
	}
	return found ? 0 : vecs_err_set(err, -ENOENT, "no volume %s in the database", uuid);
}

void vecs_volume_pass_release(struct vecs_volume_pass *v)
{
	vecs_secret_release(&v->pass);
	explicit_bzero(v, sizeof(*v));
}

int vecs_dbprobe_orphans(struct vecs_dbprobe *p, int64_t *count, struct vecs_err *err)
{
	*count = -1;
	if (fresh(p, err) < 0)
		return err ? err->code : -EIO;
	if (p->lite) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(p->lite, orphans_sql, -1, &st, NULL) != SQLITE_OK)
			return vecs_err_set(err, -EIO, "probe query failed: %s", sqlite3_errmsg(p->lite));
		if (sqlite3_step(st) == SQLITE_ROW)
			*count = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	} else {
		MYSQL_RES *res;
		MYSQL_ROW row;
		if (mysql_query(p->my, orphans_sql) != 0 || !(res = mysql_store_result(p->my)))
			return vecs_err_set(err, -EIO, "probe query failed: %s", mysql_error(p->my));
		if ((row = mysql_fetch_row(res)) && row[0])
			*count = atoll(row[0]);
		mysql_free_result(res);
	}
	return *count >= 0 ? 0 : vecs_err_set(err, -EIO, "orphan count query returned nothing");
}
