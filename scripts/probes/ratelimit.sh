#!/usr/bin/env bash
# Rate-limit probe (SPEC §3.5, security.md §2 and §9 C12, C21).
# Needs a fresh bucket for this client IP: run it against a freshly started
# server (or after POST /__admin/reset) with the default RATE_LIMIT_MAX=10 and
# RATE_LIMIT_WINDOW=60s (set RL_MAX / RL_WINDOW if the server uses others).
#
#   BASE=http://127.0.0.1:7880 scripts/probes/ratelimit.sh
set -u
. "$(dirname "$0")/lib.sh"
require_server

RL_MAX=${RL_MAX:-10}
RL_WINDOW=${RL_WINDOW:-60}
N=$((RL_MAX + 5))
VALID='{"roomName":"probe-room","participantName":"probe"}'

echo "# $N parallel token requests: expect exactly $RL_MAX×200 and 5×429 with Retry-After"
for i in $(seq 1 "$N"); do
	(
		curl -sS --max-time "$PROBE_TIMEOUT" -o "$PROBE_TMP/p$i.body" -D "$PROBE_TMP/p$i.hdr" -w '%{http_code}' \
			-X POST -H 'Content-Type: application/json' --data-binary "$VALID" "$BASE$TOKEN_PATH" \
			>"$PROBE_TMP/p$i.status" 2>/dev/null || echo curl-error >"$PROBE_TMP/p$i.status"
	) &
done
wait

n200=0 n429=0 nother=0
for i in $(seq 1 "$N"); do
	s=$(cat "$PROBE_TMP/p$i.status")
	cp "$PROBE_TMP/p$i.hdr" "$PROBE_TMP/hdr"
	BODY=$(cat "$PROBE_TMP/p$i.body")
	STATUS=$s
	case $s in
	200)
		n200=$((n200 + 1))
		expect C12 "#$i RateLimit-Policy" "$RL_MAX;w=$RL_WINDOW" "$(hdr RateLimit-Policy)"
		expect C12 "#$i RateLimit-Limit" "$RL_MAX" "$(hdr RateLimit-Limit)"
		;;
	429)
		n429=$((n429 + 1))
		ra=$(hdr Retry-After)
		reset=$(hdr RateLimit-Reset)
		if [[ $ra =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] && [ "$ra" -le "$RL_WINDOW" ]; then
			ok C12 "#$i Retry-After" "1..$RL_WINDOW" "$ra"
		else
			bad C12 "#$i Retry-After" "1..$RL_WINDOW" "${ra:-<absent>}"
		fi
		expect C12 "#$i RateLimit-Reset = Retry-After" "$ra" "$reset"
		expect C12 "#$i RateLimit-Remaining" 0 "$(hdr RateLimit-Remaining)"
		expect_json_error C12 429 rate_limited "Too many requests from this IP, please try again later."
		expect C12 "#$i retryAfter in body" "$ra" "$(json_field retryAfter)"
		expect C12 "#$i no X-RateLimit-Limit" "" "$(hdr X-RateLimit-Limit)"
		;;
	*) nother=$((nother + 1)) ;;
	esac
done
expect C12 "count of 200" "$RL_MAX" "$n200"
expect C12 "count of 429" 5 "$n429"
expect C12 "count of other statuses" 0 "$nother"

echo "# one more request is still refused, and the window does not restart"
mint "$VALID"
expect C12 "request $((N + 1)) status" 429 "$STATUS"

echo "# routes outside the mint group are never rate-limited (C21)"
req GET /health
expect C21 "/health status" 200 "$STATUS"
expect C21 "/health RateLimit-Limit" "" "$(hdr RateLimit-Limit)"
post_json /token/room '{"room_name":"probe-room","participant_name":"probe","participant_identity":"probe"}'
case $STATUS in
404) echo "note  C21   /token/room is not served by this build; separate-bucket check skipped" ;;
*) expect C21 "/token/room (own bucket) status" 200 "$STATUS" ;;
esac

finish
