#!/bin/sh
# Builds the optional N-API addon (build/Release/ntpkit_native.node).
# npm puts its bundled node-gyp on PATH for lifecycle scripts; run by hand, we
# look for the node-gyp that ships inside npm. A failed build must not fail
# `npm ci`: ntpkit then falls back to a calibrated process.hrtime clock and
# says so (realtimeInfo()). NTPKIT_REQUIRE_NATIVE=1 (set by .ci/run) makes a
# failed build an error.
cd "$(dirname "$0")/.." || exit 1
if command -v node-gyp >/dev/null 2>&1; then
  set -- node-gyp
else
  npm_root=$(npm root -g 2>/dev/null)
  set -- node "$npm_root/npm/node_modules/node-gyp/bin/node-gyp.js"
fi
# Prefer the headers installed next to this node (Debian's nodejs ships them
# in /usr/include/node) over a download from nodejs.org.
if [ -z "${npm_config_nodedir:-}" ]; then
  prefix=$(dirname "$(dirname "$(command -v node)")")
  [ -f "$prefix/include/node/node_api.h" ] && export npm_config_nodedir="$prefix"
fi
if "$@" rebuild >build-native.log 2>&1; then
  echo "ntpkit: native addon built"
else
  echo "ntpkit: native addon build failed (see build-native.log); the hrtime fallback clock will be used" >&2
  [ "${NTPKIT_REQUIRE_NATIVE:-0}" = "1" ] && exit 1
fi
exit 0
