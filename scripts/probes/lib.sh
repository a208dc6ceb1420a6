# Shared helpers of the probe scripts. Source it; do not run it.
#
# Every probe talks to a live server at $BASE (default http://127.0.0.1:7880)
# with curl only, prints one line per check (expected and got) and exits
# non-zero when any check failed. Exit code 77 means "cannot run here" (skip).

BASE=${BASE:-http://127.0.0.1:7880}
BASE=${BASE%/}
PROBE_TIMEOUT=${PROBE_TIMEOUT:-10}
TOKEN_PATH=${TOKEN_PATH:-/api/livekit/token}
ORIGIN_OK=${ORIGIN_OK:-http://localhost:3000}
ORIGIN_BAD=${ORIGIN_BAD:-http://evil.example}

PASSED=0
FAILED=0
PROBE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/probe.XXXXXX")
trap 'rm -rf "$PROBE_TMP"' EXIT

command -v curl >/dev/null 2>&1 || { echo "SKIP: curl is not installed"; exit 77; }

# req METHOD PATH [curl args…]: one request. Sets STATUS, BODY and the header
# file read by hdr. Never follows redirects.
req() {
	local method=$1 path=$2
	shift 2
	: >"$PROBE_TMP/hdr"
	: >"$PROBE_TMP/body"
	STATUS=$(curl -sS --max-time "$PROBE_TIMEOUT" -X "$method" -o "$PROBE_TMP/body" -D "$PROBE_TMP/hdr" \
		-w '%{http_code}' "$@" "$BASE$path" 2>"$PROBE_TMP/curlerr") || STATUS="curl-error($(tr -d '\n' <"$PROBE_TMP/curlerr"))"
	BODY=$(cat "$PROBE_TMP/body")
}

# post_json PATH BODY [curl args…]: POST with Content-Type application/json.
post_json() {
	local path=$1 body=$2
	shift 2
	req POST "$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# mint BODY [curl args…]: POST the token endpoint.
mint() { post_json "$TOKEN_PATH" "$@"; }

# hdr NAME: the value of a header of the last response ("" when absent).
hdr() {
	awk -v want="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" '
		BEGIN { IGNORECASE = 1 }
		{ sub(/\r$/, "") }
		/^HTTP\// { out = ""; found = 0; next }   # keep only the last response block
		{
			i = index($0, ":"); if (i == 0) next
			name = tolower(substr($0, 1, i - 1)); val = substr($0, i + 1); sub(/^[ \t]+/, "", val)
			if (name == want) { out = found ? out ", " val : val; found = 1 }
		}
		END { printf "%s", out }' "$PROBE_TMP/hdr"
}

has_hdr() { [ -n "$(hdr "$1")" ] || grep -qi "^$1:" "$PROBE_TMP/hdr"; }

ok() { PASSED=$((PASSED + 1)); printf 'ok    %-5s %s: expected %s, got %s\n' "$1" "$2" "${3:-<none>}" "${4:-<none>}"; }
bad() { FAILED=$((FAILED + 1)); printf 'FAIL  %-5s %s: expected %s, got %s\n' "$1" "$2" "${3:-<none>}" "${4:-<none>}"; }

# expect CASE WHAT EXPECTED GOT: exact comparison.
expect() { if [ "$3" = "$4" ]; then ok "$@"; else bad "$@"; fi; }

# expect_in CASE WHAT "A|B|C" GOT: GOT is one of the alternatives.
expect_in() {
	local alt
	local IFS='|'
	for alt in $3; do
		if [ "$alt" = "$4" ]; then ok "$1" "$2" "one of $3" "$4"; return; fi
	done
	bad "$1" "$2" "one of $3" "$4"
}

# expect_contains CASE WHAT NEEDLE HAYSTACK: a fixed substring.
expect_contains() {
	case "$4" in
	*"$3"*) ok "$1" "$2" "to contain $3" "$(short "$4")" ;;
	*) bad "$1" "$2" "to contain $3" "$(short "$4")" ;;
	esac
}

# expect_absent CASE WHAT NEEDLE HAYSTACK: a fixed substring must not appear.
expect_absent() {
	case "$4" in
	*"$3"*) bad "$1" "$2" "no $3" "$(short "$4")" ;;
	*) ok "$1" "$2" "no $3" "$(short "$4")" ;;
	esac
}

# short S: S on one line, cut to 160 bytes, for messages.
short() {
	local s
	s=$(printf '%s' "$1" | tr '\r\n' '  ')
	[ ${#s} -gt 160 ] && s="${s:0:157}..."
	printf '%s' "${s:-<empty>}"
}

# json_field KEY: a string or number value of KEY in BODY ("" when absent).
# Enough for the flat answers of this API; not a JSON parser.
json_field() {
	printf '%s' "$BODY" | sed -n "s/.*\"$1\":\(\"\([^\"\\\\]*\(\\\\.[^\"\\\\]*\)*\)\"\|\(true\|false\|null\|[-0-9.eE+][-0-9.eE+]*\)\).*/\2\4/p" | head -n1
}

# jwt_payload TOKEN: the decoded (unverified) claims of a JWT.
jwt_payload() {
	local p
	p=$(printf '%s' "$1" | cut -d. -f2 | tr '_-' '/+')
	case $((${#p} % 4)) in
	2) p="$p==" ;;
	3) p="$p=" ;;
	esac
	printf '%s' "$p" | base64 -d 2>/dev/null
}

# expect_json_error CASE STATUS CODE [ERROR-TEXT]: the last response is the
# JSON error of SPEC §3.2 with that status, code and (if given) exact text.
expect_json_error() {
	local c=$1 status=$2 code=$3 text=${4:-}
	expect "$c" status "$status" "$STATUS"
	expect_contains "$c" content-type "application/json" "$(hdr Content-Type)"
	expect "$c" code "$code" "$(json_field code)"
	if [ -n "$text" ]; then expect "$c" error "$text" "$(json_field error)"; fi
}

# expect_security_headers CASE: a few of the helmet headers (security.md §1).
expect_security_headers() {
	expect "$1" X-Content-Type-Options nosniff "$(hdr X-Content-Type-Options)"
	expect "$1" X-Frame-Options SAMEORIGIN "$(hdr X-Frame-Options)"
	expect_contains "$1" Content-Security-Policy "default-src 'self'" "$(hdr Content-Security-Policy)"
	expect "$1" X-Powered-By "" "$(hdr X-Powered-By)"
}

# require_server: skip (77) when nothing answers at BASE.
require_server() {
	req GET /health
	case "$STATUS" in
	curl-error*) echo "SKIP: no server answers at $BASE ($STATUS)"; exit 77 ;;
	esac
}

# finish: summary line and exit status.
finish() {
	echo "----"
	echo "$(basename "$0"): $PASSED passed, $FAILED failed (BASE=$BASE)"
	[ "$FAILED" -eq 0 ]
}
