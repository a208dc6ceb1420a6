#!/usr/bin/env bash
# Soak test: rounds of join/leave churn and data fan-out against one
# livekit-mock process for SOAK_SECONDS; after each round it samples the
# server's RSS and /health counts. Fails when participants or connections are
# left behind after a round, or when RSS keeps growing (last round above
# SOAK_RSS_FACTOR × the first round).
#
#   scripts/soak.sh                        # 120 s
#   SOAK_SECONDS=600 scripts/soak.sh
#
# Everything runs on 127.0.0.1; the server is stopped by its PID at exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SOAK_SECONDS=${SOAK_SECONDS:-120}
ROUND=${ROUND:-10}             # seconds of churn per round
SOAK_RSS_FACTOR=${SOAK_RSS_FACTOR:-1.5}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/soak.XXXXXX")}
BIN=$OUT/bin
mkdir -p "$BIN"
CGO_ENABLED=0 go build -trimpath -o "$BIN/livekit-mock" ./cmd/livekit-mock
go build -o "$BIN/loadgen" ./cmd/loadgen

env RATE_LIMIT_MAX=0 RTC_MAX_CONNECTIONS_PER_IP=0 RTC_MESSAGE_RATE=100000 RTC_MESSAGE_BURST=100000 \
	ROOM_DEPARTURE_TIMEOUT=1s PORT=0 BIND=127.0.0.1 RTC_UDP_PORT=0 NODE_IP=127.0.0.1 "$BIN/livekit-mock" 2>"$OUT/mock.log" >/dev/null &
PID=$!
trap 'kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do grep -q 'addr=' "$OUT/mock.log" && break; sleep 0.05; done
URL=http://$(grep -o 'addr=[^ ]*' "$OUT/mock.log" | head -n1 | cut -d= -f2)

rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
num() { grep -o "\"$1\":[0-9]*" | head -n1 | cut -d: -f2; }

# settled: wait up to 10 s for /health to report no participants and no
# connections (sessions end asynchronously after the clients close).
settled() {
	local h i
	for i in $(seq 1 100); do
		h=$(curl -s "$URL/health")
		if [ "$(num participants <<<"$h")" = 0 ] && [ "$(num connections <<<"$h")" = 0 ]; then return 0; fi
		sleep 0.1
	done
	echo "left behind after the round: $h"
	return 1
}

printf '%-6s %-10s %-12s %-10s %s\n' round rss_kib joins/s delivered health
end=$((SECONDS + SOAK_SECONDS))
round=0 first= failed=0
while [ $SECONDS -lt $end ]; do
	round=$((round + 1))
	churn=$("$BIN/loadgen" churn -url "$URL" -workers 50 -rooms 10 -duration "${ROUND}s" -reconnect | grep RESULT || true)
	fan=$("$BIN/loadgen" fanout -url "$URL" -rooms 5 -participants 20 -rate 10 -duration 2s | grep RESULT || true)
	settled || failed=1
	r=$(rss)
	[ -z "$first" ] && first=$r
	printf '%-6s %-10s %-12s %-10s %s\n' "$round" "$r" \
		"$(grep -o 'joins_per_s=[^ ]*' <<<"$churn" | cut -d= -f2)" \
		"$(grep -o 'delivered=[^ ]*' <<<"$fan" | cut -d= -f2)/$(grep -o 'expected=[^ ]*' <<<"$fan" | cut -d= -f2)" \
		"$(curl -s "$URL/health")"
	[ -n "$churn" ] && [ -n "$fan" ] || failed=1
done

last=$(rss)
if awk -v l="$last" -v f="$first" -v k="$SOAK_RSS_FACTOR" 'BEGIN { exit !(l > f * k) }'; then
	echo "FAIL: RSS grew from $first KiB after round 1 to $last KiB (limit ×$SOAK_RSS_FACTOR)"
	failed=1
fi
echo "soak: $round rounds in ${SOAK_SECONDS}s, RSS $first -> $last KiB; logs in $OUT"
[ "$failed" = 0 ] && echo "soak: ok" || { echo "soak: FAILED"; exit 1; }
