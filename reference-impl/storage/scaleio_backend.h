/* The real backend of the gateway (scaleio.h, struct sio_backend): each volume a sparse
 * file in the data dir attached to a loop device, a mapping a by-id symlink in the SDC's
 * directory, the model saved to DATA/state.json. Every object is appended to the
 * gateway's ledger (util/ledger.h) before it is created and marked done after it is
 * removed, so `vecs-scaleio-gw --reap` (or any ledger reaper) cleans up a dead gateway. */
#ifndef VECS_REF_STORAGE_SCALEIO_BACKEND_H
#define VECS_REF_STORAGE_SCALEIO_BACKEND_H

#include "storage/scaleio.h"
#include "util/ledger.h"

#define SIO_LEDGER "gateway.ledger"
#define SIO_STATE "state.json"

struct sio_real {
	struct vecs_ledger *ledger;
	uint64_t rec_dirs[SIO_MAX_SDCS][8]; /* dirs created for SDC link directories */
};

extern const struct sio_backend sio_real_backend;

/* Attach path to a free loop device (recorded in the ledger); dev gets /dev/loopN. */
int sio_loop_attach(struct vecs_ledger *l, const char *path, char dev[32], uint64_t *rec,
		    struct vecs_err *err);
/* Detach dev if it still backs path (a lazy detach when it is open). */
int sio_loop_detach(const char *dev, const char *path, struct vecs_err *err);
/* True when dev is attached to path. */
bool sio_loop_backs(const char *dev, const char *path);

/* Bring the machine in line with the loaded model after a start: adopt loops and links
 * that a previous gateway (killed, or stopped with --keep-volumes) left and that still
 * match, remove its other leftovers, start a fresh ledger owned by this process, then
 * attach and link what is missing. gw->vols come from the state file. */
int sio_real_start(struct sio_gw *gw, struct sio_real *ctx, struct vecs_err *err);
/* Clean shutdown: unlink every by-id link and detach every loop (files stay). */
int sio_real_stop(struct sio_gw *gw, struct vecs_err *err);
/* Remove everything a dead gateway's ledger in data_dir records. 0, -EBUSY when that
 * gateway still runs, or another -errno. */
int sio_real_reap(const char *data_dir, struct vecs_err *err);

#endif
