# Reference implementation: build rules, included at the end of the top-level Makefile
# (`-include reference-impl/reference.mk`). Uses its $(CC) $(CFLAGS), $(O), $(BIN),
# $(UTIL_OBJ) and the generic `$(O)/%.o: %.c` rule.
#
# The reference implementation links harness/util (the shared utility library) and
# nothing else of harness/: no oracle, engine or fault code (DESIGN.md, "Layout").

REF_DB_SRC   := $(wildcard reference-impl/db/*.c)
REF_MGMT_SRC := $(filter-out reference-impl/mgmt/mgmt_main.c,$(wildcard reference-impl/mgmt/*.c))
# agent_echo.c and agent_drive.c are programs of their own (vecs-test-agent,
# vecs-agent-drive), not test files
REF_TEST_SRC := $(filter-out reference-impl/tests/agent_echo.c reference-impl/tests/agent_drive.c,$(wildcard reference-impl/tests/*.c))
# the agent's pure parts (XML, qemu-img argv, secret UUIDs, capability parsing), unit-
# tested in vecs-ref-tests; the agent itself is built by agent/agent.mk
REF_AGENT_PURE_OBJ := $(addprefix $(O)/reference-impl/agent/,agent_uuid.o agent_xml.o \
	qemu_img_argv.o agent_caps.o)
# the management server <-> agent channel: shared protocol, and the agent's client
REF_CHAN_SRC := $(wildcard reference-impl/channel/*.c)
REF_CHAN_OBJ := $(REF_CHAN_SRC:%.c=$(O)/%.o)
REF_CHAN_CLIENT_OBJ := $(O)/reference-impl/agent/channel_client.o
LDLIBS_REF_CHAN := -ljansson -lcrypto -lpthread
REF_DB_OBJ   := $(REF_DB_SRC:%.c=$(O)/%.o)
REF_MGMT_OBJ := $(REF_MGMT_SRC:%.c=$(O)/%.o)
# the one CUnit runner of the tree (harness/tests/test_main.c)
REF_TEST_OBJ := $(REF_TEST_SRC:%.c=$(O)/%.o) $(O)/harness/tests/test_main.o
LDLIBS_REF_DB := -lsqlite3 -lmariadb -lcrypto
LDLIBS_REF_MGMT := -lmicrohttpd -lpthread -ljansson -lcurl $(LDLIBS_REF_DB)

# `override` so the include path survives a CFLAGS given on the command line.
$(O)/reference-impl/%.o: override CFLAGS += -Ireference-impl
# MariaDB Connector/C headers (libmariadb-dev)
$(O)/reference-impl/db/db_mariadb.o: override CFLAGS += -I/usr/include/mariadb

# `all: $(PROGRAMS)` was expanded before this file was read, hence both lines.
PROGRAMS += $(BIN)/vecs-ref-tests $(BIN)/vecs-mgmt $(BIN)/vecs-ref-bench-api $(BIN)/vecs-test-agent
all: $(BIN)/vecs-ref-tests $(BIN)/vecs-mgmt $(BIN)/vecs-ref-bench-api $(BIN)/vecs-test-agent

$(BIN)/vecs-ref-tests: $(REF_TEST_OBJ) $(REF_AGENT_PURE_OBJ) $(REF_MGMT_OBJ) $(REF_DB_OBJ) $(REF_CHAN_OBJ) $(REF_CHAN_CLIENT_OBJ) $(UTIL_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lcunit $(LDLIBS_REF_MGMT) $(LDFLAGS)

# The API server of the control plane (reference-impl/README.md, "mgmt/").
$(BIN)/vecs-mgmt: $(O)/reference-impl/mgmt/mgmt_main.o $(REF_MGMT_OBJ) $(REF_DB_OBJ) $(REF_CHAN_OBJ) $(UTIL_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_REF_MGMT) $(LDFLAGS)

# A stand-in agent for the channel's integration test (t-agent-channel.sh): the channel
# client with the handlers echo, sleep, fail and passphrase_len.
$(BIN)/vecs-test-agent: $(O)/reference-impl/tests/agent_echo.o $(REF_CHAN_CLIENT_OBJ) $(REF_CHAN_OBJ) $(UTIL_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_REF_CHAN) $(LDFLAGS)

# API load client for harness/tests/bench/b-mgmt-api.sh: signs its own requests
# (OpenSSL only), so it shares no code with the server it measures.
$(BIN)/vecs-ref-bench-api: $(O)/reference-impl/tests/bench/bench_api.o
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lcrypto -lpthread $(LDFLAGS)
bench: $(BIN)/vecs-ref-bench-api $(BIN)/vecs-mgmt

# libFuzzer target of the request parser and signature code (`make fuzz-ref`).
REF_FUZZ_SRC := reference-impl/mgmt/api_params.c reference-impl/mgmt/api_sign.c
$(BUILD)/fuzz/fuzz_api_request: reference-impl/tests/fuzz/fuzz_api_request.c $(REF_FUZZ_SRC) $(UTIL_SRC) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Ireference-impl -o $@ $< $(REF_FUZZ_SRC) $(UTIL_SRC) -lcrypto

.PHONY: fuzz-ref
fuzz-ref: $(BUILD)/fuzz/fuzz_api_request
	@mkdir -p $(BUILD)/fuzz/corpus-fuzz_api_request
	$(BUILD)/fuzz/fuzz_api_request -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-fuzz_api_request \
		reference-impl/tests/fuzz/seeds
fuzz: fuzz-ref

.PHONY: unit-ref asan-ref valgrind-ref
unit: unit-ref
unit-ref: $(BIN)/vecs-ref-tests
	$(BIN)/vecs-ref-tests

# CFLAGS through the environment, not the command line, so the Makefile's own
# `CFLAGS +=` (warnings, -std, -Iharness) still apply.
asan-ref: | $(DEPS_STAMP)
	CFLAGS="$(SAN_FLAGS)" $(MAKE) BUILD=build/asan-ref LDFLAGS="-fsanitize=address,undefined" \
		build/asan-ref/bin/vecs-ref-tests build/asan-ref/bin/vecs-mgmt \
		build/asan-ref/bin/vecs-test-agent
	ASAN_OPTIONS=detect_leaks=1 build/asan-ref/bin/vecs-ref-tests

valgrind-ref: $(BIN)/vecs-ref-tests
	valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--quiet $(BIN)/vecs-ref-tests

# The tree-wide sanitizer and valgrind targets cover the reference tests too.
asan: asan-ref
valgrind: valgrind-ref
