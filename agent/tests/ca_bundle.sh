#!/bin/bash
# Trusting the CA through a CA bundle instead of a pin (--ca-bundle, JIT_SSH_CA_BUNDLE): the
# real CA serves a certificate issued by a small CA made here with openssl (tls_cert and
# tls_key in its config, docs/operating-ca.md). With that CA as the bundle jit-ssh gets a
# certificate, by IP address and by host name; with another CA's bundle, or when the
# server's certificate names another host, the TLS handshake fails with the documented
# line and exit status 3 and no request is sent; a bundle that cannot be read is a
# configuration error (78). The CA's own self-signed certificate also works as the bundle.
# Output: "ok N - what" per check.
. "$(dirname "$0")/lib.sh"

alice_policy
init_ca
cp "$T/ca/config.yaml" "$T/config.yaml.init"
start_agent alice

# ---- a small PKI: two root CAs, server certificates for the right and a wrong name --------
mkdir -p -m 0700 "$T/pki"
P=$T/pki
# root NAME: a self-signed CA certificate $P/NAME.pem with its key $P/NAME.key
root() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=jit-ssh test $1" -keyout "$P/$1.key" -out "$P/$1.pem" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>>"$T/openssl.log"
}
# leaf NAME SAN: a server certificate $P/NAME.pem (key $P/NAME.key, mode 0600) signed by
# root-ca for the subjectAltName SAN
leaf() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.csr" 2>>"$T/openssl.log"
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' \
		"$2" >"$P/$1.ext"
	openssl x509 -req -in "$P/$1.csr" -CA "$P/root-ca.pem" -CAkey "$P/root-ca.key" \
		-CAcreateserial -days 2 -extfile "$P/$1.ext" -out "$P/$1.pem" 2>>"$T/openssl.log"
	chmod 0600 "$P/$1.key"
}
root root-ca
root other-ca
leaf server 'DNS:localhost,IP:127.0.0.1'
leaf wrong-name 'DNS:ca.example.org'
openssl verify -CAfile "$P/root-ca.pem" "$P/server.pem" >/dev/null 2>>"$T/openssl.log" ||
	fail "openssl does not verify the server certificate with its own CA"

