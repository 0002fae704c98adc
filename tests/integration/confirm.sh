#!/bin/bash
# jit-ssh --confirm: the fresh key and its certificate go into the real ssh-agent with the
# confirm constraint, so the agent asks its SSH_ASKPASS program before each use. A refused
# confirmation fails the ssh login (and a use of either identity), an approved one lets it
# through; without --confirm the program is never asked. `jit-ssh cert` honours the setting
# from the configuration file and the environment.
. "$(dirname "$0")/lib.sh"

# The agent's confirmation program (as in subprojects/sshcore/tests/test_agentc.c, forced so
# that no display is needed). Each call appends its prompt, on one line, to $T/askpass.calls;
# it approves (exit 0, no output) when $T/askpass.answer says "yes", else refuses (exit 1).
cat >"$T/askpass" <<EOF
#!/bin/sh
printf '%s|%s\n' "\${SSH_ASKPASS_PROMPT:-}" "\$(printf '%s' "\$*" | tr '\n' ' ')" \
	>>"$T/askpass.calls"
[ "\$(cat "$T/askpass.answer")" = yes ]
EOF
chmod 0755 "$T/askpass"
echo no >"$T/askpass.answer"
: >"$T/askpass.calls"
answer() { echo "$1" >"$T/askpass.answer"; }
calls() { wc -l <"$T/askpass.calls"; }

# setup_ca_and_agent, with the askpass in the agent's environment only (not in jit-ssh's or
# ssh's, so each call is the agent's).
require_sshd
new_key alice
new_key bob
SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force start_agent
ssh-add -q "$T/keys/alice" 2>/dev/null
init_ca
serve_ca
start_sshd web prod-web-3 "$TEST_LOGIN"
L=$TEST_LOGIN
PUB=$(pub_file "$L@prod-web-3")
CERT=$(cert_file "$L@prod-web-3")

# ---- --confirm, refused ------------------------------------------------------------------
rc=0
jit_ssh web --confirm "$L@prod-web-3" 'echo refused-but-in' >"$T/out" 2>"$T/err" || rc=$?
check "with --confirm and a refusing askpass, ssh's login fails (exit 255)" test "$rc" = 255
check "... nothing ran on the host" test ! -s "$T/out"
check "... sshd accepted no login" test "$(sshd_accepted web)" = 0
check "... because the agent refused to sign (ssh signs with the certificate's plain key)" \
	contains "$T/err" "^sign_and_send_pubkey: signing failed for .*: agent refused operation"
check "... after asking its askpass" test "$(calls)" -ge 1
FP=$(fingerprint "$PUB")
SERIAL=$(cert_field "$CERT" "Serial")
check "... about the fresh key (its comment and fingerprint in the prompt)" \
	grep -qxF "confirm|Allow use of key jit-ssh $L@prod-web-3 serial $SERIAL? Key fingerprint $FP." \
	"$T/askpass.calls"
check "... and the summary says each use is confirmed" \
	contains "$T/err" "^jit-ssh: certificate serial $SERIAL for $L@prod-web-3, valid until .* UTC, confirm each use$"

# Each identity, on its own: ssh-add -T asks the agent to sign with exactly that one.
n=$(calls)
check "the certificate identity is constrained: ssh-add -T fails when refused" \
	bash -c "! ssh-add -T '$CERT' 2>/dev/null"
check "... and asked the askpass" test "$(calls)" = $((n + 1))
check "the plain key identity is constrained too" bash -c "! ssh-add -T '$PUB' 2>/dev/null"
check "... and asked the askpass" test "$(calls)" = $((n + 2))

# ---- --confirm, approved -----------------------------------------------------------------
answer yes
n=$(calls)
jit_ssh web --confirm "$L@prod-web-3" 'echo approved-and-in' >"$T/out" 2>"$T/err" ||
	fail "jit-ssh --confirm with an approving askpass failed: $(cat "$T/err")"
check "with --confirm and an approving askpass, the login works" \
	grep -qx approved-and-in "$T/out"
check "... sshd accepted the certificate" test "$(sshd_accepted web)" = 1
check "... after the askpass was asked" test "$(calls)" -gt "$n"

# ---- without --confirm -------------------------------------------------------------------
answer no
: >"$T/askpass.calls"
jit_ssh web "$L@prod-web-3" 'echo plain-in' >"$T/out" 2>"$T/err" ||
	fail "jit-ssh without --confirm failed (a refusing askpass must not matter): $(cat "$T/err")"
check "without --confirm the login works although the askpass would refuse" \
	grep -qx plain-in "$T/out"
check "... the summary does not mention confirmation" \
	bash -c "! grep -q 'confirm' '$T/err'"
check "... both identities sign without asking" \
	bash -c "ssh-add -T '$CERT' && ssh-add -T '$PUB'"
check "... the askpass was never called" test "$(calls)" = 0

# ---- jit-ssh cert: config file and environment ---------------------------------------------
mkdir -p "$T/home/.config/jit-ssh"
echo "confirm: true" >"$T/home/.config/jit-ssh/config.yaml"
jit_cert "$L@prod-web-3" >"$T/cert.out" 2>&1 || fail "jit-ssh cert: $(cat "$T/cert.out")"
check "jit-ssh cert with 'confirm: true' in the config file says so in its summary" \
	contains "$T/cert.out" "^valid until .* UTC \([0-9]+ minutes\), confirm each use$"
check "... and the identities it added ask before each use" \
	bash -c "! ssh-add -T '$CERT' 2>/dev/null && ! ssh-add -T '$PUB' 2>/dev/null"
check "... the askpass was asked twice" test "$(calls)" = 2

JIT_SSH_CONFIRM=0 jit_cert "$L@prod-web-3" >"$T/cert.out" 2>&1 ||
	fail "jit-ssh cert: $(cat "$T/cert.out")"
check "JIT_SSH_CONFIRM=0 wins over the file: no confirmation in the summary" \
	bash -c "! grep -q confirm '$T/cert.out'"
check "... and the identities sign without asking" \
	bash -c "ssh-add -T '$CERT' && ssh-add -T '$PUB'"
check "... the askpass was not called again" test "$(calls)" = 2
