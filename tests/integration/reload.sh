#!/bin/bash
# Hot reload of the policy (issue 3): after the policy file changes, SIGHUP (and separately
# `jit-ssh-ca reload`) makes the running CA decide by the new policy, without a restart: a
# login that was allowed is denied and the other way round. /healthz shows the new version,
# load time and generation; the ledger records "policy_reloaded". An invalid file changes
# nothing: the old policy still decides, the log and `reload` name FILE:LINE:COL and `reload`
# exits 1, while the unauthenticated /healthz says only that the reload failed, when, and
# with how many errors (no file, user, group or rule names). Reloads under load: every
# request is decided whole by one policy.
. "$(dirname "$0")/lib.sh"

require_sshd
new_key alice
new_key bob
start_agent
ssh-add -q "$T/keys/alice" 2>/dev/null
init_ca
# `jit-ssh-ca reload` finds /healthz through the config, so the CA listens on the config's
# port here rather than on an ephemeral one.
set_config port "$(free_port)"
CA_FIXED_PORT=1 serve_ca
start_sshd web prod-web-3 "$TEST_LOGIN"
L=$TEST_LOGIN
POLICY=$T/ca/policy.yaml

# version_of FILE: the version `policy check` gives FILE
version_of() {
	"$JIT_SSH_CA" policy check "$1" 2>"$T/check.err" | grep -Eo 'sha256:[0-9a-f]{64}' ||
		fail "policy check $1: $(cat "$T/check.err")"
}

# wait_healthz JQ-CONDITION: poll /healthz (up to 15 s) until the condition holds
wait_healthz() {
	wait_for "/healthz: $1" "$CA_PID" bash -c \
		'curl -sS --max-time 5 --cacert "$1/ca/tls_cert.pem" "$2/healthz" 2>/dev/null |
			jq -e "$3" >/dev/null' _ "$T" "$CA_URL" "$1"
}

# login_as USER: jit-ssh as USER (signing with USER's enrolled key) to prod-web-3; prints
# "in" when the login worked
login_as() {
	JIT_USER=$1 jit_ssh web -i "$T/keys/$1" "$L@prod-web-3" 'echo in' 2>"$T/login-$1.err" ||
		true
}

# reloaded_events FILE: the "policy_reloaded" records of the ledger, as a JSON array
reloaded_events() {
	ledger_json | jq -c '[.[] | select(.event == "policy_reloaded")]' >"$1"
}

V0=$(version_of "$POLICY")
health "$T/hz0.json"
jcheck "/healthz shows the policy loaded at start (version, generation, no reload error)" \
	"$T/hz0.json" '.status == "ok" and .policy_version == $v and
		(.policy_generation | type) == "number" and (.policy_loaded_at | type) == "number" and
		.policy_reload_error == null and .policy_reload_failed_at == null and
		.policy_reload_errors == 0 and .ledger_chain_ok == true' --arg v "$V0"
G0=$(jq .policy_generation "$T/hz0.json")
check "serve wrote its PID to serve.pid next to the config" \
	test "$(cat "$T/ca/serve.pid" 2>/dev/null)" = "$CA_PID"

check "alice logs in as $L on prod-web-3 under the first policy" test "$(login_as alice)" = in
check "bob is denied under the first policy" test -z "$(login_as bob)"
check "jit-ssh told bob why" grep -qi denied "$T/login-bob.err"

# ---- SIGHUP: the rule now names bob instead of alice's group ----------------------------
cp "$POLICY" "$T/policy0.yaml"
sed 's/^    groups: \[sre\]$/    users: [bob]/' "$T/policy0.yaml" >"$T/policy1.yaml"
cmp -s "$T/policy0.yaml" "$T/policy1.yaml" && fail "the test could not edit the policy"
V1=$(version_of "$T/policy1.yaml")
[ "$V1" != "$V0" ] || fail "the edited policy has the same version"
cp "$T/policy1.yaml" "$POLICY"
before=$(date +%s)
kill -HUP "$CA_PID"
wait_healthz ".policy_generation == $((G0 + 1))"
check "the CA process is the same one (no restart)" kill -0 "$CA_PID"
health "$T/hz1.json"
jcheck "/healthz after SIGHUP: the new version, generation +1, no reload error" \
	"$T/hz1.json" '.policy_version == $v and .policy_generation == $g and
		.policy_reload_error == null' --arg v "$V1" --argjson g "$((G0 + 1))"
jcheck "/healthz policy_loaded_at is the time of the reload" "$T/hz1.json" \
	'.policy_loaded_at >= $t and .policy_loaded_at <= $now' \
	--argjson t "$before" --argjson now "$(date +%s)"
check "after SIGHUP alice, allowed before, is denied" test -z "$(login_as alice)"
check "jit-ssh told alice she was denied" grep -qi denied "$T/login-alice.err"
check "after SIGHUP bob, denied before, logs in" test "$(login_as bob)" = in
check "only the two allowed logins reached sshd" test "$(sshd_accepted web)" = 2

