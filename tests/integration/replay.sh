#!/bin/bash
# Request authentication: a captured request replayed byte for byte is refused; so are
# requests signed by a key that is not enrolled, for an unknown user, or outside the clock
# window. None of them yields a certificate.
. "$(dirname "$0")/lib.sh"

setup_ca_and_agent
L=$TEST_LOGIN
new_key mine
new_key mallory

# assert_refused WHAT STATUS CODE MESSAGE-REGEX RESPONSE STATUS: exactly that HTTP status and
# JSON error code (docs/api.md), a message matching MESSAGE-REGEX (jq test), no certificate
assert_refused() {
	check "$1: HTTP $6" test "$6" = "$2"
	jcheck "$1: JSON error code $3" "$5" '.error == $code' --arg code "$3"
	jcheck "$1: the message says why" "$5" '.message | test($re)' --arg re "$4"
	check "$1: no certificate" jq -e 'has("certificate") | not' "$5"
}
REPLAY_MSG='^nonce was already used; sign a new request$'
UNKNOWN_MSG="^user 'alice' is unknown or the signing key is not enrolled for this user\$"

# The by-hand flow, captured: body, signature, POST.
hand_body alice prod-web-3 "$L" "$T/keys/mine.pub" >"$T/body"
AUTH="SSHSIG $(hand_sign "$T/keys/alice" "$T/body")"
status=$(hand_post "$T/body" "$AUTH" "$T/first")
check "the captured request is answered with a certificate the first time" \
	test "$status" = 201 -a "$(jq -r .state "$T/first")" = issued
serial=$(jq -r .serial "$T/first")

status=$(hand_post "$T/body" "$AUTH" "$T/second")
assert_refused "the same request replayed" 401 replay "$REPLAY_MSG" "$T/second" "$status"

# Same body signed by a key alice never enrolled.
hand_body alice prod-web-3 "$L" "$T/keys/mine.pub" >"$T/body2"
status=$(hand_request "$T/keys/mallory" "$T/body2" "$T/resp")
assert_refused "a request signed by a key not enrolled for the user" 401 \
	unknown_user_or_key "$UNKNOWN_MSG" "$T/resp" "$status"

# bob's real key, claiming to be alice.
hand_body alice prod-web-3 "$L" "$T/keys/mine.pub" >"$T/body3"
status=$(hand_request "$T/keys/bob" "$T/body3" "$T/resp")
assert_refused "alice's request signed with bob's key" 401 \
	unknown_user_or_key "$UNKNOWN_MSG" "$T/resp" "$status"

# A user the policy does not know.
hand_body eve prod-web-3 "$L" "$T/keys/mine.pub" >"$T/body4"
status=$(hand_request "$T/keys/mallory" "$T/body4" "$T/resp")
assert_refused "a request from an unknown user" 401 unknown_user_or_key \
	"^user 'eve' is unknown or the signing key is not enrolled for this user\$" "$T/resp" "$status"

# An old request (timestamp an hour ago), properly signed: outside the clock window. The
# message names the timestamp, the CA's clock (read between BEFORE and AFTER) and the gap.
STALE=$(($(date +%s) - 3600))
hand_body alice prod-web-3 "$L" "$T/keys/mine.pub" 0 "$STALE" >"$T/body5"
BEFORE=$(date +%s)
status=$(hand_request "$T/keys/alice" "$T/body5" "$T/resp")
AFTER=$(date +%s)
assert_refused "a request timestamped an hour ago" 401 clock_skew \
	"^timestamp $STALE is [0-9]+ seconds behind the CA's clock \\([0-9]+\\); at most 120 seconds are allowed\$" \
	"$T/resp" "$status"
jcheck "the clock-skew message's gap is the CA's clock minus the timestamp" "$T/resp" \
	'.message | capture("is (?<off>[0-9]+) seconds behind the CA.s clock \\((?<now>[0-9]+)\\)") |
	 (.now | tonumber) as $now | (.off | tonumber) == $now - $ts and $now >= $before and
	 $now <= $after' --argjson ts "$STALE" --argjson before "$BEFORE" --argjson after "$AFTER"

# Re-signing the captured body does not help: the nonce was used.
status=$(hand_request "$T/keys/alice" "$T/body" "$T/resp")
assert_refused "the captured body signed again" 401 replay "$REPLAY_MSG" "$T/resp" "$status"

check "only the first request produced a serial in the ledger" \
	test "$(ledger_serials | tr '\n' ' ')" = "$serial "
