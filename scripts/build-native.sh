#!/bin/sh
# Builds the optional N-API addon (npm puts its bundled node-gyp on PATH for
# lifecycle scripts). A failed build must not fail `npm ci`: ntpkit falls back
# to a calibrated process.hrtime clock and says so.
# NTPKIT_REQUIRE_NATIVE=1 (set by .ci/run) makes a failed build an error.
if node-gyp rebuild >build-native.log 2>&1; then
  echo "ntpkit: native addon built"
else
  echo "ntpkit: native addon build failed (see build-native.log); the hrtime fallback clock will be used" >&2
  [ "${NTPKIT_REQUIRE_NATIVE:-0}" = "1" ] && exit 1
fi
exit 0
