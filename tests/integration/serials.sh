#!/bin/bash
# Every certificate the CA issues is in its ledger under its serial, serials never repeat,
# also across a restart of the CA, and the ledger verifies.
. "$(dirname "$0")/lib.sh"

setup_ca_and_agent
L=$TEST_LOGIN
: >"$T/issued"

# issue N: N certificates through jit-ssh cert and the by-hand flow; serials to $T/issued
issue() {
	local i name
	for ((i = 0; i < $1; i++)); do
		jit_cert "$L@prod-web-3" >"$T/cert.out" 2>&1 || fail "jit-ssh cert: $(cat "$T/cert.out")"
		cert_field "$(cert_file "$L@prod-web-3")" Serial >>"$T/issued"
		name=k$((++N_HAND))
		new_key "$name"
		hand_cert "$name" alice prod-db-1 "$L"
		jq -r .serial "$T/$name.json" >>"$T/issued"
	done
}
N_HAND=0

issue 3
check "six certificates were issued before the restart" test "$(wc -l <"$T/issued")" = 6
ledger_serials >"$T/ledger1"
check "every issued serial is in the ledger (ledger list --json)" \
	test -z "$(comm -23 <(sort -u "$T/issued") <(sort -u "$T/ledger1"))"
check "the ledger lists no serial that was not issued" \
	test -z "$(comm -13 <(sort -u "$T/issued") <(sort -u "$T/ledger1"))"

stop_ca
serve_ca
issue 2
check "ten certificates were issued in all" test "$(wc -l <"$T/issued")" = 10
check "no serial was issued twice, across the restart" test "$(sort -u "$T/issued" | wc -l)" = 10
check "no serial is 0" test -z "$(grep -x 0 "$T/issued" || true)"
ledger_serials >"$T/ledger2"
check "the ledger holds all ten serials after the restart" \
	test "$(sort -u "$T/ledger2")" = "$(sort -u "$T/issued")"

status=$(ca_get /healthz "$T/health")
check "/healthz counts the ledger records" \
	jq -e '.status == "ok" and .ledger_records >= 10' "$T/health"
check "jit-ssh-ca ledger verify accepts the ledger" \
	"$JIT_SSH_CA" ledger verify --config "$T/ca/config.yaml"