# use_tls NAME: the CA serves $P/NAME.pem with its key (restarted if it was running)
use_tls() {
	[ -z "${CA_PID:-}" ] || stop_ca
	sed -i -e "s|^tls_cert:.*|tls_cert: $P/$1.pem|" -e "s|^tls_key:.*|tls_key: $P/$1.key|" \
		"$T/ca/config.yaml"
	grep -qx "tls_cert: $P/$1.pem" "$T/ca/config.yaml" || fail "no tls_cert line in the config"
	serve_ca
	PORT=${URL##*:}
}

# cert_with NAME URL BUNDLE [JIT-SSH-ARGS...]: jit-ssh cert test-1 as alice against URL
# trusting BUNDLE (no pin unless given in ARGS); stdout $T/NAME.out, stderr $T/NAME.err, exit
# status in RC
cert_with() {
	local name=$1 url=$2 bundle=$3
	shift 3
	rm -rf "$T/run/jit-ssh"
	RC=0
	env -u JIT_SSH_PIN -u JIT_SSH_CA_URL -u JIT_SSH_CONFIG -u JIT_SSH_USER \
		-u JIT_SSH_IDENTITY -u JIT_SSH_CA_BUNDLE HOME="$T" XDG_RUNTIME_DIR="$T/run" \
		"$JIT_SSH" cert --ca "$url" --ca-bundle "$bundle" --user alice "$@" test-1 \
		>"$T/$name.out" 2>"$T/$name.err" || RC=$?
}
CERT=$T/run/jit-ssh/alice@test-1-cert.pub
# issued WHAT NAME: the run NAME exited 0 and left a certificate for the principal
issued() {
	[ "$RC" = 0 ] || fail "$1: exit status $RC: $(cat "$T/$2.err")"
	ssh-keygen -L -f "$CERT" 2>/dev/null | grep -qx '[[:space:]]*jit:test-1:alice' ||
		fail "$1: no certificate for jit:test-1:alice in $CERT"
	ok "$1"
}
# api_requests: how many requests the CA's API has logged so far
api_requests() { grep -c 'path=/v1/' "$T/ca.log" || true; }
# tls_refused WHAT NAME URL CURL-WORDS-REGEX: the run NAME exited 3 with the one documented
# line, curl's words matching the regex; no certificate; no request reached the API
tls_refused() {
	[ "$RC" = 3 ] || fail "$1: exit status $RC, not 3: $(cat "$T/$2.err")"
	ok "$1: exit status 3"
	[ "$(wc -l <"$T/$2.err")" = 1 ] &&
		grep -Eqx "jit-ssh: TLS with the CA at $3 failed: $4 \\(check --ca-bundle / ca_bundle\\)" \
			"$T/$2.err" || fail "$1: not the documented line: $(cat "$T/$2.err")"
	ok "$1: the documented line"
	[ ! -e "$CERT" ] || fail "$1: a certificate was written"
	[ "$(api_requests)" = "$BEFORE" ] || fail "$1: a request reached the CA's API"
	ok "$1: no certificate, no request reached the CA"
}

use_tls server
cert_with ip "$URL" "$P/root-ca.pem"
issued "with the issuing CA as the bundle, jit-ssh gets a certificate from https://127.0.0.1" ip
cert_with name "https://localhost:$PORT" "$P/root-ca.pem"
issued "with the issuing CA as the bundle, jit-ssh gets a certificate from https://localhost" name
RC=0
env -u JIT_SSH_PIN -u JIT_SSH_CA_URL -u JIT_SSH_CONFIG -u JIT_SSH_USER -u JIT_SSH_IDENTITY \
	HOME="$T" XDG_RUNTIME_DIR="$T/run" JIT_SSH_CA_BUNDLE="$P/root-ca.pem" \
	"$JIT_SSH" cert --ca "$URL" --user alice test-1 >"$T/env.out" 2>"$T/env.err" || RC=$?
issued "the bundle can be given in JIT_SSH_CA_BUNDLE" env
cert_with both "$URL" "$P/root-ca.pem" --pin "$(pin_of "$P/server.pem")"
issued "a bundle and the right pin together work" both

BEFORE=$(api_requests)
cert_with other "$URL" "$P/other-ca.pem"
tls_refused "another CA's bundle" other "$URL" "SSL certificate problem: unable to get local issuer certificate"
cert_with wrongpin "$URL" "$P/root-ca.pem" --pin "$(pin_of "$P/wrong-name.pem")"
[ "$RC" = 3 ] && grep -q '^jit-ssh: TLS pin mismatch: ' "$T/wrongpin.err" ||
	fail "a right bundle with a wrong pin: exit $RC: $(cat "$T/wrongpin.err")"
ok "a right bundle does not make up for a wrong pin (pin mismatch, exit 3)"
cert_with missing "$URL" "$T/no-such-bundle.pem"
[ "$RC" = 78 ] && [ "$(wc -l <"$T/missing.err")" = 1 ] &&
	grep -q "^jit-ssh: cannot read the CA bundle $T/no-such-bundle.pem: " "$T/missing.err" ||
	fail "a bundle that does not exist: exit $RC: $(cat "$T/missing.err")"
ok "a bundle that does not exist is a configuration error (exit 78) naming the file"

# The server's certificate is issued by the right CA, but for another name.
use_tls wrong-name
BEFORE=$(api_requests)
cert_with wrongname "$URL" "$P/root-ca.pem"
tls_refused "a server certificate for another host name" wrongname "$URL" \
	"SSL: no alternative certificate subject name matches target host name '127\\.0\\.0\\.1'"

# The CA's own self-signed certificate (jit-ssh-ca init: CA:TRUE, subjectAltName localhost
# and 127.0.0.1) as the bundle.
stop_ca
cp "$T/config.yaml.init" "$T/ca/config.yaml"
serve_ca
cert_with self "$URL" "$T/ca/tls_cert.pem"
issued "the CA's own self-signed certificate (from jit-ssh-ca init) works as the bundle" self
echo "1..$CHECKS"
