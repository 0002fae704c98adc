#!/bin/bash
# Explain (issue 3): `jit-ssh explain [LOGIN@]HOST` asks the CA, signed like a request, what it
# would decide and why, and which logins are open there; nothing is issued or recorded.
# `POST /v1/explain` by hand, and `jit-ssh-ca policy explain ... --json` offline, give the
# documented fields; a login a deny rule forbids is listed as denied next to a "*" login, and
# `policy explain` exits as `jit-ssh explain` does (0 allowed or needs approval, 2 denied).
. "$(dirname "$0")/lib.sh"

require_sshd
new_key alice
new_key bob
start_agent
ssh-add -q "$T/keys/alice" 2>/dev/null
init_ca
L=$TEST_LOGIN
# The test policy, plus: a group of approvers (bob), postgres on the database hosts with one
# approval, a night-only login and a login bound to the client's address with a ticket.
awk '{ print } $0 == "    users: [alice]" { print "  dbas:"; print "    users: [bob]" }' \
	"$T/ca/policy.yaml" >"$T/policy.tmp"
cat >>"$T/policy.tmp" <<'EOF'
  - name: db-postgres-approval
    groups: [sre]
    hosts: ["prod-db-*"]
    logins: [postgres]
    max_ttl: 30m
    approvals: {count: 1, from: [dbas]}
  - name: night-operator
    users: [alice]
    hosts: ["prod-web-*"]
    logins: [operator]
    when: {hours: "00:00-06:00", timezone: UTC}
  - name: ops-from-client
    users: [alice]
    hosts: ["prod-web-*"]
    logins: [ops]
    source_address: [client]
    reason: {pattern: "^INC-[0-9]+"}
  - name: lab-any-login
    users: [alice]
    hosts: ["lab-*"]
    logins: ["*"]
  - name: no-admin-in-lab
    effect: deny
    users: ["*"]
    hosts: ["lab-*"]
    logins: [admin]
EOF
mv "$T/policy.tmp" "$T/ca/policy.yaml"
"$JIT_SSH_CA" policy check "$T/ca/policy.yaml" >"$T/check.out" 2>&1 ||
	fail "the explain policy does not load: $(cat "$T/check.out")"
serve_ca
health "$T/hz.json"
VERSION=$(jq -r .policy_version "$T/hz.json")

# explain ARGS...: jit-ssh explain as alice; output (stdout and stderr) in $T/explain.log
# (shown on a failure), exit status in EX_RC
explain() {
	EX_RC=0
	HOME="$T/home" XDG_RUNTIME_DIR="$T/run" "$JIT_SSH" explain --ca "$CA_URL" --pin "$CA_PIN" \
		--user alice "$@" >"$T/explain.log" 2>&1 || EX_RC=$?
}

# open_list: the lines after "open to you on HOST:" in $T/explain.log
open_list() { sed -n '/open to you on /,$p' "$T/explain.log" | sed 1d; }

ledger_json >"$T/ledger0.json"
RECORDS0=$(jq length "$T/ledger0.json")

# ---- jit-ssh explain ---------------------------------------------------------------------
explain "$L@prod-web-3"
check "jit-ssh explain $L@prod-web-3 exits 0 (allowed; got $EX_RC)" test "$EX_RC" = 0
check "it says the login is allowed" grep -qi allow "$T/explain.log"
check "it names the deciding rule" grep -q sre-prod "$T/explain.log"
check "it prints the explanation, rule by rule" grep -q "night-operator" "$T/explain.log"
check "it says what is open: 'open to you on prod-web-3:'" \
	grep -q "open to you on prod-web-3:" "$T/explain.log"
check "the open list names $L" grep -qw "$L" <(open_list)
check "the open list does not name postgres (a database-host login)" \
	bash -c '! grep -qw postgres' < <(open_list)

explain prod-web-3
check "jit-ssh explain prod-web-3 (login alice, denied) exits 2 (got $EX_RC)" test "$EX_RC" = 2
check "it says the login alice is denied" grep -qi denied "$T/explain.log"
check "it still lists the logins open to alice there: $L" grep -qw "$L" <(open_list)

explain postgres@prod-db-1
check "jit-ssh explain postgres@prod-db-1 (needs approval) exits 0 (got $EX_RC)" test "$EX_RC" = 0
check "it notes that approval is needed" grep -qi approv "$T/explain.log"
check "it names the approval rule" grep -q db-postgres-approval "$T/explain.log"
check "the open list on prod-db-1 names postgres and $L" \
	bash -c 'l=$(cat); grep -qw postgres <<<"$l" && grep -qw "$1" <<<"$l"' _ "$L" < <(open_list)

