#!/bin/bash
# The ledger review tools (issue 4), as security uses them on a CA that has served real
# requests: every event of a request is recorded with the documented fields; `ledger list`
# filters (--user, --host, --login, --serial, --request, --since, --until, --event, --state);
# `show SERIAL|REQUEST-ID` tells the story event by event; `export --format jsonl` is one
# JSON object per line; `review` marks an issuance with the reviewer's enrolled key (a
# signed record), `list --unreviewed` is the queue and `list --flagged` what was flagged;
# checkpoints are signed with the CA key; once a certificate has expired, a sweep records
# "expired" in its story; `backup DEST` while the CA serves gives a copy that verifies. A
# copy of the ledger with one byte changed fails `verify`, which names the first bad
# record, and the daemon refuses to start on it unless --continue-on-broken-chain, which
# it records; the daemon also refuses a ledger whose checkpoints another key signed, until
# that key is listed as a previous CA key. Reviews count only against a policy that can be
# used: without one, `list --unreviewed` and `--flagged` are refused. A previous-CA-keys file
# others could change is refused by `verify` and `backup`.
. "$(dirname "$0")/lib.sh"

require_sshd
new_key alice
new_key bob
new_key mallory
start_agent
ssh-add -q "$T/keys/alice" 2>/dev/null
init_ca
set_config checkpoint_records 6
serve_ca
L=$TEST_LOGIN
health "$T/hz.json"
VERSION=$(jq -r .policy_version "$T/hz.json")
CA_FP=$(fingerprint "$CA_PUB")

# ---- some history: two issued, two denied ------------------------------------------------
jit_cert --reason "INC-1 web check" "$L@prod-web-3" >"$T/out" 2>&1 ||
	fail "jit-ssh cert: $(cat "$T/out")"
C1=$(cert_file "$L@prod-web-3")
S1=$(cert_field "$C1" Serial)
R1=$(cert_field "$C1" "Key ID" | sed -n 's/.* request=\([0-9a-f]*\)$/\1/p')
new_key k2
HAND_REASON="INC-2 db check" hand_cert k2 alice prod-db-1 "$L"
S2=$(jq -r .serial "$T/k2.json")
R2=$(jq -r .request_id "$T/k2.json")
new_key k3
hand_body alice prod-web-3 postgres "$T/keys/k3.pub" >"$T/k3.body"
status=$(hand_request "$T/keys/alice" "$T/k3.body" "$T/k3.json")
[ "$status" = 403 ] || fail "alice as postgres: $status $(cat "$T/k3.json")"
RD=$(jq -r .request_id "$T/k3.json")
hand_body bob prod-web-3 "$L" "$T/keys/k3.pub" >"$T/k4.body"
status=$(hand_request "$T/keys/bob" "$T/k4.body" "$T/k4.json")
[ "$status" = 403 ] || fail "bob as $L: $status $(cat "$T/k4.json")"
RB=$(jq -r .request_id "$T/k4.json")

# list FILE ARGS...: ledger list --json ARGS into FILE (as one array)
list() {
	local out=$1
	shift
	ca_cmd ledger list --json "$@" 2>"$T/list.err" |
		jq -s 'if length == 1 and (.[0] | type) == "array" then .[0] else . end' >"$out" ||
		fail "ledger list --json $*: $(cat "$T/list.err")"
}

# ---- the records -------------------------------------------------------------------------
list "$T/all.json"
# A request that fails authentication names no trusted requester: logged, not recorded.
hand_body alice prod-web-3 "$L" "$T/keys/k3.pub" >"$T/k401.body"
status=$(hand_request "$T/keys/mallory" "$T/k401.body" "$T/k401.json")
check "a request signed by a key nobody enrolled is refused: 401 ($status)" test "$status" = 401
list "$T/all-after-401.json"
check "... and not recorded in the ledger" cmp -s "$T/all.json" "$T/all-after-401.json"
check "... but logged by the CA" grep -q 'status=401' "$T/ca.log"
health "$T/hz.json"
jcheck "/healthz ledger_records counts the records" "$T/hz.json" '.ledger_records == $n' \
	--argjson n "$(jq length "$T/all.json")"
