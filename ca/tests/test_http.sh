#!/bin/sh
# SPDX-License-Identifier: ISC
#
# test_http.sh - the CA daemon over real HTTPS, driven by hand the way docs/api.md tells a
# person to: `jit-ssh-ca init`, `serve --port 0 --port-file`, then curl and
# `ssh-keygen -Y sign`. Checks the answers, the certificate as `ssh-keygen -L` shows it, the
# log, the ledger events of every request, the refusals (replay, unknown key, stale
# timestamp, denial, malformed JSON, oversize body, CA key readable by others), /healthz,
# POST /v1/explain, policy reload by SIGHUP and by `jit-ssh-ca reload` (good and bad
# files), the `ledger` review tools (list, show, export, verify, review, backup, correlate),
# the start-up chain check on a tampered copy of the ledger, and the hardening: TLS 1.2
# AEAD ciphers only, the per-address connection limit, no core dumps, port and PID files
# written without following links, and files others could change refused.
#
# Usage: test_http.sh PATH/TO/jit-ssh-ca      (exit 0 pass, 1 fail, 77 skip)
set -eu

CA=$1
umask 022
for tool in curl ssh-keygen openssl; do
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found"; exit 77; }
done

T=$(mktemp -d /tmp/jit-ca-http.XXXXXX)
PID=
HOLDERS=
cleanup() {
	for p in $HOLDERS; do kill "$p" 2>/dev/null || true; done
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

FAILS=0
CHECKS=0
ok() { CHECKS=$((CHECKS + 1)); echo "ok - $1"; }
not_ok() {
	CHECKS=$((CHECKS + 1))
	FAILS=$((FAILS + 1))
	echo "not ok - $1"
	[ -f "$T/resp.json" ] && echo "  answer: $(cat "$T/resp.json")"
	return 0
}
check() { # DESCRIPTION COMMAND...
	d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# A string or integer field of the JSON answer in $T/resp.json.
jstr() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$T/resp.json"; }
jnum() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" "$T/resp.json"; }

ssh-keygen -q -t ed25519 -N '' -C alice@laptop -f "$T/alice"
ssh-keygen -q -t ed25519 -N '' -C mallory -f "$T/mallory"
ssh-keygen -q -t ed25519 -N '' -C session -f "$T/session"
ssh-keygen -q -t ed25519 -N '' -C bob@laptop -f "$T/bob"

# ---- init -----------------------------------------------------------------------------
"$CA" init --dir "$T/state" --user alice --user-key "$T/alice.pub" >"$T/init.out"
PIN=$(grep '^sha256//' "$T/init.out")
check "init prints the CA public-key line" grep -qF "$(cut -d' ' -f1-2 "$T/state/ca_key.pub")" "$T/init.out"
check "init prints a TLS pin" test -n "$PIN"
check "init makes the state directory 0700" test "$(stat -c %a "$T/state")" = 700
check "init writes the CA key 0600" test "$(stat -c %a "$T/state/ca_key")" = 600
check "init writes the TLS key 0600" test "$(stat -c %a "$T/state/tls_key.pem")" = 600
check "the CA key is one ssh-keygen reads" ssh-keygen -y -f "$T/state/ca_key" >/dev/null
check "the example policy passes policy check" "$CA" policy check "$T/state/policy.yaml" >/dev/null
if "$CA" init --dir "$T/state" --user alice >/dev/null 2>"$T/err"; then
	not_ok "init refuses an existing state directory without --force"
else
	check "init refuses an existing state directory without --force" grep -q -- --force "$T/err"
fi
check "init writes pid_file into the config" grep -qx 'pid_file: serve.pid' "$T/state/config.yaml"
check "init writes the connection limits into the config" \
	sh -c "grep -qx 'per_ip_connection_limit: 16' '$T/state/config.yaml' && grep -qx 'connection_timeout_sec: 10' '$T/state/config.yaml'"

# The policy the rest runs under: alice for herself; bob enrolled (a reviewer). The
# argument is alice's list of logins, so that reloads can change it.
write_policy() { # LOGINS
	cat >"$T/state/policy.yaml" <<EOF
version: 1
settings:
  default_ttl: 15m
  max_ttl: 1h
users:
  alice:
    keys: ["$(cut -d' ' -f1-2 "$T/alice.pub")"]
  bob:
    keys: ["$(cut -d' ' -f1-2 "$T/bob.pub")"]
rules:
  - name: self-login
    users: [alice]
    hosts: ["*"]
    logins: [$1]
EOF
}
write_policy '"${user}"'
check "the test policy passes policy check" "$CA" policy check "$T/state/policy.yaml" >/dev/null

# ---- serve ----------------------------------------------------------------------------
start() {
	rm -f "$T/port"
	"$CA" serve --config "$T/state/config.yaml" --port 0 --port-file "$T/port" \
		2>>"$T/serve.log" &
	PID=$!
	i=0
	while [ ! -s "$T/port" ] && [ $i -lt 100 ] && kill -0 "$PID" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ ! -s "$T/port" ]; then
		echo "Bail out! the CA did not start:"
		cat "$T/serve.log"
		exit 1
	fi
	PORT=$(cat "$T/port")
	URL=https://127.0.0.1:$PORT
}
stop() {
	kill -TERM "$PID"
	wait "$PID"
	rc=$?
	PID=
	return $rc
}

# GET PATH -> status on stdout, body in $T/resp.json
get() {
	curl -sS --cacert "$T/state/tls_cert.pem" --pinnedpubkey "$PIN" -o "$T/resp.json" \
		-w '%{http_code}' "$URL$1"
}

# Write a request body: LOGIN TIMESTAMP NONCE [TTL]
body() {
	printf '{"user":"alice","host":"web-1","login":"%s","public_key":"%s","ttl_seconds":%s,"reason":"integration test","timestamp":%s,"nonce":"%s"}' \
		"$1" "$(cat "$T/session.pub")" "${4:-300}" "$2" "$3" >"$T/body.json"
}

# Sign $T/body.json with KEY; the Authorization value goes to $T/auth
sign() {
	rm -f "$T/body.json.sig"
	ssh-keygen -q -Y sign -n jit-ssh-request -f "$1" "$T/body.json" 2>/dev/null
	# The base64 lines between the armour markers, joined.
	printf 'SSHSIG %s' "$(sed '1d;$d' "$T/body.json.sig" | tr -d '\n')" >"$T/auth"
}

# POST $T/body.json with $T/auth -> status on stdout
post() {
	curl -sS --cacert "$T/state/tls_cert.pem" --pinnedpubkey "$PIN" -o "$T/resp.json" \
		-w '%{http_code}' -H "Content-Type: ${1:-application/json}" \
		-H "Authorization: $(cat "$T/auth")" --data-binary @"$T/body.json" "$URL/v1/requests"
}

nonce() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }

