#!/usr/bin/env bash
# WebSocket probe of /rtc in the JSON dialect (SPEC §6.1, security.md §7 and
# §9 E1, F10–F14): message flood (close 1008), oversize frame and oversize
# frame header (1009), invalid UTF-8 (1007), JSON in a binary frame (pong).
# Defaults assumed: RTC_MESSAGE_RATE=20, RTC_MESSAGE_BURST=40,
# RTC_MAX_MESSAGE_BYTES=65536 (set RTC_MAX_MESSAGE_BYTES if the server uses another).
#
#   BASE=http://127.0.0.1:7880 scripts/probes/ws.sh
# WSCLIENT may name a prebuilt scripts/probes/wsclient binary; otherwise it is
# run with `go run` from this repository.
set -u
. "$(dirname "$0")/lib.sh"
require_server

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WS_URL="ws${BASE#http}/rtc"
MAXMSG=${RTC_MAX_MESSAGE_BYTES:-65536}
if [ -z "${WSCLIENT:-}" ]; then
	command -v go >/dev/null 2>&1 || { echo "SKIP: neither WSCLIENT nor go is available"; exit 77; }
	go build -o "$PROBE_TMP/wsclient" "$ROOT/scripts/probes/wsclient" || exit 1
	WSCLIENT=$PROBE_TMP/wsclient
fi

echo "# E1 a plain GET on /rtc without upgrade headers"
req GET /rtc
if [ "$STATUS" = 404 ]; then
	echo "SKIP: GET /rtc answers 404; this build has no /rtc yet"
	exit 77
fi
expect_json_error E1 400 invalid_argument

# wsprobe CASE ARGS…: one wsclient run; its own line says expected and got.
wsprobe() {
	local c=$1 out rc
	shift
	out=$("$WSCLIENT" -url "$WS_URL" "$@" 2>&1)
	rc=$?
	printf '%-5s %s\n' "$c" "$out"
	case $rc in
	0) PASSED=$((PASSED + 1)) ;;
	77) echo "SKIP: $out"; exit 77 ;;
	*) FAILED=$((FAILED + 1)) ;;
	esac
}

wsprobe F14 -mode flood -n 1000 -per 1s
wsprobe F12 -mode oversize -size $((MAXMSG + 1))
wsprobe F13 -mode bigheader
wsprobe F10 -mode badutf8
wsprobe F11 -mode binaryping

finish