jcheck "every record has event and time; request records name request_id, user, host, login" \
	"$T/all.json" 'length > 0 and all(.[]; (.event | type == "string") and
		(.time | type == "number")) and all(.[] | select(.event == "received" or
		.event == "decided" or .event == "issued"); (.request_id | type == "string") and
		(.user | type == "string") and (.host | type == "string") and
		(.login | type == "string"))'
jcheck "received: requesting key, TTL asked, reason, client address, nonce" "$T/all.json" \
	'[.[] | select(.event == "received" and .request_id == $r)] | length == 1 and
		(.[0] | .user == "alice" and .host == "prod-db-1" and .login == $l and
		.requesting_key == $fp and .ttl_seconds == 0 and .reason == "INC-2 db check" and
		.client_address == "127.0.0.1" and .nonce == $nonce)' \
	--arg r "$R2" --arg l "$L" --arg fp "$(fingerprint "$T/keys/alice.pub")" \
	--arg nonce "$(jq -r .nonce "$T/k2.body")"
jcheck "decided: allowed, its reason line, the rule and the policy version" "$T/all.json" \
	'[.[] | select(.event == "decided" and .request_id == $r)] | length == 1 and
		(.[0] | .decision == "allowed" and (.reason | type == "string" and length > 0) and
		.rule == "sre-prod" and .policy_version == $v)' --arg r "$R2" --arg v "$VERSION"
jcheck "issued: serial, key ID, principals, validity, both fingerprints, the certificate" \
	"$T/all.json" '[.[] | select(.event == "issued" and .request_id == $r)] | length == 1 and
		(.[0] | .serial == $a.serial and .key_id == $a.key_id and
		.principals == ["jit:prod-db-1:" + $l] and .valid_after == $a.valid_after and
		.valid_before == $a.valid_before and .certified_key == $ck and .ca_key == $ca and
		.certificate == $a.certificate and has("extensions") and
		(.extensions | tostring | contains("permit-pty")) and has("critical_options") and
		.rule == "sre-prod" and .policy_version == $v)' \
	--arg r "$R2" --arg l "$L" --argjson a "$(cat "$T/k2.json")" \
	--arg ck "$(fingerprint "$T/keys/k2.pub")" --arg ca "$CA_FP" --arg v "$VERSION"
jcheck "a denial is a decided record: denied, with a reason, no rule, no issued record" \
	"$T/all.json" '([.[] | select(.request_id == $r)] | map(.event) == ["received", "decided"])
		and ([.[] | select(.event == "decided" and .request_id == $r)][0] |
		.decision == "denied" and .rule == null and (.reason | length > 0))' --arg r "$RD"
jcheck "startup: the CA key, the policy version, the chain checked and intact" "$T/all.json" \
	'[.[] | select(.event == "startup")] | length == 1 and (.[0] | .ca_key == $ca and
		.policy_version == $v and .chain_ok == true and
		.continued_on_broken_chain == false)' --arg ca "$CA_FP" --arg v "$VERSION"

# ---- list filters ------------------------------------------------------------------------
list "$T/f.json" --user alice
jcheck "list --user alice: alice's records only, all three of her requests" "$T/f.json" \
	'length > 0 and all(.[]; .user == "alice") and ([.[].request_id] | unique) as $ids |
		($ids | index($r1)) != null and ($ids | index($r2)) != null and
		($ids | index($rd)) != null' --arg r1 "$R1" --arg r2 "$R2" --arg rd "$RD"
list "$T/f.json" --user bob
jcheck "list --user bob: bob's received and decided records" "$T/f.json" \
	'map(.event) == ["received", "decided"] and all(.[]; .user == "bob" and .request_id == $rb)' \
	--arg rb "$RB"
list "$T/f.json" --host prod-db-1
jcheck "list --host prod-db-1: that request's three events only" "$T/f.json" \
	'map(.event) == ["received", "decided", "issued"] and all(.[]; .host == "prod-db-1")'
list "$T/f2.json" --host PROD-DB-1.
check "list --host is normalised like requests (PROD-DB-1. = prod-db-1)" cmp -s "$T/f.json" "$T/f2.json"
list "$T/f.json" --login postgres
jcheck "list --login postgres: the denied request only" "$T/f.json" \
	'length == 2 and all(.[]; .login == "postgres" and .request_id == $rd)' --arg rd "$RD"
