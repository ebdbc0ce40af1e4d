# uwsgi-sentry. `make` builds the release binary; `make test` installs what it
# needs (Debian packages when missing and run as root; a Python venv under .venv/)
# and runs every test; `make demo` sends real events to a local Bugsink.
PREFIX   ?= /usr/local
SWIFT    ?= swift
PYTHON   ?= python3
VENV     := .venv/py
BIN      := .build/release/uwsgi-sentry
# Lean start-up (see README "Performance"): static Swift stdlib, libstdc++ linked
# statically too (its dynamic loading was 60% of our own start-up instructions),
# and no exported symbols (each one slows every symbol lookup of the dlopen'ed libcurl);
# libgcc's unwinder linked in too (one shared library fewer to load and relocate at each
# start: hand-off 1.85 -> 1.77 ms, peak RSS -0.5 MiB, perf stat over 300 runs).
# The Swift driver hard-codes -lstdc++; a linker script named libstdc++.so in
# .build-link/ points that at the static archive.
LINK_DIR := $(CURDIR)/.build-link
# --disable-local-rpath: SwiftPM adds -rpath=$$ORIGIN otherwise; a static binary needs
# none, and with it the loader probes the build directory (4 glibc-hwcaps dirs) for
# libm on every start.
# lld, with the functions start-up runs laid out together (link/startup-order.py says
# why; `make startup-order` remakes the list), and the relative relocations packed
# (RELR, glibc >= 2.36: 16,728 of them were 400 KB of .rela.dyn read at every start).
STARTUP_ORDER := $(CURDIR)/link/startup.order
# RELR only where the C library can read it: a binary with it does not start on an
# older glibc (Ubuntu 22.04's 2.35, say).
GLIBC_MINOR := $(shell getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc 2\.\([0-9]*\).*/\1/p')
PACK_RELOCS := $(if $(shell [ "$(GLIBC_MINOR)" -ge 36 ] 2>/dev/null && echo yes),-Xlinker -z -Xlinker pack-relative-relocs)
RELEASE_FLAGS := -c release --static-swift-stdlib --disable-local-rpath -Xlinker -L$(LINK_DIR) -Xlinker --no-export-dynamic \
                 -Xswiftc -Xclang-linker -Xswiftc -static-libgcc -Xswiftc -use-ld=lld \
                 -Xlinker --symbol-ordering-file=$(STARTUP_ORDER) -Xlinker --no-warn-symbol-ordering $(PACK_RELOCS)
APT_PACKAGES := libcurl4-openssl-dev uwsgi-core uwsgi-plugin-python3 uwsgi-dev python3-dev \
                nginx-light mandoc man-db hyperfine sqlite3 time openssl python3-venv g++ \
                dpkg-dev binutils lintian strace uwsgi-plugin-rack-ruby3.1 ruby-rack ruby3.1-dev ruby-sentry-ruby libpcre3-dev python3-uwsgidecorators

PLUGIN_OUT := .build/uwsgi-plugins
PLUGINS  := $(PLUGIN_OUT)/sentry_plugin.so $(PLUGIN_OUT)/sentry_pyframes_plugin.so $(PLUGIN_OUT)/sentry_rbframes_plugin.so
# Where `make install` puts the uWSGI plugins (Debian's uWSGI looks in /usr/lib/uwsgi/plugins).
PLUGINDIR ?= $(PREFIX)/lib/uwsgi/plugins
SHAREDIR  ?= $(PREFIX)/share/uwsgi-sentry

FUZZ_OUT := .build/fuzz
CORE_SOURCES := $(shell find Sources/SentryCore -name "*.swift")
CURL_SOURCES := $(wildcard Sources/CurlHTTP/*.swift)
FUZZ_TARGETS := options dsn packet response frame
FUZZ_RUNS ?= 1000000

.PHONY: all build startup-order plugin plugin-sanitized pypi-uwsgi pypi-more print-pypi-uwsgi deps venv test unit unit-quiet e2e bench demo install clean lint-man fuzz fuzz-build deb

all: build plugin

# uWSGI plugins are built by uWSGI itself, against the exact uWSGI installed.
plugin: $(PLUGINS)

# sentry_pyframes runs sentry_capture.py, compiled into it as a C string.
GENERATED := $(CURDIR)/.build/generated
CAPTURE_H := $(GENERATED)/sentry_capture.h
$(CAPTURE_H): plugin/sentry_pyframes/sentry_capture.py
	mkdir -p $(@D)
	$(PYTHON) -c 'import json, sys; src = open(sys.argv[1]).read(); assert src.isascii() and "\t" not in src; \
	  print("static const char sentry_capture_source[] = %s;" % json.dumps(src))' $< > $@

# sentry_rbframes runs sentry_capture.rb, likewise.
CAPTURE_RB_H := $(GENERATED)/sentry_capture_rb.h
$(CAPTURE_RB_H): plugin/sentry_rbframes/sentry_capture.rb
	mkdir -p $(@D)
	$(PYTHON) -c 'import json, sys; src = open(sys.argv[1]).read(); assert src.isascii() and "\t" not in src; \
	  print("static const char sentry_capture_rb_source[] = %s;" % json.dumps(src))' $< > $@

$(PLUGIN_OUT)/%_plugin.so: plugin/%/*.c plugin/%/uwsgiplugin.py
	mkdir -p $(PLUGIN_OUT)
	cd $(PLUGIN_OUT) && SENTRY_GENERATED=$(GENERATED) PYTHON=/usr/bin/python3 uwsgi --build-plugin $(CURDIR)/plugin/$* >/dev/null

$(PLUGIN_OUT)/sentry_pyframes_plugin.so: $(CAPTURE_H)
$(PLUGIN_OUT)/sentry_rbframes_plugin.so: $(CAPTURE_RB_H)

$(PLUGIN_OUT)/sentry_plugin.so: plugin/sentry/*.h plugin/sentry/crash/*.c plugin/sentry/crash/*.h

# The loader with AddressSanitizer and UBSan, and with ThreadSanitizer, for
# e2e/test_sanitizers.py.
plugin-sanitized: .build/uwsgi-plugins-sanitized/sentry_plugin.so .build/uwsgi-plugins-tsan/sentry_plugin.so

.build/uwsgi-plugins-sanitized/sentry_plugin.so: plugin/sentry/*.c plugin/sentry/crash/*.c plugin/sentry/crash/*.h plugin/sentry/*.h plugin/sentry/uwsgiplugin.py
	mkdir -p $(@D)
	cd $(@D) && SENTRY_PLUGIN_SANITIZE=address PYTHON=/usr/bin/python3 uwsgi --build-plugin $(CURDIR)/plugin/sentry >/dev/null

.build/uwsgi-plugins-tsan/sentry_plugin.so: plugin/sentry/*.c plugin/sentry/crash/*.c plugin/sentry/crash/*.h plugin/sentry/*.h plugin/sentry/uwsgiplugin.py
	mkdir -p $(@D)
	cd $(@D) && SENTRY_PLUGIN_SANITIZE=thread PYTHON=/usr/bin/python3 uwsgi --build-plugin $(CURDIR)/plugin/sentry >/dev/null

build: $(LINK_DIR)/libstdc++.so
	@# SwiftPM does not know the order file: a newer one means a new link.
	@if [ -e $(BIN) ] && [ $(STARTUP_ORDER) -nt $(BIN) ]; then rm -f $(BIN); fi
	$(SWIFT) build $(RELEASE_FLAGS)

$(LINK_DIR)/libstdc++.so:
	mkdir -p $(LINK_DIR)
	a=$$(g++ -print-file-name=libstdc++.a); if [ -f "$$a" ]; then echo "INPUT($$a)" > $@; else touch $(LINK_DIR)/.no-static-libstdc++; fi

startup-order: build
	$(VENV)/bin/python link/startup-order.py $(BIN) $(STARTUP_ORDER)

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (run as root or install them)"; exit 1; fi; \
	fi

SDK_VENV := .venv/sdk
venv: $(VENV)/.ready $(SDK_VENV)/.ready

# sentry-python for the Python uWSGI runs (Debian's), for the tests that compare with it.
$(SDK_VENV)/.ready: e2e/requirements-sdk.txt
	/usr/bin/python3 -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install -q --disable-pip-version-check -r e2e/requirements-sdk.txt
	touch $@

$(VENV)/.ready: e2e/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r e2e/requirements.txt
	touch $@

# A build folder of its own (debug, testable), so that it can run beside e2e: SwiftPM
# locks its folder, and the e2e tests use the release build.
UNIT_BUILD := .build-unit
unit:
	$(SWIFT) test --scratch-path $(UNIT_BUILD)

# The unit tests beside the end-to-end suites: these mostly wait on servers and uWSGI,
# the unit tests' build mostly computes. The unit tests' report comes at the end.
unit-quiet:
	@$(SWIFT) test --scratch-path $(UNIT_BUILD) > $(UNIT_BUILD).log 2>&1 || { cat $(UNIT_BUILD).log; echo "unit tests FAILED"; exit 1; }
	@grep -E "Executed [0-9]+ tests" $(UNIT_BUILD).log | tail -1

# PyPI's uWSGI (what pip users have), built from source ONCE per machine into a
# cache outside the clone (a fresh clone finds it there; CACHE= moves it, and a
# cache that cannot be made falls back to .venv/), and the loader and
# sentry_pyframes built against it: the one-line set-up runs on it in tests.
PYPI_UWSGI_VERSION := 2.0.31
CACHE ?= $(HOME)/.cache/uwsgi-sentry
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)
PYPI_UWSGI_HOME := $(shell mkdir -p $(CACHE) 2>/dev/null && echo $(CACHE) || echo $(CURDIR)/.venv)/uwsgi-$(PYPI_UWSGI_VERSION)-py$(PYVER)
PYPI_UWSGI := $(PYPI_UWSGI_HOME)/bin/uwsgi
PYPI_PLUGINS := .build/uwsgi-plugins-pypi
pypi-uwsgi: $(PYPI_PLUGINS)/sentry_plugin.so $(PYPI_PLUGINS)/sentry_pyframes_plugin.so

# pip writes bin/uwsgi last: a build that was cut short is built again. flock: two
# clones building at once take turns.
$(PYPI_UWSGI):
	mkdir -p $(PYPI_UWSGI_HOME)
	flock $(PYPI_UWSGI_HOME) sh -c 'test -x $@ || { $(PYTHON) -m venv $(PYPI_UWSGI_HOME) && \
	  $(PYPI_UWSGI_HOME)/bin/pip install -q --disable-pip-version-check --no-cache-dir uwsgi==$(PYPI_UWSGI_VERSION); }'

$(PYPI_PLUGINS)/%_plugin.so: $(PYPI_UWSGI) plugin/%/*.c plugin/%/uwsgiplugin.py
	mkdir -p $(@D)
	cd $(@D) && SENTRY_GENERATED=$(GENERATED) PYTHON=/usr/bin/python3 $(PYPI_UWSGI) --build-plugin $(CURDIR)/plugin/$* >/dev/null

$(PYPI_PLUGINS)/sentry_plugin.so: plugin/sentry/*.h plugin/sentry/crash/*.c plugin/sentry/crash/*.h
$(PYPI_PLUGINS)/sentry_pyframes_plugin.so: $(CAPTURE_H)

# The same uWSGI built with pyenv's other Pythons (the crash tests read the Python
# stack of each: CPython's dumper, version by version), each with the loader and
# sentry_pyframes built against it in .build/uwsgi-plugins-pypi-X.Y, beside a link to
# its uwsgi. A Python that pyenv does not have is an error, not a skip.
PYENV_VERSIONS ?= $(HOME)/.pyenv/versions
PYPI_CACHE := $(shell mkdir -p $(CACHE) 2>/dev/null && echo $(CACHE) || echo $(CURDIR)/.venv)
PYPI_MORE := 3.12 3.13
pypi-more: $(foreach v,$(PYPI_MORE),.build/uwsgi-plugins-pypi-$(v)/sentry_pyframes_plugin.so)

.build/uwsgi-plugins-pypi-%/sentry_pyframes_plugin.so: plugin/sentry/*.c plugin/sentry/crash/*.c plugin/sentry/crash/*.h plugin/sentry/*.h \
  plugin/sentry/uwsgiplugin.py plugin/sentry_pyframes/*.c plugin/sentry_pyframes/uwsgiplugin.py $(CAPTURE_H)
	@py=$$(ls -d $(PYENV_VERSIONS)/$*.*/bin/python3 2>/dev/null | sort -V | tail -1); \
	test -x "$$py" || { echo "no Python $* in $(PYENV_VERSIONS) (pyenv install $*)"; exit 1; }; \
	home=$(PYPI_CACHE)/uwsgi-$(PYPI_UWSGI_VERSION)-py$$($$py -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])'); \
	mkdir -p $$home $(@D) && flock $$home sh -c "test -x $$home/bin/uwsgi || { $$py -m venv $$home && \
	  $$home/bin/pip install -q --disable-pip-version-check --no-cache-dir uwsgi==$(PYPI_UWSGI_VERSION); }" && \
	ln -sfn $$home/bin/uwsgi $(@D)/uwsgi && cd $(@D) && \
	SENTRY_GENERATED=$(GENERATED) PYTHON=$$py ./uwsgi --build-plugin $(CURDIR)/plugin/sentry >/dev/null && \
	SENTRY_GENERATED=$(GENERATED) PYTHON=$$py ./uwsgi --build-plugin $(CURDIR)/plugin/sentry_pyframes >/dev/null

