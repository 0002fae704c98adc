#!/bin/bash
# The errors a person can act on, made for real (docs/engineer.md, "Errors and what to do"):
# no ssh-agent (SSH_AUTH_SOCK unset, naming nothing, naming a stale socket), an agent with no
# key, an agent whose key is not enrolled, this computer's clock ahead of or behind the CA's
# (libfaketime moves only jit-ssh's clock), and the CA down (its port closed). Each time
# jit-ssh, as `jit-ssh cert HOST` and as `jit-ssh HOST COMMAND`, prints the one documented
# line on stderr, exits with the documented status, writes no certificate and runs no ssh.
# Output: "ok N - what" per check.
. "$(dirname "$0")/lib.sh"

command -v faketime >/dev/null || fail "faketime is needed (scripts/setup installs it)"

alice_policy
new_key stranger
start_ca
start_agent
# An ssh that only records that it was run: a failed jit-ssh must never start one.
cat >"$T/fake-ssh" <<EOF
#!/bin/sh
echo "\$@" >>"$T/ssh-ran"
EOF
chmod +x "$T/fake-ssh"

# try NAME [-u VAR | VAR=VALUE]... -- ARGS...: jit-ssh ARGS (run through the command in
# WRAP, if any) with no configuration of the caller, the fake ssh, and these changes to the
# environment; stdout in $T/NAME.out, stderr in $T/NAME.err, exit status in RC
WRAP=()
try() {
	local name=$1 unset=() set=()
	shift
	while [ "$1" != -- ]; do
		if [ "$1" = -u ]; then unset+=(-u "$2") && shift; else set+=("$1"); fi
		shift
	done
	shift
	RC=0
	env -u JIT_SSH_PIN -u JIT_SSH_CA_URL -u JIT_SSH_CONFIG -u JIT_SSH_USER \
		-u JIT_SSH_IDENTITY -u JIT_SSH_CA_BUNDLE "${unset[@]}" HOME="$T" \
		XDG_RUNTIME_DIR="$T/run" JIT_SSH_SSH="$T/fake-ssh" "${set[@]}" \
		"${WRAP[@]}" "$JIT_SSH" "$@" >"$T/$name.out" 2>"$T/$name.err" || RC=$?
}

# refused WHAT NAME STATUS -F|-E LINE: the run NAME exited STATUS with exactly one line on
# stderr, equal to LINE (-F) or matching the regex LINE (-E); nothing on stdout, no
# certificate written, no ssh run
refused() {
	local what=$1 name=$2 status=$3 how=$4 line=$5
	[ "$RC" = "$status" ] || fail "$what: exit status $RC, not $status: $(cat "$T/$name.err")"
	ok "$what: exit status $status"
	[ "$(wc -l <"$T/$name.err")" = 1 ] || fail "$what: stderr is not one line: $(cat "$T/$name.err")"
	grep -qx "$how" -- "$line" "$T/$name.err" ||
		fail "$what: not the documented line: $(cat "$T/$name.err")"
	ok "$what: the documented line"
	[ ! -s "$T/$name.out" ] || fail "$what: printed on stdout: $(cat "$T/$name.out")"
	[ -z "$(find "$T/run" -name '*-cert.pub' 2>/dev/null)" ] ||
		fail "$what: a certificate was written: $(find "$T/run" -name '*-cert.pub')"
	[ ! -e "$T/ssh-ran" ] || fail "$what: ssh was run: $(cat "$T/ssh-ran")"
	ok "$what: nothing on stdout, no certificate, no ssh"
}

# both WHAT STATUS -F|-E LINE [ENV...]: refused, both as `jit-ssh cert test-1` and as
# `jit-ssh alice@test-1 true`
both() {
	local what=$1 status=$2 how=$3 line=$4
	shift 4
	try cert "$@" -- cert --ca "$URL" --pin "$PIN" --user alice test-1
	refused "$what (jit-ssh cert)" cert "$status" "$how" "$line"
	try login "$@" -- --ca "$URL" --pin "$PIN" --user alice alice@test-1 true
	refused "$what (jit-ssh HOST COMMAND)" login "$status" "$how" "$line"
}

# api_requests: how many requests the CA's API has logged so far
api_requests() { grep -c 'path=/v1/' "$T/ca.log" || true; }

START='Start one with `eval $(ssh-agent)` and add your enrolled key with `ssh-add`.'

# ---- the agent (exit 4): nothing is sent to the CA ------------------------------------------
BEFORE=$(api_requests)
both "SSH_AUTH_SOCK not set" 4 -F \
	"jit-ssh: no ssh-agent: SSH_AUTH_SOCK is not set. $START" -u SSH_AUTH_SOCK
both "SSH_AUTH_SOCK empty" 4 -F \
	"jit-ssh: no ssh-agent: SSH_AUTH_SOCK is not set. $START" SSH_AUTH_SOCK=
