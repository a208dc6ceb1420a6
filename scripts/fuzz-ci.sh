#!/usr/bin/env bash
# CI's short fuzz run: every fuzz target for FUZZTIME (default 5s). A real
# finding fails the run (Go writes the input under the package's
# testdata/fuzz). A run that ends only with the toolchain's "context deadline
# exceeded" (its coordinator timing out a worker at the very end of a short
# -fuzztime) is retried once.
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-5s}
targets=(
  "FuzzVerify ./internal/auth"
  "FuzzMintRoundTrip ./internal/auth"
  "FuzzLoad ./internal/config"
  "FuzzNames ./internal/names"
  "FuzzDecode ./internal/signal/jsonwire"
  "FuzzTrimOffer ./internal/rtc"
  "FuzzParseClip ./internal/rtc"
)
status=0
for t in "${targets[@]}"; do
  set -- $t
  for attempt in 1 2; do
    out=$(go test -run '^$' -fuzz "^$1\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 0 "$2" 2>&1)
    rc=$?
    echo "$out" | tail -n 3
    if [ $rc -eq 0 ]; then break; fi
    if [ $attempt -eq 1 ] && echo "$out" | grep -q 'context deadline exceeded' && ! echo "$out" | grep -q 'Failing input written'; then
      echo "fuzz-ci: $1 stopped on the toolchain's deadline, not on a finding; running it again"
      continue
    fi
    echo "$out"
    status=1
    break
  done
done
exit $status
