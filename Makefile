# SPDX-License-Identifier: BSD-3-Clause
# memscope - build, test, bench. Generated files go to .output/.
#   make            build memscope-trace, the examples and the sampling library
#   make deps       install the Debian packages the build and tests need (only missing ones)
#   make demo       deps + build + trace a bundled example and print the report
#   make test       deps + build + every test (unit, integration with real BPF)
#   make bench      deps + build + benchmarks (ratios from one run)

# On a machine without the build's Debian packages, a plain `make` stops
# here with one line naming them, not deep in the build at a missing header.
# One dpkg-query per make run (~50 ms); skipped for the goals that install
# them first (deps, demo, test, bench) or need none (clean).
ifeq ($(filter deps demo test bench clean,$(MAKECMDGOALS)),)
MISSING_DEPS := $(shell ./scripts/deps.sh --missing-build)
ifneq ($(MISSING_DEPS),)
$(error missing Debian packages: $(MISSING_DEPS); run `make deps` (as root) to install them)
endif
endif

OUTPUT  := .output
CC      ?= cc
CLANG   ?= clang
BPFTOOL ?= bpftool
ARCH    := x86
V       ?= 0

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS_COMMON := -g -O2 -Wall -Wextra -Wshadow -Werror -std=gnu11 -Iinclude -Iuser -I$(OUTPUT) -MMD -MP
CFLAGS  ?=
LIBS    := -pthread -lm -ljson-c -lbpf -lelf -lz -ldw -lcapstone -lcap -Wl,--push-state,--no-as-needed -lstdc++ -Wl,--pop-state
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Iinclude \
	      -I/usr/include/x86_64-linux-gnu -Wall -Wshadow -Werror -MMD -MP