start
check "healthz answers ok over pinned TLS" test "$(get /healthz)" = 200
check "healthz names the policy version" grep -q '"policy_version":"sha256:' "$T/resp.json"
check "healthz says the policy was loaded once" grep -q '"policy_generation":1[,}]' "$T/resp.json"
check "healthz has no reload error" grep -q '"policy_reload_error":null' "$T/resp.json"
check "healthz says the ledger chain verified at start" grep -q '"ledger_chain_ok":true' "$T/resp.json"
check "healthz carries policy_loaded_at" test -n "$(jnum policy_loaded_at)"
check "serve writes its PID to pid_file" test "$(cat "$T/state/serve.pid")" = "$PID"
check "GET /v1/ca answers 200" test "$(get /v1/ca)" = 200
check "GET /v1/ca lists the CA key" grep -qF "$(cut -d' ' -f2 "$T/state/ca_key.pub")" "$T/resp.json"
check "GET /v1/ca names the principal format" grep -qF '"principal_format":"jit:{host}:{login}"' "$T/resp.json"
check "the daemon may not write a core dump" grep -q '^Max core file size  *0  *0 ' "/proc/$PID/limits"

# TLS 1.2 only with AEAD ciphers (TLS 1.3 has nothing else).
tls12() { # OPENSSL-CIPHER -> s_client's exit status; its output in $T/tls.out
	openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -cipher "$1" </dev/null >"$T/tls.out" 2>&1
}
# tls12_refused OPENSSL-CIPHER: the server ends the handshake offered only that cipher: s_client
# connected and sent its hello (so neither a refused connection nor a cipher name openssl
# does not know), got no certificate, and the handshake ended with an alert or the server
# closing, with no cipher agreed.
tls12_refused() {
	openssl ciphers -tls1_2 "$1" >/dev/null 2>&1 || return 1
	! tls12 "$1" &&
		grep -q '^CONNECTED(' "$T/tls.out" &&
		grep -q 'no peer certificate available' "$T/tls.out" &&
		grep -q 'New, (NONE), Cipher is (NONE)' "$T/tls.out" &&
		grep -Eq 'alert handshake failure|unexpected eof while reading|no shared cipher' "$T/tls.out" &&
		! grep -q 'no cipher match' "$T/tls.out"
}
check "TLS 1.2 with a CBC cipher and SHA-1 MAC is refused in the handshake" \
	tls12_refused ECDHE-ECDSA-AES128-SHA
check "TLS 1.2 with a CBC cipher and SHA-384 MAC is refused in the handshake" \
	tls12_refused ECDHE-ECDSA-AES256-SHA384
check "TLS 1.2 with AES-GCM is accepted" \
	sh -c "openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 </dev/null 2>&1 | grep -q 'Cipher is ECDHE-ECDSA-AES128-GCM-SHA256'"
check "TLS 1.2 with ChaCha20-Poly1305 is accepted" \
	sh -c "openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305 </dev/null 2>&1 | grep -q 'Cipher is ECDHE-ECDSA-CHACHA20-POLY1305'"
check "TLS 1.3 is accepted" \
	sh -c "openssl s_client -connect 127.0.0.1:$PORT -tls1_3 </dev/null 2>&1 | grep -q 'New, TLSv1.3'"

# ---- a request made by hand ------------------------------------------------------------
NOW=$(date +%s)
body alice "$NOW" "$(nonce)"
sign "$T/alice"
cp "$T/body.json" "$T/first.json"
cp "$T/auth" "$T/first.auth"
# The CA reads its own clock while it signs: somewhere between BEFORE and AFTER.
BEFORE_POST=$(date +%s)
STATUS=$(post)
AFTER_POST=$(date +%s)
check "a signed request is issued (201)" test "$STATUS" = 201
check "the answer says issued" test "$(jstr state)" = issued
RID=$(jstr request_id)
SERIAL1=$(jnum serial)
VA=$(jnum valid_after)
VB=$(jnum valid_before)
check "the request ID is 32 lower-case hex characters" \
	sh -c "echo '$RID' | grep -qx '[0-9a-f]\{32\}'"
check "the serial is not 0" test "${SERIAL1:-0}" -gt 0
check "valid_after is backdated by the 60 s skew" \
	test "${VA:-0}" -ge $((BEFORE_POST - 60)) -a "${VA:-0}" -le $((AFTER_POST - 60))
check "the lifetime is the 300 s asked for, counted from now" test $((VB - VA)) -eq 360
jstr certificate >"$T/session-cert.pub"
ssh-keygen -L -f "$T/session-cert.pub" >"$T/cert.txt" 2>&1 || true
check "ssh-keygen -L reads the certificate" grep -q 'Type: ssh-ed25519-cert-v01@openssh.com user certificate' "$T/cert.txt"
check "the certificate names the host-bound principal" grep -qx '[[:space:]]*jit:web-1:alice' "$T/cert.txt"
check "the certificate has exactly one principal" test "$(sed -n '/Principals:/,/Critical Options:/p' "$T/cert.txt" | grep -c 'jit:')" -eq 1
check "the key ID names user, host, login and request" \
	grep -qF "Key ID: \"jit-ssh user=alice host=web-1 login=alice request=$RID\"" "$T/cert.txt"
