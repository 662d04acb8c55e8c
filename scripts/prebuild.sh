#!/bin/sh
# Builds the prebuilt N-API addons the published package ships:
# prebuilds/linux-x64/node.napi.glibc.node and prebuilds/linux-arm64/node.napi.glibc.node,
# named as node-gyp-build looks them up (src/clock/native.ts loads them).
# One N-API binary serves every Node release from 20 on, so one build per
# architecture is enough. `npm pack` runs this (prepack); so does `npm run prebuild`.
#
# The build runs in a scratch copy of binding.gyp and native/, never in the
# package's build/: the package's own build/Release (what `npm ci` compiled,
# and what the tests load) stays untouched, even while a cross build runs.
#
# A foreign architecture is cross-compiled with Debian's cross gcc
# (gcc-aarch64-linux-gnu for arm64, gcc-x86-64-linux-gnu for x64), found on
# PATH as <triplet>-gcc. A missing compiler is an error: a package without one
# of its binaries would leave those machines without kernel timestamps.
# NTPKIT_PREBUILD_ARCHS (default "x64 arm64") picks the architectures.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
archs=${NTPKIT_PREBUILD_ARCHS:-x64 arm64}
host=$(node -p process.arch)

triplet() {
  case "$1" in
    x64) echo x86_64-linux-gnu ;;
    arm64) echo aarch64-linux-gnu ;;
    *) echo "prebuild: no cross toolchain known for $1 (x64 and arm64 are)" >&2; exit 1 ;;
  esac
}

# The ELF e_machine each architecture's binary must carry (EM_X86_64, EM_AARCH64).
elf_machine() {
  case "$1" in x64) echo 62 ;; arm64) echo 183 ;; esac
}

# e_machine of an ELF file: the little-endian 16-bit field at offset 18.
read_elf_machine() {
  od -An -tu2 -j18 -N2 "$1" | tr -d ' '
}

if command -v node-gyp >/dev/null 2>&1; then
  node_gyp=$(command -v node-gyp)
else
  node_gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
fi
prebuildify=$(cd "$root" && node -p "require.resolve('prebuildify/bin.js')")
# The headers next to this node (Debian's nodejs ships them), as in build-native.sh:
# node-gyp then needs no download.
if [ -z "${npm_config_nodedir:-}" ]; then
  prefix=$(dirname "$(dirname "$(command -v node)")")
  [ -f "$prefix/include/node/node_api.h" ] && export npm_config_nodedir="$prefix"
fi

# Every compiler is checked before any build, so a missing one fails the pack at once.
for arch in $archs; do
  [ "$arch" = "$host" ] && continue
  t=$(triplet "$arch")
  if ! command -v "$t-gcc" >/dev/null 2>&1; then
    echo "prebuild: $t-gcc not found: install Debian's gcc-$t (or set NTPKIT_PREBUILD_ARCHS=\"$host\" for a host-only package)" >&2
    exit 1
  fi
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ntpkit-prebuild.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
mkdir -p "$root/prebuilds"
for arch in $archs; do
  work="$scratch/$arch"
  mkdir -p "$work/native"
  cp "$root/binding.gyp" "$work/"
  cp "$root"/native/*.c "$root"/native/*.h "$work/native/"
  echo '{"name":"ntpkit-native","private":true}' >"$work/package.json"
  if [ "$arch" = "$host" ]; then
    cc=${CC:-cc}
    strip_bin=strip
    set --
  else
    t=$(triplet "$arch")
    cc="$t-gcc"
    strip_bin="$t-strip"
    # The addon is plain C, so the C compiler links it too (the cross package has no g++).
    set -- CC="$cc" CXX="$cc" LINK="$cc" AR="$t-ar"
  fi
  if ! env "$@" PREBUILD_NODE_GYP="$node_gyp" node "$prebuildify" --napi --tag-libc --strip --strip-bin "$strip_bin" \
      --arch "$arch" --platform linux --name node.napi --cwd "$work" >"$work.log" 2>&1; then
    cat "$work.log" >&2
    echo "prebuild: the $arch build failed (compiler $cc)" >&2
    exit 1
  fi
  out="$work/prebuilds/linux-$arch"
  bin="$out/node.napi.glibc.node"
  [ -f "$bin" ] || { echo "prebuild: prebuildify left no $bin" >&2; ls -R "$work/prebuilds" >&2; exit 1; }
  got=$(read_elf_machine "$bin")
  if [ "$got" != "$(elf_machine "$arch")" ]; then
    echo "prebuild: $bin is ELF machine $got, not $arch's $(elf_machine "$arch")" >&2
    exit 1
  fi
  if [ "$arch" = "$host" ]; then
    node -e 'require(process.argv[1])' "$bin"
  fi
  # Replaced by a rename, so a concurrent `npm pack` sees the old binary or the new one.
  rm -rf "$root/prebuilds/.linux-$arch.new"
  cp -R "$out" "$root/prebuilds/.linux-$arch.new"
  rm -rf "$root/prebuilds/linux-$arch"
  mv "$root/prebuilds/.linux-$arch.new" "$root/prebuilds/linux-$arch"
  echo "prebuild: prebuilds/linux-$arch/node.napi.glibc.node ($cc)"
done
