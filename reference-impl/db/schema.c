#include "db/schema.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_backend.h"

/* Version 1: the tables and columns CloudStack 4.18 has for volume encryption
 * (schema-41720to41800.sql), plus the few columns of volumes and offerings the
 * control plane needs around them. Column names and types follow CloudStack. */
static const char *const schema_v1[] = {
	"CREATE TABLE passphrase ("
	" id {ID_PK},"
	" passphrase varchar(255) DEFAULT NULL"
	"){TABLE_OPTIONS}",

	"CREATE TABLE disk_offering ("
	" id {ID_PK},"
	" uuid varchar(40) NOT NULL,"
	" name varchar(255) NOT NULL,"
	" display_text varchar(4096) DEFAULT NULL,"
	" disk_size bigint unsigned NOT NULL DEFAULT 0,"
	" encrypt tinyint(1) DEFAULT 0,"
	" created datetime DEFAULT NULL,"
	" removed datetime DEFAULT NULL,"
	" CONSTRAINT uc_disk_offering__uuid UNIQUE (uuid)"
	"){TABLE_OPTIONS}",

	/* No encryption column: a service offering encrypts its root volume when its disk
	 * offering does (service_offering_view.encrypt_root). */
	"CREATE TABLE service_offering ("
	" id {ID_PK},"
	" uuid varchar(40) NOT NULL,"
	" name varchar(255) NOT NULL,"
	" cpu int unsigned DEFAULT NULL,"
	" ram_size int unsigned DEFAULT NULL,"
	" disk_offering_id bigint unsigned DEFAULT NULL,"
	" created datetime DEFAULT NULL,"
	" removed datetime DEFAULT NULL,"
	" CONSTRAINT uc_service_offering__uuid UNIQUE (uuid),"
	" CONSTRAINT fk_service_offering__disk_offering_id FOREIGN KEY (disk_offering_id)"
	" REFERENCES disk_offering(id)"
	"){TABLE_OPTIONS}",

	/* passphrase_id has no ON DELETE clause, as upstream: a passphrase some volume
	 * still references cannot be deleted. */
	"CREATE TABLE volumes ("
	" id {ID_PK},"
	" uuid varchar(40) NOT NULL,"
	" name varchar(255) DEFAULT NULL,"
	" volume_type varchar(64) NOT NULL,"
	" pool_id bigint unsigned DEFAULT NULL,"
	" instance_id bigint unsigned DEFAULT NULL,"
	" path varchar(255) DEFAULT NULL,"
	" format varchar(255) DEFAULT NULL,"
	" size bigint unsigned DEFAULT NULL,"
	" state varchar(32) DEFAULT NULL,"
	" disk_offering_id bigint unsigned NOT NULL,"
	" passphrase_id bigint unsigned DEFAULT NULL,"
	" encrypt_format varchar(64) DEFAULT NULL,"
	" created datetime DEFAULT NULL,"
	" removed datetime DEFAULT NULL,"
	" CONSTRAINT uc_volumes__uuid UNIQUE (uuid),"
	" CONSTRAINT fk_volumes__passphrase_id FOREIGN KEY (passphrase_id)"
	" REFERENCES passphrase(id)"
	"){TABLE_OPTIONS}",

	/* InnoDB indexes a foreign key column by itself; SQLite does not, and would scan
	 * volumes on every passphrase delete. */
	"CREATE INDEX i_volumes__passphrase_id ON volumes (passphrase_id)",
	"CREATE INDEX i_volumes__instance_id ON volumes (instance_id)",

	"CREATE VIEW service_offering_view AS SELECT"
	" service_offering.id AS id,"
	" service_offering.uuid AS uuid,"
	" service_offering.name AS name,"
	" service_offering.cpu AS cpu,"
	" service_offering.ram_size AS ram_size,"
	" service_offering.disk_offering_id AS disk_offering_id,"
	" disk_offering.encrypt AS encrypt_root,"
	" service_offering.removed AS removed"
	" FROM service_offering"
	" LEFT JOIN disk_offering ON service_offering.disk_offering_id = disk_offering.id",
	NULL,
};