check "the certificate serial matches the answer" grep -q "Serial: $SERIAL1\$" "$T/cert.txt"
check "the certificate certifies the session key" \
	grep -qF "Public key: ED25519-CERT $(ssh-keygen -l -f "$T/session.pub" | cut -d' ' -f2)" "$T/cert.txt"
check "the certificate is signed by the CA key" \
	grep -qF "Signing CA: ED25519 $(ssh-keygen -l -f "$T/state/ca_key.pub" | cut -d' ' -f2)" "$T/cert.txt"
check "the certificate carries permit-pty" grep -q 'permit-pty' "$T/cert.txt"
check "GET /v1/requests/ID gives the same certificate" test "$(get "/v1/requests/$RID")" = 200
check "GET /v1/requests/ID answer holds the certificate" grep -qF "$(cut -d' ' -f2 "$T/session-cert.pub")" "$T/resp.json"
check "GET of an unknown request ID is 404" test "$(get /v1/requests/0123456789abcdef0123456789abcdef)" = 404

# ---- the request's story in the ledger ----------------------------------------------------
L="$CA ledger --config $T/state/config.yaml"
events_of() { sed -n 's/.*"event":"\([a-z_]*\)".*/\1/p' "$1" | tr '\n' ' '; }
$L export --format jsonl --request "$RID" >"$T/story.jsonl"
check "the request is recorded as received, decided, issued in that order" \
	test "$(events_of "$T/story.jsonl")" = "received decided issued "
check "every record names time, request, user, normalised host and login" \
	test "$(grep -c "\"host\":\"web-1\".*\"login\":\"alice\".*\"request_id\":\"$RID\".*\"time\":[0-9]*,.*\"user\":\"alice\"" "$T/story.jsonl")" -eq 3
REQ_FP=$(ssh-keygen -l -f "$T/alice.pub" | cut -d' ' -f2)
SESSION_FP=$(ssh-keygen -l -f "$T/session.pub" | cut -d' ' -f2)
CA_FP=$(ssh-keygen -l -f "$T/state/ca_key.pub" | cut -d' ' -f2)
check "received names the requesting key, ttl, reason, client address and nonce" \
	grep -q "\"client_address\":\"127.0.0.1\".*\"event\":\"received\".*\"nonce\":\"[A-Za-z0-9_-]*\".*\"reason\":\"integration test\".*\"requesting_key\":\"$REQ_FP\".*\"ttl_seconds\":300" "$T/story.jsonl"
check "decided names the decision, rule and policy version" \
	grep -q '"decision":"allowed","event":"decided".*"policy_version":"sha256:.*"rule":"self-login"' "$T/story.jsonl"
check "issued names serial, key ID, principals, validity, keys, client, certificate and options" \
	grep -q "\"ca_key\":\"$CA_FP\",\"certificate\":\"ssh-ed25519-cert-v01@openssh.com .*\"certified_key\":\"$SESSION_FP\",\"client_address\":\"127.0.0.1\",\"critical_options\":{},\"event\":\"issued\",\"extensions\":{\"permit-pty\":\"\"}.*\"key_id\":\"jit-ssh user=alice host=web-1 login=alice request=$RID\".*\"principals\":\[\"jit:web-1:alice\"\].*\"serial\":$SERIAL1,.*\"valid_after\":$VA,\"valid_before\":$VB" "$T/story.jsonl"
check "the start is recorded with the CA key and a verified chain" \
	sh -c "$L export --format jsonl --event startup | grep -q '\"ca_key\":\"$CA_FP\",\"chain_error\":null,\"chain_ok\":true,\"continued_on_broken_chain\":false'"

# ---- refusals ----------------------------------------------------------------------------
cp "$T/first.json" "$T/body.json"
cp "$T/first.auth" "$T/auth"
check "a replayed request is refused (401)" test "$(post)" = 401
check "the replay is named" test "$(jstr error)" = replay

records() { $L export --format jsonl | grep -vc '"event":"checkpoint"'; }
BEFORE=$(records)
body alice "$(date +%s)" "$(nonce)"
sign "$T/mallory"
check "a request signed by an unenrolled key is refused (401)" test "$(post)" = 401
check "the unknown key is named" test "$(jstr error)" = unknown_user_or_key
check "a request that fails authentication is not recorded" test "$(records)" -eq "$BEFORE"

body alice $(($(date +%s) - 1000)) "$(nonce)"
sign "$T/alice"
check "a request with a stale timestamp is refused (401)" test "$(post)" = 401
check "the clock skew is named" test "$(jstr error)" = clock_skew

body alice "$(date +%s)" "$(nonce)"
sign "$T/alice"
sed -i 's/"ttl_seconds":300/"ttl_seconds":301/' "$T/body.json"
check "a body changed after signing is refused (401)" test "$(post)" = 401
check "the bad signature is named" test "$(jstr error)" = bad_signature

body alice "$(date +%s)" "$(nonce)"
sign "$T/alice"
printf 'Bearer %s' "$(cut -d' ' -f2 "$T/auth")" >"$T/auth"
check "another Authorization scheme is refused (401)" test "$(post)" = 401

body root "$(date +%s)" "$(nonce)"
sign "$T/alice"
check "a login the policy does not allow is denied (403)" test "$(post)" = 403
check "the denial says denied" test "$(jstr state)" = denied
check "the denial carries a reason" test -n "$(jstr reason)"
DENIED_ID=$(jstr request_id)
check "GET of a denied request gives the denial" test "$(get "/v1/requests/$DENIED_ID")" = 200
check "GET of a denied request says denied" test "$(jstr state)" = denied
$L export --format jsonl --request "$DENIED_ID" >"$T/denied.jsonl"
check "a denial is recorded as received and decided, nothing issued" \
	test "$(events_of "$T/denied.jsonl")" = "received decided "