# Where that uWSGI is, for tests and benchmarks run without make.
print-pypi-uwsgi:
	@echo $(PYPI_UWSGI)

# The end-to-end suites, in parallel (they mostly wait on servers and uWSGI), with
# what operators install made once first. ARGS=... goes to pytest (a file, -k, -n 1).
E2E_PREFIX := $(CURDIR)/.build/e2e-prefix
JOBS ?= 4
ARGS ?=
e2e: build plugin plugin-sanitized pypi-uwsgi pypi-more venv
	rm -rf $(E2E_PREFIX) $(E2E_PREFIX)-cmd
	$(MAKE) -s install PREFIX=$(E2E_PREFIX) >/dev/null
	$(MAKE) -s install PREFIX=$(E2E_PREFIX)-cmd LOADER=no >/dev/null
	PYPI_UWSGI=$(PYPI_UWSGI) UWSGI_SENTRY_TEST_PREFIX=$(E2E_PREFIX) UWSGI_SENTRY_TEST_PREFIX_CMD=$(E2E_PREFIX)-cmd \
	  $(VENV)/bin/python -m pytest -q -p no:cacheprovider -n $(JOBS) --dist loadgroup --durations=15 $(ARGS) e2e

# The fuzz corpora are replayed inside `unit` (CorpusReplayTests); `make fuzz` runs
# the long campaigns under AddressSanitizer.
# The unit tests' debug build starts beside the release build (e2e's first step): the
# release build of the core is one whole-module job on one CPU for most of its time.
test: deps venv lint-man
	$(MAKE) --no-print-directory -j2 unit-quiet e2e