list "$T/f.json" --serial "$S1"
jcheck "list --serial S1: the issuance with that serial" "$T/f.json" \
	'length >= 1 and all(.[]; .serial == $s) and any(.[]; .event == "issued")' --argjson s "$S1"
list "$T/f.json" --request "$R1"
jcheck "list --request R1: received, decided, issued of that request" "$T/f.json" \
	'map(.event) == ["received", "decided", "issued"] and all(.[]; .request_id == $r)' --arg r "$R1"
list "$T/f.json" --event issued
jcheck "list --event issued: the two certificates" "$T/f.json" \
	'map(.serial) == [$s1, $s2] and all(.[]; .event == "issued")' --argjson s1 "$S1" --argjson s2 "$S2"
list "$T/f.json" --event decided --user alice
jcheck "list --event decided --user alice: her three decisions" "$T/f.json" \
	'length == 3 and all(.[]; .event == "decided" and .user == "alice")'
list "$T/f.json" --user alice --host prod-web-3 --event issued
jcheck "filters combine: alice, prod-web-3, issued = S1" "$T/f.json" \
	'map(.serial) == [$s] ' --argjson s "$S1"
list "$T/f.json" --since 1h
jcheck "list --since 1h: everything of the last hour" "$T/f.json" \
	'length == $n' --argjson n "$(jq length "$T/all.json")"
list "$T/f.json" --since "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)"
jcheck "list --since ISO-8601 time an hour ago: everything" "$T/f.json" \
	'length == $n' --argjson n "$(jq length "$T/all.json")"
list "$T/f.json" --since "$(($(date +%s) + 3600))"
jcheck "list --since an hour ahead (seconds since the epoch): nothing" "$T/f.json" 'length == 0'
list "$T/f.json" --until 2020-01-01
jcheck "list --until 2020-01-01: nothing" "$T/f.json" 'length == 0'
list "$T/f.json" --state issued
jcheck "list --state issued: the two requests with a certificate, by their issued records" \
	"$T/f.json" 'map(.serial) == [$s1, $s2] and all(.[]; .event == "issued" and
		.state == "issued")' --argjson s1 "$S1" --argjson s2 "$S2"
list "$T/f.json" --state denied
jcheck "list --state denied: the two denied requests, by their decided records" "$T/f.json" \
	'(map(.request_id) | sort) == ([$rd, $rb] | sort) and all(.[]; .event == "decided" and
		.decision == "denied" and .state == "denied")' --arg rd "$RD" --arg rb "$RB"
list "$T/f.json" --state denied --user bob
jcheck "list --state denied --user bob: bob's request only" "$T/f.json" \
	'map(.request_id) == [$rb]' --arg rb "$RB"
list "$T/f.json" --state received
jcheck "list --state received: no request waits for its decision" "$T/f.json" 'length == 0'
if ca_cmd ledger list --state valid >"$T/out" 2>&1; then fail "list --state valid succeeded"; fi
check "list --state with an unknown state is refused, naming the states" \
	grep -q "needs_approval" "$T/out"
ca_cmd ledger list --serial "$S1" >"$T/table.txt" 2>&1 || fail "ledger list (table): $(cat "$T/table.txt")"
check "list without --json prints a table naming the serial and its request" \
	bash -c 'grep -qw "$1" "$3" && grep -q "$2" "$3"' _ "$S1" "$R1" "$T/table.txt"

# ---- show --------------------------------------------------------------------------------
# in_order FILE WORD...: each WORD appears in FILE, each on a later line than the one before
in_order() {
	local f=$1 w line=0 n
	shift
	for w in "$@"; do
		n=$(grep -n -- "$w" "$f" | awk -F: -v after="$line" '$1 > after { print $1; exit }')
		[ -n "$n" ] || return 1
		line=$n
	done
}
ca_cmd ledger show "$S2" >"$T/show-s.txt" 2>&1 || fail "ledger show $S2: $(cat "$T/show-s.txt")"
check "show SERIAL tells the story in order: received, decided, issued" \
	in_order "$T/show-s.txt" received decided issued
