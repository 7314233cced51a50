# Reference implementation: build rules, included at the end of the top-level Makefile
# (`-include reference-impl/reference.mk`). Uses its $(CC) $(CFLAGS), $(O), $(BIN),
# $(UTIL_OBJ) and the generic `$(O)/%.o: %.c` rule.
#
# The reference implementation links harness/util (the shared utility library) and
# nothing else of harness/: no oracle, engine or fault code (DESIGN.md, "Layout").

REF_DB_SRC   := $(wildcard reference-impl/db/*.c)
REF_TEST_SRC := $(wildcard reference-impl/tests/*.c)
REF_DB_OBJ   := $(REF_DB_SRC:%.c=$(O)/%.o)
REF_TEST_OBJ := $(REF_TEST_SRC:%.c=$(O)/%.o)
LDLIBS_REF_DB := -lsqlite3 -lcrypto

# `override` so the include path survives a CFLAGS given on the command line.
$(O)/reference-impl/%.o: override CFLAGS += -Ireference-impl

# `all: $(PROGRAMS)` was expanded before this file was read, hence both lines.
PROGRAMS += $(BIN)/vecs-ref-tests
all: $(BIN)/vecs-ref-tests

$(BIN)/vecs-ref-tests: $(REF_TEST_OBJ) $(REF_DB_OBJ) $(UTIL_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $(REF_TEST_OBJ) $(REF_DB_OBJ) $(UTIL_OBJ) -lcunit $(LDLIBS_REF_DB) $(LDFLAGS)

.PHONY: unit-ref asan-ref valgrind-ref
unit: unit-ref
unit-ref: $(BIN)/vecs-ref-tests
	$(BIN)/vecs-ref-tests

# CFLAGS through the environment, not the command line, so the Makefile's own
# `CFLAGS +=` (warnings, -std, -Iharness) still apply.
asan-ref: | $(DEPS_STAMP)
	CFLAGS="$(SAN_FLAGS)" $(MAKE) BUILD=build/asan-ref LDFLAGS="-fsanitize=address,undefined" \
		build/asan-ref/bin/vecs-ref-tests
	ASAN_OPTIONS=detect_leaks=1 build/asan-ref/bin/vecs-ref-tests

valgrind-ref: $(BIN)/vecs-ref-tests
	valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--quiet $(BIN)/vecs-ref-tests

# The tree-wide sanitizer and valgrind targets cover the reference tests too.
asan: asan-ref
valgrind: valgrind-ref
