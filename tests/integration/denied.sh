#!/bin/bash
# A login the policy does not allow is denied by the CA, with a reason and no certificate:
# jit-ssh says why, adds nothing to the agent and never reaches sshd.
. "$(dirname "$0")/lib.sh"

setup_ca_and_agent
start_sshd web prod-web-3 "$TEST_LOGIN"
L=$TEST_LOGIN

ssh-add -L >"$T/agent-before"

# alice may be $L on prod-web-*, not "postgres".
if jit_ssh web postgres@prod-web-3 'echo should-not-run' >"$T/out" 2>"$T/err1"; then
	fail "jit-ssh postgres@prod-web-3 succeeded"
fi
check "jit-ssh tells the engineer the request was denied" grep -qi "denied" "$T/err1"
check "nothing ran" test ! -s "$T/out"
check "nothing was added to the agent" bash -c 'ssh-add -L | cmp -s - "$1"' _ "$T/agent-before"
check "no certificate file was left" test ! -e "$(cert_file postgres@prod-web-3)"
check "sshd saw no login" test "$(sshd_accepted web)" = 0

# bob is enrolled but no rule lets him be anyone.
if JIT_USER=bob jit_ssh web -i "$T/keys/bob" "$L@prod-web-3" true >"$T/out" 2>"$T/err"; then
	fail "bob got a certificate"
fi
check "a user no rule allows is denied" grep -qi "denied" "$T/err"

# The API answer itself: 403, state denied, a reason, no certificate, a request ID.
new_key mine
hand_body alice prod-web-3 postgres "$T/keys/mine.pub" >"$T/body"
status=$(hand_request "$T/keys/alice" "$T/body" "$T/resp")
check "the CA answers 403 to a denied request" test "$status" = 403
check "the answer says state denied, with a request ID and a reason" \
	jq -e '.state == "denied" and (.request_id | test("^[0-9a-f]{32}$")) and
		(.reason | type == "string" and length > 0)' "$T/resp"
check "the answer carries no certificate" jq -e 'has("certificate") | not' "$T/resp"
jq -r .reason "$T/resp" >"$T/reason"
check "jit-ssh showed the CA's reason" grep -qF "$(cat "$T/reason")" "$T/err1"

id=$(jq -r .request_id "$T/resp")
status=$(ca_get "/v1/requests/$id" "$T/resp2")
# COMMON.md: the same shapes as POST's answers (this CA answers 200 for a known request).
check "GET /v1/requests/ID finds the request ($status)" grep -Eqx '200|403' <<<"$status"
check "GET /v1/requests/ID answers the same denial and reason" \
	jq -e --slurpfile a "$T/resp" '.state == "denied" and .request_id == $a[0].request_id and
		.reason == $a[0].reason and (has("certificate") | not)' "$T/resp2"
check "no serial was issued for any of it" test -z "$(ledger_serials)"