/* Version 2: what the API server needs around the version 1 tables: API users with
 * their keys, the zone, hosts with their details (host.volume.encryption), the async
 * job table, and the offering columns the API returns. Names follow CloudStack
 * (`user`, `data_center`, `host`, `host_details`, `async_job`). */
static const char *const schema_v2[] = {
	/* secret_key is stored encrypted with the installation key (db_encryptor.h), as
	 * CloudStack does with its `user.secret_key`. */
	"CREATE TABLE user ("
	" id {ID_PK},"
	" uuid varchar(40) NOT NULL,"
	" username varchar(255) NOT NULL,"
	" api_key varchar(255) DEFAULT NULL,"
	" secret_key varchar(255) DEFAULT NULL,"
	" account_type int unsigned NOT NULL DEFAULT 0,"
	" created datetime DEFAULT NULL,"
	" removed datetime DEFAULT NULL,"
	" CONSTRAINT uc_user__uuid UNIQUE (uuid),"
	" CONSTRAINT uc_user__api_key UNIQUE (api_key)"
	"){TABLE_OPTIONS}",

	"CREATE TABLE data_center ("
	" id {ID_PK},"
	" uuid varchar(40) NOT NULL,"
	" name varchar(255) NOT NULL,"
	" networktype varchar(255) NOT NULL DEFAULT 'Advanced',"
	" allocation_state varchar(32) NOT NULL DEFAULT 'Enabled',"
	" created datetime DEFAULT NULL,"
	" removed datetime DEFAULT NULL,"
	" CONSTRAINT uc_data_center__uuid UNIQUE (uuid)"
	"){TABLE_OPTIONS}",

	"CREATE TABLE host ("
	" id {ID_PK},"
	" uuid varchar(40) NOT NULL,"
	" name varchar(255) NOT NULL,"
	" type varchar(32) NOT NULL DEFAULT 'Routing',"
	" status varchar(32) NOT NULL DEFAULT 'Up',"
	" resource_state varchar(32) NOT NULL DEFAULT 'Enabled',"
	" private_ip_address varchar(40) DEFAULT NULL,"
	" hypervisor_type varchar(32) DEFAULT 'KVM',"
	" data_center_id bigint unsigned NOT NULL,"
	" created datetime DEFAULT NULL,"
	" removed datetime DEFAULT NULL,"
	" CONSTRAINT uc_host__uuid UNIQUE (uuid),"
	" CONSTRAINT uc_host__name UNIQUE (name),"
	" CONSTRAINT fk_host__data_center_id FOREIGN KEY (data_center_id)"
	" REFERENCES data_center(id)"
	"){TABLE_OPTIONS}",

	/* As upstream: details go with their host. */
	"CREATE TABLE host_details ("
	" id {ID_PK},"
	" host_id bigint unsigned NOT NULL,"
	" name varchar(255) NOT NULL,"
	" value varchar(255) NOT NULL,"
	" CONSTRAINT uk_host_id_name UNIQUE (host_id, name),"
	" CONSTRAINT fk_host_details__host_id FOREIGN KEY (host_id)"
	" REFERENCES host(id) ON DELETE CASCADE"
	"){TABLE_OPTIONS}",

	/* job_status: 0 pending, 1 succeeded, 2 failed (queryAsyncJobResult's jobstatus).
	 * job_result holds the JSON object returned as `jobresult`. */
	"CREATE TABLE async_job ("
	" id {ID_PK},"
	" uuid varchar(40) NOT NULL,"
	" user_id bigint unsigned NOT NULL,"
	" job_cmd varchar(255) NOT NULL,"
	" job_cmd_info text DEFAULT NULL,"
	" job_status int NOT NULL DEFAULT 0,"
	" job_process_status int NOT NULL DEFAULT 0,"
	" job_result_code int NOT NULL DEFAULT 0,"
	" job_result text DEFAULT NULL,"
	" instance_type varchar(64) DEFAULT NULL,"
	" instance_id bigint unsigned DEFAULT NULL,"
	" created datetime DEFAULT NULL,"
	" last_updated datetime DEFAULT NULL,"
	" CONSTRAINT uc_async_job__uuid UNIQUE (uuid),"
	" CONSTRAINT fk_async_job__user_id FOREIGN KEY (user_id) REFERENCES user(id)"
	"){TABLE_OPTIONS}",
	"CREATE INDEX i_async_job__job_status ON async_job (job_status)",

	/* A disk offering made by createServiceOffering for its root disk is compute-only:
	 * listDiskOfferings does not show it (as upstream). */
	"ALTER TABLE disk_offering ADD COLUMN compute_only tinyint(1) NOT NULL DEFAULT 0",
	"ALTER TABLE service_offering ADD COLUMN display_text varchar(4096) DEFAULT NULL",
	"ALTER TABLE service_offering ADD COLUMN speed int unsigned DEFAULT NULL",

	/* A view cannot be altered in SQLite: drop and recreate with the new columns. */
	"DROP VIEW service_offering_view",
	"CREATE VIEW service_offering_view AS SELECT"
	" service_offering.id AS id,"
	" service_offering.uuid AS uuid,"
	" service_offering.name AS name,"
	" service_offering.cpu AS cpu,"
	" service_offering.ram_size AS ram_size,"
	" service_offering.disk_offering_id AS disk_offering_id,"
	" disk_offering.encrypt AS encrypt_root,"
	" service_offering.removed AS removed,"
	" service_offering.display_text AS display_text,"
	" service_offering.speed AS speed,"
	" service_offering.created AS created,"
	" disk_offering.uuid AS disk_offering_uuid"
	" FROM service_offering"
	" LEFT JOIN disk_offering ON service_offering.disk_offering_id = disk_offering.id",
	NULL,
};

