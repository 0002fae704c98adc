# shellcheck shell=bash
# lib.sh - what the client's end-to-end scripts (pin.sh, explain.sh, errors.sh, ca_bundle.sh)
# share: a temporary directory, the real CA (jit-ssh-ca init + serve on an ephemeral
# loopback port, TLS), a real ssh-agent, and "ok N - what" reporting. Every process started
# here is stopped by its PID when the script exits, and the directory is removed.
# Environment (agent/tests/meson.build): JIT_SSH_CA, JIT_SSH (the built binaries).
set -euo pipefail
umask 022

T=$(mktemp -d /tmp/jit-ssh-client.XXXXXX)
PIDS=()
CHECKS=0
cleanup() {
	local rc=$? pid f
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	# A sanitizer build reports into stderr files, not always into the exit status.
	if [ "$rc" = 0 ] && grep -rlE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T" \
		>/dev/null 2>&1; then
		echo "FAIL: sanitizer reports under $T" >&2
		grep -rhE -A12 'Sanitizer|runtime error:' "$T" >&2 || true
		rc=1
	fi
	if [ "$rc" != 0 ]; then
		for f in "$T"/*.log "$T"/err*; do
			[ -s "$f" ] && { echo "----- $f" >&2; tail -n 20 "$f" >&2; }
		done
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
fail() { echo "not ok $((CHECKS + 1)) - $*" >&2; exit 1; }
ok() { CHECKS=$((CHECKS + 1)); echo "ok $CHECKS - $*"; }
for v in JIT_SSH_CA JIT_SSH; do
	[ -x "${!v:-}" ] || fail "$v must name the built binary (got '${!v:-}')"
done

# wait_for COMMAND...: poll COMMAND for up to 15 s
wait_for() {
	local i
	for ((i = 0; i < 150; i++)); do
		if "$@"; then return 0; fi
		sleep 0.1
	done
	fail "timed out waiting for: $*"
}

# new_key NAME: an Ed25519 key pair $T/NAME{,.pub}
new_key() { ssh-keygen -q -t ed25519 -N '' -C "$1" -f "$T/$1"; }
# key_of NAME: the public-key line of $T/NAME.pub without its comment
key_of() { cut -d' ' -f1,2 "$T/$1.pub"; }

# alice_policy: a new key $T/alice, and $T/policy.yaml letting alice be alice on test-*
alice_policy() {
	new_key alice
	cat >"$T/policy.yaml" <<POLICY
users:
  alice:
    keys: ["$(key_of alice)"]
rules:
  - name: alice-on-test
    users: [alice]
    hosts: ["test-*"]
    logins: [alice]
POLICY
}

# start_ca: init_ca, then serve_ca
start_ca() {
	init_ca
	serve_ca
}

# init_ca: jit-ssh-ca init, then $T/policy.yaml (written by the caller) as its policy; sets
# PIN (checked against what init printed)
init_ca() {
	"$JIT_SSH_CA" init --dir "$T/ca" >"$T/init.out" 2>"$T/init.log" || fail "jit-ssh-ca init"
	cp "$T/policy.yaml" "$T/ca/policy.yaml"
	PIN=$(pin_of "$T/ca/tls_cert.pem")
	grep -qF "$PIN" "$T/init.out" || fail "jit-ssh-ca init did not print the pin $PIN"
}

# serve_ca: jit-ssh-ca serve with $T/ca/config.yaml on an ephemeral loopback port; sets
# CA_PID and URL
serve_ca() {
	rm -f "$T/ca.port"
	"$JIT_SSH_CA" serve --config "$T/ca/config.yaml" --port 0 --port-file "$T/ca.port" \
		2>>"$T/ca.log" &
	CA_PID=$!
	PIDS+=("$CA_PID")
	wait_for test -s "$T/ca.port"
	URL="https://127.0.0.1:$(cat "$T/ca.port")"
}

# stop_ca: SIGTERM the CA started by serve_ca and wait for it to exit
stop_ca() {
	local p keep=()
	kill "$CA_PID"
	wait "$CA_PID" 2>/dev/null || true
	for p in "${PIDS[@]}"; do [ "$p" = "$CA_PID" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# pin_of CERT.pem: sha256//base64(SHA-256(DER SubjectPublicKeyInfo)), computed with openssl
pin_of() {
	echo "sha256//$(openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | base64 -w0)"
}

# start_agent KEY...: a fresh ssh-agent holding $T/KEY...; exports SSH_AUTH_SOCK
start_agent() {
	local k
	ssh-agent -D -a "$T/agent.sock" >"$T/agent.log" 2>&1 &
	PIDS+=("$!")
	wait_for test -S "$T/agent.sock"
	export SSH_AUTH_SOCK="$T/agent.sock"
	for k in "$@"; do ssh-add -q "$T/$k" 2>/dev/null; done
	mkdir -p -m 0700 "$T/run"
}

# jit COMMAND PIN ARGS...: jit-ssh COMMAND as alice against the CA, trusting PIN, with no
# configuration file or environment settings of the caller
jit() {
	env -u JIT_SSH_PIN -u JIT_SSH_CA_URL -u JIT_SSH_CONFIG -u JIT_SSH_USER \
		-u JIT_SSH_IDENTITY HOME="$T" XDG_RUNTIME_DIR="$T/run" \
		"$JIT_SSH" "$1" --ca "$URL" --pin "$2" --user alice "${@:3}"
}
