#!/bin/bash
# Certificates are bound to one host: a certificate issued for host A (prod-web-3) is refused
# by host B (prod-db-1), whose sshd trusts the same CA, and the other way round.
. "$(dirname "$0")/lib.sh"

setup_ca_and_agent
start_sshd a prod-web-3 "$TEST_LOGIN"
start_sshd b prod-db-1 "$TEST_LOGIN"
L=$TEST_LOGIN

# ssh_with NAME HOSTCERT COMMAND: plain ssh to sshd NAME offering only the jit-ssh key and
# certificate left for HOSTCERT (LOGIN@HOST)
ssh_with() {
	local opts
	mapfile -t opts < <(ssh_opts "$1")
	ssh "${opts[@]}" -o IdentitiesOnly=yes -o "IdentityFile=$(pub_file "$2")" \
		-o "CertificateFile=$(cert_file "$2")" -l "$L" target "$3"
}

jit_cert "$L@prod-web-3" >"$T/a.out" 2>&1 || fail "jit-ssh cert for A: $(cat "$T/a.out")"
jit_cert "$L@prod-db-1" >"$T/b.out" 2>&1 || fail "jit-ssh cert for B: $(cat "$T/b.out")"

check "the certificate for A logs in to A" test "$(ssh_with a "$L@prod-web-3" 'echo A' 2>"$T/err")" = A
check "the certificate for B logs in to B" test "$(ssh_with b "$L@prod-db-1" 'echo B' 2>"$T/err")" = B

before=$(sshd_accepted b)
if ssh_with b "$L@prod-web-3" 'echo B' >"$T/out" 2>"$T/err"; then
	fail "host B accepted the certificate for host A"
fi
check "host B refuses the certificate for host A" grep -q "Permission denied" "$T/err"
check "host B says the certificate has no principal it accepts" \
	contains "${SSHD_DIR[b]}/sshd.log" "does not contain an authorized principal"
check "nothing ran on host B" test ! -s "$T/out" -a "$(sshd_accepted b)" = "$before"

if ssh_with a "$L@prod-db-1" 'echo A' >"$T/out" 2>"$T/err"; then
	fail "host A accepted the certificate for host B"
fi
check "host A refuses the certificate for host B" grep -q "Permission denied" "$T/err"

# Through jit-ssh, which offers only the certificate it fetched for the host it was asked for:
# asking for prod-db-1 but reaching A's sshd must fail.
if jit_ssh a "$L@prod-db-1" 'echo wrong' >"$T/out" 2>"$T/err"; then
	fail "jit-ssh for prod-db-1 logged in to prod-web-3's sshd"
fi
check "jit-ssh with B's certificate cannot log in to A" test ! -s "$T/out"
