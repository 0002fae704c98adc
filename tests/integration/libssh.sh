#!/bin/bash
# A second, independent SSH client (libssh 0.10, tests/libssh_login.c) logs in with a
# certificate this CA issued: once through the agent jit-ssh filled, once with a key and
# certificate files obtained by hand (curl + ssh-keygen -Y sign).
. "$(dirname "$0")/lib.sh"

[ -x "${LIBSSH_LOGIN:-}" ] || fail "LIBSSH_LOGIN must name the built libssh_login"
setup_ca_and_agent
start_sshd web prod-web-3 "$TEST_LOGIN"
L=$TEST_LOGIN
KH=${SSHD_DIR[web]}/known_hosts

# Through the agent: jit-ssh cert puts the fresh key and its certificate there.
jit_cert "$L@prod-web-3" >"$T/cert.out" 2>&1 || fail "jit-ssh cert: $(cat "$T/cert.out")"
CERT=$(cert_file "$L@prod-web-3")
"$LIBSSH_LOGIN" --port "${SSHD_PORT[web]}" --login "$L" --known-hosts "$KH" --agent \
	'echo "libssh agent login as $(id -un)"' >"$T/out" 2>"$T/err" ||
	fail "libssh login through the agent failed: $(cat "$T/err")"
check "libssh logs in with the agent's certificate and the command's output comes back" \
	grep -qx "libssh agent login as $L" "$T/out"
check "sshd accepted it as that certificate (key ID and serial)" \
	contains "${SSHD_DIR[web]}/sshd.log" "^Accepted publickey for $L .*-CERT .* ID $(cert_field "$CERT" "Key ID") \(serial $(cert_field "$CERT" Serial)\)"

# With files: a key we hold, certified through the by-hand flow.
new_key mine
hand_cert mine alice prod-web-3 "$L"
"$LIBSSH_LOGIN" --port "${SSHD_PORT[web]}" --login "$L" --known-hosts "$KH" \
	--key "$T/keys/mine" --cert "$T/keys/mine-cert.pub" 'echo libssh file login' \
	>"$T/out2" 2>"$T/err2" || fail "libssh login with key and certificate files: $(cat "$T/err2")"
check "libssh logs in with a key file and the certificate the CA returned" \
	grep -qx "libssh file login" "$T/out2"

# The same client is refused without a valid certificate (so the checks above can fail).
ssh-add -q -D 2>/dev/null
rc=0
"$LIBSSH_LOGIN" --port "${SSHD_PORT[web]}" --login "$L" --known-hosts "$KH" \
	--key "$T/keys/bob" --cert "$T/keys/mine-cert.pub" true >/dev/null 2>"$T/err3" || rc=$?
check "a certificate offered with a key it does not certify is refused" test "$rc" = 255
new_key plain
ssh-add -q "$T/keys/plain" 2>/dev/null
rc=0
"$LIBSSH_LOGIN" --port "${SSHD_PORT[web]}" --login "$L" --known-hosts "$KH" --agent true \
	>/dev/null 2>"$T/err4" || rc=$?
check "sshd refuses libssh when the agent holds only a plain key" test "$rc" = 255