ledger_json >"$T/ledger1.json"
jcheck "the ledger records the reload: policy_reloaded with both versions" "$T/ledger1.json" \
	'[.[] | select(.event == "policy_reloaded")] | length == 1 and
		.[0].policy_version == $v1 and .[0].previous_version == $v0 and
		(.[0].time | type) == "number"' --arg v0 "$V0" --arg v1 "$V1"
jcheck "alice's denial was decided under the new policy (its version in the decided record)" \
	"$T/ledger1.json" '[.[] | select(.event == "decided" and .user == "alice")] | last |
		.decision == "denied" and .policy_version == $v1' --arg v1 "$V1"

# ---- an invalid policy changes nothing ---------------------------------------------------
# A misspelt key inside the rule: the loader names its line and column.
awk '{ print } /^    max_ttl: 1h$/ { print "    max_tll: 2h" }' "$T/policy1.yaml" >"$T/bad.yaml"
BAD_LINE=$(grep -n '^    max_tll:' "$T/bad.yaml" | cut -d: -f1)
[ -n "$BAD_LINE" ] || fail "the test could not make the invalid policy"
cp "$T/bad.yaml" "$POLICY"
if "$JIT_SSH_CA" policy check "$POLICY" >/dev/null 2>"$T/bad.check"; then
	fail "policy check accepts the invalid policy"
fi
check "policy check names the bad key's line ($BAD_LINE) as FILE:LINE:COL" \
	grep -Eq "policy\.yaml:$BAD_LINE:[0-9]+: " "$T/bad.check"
LOC=$(grep -Eo "policy\.yaml:$BAD_LINE:[0-9]+:" "$T/bad.check" | head -n 1)

before=$(date +%s)
kill -HUP "$CA_PID"
wait_healthz '.policy_reload_error != null'
health "$T/hz2.json"
jcheck "/healthz says the reload failed, when, and with 1 error" "$T/hz2.json" \
	'(.policy_reload_error | type == "string" and contains("1 error")) and
		.policy_reload_errors == 1 and .policy_reload_failed_at >= $t and
		.policy_reload_failed_at <= $now' --argjson t "$before" --argjson now "$(date +%s)"
jcheck "/healthz (unauthenticated) names no file, place, key, rule or group" "$T/hz2.json" \
	'tostring | (contains("policy.yaml") or contains($loc) or contains("max_tll") or
		contains("sre-prod")) | not' --arg loc "$LOC"
jcheck "after the invalid reload the version, generation and load time are unchanged" \
	"$T/hz2.json" '.policy_version == $v and .policy_generation == $g and
		.policy_loaded_at == $at' --arg v "$V1" --argjson g "$((G0 + 1))" \
	--argjson at "$(jq .policy_loaded_at "$T/hz1.json")"
check "the CA log says exactly why ($LOC)" grep -qF "$LOC" "$T/ca.log"
check "the old policy still decides: bob still logs in" test "$(login_as bob)" = in
check "the old policy still decides: alice is still denied" test -z "$(login_as alice)"

rc=0
ca_cmd reload >"$T/reload-bad.out" 2>&1 || rc=$?
check "jit-ssh-ca reload of the invalid file exits 1 ($rc)" test "$rc" = 1
check "jit-ssh-ca reload prints the reload error ($LOC)" grep -qF "$LOC" "$T/reload-bad.out"
check "jit-ssh-ca reload gives the CA's count of errors" grep -q "the CA found 1 error" \
	"$T/reload-bad.out"
check "jit-ssh-ca reload says its list comes from checking the file here, and agrees" \
	bash -c 'grep -q "checking .*policy.yaml here:" "$1" && ! grep -q " here but " "$1"' _ \
	"$T/reload-bad.out"
health "$T/hz2b.json"
jcheck "the CA still serves the same policy" "$T/hz2b.json" \
	'.policy_version == $v and .policy_generation == $g' --arg v "$V1" --argjson g "$((G0 + 1))"
# A policy file that is gone: the same.
ATTEMPTS=$(jq .policy_reload_attempts "$T/hz2b.json")
rm "$POLICY"
kill -HUP "$CA_PID"
wait_healthz ".policy_reload_attempts == $((ATTEMPTS + 1))"
health "$T/hz2c.json"
jcheck "a missing policy file: /healthz says the reload failed without naming the file" \
	"$T/hz2c.json" '.policy_reload_error != null and .policy_reload_errors == 1 and
		(tostring | contains("policy.yaml") | not) and .policy_version == $v and
		.policy_generation == $g' --arg v "$V1" --argjson g "$((G0 + 1))"
check "a missing policy file: the CA log names it" grep -q "policy.yaml: No such file" "$T/ca.log"
rc=0
ca_cmd reload >"$T/reload-gone.out" 2>&1 || rc=$?
check "jit-ssh-ca reload of a missing file exits 1 ($rc) and names it" \
	bash -c '[ "$1" = 1 ] && grep -q "cannot check .*policy.yaml here (No such file" "$2"' _ \
	"$rc" "$T/reload-gone.out"
