# nosco build. `make` builds build/nosco; `make check` runs every test tier;
# `make demo` shows nosco at work. ASAN=1 builds with AddressSanitizer and
# UBSan, WERROR=1 turns warnings into errors (CI does), O=DIR builds elsewhere.
# DEBUG=1 (and ASAN=1) compile the debug checks in (NOSCO_DEBUG: which thread
# owns the core and the store, src/util/owner.h); other builds leave them out.

VERSION := 0.1.0
O ?= build
CC ?= gcc
PKG_CONFIG ?= pkg-config

PKGS := libelf libdw sqlite3 libzstd libprotobuf-c libmicrohttpd
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wundef -Wpointer-arith -Wvla -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE -DNOSCO_VERSION='"$(VERSION)"' $(WARN) $(CFLAGS) \
	-Isrc -MMD -MP
ifeq ($(ASAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ALL_LDFLAGS += -fsanitize=address,undefined
DEBUG := 1
endif
ifeq ($(DEBUG),1)
ALL_CFLAGS += -DNOSCO_DEBUG
endif
ifeq ($(WERROR),1)
ALL_CFLAGS += -Werror
endif
# The nosco binary is optimized across files (link-time optimization): the
# replay worker's path from a ring record to the trace file crosses the
# engine, the core and the store, a dozen calls per recorded call
# (13 % off a full trace of sqlite3, 14 % off sort's, bench/ab). The objects keep
# their plain code (fat), which the unit tests link without it. Not with
# ASAN=1, whose builds stay quick.
ifneq ($(ASAN),1)
LTO := -flto=auto
LIB_CFLAGS := $(LTO) -ffat-lto-objects
# The code is made at the link: there the compile's warnings are checked
# too, but for maybe-uninitialized, which then sees through calls across
# files and flags values set only where the callee returns 0.
LTO_LINK_FLAGS = $(CFLAGS) $(WARN) -Wno-maybe-uninitialized $(filter -Werror,$(ALL_CFLAGS))
TEST_LDFLAGS := -fno-lto
endif

# Dependencies come from Debian packages (scripts/install-deps). Zydis ships
# no .pc file, so it is linked by name.
DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libmicrohttpd is loaded by `nosco view` alone (src/web/server.c): its headers only.
DEP_LIBS = $(shell $(PKG_CONFIG) --libs $(filter-out libmicrohttpd,$(PKGS)) 2>/dev/null) \
	-lZydis -lZycore -lpthread
# The nosco binary takes the archives Debian ships with these packages, so a
# run maps and relocates 4 shared libraries instead of 13: in a VM whose page
# faults are dear that is 1.5 ms of every traced run's start-up (issue 10).
# Zydis (no archive) and the C library stay shared; libm, which only
# SQLite's SQL math functions need, is loaded when one is first called
# (src/store/libm.c, an object linked before the archives).
STATIC_PKGS := $(filter-out libmicrohttpd,$(PKGS))
NOSCO_LIBS = -Wl,-Bstatic \
	$(filter-out -pthread -lpthread -lm,$(shell $(PKG_CONFIG) --static --libs $(STATIC_PKGS) 2>/dev/null)) \
	-Wl,-Bdynamic -lZydis -lZycore -lpthread
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

LIB_SRCS := $(shell find src -name '*.c' ! -name main.c ! -name 'gen-*.c' | sort)
# Protocol buffers (perfetto's format): protoc-c compiles src/X.proto into
# $(O)/gen/X.pb-c.c and .h, which the sources include as "X.pb-c.h".
PROTOS := $(shell find src -name '*.proto' | sort)
PROTO_GEN := $(PROTOS:src/%.proto=$(O)/gen/%.pb-c.c)
# The empty trace file: src/store/gen-template.c makes it into $(O)/gen/store/template.c.
TEMPLATE_GEN := $(O)/gen/store/gen-template
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o) $(PROTO_GEN:%.c=%.o) $(O)/gen/store/template.o
ALL_CFLAGS += -I$(O)/gen
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%)

NOSCO := $(O)/nosco

.PHONY: all check check-unit check-e2e check-web check-engine check-damaged demo deps clean format \
	format-check bench
all: $(NOSCO)

ifneq ($(V),1)
Q := @
endif

$(O)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(LIB_CFLAGS) $(DEP_CFLAGS) -c $< -o $@

$(O)/gen/%.pb-c.c $(O)/gen/%.pb-c.h: src/%.proto
	@mkdir -p $(O)/gen
	@$(if $(Q),echo "  PROTOC  $<")
	$(Q)protoc-c --proto_path=src --c_out=$(O)/gen $<

# Generated code: compiled without the project's warnings, which it does not follow.
$(O)/gen/%.pb-c.o: $(O)/gen/%.pb-c.c
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(filter-out $(WARN) -Werror,$(ALL_CFLAGS)) $(DEP_CFLAGS) -c $< -o $@

$(TEMPLATE_GEN): $(O)/src/store/gen-template.o $(O)/src/store/format.o $(O)/src/util/err.o
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $(LDFLAGS) -o $@ $^ $(NOSCO_LIBS) -lm

$(O)/gen/store/template.c: $(TEMPLATE_GEN)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(TEMPLATE_GEN) $(O)/gen/store/template.db $@

$(O)/gen/store/template.o: $(O)/gen/store/template.c
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# The sources that include a generated header need it first.
$(LIB_OBJS) $(O)/src/main.o: | $(PROTO_GEN:%.c=%.h)

# The viewer's page is embedded with .incbin: rebuilt when a file of the page changes.
$(O)/src/web/assets.o: $(wildcard src/web/page/*)

$(O)/libnosco.a: $(LIB_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

# Not position-independent: the loader then has 4,500 relocations fewer to
# apply at every start: 0.3 to 0.5 ms of every command here (issue 10).
$(NOSCO): $(O)/src/main.o $(O)/src/store/libm.o $(O)/libnosco.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -no-pie $(LTO) $(LTO_LINK_FLAGS) $(ALL_LDFLAGS) $(LDFLAGS) -o $@ $^ $(NOSCO_LIBS)

$(O)/tests/unit/%: tests/unit/%.c $(O)/libnosco.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TEST-CC $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(DEP_CFLAGS) -Itests/unit $(TEST_LDFLAGS) $(ALL_LDFLAGS) $(LDFLAGS) -o $@ $< \
		$(O)/libnosco.a $(CMOCKA_LIBS) $(DEP_LIBS)

# Installs what is missing (and nothing when all is there).
deps:
	@scripts/install-deps --quiet

check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@tests/run-tests $(O)

check-unit: $(UNIT_BINS)
	@tests/run-tests --unit $(O)

check-e2e: $(NOSCO) $(O)/tests/unit/test-view-kdl
	@tests/run-tests --e2e $(O)

check-web: deps $(NOSCO)
	@tests/run-tests --web $(O)

# The engines' differential test (dbt against step, tests/e2e/engines.py)
# with deeper traces of programs of the system: minutes, not part of check.
check-engine: $(NOSCO)
	@python3 tests/e2e/engines.py --build $(O) --deep

# Every dump view on damaged traces (tests/e2e/damaged.py, part of check),
# with ten times more random damage: minutes, not part of check.
check-damaged: $(NOSCO)
	@NOSCO_DAMAGED_BIG=1 tests/run-tests --damaged $(O)

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo $(O)

bench: $(NOSCO)
	@for b in bench/*/run; do echo "== $$b"; $$b $(O) || exit 1; done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(O)

-include $(LIB_OBJS:.o=.d) $(O)/src/main.d $(O)/src/store/gen-template.d