both "SSH_AUTH_SOCK naming nothing" 4 -F \
	"jit-ssh: cannot connect to ssh-agent at $T/no-agent.sock: No such file or directory. $START" \
	SSH_AUTH_SOCK="$T/no-agent.sock"
# A stale socket: an agent that died without removing it (bound, closed, left behind).
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.close()' "$T/stale.sock"
both "SSH_AUTH_SOCK naming a stale socket" 4 -F \
	"jit-ssh: cannot connect to ssh-agent at $T/stale.sock: Connection refused. $START" \
	SSH_AUTH_SOCK="$T/stale.sock"
both "an agent that holds no key" 4 -F \
	'jit-ssh: your ssh-agent holds no usable key: add your enrolled key with `ssh-add` (Ed25519, ECDSA P-256/P-384 or RSA of 2048 bits or more)'
[ "$(api_requests)" = "$BEFORE" ] || fail "a request reached the CA without a usable agent"
ok "no request reached the CA without a usable agent key"

# ---- a key the CA does not know (exit 5) -----------------------------------------------------
ssh-add -q "$T/stranger" 2>/dev/null
FP=$(ssh-keygen -l -E sha256 -f "$T/stranger.pub" | cut -d' ' -f2)
both "an agent whose key is not enrolled" 5 -F \
	"jit-ssh: none of the keys tried from your ssh-agent is enrolled for user 'alice' at the CA (tried $FP). Send your public key (\`ssh-add -L\`) to whoever runs the jit-ssh policy."
grep -q 'status=401 result=unknown_user_or_key claimed_user=alice$' "$T/ca.log" ||
	fail "the CA did not log the unknown key: $(tail -n 3 "$T/ca.log")"
ok "the CA refused the unknown key (401 unknown_user_or_key)"

# ---- this computer's clock (exit 5) ----------------------------------------------------------
# Only jit-ssh's clock moves (libfaketime); the CA keeps the real one. A sanitizer build's
# runtime must then accept a library loaded before it.
ssh-add -q -D 2>/dev/null
ssh-add -q "$T/alice" 2>/dev/null
ASAN_FT="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
# clock_line AHEAD|BEHIND: the documented clock line; the CA's words in the parentheses
clock_line() {
	echo "jit-ssh: the CA says this computer's clock is wrong \\(timestamp ([0-9]+) is ([0-9]+) seconds $1 the CA's clock \\(([0-9]+)\\); at most 120 seconds are allowed\\)\\. Fix your clock \\(e\\.g\\. \`timedatectl set-ntp true\`\\) and try again\\."
}
# gap_is NAME OFFSET: the message of run NAME gives timestamp, gap and CA clock that agree,
# and a gap within 5 s of OFFSET (jit-ssh's clock is OFFSET seconds off)
gap_is() {
	sed -E "s/^.*timestamp ([0-9]+) is ([0-9]+) seconds .* clock \\(([0-9]+)\\);.*$/\\1 \\2 \\3/" \
		"$T/$1.err" | {
		read -r ts gap now
		d=$((ts > now ? ts - now : now - ts))
		[ "$d" = "$gap" ] && [ "$gap" -le "$2" ] && [ "$gap" -ge $(($2 - 5)) ]
	}
}
for skew in +10m:ahead\ of:600 -10m:behind:600; do
	IFS=: read -r offset words secs <<<"$skew"
	WRAP=(faketime -f "$offset")
	try "clock$offset" "$ASAN_FT" -- cert --ca "$URL" --pin "$PIN" --user alice test-1
	WRAP=()
	refused "a clock $secs s $words the CA's" "clock$offset" 5 -E "$(clock_line "$words")"
	gap_is "clock$offset" "$secs" || fail "the clock message's numbers are off: $(cat "$T/clock$offset.err")"
	ok "a clock $secs s $words the CA's: the message gives the CA's clock and the gap"
done
grep -q 'status=401 result=clock_skew claimed_user=alice$' "$T/ca.log" ||
	fail "the CA did not log the clock skew: $(tail -n 3 "$T/ca.log")"
ok "the CA refused the timestamps (401 clock_skew)"

# The control: with the right clock and key, the same command gets a certificate.
try good -- cert --ca "$URL" --pin "$PIN" --user alice test-1
[ "$RC" = 0 ] || fail "jit-ssh cert with the enrolled key failed ($RC): $(cat "$T/good.err")"
ok "with the enrolled key and the right clock jit-ssh gets a certificate"
rm -rf "$T/run/jit-ssh"

# ---- the CA is down (exit 3) -----------------------------------------------------------------
stop_ca
PORT=${URL##*:}
both "the CA's port closed" 3 -E \
	"jit-ssh: cannot reach the CA at $URL: Failed to connect to 127\\.0\\.0\\.1 port $PORT( after [0-9]+ ms)?: .+"
echo "1..$CHECKS"
