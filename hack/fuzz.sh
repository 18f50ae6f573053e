#!/usr/bin/env bash
# make fuzz: runs every fuzz target of the module for FUZZTIME each
# (default 60s), one after the other. A crasher that go test finds is kept
# under PKG/testdata/fuzz/TARGET/, where plain `go test` (and so make test)
# replays it from then on as a regression case: commit it with its fix.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fuzztime=${FUZZTIME:-60s}
failed=0
total=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  grep -lq '^func Fuzz' "$dir"/*_test.go 2>/dev/null || continue
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
    total=$((total + 1))
    echo "fuzz: $pkg $target for $fuzztime"
    if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" 2>&1 | tail -n 3; then
      failed=$((failed + 1))
      echo "fuzz: $target FAILED: the crasher is under $dir/testdata/fuzz/$target/" >&2
    fi
  done
done
echo "fuzz: $total targets, $failed failed"
[ "$failed" -eq 0 ]
