#!/usr/bin/env bash
# Checks the import rules of ARCHITECTURE.md: each external library has one
# home, and the inner packages import no transport. Test files are exempt.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
fail=0

# home <library prefix> <allowed package paths (regex on the path under the module)>
home() {
  local lib=$1 allowed=$2
  while read -r pkg imports; do
    rel=${pkg#"$mod"/}
    for imp in $imports; do
      if [[ $imp == "$lib"* ]] && ! [[ $rel =~ ^($allowed)$ ]]; then
        echo "import rule: $rel imports $imp (its home is $allowed)"; fail=1
      fi
    done
  done < <(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./...)
}

home github.com/gin-gonic/gin      'internal/httpapi'
home github.com/rs/cors            'internal/httpapi'
home github.com/gorilla/websocket  'internal/signal(/.*)?|cmd/loadgen|cmd/benchbase|scripts/probes/wsclient|test/.*'
home github.com/golang-jwt/jwt     'internal/auth'
home golang.org/x/time/rate        'internal/ratelimit'
home github.com/livekit/protocol   'internal/lkproto|internal/signal/pbwire|internal/rtc|internal/webhook|internal/httpapi|internal/roomservice'
home github.com/pion/              'internal/rtc'
home github.com/redis/go-redis     'internal/cluster'
home github.com/prometheus/        'internal/metrics'

# Packages that import nothing internal.
for p in config server auth ratelimit secheaders journal dashboard ids names; do
  [ -d "internal/$p" ] || continue
  bad=$(go list -f '{{join .Imports "\n"}}' "./internal/$p" | grep "^$mod/internal/" || true)
  if [ -n "$bad" ]; then echo "import rule: internal/$p imports $bad"; fail=1; fi
done
# rooms: ids and names only, and no transport.
if [ -d internal/rooms ]; then
  bad=$(go list -f '{{join .Imports "\n"}}' ./internal/rooms | grep -E "^$mod/internal/|^net/http|gin-gonic|gorilla|golang-jwt|livekit/protocol|pion" | grep -vE "^$mod/internal/(ids|names)$" || true)
  if [ -n "$bad" ]; then echo "import rule: internal/rooms imports $bad"; fail=1; fi
fi
# The hub keeps its lock private: no file of signal but hub.go takes it or
# touches the fields it guards (dialects use the hub's methods).
bad=$(grep -nE '\bhub\.(mu|wg|sessions|shutting|total|perIP)\b' internal/signal/*.go | grep -v '^internal/signal/hub.go:' | grep -v '_test.go:' || true)
for f in internal/signal/*.go; do
  case $f in internal/signal/hub.go|*_test.go) continue ;; esac
  if grep -q '^func (h \*Hub)' "$f" && grep -nE '\bh\.(mu|wg|sessions|shutting|total|perIP)\b' "$f" >/dev/null; then
    bad="$bad $f: a Hub method outside hub.go takes its lock"
  fi
done
if [ -n "$bad" ]; then echo "hub rule: only internal/signal/hub.go takes the hub's lock: $bad"; fail=1; fi
# httpapi builds nothing with a lifetime: the builder (livekitmock) does.
bad=$(grep -nE 'signal\.New(Hub|LiveKit|JSONDialect|JSONEndpoint|Endpoint)\(|rtc\.NewEngine\(|tokenservice\.New\(|metrics\.New\(|rooms\.NewRegistry\(' internal/httpapi/*.go | grep -v '_test.go:' || true)
if [ -n "$bad" ]; then echo "builder rule: internal/httpapi constructs $bad"; fail=1; fi
# agents: dispatch semantics without a transport.
if [ -d internal/agents ]; then
  bad=$(go list -f '{{join .Imports "\n"}}' ./internal/agents | grep -E "^net/http|gin-gonic|gorilla|livekit/protocol|pion|go-redis" || true)
  if [ -n "$bad" ]; then echo "import rule: internal/agents imports $bad"; fail=1; fi
fi
exit $fail
