# lvm — build, test, benchmark.
#
#   make            build build/lvm and build/liblvm.a (computed-goto dispatch, -O2)
#   make example    install missing Debian packages, build, run examples/fac.wat
#   make test       install missing packages; unit tests + the spec suite in every mode:
#                   goto dispatch, switch dispatch, budget 1 (yield everywhere), ASan+UBSan
#   make spec       the spec suite once, in the default build
#   make test-wasi  the WASI guest programs through build/lvm
#   make regress    tests/regress/*.wast, our own scripts for past bugs
#   make bench      compute workloads, lvm against native (bench/README.md)
#   make bench-noreds  the same without counting reductions, to see what counting costs
#   make clean
#
# -gdwarf-4: Debian 12's valgrind 3.19 cannot read clang 14's default DWARF 5.
#
# Variants are the same Makefile run with other settings into their own build folder:
#   DISPATCH=switch   the portable switch loop instead of computed goto (vm/config.h)
#   SAN=1             AddressSanitizer + UndefinedBehaviorSanitizer
#   TSAN=1            ThreadSanitizer (for the scheduler: make TSAN=1 test-actors)
#   REDUCTIONS=0      do not count reductions (for measuring their cost only: no preemption)
#   LTO=0             link build/lvm without link-time optimisation (see below)
#   BUILD=dir         where objects and binaries go

BUILD    ?= build
DISPATCH ?= goto
SAN      ?=
# Clang by default: for the computed-goto loop it keeps one dispatch jump per handler,
# where GCC 12 merges them into one shared jump and runs about twice as slow.
ifeq ($(origin CC),default)
  CC = clang
endif
OPT      ?= -O2

CFLAGS_BASE = -std=gnu11 -g -gdwarf-4 $(OPT) -Wall -Wextra -Wno-unused-parameter -fno-strict-aliasing \
              -fno-math-errno \
              -I. -MMD -MP
ifeq ($(DISPATCH),switch)
  CFLAGS_BASE += -DLVM_DISPATCH_SWITCH=1
endif
ifeq ($(REDUCTIONS),0)
  CFLAGS_BASE += -DLVM_REDUCTIONS=0
endif
ifeq ($(TSAN),1)
  CFLAGS_BASE += -fsanitize=thread -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=thread
endif
ifeq ($(SAN),1)
  CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
endif
CFLAGS  += $(CFLAGS_BASE)
# No libm: lvm rounds floats itself (vm/numeric.h) and sqrt is an instruction with
# -fno-math-errno; mapping libm would cost every process ~300 KiB resident (issue 5).
LDLIBS  += -lxxhash -lpthread