# libFuzzer targets (Fuzz/*.swift) over the library's sources, with AddressSanitizer.
# CurlHTTP is built first as a module of its own (it is one in the package too), so
# the fuzzed sources import it exactly as they do in the real build.
fuzz-build: $(addprefix $(FUZZ_OUT)/,$(FUZZ_TARGETS))

$(FUZZ_OUT)/CurlHTTP.swiftmodule: $(CURL_SOURCES) Sources/CCurl/shim.h
	mkdir -p $(FUZZ_OUT)
	swiftc -sanitize=address -parse-as-library -O -g -enable-library-evolution -module-name CurlHTTP \
	  -Xcc -fmodule-map-file=Sources/CCurl/module.modulemap -I Sources/CCurl \
	  -emit-module -emit-module-path $@ -emit-library -static -o $(FUZZ_OUT)/libCurlHTTP.a $(CURL_SOURCES)

FUZZ_TARGETS_SOURCE := Tests/SentryCoreTests/Fuzz/FuzzTargets.swift

$(FUZZ_OUT)/%: Fuzz/%.swift $(FUZZ_TARGETS_SOURCE) $(CORE_SOURCES) $(FUZZ_OUT)/CurlHTTP.swiftmodule
	swiftc -sanitize=fuzzer,address -parse-as-library -O -g -use-ld=lld -I $(FUZZ_OUT) -I Sources/SentryRing/include -L $(FUZZ_OUT) -lCurlHTTP \
	  -module-name Fuzz_$* $(CORE_SOURCES) $(FUZZ_TARGETS_SOURCE) $< -o $@