# user/ is one folder per stage (README "Layout"). The core - util, registry
# and report - never includes libbpf, libdw or capstone: unit tests and the
# fuzzer link it alone, and scripts/check-layers.sh fails the build if a file
# includes what its folder may not.
USER_DIRS := cli trace probe proc elf registry report util
CORE_DIRS := util registry report
USER_SRCS := $(foreach d,$(USER_DIRS),$(wildcard user/$(d)/*.c))
USER_HDRS := $(foreach d,$(USER_DIRS),$(wildcard user/$(d)/*.h))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
CORE_SRCS := $(foreach d,$(CORE_DIRS),$(wildcard user/$(d)/*.c))

EXAMPLES := $(patsubst examples/%.c,$(OUTPUT)/examples/%,$(wildcard examples/*.c)) \
	    $(patsubst examples/%.cpp,$(OUTPUT)/examples/%,$(wildcard examples/*.cpp))
TEST_PROGS := $(patsubst tests/progs/%.c,$(OUTPUT)/tests/%,$(filter-out tests/progs/plugin.c tests/progs/unwind_nofp_lib.c tests/progs/alloc_leak.c,$(wildcard tests/progs/*.c))) \
	      $(OUTPUT)/tests/libplugin.so $(OUTPUT)/tests/libunwind_nofp.so $(OUTPUT)/tests/libunwind_nofp_dl.so \
	      $(OUTPUT)/tests/alloc_je $(OUTPUT)/tests/alloc_tc $(OUTPUT)/tests/alloc_mi $(OUTPUT)/tests/alloc_all \
	      $(patsubst tests/progs/%.cpp,$(OUTPUT)/tests/%,$(wildcard tests/progs/*.cpp)) \
	      $(OUTPUT)/tests/site_sp
# tests/progs/alloc_apis.cpp once more per allocator a program may link
ALLOC_APIS := $(OUTPUT)/tests/alloc_apis_je $(OUTPUT)/tests/alloc_apis_tc $(OUTPUT)/tests/alloc_apis_mi
TEST_PROGS += $(ALLOC_APIS)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/unit/%,$(wildcard tests/unit/*.c))

.PHONY: all deps demo test unit bench clean fuzz
.DELETE_ON_ERROR:
.SECONDARY:

SAMPLE_LIB := $(OUTPUT)/libmemscope_sample.so

all: $(OUTPUT)/memscope-trace $(EXAMPLES) $(TEST_PROGS) $(if $(wildcard sample/*.c),$(SAMPLE_LIB))

# the opt-in sampling library (sampled mode), preloaded into a target
$(SAMPLE_LIB): $(wildcard sample/*.c sample/*.h) include/memscope.h | $(OUTPUT)
	$(call msg,LIB,$@)
	$(Q)$(CC) -g -O2 -fPIC -shared -fno-omit-frame-pointer -fvisibility=hidden -ftls-model=initial-exec -Wall -Wextra -Wshadow -Werror \
		-Iinclude -Isample $(wildcard sample/*.c) -o $@ -ldl -pthread

# fuzzing: libFuzzer + ASan/UBSan over the registry and every report writer
FUZZ_SRCS := $(wildcard tests/fuzz/*.c)
FUZZ_TIME ?= 600
$(OUTPUT)/fuzz/%: tests/fuzz/%.c $(CORE_SRCS) $(USER_HDRS) $(wildcard include/*.h) $(HTML_PAGE)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(OUTPUT)/fuzz
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Iinclude -Iuser -I$(OUTPUT) $< $(CORE_SRCS) $(FUZZ_EXTRA_SRCS) -o $@ -lm
fuzz: $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))
	$(Q)for f in $^; do mkdir -p $(OUTPUT)/fuzz/corpus-$$(basename $$f); \
		$$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 $(OUTPUT)/fuzz/corpus-$$(basename $$f) tests/fuzz/corpus || exit 1; done

deps:
	$(Q)./scripts/deps.sh

$(OUTPUT) $(OUTPUT)/examples $(OUTPUT)/tests $(OUTPUT)/unit:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# the HTML report's page, style and script, embedded in the tracer
HTML_PAGE := $(OUTPUT)/html_page.h
$(HTML_PAGE): scripts/embed.sh user/report/html/page.html user/report/html/page.css user/report/html/page.js | $(OUTPUT)
	$(call msg,EMBED,$@)
	$(Q)./scripts/embed.sh ms_page_html user/report/html/page.html ms_page_css user/report/html/page.css \
		ms_page_js user/report/html/page.js > $@
$(OUTPUT)/user/report/report_html.o: $(HTML_PAGE)

# every user object may include the skeleton (probe/loader.c does)
$(OUTPUT)/user/%.o: user/%.c $(OUTPUT)/memscope.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) -c $< -o $@

# which folder may include what (the architecture, checked)
$(OUTPUT)/layers.ok: scripts/check-layers.sh $(USER_SRCS) $(USER_HDRS) | $(OUTPUT)
	$(call msg,LAYERS,user/)
	$(Q)./scripts/check-layers.sh && touch $@

$(OUTPUT)/memscope-trace: $(USER_OBJS) $(OUTPUT)/layers.ok
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(USER_OBJS) $(LIBS) -o $@

# examples: real programs a user can trace (frame pointers for cheap stacks)
EX_CFLAGS := -g -O2 -fno-omit-frame-pointer -Wall -Wextra -Wshadow -Werror -Iinclude -pthread
EX_LIBS_libuv_server := -luv
$(OUTPUT)/examples/%: examples/%.c include/memscope.h | $(OUTPUT)/examples
	$(call msg,EXAMPLE,$@)
	$(Q)$(CC) $(EX_CFLAGS) $< -o $@ $(EX_LIBS_$*)
$(OUTPUT)/examples/%: examples/%.cpp include/memscope.h | $(OUTPUT)/examples
	$(call msg,EXAMPLE,$@)
	$(Q)$(CXX) $(filter-out -std=%,$(EX_CFLAGS)) $< -o $@

# test targets (tests/progs): built like examples; *_static linked statically
$(OUTPUT)/tests/%: tests/progs/%.c include/memscope.h $(wildcard tests/progs/*.h) | $(OUTPUT)/tests
	$(call msg,TESTPROG,$@)
	$(Q)$(CC) $(EX_CFLAGS) -fno-builtin-malloc -fno-builtin-free $< -o $@ $(if $(findstring _static,$*),-static)
# test tools with BPF programs of their own (tests/tools)
$(OUTPUT)/tests/%.bpf.o: tests/tools/%.bpf.c | $(OUTPUT)/tests
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Ibpf -c $< -o $@
$(OUTPUT)/tests/site_sp: tests/tools/site_sp.c $(OUTPUT)/tests/site_sp.skel.h user/elf/usdt_sites.c \
			 user/elf/segments.c | $(OUTPUT)/tests
	$(call msg,TESTTOOL,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -I$(OUTPUT)/tests $< user/elf/usdt_sites.c user/elf/segments.c -o $@ \
		-lbpf -lelf -lz
# programs linked with another allocator (tests/progs/alloc_leak.c)
ALLOC_LIBS_je := -ljemalloc
ALLOC_LIBS_tc := -ltcmalloc
ALLOC_LIBS_mi := -lmimalloc
ALLOC_LIBS_all := -ljemalloc -ltcmalloc -lmimalloc -ldl
ALLOC_LEAKS := $(patsubst %,$(OUTPUT)/tests/alloc_%,je tc mi all)
# a static pattern: alloc_apis (tests/progs/alloc_apis.cpp) is not one
$(ALLOC_LEAKS): $(OUTPUT)/tests/alloc_%: tests/progs/alloc_leak.c | $(OUTPUT)/tests
	$(call msg,TESTPROG,$@)
	$(Q)$(CC) $(EX_CFLAGS) -fno-builtin-malloc -fno-builtin-free $(if $(filter all,$*),-DALL_THREE) $< -o $@ \
		-Wl,--no-as-needed $(ALLOC_LIBS_$*)
$(OUTPUT)/tests/libplugin.so: tests/progs/plugin.c include/memscope.h | $(OUTPUT)/tests
	$(call msg,TESTLIB,$@)
	$(Q)$(CC) $(EX_CFLAGS) -fPIC -shared $< -o $@
# built as distributions build: -O2, no frame pointers (stack unwinding tests)
NOFP_CFLAGS := -g -O2 -fomit-frame-pointer -Iinclude -fno-builtin-malloc -fno-builtin-free -Wall -Wextra -Werror
$(OUTPUT)/tests/libunwind_nofp.so: tests/progs/unwind_nofp_lib.c | $(OUTPUT)/tests
	$(call msg,TESTLIB,$@)
	$(Q)$(CC) $(NOFP_CFLAGS) -fPIC -shared $< -o $@
$(OUTPUT)/tests/libunwind_nofp_dl.so: tests/progs/unwind_nofp_lib.c | $(OUTPUT)/tests
	$(call msg,TESTLIB,$@)
	$(Q)$(CC) $(NOFP_CFLAGS) -DNOFP_DL -fPIC -shared $< -o $@
$(OUTPUT)/tests/unwind_nofp: tests/progs/unwind_nofp.c include/memscope.h $(OUTPUT)/tests/libunwind_nofp.so | $(OUTPUT)/tests
	$(call msg,TESTPROG,$@)
	$(Q)$(CC) $(NOFP_CFLAGS) $< -o $@ -L$(OUTPUT)/tests -lunwind_nofp -ldl -Wl,-rpath,'$$ORIGIN'
$(OUTPUT)/tests/unwind_cxx: tests/progs/unwind_cxx.cpp | $(OUTPUT)/tests
	$(call msg,TESTPROG,$@)
	$(Q)$(CXX) -g -O2 -Wall -Wextra -Werror $< -o $@
$(OUTPUT)/tests/%: tests/progs/%.cpp include/memscope.h | $(OUTPUT)/tests
	$(call msg,TESTPROG,$@)
	$(Q)$(CXX) -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wshadow -Werror -Iinclude -pthread $< -o $@

ALLOC_APIS_FLAGS_je := -DUSE_JEMALLOC -ljemalloc
ALLOC_APIS_FLAGS_tc := -DUSE_TCMALLOC -ltcmalloc_minimal
ALLOC_APIS_FLAGS_mi := -DUSE_MIMALLOC -lmimalloc
$(OUTPUT)/tests/alloc_apis_%: tests/progs/alloc_apis.cpp | $(OUTPUT)/tests
	$(call msg,TESTPROG,$@)
	$(Q)$(CXX) -g -O1 -fno-builtin -Wall -Wextra -Werror $< -o $@ $(ALLOC_APIS_FLAGS_$*)

# unit tests: no root, no BPF, under AddressSanitizer + UBSan
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
$(OUTPUT)/unit/%: tests/unit/%.c $(USER_SRCS) $(USER_HDRS) $(wildcard include/*.h) $(HTML_PAGE) | $(OUTPUT)/unit
	$(call msg,UNIT,$@)
	$(Q)$(CC) -g -O1 -Wall -Wextra -Wshadow -Werror -std=gnu11 -Iinclude -Iuser -I$(OUTPUT) $(SAN) $< \
		$(UNIT_SRCS_$*) -o $@ $(UNIT_LIBS_$*)
UNIT_SRCS_test_registry := $(CORE_SRCS)
UNIT_LIBS_test_registry := -lm
UNIT_SRCS_test_reports := $(CORE_SRCS)
UNIT_SRCS_test_reach := user/registry/reach.c
UNIT_LIBS_test_reach := -lm
UNIT_LIBS_test_reports := -lm
UNIT_SRCS_test_symbolize := user/elf/symbolize.c user/proc/procmaps.c user/elf/segments.c
UNIT_SRCS_test_romaps := user/proc/romaps.c user/proc/procmaps.c user/elf/segments.c
UNIT_LIBS_test_romaps := -lelf
UNIT_LIBS_test_symbolize := -ldw -lelf
UNIT_SRCS_test_tsc_clock := user/probe/tsc_clock.c
UNIT_SRCS_test_varbuf := user/probe/varbuf.c
UNIT_SRCS_test_probe_place := user/elf/probe_place.c user/elf/elf_syms.c user/elf/segments.c user/elf/elf_deps.c
UNIT_SRCS_test_cfi_tables := user/elf/cfi_tables.c
UNIT_LIBS_test_cfi_tables := -ldw -lelf
UNIT_LIBS_test_probe_place := -lelf -lcapstone
UNIT_SRCS_test_usdt_sites := user/elf/usdt_sites.c user/elf/segments.c
UNIT_LIBS_test_usdt_sites := -lelf
UNIT_SRCS_test_ldso := user/elf/ldso.c user/elf/elf_syms.c user/elf/elf_deps.c user/elf/segments.c
UNIT_LIBS_test_ldso := -lelf
unit: $(UNIT_TESTS)

demo: deps all
	$(Q)./scripts/demo.sh

test: deps all unit $(OUTPUT)/fuzz/fuzz_registry
	$(Q)python3 tests/run.py

bench: deps all
	$(Q)./bench/run.sh
	$(Q)bash ./bench/sampled_bench.sh
	$(Q)bash ./bench/leak_bench.sh

clean:
	rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/tests/*.d $(OUTPUT)/user/*/*.d)

# ---- fleet: pprof, Prometheus metrics, install, Debian package (issue 18) ----
# Kept in one block so that it moves as one piece.
#   make install   [PREFIX=/usr/local] [DESTDIR=]   tracer, header, sampling library,
#                  pkg-config file, man page memscope-trace(8), bash completion
#   make uninstall [PREFIX=...] [DESTDIR=]
#   make deb       .output/memscope_$(VERSION)_$(DEB_ARCH).deb (then lintian it)

VERSION ?= 0.1
PREFIX  ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
INCLUDEDIR ?= $(PREFIX)/include
LIBDIR  ?= $(PREFIX)/lib
PKGLIBDIR := $(LIBDIR)/memscope
MANDIR  ?= $(PREFIX)/share/man
PCDIR   ?= $(PREFIX)/share/pkgconfig
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

# profile.proto as pprof ships it (Debian: golang-github-google-pprof-dev);
# protoc-c turns it into the C the pprof writer packs with. The generated
# code belongs to the report stage: report/pprof.c includes it as
# "report/profile.pb-c.h" (found through -I$(OUTPUT)).
PPROF_PROTO ?= /usr/share/gocode/src/github.com/google/pprof/proto/profile.proto
PB_DIR := $(OUTPUT)/report
PB_SRC := $(PB_DIR)/profile.pb-c.c
PB_OBJ := $(PB_DIR)/profile.pb-c.o
USER_OBJS += $(PB_OBJ)
LIBS += -lprotobuf-c -lmicrohttpd

$(PB_DIR)/profile.pb-c.c $(PB_DIR)/profile.pb-c.h: $(PPROF_PROTO)
	$(call msg,PROTOC,$@)
	$(Q)mkdir -p $(PB_DIR)
	$(Q)protoc-c --proto_path=$(dir $(PPROF_PROTO)) --c_out=$(PB_DIR) $(PPROF_PROTO)

$(PB_OBJ): $(PB_SRC) $(PB_DIR)/profile.pb-c.h
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O2 -Wall -Werror -I$(PB_DIR) $(CFLAGS) -c $< -o $@

$(OUTPUT)/user/report/pprof.o: $(PB_DIR)/profile.pb-c.h
$(OUTPUT)/memscope-trace: $(PB_OBJ)

# whatever links the report core links the generated code too (the unit
# and fuzz rules have no include hook: the -I rides with the sources)
PB_CORE := -I$(OUTPUT) $(PB_SRC)
UNIT_SRCS_test_registry += $(PB_CORE)
UNIT_LIBS_test_registry += -lprotobuf-c -lz
UNIT_SRCS_test_reports += $(PB_CORE)
UNIT_LIBS_test_reports += -lprotobuf-c -lz
FUZZ_EXTRA_SRCS += $(PB_CORE) -lprotobuf-c -lz
$(OUTPUT)/unit/test_registry $(OUTPUT)/unit/test_reports \
$(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS)): $(PB_SRC) $(PB_DIR)/profile.pb-c.h

