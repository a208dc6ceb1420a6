#!/usr/bin/env bash
# Benchmarks of issue 6 (see BENCHMARKS.md): Go micro-benchmarks, then
# livekit-mock against the benchbase baseline measured in the same run, on
# loopback: wrk on the token endpoint, and cmd/loadgen's hold, fanout and
# churn modes on the WebSocket hubs; start-up time last. Prints medians of
# RUNS runs and the ratios.
#
#   scripts/bench.sh                 # everything, about 4-5 minutes
#   RUNS=1 DUR=3 WS_DUR=2 HOLD_N=2000 scripts/bench.sh   # a quick look
#
# Needs go and wrk (Debian: apt-get install -y wrk). Everything listens on
# 127.0.0.1; every process it starts is stopped by its PID at exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-3}               # runs per measurement (median reported)
DUR=${DUR:-10}                # seconds per wrk run
WS_DUR=${WS_DUR:-5}           # seconds per fanout / churn run
HOLD_N=${HOLD_N:-10000}       # connections held
HOLD_ROOMS=${HOLD_ROOMS:-100}
FAN_ROOMS=${FAN_ROOMS:-20}
FAN_PARTS=${FAN_PARTS:-50}
FAN_RATE=${FAN_RATE:-10}      # messages per second per publisher
WRK_CONNS=${WRK_CONNS:-64}
GOBENCH_TIME=${GOBENCH_TIME:-300ms}
SKIP_GOBENCH=${SKIP_GOBENCH:-}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")}
mkdir -p "$OUT"

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

echo "== machine"
{
	echo "date:   $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpus:   $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
	echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "go:     $(go version | cut -d' ' -f3-)"
	echo "wrk:    $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2)"
	echo "load:   $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, before the run)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' +uncommitted changes')"
} | tee "$OUT/machine.txt"

echo "== build"
BIN=$OUT/bin
mkdir -p "$BIN"
CGO_ENABLED=0 go build -trimpath -o "$BIN/livekit-mock" ./cmd/livekit-mock
go build -o "$BIN/benchbase" ./cmd/benchbase
go build -o "$BIN/loadgen" ./cmd/loadgen

if [ -z "$SKIP_GOBENCH" ]; then
	echo "== Go benchmarks (-benchtime=$GOBENCH_TIME)"
	go test -run '^$' -bench . -benchmem -benchtime="$GOBENCH_TIME" \
		./internal/names ./internal/config ./internal/ratelimit ./internal/auth ./internal/httpapi ./cmd/benchbase \
		2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' | tee "$OUT/gobench.txt"
fi

# start_mock ENV…: starts livekit-mock; sets MOCK_PID and MOCK_URL.
start_mock() {
	local log=$OUT/mock.$RANDOM.log
	env "$@" PORT=0 BIND=127.0.0.1 RTC_UDP_PORT=0 NODE_IP=127.0.0.1 "$BIN/livekit-mock" 2>"$log" >/dev/null &
	MOCK_PID=$!
	PIDS+=("$MOCK_PID")
	MOCK_URL=http://$(wait_addr "$log")
}
# start_base: starts benchbase; sets BASE_PID and BASE_URL.
start_base() {
	local log=$OUT/base.$RANDOM.log
	"$BIN/benchbase" -port 0 2>"$log" >/dev/null &
	BASE_PID=$!
	PIDS+=("$BASE_PID")
	BASE_URL=http://$(wait_addr "$log")
}
wait_addr() {
	local i
	for i in $(seq 1 200); do
		if grep -q 'addr=' "$1" 2>/dev/null; then
			grep -o 'addr=[^ ]*' "$1" | head -n1 | cut -d= -f2
			return
		fi
		sleep 0.05
	done
	echo "server did not start; log $1:" >&2
	cat "$1" >&2
	exit 1
}
# stop PID: SIGTERM one process this script started, wait for it, forget it.
stop() {
	local p keep=()
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
# append FILE VALUE: keep VALUE for the median, when there is one.
append() { if [ -n "$2" ]; then echo "$2" >>"$OUT/$1"; fi; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "n/a"}'; }
field() { grep -o "$1=[^ ]*" | head -n1 | cut -d= -f2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "n/a" || b == "n/a") print "n/a"; else printf "%.2f", a / b }'; }

