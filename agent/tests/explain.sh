#!/bin/bash
# `jit-ssh explain` against the real CA (POST /v1/explain): each verdict rendered as
# docs/engineer.md shows it, with its exit status; --json is the CA's answer and agrees with
# `jit-ssh-ca policy explain --json`; signing works through the agent and through -i; an
# unknown key is refused; nothing is issued or recorded. Output: "ok N - what" per check.
. "$(dirname "$0")/lib.sh"

new_key alice
new_key dave
new_key mallory
cat >"$T/policy.yaml" <<POLICY
users:
  alice:
    keys: ["$(key_of alice)"]
  dave:
    keys: ["$(key_of dave)"]
groups:
  sre: [alice, dave]
rules:
  - name: no-postgres
    effect: deny
    users: ["*"]
    hosts: ["*"]
    logins: [postgres]
  - name: self-on-test
    users: [alice]
    hosts: ["test-*"]
    logins: ["\${user}"]
    max_ttl: 1h
  - name: deploy-with-approval
    users: [alice]
    hosts: ["test-*"]
    logins: [deploy]
    max_ttl: 15m
    approvals: {count: 1, from: [sre]}
  - name: root-with-reason
    users: [alice]
    hosts: ["test-*"]
    logins: [root]
    max_ttl: 10m
    reason: {required: true, pattern: "^INC-[0-9]+"}
POLICY
start_ca
start_agent alice
records() {
	curl -sS --max-time 10 --cacert "$T/ca/tls_cert.pem" --pinnedpubkey "$PIN" \
		"$URL/healthz" | jq -e .ledger_records
}
RECORDS=$(records)

# explain ARGS...: jit-ssh explain; stdout in $T/out, stderr in $T/err, status in $RC
explain() {
	set +e
	jit explain "$PIN" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	set -e
}
has() { grep -qxF -- "$1" "$T/out" || fail "no line '$1' in: $(cat "$T/out")"; }

OPEN="open to you on test-1:
  alice   allowed         max 1h   rule 'self-on-test'
  deploy  needs approval  max 15m  rule 'deploy-with-approval' (1 approval from [sre])
  root    allowed         max 10m  rule 'root-with-reason' (reason required, matching '^INC-[0-9]+')

not open to you on test-1:
  postgres  denied by rule 'no-postgres' (deny rules win over any allow)"

explain test-1
[ "$RC" = 0 ] || fail "explain test-1 exited $RC: $(cat "$T/err")"
has "alice@test-1: allowed"
has "  rule:      self-on-test"
has "  lifetime:  15m"
has "explanation:"
has "  decision: allowed by rule 'self-on-test'"
[ "$(tail -n 7 "$T/out")" = "$OPEN" ] || fail "the open logins are not as expected: $(cat "$T/out")"
[ ! -s "$T/err" ] || fail "explain printed on stderr: $(cat "$T/err")"
ok "an allowed login: exit 0, its lifetime, the explanation and every open login"

explain root@test-1
[ "$RC" = 2 ] || fail "explain root@test-1 exited $RC"
has "root@test-1: denied"
has "  reason:    rule 'root-with-reason' matches, but a reason is required"
ok "a login that needs a reason, asked without one: exit 2 and the missing condition"
explain --reason INC-42 root@test-1
[ "$RC" = 0 ] || fail "explain --reason INC-42 root@test-1 exited $RC"
has "root@test-1: allowed"
has "  lifetime:  10m"
ok "--reason is taken into account as in a real request"

explain deploy@test-1
[ "$RC" = 0 ] || fail "explain deploy@test-1 exited $RC"
has "deploy@test-1: needs approval"
has "  needs:     1 approval from [sre]"
grep -qx "jit-ssh: note: deploy@test-1 is not denied, but not allowed outright either: a request for it needs approval" \
	"$T/err" || fail "no note on stderr: $(cat "$T/err")"
ok "a login that needs approval: exit 0, the quorum and groups, and a note"

explain postgres@test-1
[ "$RC" = 2 ] || fail "explain postgres@test-1 exited $RC"
has "postgres@test-1: denied"
has "  rule:      no-postgres"
ok "a login a deny rule refuses: exit 2, naming the rule"

explain nobody@prod-1
[ "$RC" = 2 ] || fail "explain nobody@prod-1 exited $RC"
[ "$(tail -n 2 "$T/out")" = "open to you on prod-1:
  (nothing)" ] || fail "expected nothing open on prod-1: $(cat "$T/out")"
ok "a host with nothing open says so"

explain --json deploy@test-1
[ "$RC" = 0 ] || fail "explain --json exited $RC"
jq -e '.decision.verdict == "needs_approval" and (.open | length) == 3' "$T/out" >/dev/null ||
	fail "--json is not the CA's answer: $(cat "$T/out")"
"$JIT_SSH_CA" policy explain --json --policy "$T/ca/policy.yaml" --user alice --host test-1 \
	--login deploy >"$T/policy-explain.json" 2>"$T/policy-explain.log"
jq -S '.decision | del(.explanation)' "$T/out" >"$T/a"
jq -S 'del(.explanation, .open, .denied, .denied_more)' "$T/policy-explain.json" >"$T/b"
cmp -s "$T/a" "$T/b" || fail "the CA's decision differs from policy explain: $(diff "$T/a" "$T/b")"
ok "--json prints the CA's answer, whose decision is what jit-ssh-ca policy explain says"

explain --json root@test-1
[ "$RC" = 2 ] || fail "explain --json root@test-1 exited $RC"
ok "--json keeps the exit status of the decision"

SSH_AUTH_SOCK=/nonexistent explain -i "$T/alice" test-1
[ "$RC" = 0 ] || fail "explain -i without an agent exited $RC: $(cat "$T/err")"
has "alice@test-1: allowed"
ok "-i KEYFILE signs without an agent"

explain -i "$T/mallory" test-1
[ "$RC" = 5 ] || fail "explain with an unknown key exited $RC"
grep -q "^jit-ssh: the CA does not know the key in $T/mallory " "$T/err" ||
	fail "unexpected message: $(cat "$T/err")"
ok "a key the CA does not know for the user: exit 5"

[ "$(records)" = "$RECORDS" ] || fail "the ledger grew from $RECORDS to $(records) records"
[ -z "$(ls -A "$T/run")" ] || fail "explain left files in the runtime directory: $(ls "$T/run")"
[ "$(grep -c 'path=/v1/explain status=200 result=explained' "$T/ca.log")" -ge 9 ] ||
	fail "the CA did not log the explain requests"
! grep -q 'path=/v1/requests' "$T/ca.log" || fail "explain sent a certificate request"
ok "nothing was issued or recorded; the CA logged each explain request"
echo "1..$CHECKS"