.PHONY: install uninstall deb
install: $(OUTPUT)/memscope-trace $(SAMPLE_LIB) dist/memscope.pc.in
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGLIBDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(PCDIR) $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(OUTPUT)/memscope-trace $(DESTDIR)$(SBINDIR)/memscope-trace
	install -m 0644 include/memscope.h $(DESTDIR)$(INCLUDEDIR)/memscope.h
	install -m 0644 $(SAMPLE_LIB) $(DESTDIR)$(PKGLIBDIR)/libmemscope_sample.so
	sed -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@PKGLIBDIR@|$(PKGLIBDIR)|g' \
		dist/memscope-trace.8 > $(DESTDIR)$(MANDIR)/man8/memscope-trace.8
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/memscope-trace.8
	install -m 0644 dist/memscope-trace.bash $(DESTDIR)$(BASHCOMPDIR)/memscope-trace
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
		-e 's|@PKGLIBDIR@|$(PKGLIBDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		dist/memscope.pc.in > $(DESTDIR)$(PCDIR)/memscope.pc
	chmod 0644 $(DESTDIR)$(PCDIR)/memscope.pc

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/memscope-trace $(DESTDIR)$(INCLUDEDIR)/memscope.h \
		$(DESTDIR)$(PKGLIBDIR)/libmemscope_sample.so $(DESTDIR)$(MANDIR)/man8/memscope-trace.8 \
		$(DESTDIR)$(PCDIR)/memscope.pc $(DESTDIR)$(BASHCOMPDIR)/memscope-trace
	-rmdir $(DESTDIR)$(PKGLIBDIR) 2>/dev/null

# a hardened build of its own (Debian's build flags), staged with
# make install, packed with dpkg-deb
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
deb:
	$(Q)VERSION=$(VERSION) DEB_ARCH=$(DEB_ARCH) OUTPUT=$(OUTPUT) MAKE="$(MAKE)" ./dist/deb/build.sh

