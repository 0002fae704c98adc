#!/bin/bash
# Request authentication: a captured request replayed byte for byte is refused; so are
# requests signed by a key that is not enrolled, for an unknown user, or outside the clock
# window. None of them yields a certificate.
. "$(dirname "$0")/lib.sh"

setup_ca_and_agent
L=$TEST_LOGIN
new_key mine
new_key mallory

# assert_refused WHAT STATUS-REGEX CODE-REGEX RESPONSE STATUS
assert_refused() {
	check "$1: HTTP $5" grep -Eqx "$2" <<<"$5"
	check "$1: JSON error code $(jq -r .error "$4" 2>/dev/null)" \
		jq -e --arg re "^($3)\$" '(.error | test($re)) and (.message | length > 0)' "$4"
	check "$1: no certificate" jq -e 'has("certificate") | not' "$4"
}

# The by-hand flow, captured: body, signature, POST.
hand_body alice prod-web-3 "$L" "$T/keys/mine.pub" >"$T/body"
AUTH="SSHSIG $(hand_sign "$T/keys/alice" "$T/body")"
status=$(hand_post "$T/body" "$AUTH" "$T/first")
check "the captured request is answered with a certificate the first time" \
	test "$status" = 201 -a "$(jq -r .state "$T/first")" = issued
serial=$(jq -r .serial "$T/first")

status=$(hand_post "$T/body" "$AUTH" "$T/second")
assert_refused "the same request replayed" '40[0139]' replay "$T/second" "$status"

# Same body signed by a key alice never enrolled.
hand_body alice prod-web-3 "$L" "$T/keys/mine.pub" >"$T/body2"
status=$(hand_request "$T/keys/mallory" "$T/body2" "$T/resp")
assert_refused "a request signed by a key not enrolled for the user" 401 \
	'unknown_user_or_key|bad_signature' "$T/resp" "$status"

# bob's real key, claiming to be alice.
hand_body alice prod-web-3 "$L" "$T/keys/mine.pub" >"$T/body3"
status=$(hand_request "$T/keys/bob" "$T/body3" "$T/resp")
assert_refused "alice's request signed with bob's key" 401 \
	'unknown_user_or_key|bad_signature' "$T/resp" "$status"

# A user the policy does not know.
hand_body eve prod-web-3 "$L" "$T/keys/mine.pub" >"$T/body4"
status=$(hand_request "$T/keys/mallory" "$T/body4" "$T/resp")
assert_refused "a request from an unknown user" 401 unknown_user_or_key "$T/resp" "$status"

# An old request (timestamp an hour ago), properly signed: outside the clock window.
hand_body alice prod-web-3 "$L" "$T/keys/mine.pub" 0 "$(($(date +%s) - 3600))" >"$T/body5"
status=$(hand_request "$T/keys/alice" "$T/body5" "$T/resp")
assert_refused "a request timestamped an hour ago" '40[01]' clock_skew "$T/resp" "$status"

# Re-signing the captured body does not help: the nonce was used.
status=$(hand_request "$T/keys/alice" "$T/body" "$T/resp")
assert_refused "the captured body signed again" '40[0139]' replay "$T/resp" "$status"

check "only the first request produced a serial in the ledger" \
	test "$(ledger_serials | tr '\n' ' ')" = "$serial "
