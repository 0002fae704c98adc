#!/bin/bash
# A second, independent SSH client (libssh 0.10, tests/libssh_login.c) logs in with a
# certificate this CA issued: once through the agent jit-ssh filled, once with a key and
# certificate files obtained by hand (curl + ssh-keygen -Y sign). It is refused by sshd
# itself (libssh_login's exit status 253, and sshd's log says why) for a certificate
# offered with the wrong key, a certificate for another host and a plain key; failures
# before anything is offered have exit statuses of their own.
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
# libssh_login's exit status tells a refusal by sshd (253) from a failure before anything
# was offered (250 files unusable, 251 connection, 252 host key).
# libssh_run OUT-PREFIX ARGS...: libssh_login to sshd web; its exit status in $rc
libssh_run() {
	local out=$1
	shift
	rc=0
	"$LIBSSH_LOGIN" --port "${SSHD_PORT[web]}" --login "$L" "$@" >"$T/$out.out" \
		2>"$T/$out.err" || rc=$?
}
# refused_by_sshd WHAT OUT-PREFIX SSHD-LOG-REGEX: libssh_login exited 253, said the server
# refused, nothing ran, sshd accepted nothing new and logged why
refused_by_sshd() {
	check "$1: libssh_login says the server refused it (exit 253, got $rc)" test "$rc" = 253
	check "$1: its message names the server's refusal" \
		grep -q "^libssh_login: authentication as $L refused by the server" "$T/$2.err"
	check "$1: nothing ran" test ! -s "$T/$2.out"
	check "$1: sshd accepted no other login" test "$(sshd_accepted web)" = "$accepted"
	if [ -n "$3" ]; then
		check "$1: sshd logged why" contains "${SSHD_DIR[web]}/sshd.log" "$3"
	fi
}
accepted=$(sshd_accepted web)
# re_quote: stdin with the characters special in grep -E quoted (fingerprints hold +)
re_quote() { sed 's/[][\.*^$+?(){}|]/\\&/g'; }

# libssh 0.10 joins a certificate to any key: the signature made with bob's key does not
# verify against the certified key, and sshd says so.
libssh_run mismatch --known-hosts "$KH" --key "$T/keys/bob" --cert "$T/keys/mine-cert.pub" \
	'echo should not run'
refused_by_sshd "a certificate offered with a key it does not certify" mismatch \
	"^Failed publickey for $L from 127\.0\.0\.1 .*-CERT $(fingerprint "$T/keys/mine.pub" | re_quote) "

libssh_run badfile --known-hosts "$KH" --key "$T/keys/mine" --cert "$T/keys/missing-cert.pub" true
check "a certificate file that does not exist is not offered (exit 250, got $rc)" \
	test "$rc" = 250
check "libssh_login says it cannot read the certificate" \
	grep -q "^libssh_login: cannot read certificate $T/keys/missing-cert.pub" "$T/badfile.err"

: >"$T/empty_known_hosts"
libssh_run hostkey --known-hosts "$T/empty_known_hosts" --key "$T/keys/mine" \
	--cert "$T/keys/mine-cert.pub" true
check "an unknown host key stops libssh_login before authentication (exit 252, got $rc)" \
	test "$rc" = 252

# A certificate this CA issued for another host, offered with its own key: sshd refuses it.
new_key other
hand_cert other alice prod-web-4 "$L"
libssh_run otherhost --known-hosts "$KH" --key "$T/keys/other" \
	--cert "$T/keys/other-cert.pub" 'echo should not run'
refused_by_sshd "a certificate for another host offered from files" otherhost \
	"does not contain an authorized principal"

ssh-add -q -D 2>/dev/null
new_key plain
ssh-add -q "$T/keys/plain" 2>/dev/null
libssh_run plain --known-hosts "$KH" --agent 'echo should not run'
refused_by_sshd "an agent that holds only a plain key" plain ""
