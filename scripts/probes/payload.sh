#!/usr/bin/env bash
# Payload probe (SPEC §3.3, security.md §4 and §9 A1–A17): sizes around the
# body cap, chunked bodies, content types and encodings, JSON syntax and
# routing. Most cases use no quota, but A4, A8 and A12 do: run it against a
# server started with RATE_LIMIT_MAX=0 (or a fresh bucket).
#
#   BASE=http://127.0.0.1:7880 BODY_LIMIT=1024 scripts/probes/payload.sh
set -u
. "$(dirname "$0")/lib.sh"
require_server

LIMIT=${BODY_LIMIT:-1024}
VALID='{"roomName":"probe-room","participantName":"probe"}'

# padded N: a valid token request of exactly N bytes (an unknown field pads it).
padded() {
	local n=$1 head='{"roomName":"probe-room","participantName":"probe","pad":"' tail='"}'
	local fill=$((n - ${#head} - ${#tail}))
	printf '%s%s%s' "$head" "$(head -c "$fill" /dev/zero | tr '\0' 'a')" "$tail"
}

expect_no_ratelimit_headers() {
	expect "$1" "RateLimit-Remaining" "" "$(hdr RateLimit-Remaining)"
}

for n in $((LIMIT + 1)) 2000; do
	padded "$n" >"$PROBE_TMP/big.json"
	echo "# A1 body of $n bytes with a correct Content-Length"
	req POST "$TOKEN_PATH" -H 'Content-Type: application/json' --data-binary @"$PROBE_TMP/big.json"
	expect_json_error A1 413 payload_too_large "Request payload too large"
	expect A1 Connection close "$(hdr Connection | tr 'A-Z' 'a-z')"
	expect_no_ratelimit_headers A1
	expect_security_headers A1
done

echo "# A2 Content-Length 5000 with 10 bytes sent: answered at once from the declared length"
req POST "$TOKEN_PATH" -H 'Content-Type: application/json' -H 'Content-Length: 5000' --data-binary '0123456789' \
	--max-time 3
expect A2 status 413 "$STATUS"

echo "# A3 chunked body of 2 KiB"
padded 2048 >"$PROBE_TMP/chunked.json"
req POST "$TOKEN_PATH" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
	--data-binary @"$PROBE_TMP/chunked.json"
expect_json_error A3 413 payload_too_large "Request payload too large"

echo "# A3 chunked body under the cap is read normally"
req POST "$TOKEN_PATH" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary "$VALID"
expect A3 "small chunked body: status" 200 "$STATUS"

echo "# A4 exactly $LIMIT bytes"
padded "$LIMIT" >"$PROBE_TMP/exact.json"
req POST "$TOKEN_PATH" -H 'Content-Type: application/json' --data-binary @"$PROBE_TMP/exact.json"
expect_in A4 "status ($(wc -c <"$PROBE_TMP/exact.json") bytes)" "200|400" "$STATUS"

echo "# A5–A9 content type and encoding"
req POST "$TOKEN_PATH" -H 'Content-Type: text/plain' --data-binary "$VALID"
expect_json_error A5 415 unsupported_media_type "Content-Type must be application/json"
expect_no_ratelimit_headers A5
req POST "$TOKEN_PATH" -H 'Content-Type:' --data-binary "$VALID"
expect_json_error A6 415 unsupported_media_type "Content-Type must be application/json"
req POST "$TOKEN_PATH" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "$VALID"
expect_json_error A6 415 unsupported_media_type
req POST "$TOKEN_PATH" -H 'Content-Type: application/json; charset=latin1' --data-binary "$VALID"
expect_json_error A7 415 unsupported_media_type
req POST "$TOKEN_PATH" -H 'Content-Type: application/json; charset=UTF-8' --data-binary "$VALID"
expect A8 status 200 "$STATUS"
printf '%s' "$VALID" | gzip -c >"$PROBE_TMP/body.gz"
req POST "$TOKEN_PATH" -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' --data-binary @"$PROBE_TMP/body.gz"
expect_json_error A9 415 unsupported_media_type "Content-Encoding not supported"

echo "# A10–A15 JSON syntax"
mint '{"roomName":"r","participantName":'
expect_json_error A10 400 invalid_json "Invalid JSON body"
expect_no_ratelimit_headers A10
mint '{"roomName":"r","participantName":"u"} trailing'
expect_json_error A11 400 invalid_json "Invalid JSON body"
mint '{"roomName":"r","participantName":"u"}{}'
expect_json_error A11 400 invalid_json "Invalid JSON body"
req POST "$TOKEN_PATH" -H 'Content-Type: application/json' -H 'Content-Length: 0'
expect_json_error A12 400 invalid_argument "Room name and participant name are required"
for b in null '"str"' 42; do
	mint "$b"
	expect_json_error A13 400 invalid_json "Invalid JSON body"
done
for b in '[]' '[{"roomName":"r","participantName":"u"}]'; do
	mint "$b"
	expect A14 "$b: status" 400 "$STATUS"
done
printf '{"roomName":"r\xff","participantName":"u"}' >"$PROBE_TMP/badutf8.json"
req POST "$TOKEN_PATH" -H 'Content-Type: application/json' --data-binary @"$PROBE_TMP/badutf8.json"
expect A15 status 400 "$STATUS"

echo "# A16, A17 method and path"
req GET "$TOKEN_PATH"
expect_json_error A16 405 method_not_allowed "Method not allowed"
expect_contains A16 Allow POST "$(hdr Allow)"
post_json "$TOKEN_PATH/" "$VALID"
expect_json_error A17 404 not_found "Endpoint not found"
expect A17 Location "" "$(hdr Location)"

finish