check "with the file gone the old policy still decides: bob logs in" test "$(login_as bob)" = in
reloaded_events "$T/reloaded.json"
jcheck "no policy_reloaded event for the failed reloads" "$T/reloaded.json" 'length == 1'

# ---- jit-ssh-ca reload: back to the first policy -----------------------------------------
cp "$T/policy0.yaml" "$POLICY"
ca_cmd reload >"$T/reload.out" 2>&1 || fail "jit-ssh-ca reload failed: $(cat "$T/reload.out")"
check "jit-ssh-ca reload prints 'policy reloaded: <version>'" \
	grep -qx "policy reloaded: $V0" "$T/reload.out"
health "$T/hz3.json"
jcheck "/healthz after reload: the first version again, generation +2, the error cleared" \
	"$T/hz3.json" '.policy_version == $v and .policy_generation == $g and
		.policy_reload_error == null and .policy_reload_failed_at == null and
		.policy_reload_errors == 0' --arg v "$V0" --argjson g "$((G0 + 2))"
check "after reload alice logs in again" test "$(login_as alice)" = in
check "after reload bob is denied again" test -z "$(login_as bob)"
check "the CA was never restarted" test "$(cat "$T/ca/serve.pid")" = "$CA_PID"
reloaded_events "$T/reloaded.json"
jcheck "the ledger has a second policy_reloaded event, back to the first version" \
	"$T/reloaded.json" 'length == 2 and .[1].policy_version == $v0 and
		.[1].previous_version == $v1' --arg v0 "$V0" --arg v1 "$V1"

# ---- reloads while requests are in flight ------------------------------------------------
# Twenty reloads, alternating between the two policies, while a client keeps asking for
# alice: every request is decided by exactly one of the two policies, whole.
MARK=$(ledger_json | jq '[.[].seq] | max')
G=$(jq .policy_generation "$T/hz3.json")
(
	while [ ! -e "$T/bg.stop" ]; do
		fast_request "$T/keys/alice" alice prod-web-3 "$L" "$T/keys/alice.pub" "$T/bg.resp" \
			>>"$T/bg.status"
	done
) &
BG=$!
PIDS+=("$BG")
for ((i = 1; i <= 20; i++)); do
	cp "$T/policy$((i % 2)).yaml" "$POLICY"
	kill -HUP "$CA_PID"
	wait_healthz ".policy_generation == $((G + i))"
done
touch "$T/bg.stop"
wait "$BG" || true
forget_pid "$BG"
check "the CA survived 20 reloads under load" kill -0 "$CA_PID"
check "every request during the reloads was answered 201 or 403" \
	test -z "$(grep -vxE '201|403' "$T/bg.status" || true)"
check "both policies decided some of them" \
	bash -c 'grep -qx 201 "$1" && grep -qx 403 "$1"' _ "$T/bg.status"
ledger_json >"$T/ledger4.json"
jcheck "each decision is whole: allowed under the first policy, denied under the second" \
	"$T/ledger4.json" '[.[] | select(.seq > $m and .event == "decided")] | length > 0 and
		all(.[]; (.policy_version == $v0 and .decision == "allowed") or
			(.policy_version == $v1 and .decision == "denied"))' \
	--argjson m "$MARK" --arg v0 "$V0" --arg v1 "$V1"
jcheck "each certificate was issued under the policy that decided it" "$T/ledger4.json" \
	'[.[] | select(.seq > $m)] | (map(select(.event == "decided") |
		{(.request_id): .policy_version}) | add) as $by |
		all(.[] | select(.event == "issued"); .policy_version == $v0 and
			$by[.request_id] == $v0)' --argjson m "$MARK" --arg v0 "$V0"
jcheck "twenty more policy_reloaded events" "$T/ledger4.json" \
	'[.[] | select(.seq > $m and .event == "policy_reloaded")] | length == 20' --argjson m "$MARK"
check "the ledger verifies" ca_cmd ledger verify

stop_ca
check "serve removes its PID file on a clean exit" test ! -e "$T/ca/serve.pid"

# A CA on an ephemeral port: reload finds it through --port-file.
serve_ca
check "a new serve rewrote the PID file" test "$(cat "$T/ca/serve.pid" 2>/dev/null)" = "$CA_PID"
cp "$T/policy1.yaml" "$POLICY"
ca_cmd reload --port-file "$T/ca.port" >"$T/reload2.out" 2>&1 ||
	fail "jit-ssh-ca reload --port-file: $(cat "$T/reload2.out")"
check "reload --port-file reloads a CA on an ephemeral port" \
	grep -qx "policy reloaded: $V1" "$T/reload2.out"
# A CA that died without cleaning up leaves its PID file: reload must not pretend.
kill -KILL "$CA_PID"
{ wait "$CA_PID"; } 2>/dev/null || true
forget_pid "$CA_PID"
rc=0
ca_cmd reload --port-file "$T/ca.port" >"$T/reload3.out" 2>&1 || rc=$?
check "reload with no CA running exits 1 ($rc) and says why" \
	test "$rc" = 1 -a -s "$T/reload3.out"