# Environment of the mock under load: no HTTP rate limit, no per-IP or total
# connection cap, a message rate that loadgen's churn and fanout never reach.
MOCK_ENV=(RATE_LIMIT_MAX=0 RTC_MAX_CONNECTIONS_PER_IP=0 RTC_MAX_CONNECTIONS=0
	RTC_MESSAGE_RATE=100000 RTC_MESSAGE_BURST=100000)

SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
row() { printf '%-44s %14s %14s %8s  %s\n' "$@" | tee -a "$SUMMARY"; }

echo "== token endpoint: wrk -t2 -c$WRK_CONNS -d${DUR}s, $RUNS runs each, alternating"
cat >"$OUT/token.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"roomName":"bench-room","participantName":"Alice","participantIdentity":"alice"}'
wrk.headers["Content-Type"] = "application/json"
EOF
start_mock "${MOCK_ENV[@]}"
start_base
for r in $(seq 1 "$RUNS"); do
	for who in base mock; do
		if [ $who = base ]; then url=$BASE_URL/token; else url=$MOCK_URL/api/livekit/token; fi
		wrk -t2 -c"$WRK_CONNS" -d"${DUR}s" -s "$OUT/token.lua" "$url" >"$OUT/wrk.$who.$r.txt" 2>&1
		rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk.$who.$r.txt")
		non2xx=$(awk '/Non-2xx/ {print $NF}' "$OUT/wrk.$who.$r.txt")
		append rps.$who "$rps"
		echo "run $r $who: $rps req/s${non2xx:+ (non-2xx: $non2xx)}"
	done
done
stop "$MOCK_PID"
stop "$BASE_PID"

echo "== WebSocket: does this build serve /rtc?"
start_mock "${MOCK_ENV[@]}"
rtc=$(curl -s -o /dev/null -w '%{http_code}' "$MOCK_URL/rtc" || true)
stop "$MOCK_PID"
HAS_RTC=yes
if [ "$rtc" = 404 ]; then
	HAS_RTC=
	echo "GET /rtc is 404: the hub is not wired yet; only the baseline is measured"
fi
whos=(base)
[ -n "$HAS_RTC" ] && whos=(base mock)

echo "== hold: $HOLD_N connections in $HOLD_ROOMS rooms (fresh server per run)"
for r in $(seq 1 "$RUNS"); do
	for who in "${whos[@]}"; do
		if [ $who = base ]; then start_base; pid=$BASE_PID url=$BASE_URL d=base
		else start_mock "${MOCK_ENV[@]}"; pid=$MOCK_PID url=$MOCK_URL d=json; fi
		line=$("$BIN/loadgen" hold -url "$url" -dialect $d -n "$HOLD_N" -rooms "$HOLD_ROOMS" -pid "$pid" \
			-settle 2s -hold 3s 2>&1 | tee "$OUT/hold.$who.$r.txt" | grep RESULT || true)
		stop "$pid"
		kib=$(field kib_per_conn <<<"$line")
		echo "run $r $who: ${kib:-failed} KiB per connection ($(field joined <<<"$line")/$HOLD_N joined)"
		if [ "$(field joined <<<"$line")" = "$HOLD_N" ]; then append hold.$who "$kib"; fi
	done
done

echo "== fanout: $FAN_ROOMS rooms × $FAN_PARTS participants, $FAN_RATE msg/s per publisher for ${WS_DUR}s"
for r in $(seq 1 "$RUNS"); do
	for who in "${whos[@]}"; do
		if [ $who = base ]; then start_base; pid=$BASE_PID url=$BASE_URL d=base
		else start_mock "${MOCK_ENV[@]}"; pid=$MOCK_PID url=$MOCK_URL d=json; fi
		line=$("$BIN/loadgen" fanout -url "$url" -dialect $d -rooms "$FAN_ROOMS" -participants "$FAN_PARTS" \
			-rate "$FAN_RATE" -duration "${WS_DUR}s" 2>&1 | tee "$OUT/fanout.$who.$r.txt" | grep RESULT || true)
		stop "$pid"
		echo "run $r $who: delivered $(field delivered <<<"$line")/$(field expected <<<"$line"), p50 $(field p50_ms <<<"$line") ms, p99 $(field p99_ms <<<"$line") ms"
		append p99.$who "$(field p99_ms <<<"$line")"
		append p50.$who "$(field p50_ms <<<"$line")"
		if [ -n "$line" ] && [ "$(field delivered <<<"$line")" = "$(field expected <<<"$line")" ]; then
			echo all >>"$OUT/delivered.$who"
		else
			echo missing >>"$OUT/delivered.$who"
		fi
	done
