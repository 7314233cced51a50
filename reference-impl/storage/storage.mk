# Storage side of the reference implementation: the emulated PowerFlex (ScaleIO) gateway
# `vecs-scaleio-gw` (reference-impl/storage/README.md). Included at the end of the
# top-level Makefile (`-include reference-impl/storage/storage.mk`), after reference.mk,
# whose `$(O)/reference-impl/%.o` rule adds -Ireference-impl.

STORAGE_LIB_SRC := $(filter-out reference-impl/storage/scaleio_gateway.c,$(wildcard reference-impl/storage/*.c))
STORAGE_LIB_OBJ := $(STORAGE_LIB_SRC:%.c=$(O)/%.o)
LDLIBS_STORAGE  := -ljansson -lmicrohttpd -lpthread

PROGRAMS += $(BIN)/vecs-scaleio-gw
all: $(BIN)/vecs-scaleio-gw

$(BIN)/vecs-scaleio-gw: $(O)/reference-impl/storage/scaleio_gateway.o $(STORAGE_LIB_OBJ) $(UTIL_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_STORAGE) $(LDFLAGS)

# The CUnit tests (reference-impl/tests/test_scaleio_*.c) link the gateway's model, API
# and backend into vecs-ref-tests. reference.mk's recipe names its objects and libraries
# through variables expanded when it runs, so appending here is enough (its libraries
# already hold -ljansson); the prerequisite list was fixed when reference.mk was read,
# hence the extra rule line.
REF_TEST_OBJ    += $(STORAGE_LIB_OBJ)
$(BIN)/vecs-ref-tests: $(STORAGE_LIB_OBJ)
