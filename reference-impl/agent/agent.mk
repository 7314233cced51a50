# Simulated KVM hosts (host.h) and their CLI vecs-host: build rules, included at the end
# of the top-level Makefile (`-include reference-impl/agent/agent.mk`), after
# reference.mk (whose `$(O)/reference-impl/%.o` rule adds -Ireference-impl). Objects are
# listed by name: other parts of agent/ (the channel client) have rules of their own.

HOST_OBJ := $(O)/reference-impl/agent/host.o

PROGRAMS += $(BIN)/vecs-host
all: $(BIN)/vecs-host

$(BIN)/vecs-host: $(O)/reference-impl/agent/vecs_host_main.o $(HOST_OBJ) $(UTIL_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS)

# vecs-agent, the KVM agent (README.md in this directory, COMMANDS.md): the channel
# client with command handlers on libvirt, qemu-img and libcryptsetup. The pure parts
# ($(REF_AGENT_PURE_OBJ), defined in reference.mk so vecs-ref-tests links them too) have
# CUnit tests in reference-impl/tests/test_agent_*.c.
AGENT_OBJ := $(REF_AGENT_PURE_OBJ) $(addprefix $(O)/reference-impl/agent/,agent_main.o \
	agent_core.o volume_cmds.o vm_cmds.o)
LDLIBS_AGENT := -lvirt -lcryptsetup $(LDLIBS_REF_CHAN)

PROGRAMS += $(BIN)/vecs-agent $(BIN)/vecs-agent-drive
all: $(BIN)/vecs-agent $(BIN)/vecs-agent-drive

$(BIN)/vecs-agent: $(AGENT_OBJ) $(REF_CHAN_CLIENT_OBJ) $(REF_CHAN_OBJ) $(UTIL_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_AGENT) $(LDFLAGS)

# The agents' test driver (reference-impl/tests/agent_drive.c): the management server's
# real channel end (mgmt/agent_channel.c, hosts registered in a SQLite database) with a
# control socket through which tests send single commands.
$(BIN)/vecs-agent-drive: $(O)/reference-impl/tests/agent_drive.o $(addprefix $(O)/reference-impl/mgmt/,agent_channel.o db_pool.o mgmt_log.o) $(REF_DB_OBJ) $(REF_CHAN_OBJ) $(UTIL_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_REF_MGMT) $(LDFLAGS)
