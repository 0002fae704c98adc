#!/bin/sh
# SPDX-License-Identifier: ISC
#
# test_http.sh - the CA daemon over real HTTPS, driven by hand the way docs/api.md tells a
# person to: `jit-ssh-ca init`, `serve --port 0 --port-file`, then curl and
# `ssh-keygen -Y sign`. Checks the answers, the certificate as `ssh-keygen -L` shows it, the
# log, the ledger, and the refusals (replay, unknown key, stale timestamp, denial, malformed
# JSON, oversize body, CA key readable by others).
#
# Usage: test_http.sh PATH/TO/jit-ssh-ca      (exit 0 pass, 1 fail, 77 skip)
set -eu

CA=$1
for tool in curl ssh-keygen; do
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found"; exit 77; }
done

T=$(mktemp -d /tmp/jit-ca-http.XXXXXX)
PID=
cleanup() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$T"
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
check "GET /v1/ca answers 200" test "$(get /v1/ca)" = 200
check "GET /v1/ca lists the CA key" grep -qF "$(cut -d' ' -f2 "$T/state/ca_key.pub")" "$T/resp.json"
check "GET /v1/ca names the principal format" grep -qF '"principal_format":"jit:{host}:{login}"' "$T/resp.json"

# ---- a request made by hand ------------------------------------------------------------
NOW=$(date +%s)
body alice "$NOW" "$(nonce)"
sign "$T/alice"
cp "$T/body.json" "$T/first.json"
cp "$T/auth" "$T/first.auth"
check "a signed request is issued (201)" test "$(post)" = 201
check "the answer says issued" test "$(jstr state)" = issued
RID=$(jstr request_id)
SERIAL1=$(jnum serial)
VA=$(jnum valid_after)
VB=$(jnum valid_before)
check "the request ID is 32 lower-case hex characters" \
	sh -c "echo '$RID' | grep -qx '[0-9a-f]\{32\}'"
check "the serial is not 0" test "${SERIAL1:-0}" -gt 0
check "valid_after is backdated by the 60 s skew" test $((NOW - VA)) -ge 60 -a $((NOW - VA)) -le 62
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

# ---- refusals ----------------------------------------------------------------------------
cp "$T/first.json" "$T/body.json"
cp "$T/first.auth" "$T/auth"
check "a replayed request is refused (401)" test "$(post)" = 401
check "the replay is named" test "$(jstr error)" = replay

body alice "$(date +%s)" "$(nonce)"
sign "$T/mallory"
check "a request signed by an unenrolled key is refused (401)" test "$(post)" = 401
check "the unknown key is named" test "$(jstr error)" = unknown_user_or_key

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

printf '{"user":"alice", not json' >"$T/body.json"
sign "$T/alice"
check "malformed JSON is refused (400)" test "$(post)" = 400
check "malformed JSON is named" test "$(jstr error)" = malformed_json
check "the daemon keeps serving after malformed JSON" test "$(get /healthz)" = 200

body alice "$(date +%s)" "$(nonce)"
sign "$T/alice"
check "a body that is not JSON by media type is refused (415)" test "$(post text/plain)" = 415

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

# ---- restart: serials stay unique ---------------------------------------------------------
check "SIGTERM stops the daemon cleanly" stop
start
body alice "$(date +%s)" "$(nonce)"
sign "$T/alice"
check "a request after a restart is issued" test "$(post)" = 201
SERIAL2=$(jnum serial)
check "serials are unique across a restart" test "${SERIAL2:-0}" -gt "$SERIAL1"
check "SIGTERM stops the restarted daemon" stop

# ---- the log and the ledger -------------------------------------------------------------
check "the log has one line for the issuance with its serial" \
	grep -q "request_id=$RID .*result=issued user=alice host=web-1 login=alice serial=$SERIAL1" "$T/serve.log"
check "the log names the replay" grep -q "status=401 result=replay" "$T/serve.log"
check "the log holds no key material" sh -c "! grep -q 'AAAAC3Nza' '$T/serve.log'"
check "the log holds no signature" sh -c "! grep -qF \"\$(cut -c8-40 '$T/first.auth')\" '$T/serve.log'"
"$CA" ledger list --config "$T/state/config.yaml" >"$T/ledger.txt"
check "ledger list shows the first serial" grep -q " issued .* $SERIAL1 .*$RID" "$T/ledger.txt"
check "ledger list shows the denial" grep -q " denied .*root" "$T/ledger.txt"
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
if "$CA" serve --config "$T/state/config.yaml" --plain-http --listen 0.0.0.0 --port 0 2>"$T/err"; then
	not_ok "serve refuses plain HTTP on a non-loopback address"
else
	check "serve refuses plain HTTP on a non-loopback address" grep -q loopback "$T/err"
fi

# ---- init --force: new keys, the ledger kept ---------------------------------------------
RECORDS=$("$CA" ledger verify --config "$T/state/config.yaml" | sed 's/[^0-9]//g')
cp "$T/state/ca_key.pub" "$T/old_ca.pub"
"$CA" init --dir "$T/state" --force --user alice --user-key "$T/alice.pub" >/dev/null
check "init --force makes a new CA key" sh -c "! cmp -s '$T/old_ca.pub' '$T/state/ca_key.pub'"
check "init --force keeps the ledger" \
	test "$("$CA" ledger verify --config "$T/state/config.yaml" | sed 's/[^0-9]//g')" = "$RECORDS"

echo "1..$CHECKS"
if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS of $CHECKS checks failed; the daemon's log:"
	cat "$T/serve.log"
	exit 1
fi
exit 0
