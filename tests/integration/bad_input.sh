#!/bin/bash
# Malformed JSON, keys and signatures get 4xx answers with a JSON error naming the problem,
# and the CA keeps serving: a good request afterwards still gets its certificate.
. "$(dirname "$0")/lib.sh"

setup_ca_and_agent
L=$TEST_LOGIN
new_key mine
new_key other
ssh-keygen -q -t ed25519 -N '' -f "$T/keys/selfca"
ssh-keygen -q -s "$T/keys/selfca" -I x -n "jit:prod-web-3:$L" "$T/keys/other.pub"

# expect WHAT STATUS CODE-REGEX RESPONSE-FILE HTTP-STATUS
expect() {
	if [ "$5" != "$2" ]; then
		fail "$1: HTTP $5, want $2: $(head -c 300 "$4")"
	fi
	jq -e --arg re "^($3)\$" '(.error | type == "string" and test($re)) and
		(.message | type == "string" and length > 0) and (has("certificate") | not)' \
		"$4" >/dev/null || fail "$1: not the JSON error wanted ($3): $(head -c 300 "$4")"
	ok "$1: $2 $(jq -r .error "$4")"
}

# signed_post WHAT STATUS CODE BODY-TEXT: sign BODY-TEXT with alice's key, POST, expect
signed_post() {
	printf '%s' "$4" >"$T/body"
	expect "$1" "$2" "$3" "$T/resp" "$(hand_request "$T/keys/alice" "$T/body" "$T/resp")"
}

# field_post WHAT STATUS CODE JQ-EDIT: a good body changed by JQ-EDIT, signed, POSTed
field_post() {
	signed_post "$1" "$2" "$3" "$(hand_body alice prod-web-3 "$L" "$T/keys/mine.pub" | jq -c "$4")"
}

signed_post "truncated JSON" 400 malformed_json '{"user":"alice","host":'
signed_post "not JSON at all" 400 malformed_json 'user=alice&host=prod-web-3'
signed_post "a JSON array instead of an object" 400 'malformed_json|bad_field' '[1,2,3]'
signed_post "an empty body" 400 'malformed_json|missing_field' ''
signed_post "JSON with a NUL escape" 400 'malformed_json|bad_field' \
	"$(hand_body alice prod-web-3 "$L" "$T/keys/mine.pub" | jq -c '.reason = "a\u0000b"')"

field_post "no nonce" 400 missing_field 'del(.nonce)'
field_post "no public_key" 400 missing_field 'del(.public_key)'
field_post "a nonce that is too short" 400 bad_field '.nonce = "abc"'
field_post "a nonce with unsafe characters" 400 bad_field '.nonce = "abcdefgh/ijklmnop.q"'
field_post "a timestamp that is a string" 400 bad_field '.timestamp = "now"'
field_post "a negative ttl_seconds" 400 bad_field '.ttl_seconds = -5'
field_post "a truncated public key" 400 bad_field '.public_key |= .[0:40]'
field_post "a public key with a flipped base64 character" 400 bad_field \
	'.public_key |= (split(" ") | .[1] |= (.[0:10] + (if .[10:11] == "A" then "B" else "A" end) + .[11:]) | join(" "))'
field_post "a private key as public_key" 400 bad_field \
	".public_key = $(jq -Rs . "$T/keys/mine")"
field_post "a certificate as public_key" 400 bad_field \
	".public_key = $(jq -R . "$T/keys/other-cert.pub")"
field_post "a 1024-bit RSA key" 400 bad_field \
	".public_key = $(ssh-keygen -q -t rsa -b 1024 -N '' -f "$T/keys/rsa1024" &&
		jq -R . "$T/keys/rsa1024.pub")"
# An unsafe host name may be refused as a bad field (400) or denied by the policy (403).
hand_body alice "prod-web-3/../x" "$L" "$T/keys/mine.pub" >"$T/body"
status=$(hand_request "$T/keys/alice" "$T/body" "$T/resp")
check "a host name with a slash is refused ($status)" grep -Eqx '400|403' <<<"$status"
check "a host name with a slash gets no certificate" jq -e 'has("certificate") | not' "$T/resp"

# Signatures.
hand_body alice prod-web-3 "$L" "$T/keys/mine.pub" >"$T/body"
expect "no Authorization header" 401 bad_signature "$T/resp" \
	"$(hand_post "$T/body" "" "$T/resp")"
expect "Authorization that is not base64" 401 bad_signature "$T/resp" \
	"$(hand_post "$T/body" "SSHSIG %%%not-base64%%%" "$T/resp")"
expect "a signature of another namespace" 401 bad_signature "$T/resp" \
	"$(hand_post "$T/body" "SSHSIG $(hand_sign "$T/keys/alice" "$T/body" file)" "$T/resp")"
sig=$(hand_sign "$T/keys/alice" "$T/body")
sed -i 's/"integration test"/"integration tesT"/' "$T/body"
expect "a body changed after signing" 401 bad_signature "$T/resp" \
	"$(hand_post "$T/body" "SSHSIG $sig" "$T/resp")"
expect "a truncated signature" 401 bad_signature "$T/resp" \
	"$(hand_post "$T/body" "SSHSIG ${sig:0:60}" "$T/resp")"
expect "a signature with another scheme name" 401 bad_signature "$T/resp" \
	"$(hand_post "$T/body" "Bearer $sig" "$T/resp")"

# HTTP framing.
hand_body alice prod-web-3 "$L" "$T/keys/mine.pub" >"$T/body"
expect "Content-Type text/plain" 415 unsupported_media_type "$T/resp" \
	"$(hand_post "$T/body" "SSHSIG $(hand_sign "$T/keys/alice" "$T/body")" "$T/resp" text/plain)"
head -c 17000 /dev/zero | tr '\0' 'x' >"$T/big"
expect "a 17000-byte body" 413 body_too_large "$T/resp" \
	"$(hand_post "$T/big" "SSHSIG AAAA" "$T/resp")"
expect "a 17000-byte body sent chunked (no Content-Length)" 413 body_too_large "$T/resp" \
	"$(hand_post "$T/big" "SSHSIG AAAA" "$T/resp" application/json -H 'Transfer-Encoding: chunked')"
expect "an unknown request ID" 404 not_found "$T/resp" \
	"$(ca_get "/v1/requests/0123456789abcdef0123456789abcdef" "$T/resp")"
expect "an unknown path" 404 not_found "$T/resp" "$(ca_get /v2/nothing "$T/resp")"
expect "DELETE /v1/requests" 405 method_not_allowed "$T/resp" \
	"$(curl -sS --max-time 30 --cacert "$T/ca/tls_cert.pem" -o "$T/resp" -w '%{http_code}' -X DELETE \
		"$CA_URL/v1/requests")"

# Still serving.
check "the CA process is still running" kill -0 "$CA_PID"
check "/healthz answers ok" test "$(ca_get /healthz "$T/health")" = 200
check "/healthz says status ok" jq -e '.status == "ok"' "$T/health"
hand_cert mine alice prod-web-3 "$L"
check "a good request after all that gets a certificate" \
	test "$(ssh-keygen -L -f "$T/keys/mine-cert.pub" | sed -n 's/^ *Type: //p' | cut -d' ' -f1)" = \
	ssh-ed25519-cert-v01@openssh.com
ca_get /v1/ca "$T/ca.json" >/dev/null
check "GET /v1/ca lists the CA key that signed it" \
	test "$(jq -r '.keys[0]' "$T/ca.json" | cut -d' ' -f1,2)" = "$(cut -d' ' -f1,2 "$CA_PUB")"
