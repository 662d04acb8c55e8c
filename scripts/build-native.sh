#!/bin/sh
# Builds the optional N-API addon (build/Release/ntpkit_native.node).
# npm puts its bundled node-gyp on PATH for lifecycle scripts; run by hand, we
# look for the node-gyp that ships inside npm. A failed build must not fail
# `npm ci`: ntpkit then falls back to a calibrated process.hrtime clock and
# says so (realtimeInfo()). NTPKIT_REQUIRE_NATIVE=1 (set by .ci/run) makes a
# failed build an error.
#
# The published package ships prebuilt binaries (prebuilds/, made by
# scripts/prebuild.sh when it is packed): there, one that loads on this
# machine is used as is, and nothing is compiled, so a machine without a
# compiler still gets the addon. A clone (it has src/) always compiles, as
# does `npm install --build-from-source` (or NTPKIT_BUILD_FROM_SOURCE=1).
cd "$(dirname "$0")/.." || exit 1
no_prebuild=""
: >build-native.log
if [ -d prebuilds ] && [ ! -d src ] && [ "${npm_config_build_from_source:-}" != "true" ] && [ "${NTPKIT_BUILD_FROM_SOURCE:-0}" != "1" ]; then
  # node-gyp-build picks the binary the runtime loader will pick (src/clock/native.ts); loading it proves it fits.
  probe="try { const p = require('node-gyp-build').path('.'); require(p); console.log(require('path').relative('.', p)); } catch (e) { console.error(String(e.message).split('\\n')[0]); process.exit(1); }"
  if found=$(PREBUILDS_ONLY=1 node -e "$probe" 2>>build-native.log); then
    echo "ntpkit: using the prebuilt native addon $found"
    exit 0
  fi
  no_prebuild="no prebuilt native addon loads on $(node -p 'process.platform + "-" + process.arch') ($(tail -n 1 build-native.log)); "
fi
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
if "$@" rebuild >>build-native.log 2>&1; then
  echo "ntpkit: native addon built"
else
  echo "ntpkit: ${no_prebuild}native addon build failed (see build-native.log); the hrtime fallback clock will be used, without kernel timestamps or system clock control" >&2
  [ "${NTPKIT_REQUIRE_NATIVE:-0}" = "1" ] && exit 1
fi
exit 0