check "show SERIAL gives who asked, the reason, the rule and the serial" \
	bash -c 'grep -q alice "$1" && grep -q "INC-2 db check" "$1" && grep -q sre-prod "$1" &&
		grep -qw "$2" "$1"' _ "$T/show-s.txt" "$S2"
ca_cmd ledger show "$R2" >"$T/show-r.txt" 2>&1 || fail "ledger show $R2: $(cat "$T/show-r.txt")"
check "show REQUEST-ID tells the same story" cmp -s "$T/show-s.txt" "$T/show-r.txt"
ca_cmd ledger show "$RD" >"$T/show-d.txt" 2>&1 || fail "ledger show $RD: $(cat "$T/show-d.txt")"
check "show of a denied request: received, then decided denied, nothing issued" \
	bash -c 'grep -q denied "$1" && ! grep -q "issued\|serial [0-9]" "$1"' _ "$T/show-d.txt"
ca_cmd ledger show --json "$S1" >"$T/show.json" 2>&1 || fail "ledger show --json: $(cat "$T/show.json")"
jcheck "show --json SERIAL: the request's records as JSON" "$T/show.json" \
	'map(.event) == ["received", "decided", "issued"] and all(.[]; .request_id == $r)' --arg r "$R1"
if ca_cmd ledger show 424242 >"$T/out" 2>&1; then fail "show of an unknown serial succeeded"; fi
ok "show of an unknown serial fails"

# ---- export ------------------------------------------------------------------------------
ca_cmd ledger export --format jsonl >"$T/export.jsonl" 2>"$T/export.err" ||
	fail "ledger export: $(cat "$T/export.err")"
check "export --format jsonl: one JSON object per line, each parsable on its own" \
	bash -c 'while IFS= read -r l; do jq -e "type == \"object\"" <<<"$l" >/dev/null || exit 1; done <"$1"' \
	_ "$T/export.jsonl"
N_EXPORT=$(wc -l <"$T/export.jsonl")
check "export has a line for every record ($N_EXPORT)" test "$N_EXPORT" = "$(jq length "$T/all.json")"
jq -s . "$T/export.jsonl" >"$T/export.json"
jcheck "exported records carry seq, hash, prev and the event fields" "$T/export.json" \
	'all(.[]; (.seq | type == "number") and (.hash | test("^[0-9a-f]{64}$")) and has("prev")
		and (.event | type == "string")) and
		([.[] | select(.event == "issued")] | map(.serial) == [$s1, $s2])' \
	--argjson s1 "$S1" --argjson s2 "$S2"
ca_cmd ledger export --format jsonl --event issued >"$T/export2.jsonl" 2>&1 ||
	fail "export --event issued: $(cat "$T/export2.jsonl")"
check "export takes the list filters (--event issued: 2 lines)" test "$(wc -l <"$T/export2.jsonl")" = 2
ca_cmd ledger export --format jsonl --since "$(($(date +%s) + 3600))" >"$T/export3.jsonl" 2>&1 ||
	fail "export --since: $(cat "$T/export3.jsonl")"
check "export --since an hour ahead: nothing" test ! -s "$T/export3.jsonl"
if ca_cmd ledger export --format csv >"$T/out" 2>&1; then fail "export --format csv succeeded"; fi
ok "export --format csv is refused"

# ---- review ------------------------------------------------------------------------------
list "$T/q.json" --unreviewed
jcheck "list --unreviewed: both issuances await review" "$T/q.json" \
	'map(.serial) == [$s1, $s2]' --argjson s1 "$S1" --argjson s2 "$S2"
ca_cmd ledger review "$S1" --ok --note "checked INC-1" -i "$T/keys/bob" --reviewer bob \
	>"$T/review1.out" 2>&1 || fail "review $S1 by bob: $(cat "$T/review1.out")"
list "$T/q.json" --unreviewed
jcheck "after bob's --ok review of S1, the queue holds S2 only" "$T/q.json" \
	'map(.serial) == [$s2]' --argjson s2 "$S2"
