#!/bin/bash
# Plain `ssh` through the ssh_config `Match exec` block exactly as docs/engineer.md shows it:
# the block is taken from the guide itself (not copied here), `jit-ssh` is found on PATH as
# an engineer installs it, its settings come from the environment, and `ssh -F FILE
# LOGIN@prod-web-3 COMMAND` logs in to a real sshd with the certificate `jit-ssh cert` got.
# A host the block does not match gets no certificate and no request reaches the CA.
. "$(dirname "$0")/lib.sh"

GUIDE=$TESTS_DIR/../../docs/engineer.md
[ -f "$GUIDE" ] || fail "no engineer's guide at $GUIDE"

setup_ca_and_agent
start_sshd web prod-web-3 "$TEST_LOGIN"
start_sshd db db-1 "$TEST_LOGIN"
L=$TEST_LOGIN

# The first fenced block after the heading "### Plain `ssh` through `Match exec`".
awk '/^### Plain `ssh` through `Match exec`/ { s = 1; next }
	s == 1 && /^```/ { s = 2; next }
	s == 2 && /^```/ { exit }
	s == 2 { print }' "$GUIDE" >"$T/match-block"
check "the guide shows a Match exec block that runs jit-ssh cert" \
	grep -q '^Match host .* exec "jit-ssh cert %r@%n' "$T/match-block"

# `jit-ssh` on PATH, as after `install -m 0755 build/agent/jit-ssh ~/.local/bin/`.
mkdir -p "$T/bin"
ln -s "$JIT_SSH" "$T/bin/jit-ssh"

# The guide's block first ("above any other blocks for those hosts"), then how to reach the
# two test hosts; db-1 is not matched by the block.
D=${SSHD_DIR[web]}
{
	cat "$T/match-block"
	for name in web db; do
		[ "$name" = web ] && host=prod-web-3 || host=db-1
		cat <<-EOF

			Host $host
			    HostName 127.0.0.1
			    Port ${SSHD_PORT[$name]}
			    UserKnownHostsFile $T/known_hosts
			    GlobalKnownHostsFile /dev/null
			    StrictHostKeyChecking yes
			    BatchMode yes
			    ConnectTimeout 10
		EOF
		# known_hosts names a host by the name typed (and [127.0.0.1]:port)
		echo "$host $(cut -d' ' -f1,2 "${SSHD_DIR[$name]}/host_key.pub")" >>"$T/known_hosts"
		cat "${SSHD_DIR[$name]}/known_hosts" >>"$T/known_hosts"
	done
} >"$T/ssh_config"

# plain_ssh ARGS...: ssh -F the config, with jit-ssh's settings in the environment (the
# engineer's ~/.config/jit-ssh would hold them instead)
plain_ssh() {
	env -u JIT_SSH_CONFIG -u JIT_SSH_IDENTITY -u JIT_SSH_CA_BUNDLE \
		PATH="$T/bin:$PATH" SHELL=/bin/sh HOME="$T/home" XDG_RUNTIME_DIR="$T/run" \
		JIT_SSH_CA_URL="$CA_URL" JIT_SSH_PIN="$CA_PIN" JIT_SSH_USER=alice \
		ssh -F "$T/ssh_config" "$@"
}

plain_ssh "$L@prod-web-3" 'echo "match-exec login as $(id -un)"' >"$T/out" 2>"$T/err" ||
	fail "ssh -F (the guide's block) $L@prod-web-3 failed: $(cat "$T/err")"
check "plain ssh through the guide's Match exec block logs in and the output comes back" \
	grep -qx "match-exec login as $L" "$T/out"
CERT=$(cert_file "$L@prod-web-3")
check "jit-ssh cert, run by the block, left the certificate where the block looks" test -s "$CERT"
check "sshd accepted that certificate (key ID and serial)" \
	contains "$D/sshd.log" "^Accepted publickey for $L .*-CERT .* ID $(cert_field "$CERT" "Key ID") \(serial $(cert_field "$CERT" Serial)\)"
check "the CA issued it for prod-web-3" \
	contains "$T/ca.log" "result=issued user=alice host=prod-web-3 login=$L serial=$(cert_field "$CERT" Serial)\$"

# A host outside the block's patterns (its sshd trusts the same CA): no jit-ssh, no
# certificate for it, refused.
requests=$(count_matches "$T/ca.log" 'path=/v1/requests')
if plain_ssh "$L@db-1" 'echo should-not-run' >"$T/out2" 2>"$T/err2"; then
	fail "ssh to a host outside the block logged in"
fi
check "a host the block does not match is refused by sshd" grep -q "Permission denied" "$T/err2"
check "no request reached the CA for it" \
	test "$(count_matches "$T/ca.log" 'path=/v1/requests')" = "$requests"
check "no certificate was fetched for it" test ! -e "$(cert_file "$L@db-1")"
check "its sshd accepted no login" test "$(sshd_accepted db)" = 0
