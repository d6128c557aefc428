# SPDX-License-Identifier: GPL-2.0
#
# rveth: out-of-tree Rust network driver.
#
#   make               build rveth.ko against the project's kernel (built and
#                      cached on first use), or against KDIR=<Rust-enabled
#                      kernel build tree>
#   make demo          boot the VM and show rveth working
#   make bench         rveth vs veth benchmark (table, build/bench/*.json|png)
#   make test          set everything up, run the whole test suite in the VM
#   make test-debug    the suite at full stress scale plus fault injection
#                      and kmemleak, on the debug kernel (kernel/debug.config)
#   make setup         host packages and tools only
#   make kernel        the project's kernel only
#   make clippy        build with CLIPPY=1
#   make rust-analyzer rust-project.json for src/
#   make plugin        iproute2/link_rveth.so (ip link ... type rveth peer ...)
#   make install       module into /lib/modules/<kernel>/updates (+ depmod)
#                      and the plugin into iproute2's plugin directory
#   make uninstall     the reverse
#   make clean

SHELL := /bin/bash
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

ifeq ($(KDIR),)
# The project's kernel, from the cache (scripts/kernel.sh prints its path).
KDIR_AUTO = $(shell $(TOP)/scripts/kernel.sh 2>/dev/null | tail -n1)
endif

# The module must be built by the same rustc as the kernel.
export RUSTUP_TOOLCHAIN := $(shell sed -n 's/^channel *= *"\(.*\)"/\1/p' $(TOP)/rust-toolchain.toml)
RVETH_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rveth
export PATH := $(RVETH_CACHE)/tools/bin:$(HOME)/.cargo/bin:$(PATH)
export LIBCLANG_PATH ?= $(firstword $(wildcard $(RVETH_CACHE)/venv/lib/python3*/site-packages/clang/native))

# The toolchain a project kernel was built with (LLVM=... for the debug
# flavour), recorded by scripts/kernel.sh; empty for any other KDIR.
kbuild_args = $(shell cat $(1)/.rveth-kbuild-args 2>/dev/null)

.PHONY: all modules setup kernel clippy clean rust-analyzer test test-debug demo bench test-harness \
	plugin install uninstall

# iproute2 looks for link_<kind>.so here (Debian/Ubuntu multiarch path).
IP_LIB_DIR ?= /usr/lib/$(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/ip
INSTALL_MOD_DIR ?= updates
PLUGIN := $(TOP)/iproute2/link_rveth.so

all: modules

setup:
	@$(TOP)/scripts/setup-host.sh

kernel: setup
	@$(TOP)/scripts/kernel.sh >/dev/null

ifeq ($(KDIR),)
modules: kernel
	@$(MAKE) --no-print-directory KDIR="$$($(TOP)/scripts/kernel.sh 2>/dev/null | tail -n1)" modules
else
# Objects and generated bindings belong to one kernel: start clean when
# KDIR changed since the last build. The rm has a line of its own: a line
# that contains $(MAKE) runs even under `make -n`.
kdir_changed = [ "$$(cat $(TOP)/.rveth-kdir 2>/dev/null)" != "$(KDIR)" ]
modules:
	@if $(kdir_changed); then $(MAKE) -s -C $(KDIR) M=$(TOP) $(call kbuild_args,$(KDIR)) clean >/dev/null 2>&1 || true; fi
	@if $(kdir_changed); then rm -f $(TOP)/src/net/bindings_generated.rs; echo "$(KDIR)" >$(TOP)/.rveth-kdir; fi
	$(MAKE) -C $(KDIR) M=$(TOP) $(call kbuild_args,$(KDIR)) modules
endif

clippy:
	@$(MAKE) --no-print-directory CLIPPY=1 modules

ifeq ($(KDIR),)
rust-analyzer: kernel
	@$(MAKE) --no-print-directory KDIR="$$($(TOP)/scripts/kernel.sh 2>/dev/null | tail -n1)" rust-analyzer
else
rust-analyzer:
	$(MAKE) -C $(KDIR) M=$(TOP) $(call kbuild_args,$(KDIR)) rust-analyzer
endif

clean:
	@k=$${KDIR:-$$(ls -d $(RVETH_CACHE)/kernel/*-default-*/ 2>/dev/null | head -n1)}; \
	if [ -n "$$k" ]; then $(MAKE) -C $$k M=$(TOP) $$(cat $$k/.rveth-kbuild-args 2>/dev/null) clean; fi
	rm -f src/net/bindings_generated.rs src/net/bindings_generated.rs.d rust-project.json $(PLUGIN)

plugin: $(PLUGIN)

$(PLUGIN): $(TOP)/iproute2/link_rveth.c
	gcc -Wall -Wextra -Werror -O2 -fPIC -shared -o $@ $<

# The kernel release of KDIR (default: the project's kernel).
kernelrelease = $(shell cat $(or $(KDIR),$(KDIR_AUTO))/include/config/kernel.release)

install: $(PLUGIN)
	@test -f $(TOP)/rveth.ko || { echo "rveth.ko not built: run make first"; exit 1; }
	$(MAKE) -C $(or $(KDIR),$(KDIR_AUTO)) M=$(TOP) $(call kbuild_args,$(or $(KDIR),$(KDIR_AUTO))) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) modules_install
	depmod -a $(kernelrelease)
	install -D -m 0644 $(PLUGIN) $(DESTDIR)$(IP_LIB_DIR)/link_rveth.so

uninstall:
	rm -f /lib/modules/$(kernelrelease)/$(INSTALL_MOD_DIR)/rveth.ko
	depmod -a $(kernelrelease)
	rm -f $(DESTDIR)$(IP_LIB_DIR)/link_rveth.so

test:
	@$(TOP)/scripts/run-tests.sh

test-debug:
	@$(TOP)/scripts/run-tests.sh --debug

demo:
	@$(TOP)/scripts/run-tests.sh --demo

# rveth vs veth side by side in one VM run (not part of `make test`).
bench:
	@$(TOP)/scripts/run-tests.sh --bench

test-harness:
	@$(TOP)/scripts/harness-selftest.sh