ssh-add -q "$T/keys/bob" 2>/dev/null
ca_cmd ledger review "$R2" --flag --note "why the database?" --reviewer bob \
	>"$T/review2.out" 2>&1 || fail "review $R2 by bob through the agent: $(cat "$T/review2.out")"
list "$T/q.json" --unreviewed
jcheck "after bob's --flag review of R2 (signed through ssh-agent), the queue is empty" \
	"$T/q.json" 'length == 0'
list "$T/q.json" --flagged
jcheck "... and list --flagged holds S2, which bob flagged" "$T/q.json" \
	'map(.serial) == [$s2]' --argjson s2 "$S2"
list "$T/reviews.json" --event review
jcheck "the reviews are records: target, verdict, note, reviewer, reviewer_key, signature" \
	"$T/reviews.json" 'length == 2 and (.[0] | .target == $s1 and .verdict == "ok" and
		.note == "checked INC-1" and .reviewer == "bob" and .reviewer_key == $fp and
		(.signature | startswith("-----BEGIN SSH SIGNATURE-----"))) and
		(.[1] | .target == $r2 and .verdict == "flag" and .reviewer_key == $fp)' \
	--argjson s1 "$S1" --arg r2 "$R2" --arg fp "$(fingerprint "$T/keys/bob.pub")"
# Check each review's signature with ssh-keygen over the documented message.
echo "bob $(cut -d' ' -f1,2 "$T/keys/bob.pub")" >"$T/allowed_signers"
for i in 0 1; do
	jq -c ".[$i]" "$T/reviews.json" >"$T/rev.json"
	python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
m = {k: r[k] for k in ("target", "verdict", "note", "reviewer", "time")}
sys.stdout.write(json.dumps(m, sort_keys=True, separators=(",", ":")))' "$T/rev.json" >"$T/rev.msg"
	jq -r .signature "$T/rev.json" >"$T/rev.sig"
	ssh-keygen -Y verify -f "$T/allowed_signers" -I bob -n jit-ssh-review -s "$T/rev.sig" \
		<"$T/rev.msg" >"$T/rev.out" 2>&1 ||
		fail "review $i: ssh-keygen -Y verify rejects the signature: $(cat "$T/rev.out") (message: $(cat "$T/rev.msg"))"
done
ok "ssh-keygen -Y verify (namespace jit-ssh-review) accepts both reviews' signatures"
ca_cmd ledger show "$S1" >"$T/show-rev.txt" 2>&1 || fail "show $S1: $(cat "$T/show-rev.txt")"
check "show SERIAL includes the review, its note and the verified signature" \
	bash -c 'grep -q "checked INC-1" "$1" && grep -qi "signature verified" "$1"' \
	_ "$T/show-rev.txt"
N_REVIEWS=2
if ca_cmd ledger review "$S2" --ok --note "my own" -i "$T/keys/alice" --reviewer alice \
	>"$T/out" 2>&1; then
	fail "alice reviewed her own access"
fi
ok "a requester cannot review her own access: $(head -n 1 "$T/out")"
if ca_cmd ledger review "$S2" --ok --note "forged" -i "$T/keys/mallory" --reviewer bob \
	>"$T/out" 2>&1; then
	fail "a review signed with a key not enrolled for bob was accepted"
fi
ok "a review signed with a key not enrolled for the reviewer is refused"
if ca_cmd ledger review 424242 --ok --note "nothing" -i "$T/keys/bob" --reviewer bob \
	>"$T/out" 2>&1; then
	fail "a review of an unknown serial was accepted"
fi
ok "a review of an unknown serial is refused"
list "$T/reviews.json" --event review
jcheck "the refused reviews wrote nothing" "$T/reviews.json" 'length == $n' --argjson n "$N_REVIEWS"
# Without the policy (which enrolls the reviewers' keys) no review can be counted.
sed "s|^policy:.*|policy: $T/no-such-policy.yaml|" "$T/ca/config.yaml" >"$T/ca/nopolicy-config.yaml"
grep -q "^policy: $T/no-such-policy.yaml\$" "$T/ca/nopolicy-config.yaml" ||
	fail "cannot write the config without a policy"