explain staging-1
check "jit-ssh explain staging-1 (no rule) exits 2 (got $EX_RC)" test "$EX_RC" = 2
check "nothing is open to alice on staging-1" bash -c '! grep -qw "$1"' _ "$L" < <(open_list)

check "explain put no certificate in the agent" test -z "$(agent_certs)"
check "explain left no certificate file" \
	test -z "$(find "$T/run" "$T/home" -name '*-cert.pub' 2>/dev/null)"
ledger_json >"$T/ledger1.json"
jcheck "explain wrote nothing to the ledger (no record, no issued event)" "$T/ledger1.json" \
	'length == $n and all(.[]; .event != "issued")' --argjson n "$RECORDS0"

# ---- POST /v1/explain by hand ------------------------------------------------------------
export HAND_PATH=/v1/explain
hand_body alice prod-web-3 "$L" "$T/keys/alice.pub" | jq -c 'del(.public_key)' >"$T/body"
AUTH="SSHSIG $(hand_sign "$T/keys/alice" "$T/body")"
status=$(hand_post "$T/body" "$AUTH" "$T/resp")
check "POST /v1/explain answers 200 ($status)" test "$status" = 200
jcheck "its decision: allowed by sre-prod with the principal, TTL and extensions" "$T/resp" \
	'.decision.verdict == "allowed" and .decision.rule == "sre-prod" and
		.decision.host == "prod-web-3" and .decision.login == $l and
		.decision.principals == ["jit:prod-web-3:" + $l] and .decision.ttl_seconds == 600 and
		.decision.extensions == ["permit-pty"] and .decision.policy_version == $v and
		(.decision.explanation | type == "array" and length >= 2)' \
	--arg l "$L" --arg v "$VERSION"
jcheck "its open list: $L allowed by sre-prod for up to an hour" "$T/resp" \
	'.open | type == "array" and any(.[]; .login == $l and .verdict == "allowed" and
		.max_ttl_seconds == 3600 and .rule == "sre-prod")' --arg l "$L"
check "no certificate in the answer" jq -e 'has("certificate") | not' "$T/resp"
status=$(hand_post "$T/body" "$AUTH" "$T/resp2")
check "the same explain request replayed is refused: 401 ($status)" test "$status" = 401
jcheck "... as a replay (the nonce was consumed)" "$T/resp2" '.error == "replay"'
hand_body alice prod-web-3 "$L" "$T/keys/alice.pub" >"$T/body3"
status=$(hand_post "$T/body3" "" "$T/resp3")
check "an unsigned explain request is refused: 401 ($status)" test "$status" = 401
status=$(hand_request "$T/keys/bob" "$T/body3" "$T/resp4")
check "an explain request for alice signed with bob's key is refused: 401 ($status)" \
	test "$status" = 401
hand_body alice prod-db-1 postgres "$T/keys/alice.pub" >"$T/body5"
status=$(hand_request "$T/keys/alice" "$T/body5" "$T/resp5")
check "POST /v1/explain for postgres@prod-db-1 answers 200 ($status)" test "$status" = 200
jcheck "... needs approval: 1 from [dbas], by db-postgres-approval" "$T/resp5" \
	'.decision.verdict == "needs_approval" and .decision.rule == "db-postgres-approval" and
		.decision.approvals.count == 1 and .decision.approvals.from == ["dbas"] and
		any(.open[]; .login == "postgres" and .verdict == "needs_approval" and
			.max_ttl_seconds == 1800 and .rule == "db-postgres-approval")'
unset HAND_PATH
ledger_json >"$T/ledger2.json"
jcheck "the hand-made explain requests wrote nothing to the ledger either" "$T/ledger2.json" \
	'length == $n' --argjson n "$RECORDS0"

# ---- jit-ssh-ca policy explain (offline) -------------------------------------------------
# pexplain OUT ARGS...: policy explain --json with the test config
pexplain() {
	local out=$1
	shift
	"$JIT_SSH_CA" policy explain --json --config "$T/ca/config.yaml" "$@" >"$out" \
		2>"$out.err" || true
	jq -e . "$out" >/dev/null 2>&1 ||
		fail "policy explain $* printed no JSON: $(head -c 300 "$out"; cat "$out.err")"
}