# Each target for FUZZ_RUNS executions; new inputs that reach new code join Fuzz/corpus/.
fuzz: fuzz-build
	for t in $(FUZZ_TARGETS); do \
	  $(FUZZ_OUT)/$$t -runs=$(FUZZ_RUNS) -max_len=4096 -timeout=5 -print_final_stats=1 Fuzz/corpus/$$t || exit 1; \
	done

lint-man:
	@out=$$(mandoc -Tlint -W warning man/uwsgi-sentry.1 2>&1); if [ -n "$$out" ]; then echo "$$out"; exit 1; fi

bench: deps venv build plugin
	@# Every script runs and prints its tables; a MISS in any fails the target at the end.
	status=0; for b in daemon_cost ok_cost bursts uwsgi_cost rack_cost first_exception requests_cost traces_cost sender; do PYTHONPATH=e2e $(VENV)/bin/python bench/$$b.py || status=1; echo; done; exit $$status

demo: deps venv build plugin
	PYTHONPATH=e2e $(VENV)/bin/python demo/demo.py

# LOADER=no: a host without the loader plugin (no uwsgi-dev): the cmd: variants of
# the snippets (examples/cmd/) are written instead.
LOADER ?= yes
SNIPPET_SED = -e 's|@SHARE@|$(SHAREDIR)|g' -e 's|@PLUGINDIR@|$(PLUGINDIR)|g' \
              -e 's|^set-placeholder = sentry_bin=uwsgi-sentry$$|set-placeholder = sentry_bin=$(PREFIX)/bin/uwsgi-sentry|'

