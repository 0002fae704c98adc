#!/bin/bash
# jit-ssh against the real CA: with the right TLS pin it gets a certificate; with a wrong pin
# it stops before sending anything, with the one documented line on stderr and exit status 3
# (docs/engineer.md, "Reaching the CA"). Output: "ok N - what" per check.
. "$(dirname "$0")/lib.sh"

alice_policy
start_ca
start_agent alice
# Well formed, but not the CA's: SHA-256 of nothing.
WRONG="sha256//$(openssl dgst -sha256 -binary </dev/null | base64 -w0)"

# The control: the right pin (also as the second of two during a key rotation) works.
jit cert "$PIN" test-1 >"$T/out" 2>"$T/err-right" || fail "jit-ssh cert with the right pin: $?"
ok "with the right pin jit-ssh gets a certificate"
jit cert "$WRONG;$PIN" test-1 >"$T/out" 2>"$T/err-right2" ||
	fail "jit-ssh cert with the right pin second: $?"
ok "a list of pins that holds the right one works"
cp "$T/ca.log" "$T/ca.log.before"

for cmd in cert explain; do
	set +e
	jit "$cmd" "$WRONG" test-1 >"$T/out" 2>"$T/err-$cmd"
	rc=$?
	set -e
	[ "$rc" = 3 ] || fail "jit-ssh $cmd with a wrong pin exited $rc, not 3"
	ok "jit-ssh $cmd with a wrong pin exits 3"
	[ "$(wc -l <"$T/err-$cmd")" = 1 ] || fail "stderr is not one line: $(cat "$T/err-$cmd")"
	grep -qxF "jit-ssh: TLS pin mismatch: the server at $URL does not have the CA key pinned as $WRONG. Check the URL and the pin (\`jit-ssh-ca init\` printed it); if the CA's TLS key was replaced, get the new pin from its operator." \
		"$T/err-$cmd" || fail "not the documented line: $(cat "$T/err-$cmd")"
	ok "jit-ssh $cmd with a wrong pin says so in the one documented line"
	[ ! -s "$T/out" ] || fail "jit-ssh $cmd printed on stdout: $(cat "$T/out")"
done
if diff "$T/ca.log.before" "$T/ca.log" | grep -q 'path='; then
	fail "the CA answered a request after a pin mismatch: $(diff "$T/ca.log.before" "$T/ca.log")"
fi
ok "no request reached the CA's API with the wrong pin"
echo "1..$CHECKS"