LIB_SRCS  = $(wildcard loader/*.c) $(wildcard vm/*.c) $(wildcard sched/*.c) $(wildcard hostfns/*.c) $(wildcard wasi/*.c)
# MINIMAL=1: the smallest lvm, for constrained boxes (vm/config.h, LVM_MINIMAL): -Oz, no
# unwind tables, unused functions dropped by the linker, not PIE, no libffi
# (minimal/native.c refuses --native), no WASI filesystem (minimal/wasi_nofs.c), no
# `lvm dis` (minimal/dis.c), no --trace or --top (minimal/trace.c). Its objects go to
# build/minimal unless BUILD is given.
# Otherwise libffi is linked, found by pkg-config.
ifeq ($(MINIMAL),1)
  ifeq ($(BUILD),build)
    BUILD = build/minimal
  endif
  OPT       = -Oz
  CFLAGS   += -DLVM_MINIMAL=1 -fno-asynchronous-unwind-tables -ffunction-sections -fdata-sections \
              -fno-pie
  # not position-independent: no dynamic relocations for the handler and function tables
  # (20 KiB), and segments packed without page padding
  LDFLAGS  += -Wl,--gc-sections -no-pie -Wl,-z,noseparate-code -Wl,--build-id=none
  LIB_SRCS := $(filter-out hostfns/native.c wasi/path.c wasi/sandbox.c wasi/dir.c \
                 vm/interp_trace.c vm/trace.c,$(LIB_SRCS)) \
              minimal/native.c minimal/wasi_nofs.c minimal/trace.c
else
  CFLAGS   += $(shell pkg-config --cflags libffi)
  LDLIBS   += $(shell pkg-config --libs libffi) -ldl
endif
LIB_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/%.o)
LVM_OBJS  = $(BUILD)/tools/main.o $(BUILD)/tools/dis.o $(BUILD)/tools/top.o
ifeq ($(MINIMAL),1)
  LVM_OBJS := $(filter-out $(BUILD)/tools/dis.o $(BUILD)/tools/top.o,$(LVM_OBJS)) \
              $(BUILD)/minimal/dis.o   # no `lvm dis`, no --top (minimal/trace.c)
endif
SPEC_OBJS = $(BUILD)/tests/spec/runner.o
UNIT_SRCS = $(wildcard tests/unit/*.c)
UNIT_OBJS = $(UNIT_SRCS:%.c=$(BUILD)/%.o)

.PHONY: lib install test-embed
.PHONY: all deps example examples test test-tools test-unit test-wasi test-actors test-docs spec regress bench bench-noreds clean
all: $(BUILD)/lvm $(BUILD)/liblvm.a

deps:
	@tools/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/liblvm.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The lvm binary takes xxhash and libffi from their static archives (Debian ships both):
# the few functions it uses cost less than mapping two more shared libraries (~150 KiB
# resident at start). liblvm.so keeps linking them dynamically.
comma := ,
STATIC  = -Wl$(comma)-Bstatic
DYNAMIC = -Wl$(comma)-Bdynamic
LVM_LDLIBS = $(subst -lxxhash,$(STATIC) -lxxhash $(DYNAMIC),$(subst -lffi,$(STATIC) -lffi $(DYNAMIC),$(LDLIBS)))
ifeq ($(MINIMAL),1)
  LVM_LDLIBS = $(LDLIBS)   # smallest file first: the shared libxxhash is on the box anyway
endif

# The lvm binary is linked with link-time optimisation: its objects are compiled a second
# time, as LLVM bitcode, into $(BUILD)/lto/, and lld optimises them as one program. What
# it buys is inlining across files — vm/ asks sched/ and hostfns/ for a process, memory
# or message through small functions at every host call — about 16% fewer instructions
# per message in the ring benchmark. liblvm.a and liblvm.so stay ordinary objects, so an
# embedder can link them with any C compiler. Not for MINIMAL (-Oz already inlines little,
# and it must stay small), the sanitizer builds, or a compiler other than clang.
LTO ?= 1
ifneq ($(MINIMAL)$(SAN)$(TSAN),)
  LTO = 0
endif
ifneq ($(notdir $(firstword $(CC))),clang)
  LTO = 0
endif
ifeq ($(LTO),1)
LTO_OBJS = $(patsubst $(BUILD)/%,$(BUILD)/lto/%,$(LVM_OBJS) $(LIB_OBJS))
$(BUILD)/lto/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -flto -c $< -o $@

$(BUILD)/lvm: $(LTO_OBJS)
	$(CC) $(LDFLAGS) -flto -fuse-ld=lld -o $@ $^ $(LVM_LDLIBS)
else
$(BUILD)/lvm: $(LVM_OBJS) $(BUILD)/liblvm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LVM_LDLIBS)
endif

$(BUILD)/spec-runner: $(SPEC_OBJS) $(BUILD)/liblvm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -ljansson

$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/liblvm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

# ---- guest programs (wasm32-wasi) -------------------------------------------------------
# C guests are compiled with -O2 -c and linked without -O: clang 14 runs binaryen's
# wasm-opt when it links with -O and finds one, which would make builds differ by machine.
GUEST_CC     = clang --target=wasm32-wasi
GUEST_CFLAGS = -O2 -Wall -Wextra -I.
SDK_SRCS     = $(wildcard sdk/*.c)
SDK_OBJS     = $(SDK_SRCS:%.c=build/guest/%.o)

build/guest/%.o: %.c $(wildcard sdk/*.h)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

build/examples/%.wasm: build/guest/examples/%.o $(SDK_OBJS)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $^ -o $@

$(BUILD)/examples/%.wasm: examples/%.wat
	@mkdir -p $(dir $@)
	wat2wasm $< -o $@

EXAMPLES = $(patsubst examples/%.c,build/examples/%.wasm,$(wildcard examples/*.c))
examples: $(EXAMPLES)

example: deps all $(BUILD)/examples/fac.wasm
	$(BUILD)/lvm --invoke fac $(BUILD)/examples/fac.wasm 20

# ---- spec suite -----------------------------------------------------------------------
# wast2json turns each .wast of the official suite into a .json script plus .wasm files.
SPEC_DIR  ?= ../shared/wasm-testsuite
SPEC_JSON  = build/spec-json
SPEC_WASTS = $(wildcard $(SPEC_DIR)/*.wast)
SPEC_STAMP = $(SPEC_JSON)/.stamp

$(SPEC_STAMP): $(SPEC_WASTS) tests/spec/convert.sh
	tests/spec/convert.sh $(SPEC_DIR) $(SPEC_JSON)
	@touch $@

spec: deps $(BUILD)/spec-runner $(SPEC_STAMP)
	$(BUILD)/spec-runner --expected tests/spec/expected-failures.txt $(SPEC_JSON)

# Regression tests: .wast scripts of our own, one per bug or tricky case, run by the same
# runner (tests/regress/README.md).
REGRESS_JSON  = build/regress-json
REGRESS_STAMP = $(REGRESS_JSON)/.stamp
$(REGRESS_STAMP): $(wildcard tests/regress/*.wast) tests/spec/convert.sh
	tests/spec/convert.sh tests/regress $(REGRESS_JSON)
	@touch $@

regress: deps $(BUILD)/spec-runner $(REGRESS_STAMP)
	$(BUILD)/spec-runner $(REGRESS_JSON)
	$(BUILD)/spec-runner --budget 1 $(REGRESS_JSON)

# ---- tests ----------------------------------------------------------------------------
test-unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# Actors: guest programs using sdk/, run through the real lvm binary (tests/actors/).
test-actors: $(BUILD)/lvm $(SDK_OBJS)
	tests/actors/run.sh $(BUILD)/lvm

# WASI: guest programs in C, built for wasm32-wasi and run through the real lvm binary
# with real directories, arguments and environment (tests/wasi/README.md).
test-wasi: $(BUILD)/lvm
	tests/wasi/run.sh $(BUILD)/lvm

# Tools and docs: `lvm dis` against the listings in tests/dis/, and every listing in docs/
# printed again by its tool and compared (tests/docs/check.py; --update rewrites them).
test-docs: $(BUILD)/lvm
	tests/dis/run.sh $(BUILD)/lvm
	python3 tests/docs/check.py --lvm $(BUILD)/lvm

# lvm --trace, --trace-sched, --top (in tmux, as a person sees it), --stats.
test-tools: $(BUILD)/lvm
	python3 tests/tools/run.py --lvm $(BUILD)/lvm

test: deps
	$(MAKE) test-tools test-unit spec regress test-wasi test-actors test-embed test-docs
	$(MAKE) BUILD=build/switch DISPATCH=switch spec regress test-docs
	$(BUILD)/spec-runner --budget 1 --expected tests/spec/expected-failures.txt $(SPEC_JSON)
	$(MAKE) BUILD=build/asan SAN=1 OPT=-O1 test-unit spec regress test-wasi test-actors test-docs
	$(MAKE) BUILD=build/tsan TSAN=1 OPT=-O1 test-unit test-actors
	@echo "make test: all passed"

bench: deps all
	python3 bench/run.py --lvm $(BUILD)/lvm
	python3 bench/run_actors.py --lvm $(BUILD)/lvm
	$(MAKE) MINIMAL=1 build/minimal/lvm
	python3 bench/footprint.py --lvm $(BUILD)/lvm --minimal build/minimal/lvm

# The same workloads on a build that does not count reductions: what counting costs.
bench-noreds: deps
	$(MAKE) BUILD=build/noreds REDUCTIONS=0 all
	python3 bench/run.py --lvm build/noreds/lvm --no-reductions

# ---- lvm as a C library (issue 5; docs/embedding.md) ------------------------------------
#
#   make lib                 build/liblvm.so and build/lvm.pc beside build/liblvm.a
#   make install PREFIX=dir  lvm, liblvm.a, liblvm.so, include/lvm.h, lvm.pc, lvm.1
#   make test-embed          tests/embed/ through include/lvm.h only, and examples/embed/
#                            built from an installed copy with pkg-config
#
# The shared library exports the lvm_* functions of include/lvm.h and nothing else: its
# objects are compiled again, position-independent, with -fvisibility=hidden, and lvm.h
# marks its functions LVM_API (visibility "default"). The static library and the lvm
# binary keep the objects of the default build.
PREFIX   ?= /usr/local
DESTDIR  ?=
PIC_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/pic/%.o)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/liblvm.so: $(PIC_OBJS)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,liblvm.so.0 -o $@ $^ $(LDLIBS)

# pkg-config file for PREFIX (rebuilt when PREFIX changes: it is written every time).
$(BUILD)/lvm.pc: FORCE
	@mkdir -p $(BUILD)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: lvm' 'Description: WebAssembly interpreter with an Erlang-style actor VM' \
	  'Version: $(LVM_VERSION)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -llvm' \
	  'Libs.private: $(strip $(LDLIBS))' $(if $(filter 1,$(MINIMAL)),,'Requires.private: libffi') \
	  > $@.tmp && (cmp -s $@.tmp $@ || mv $@.tmp $@) && rm -f $@.tmp
FORCE:
LVM_VERSION = $(shell sed -n 's/^\#define LVM_VERSION_STRING "\(.*\)"/\1/p' include/lvm.h)

lib: $(BUILD)/liblvm.a $(BUILD)/liblvm.so $(BUILD)/lvm.pc

install: all lib
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/lvm $(DESTDIR)$(PREFIX)/bin/lvm
	install -m 644 $(BUILD)/liblvm.a $(DESTDIR)$(PREFIX)/lib/liblvm.a
	install -m 755 $(BUILD)/liblvm.so $(DESTDIR)$(PREFIX)/lib/liblvm.so.0
	ln -sf liblvm.so.0 $(DESTDIR)$(PREFIX)/lib/liblvm.so
	install -m 644 include/lvm.h $(DESTDIR)$(PREFIX)/include/lvm.h
	install -m 644 $(BUILD)/lvm.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/lvm.pc
	install -m 644 docs/lvm.1 $(DESTDIR)$(PREFIX)/share/man/man1/lvm.1

# The tests: a test program and a native library of its own, the guest modules (.wat),
# then the example host program compiled from an installed copy, as a user would.
EMBED_WAT   = $(patsubst tests/embed/%.wat,$(BUILD)/tests/embed/%.wasm,$(wildcard tests/embed/*.wat))
EMBED_GUEST = $(BUILD)/tests/embed/hello.wasm

$(BUILD)/tests/embed/%.wasm: tests/embed/%.wat
	@mkdir -p $(dir $@)
	wat2wasm $< -o $@

$(BUILD)/tests/embed/hello.wasm: tests/embed/hello.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@.o && $(GUEST_CC) $@.o -o $@

$(BUILD)/tests/embed/libembedtest.so: tests/embed/testlib.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $<

$(BUILD)/tests/embed/tests.o: CFLAGS += -Iinclude
$(BUILD)/tests/embed/embed-tests: $(BUILD)/tests/embed/tests.o $(BUILD)/liblvm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm    # -lm: the tests bind libm's cos and others

$(BUILD)/examples/embed/guest.wasm: examples/embed/guest.wat
	@mkdir -p $(dir $@)
	wat2wasm $< -o $@

EMBED_PREFIX = $(abspath $(BUILD))/prefix
test-embed: $(BUILD)/tests/embed/embed-tests $(BUILD)/tests/embed/libembedtest.so $(EMBED_WAT) \
            $(EMBED_GUEST) $(BUILD)/examples/embed/guest.wasm
	$(BUILD)/tests/embed/embed-tests $(BUILD)/tests/embed
	$(MAKE) install PREFIX=$(EMBED_PREFIX)
	PKG_CONFIG_PATH=$(EMBED_PREFIX)/lib/pkgconfig sh -c \
	  'cc $(filter -fsanitize=%,$(CFLAGS)) -o $(BUILD)/examples/embed/host examples/embed/host.c \
	     $$(pkg-config --cflags --libs lvm) -lm'
	LD_LIBRARY_PATH=$(EMBED_PREFIX)/lib $(BUILD)/examples/embed/host $(BUILD)/examples/embed/guest.wasm
	awk '/^```c host.c/{f=1;next} /^```/{f=0} f' docs/embedding.md | diff - examples/embed/host.c
	awk '/^```wat guest.wat/{f=1;next} /^```/{f=0} f' docs/embedding.md | diff - examples/embed/guest.wat

clean:
	rm -rf build bench/out

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