install: build $(if $(filter yes,$(LOADER)),plugin)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/uwsgi-sentry
	install -D -m 0644 man/uwsgi-sentry.1 $(DESTDIR)$(PREFIX)/share/man/man1/uwsgi-sentry.1
	$(if $(filter yes,$(LOADER)),install -D -m 0644 -t $(DESTDIR)$(PLUGINDIR) $(PLUGINS))
	install -d $(DESTDIR)$(SHAREDIR)
	for f in examples/*.ini $(if $(filter no,$(LOADER)),examples/cmd/*.ini); do \
	  sed $(SNIPPET_SED) $$f > $(DESTDIR)$(SHAREDIR)/$$(basename $$f); \
	done

# The Debian package, built with dpkg-deb from what `make install` writes (see
# README "Debian package" for why not dpkg-buildpackage). Depends are computed by
# dpkg-shlibdeps, plus what it cannot see: libcurl4 (dlopen()ed) and the exact
# uwsgi-core the plugins were built against.
VERSION  := $(shell sed -n 's/.*current = "\([^"]*\)".*/\1/p' Sources/SentryCore/Command/Version.swift)
DEB_ARCH  = $(shell dpkg --print-architecture)
DEB       = uwsgi-sentry_$(VERSION)_$(DEB_ARCH).deb
DEB_ROOT := .build/deb/root
DEB_DOC  := $(DEB_ROOT)/usr/share/doc/uwsgi-sentry

deb: $(DEB)

$(DEB): build plugin packaging/* man/uwsgi-sentry.1 examples/*.ini
	rm -rf .build/deb && mkdir -p $(DEB_ROOT)/DEBIAN .build/deb/debian
	$(MAKE) -s install DESTDIR=$(CURDIR)/$(DEB_ROOT) PREFIX=/usr PLUGINDIR=/usr/lib/uwsgi/plugins >/dev/null
	strip --remove-section=.comment --remove-section=.note --strip-unneeded $(DEB_ROOT)/usr/bin/uwsgi-sentry $(DEB_ROOT)/usr/lib/uwsgi/plugins/*.so
	gzip -9n $(DEB_ROOT)/usr/share/man/man1/uwsgi-sentry.1
	install -D -m 0644 packaging/copyright $(DEB_DOC)/copyright
	gzip -9nc packaging/changelog > $(DEB_DOC)/changelog.gz && chmod 0644 $(DEB_DOC)/changelog.gz
	install -D -m 0644 packaging/lintian-overrides $(DEB_ROOT)/usr/share/lintian/overrides/uwsgi-sentry
	install -m 0755 packaging/postrm $(DEB_ROOT)/DEBIAN/postrm
	printf 'Source: uwsgi-sentry\n\nPackage: uwsgi-sentry\nArchitecture: any\n' > .build/deb/debian/control
	cd .build/deb && dpkg-shlibdeps -O -e root/usr/bin/uwsgi-sentry -e root/usr/lib/uwsgi/plugins/sentry_plugin.so \
	  -e root/usr/lib/uwsgi/plugins/sentry_pyframes_plugin.so 2>/dev/null | sed -n 's/^shlibs:Depends=//p' > shlibs
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' -e "s/@SIZE@/$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)/" \
	  -e "s/@SHLIBS@/$$(cat .build/deb/shlibs)/" -e "s/@UWSGI@/$$(dpkg-query -W -f='$${Version}' uwsgi-core)/g" \
	  packaging/control.in > $(DEB_ROOT)/DEBIAN/control
	cd $(DEB_ROOT) && find usr -type f -exec md5sum {} + | sort -k2 > DEBIAN/md5sums
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $@ >/dev/null

clean:
	rm -rf .build .venv
