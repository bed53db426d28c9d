# evibridge: one non-recursive GNU Makefile. Every output goes to build/
# (build/asan/ or build/ubsan/ for the sanitized copies: `make SAN=asan`).

VERSION := 0.1.0
PREFIX ?= /usr/local
SAN ?=
B := build$(if $(SAN),/$(SAN))

CC ?= cc
CFLAGS ?= -O2 -g
WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla
SAN_asan := -fsanitize=address -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_ubsan := -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
EVB_CPPFLAGS := -D_GNU_SOURCE -DEVB_VERSION='"$(VERSION)"' -Ilib -I/usr/include/postgresql
EVB_CFLAGS := $(WARN) $(CFLAGS) $(SAN_$(SAN)) $(EVB_CPPFLAGS) -MMD -MP
EVB_LDFLAGS := $(LDFLAGS) $(SAN_$(SAN))
LIBS := -luv -ljansson -lpq -lspeexdsp -lwslay -lmbedtls -lmbedx509 \
	-lmbedcrypto -lhttp_parser -lm

LIB_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard lib/*.c))
DAEMONS := $(patsubst bin/%/main.c,%,$(wildcard bin/*/main.c))
PROGS := $(DAEMONS:%=$(B)/evb-%)
TOOLS := $(patsubst tools/%.c,$(B)/%,$(wildcard tools/evb-*.c))
UNIT := $(patsubst test/unit/%.c,$(B)/test/%,$(wildcard test/unit/test-*.c))
FUZZ_SRC := $(wildcard test/fuzz/fuzz-*.c)
FUZZ_REPLAY := $(patsubst test/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
BENCH := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
E2E := $(wildcard test/e2e/t*.sh)

.PHONY: all check test test-unit test-e2e asan ubsan test-asan test-ubsan fuzz \
	bench bench-audio bench-evi bench-logger bench-calls install clean deps demo run
.DEFAULT_GOAL := all

all: $(PROGS) $(TOOLS)

# Missing -dev packages: scripts/check-deps names them (and installs them
# with scripts/install-deps when run as root).
$(B)/.deps-ok: scripts/check-deps scripts/install-deps
	@mkdir -p $(B)
	@sh scripts/check-deps
	@touch $@

deps:
	sh scripts/install-deps

$(B)/obj/%.o: %.c | $(B)/.deps-ok
	@mkdir -p $(dir $@)
	$(CC) $(EVB_CFLAGS) -c -o $@ $<

$(B)/libevb.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

# One rule per daemon: bin/<role>/*.c -> build/evb-<role>.
define daemon_rule
$(B)/evb-$(1): $(patsubst %.c,$(B)/obj/%.o,$(wildcard bin/$(1)/*.c)) $(B)/libevb.a
	$$(CC) $$(EVB_LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rule,$(d))))

$(TOOLS): $(B)/%: $(B)/obj/tools/%.o $(B)/libevb.a
	$(CC) $(EVB_LDFLAGS) -o $@ $^ $(LIBS)

$(UNIT): $(B)/test/%: $(B)/obj/test/unit/%.o $(B)/libevb.a
	@mkdir -p $(dir $@)
	$(CC) $(EVB_LDFLAGS) -o $@ $^ $(LIBS)

# Fuzz targets linked with a standalone driver that replays a corpus.
$(FUZZ_REPLAY): $(B)/fuzz/%: $(B)/obj/test/fuzz/%.o $(B)/obj/test/fuzz/standalone.o $(B)/libevb.a
	@mkdir -p $(dir $@)
	$(CC) $(EVB_LDFLAGS) -o $@ $^ $(LIBS)

$(BENCH): $(B)/bench/%: $(B)/obj/bench/%.o $(B)/libevb.a
	@mkdir -p $(dir $@)
	$(CC) $(EVB_LDFLAGS) -o $@ $^ $(LIBS)

PROVE := prove --exec '' --timer

# playwright-core (npm, pinned by package-lock.json) drives Debian's chromium
# in the dashboard's browser test; no browser is downloaded.
NODE_STAMP := node_modules/.package-lock.json
$(NODE_STAMP): package.json package-lock.json | $(B)/.deps-ok
	npm ci --ignore-scripts --no-audit --no-fund

check: test
test: all $(UNIT) $(FUZZ_REPLAY) $(NODE_STAMP)
	EVB_BUILD=$(abspath $(B)) $(PROVE) $(UNIT) $(E2E)

test-unit: $(UNIT)
	$(PROVE) $(UNIT)

test-e2e: all $(FUZZ_REPLAY) $(NODE_STAMP)
	EVB_BUILD=$(abspath $(B)) $(PROVE) $(E2E)

asan:
	$(MAKE) SAN=asan all
ubsan:
	$(MAKE) SAN=ubsan all
test-asan:
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 $(MAKE) SAN=asan test
test-ubsan:
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(MAKE) SAN=ubsan test

# libFuzzer builds (clang): make fuzz FUZZ_S=60 runs each target that long.
FUZZ_S ?= 30
FUZZ_CC ?= clang
LF := build/libfuzzer
fuzz: | $(B)/.deps-ok
	@mkdir -p $(LF)
	@set -e; for src in $(FUZZ_SRC); do \
		t=$$(basename $$src .c); \
		echo "== $$t ($(FUZZ_S) s)"; \
		$(FUZZ_CC) -g -O1 -std=c11 $(EVB_CPPFLAGS) -fsanitize=fuzzer,address,undefined \
			-o $(LF)/$$t $$src lib/*.c $(LIBS); \
		mkdir -p $(LF)/corpus-$$t test/fuzz/corpus/$${t#fuzz-}; \
		$(LF)/$$t -max_total_time=$(FUZZ_S) -print_final_stats=1 \
			-artifact_prefix=$(LF)/crash-$$t- \
			$(LF)/corpus-$$t test/fuzz/corpus/$${t#fuzz-} 2>&1 | tail -n 12; \
	done

bench: bench-audio bench-evi bench-logger bench-calls
bench-audio: all $(BENCH)
	$(B)/bench/bench-audio
	sh bench/transcode-throughput.sh $(abspath $(B))

demo: all
	EVB_BUILD=$(B) sh scripts/demo

# The stack with your own evibridge.env (real Twilio / Vonage / Hume), no fakes.
run: all
	@test -f evibridge.env || { echo "make run: no ./evibridge.env: copy evibridge.env.sample and fill it in" >&2; exit 100; }
	$(B)/evb-supervise --config evibridge.env

bench-evi: all $(BENCH)
	$(B)/bench/bench-evi

bench-logger: all $(BENCH)
	sh bench/bench-logger.sh $(abspath $(B))

bench-calls: all
	sh bench/bench-calls.sh $(abspath $(B))

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/evibridge/sql \
		$(DESTDIR)$(PREFIX)/share/evibridge/web
	install -m 0755 $(PROGS) $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 sql/*.sql $(DESTDIR)$(PREFIX)/share/evibridge/sql/
	install -m 0644 web/* $(DESTDIR)$(PREFIX)/share/evibridge/web/

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