done

echo "== churn: join cycles for ${WS_DUR}s, 50 workers in 10 rooms"
churn_variants=("base:base:-reconnect")
[ -n "$HAS_RTC" ] && churn_variants+=("mock-reconnect:json:-reconnect" "mock-socket:json:")
for r in $(seq 1 "$RUNS"); do
	for v in "${churn_variants[@]}"; do
		IFS=: read -r who d flag <<<"$v"
		if [ $d = base ]; then start_base; pid=$BASE_PID url=$BASE_URL
		else start_mock "${MOCK_ENV[@]}"; pid=$MOCK_PID url=$MOCK_URL; fi
		# shellcheck disable=SC2086
		line=$("$BIN/loadgen" churn -url "$url" -dialect $d -workers 50 -rooms 10 -duration "${WS_DUR}s" $flag \
			2>&1 | tee "$OUT/churn.$who.$r.txt" | grep RESULT || true)
		stop "$pid"
		echo "run $r $who: $(field joins_per_s <<<"$line") joins/s"
		append churn.$who "$(field joins_per_s <<<"$line")"
	done
done

echo "== start-up: exec to first /health 200, 10 starts"
"$BIN/loadgen" startup -bin "$BIN/livekit-mock" -n 10 | tee "$OUT/startup.txt"

med() { if [ -s "$OUT/$1" ]; then median <"$OUT/$1"; else echo n/a; fi; }
echo
echo "== summary (medians of $RUNS runs; raw output in $OUT)"
row "measure" "livekit-mock" "baseline" "ratio" "budget"
rps_m=$(med rps.mock) rps_b=$(med rps.base)
row "token endpoint, req/s (wrk)" "$rps_m" "$rps_b" "$(ratio "$rps_m" "$rps_b")" "ratio ≥ 0.60"
if [ -n "$HAS_RTC" ]; then
	hm=$(med hold.mock) hb=$(med hold.base)
	row "hold $HOLD_N conns, server RSS KiB/conn" "$hm" "$hb" "$(ratio "$hm" "$hb")" "mock ≤ 12 KiB"
	pm=$(med p99.mock) pb=$(med p99.base)
	row "fanout ${FAN_ROOMS}×${FAN_PARTS} p50 ms" "$(med p50.mock)" "$(med p50.base)" "$(ratio "$(med p50.mock)" "$(med p50.base)")" ""
	row "fanout ${FAN_ROOMS}×${FAN_PARTS} p99 ms" "$pm" "$pb" "$(ratio "$pm" "$pb")" "ratio ≤ 3"
	row "fanout runs with every message delivered" "$(grep -c all "$OUT/delivered.mock" || true)/$RUNS" \
		"$(grep -c all "$OUT/delivered.base" || true)/$RUNS" "" "all"
	cb=$(med churn.base) cr=$(med churn.mock-reconnect) cs=$(med churn.mock-socket)
	row "churn joins/s, new connection per join" "$cr" "$cb" "$(ratio "$cr" "$cb")" "≥ 5000/s"
	row "churn joins/s, join/leave on one socket" "$cs" "-" "" "≥ 5000/s"
else
	row "hold $HOLD_N conns, server RSS KiB/conn" "(no /rtc)" "$(med hold.base)" "" "mock ≤ 12 KiB"
	row "fanout ${FAN_ROOMS}×${FAN_PARTS} p99 ms" "(no /rtc)" "$(med p99.base)" "" "ratio ≤ 3"
	row "churn joins/s, new connection per join" "(no /rtc)" "$(med churn.base)" "" "≥ 5000/s"
fi
row "start-up to first /health 200, median ms" "$(field median_ms <"$OUT/startup.txt")" "-" "" "< 100 ms"