for queue in --unreviewed --flagged; do
	rc=0
	"$JIT_SSH_CA" ledger list "$queue" --config "$T/ca/nopolicy-config.yaml" \
		>"$T/nopol.out" 2>&1 || rc=$?
	check "list $queue without a readable policy is refused ($rc), naming the policy" \
		bash -c '[ "$1" = 1 ] && grep -q "cannot count reviews: the policy $2" "$3" &&
			! grep -q "awaiting review\|flagged by review" "$3"' \
		_ "$rc" "$T/no-such-policy.yaml" "$T/nopol.out"
done

# ---- checkpoints and verify --------------------------------------------------------------
list "$T/all.json"
jcheck "checkpoint records were made (checkpoint_records: 6)" "$T/all.json" \
	'[.[] | select(.event == "checkpoint")] | length >= 1'
ca_cmd ledger verify >"$T/verify.out" 2>&1 || fail "ledger verify: $(cat "$T/verify.out")"
check "verify passes and counts the checkpoints it verified" \
	grep -Eq '[1-9][0-9]* checkpoints? verified' "$T/verify.out"
check "verify --checkpoint-key ca_key.pub passes" \
	ca_cmd ledger verify --checkpoint-key "$CA_PUB"
rc=0
ca_cmd ledger verify --checkpoint-key "$T/keys/bob.pub" >"$T/verify-bob.out" 2>&1 || rc=$?
check "verify with another checkpoint key (bob's) fails ($rc)" test "$rc" = 1
check "... and says why: the first checkpoint is signed by an untrusted key" \
	grep -Eq "NOT intact: first bad record: seq [0-9]+: the checkpoint is signed by an untrusted key SHA256:" \
	"$T/verify-bob.out"
# ca_key.previous.pub is a trust anchor: one that others could change is not read.
cp "$T/keys/mallory.pub" "$T/ca/ca_key.previous.pub"
chmod 0664 "$T/ca/ca_key.previous.pub"
rc=0
ca_cmd ledger verify >"$T/verify-prev.out" 2>&1 || rc=$?
check "verify refuses a ca_key.previous.pub writable by its group ($rc), naming it" \
	bash -c '[ "$1" = 1 ] && grep -q "ca_key.previous.pub is writable by group or others" "$2"' \
	_ "$rc" "$T/verify-prev.out"
rc=0
ca_cmd ledger backup "$T/backup-untrusted" >"$T/backup-prev.out" 2>&1 || rc=$?
check "backup refuses it too and writes nothing ($rc)" \
	bash -c '[ "$1" = 1 ] && [ ! -e "$2" ]' _ "$rc" "$T/backup-untrusted"
rm -f "$T/ca/ca_key.previous.pub"

# ---- expiry: a sweep records it ----------------------------------------------------------
new_key kx
hand_cert kx alice prod-web-3 "$L" 1
SX=$(jq -r .serial "$T/kx.json")
RX=$(jq -r .request_id "$T/kx.json")
VBX=$(jq -r .valid_before "$T/kx.json")
while [ "$(date +%s)" -lt "$VBX" ]; do sleep 0.2; done # OpenSSH refuses it from valid_before
ca_cmd ledger sweep >"$T/sweep.out" 2>&1 || fail "ledger sweep: $(cat "$T/sweep.out")"
check "ledger sweep reports what it recorded" \
	grep -Eq "^ledger swept: [0-9]+ certificates? expired" "$T/sweep.out"
ca_cmd ledger show "$SX" >"$T/show-x.txt" 2>&1 || fail "ledger show $SX: $(cat "$T/show-x.txt")"
check "show SERIAL of an expired certificate: received, decided, issued, then expired" \
	in_order "$T/show-x.txt" " received" " decided" " issued" " expired"
check "... and its state is expired" grep -q "^  state: expired" "$T/show-x.txt"
list "$T/f.json" --state expired
jcheck "list --state expired: that request, by its expired record (serial, valid_before)" \
	"$T/f.json" 'map(.request_id) == [$r] and (.[0] | .serial == $s and
		.valid_before == $vb and .time == $vb and .user == "alice")' \
	--arg r "$RX" --argjson s "$SX" --argjson vb "$VBX"
