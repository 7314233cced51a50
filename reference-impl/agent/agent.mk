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
