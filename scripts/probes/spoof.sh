#!/usr/bin/env bash
# Header-spoofing probe (security.md §9 C13): rotating X-Forwarded-For,
# X-Real-IP, CF-Connecting-IP and Forwarded headers must not give a client a
# new rate-limit bucket (unless its peer is in TRUSTED_PROXIES, which this
# probe assumes it is not). Needs a fresh bucket and the default limits (or
# RL_MAX / RL_WINDOW), like ratelimit.sh.
#
#   BASE=http://127.0.0.1:7880 scripts/probes/spoof.sh
set -u
. "$(dirname "$0")/lib.sh"
require_server

RL_MAX=${RL_MAX:-10}
RL_WINDOW=${RL_WINDOW:-60}
VALID='{"roomName":"probe-room","participantName":"probe"}'

echo "# $((RL_MAX + 1)) sequential requests, each claiming another client IP"
for i in $(seq 1 $((RL_MAX + 1))); do
	ip="198.51.100.$i"
	mint "$VALID" \
		-H "X-Forwarded-For: $ip" \
		-H "X-Real-IP: 203.0.113.$i" \
		-H "CF-Connecting-IP: 192.0.2.$i" \
		-H "Forwarded: for=$ip;proto=http" \
		-H "True-Client-IP: $ip" \
		-H "X-Client-IP: $ip"
	if [ "$i" -le "$RL_MAX" ]; then
		expect C13 "#$i status" 200 "$STATUS"
		expect C13 "#$i RateLimit-Remaining" $((RL_MAX - i)) "$(hdr RateLimit-Remaining)"
	else
		expect C13 "#$i status" 429 "$STATUS"
		ra=$(hdr Retry-After)
		if [[ $ra =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] && [ "$ra" -le "$RL_WINDOW" ]; then
			ok C13 "#$i Retry-After" "1..$RL_WINDOW" "$ra"
		else
			bad C13 "#$i Retry-After" "1..$RL_WINDOW" "${ra:-<absent>}"
		fi
	fi
done

echo "# a comma list in X-Forwarded-For changes nothing either"
mint "$VALID" -H 'X-Forwarded-For: 10.0.0.1, 10.0.0.2, 127.0.0.2'
expect C13 "list XFF status" 429 "$STATUS"

finish
