# The NFS server of the simulated stack (storage/nfs_server.h) and its CLI vecs-nfs.
# Included at the end of the top-level Makefile (`-include reference-impl/storage/nfs.mk`),
# after reference.mk, whose `$(O)/reference-impl/%.o` rule adds -Ireference-impl.
# storage.mk's wildcard already puts nfs_server.o into the storage objects; the CLI's
# main is in storage/cli/ so that wildcard leaves it out.

NFS_OBJ := $(O)/reference-impl/storage/nfs_server.o

PROGRAMS += $(BIN)/vecs-nfs
all: $(BIN)/vecs-nfs

$(BIN)/vecs-nfs: $(O)/reference-impl/storage/cli/vecs_nfs_main.o $(NFS_OBJ) $(UTIL_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS)