ca_cmd ledger export --format jsonl --request "$RX" >"$T/export-x.jsonl" 2>&1 ||
	fail "export --request: $(cat "$T/export-x.jsonl")"
check "export includes the expired record" grep -q '"event":"expired"' "$T/export-x.jsonl"
ca_cmd ledger sweep >"$T/sweep2.out" 2>&1 || fail "ledger sweep: $(cat "$T/sweep2.out")"
list "$T/f.json" --request "$RX" --event expired
jcheck "a second sweep records no second expiry" "$T/f.json" 'length == 1'
check "the ledger with the sweep's records verifies" ca_cmd ledger verify

# ---- backup while the CA serves ----------------------------------------------------------
BEFORE=$(jq length "$T/all.json")
(
	for ((i = 0; i < 40; i++)); do
		fast_request "$T/keys/alice" alice prod-web-3 "$L" "$T/keys/k3.pub" "$T/bg.resp" \
			>>"$T/bg.status"
	done
) &
BG=$!
PIDS+=("$BG")
wait_for "the first background request" "$BG" test -s "$T/bg.status"
ca_cmd ledger backup "$T/backup" >"$T/backup.out" 2>&1 || fail "ledger backup: $(cat "$T/backup.out")"
wait "$BG" || true
forget_pid "$BG"
check "the requests during the backup were answered 201" \
	test -z "$(grep -vx 201 "$T/bg.status" || true)"
check "the backup left a data.mdb in DEST" test -s "$T/backup/data.mdb"
sed "s|^ledger:.*|ledger: $T/backup|" "$T/ca/config.yaml" >"$T/ca/backup-config.yaml"
grep -q "^ledger: $T/backup\$" "$T/ca/backup-config.yaml" || fail "cannot write the backup config"
"$JIT_SSH_CA" ledger verify --config "$T/ca/backup-config.yaml" >"$T/bverify.out" 2>&1 ||
	fail "ledger verify on the backup: $(cat "$T/bverify.out")"
ok "ledger verify on the hot backup passes"
ledger_json "$T/ca/backup-config.yaml" >"$T/backup.json"
jcheck "the backup holds every record made before it started, S1 and S2 among them" \
	"$T/backup.json" 'length >= $n and ([.[] | select(.event == "issued") | .serial] |
		index($s1) != null and index($s2) != null)' \
	--argjson n "$BEFORE" --argjson s1 "$S1" --argjson s2 "$S2"
if ca_cmd ledger backup "$T/backup" >"$T/out" 2>&1; then fail "a second backup overwrote the first"; fi
ok "backup refuses a DEST that holds a ledger already: $(head -n 1 "$T/out")"
if ca_cmd ledger backup "$T/ca/ledger" >"$T/out" 2>&1; then fail "backup onto the live ledger succeeded"; fi
ok "backup refuses to write onto the live ledger"
check "the live ledger still verifies" ca_cmd ledger verify

# ---- tampering ---------------------------------------------------------------------------
stop_ca
cp -a "$T/ca" "$T/ca2"
rm -f "$T/ca2/serve.pid"
list "$T/all.json"
SEQ_T=$(jq --arg r "$R2" '.[] | select(.event == "received" and .request_id == $r) | .seq' "$T/all.json")
# One byte of that record's reason, "INC-2 db check" -> "INC-3 db check", in the LMDB file
# (in every copy of the page, so the live one surely).
python3 -c 'import sys
p = sys.argv[1]
d = open(p, "rb").read()
n = d.count(b"INC-2 db check")
assert n > 0, "the record text is not in the file"
open(p, "wb").write(d.replace(b"INC-2 db check", b"INC-3 db check"))' "$T/ca2/ledger/data.mdb" ||
	fail "could not change the copy"
rc=0
"$JIT_SSH_CA" ledger verify --config "$T/ca2/config.yaml" >"$T/tverify.out" 2>&1 || rc=$?
check "verify of the changed copy exits 1 ($rc)" test "$rc" = 1
check "verify names the first bad record, seq $SEQ_T" grep -Eq "seq $SEQ_T([^0-9]|\$)" "$T/tverify.out"
check "the original ledger still verifies" ca_cmd ledger verify