pexplain "$T/p1.json" --user alice --host PROD-WEB-3. --login "$L"
jcheck "policy explain --json: verdict, rule, reason, normalised host, login, principals" \
	"$T/p1.json" '.verdict == "allowed" and .rule == "sre-prod" and
		(.reason | type == "string" and length > 0) and .host == "prod-web-3" and
		.login == $l and .principals == ["jit:prod-web-3:" + $l]' --arg l "$L"
jcheck "policy explain --json: ttl_seconds, critical_options, extensions, approvals" \
	"$T/p1.json" '.ttl_seconds == 600 and has("critical_options") and
		.extensions == ["permit-pty"] and has("approvals")'
jcheck "policy explain --json: the policy version the CA serves and the explanation lines" \
	"$T/p1.json" '.policy_version == $v and (.explanation | type == "array") and
		all(.explanation[]; type == "string") and
		any(.explanation[]; contains("sre-prod")) and
		any(.explanation[]; contains("night-operator"))' --arg v "$VERSION"

pexplain "$T/p2.json" --user alice --host prod-web-3 --login "$L" --ttl 2h
jcheck "policy explain --ttl 2h is capped at the rule's hour" "$T/p2.json" '.ttl_seconds == 3600'
pexplain "$T/p3.json" --user alice --host prod-web-3 --login "$L" --ttl 5m
jcheck "policy explain --ttl 5m grants 300 seconds" "$T/p3.json" '.ttl_seconds == 300'

pexplain "$T/p4.json" --user alice --host prod-web-3 --login operator --at 2026-11-23T03:00:00Z
jcheck "policy explain --at 03:00Z (ISO-8601): operator allowed by night-operator" \
	"$T/p4.json" '.verdict == "allowed" and .rule == "night-operator"'
pexplain "$T/p5.json" --user alice --host prod-web-3 --login operator --at 2026-11-23T13:00:00Z
jcheck "policy explain --at 13:00Z: operator denied (outside the window)" "$T/p5.json" \
	'.verdict == "denied" and (.reason | length > 0) and
		any(.explanation[]; contains("night-operator"))'
pexplain "$T/p6.json" --user alice --host prod-web-3 --login operator \
	--at "$(date -u -d 2026-11-23T03:00:00Z +%s)"
jcheck "policy explain --at SECONDS: the same as the ISO form" "$T/p6.json" \
	'.verdict == "allowed" and .rule == "night-operator"'

pexplain "$T/p7.json" --user alice --host prod-web-3 --login ops --from 10.1.2.3 \
	--reason "INC-42 disk full"
jcheck "policy explain --from 10.1.2.3 --reason: ops allowed, source-address 10.1.2.3" \
	"$T/p7.json" '.verdict == "allowed" and .rule == "ops-from-client" and
		(.critical_options | tostring | contains("10.1.2.3"))'
pexplain "$T/p8.json" --user alice --host prod-web-3 --login ops --from 10.1.2.3
jcheck "policy explain without the ticket reason: denied, naming ops-from-client" "$T/p8.json" \
	'.verdict == "denied" and (.reason | contains("ops-from-client"))'

pexplain "$T/p9.json" --user alice --host prod-db-1 --login postgres
jcheck "policy explain: postgres@prod-db-1 needs 1 approval from [dbas], default TTL (10m)" "$T/p9.json" \
	'.verdict == "needs_approval" and .rule == "db-postgres-approval" and
		.approvals.count == 1 and .approvals.from == ["dbas"] and .ttl_seconds == 600'
pexplain "$T/p10.json" --user bob --host prod-web-3 --login "$L"
jcheck "policy explain: bob as $L is denied, no principals" "$T/p10.json" \
	'.verdict == "denied" and (.principals // [] | length == 0)'

"$JIT_SSH_CA" policy explain --json --policy "$T/ca/policy.yaml" --user alice \
	--host prod-web-3 --login "$L" >"$T/p11.json" 2>"$T/p11.err" ||
	fail "policy explain --policy FILE: $(cat "$T/p11.err")"
jcheck "policy explain --policy FILE gives the same decision and version" "$T/p11.json" \
	'.verdict == "allowed" and .rule == "sre-prod" and .policy_version == $v' --arg v "$VERSION"
"$JIT_SSH_CA" policy explain --config "$T/ca/config.yaml" --user alice --host prod-web-3 \
	--login "$L" >"$T/p12.txt" 2>&1 || true
check "policy explain (text) prints the explanation and the decision" \
	bash -c 'grep -q sre-prod "$1" && grep -qi "decision" "$1"' _ "$T/p12.txt"

