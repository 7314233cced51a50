/* Scenarios as data: the model the YAML files in scenarios/ load into
 * (scenarios/README.md documents the format for scenario authors).
 *
 * A scenario is one operation (normally one row of the seed's support matrix): a list
 * of steps (CloudStack API calls and checkpoints), what each step must answer, and the
 * invariants that must hold after every step. The loader is strict: an unknown key, a
 * bad value or a reference to nothing is an error naming file:line:column, because a
 * vendor's typo that is silently ignored is a test that silently does not run. */
#ifndef VECS_ENGINE_SCENARIO_H
#define VECS_ENGINE_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Storage types every scenario expands over unless it names its own. */
#define VECS_STORAGE_COUNT 4
extern const char *const vecs_storage_types[VECS_STORAGE_COUNT]; /* nfs local smp scaleio */
int vecs_storage_index(const char *name); /* -1 when unknown */

enum vecs_expected { VECS_EXPECT_SUPPORTED, VECS_EXPECT_REFUSED };
const char *vecs_expected_name(enum vecs_expected e); /* "supported" | "refused" */

/* The fixed list of invariant names (scenarios/README.md says what each checks). */
enum vecs_invariant {
	VECS_INV_NO_PLAINTEXT_AT_REST,
	VECS_INV_LUKS_HEADER_CONFORMANT,
	VECS_INV_PASSPHRASE_IN_DB,
	VECS_INV_PASSPHRASE_ENCRYPTED_AT_REST,
	VECS_INV_PASSPHRASE_UNLOCKS,
	VECS_INV_PASSPHRASE_UNCHANGED,
	VECS_INV_PASSPHRASE_NEW,
	VECS_INV_PASSPHRASE_REMOVED,
	VECS_INV_NO_SECRET_IN_ARGV,
	VECS_INV_NO_SECRET_IN_LOGS,
	VECS_INV_NO_LIBVIRT_SECRET_LEFT,
	VECS_INV_NO_ORPHAN_PASSPHRASE, /* every passphrase row is used, every encrypted volume has one */
	VECS_INV_NO_STRAY_KEY_FILE,    /* no key file left in any agent's key directory */
	VECS_INV_API_MATCHES_STORAGE,  /* every Ready volume the API lists has its bytes, and
					* encrypted ones carry a LUKS header */
	VECS_INV_NO_LEAKED_DOMAIN,     /* running domains and Running VMs are the same set */
	VECS_INV__COUNT
};
const char *vecs_invariant_name(enum vecs_invariant inv);
int vecs_invariant_from_name(const char *name); /* -1 when unknown */

/* Where a value came from, for messages about it. */
struct vecs_pos {
	int line, col; /* 1-based */
};

/* A name and a template string: an API parameter or a field check. Values may hold
 * `${...}` references (engine/template.h). */
struct vecs_kv {
	char *name;
	char *value;
	struct vecs_pos pos;
};

/* `bind: {vm: virtualmachine}`: name an object of a step's response, so later steps
 * write ${vm.id} for ${steps.<step>.virtualmachine.id}. */
struct vecs_bind {
	char *name;
	char *path;
	struct vecs_pos pos;
};

/* An invariant checked after one step only, optionally about one volume. */
struct vecs_inv_ref {
	enum vecs_invariant inv;
	char *volume; /* template, or NULL: every volume of the cell */
	struct vecs_pos pos;
};

enum vecs_step_kind { VECS_STEP_API, VECS_STEP_CHECKPOINT };

enum vecs_checkpoint {
	VECS_CP_WRITE_CANARY,     /* write canary bytes through the guest-visible path */
	VECS_CP_VERIFY_CANARY,    /* read them back through the same path */
	VECS_CP_SNAPSHOT_STATE,   /* record DB rows and volume bytes of the cell */
	VECS_CP_VERIFY_UNCHANGED, /* DB rows and volume bytes equal a recorded state */
	VECS_CP_GUEST_REPORT,     /* the booted tiny guest wrote and read its disk: its serial
				   * log says so, with the canary's digest (a write_canary for
				   * verify_canary) */
};
const char *vecs_checkpoint_name(enum vecs_checkpoint cp);

struct vecs_step {
	char *id;
	struct vecs_pos pos;
	enum vecs_step_kind kind;
	bool operation; /* the step the matrix row is about (timed, reported) */