/* Version 3: the control plane's VM and volume side. CloudStack's tables for pools
 * (storage_pool, storage_pool_tags, storage_pool_details), templates (vm_template),
 * instances (vm_instance), snapshots and snapshot policies; the offering columns the
 * allocator reads (disk_offering.tags, use_local_storage); volumes gain data_center_id,
 * device_id and template_id, and the foreign keys on pool_id and instance_id that
 * version 1 could not declare.
 *
 * SQLite cannot add a constraint to an existing table, so there volumes is rebuilt
 * (new table, copy, drop, rename: the documented procedure; nothing references volumes
 * yet when it runs); MariaDB adds columns and constraints with ALTER TABLE. Statements
 * prefixed "@sqlite " or "@mariadb " run on that backend only (db_migrate). Volume rows
 * of version 2 whose pool_id or instance_id named nothing (no such tables existed) get
 * NULL there, so the new constraints hold for old data. */
static const char *const schema_v3[] = {
	"ALTER TABLE disk_offering ADD COLUMN tags varchar(4096) DEFAULT NULL",
	"ALTER TABLE disk_offering ADD COLUMN use_local_storage tinyint(1) NOT NULL DEFAULT 0",

	/* pool_type as CloudStack's StoragePoolType: NetworkFilesystem, Filesystem (local),
	 * SharedMountPoint, PowerFlex, RBD (no encryption). host_id: the host of a local
	 * (scope HOST) pool; upstream keeps that in storage_pool_host_ref. */
	"CREATE TABLE storage_pool ("
	" id {ID_PK},"
	" uuid varchar(255) NOT NULL,"
	" name varchar(255) NOT NULL,"
	" pool_type varchar(32) NOT NULL,"
	" path varchar(255) NOT NULL,"
	" host_address varchar(255) NOT NULL,"
	" port int unsigned NOT NULL DEFAULT 0,"
	" data_center_id bigint unsigned NOT NULL,"
	" scope varchar(255) NOT NULL DEFAULT 'ZONE',"
	" host_id bigint unsigned DEFAULT NULL,"
	" storage_provider_name varchar(255) NOT NULL DEFAULT 'DefaultPrimary',"
	" status varchar(32) NOT NULL DEFAULT 'Up',"
	" capacity_bytes bigint unsigned NOT NULL DEFAULT 0,"
	" used_bytes bigint unsigned NOT NULL DEFAULT 0,"
	" created datetime DEFAULT NULL,"
	" removed datetime DEFAULT NULL,"
	" CONSTRAINT uc_storage_pool__uuid UNIQUE (uuid),"
	" CONSTRAINT fk_storage_pool__data_center_id FOREIGN KEY (data_center_id)"
	" REFERENCES data_center(id),"
	" CONSTRAINT fk_storage_pool__host_id FOREIGN KEY (host_id) REFERENCES host(id)"
	"){TABLE_OPTIONS}",

	"CREATE TABLE storage_pool_tags ("
	" id {ID_PK},"
	" pool_id bigint unsigned NOT NULL,"
	" tag varchar(255) NOT NULL,"
	" CONSTRAINT uc_storage_pool_tags__pool_tag UNIQUE (pool_id, tag),"
	" CONSTRAINT fk_storage_pool_tags__pool_id FOREIGN KEY (pool_id)"
	" REFERENCES storage_pool(id) ON DELETE CASCADE"
	"){TABLE_OPTIONS}",

	/* PowerFlex: gateway_url and system_id (what the agent needs to map a volume). */
	"CREATE TABLE storage_pool_details ("
	" id {ID_PK},"
	" pool_id bigint unsigned NOT NULL,"
	" name varchar(255) NOT NULL,"
	" value varchar(255) NOT NULL,"
	" CONSTRAINT uk_storage_pool_details__pool_name UNIQUE (pool_id, name),"
	" CONSTRAINT fk_storage_pool_details__pool_id FOREIGN KEY (pool_id)"
	" REFERENCES storage_pool(id) ON DELETE CASCADE"
	"){TABLE_OPTIONS}",

	/* path: where the agent reads the template (secondary storage, seen from hosts). */
	"CREATE TABLE vm_template ("
	" id {ID_PK},"
	" uuid varchar(40) NOT NULL,"
	" name varchar(255) NOT NULL,"
	" display_text varchar(4096) DEFAULT NULL,"
	" format varchar(32) NOT NULL,"
	" url varchar(255) DEFAULT NULL,"
	" path varchar(255) NOT NULL,"
	" size bigint unsigned NOT NULL DEFAULT 0,"
	" hypervisor_type varchar(32) NOT NULL DEFAULT 'KVM',"
	" created datetime DEFAULT NULL,"
	" removed datetime DEFAULT NULL,"
	" CONSTRAINT uc_vm_template__uuid UNIQUE (uuid)"
	"){TABLE_OPTIONS}",

	/* kernel, initrd: optional direct boot of the guest (registerTemplate details). */
	"CREATE TABLE vm_template_details ("
	" id {ID_PK},"
	" template_id bigint unsigned NOT NULL,"
	" name varchar(255) NOT NULL,"
	" value varchar(1024) NOT NULL,"
	" CONSTRAINT uk_vm_template_details__template_name UNIQUE (template_id, name),"
	" CONSTRAINT fk_vm_template_details__template_id FOREIGN KEY (template_id)"
	" REFERENCES vm_template(id) ON DELETE CASCADE"
	"){TABLE_OPTIONS}",

	"CREATE TABLE vm_instance ("
	" id {ID_PK},"
	" uuid varchar(40) NOT NULL,"
	" name varchar(255) NOT NULL,"
	" instance_name varchar(255) NOT NULL,"
	" display_name varchar(255) DEFAULT NULL,"
	" state varchar(32) NOT NULL,"
	" type varchar(32) NOT NULL DEFAULT 'User',"
	" hypervisor_type varchar(32) NOT NULL DEFAULT 'KVM',"
	" host_id bigint unsigned DEFAULT NULL,"
	" last_host_id bigint unsigned DEFAULT NULL,"
	" data_center_id bigint unsigned NOT NULL,"
	" service_offering_id bigint unsigned NOT NULL,"
	" vm_template_id bigint unsigned NOT NULL,"
	" created datetime DEFAULT NULL,"
	" removed datetime DEFAULT NULL,"
	" CONSTRAINT uc_vm_instance__uuid UNIQUE (uuid),"
	" CONSTRAINT fk_vm_instance__host_id FOREIGN KEY (host_id) REFERENCES host(id),"
	" CONSTRAINT fk_vm_instance__last_host_id FOREIGN KEY (last_host_id) REFERENCES host(id),"
	" CONSTRAINT fk_vm_instance__data_center_id FOREIGN KEY (data_center_id)"
	" REFERENCES data_center(id),"
	" CONSTRAINT fk_vm_instance__service_offering_id FOREIGN KEY (service_offering_id)"
	" REFERENCES service_offering(id),"
	" CONSTRAINT fk_vm_instance__vm_template_id FOREIGN KEY (vm_template_id)"
	" REFERENCES vm_template(id)"
	"){TABLE_OPTIONS}",
	"CREATE INDEX i_vm_instance__state ON vm_instance (state)",

	/* Version 2 could store ids of tables that did not exist: those mean nothing. */
	"UPDATE volumes SET pool_id = NULL WHERE pool_id IS NOT NULL",
	"UPDATE volumes SET instance_id = NULL WHERE instance_id IS NOT NULL",

	"@sqlite CREATE TABLE volumes_v3 ("
	" id {ID_PK},"
	" uuid varchar(40) NOT NULL,"
	" name varchar(255) DEFAULT NULL,"
	" volume_type varchar(64) NOT NULL,"
	" pool_id bigint unsigned DEFAULT NULL,"
	" instance_id bigint unsigned DEFAULT NULL,"
	" path varchar(255) DEFAULT NULL,"
	" format varchar(255) DEFAULT NULL,"
	" size bigint unsigned DEFAULT NULL,"
	" state varchar(32) DEFAULT NULL,"
	" disk_offering_id bigint unsigned NOT NULL,"
	" passphrase_id bigint unsigned DEFAULT NULL,"
	" encrypt_format varchar(64) DEFAULT NULL,"
	" created datetime DEFAULT NULL,"
	" removed datetime DEFAULT NULL,"
	" data_center_id bigint unsigned DEFAULT NULL,"
	" device_id bigint unsigned DEFAULT NULL,"
	" template_id bigint unsigned DEFAULT NULL,"
	" CONSTRAINT uc_volumes__uuid UNIQUE (uuid),"
	" CONSTRAINT fk_volumes__passphrase_id FOREIGN KEY (passphrase_id)"
	" REFERENCES passphrase(id),"
	" CONSTRAINT fk_volumes__pool_id FOREIGN KEY (pool_id) REFERENCES storage_pool(id),"
	" CONSTRAINT fk_volumes__instance_id FOREIGN KEY (instance_id)"
	" REFERENCES vm_instance(id),"
	" CONSTRAINT fk_volumes__data_center_id FOREIGN KEY (data_center_id)"
	" REFERENCES data_center(id)"
	"){TABLE_OPTIONS}",
	"@sqlite INSERT INTO volumes_v3 (id, uuid, name, volume_type, pool_id, instance_id, path,"
	" format, size, state, disk_offering_id, passphrase_id, encrypt_format, created, removed)"
	" SELECT id, uuid, name, volume_type, pool_id, instance_id, path, format, size, state,"
	" disk_offering_id, passphrase_id, encrypt_format, created, removed FROM volumes",
	"@sqlite DROP TABLE volumes",
	"@sqlite ALTER TABLE volumes_v3 RENAME TO volumes",
	"@sqlite CREATE INDEX i_volumes__passphrase_id ON volumes (passphrase_id)",
	"@sqlite CREATE INDEX i_volumes__instance_id ON volumes (instance_id)",
	"@mariadb ALTER TABLE volumes ADD COLUMN data_center_id bigint unsigned DEFAULT NULL",
	"@mariadb ALTER TABLE volumes ADD COLUMN device_id bigint unsigned DEFAULT NULL",
	"@mariadb ALTER TABLE volumes ADD COLUMN template_id bigint unsigned DEFAULT NULL",
	"@mariadb ALTER TABLE volumes ADD CONSTRAINT fk_volumes__pool_id FOREIGN KEY (pool_id)"
	" REFERENCES storage_pool(id)",
	"@mariadb ALTER TABLE volumes ADD CONSTRAINT fk_volumes__instance_id"
	" FOREIGN KEY (instance_id) REFERENCES vm_instance(id)",
	"@mariadb ALTER TABLE volumes ADD CONSTRAINT fk_volumes__data_center_id"
	" FOREIGN KEY (data_center_id) REFERENCES data_center(id)",
	"CREATE INDEX i_volumes__pool_id ON volumes (pool_id)",

	/* snapshot_type 0 = MANUAL (type_description), status BackedUp once on secondary
	 * storage; path is where the agent wrote it. */
	"CREATE TABLE snapshots ("
	" id {ID_PK},"
	" uuid varchar(40) NOT NULL,"
	" name varchar(255) NOT NULL,"
	" data_center_id bigint unsigned NOT NULL,"
	" volume_id bigint unsigned NOT NULL,"
	" status varchar(32) DEFAULT NULL,"
	" path varchar(255) DEFAULT NULL,"
	" snapshot_type int unsigned NOT NULL DEFAULT 0,"
	" type_description varchar(25) DEFAULT 'MANUAL',"
	" size bigint unsigned NOT NULL DEFAULT 0,"
	" hypervisor_type varchar(32) NOT NULL DEFAULT 'KVM',"
	" created datetime DEFAULT NULL,"
	" removed datetime DEFAULT NULL,"
	" CONSTRAINT uc_snapshots__uuid UNIQUE (uuid),"
	" CONSTRAINT fk_snapshots__volume_id FOREIGN KEY (volume_id) REFERENCES volumes(id),"
	" CONSTRAINT fk_snapshots__data_center_id FOREIGN KEY (data_center_id)"
	" REFERENCES data_center(id)"
	"){TABLE_OPTIONS}",
	"CREATE INDEX i_snapshots__volume_id ON snapshots (volume_id)",

	"CREATE TABLE snapshot_policy ("
	" id {ID_PK},"
	" uuid varchar(40) NOT NULL,"
	" volume_id bigint unsigned NOT NULL,"
	" schedule varchar(100) NOT NULL,"
	" timezone varchar(100) NOT NULL,"
	" `interval` int NOT NULL DEFAULT 4,"
	" max_snaps int NOT NULL DEFAULT 0,"
	" active tinyint(1) NOT NULL DEFAULT 1,"
	" CONSTRAINT uc_snapshot_policy__uuid UNIQUE (uuid),"
	" CONSTRAINT fk_snapshot_policy__volume_id FOREIGN KEY (volume_id) REFERENCES volumes(id)"
	"){TABLE_OPTIONS}",
	NULL,
};