check "the denial's decided record says denied with its reason" \
	grep -q '"decision":"denied","event":"decided".*"reason":"[^"]*root[^"]*"' "$T/denied.jsonl"

# ---- POST /v1/explain -------------------------------------------------------------------
explain() {
	curl -sS --cacert "$T/state/tls_cert.pem" --pinnedpubkey "$PIN" -o "$T/resp.json" \
		-w '%{http_code}' -H "Content-Type: application/json" \
		-H "Authorization: $(cat "$T/auth")" --data-binary @"$T/body.json" "$URL/v1/explain"
}
BEFORE=$(records)
printf '{"user":"alice","host":"WEB-1","login":"alice","timestamp":%s,"nonce":"%s"}' \
	"$(date +%s)" "$(nonce)" >"$T/body.json"
sign "$T/alice"
check "explain without a public key answers 200" test "$(explain)" = 200
check "explain says allowed" grep -q '"decision":{.*"verdict":"allowed"' "$T/resp.json"
check "explain names the principal and the rule" \
	grep -q '"principals":\["jit:web-1:alice"\].*"policy_version":"sha256:' "$T/resp.json"
check "explain carries the explanation lines" grep -q '"explanation":\["' "$T/resp.json"
check "explain lists the logins open to the user" \
	sh -c "grep -q '\"open\":\[{\"login\":\"alice\"' '$T/resp.json' && grep -q '\"max_ttl_seconds\":3600' '$T/resp.json'"
check "explain issues nothing and records nothing" test "$(records)" -eq "$BEFORE"
check "an explain's nonce is consumed (401 replay)" test "$(explain)" = 401
body root "$(date +%s)" "$(nonce)"
sign "$T/alice"
check "explain of a login no rule allows answers 200" test "$(explain)" = 200
check "explain says denied" grep -q '"verdict":"denied"' "$T/resp.json"
sign "$T/mallory"
check "explain signed by an unenrolled key is refused (401)" test "$(explain)" = 401
"$CA" policy explain --user alice --host WEB-1 --login root --config "$T/state/config.yaml" >"$T/out" ||
	[ $? = 2 ] # denied
check "policy explain prints the verdict and the explanation" \
	sh -c "grep -q '^verdict: *denied' '$T/out' && grep -q '^explanation:' '$T/out'"
check "policy explain lists the open logins" grep -q '^alice .*allowed' "$T/out"
check "policy explain --json has the stable names" \
	sh -c "'$CA' policy explain --user alice --host web-1 --login alice --ttl 10m --json --policy '$T/state/policy.yaml' | tr -d ' \n' | grep -q '\"ttl_seconds\":600.*\"verdict\":\"allowed\"'"

printf '{"user":"alice", not json' >"$T/body.json"
sign "$T/alice"
check "malformed JSON is refused (400)" test "$(post)" = 400
check "malformed JSON is named" test "$(jstr error)" = malformed_json
check "the daemon keeps serving after malformed JSON" test "$(get /healthz)" = 200

body alice "$(date +%s)" "$(nonce)"
sign "$T/alice"
check "a body that is not JSON by media type is refused (415)" test "$(post text/plain)" = 415

body alice "$(date +%s)" "$(nonce)"
sed -i 's/"reason":"integration test"/"reason":"fix \\u202etxt.exe"/' "$T/body.json"
sign "$T/alice"
check "a reason with a right-to-left override is refused (400)" test "$(post)" = 400
check "the reason's hidden character is named" \
	sh -c "grep -q '\"error\":\"bad_field\"' '$T/resp.json' && grep -q 'text-direction' '$T/resp.json'"

head -c 20000 /dev/zero | tr '\0' ' ' >"$T/big"
{ printf '{"user":"alice",'; cat "$T/big"; printf '}'; } >"$T/body.json"
check "a body over 16 KiB is refused (413)" test "$(post)" = 413
check "the oversize body is named" test "$(jstr error)" = body_too_large
check "the daemon keeps serving after an oversize body" test "$(get /healthz)" = 200

curl -sS --cacert "$T/state/tls_cert.pem" --pinnedpubkey "$PIN" -o "$T/resp.json" -w '%{http_code}' \
	-H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
	--data-binary @"$T/body.json" "$URL/v1/requests" >"$T/code" || true
check "a chunked body over 16 KiB is refused (413)" test "$(cat "$T/code")" = 413

# Several requests at once: every one issued, no serial twice.
i=0
while [ $i -lt 12 ]; do
	body alice "$(date +%s)" "$(nonce)"
	sign "$T/alice"
	mv "$T/body.json" "$T/par$i.json"
	mv "$T/auth" "$T/par$i.auth"
	i=$((i + 1))
done
i=0
while [ $i -lt 12 ]; do
	curl -sS --cacert "$T/state/tls_cert.pem" --pinnedpubkey "$PIN" -o "$T/par$i.out" \
		-w '%{http_code}' -H 'Content-Type: application/json' \
		-H "Authorization: $(cat "$T/par$i.auth")" --data-binary @"$T/par$i.json" \
		"$URL/v1/requests" >"$T/par$i.code" &
	PIDS="${PIDS:-} $!"
	i=$((i + 1))
done
for p in $PIDS; do wait "$p" || true; done
check "12 concurrent requests are all issued" \
	test "$(cat "$T"/par*.code | tr -d '\n')" = "201201201201201201201201201201201201"
check "12 concurrent requests get 12 different serials" \
	test "$(sed -n 's/.*"serial":\([0-9]*\).*/\1/p' "$T"/par*.out | sort -u | wc -l)" -eq 12

check "an unknown path is 404" test "$(get /v2/nothing)" = 404
check "a wrong method is 405" test "$(get /v1/requests)" = 405
check "plain HTTP is not served on the TLS port" \
	sh -c "! curl -s -o /dev/null http://127.0.0.1:$PORT/healthz"
check "healthz counts the ledger records" test "$(get /healthz)" = 200 -a "$(jnum ledger_records)" -ge 2

