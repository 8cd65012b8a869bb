#!/bin/sh
# install-deps.sh installs the toolchain Ferry's Rust guest plugins build with: Debian's rustc
# and cargo, the wasm32-wasi standard library, the linker rustc uses for wasm (rust-lld, a
# link to Debian's lld), and the serde crates cargo reads from /usr/share/cargo/registry (the
# plugins build offline, from that directory).
#
# It is idempotent: it does nothing when the toolchain is already there, so `make` runs it on
# every build. Installing needs root, as CI has on a fresh Debian machine.
set -eu

packages="rustc cargo libstd-rust-dev-wasm32 librust-serde-dev librust-serde-json-dev librust-serde-derive-dev"

have_toolchain() {
	[ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] && [ -x /usr/bin/rust-lld ] || return 1
	# The wasm32-wasi standard library lives in the sysroot of Debian's rustc.
	sysroot=$(/usr/bin/rustc --print sysroot) || return 1
	ls "$sysroot"/lib/rustlib/wasm32-wasi/lib/libstd-*.rlib >/dev/null 2>&1 || return 1
	ls -d /usr/share/cargo/registry/serde-1.* /usr/share/cargo/registry/serde_json-1.* \
		/usr/share/cargo/registry/serde_derive-1.* >/dev/null 2>&1
}

if have_toolchain; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: the Rust toolchain for wasm32-wasi is missing; run this script as root, or install: $packages lld" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps.sh: installing $packages"
apt-get update -q
# Without recommends: they would bring all of clang and llvm for the one linker needed.
apt-get install -y -q --no-install-recommends $packages

# rustc ships /usr/bin/rust-lld as a link to the lld of its LLVM (lld-14 on bookworm), which
# it only recommends: install the package the link names.
if [ ! -x /usr/bin/rust-lld ]; then
	lld=$(basename "$(readlink /usr/bin/rust-lld)")
	echo "install-deps.sh: installing $lld (rust-lld)"
	apt-get install -y -q --no-install-recommends "$lld"
fi

if ! have_toolchain; then
	echo "install-deps.sh: installed $packages, but the wasm32-wasi toolchain is still incomplete" >&2
	exit 1
fi
