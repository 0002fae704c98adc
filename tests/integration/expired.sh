#!/bin/bash
# An expired certificate is refused by sshd, and the agent forgets a certificate when it
# expires.
#
# How the certificate gets old honestly: no clock is faked and nothing is re-signed. We ask
# the CA for the shortest lifetime, ttl_seconds 1 (valid_before = issue time + 1 s; the
# skew allowance moves only valid_after back), wait until the host's clock is past its
# valid_before, and then log in with it exactly as a user would. The wait is bounded by
# the lifetime asked for (about two seconds), not by the policy's TTL.
. "$(dirname "$0")/lib.sh"

setup_ca_and_agent
start_sshd web prod-web-3 "$TEST_LOGIN"
L=$TEST_LOGIN

# ssh_cert NAME COMMAND: plain ssh with $T/keys/NAME and its certificate
ssh_cert() {
	local opts
	mapfile -t opts < <(ssh_opts web)
	ssh "${opts[@]}" -o IdentitiesOnly=yes -o IdentityAgent=none -i "$T/keys/$1" \
		-o "CertificateFile=$T/keys/$1-cert.pub" -l "$L" prod-web-3 "$2"
}

# Control: the same route with a normal lifetime logs in.
new_key fresh
hand_cert fresh alice prod-web-3 "$L"
check "a certificate inside its validity window logs in" \
	test "$(ssh_cert fresh 'echo in' 2>"$T/err")" = in

new_key short
hand_cert short alice prod-web-3 "$L" 1
vb=$(jq -r .valid_before "$T/short.json")
va=$(jq -r .valid_after "$T/short.json")
skew=$(sed -n 's/^skew_sec: *//p' "$T/ca/config.yaml")
check "the CA granted the 1-second lifetime asked for (valid_before - valid_after = skew + 1)" \
	test "$((vb - va))" = "$((skew + 1))"
while [ "$(date +%s)" -le "$vb" ]; do sleep 0.2; done

if ssh_cert short 'echo should-not-run' >"$T/out" 2>"$T/err"; then
	fail "sshd accepted an expired certificate"
fi
check "sshd refuses the certificate once it has expired" grep -q "Permission denied" "$T/err"
check "sshd's log says why: expired" contains "${SSHD_DIR[web]}/sshd.log" "[Cc]ertificate invalid: expired"
check "nothing ran" test ! -s "$T/out"

# jit-ssh gives the agent a lifetime of valid_before - now: the certificate leaves the agent
# when it expires (ssh-agent would otherwise keep it).
jit_cert --ttl 2 "$L@prod-web-3" >"$T/cert.out" 2>&1 || fail "jit-ssh cert --ttl 2: $(cat "$T/cert.out")"
CERT=$(cert_file "$L@prod-web-3")
line=$(cut -d' ' -f1,2 "$CERT")
check "the agent holds the fresh certificate" grep -qxF "$line" <(agent_certs)
vb=$(ssh-keygen -L -f "$CERT" | sed -n 's/^ *Valid: from [^ ]* to \(.*\)$/\1/p')
vb=$(date -d "$vb" +%s)
# The agent expires a lifetime constraint when it handles a request after the deadline, so
# ask it (ssh-add -L) until the certificate is gone. The deadline only bounds the wait (30 s
# past valid_before); how fast the agent is does not matter.
agent_holds() { grep -qxF "$line" <(ssh-add -L 2>/dev/null); }
agent_dropped() { ! agent_holds; }
while agent_holds && [ "$(date +%s)" -le $((vb + 30)) ]; do sleep 0.2; done
check "the agent has dropped the certificate after it expired" agent_dropped
