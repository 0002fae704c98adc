#!/bin/bash
# An engineer logs in with jit-ssh through the real OpenSSH ssh: the command's output comes
# back, the agent holds the certificate afterwards, and sshd logs the certificate's key ID and
# serial.
. "$(dirname "$0")/lib.sh"

setup_ca_and_agent
start_sshd web prod-web-3 "$TEST_LOGIN"
L=$TEST_LOGIN
# Files written from here on are searched for the fresh keys' private halves at the end.
touch "$T/.start"
FRESH=()
# keep_fresh_pub: a copy of the public key jit-ssh just made, for the search at the end
keep_fresh_pub() {
	cp "$(pub_file "$L@prod-web-3")" "$T/fresh-${#FRESH[@]}.pub"
	FRESH+=("$T/fresh-${#FRESH[@]}.pub")
}

jit_ssh web "$L@prod-web-3" 'echo "hello from $(id -un) on $(hostname)"' >"$T/out" 2>"$T/err" ||
	fail "jit-ssh $L@prod-web-3 failed: $(cat "$T/err")"
check "the command runs on the host as $L and its output comes back" \
	contains "$T/out" "^hello from $L on "

check "sshd accepted exactly one certificate login" test "$(sshd_accepted web)" = 1
keep_fresh_pub

CERT=$(cert_file "$L@prod-web-3")
check "jit-ssh leaves the certificate in \$XDG_RUNTIME_DIR/jit-ssh" test -s "$CERT"
check "the certificate names exactly the host-bound principal jit:prod-web-3:$L" \
	test "$(cert_principals "$CERT")" = "jit:prod-web-3:$L"
KEY_ID=$(cert_field "$CERT" "Key ID")
SERIAL=$(cert_field "$CERT" "Serial")
check "the key ID names user, host, login and request" \
	grep -Eqx "jit-ssh user=alice host=prod-web-3 login=$L request=[0-9a-f]{32}" <<<"$KEY_ID"
check "the serial is not 0" test "$SERIAL" -gt 0

check "sshd's log names the key ID and serial" \
	contains "${SSHD_DIR[web]}/sshd.log" \
	"^Accepted certificate ID \"$KEY_ID\" \(serial $SERIAL\) signed by ED25519 CA "

check "the agent holds the certificate afterwards (ssh-add -L)" \
	grep -qxF "$(cut -d' ' -f1,2 "$CERT")" <(agent_certs)

check "the key directory is private (0700)" test "$(stat -c %a "$T/run/jit-ssh")" = 700

rc=0
jit_ssh web "$L@prod-web-3" 'exit 7' >/dev/null 2>&1 || rc=$?
check "the remote command's exit status comes back" test "$rc" = 7
keep_fresh_pub

# `jit-ssh cert` then plain ssh with the files it names (the ssh_config `Match exec` way).
jit_cert "$L@prod-web-3" >"$T/cert.out" 2>&1 || fail "jit-ssh cert: $(cat "$T/cert.out")"
check "jit-ssh cert prints the certificate path" grep -qF "$CERT" "$T/cert.out"
keep_fresh_pub
mapfile -t OPTS < <(ssh_opts web)
ssh "${OPTS[@]}" -o IdentitiesOnly=yes -o "IdentityFile=$(pub_file "$L@prod-web-3")" \
	-o "CertificateFile=$CERT" -l "$L" prod-web-3 'echo plain-ssh-ok' >"$T/out2" 2>"$T/err2" ||
	fail "plain ssh with the jit-ssh cert files failed: $(cat "$T/err2")"
check "plain ssh logs in with the key and certificate jit-ssh cert left in the agent" \
	grep -qx plain-ssh-ok "$T/out2"
check "each of the three logins used a new certificate (serials differ)" \
	test "$(grep -E '^Accepted publickey' "${SSHD_DIR[web]}/sshd.log" |
		grep -Eo '\(serial [0-9]+\)' | sort -u | wc -l)" = 3

# The fresh keys' private halves live only in jit-ssh's memory and the agent: no PEM block in
# jit-ssh's directories, and no file written during the test — here, in the CA's directory
# and ledger, under /tmp, /var/tmp, /dev/shm or the working directory — holds one in any
# OpenSSH form (searched by the private key's own bytes, so other tests' keys do not count).
check "jit-ssh's directories hold no private key" \
	test -z "$(grep -rl 'PRIVATE KEY' "$T/run" "$T/home" || true)"
new_key control
check "the search below finds a private key ssh-keygen wrote, and only that (it can fail)" \
	test "$(private_key_traces "$T/.start" "$T/keys/control.pub" -- "$T")" = "$T/keys/control"
TRACES=$(private_key_traces "$T/.start" "${FRESH[@]}" -- "$T" /tmp /var/tmp /dev/shm "$PWD")
check "none of the ${#FRESH[@]} fresh private keys was written to any file" test -z "$TRACES"