rc=0
timeout 30 "$JIT_SSH_CA" serve --config "$T/ca2/config.yaml" --port 0 \
	--port-file "$T/ca2.port" >"$T/serve2.out" 2>&1 || rc=$?
check "serve refuses to start on the changed ledger (exit $rc, no port)" \
	test "$rc" != 0 -a "$rc" != 124 -a ! -e "$T/ca2.port"
check "... naming the first bad record, seq $SEQ_T" grep -Eq "seq $SEQ_T([^0-9]|\$)" "$T/serve2.out"
check "... and how to start anyway (--continue-on-broken-chain)" \
	grep -q -- --continue-on-broken-chain "$T/serve2.out"

"$JIT_SSH_CA" serve --config "$T/ca2/config.yaml" --port 0 --port-file "$T/ca2.port" \
	--continue-on-broken-chain 2>>"$T/ca2.log" &
CA_PID=$!
PIDS+=("$CA_PID")
wait_for "serve --continue-on-broken-chain" "$CA_PID" test -s "$T/ca2.port"
CA_URL="https://127.0.0.1:$(cat "$T/ca2.port")"
health "$T/hz2.json"
jcheck "with --continue-on-broken-chain it serves; /healthz says ledger_chain_ok false" \
	"$T/hz2.json" '.status == "ok" and .ledger_chain_ok == false'
new_key k5
hand_body alice prod-web-3 "$L" "$T/keys/k5.pub" >"$T/k5.body"
status=$(hand_request "$T/keys/alice" "$T/k5.body" "$T/k5.json")
check "told to continue, it issues ($status)" test "$status" = 201
stop_ca
ledger_json "$T/ca2/config.yaml" >"$T/all2.json"
jcheck "the continued start is recorded: startup with chain_ok false, continued true" \
	"$T/all2.json" '[.[] | select(.event == "startup")] | last |
		.chain_ok == false and .continued_on_broken_chain == true'
rc=0
"$JIT_SSH_CA" ledger verify --config "$T/ca2/config.yaml" >"$T/tverify2.out" 2>&1 || rc=$?
check "the changed copy still fails verify at seq $SEQ_T ($rc)" \
	bash -c '[ "$1" = 1 ] && grep -Eq "seq $2([^0-9]|\$)" "$3"' _ "$rc" "$SEQ_T" "$T/tverify2.out"

# ---- checkpoints by another key: forged, or from a CA key rotated out --------------------
cp -a "$T/ca" "$T/ca3"
rm -f "$T/ca3/serve.pid" "$T/ca3/ca_key" "$T/ca3/ca_key.pub"
ssh-keygen -q -t ed25519 -N '' -C "another CA key" -f "$T/ca3/ca_key"
rc=0
timeout 30 "$JIT_SSH_CA" serve --config "$T/ca3/config.yaml" --port 0 \
	--port-file "$T/ca3.port" >"$T/serve3.out" 2>&1 || rc=$?
check "serve refuses a ledger whose checkpoints another key signed (exit $rc, no port)" \
	test "$rc" != 0 -a "$rc" != 124 -a ! -e "$T/ca3.port"
check "... naming the checkpoint and the untrusted key" \
	grep -Eq "seq [0-9]+: the checkpoint is signed by an untrusted key SHA256:" "$T/serve3.out"
check "... and the file for CA keys rotated out" grep -q "ca_key.previous.pub" "$T/serve3.out"
cp "$T/ca/ca_key.pub" "$T/ca3/ca_key.previous.pub"
"$JIT_SSH_CA" serve --config "$T/ca3/config.yaml" --port 0 --port-file "$T/ca3.port" \
	2>>"$T/ca3.log" &
CA_PID=$!
PIDS+=("$CA_PID")
wait_for "serve with the old CA key in ca_key.previous.pub" "$CA_PID" test -s "$T/ca3.port"
ok "with the old CA key in ca_key.previous.pub the CA starts on that ledger"
stop_ca
ledger_json "$T/ca3/config.yaml" >"$T/all3.json"
jcheck "... and its start found the chain intact" "$T/all3.json" \
	'[.[] | select(.event == "startup")] | last | .chain_ok == true'
