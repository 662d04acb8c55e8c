#!/bin/sh
# Lists the compiled test files explicitly: `node --test DIR` recurses on Node 20
# but treats its arguments as globs from Node 21 on, so a directory is not portable.
set -e
files=$(find dist -name '*.test.js' | sort)
[ -n "$files" ] || { echo "no test files under dist/" >&2; exit 1; }
# shellcheck disable=SC2086
exec node --test --test-concurrency=2 $files
