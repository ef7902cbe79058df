#!/usr/bin/env bash
# Reproducible build of every plugin into dist/<crate>.wasm and dist/SHA256SUMS.
#
#   plugins/build.sh          build, then write dist/ (commit the result)
#   plugins/build.sh --check  build, then fail unless the bytes equal the committed dist/
#                             (CI runs this: the committed binaries must be what the source builds)
#
# Procedures pin each plugin's sha256, so the bytes must not depend on the machine or on the
# folder of the checkout: the toolchain is pinned (rust-toolchain.toml), the profile is fixed
# (Cargo.toml: opt-level "s", lto, codegen-units 1, strip, no debug info, no incremental), the
# lock file is used as is (--locked), and every absolute path rustc could embed (this folder,
# cargo's registry sources, the toolchain) is remapped to a fixed prefix.
set -euo pipefail
# Byte-wise sorting, so SHA256SUMS lists files in the same order under any locale.
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
cd "$here"

mode=write
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

cargo_home="$(realpath -m "${CARGO_HOME:-$HOME/.cargo}")"
rustup_home="$(realpath -m "${RUSTUP_HOME:-$HOME/.rustup}")"

# rust-toolchain.toml pins the compiler; make sure its wasm target is there (no-op when it is).
if command -v rustup >/dev/null 2>&1; then
  rustup target add wasm32-wasip2 >/dev/null
fi

export CARGO_INCREMENTAL=0
# The main workspace's CARGO_TARGET_DIR must not leak in: plugins have their own target dir.
export CARGO_TARGET_DIR="$here/target"
export RUSTFLAGS="--remap-path-prefix=$here=/motcua/plugins --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$rustup_home=/rustup"
unset CARGO_BUILD_RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

echo "building plugins with $(rustc --version)" >&2
cargo build --release --locked --workspace --target wasm32-wasip2

# Every cdylib crate of the workspace is a plugin; dist/ names them by package name.
crates=$(for toml in */Cargo.toml hostile/*/Cargo.toml; do
  if grep -q '"cdylib"' "$toml"; then sed -n 's/^name = "\(.*\)"$/\1/p' "$toml" | head -n 1; fi
done | sort)

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for crate in $crates; do
  cp "target/wasm32-wasip2/release/${crate//-/_}.wasm" "$out/$crate.wasm"
done
(cd "$out" && sha256sum -- *.wasm >SHA256SUMS)

if [ "$mode" = check ]; then
  if diff -u dist/SHA256SUMS "$out/SHA256SUMS"; then
    echo "plugins: rebuilt bytes match dist/SHA256SUMS" >&2
  else
    echo "plugins: rebuilt plugins differ from dist/ (see diff above): a plugin's source," \
      "Cargo.lock or the toolchain changed without rebuilding dist/, or the build is not" \
      "reproducible. Run plugins/build.sh and commit dist/ (and update the procedures' sha256)." >&2
    exit 1
  fi
else
  mkdir -p dist
  rm -f dist/*.wasm
  cp "$out"/*.wasm "$out/SHA256SUMS" dist/
  cat dist/SHA256SUMS
fi