	/* VECS_STEP_API */
	char *call; /* CloudStack command name */
	struct vecs_kv *params;
	size_t n_params;
	bool async;          /* returns a jobid: poll queryAsyncJobResult to the end */
	unsigned timeout_s;  /* 0: the engine's default */
	struct vecs_bind *binds;
	size_t n_binds;
	bool expect_refused;
	struct vecs_kv *fields; /* success: response path -> expected value */
	size_t n_fields;
	int errorcode;    /* refused */
	char *errortext;  /* refused: exact text, `<placeholder>`s and ${...} allowed */
	struct vecs_pos expect_pos;

	/* VECS_STEP_CHECKPOINT */
	enum vecs_checkpoint checkpoint;
	char *label;     /* canary / state name, referred to by the verify checkpoints */
	char *volume;    /* template: volume id (canary checkpoints) */
	char *vm;        /* template: VM whose guest-visible path is used, or NULL */
	uint64_t offset; /* canary byte offset in the volume */
	uint64_t size;   /* canary byte count */
	bool present;    /* verify_canary: true = must read back, false = must be gone */

	/* after this step, in addition to the scenario's invariants */
	struct vecs_inv_ref *invariants;
	size_t n_invariants;
	uint32_t skip_invariants; /* bit per enum vecs_invariant: not after this step */
};

struct vecs_needs {
	unsigned hosts; /* KVM hosts with encryption support */
	unsigned pools; /* primary storage pools of the cell's storage type */
	bool guest;     /* a booting tiny guest (guest-visible canary path) */
};

struct vecs_scenario {
	char *path; /* file it came from */
	char *id;
	char *title;
	char *matrix_row; /* the seed's operation text, or NULL */
	char *note;       /* where CloudStack's code and the seed differ, or NULL */
	enum vecs_expected expected;
	bool storage[VECS_STORAGE_COUNT];
	char **profiles; /* NULL: every profile */
	size_t n_profiles;
	struct vecs_needs needs;
	uint32_t invariants; /* bit per enum vecs_invariant, after every step */
	struct vecs_step *steps;
	size_t n_steps;
};

/* A run profile (scenarios/profiles/<id>.yaml): conformance rules plus KDF speed. */
struct vecs_run_profile {
	char *path;
	char *id;
	char *title;
	char *oracle_profile; /* the `vecs inspect` profile the headers are judged by */
	char *kdf;            /* "fast" | "production" */
	bool is_default;
	char *cipher, *mode, *hash, *encrypt_format;
	unsigned key_bytes, active_keyslots, passphrase_bytes, passphrase_length;
};

struct vecs_scenario_set {
	struct vecs_scenario *scenarios; /* sorted by id */
	size_t n;
	struct vecs_run_profile *profiles; /* sorted by id */
	size_t n_profiles;
};

/* Load one scenario file. 0, or -errno with err = "FILE:LINE:COL: what is wrong". */
int vecs_scenario_load_file(const char *path, struct vecs_scenario *sc, struct vecs_err *err);
/* The same from a string (tests); name stands in for the file name in messages. */
int vecs_scenario_load_string(const char *name, const char *yaml, struct vecs_scenario *sc,
			      struct vecs_err *err);
void vecs_scenario_free(struct vecs_scenario *sc);

int vecs_run_profile_load_file(const char *path, struct vecs_run_profile *p,
			       struct vecs_err *err);
int vecs_run_profile_load_string(const char *name, const char *yaml, struct vecs_run_profile *p,
				 struct vecs_err *err);
void vecs_run_profile_free(struct vecs_run_profile *p);

/* Load DIR/matrix/ *.yaml and DIR/profiles/ *.yaml (scenarios/). Each scenario id must
 * equal its file name, ids must be unique, and every profile a scenario names must
 * exist. */
int vecs_scenario_set_load(const char *dir, struct vecs_scenario_set *set, struct vecs_err *err);
void vecs_scenario_set_free(struct vecs_scenario_set *set);
const struct vecs_run_profile *vecs_scenario_set_profile(const struct vecs_scenario_set *set,
							 const char *id);
const struct vecs_run_profile *vecs_scenario_set_default_profile(const struct vecs_scenario_set *set);

/* The scenarios directory: $VECS_SCENARIOS, else ../../scenarios next to the running
 * executable (build/bin/vecs in the tree), else ./scenarios. */
const char *vecs_scenarios_dir_default(char *buf, size_t len);

/* The seed's Volume Encryption Support Matrix, row by row. */
struct vecs_matrix_row {
	const char *operation; /* scenario id */
	const char *row;       /* the seed's operation text, exactly */
	bool supported;        /* the seed's "Is it supported?" */
};
extern const struct vecs_matrix_row vecs_matrix[];
extern const size_t vecs_matrix_len;
const struct vecs_matrix_row *vecs_matrix_find_row(const char *row_text);

#endif