# ---- policy reload ------------------------------------------------------------------------
# Wait until /healthz reports reload attempt number $1.
wait_attempts() {
	i=0
	while [ $i -lt 100 ]; do
		get /healthz >/dev/null
		[ "$(jnum policy_reload_attempts)" = "$1" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
root_request() {
	body root "$(date +%s)" "$(nonce)"
	sign "$T/alice"
	post
}
get /healthz >/dev/null
OLD_VERSION=$(jstr policy_version)
write_policy '"${user}", root'
kill -HUP "$PID"
check "SIGHUP reloads the policy" wait_attempts 1
check "the reload counts one generation more" test "$(jnum policy_generation)" = 2
check "the reload changes the policy version" test "$(jstr policy_version)" != "$OLD_VERSION"
NEW_VERSION=$(jstr policy_version)
check "a login denied before the reload is now issued" test "$(root_request)" = 201
check "the reload is recorded with both versions" \
	sh -c "$L export --format jsonl --event policy_reloaded | grep -q '\"policy_version\":\"$NEW_VERSION\",.*\"previous_version\":\"$OLD_VERSION\"'"
check "the reload is logged" grep -q "policy .*reloaded: version $NEW_VERSION" "$T/serve.log"

printf '  - name: broken\n    users: [alice]\n    hosts: ["*"]\n    logins: [root]\n    ttl: forever\n' \
	>>"$T/state/policy.yaml"
kill -HUP "$PID"
check "SIGHUP with an invalid policy is answered" wait_attempts 2
check "an invalid policy changes no generation" test "$(jnum policy_generation)" = 2
check "an invalid policy keeps the version" test "$(jstr policy_version)" = "$NEW_VERSION"
check "healthz says the reload failed with 1 error" grep -q '"policy_reload_errors":1[,}]' "$T/resp.json"
check "healthz (unauthenticated) does not name the invalid file" sh -c "! grep -q 'policy.yaml' '$T/resp.json'"
check "the invalid policy's messages are logged" grep -q "policy.yaml:[0-9]*:[0-9]*: " "$T/serve.log"
check "requests are decided under the old policy after a failed reload" test "$(root_request)" = 201

if "$CA" reload --config "$T/state/config.yaml" --port-file "$T/port" >"$T/out" 2>"$T/err"; then
	not_ok "reload of an invalid policy exits 1"
else
	check "reload of an invalid policy exits 1" true
fi
check "reload prints the reload error" grep -q "policy.yaml:[0-9]*:[0-9]*: " "$T/err"
write_policy '"${user}"'
if "$CA" reload --config "$T/state/config.yaml" --port-file "$T/port" >"$T/out" 2>"$T/err"; then
	check "reload of a valid policy exits 0" true
else
	not_ok "reload of a valid policy exits 0"
fi
check "reload prints the new version" grep -q "^policy reloaded: sha256:" "$T/out"
check "after reload the reload error is cleared" \
	sh -c "test \"\$(curl -sS --cacert '$T/state/tls_cert.pem' '$URL/healthz')\" != '' && curl -sS --cacert '$T/state/tls_cert.pem' '$URL/healthz' | grep -q '\"policy_reload_error\":null'"
check "after reload the login allowed before is denied again" test "$(root_request)" = 403
chmod g+w "$T/state/policy.yaml"
kill -HUP "$PID"
check "SIGHUP with a policy others can write is answered" wait_attempts 5
check "a policy others can write is not loaded" test "$(jnum policy_generation)" = 3
check "healthz says the reload failed but does not name the file others can write" \
	sh -c "grep -q '\"policy_reload_error\":\"' '$T/resp.json' && ! grep -q 'policy.yaml' '$T/resp.json'"
check "the log names the file others can write and the fix" \
	grep -q "$T/state/policy.yaml is writable by group or others.*chmod go-w" "$T/serve.log"
chmod g-w "$T/state/policy.yaml"

# ---- ledger review tools ---------------------------------------------------------------
$L list --user alice --login alice --event issued >"$T/list.txt"
check "list filters by user, login and event" \
	sh -c "grep -q ' issued .*$SERIAL1 .*$RID' '$T/list.txt' && ! grep -q ' root ' '$T/list.txt' && ! grep -q ' decided ' '$T/list.txt'"
check "list --since takes an age" sh -c "$L list --since 1h --json | grep -q '\"request_id\": \"$RID\"'"
check "list --until in the past lists nothing" test "$($L list --until 2000-01-01 --json)" = "[]"
$L show "$SERIAL1" >"$T/show.txt"
check "show SERIAL tells the story event by event" \
	sh -c "grep -q ' received' '$T/show.txt' && grep -q ' decided' '$T/show.txt' && grep -q ' issued' '$T/show.txt'"
check "show gives the certificate's end" grep -q "expire[sd] at $(date -u -d "@$VB" +%Y-%m-%dT%H:%M:%SZ)" "$T/show.txt"
check "list --unreviewed holds the first issuance" sh -c "$L list --unreviewed | grep -q '$RID'"
SSH_AUTH_SOCK= $L review "$SERIAL1" --ok --note "checked with alice" -i "$T/bob" --reviewer bob >"$T/out" 2>"$T/err"
check "a reviewer's mark is recorded" grep -q "^review recorded" "$T/out"
check "the reviewed issuance leaves the queue" sh -c "! $L list --unreviewed | grep -q '$RID'"
$L show "$RID" >"$T/show.txt"
check "show verifies the review's signature" grep -q "signature verified; the key is enrolled" "$T/show.txt"
$L export --format jsonl --event review >"$T/review.jsonl"
sed -n 's/.*"signature":"\([^"]*\)".*/\1/p' "$T/review.jsonl" | sed 's/\\n/\n/g' >"$T/review.sig"
REVIEW_TIME=$(sed -n 's/.*"time":\([0-9]*\).*/\1/p' "$T/review.jsonl")
printf '{"note":"checked with alice","reviewer":"bob","target":%s,"time":%s,"verdict":"ok"}' \
	"$SERIAL1" "$REVIEW_TIME" >"$T/review.msg"
printf 'bob %s\n' "$(cut -d' ' -f1-2 "$T/bob.pub")" >"$T/allowed_signers"
check "the review signature verifies with ssh-keygen -Y verify" \
	sh -c "ssh-keygen -Y verify -f '$T/allowed_signers' -I bob -n jit-ssh-review -s '$T/review.sig' <'$T/review.msg' >/dev/null 2>&1"
if SSH_AUTH_SOCK= $L review "$RID" --flag --note "mine" -i "$T/alice" --reviewer alice >/dev/null 2>"$T/err"; then
	not_ok "the requester cannot review their own access"
else
	check "the requester cannot review their own access" grep -q "cannot review" "$T/err"
fi
$L export --format jsonl >"$T/all.jsonl"
check "export writes one JSON object per line" \
	test "$(grep -c '^{.*"event":"[a-z_]*".*"hash":"[0-9a-f]\{64\}".*}$' "$T/all.jsonl")" -eq "$(wc -l <"$T/all.jsonl")"
check "verify says intact and counts the checkpoints" \
	sh -c "$L verify | grep -q '^ledger intact: [0-9]* records, [0-9]* checkpoints\{0,1\} verified'"
check "backup makes a verified copy" sh -c "$L backup '$T/backup' | grep -q 'chain intact'"
sed "s|^ledger: .*|ledger: $T/backup|" "$T/state/config.yaml" >"$T/state/backup.yaml"
check "the backup holds the first issuance" \
	sh -c "'$CA' ledger show $SERIAL1 --config '$T/state/backup.yaml' | grep -q '$RID'"
if $L backup "$T/backup" >/dev/null 2>"$T/err"; then
	not_ok "backup refuses to overwrite an existing copy"
else
	check "backup refuses to overwrite an existing copy" true
fi

# sshd's VERBOSE lines for a login with the first certificate, then one with a serial unknown
cat >"$T/sshd.log" <<EOF
Nov 21 13:04:05 web-1 sshd[4242]: Accepted publickey for alice from 192.0.2.7 port 52636 ssh2: ED25519-CERT $SESSION_FP ID jit-ssh user=alice host=web-1 login=alice request=$RID (serial $SERIAL1) CA ED25519 $CA_FP
Nov 21 13:04:06 web-1 sshd[4243]: Connection closed by 192.0.2.9 port 40000
EOF
if $L correlate "$T/sshd.log" >"$T/out" 2>"$T/err"; then
	check "correlate joins a known login and exits 0" true
else
	not_ok "correlate joins a known login and exits 0"
fi
check "correlate says who, which request and why" \
	sh -c "grep -q 'login .*serial=$SERIAL1' '$T/out' && grep -q 'who: *alice, request $RID' '$T/out' && grep -q 'why: *\"integration test\"' '$T/out'"
check "correlate says whose approval" grep -q "approved: *no approval was required" "$T/out"
printf 'Nov 21 13:05:00 web-1 sshd[4244]: Accepted publickey for root from 192.0.2.8 port 52637 ssh2: ED25519-CERT %s ID jit-ssh user=mallory host=web-1 login=root request=0123456789abcdef0123456789abcdef (serial 999999) CA ED25519 %s\n' \
	"$SESSION_FP" "$CA_FP" >>"$T/sshd.log"
if $L correlate - <"$T/sshd.log" >"$T/out" 2>"$T/err"; then
	not_ok "correlate exits 1 on a login the ledger does not know"
else
	check "correlate exits 1 on a login the ledger does not know" true
fi
check "correlate flags the unknown serial loudly" grep -q '^!!! UNKNOWN CERTIFICATE LOGIN .*serial=999999' "$T/out"

# ---- restart: serials stay unique ---------------------------------------------------------
check "SIGTERM stops the daemon cleanly" stop
check "a clean stop removes the PID file" test ! -e "$T/state/serve.pid"
# Links planted where a careless writer would put its temporary files.
echo keep >"$T/victim"
ln -s "$T/victim" "$T/port.tmp"
ln -s "$T/victim" "$T/state/serve.pid.tmp"
start
check "the port file is written without following a planted link" \
	sh -c "test \"\$(cat '$T/victim')\" = keep && test -L '$T/port.tmp' && test \"\$(cat '$T/port')\" = '$PORT'"
check "the PID file is written without following a planted link" \
	sh -c "test \"\$(cat '$T/victim')\" = keep && test \"\$(cat '$T/state/serve.pid')\" = '$PID'"
body alice "$(date +%s)" "$(nonce)"
sign "$T/alice"
check "a request after a restart is issued" test "$(post)" = 201
SERIAL2=$(jnum serial)
check "serials are unique across a restart" test "${SERIAL2:-0}" -gt "$SERIAL1"
check "SIGTERM stops the restarted daemon" stop

# ---- the log and the ledger -------------------------------------------------------------
check "the log has one line for the issuance with its serial" \
	grep -q "request_id=$RID .*result=issued user=alice host=web-1 login=alice serial=$SERIAL1" "$T/serve.log"
check "the log names the replay and only the user it claims to be" \
	grep -q "status=401 result=replay claimed_user=alice\$" "$T/serve.log"
check "the log names an unenrolled key's request only by its claimed user" \
	sh -c "grep -q 'result=unknown_user_or_key claimed_user=alice\$' '$T/serve.log' && ! grep -q 'status=401 .* user=' '$T/serve.log' && ! grep -q 'status=401 .*host=' '$T/serve.log'"
check "the log holds no key material" sh -c "! grep -q 'AAAAC3Nza' '$T/serve.log'"
check "the log holds no signature" sh -c "! grep -qF \"\$(cut -c8-40 '$T/first.auth')\" '$T/serve.log'"
"$CA" ledger list --config "$T/state/config.yaml" >"$T/ledger.txt"
check "ledger list shows the first serial" grep -q " issued .* $SERIAL1 .*$RID" "$T/ledger.txt"
check "ledger list shows the denial" grep -q " decided .*root .*denied" "$T/ledger.txt"
"$CA" ledger list --json --config "$T/state/config.yaml" >"$T/ledger.json"
check "ledger list --json holds the certificate" grep -qF "$(cut -d' ' -f2 "$T/session-cert.pub")" "$T/ledger.json"
check "ledger verify says intact" sh -c "'$CA' ledger verify --config '$T/state/config.yaml' | grep -q '^ledger intact: [0-9]* records'"
check "pubkey prints the CA key" test "$("$CA" pubkey --config "$T/state/config.yaml" | cut -d' ' -f2)" = "$(cut -d' ' -f2 "$T/state/ca_key.pub")"

# ---- refusing to start --------------------------------------------------------------------
chmod 644 "$T/state/ca_key"
if "$CA" serve --config "$T/state/config.yaml" --port 0 2>"$T/err"; then
	not_ok "serve refuses a CA key readable by others"
else
	check "serve refuses a CA key readable by others, naming the file and the fix" \
		grep -q "$T/state/ca_key.*chmod 600" "$T/err"
fi
chmod 600 "$T/state/ca_key"
# refused DESCRIPTION PATTERN: serve must refuse to start, logging PATTERN (a daemon that
# starts instead is stopped after 20 s).
refused() {
	if timeout 20 "$CA" serve --config "$T/state/config.yaml" --port 0 2>"$T/err"; then
		not_ok "$1"
	else
		check "$1" grep -q "$2" "$T/err"
	fi
}
chmod 644 "$T/state/tls_key.pem"
refused "serve refuses a TLS key readable by others, naming the file and the fix" \
	"TLS key file $T/state/tls_key.pem is readable .*chmod 600 $T/state/tls_key.pem"
chmod 600 "$T/state/tls_key.pem"
chmod g+w "$T/state/config.yaml"
refused "serve refuses a config file others can write" "$T/state/config.yaml is writable by group or others.*chmod go-w $T/state/config.yaml"
chmod g-w "$T/state/config.yaml"
chmod 0777 "$T/state"
refused "serve refuses a state directory others can write" "$T/state, which holds $T/state/config.yaml, is writable.*chmod go-w $T/state;"
chmod 0700 "$T/state"
chmod 0770 "$T/state/ledger"
refused "serve refuses a ledger directory others can write" "$T/state/ledger is writable by group or others"
chmod 0700 "$T/state/ledger"
chmod 0666 "$T/state/ledger/data.mdb"
refused "serve refuses a ledger file others can write" "$T/state/ledger/data.mdb is writable by group or others"
chmod 0600 "$T/state/ledger/data.mdb"
# Files given away to another user (only root can do that).
ME=$(id -u)
if [ "$ME" = 0 ]; then
	for f in tls_key.pem policy.yaml ca_key; do
		chown 65534 "$T/state/$f"
		refused "serve refuses $f owned by another user, naming the fix" \
			"$T/state/$f is owned by uid 65534.*chown 0 $T/state/$f"
		chown 0 "$T/state/$f"
	done
fi
if "$CA" serve --config "$T/state/config.yaml" --plain-http --listen 0.0.0.0 --port 0 2>"$T/err"; then
	not_ok "serve refuses plain HTTP on a non-loopback address"
else
	check "serve refuses plain HTTP on a non-loopback address" grep -q loopback "$T/err"
fi

# ---- one address cannot take every connection ---------------------------------------------
# A config of its own: 3 connections per address, idle ones kept long enough not to race.
sed 's|^pid_file: .*|pid_file: limits.pid|; s|^per_ip_connection_limit: .*|per_ip_connection_limit: 3|; s|^connection_timeout_sec: .*|connection_timeout_sec: 600|' \
	"$T/state/config.yaml" >"$T/state/limits.yaml"
"$CA" serve --config "$T/state/limits.yaml" --port 0 --port-file "$T/limits.port" \
	2>"$T/limits.log" &
LIMITS_PID=$!
wait_for() { # FILE PATTERN: up to 10 s
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
wait_for "$T/limits.port" .
check "serve starts with per_ip_connection_limit and connection_timeout_sec" test -s "$T/limits.port"
LPORT=$(cat "$T/limits.port" 2>/dev/null || echo 1)
LURL=https://127.0.0.1:$LPORT
lget() { # [CURL-OPTION...] -> status of GET /healthz
	curl -sS --cacert "$T/state/tls_cert.pem" --pinnedpubkey "$PIN" -o "$T/resp.json" \
		-w '%{http_code}' "$@" "$LURL/healthz" 2>/dev/null
}
# Idle TLS connections: handshake done, no request sent.
for i in 1 2 3; do
	openssl s_client -connect "127.0.0.1:$LPORT" -ign_eof </dev/null \
		>"$T/hold$i.out" 2>&1 &
	HOLDERS="$HOLDERS $!"
	wait_for "$T/hold$i.out" '^Verify return code'
done
check "3 idle connections from one address are held open" \
	test "$(grep -l '^Verify return code' "$T"/hold*.out | wc -l)" -eq 3
check "a 4th connection from the same address is refused" test "$(lget)" = 000
check "another address is served while one address holds its limit" \
	test "$(lget --interface 127.0.0.2)" = 200
for p in $HOLDERS; do kill "$p"; wait "$p" 2>/dev/null || true; done
HOLDERS=
i=0
while [ "$(lget)" != 200 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "the address is served again once its connections close" test "$(lget)" = 200
kill -TERM "$LIMITS_PID" 2>/dev/null || true
wait "$LIMITS_PID" || true

# ---- a tampered ledger: verify names the record, serve refuses, or continues on record ----
start
body alice "$(date +%s)" "$(nonce)"
sed -i 's/integration test/TAMPER-ME-12345/' "$T/body.json"
sign "$T/alice"
check "a request to be tampered with later is issued" test "$(post)" = 201
TAMPERED_ID=$(jstr request_id)
stop
rm -rf "$T/copy"
$L backup "$T/copy" >/dev/null
sed "s|^ledger: .*|ledger: $T/copy|; s|^pid_file: .*|pid_file: $T/copy.pid|" \
	"$T/state/config.yaml" >"$T/state/copy.yaml"
BAD_SEQ=$("$CA" ledger export --format jsonl --request "$TAMPERED_ID" --config "$T/state/copy.yaml" |
	sed -n '1s/.*"seq":\([0-9]*\).*/\1/p')
# Bytes, not text (LC_ALL=C), and every occurrence (g): the reason is in the received and
# the issued record, which may share a "line" of the binary file in either order.
LC_ALL=C sed -i 's/TAMPER-ME-12345/TAMPER-ME-99999/g' "$T/copy/data.mdb"
check "the tampering changed the received and the issued record" \
	test "$(LC_ALL=C grep -a -o TAMPER-ME-99999 "$T/copy/data.mdb" | wc -l)" = 2
if "$CA" ledger verify --config "$T/state/copy.yaml" >"$T/out" 2>&1; then
	not_ok "verify of a tampered ledger exits 1"
else
	check "verify of a tampered ledger exits 1" true
fi
check "verify names the first bad record" grep -q "NOT intact: first bad record: seq $BAD_SEQ[^0-9]" "$T/out"
if "$CA" serve --config "$T/state/copy.yaml" --port 0 2>"$T/err"; then
	not_ok "serve refuses to start on a broken chain"
else
	check "serve refuses to start on a broken chain, naming the record" \
		grep -q "chain is broken: seq $BAD_SEQ[^0-9].*--continue-on-broken-chain" "$T/err"
fi
"$CA" serve --config "$T/state/copy.yaml" --port 0 --port-file "$T/copy.port" --continue-on-broken-chain \
	2>"$T/copy.log" &
COPY_PID=$!
i=0
while [ ! -s "$T/copy.port" ] && [ $i -lt 100 ] && kill -0 "$COPY_PID" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
check "serve --continue-on-broken-chain starts" test -s "$T/copy.port"
curl -sS --cacert "$T/state/tls_cert.pem" --pinnedpubkey "$PIN" -o "$T/resp.json" \
	"https://127.0.0.1:$(cat "$T/copy.port")/healthz" || true
check "healthz says the chain is not ok" grep -q '"ledger_chain_ok":false' "$T/resp.json"
kill -TERM "$COPY_PID"
wait "$COPY_PID" || true
check "continuing on a broken chain is recorded" \
	sh -c "'$CA' ledger export --format jsonl --event startup --config '$T/state/copy.yaml' | grep -q '\"chain_error\":\"seq $BAD_SEQ[^0-9].*\"chain_ok\":false,\"continued_on_broken_chain\":true'"

# ---- init --force: new keys, the ledger kept ---------------------------------------------
intact_count() { sed -n 's/^ledger intact: \([0-9]*\) records.*/\1/p'; }
RECORDS=$("$CA" ledger verify --config "$T/state/config.yaml" | intact_count)
cp "$T/state/ca_key.pub" "$T/old_ca.pub"
"$CA" init --dir "$T/state" --force --user alice --user-key "$T/alice.pub" >/dev/null
check "init --force makes a new CA key" sh -c "! cmp -s '$T/old_ca.pub' '$T/state/ca_key.pub'"
cat "$T/old_ca.pub" "$T/state/ca_key.pub" >"$T/ca_keys"
check "init --force keeps the ledger (verified with the old and new CA keys)" \
	test "$("$CA" ledger verify --checkpoint-key "$T/ca_keys" --config "$T/state/config.yaml" | intact_count)" = "$RECORDS"
check "init --force keeps the old CA public key in ca_key.previous.pub" \
	test "$(cut -d' ' -f1,2 "$T/state/ca_key.previous.pub")" = "$(cut -d' ' -f1,2 "$T/old_ca.pub")"
check "after init --force the ledger verifies with the CA's own keys, old and new" \
	test "$("$CA" ledger verify --config "$T/state/config.yaml" | intact_count)" = "$RECORDS"
"$CA" init --dir "$T/state" --force --user alice --user-key "$T/alice.pub" >/dev/null
check "a second rotation appends the second key to ca_key.previous.pub" \
	test "$(wc -l <"$T/state/ca_key.previous.pub")" = 2
# A ca_key.pub that is not ca_key's public half: no rotation, and nothing removed.
cp "$T/state/ca_key.pub" "$T/ca_key.pub.good"
ssh-keygen -q -t ed25519 -N '' -f "$T/other_ca" && cp "$T/other_ca.pub" "$T/state/ca_key.pub"
cp "$T/state/ca_key" "$T/ca_key.before"
if "$CA" init --dir "$T/state" --force --user alice --user-key "$T/alice.pub" >"$T/out" 2>&1; then
	not_ok "init --force refuses a ca_key.pub that does not match ca_key"
else
	check "init --force refuses a ca_key.pub that does not match ca_key" \
		grep -q "does not hold the public key of" "$T/out"
fi
check "the refused rotation left the CA key and the previous keys as they were" \
	sh -c "cmp -s '$T/ca_key.before' '$T/state/ca_key' &&
		test \"\$(wc -l <'$T/state/ca_key.previous.pub')\" = 2"
cp "$T/ca_key.pub.good" "$T/state/ca_key.pub"
rm "$T/state/ca_key.previous.pub"
if "$CA" ledger verify --config "$T/state/config.yaml" >"$T/out" 2>&1; then
	not_ok "checkpoints signed by a key no longer trusted fail verify"
else
	check "checkpoints signed by a key no longer trusted fail verify" grep -q "NOT intact" "$T/out"
fi

echo "1..$CHECKS"
if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS of $CHECKS checks failed; the daemon's log:"
	cat "$T/serve.log"
	exit 1
fi
exit 0