static const struct schema_migration migrations[] = {
	{ 1, "volume encryption: passphrase, volumes, disk and service offerings", schema_v1 },
	{ 2, "API server: users, zone, hosts and details, async jobs, offering columns",
	  schema_v2 },
	{ 3, "control plane: pools, templates, instances, snapshots, volume foreign keys",
	  schema_v3 },
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == SCHEMA_VERSION_LATEST,
	       "SCHEMA_VERSION_LATEST must name the last migration");

static const char schema_version_ddl[] = "CREATE TABLE IF NOT EXISTS schema_version ("
					 " version int unsigned NOT NULL PRIMARY KEY,"
					 " description varchar(255) NOT NULL,"
					 " applied datetime NOT NULL"
					 "){TABLE_OPTIONS}";

const struct schema_migration *schema_migrations(size_t *count)
{
	*count = sizeof(migrations) / sizeof(migrations[0]);
	return migrations;
}

int schema_render(const struct db_dialect *dialect, const char *tmpl, char **out,
		  struct vecs_err *err)
{
	static const char id_tok[] = "{ID_PK}", opt_tok[] = "{TABLE_OPTIONS}";
	size_t cap = strlen(tmpl) + 1, len = 0;
	const char *p = tmpl;
	char *buf;

	/* Each token is replaced at most a few times per statement; size generously. */
	cap += 4 * (strlen(dialect->id_pk) + strlen(dialect->table_options));
	buf = malloc(cap);
	if (!buf)
		return vecs_err_set(err, -ENOMEM, "out of memory rendering the schema");
	while (*p) {
		const char *word = NULL;
		size_t skip = 0;

		if (strncmp(p, id_tok, sizeof(id_tok) - 1) == 0) {
			word = dialect->id_pk;
			skip = sizeof(id_tok) - 1;
		} else if (strncmp(p, opt_tok, sizeof(opt_tok) - 1) == 0) {
			word = dialect->table_options;
			skip = sizeof(opt_tok) - 1;
		}
		if (word) {
			size_t wl = strlen(word);
			if (len + wl + 1 > cap) {
				free(buf);
				return vecs_err_set(err, -EOVERFLOW,
						    "schema statement has too many dialect tokens");
			}
			memcpy(buf + len, word, wl);
			len += wl;
			p += skip;
		} else {
			buf[len++] = *p++;
		}
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static int exec_rendered(struct db *db, const char *tmpl, struct vecs_err *err)
{
	char *sql = NULL;
	int r = schema_render(db->ops->dialect, tmpl, &sql, err);

	if (r == 0)
		r = db_exec(db, sql, err);
	free(sql);
	return r;
}

int schema_current_version(struct db *db, int *version, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	*version = 0;
	r = exec_rendered(db, schema_version_ddl, err);
	if (r < 0)
		return r;
	r = db_prepare(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version", &st, err);
	if (r < 0)
		return r;
	r = db_step(st, err);
	if (r == DB_ROW) {
		*version = (int)db_column_int64(st, 0);
		r = 0;
	}
	db_finalize(st);
	return r;
}

const char *schema_statement_for(const char *backend, const char *stmt)
{
	static const char sq[] = "@sqlite ", ma[] = "@mariadb ";

	if (strncmp(stmt, sq, sizeof(sq) - 1) == 0)
		return strcmp(backend, "sqlite") == 0 ? stmt + sizeof(sq) - 1 : NULL;
	if (strncmp(stmt, ma, sizeof(ma) - 1) == 0)
		return strcmp(backend, "mariadb") == 0 ? stmt + sizeof(ma) - 1 : NULL;
	return stmt;
}

static const char *statement_for(struct db *db, const char *stmt)
{
	return schema_statement_for(db_kind(db), stmt);
}

int db_migrate(struct db *db, struct vecs_err *err)
{
	struct db_stmt *ins = NULL;
	int current, r;

	/* Inside one transaction, so two processes starting together do not both apply a
	 * version. (SQLite's DDL is transactional; MariaDB commits around each DDL
	 * statement, so there a failed migration can leave part of a version behind.) */
	r = db_begin(db, err);
	if (r < 0)
		return r;
	r = schema_current_version(db, &current, err);
	if (r < 0)
		goto fail;
	if (current > SCHEMA_VERSION_LATEST) {
		r = vecs_err_set(err, -EPROTO,
				 "the database schema is version %d but this build knows only up "
				 "to version %d; use the build that wrote it or a fresh database",
				 current, SCHEMA_VERSION_LATEST);
		goto fail;
	}
	r = db_prepare(db,
		       "INSERT INTO schema_version (version, description, applied)"
		       " VALUES (?, ?, CURRENT_TIMESTAMP)",
		       &ins, err);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		const struct schema_migration *m = &migrations[i];

		if (m->version <= current)
			continue;
		for (const char *const *s = m->statements; *s; s++) {
			const char *text = statement_for(db, *s);

			if (!text)
				continue;
			r = exec_rendered(db, text, err);
			if (r < 0) {
				char inner[sizeof(err->msg)];
				if (err) {
					memcpy(inner, err->msg, sizeof(inner));
					vecs_err_set(err, r, "schema migration to version %d failed: %s",
						     m->version, inner);
				}
				goto fail;
			}
		}
		if ((r = db_reset(ins, err)) < 0 || (r = db_bind_int64(ins, 1, m->version, err)) < 0 ||
		    (r = db_bind_text(ins, 2, m->description, err)) < 0 ||
		    (r = db_step(ins, err)) < 0)
			goto fail;
	}
	db_finalize(ins);
	return db_commit(db, err);
fail:
	db_finalize(ins);
	db_rollback(db);
	return r;
}