# A "*" login and a deny rule: the denied login is listed, never hidden behind "*".
pexplain "$T/p13.json" --user alice --host lab-1 --login deploy
jcheck "policy explain --json on lab-1: '*' open, admin in 'denied' by no-admin-in-lab" \
	"$T/p13.json" '.verdict == "allowed" and .rule == "lab-any-login" and
		.open == [.open[] | select(.login == "*" and .verdict == "allowed")] and
		(.open | length == 1) and (.denied | length == 1) and
		.denied[0].login == "admin" and .denied[0].verdict == "denied" and
		.denied[0].rule == "no-admin-in-lab"'
pex_rc() { # pex_rc OUT ARGS...: policy explain (text) with the test config; status in PX_RC
	local out=$1
	shift
	PX_RC=0
	"$JIT_SSH_CA" policy explain --config "$T/ca/config.yaml" "$@" >"$out" 2>"$out.err" ||
		PX_RC=$?
}
pex_rc "$T/p14.txt" --user alice --host lab-1 --login deploy
check "policy explain (text) lists admin as denied next to '*'" \
	bash -c 'grep -qE "^admin +denied \(rule .no-admin-in-lab.\)$" "$1" &&
		grep -qE "^\* +allowed " "$1"' _ "$T/p14.txt"
check "policy explain of an allowed request exits 0 ($PX_RC)" test "$PX_RC" = 0
pex_rc "$T/p15.txt" --user alice --host lab-1 --login admin
check "policy explain of a denied request exits 2 ($PX_RC)" test "$PX_RC" = 2
pex_rc "$T/p16.txt" --user alice --host prod-db-1 --login postgres
check "policy explain of a request needing approval exits 0 ($PX_RC) with a note" \
	bash -c '[ "$1" = 0 ] && grep -q "needs approval" "$2.err"' _ "$PX_RC" "$T/p16.txt"
pex_rc "$T/p17.txt" --user alice --host lab-1.. --login deploy
check "policy explain of an invalid host name exits 2 ($PX_RC)" test "$PX_RC" = 2

# --ttl takes what jit-ssh --ttl takes: a bare number is seconds, one unit at most.
pexplain "$T/p18.json" --user alice --host prod-web-3 --login "$L" --ttl 90
jcheck "policy explain --ttl 90 is 90 seconds" "$T/p18.json" '.ttl_seconds == 90'
pex_rc "$T/p19.txt" --user alice --host prod-web-3 --login "$L" --ttl 1h30m
check "policy explain --ttl 1h30m is refused as jit-ssh refuses it: exit 64 ($PX_RC)" \
	bash -c '[ "$1" = 64 ] && grep -q -- "--ttl" "$2.err"' _ "$PX_RC" "$T/p19.txt"

# An unknown option after another one is still a command-line error (64), never "denied" (2).
PX_RC=0
"$JIT_SSH_CA" policy explain --json --bogus --config "$T/ca/config.yaml" >"$T/p20.txt" \
	2>"$T/p20.txt.err" || PX_RC=$?
check "policy explain with an unknown option after another exits 64 ($PX_RC)" test "$PX_RC" = 64
PX_RC=0
"$JIT_SSH_CA" policy --user=alice explain --host lab-1 --login deploy --tll 1h \
	--config "$T/ca/config.yaml" >"$T/p21.txt" 2>"$T/p21.txt.err" || PX_RC=$?
check "policy explain with a mistyped option exits 64 ($PX_RC)" test "$PX_RC" = 64

# jit-ssh explain still reads the CA's answer that carries the denied list.
explain deploy@lab-1
check "jit-ssh explain deploy@lab-1 exits 0 with a denied login in the answer (got $EX_RC)" \
	test "$EX_RC" = 0
export HAND_PATH=/v1/explain
hand_body alice lab-1 deploy "$T/keys/alice.pub" >"$T/body6"
status=$(hand_request "$T/keys/alice" "$T/body6" "$T/resp6")
jcheck "POST /v1/explain on lab-1: '*' open, admin denied by no-admin-in-lab ($status)" \
	"$T/resp6" '(.open | map(.login) == ["*"]) and
		.denied == [.denied[] | select(.login == "admin" and .rule == "no-admin-in-lab")] and
		(.denied | length == 1)'
unset HAND_PATH

ledger_json >"$T/ledger3.json"
jcheck "after all of it the ledger holds no record made by explain" "$T/ledger3.json" \
	'length == $n' --argjson n "$RECORDS0"
