# shellcheck shell=bash
# lib.sh - the shared harness of the jit-ssh end-to-end tests. Each tests/integration/*.sh
# sources it, then starts what it needs: the real CA (jit-ssh-ca serve, TLS on an ephemeral
# loopback port), real OpenSSH sshd's configured by jit-ssh-hostcfg, a real ssh-agent. Every
# process it starts is stopped, by its PID, when the script exits; the temporary directory
# is removed unless KEEP_TMP=1.
#
# Environment (set by tests/meson.build): JIT_SSH_CA, JIT_SSH, JIT_SSH_HOSTCFG, LIBSSH_LOGIN
# (built binaries), TESTS_DIR (this directory).
#
# Output: "ok N - what" per check on stdout; on a failure, what failed and the tails of the
# logs on stderr, and exit status 1. Exit 77 (skip) only when sshd cannot run here at all.

set -euo pipefail
umask 022

SSHD=/usr/sbin/sshd
: "${TESTS_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"

T=$(mktemp -d /tmp/jit-ssh-it.XXXXXX)
# Readable by everyone: sshd's AuthorizedPrincipalsCommandUser (nobody) reads files below.
chmod 0755 "$T"
mkdir -p "$T/keys" "$T/home" "$T/run"
chmod 0700 "$T/run"

PIDS=()
CHECKS=0
# Commands run at exit after the processes are stopped (e.g. "umount DIR"), one per entry.
AT_EXIT=()

cleanup() {
	local rc=$? pid cmd
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	for cmd in "${AT_EXIT[@]}"; do
		eval "$cmd" || true
	done
	# A sanitizer build reports into the logs and stderr files, not always the exit status.
	if [ "$rc" = 0 ] && grep -rlE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T" \
		>"$T/.sanitizer" 2>/dev/null; then
		echo "FAIL: sanitizer reports in: $(cat "$T/.sanitizer")" >&2
		xargs grep -hE -A12 'Sanitizer|runtime error:' <"$T/.sanitizer" >&2 || true
		rc=1
	fi
	if [ "${KEEP_TMP:-0}" = 1 ] || { [ "$rc" != 0 ] && [ "${KEEP_TMP_ON_FAIL:-0}" = 1 ]; }; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
# Stopped by a test harness timeout: clean up all the same.
trap 'exit 143' TERM INT

show_logs() {
	local f
	for f in "$T"/*.log "$T"/sshd-*/sshd.log; do
		[ -s "$f" ] || continue
		echo "----- last lines of $f" >&2
		tail -n 25 "$f" >&2
	done
}

trap 'echo "FAIL: command failed at ${BASH_SOURCE[0]}:$LINENO: $BASH_COMMAND" >&2; show_logs' ERR

fail() {
	echo "not ok $((CHECKS + 1)) - $*" >&2
	show_logs
	exit 1
}

# ok DESCRIPTION: record a passed check.
ok() {
	CHECKS=$((CHECKS + 1))
	echo "ok $CHECKS - $*"
}

# check DESCRIPTION COMMAND...: run COMMAND; pass if it succeeds.
check() {
	local what=$1
	shift
	if "$@" >/dev/null; then ok "$what"; else fail "$what (command: $*)"; fi
}

# jcheck DESCRIPTION FILE FILTER [JQ-OPTIONS...]: pass if `jq -e OPTIONS FILTER FILE` is
# true; on failure show the start of FILE
jcheck() {
	local what=$1 file=$2 filter=$3
	shift 3
	if jq -e "$@" "$filter" "$file" >/dev/null 2>"$T/.jq.err"; then
		ok "$what"
	else
		fail "$what: jq '$filter' is not true of $file: $(head -c 800 "$file"; cat "$T/.jq.err")"
	fi
}

skip_all() {
	echo "SKIP: $*" >&2
	trap - ERR
	exit 77
}

# contains FILE REGEX (grep -E)
contains() { grep -Eq -- "$2" "$1"; }
count_matches() { grep -Ec -- "$2" "$1" || true; }

# wait_for WHAT PID COMMAND...: poll COMMAND (up to 15 s) while PID lives.
wait_for() {
	local what=$1 pid=$2 i
	shift 2
	for ((i = 0; i < 150; i++)); do
		if "$@"; then return 0; fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			fail "$what: process $pid exited"
		fi
		sleep 0.1
	done
	fail "$what: timed out"
}

for v in JIT_SSH_CA JIT_SSH JIT_SSH_HOSTCFG; do
	[ -x "${!v:-}" ] || fail "$v must name the built binary (got '${!v:-}')"
done
command -v jq >/dev/null || fail "jq is needed by the integration tests"

# The account the test certificates log in to. As root: root. Otherwise sshd runs as this
# user and only this user can log in.
if [ "$(id -u)" = 0 ]; then TEST_LOGIN=root; else TEST_LOGIN=$(id -un); fi

require_sshd() {
	[ -x "$SSHD" ] || skip_all "$SSHD not installed"
	command -v ssh >/dev/null || skip_all "ssh not installed"
	if [ "$(id -u)" = 0 ] && ! mkdir -p -m 0755 /run/sshd; then
		skip_all "cannot create sshd's privilege separation directory /run/sshd"
	fi
}

# ---- keys and the agent ----------------------------------------------------------------

# new_key NAME: an Ed25519 key pair at $T/keys/NAME{,.pub}
new_key() {
	ssh-keygen -q -t ed25519 -N '' -C "$1@jit-ssh-test" -f "$T/keys/$1"
}

start_agent() {
	ssh-agent -D -a "$T/agent.sock" >"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
	wait_for "ssh-agent" "$AGENT_PID" test -S "$T/agent.sock"
	export SSH_AUTH_SOCK="$T/agent.sock"
}

# agent_certs: the certificate lines the agent holds (type and base64 only)
agent_certs() {
	{ ssh-add -L 2>/dev/null || true; } | awk '$1 ~ /-cert-v01@openssh.com$/ { print $1, $2 }'
}

# private_key_traces MARKER PUBFILE... -- DIR...: list the files under the DIRs, modified
# since MARKER was, that hold the private half of an Ed25519 key whose public key is in a
# PUBFILE, in the form any OpenSSH serialisation of it takes (private-key file, agent
# message): string(64) = seed || public key — raw, or inside base64 (a PEM block, a JSON
# string). A certificate or public key holds only string(32) = public key and does not match.
# Prints nothing when there are none. Files over 64 MiB and unreadable files are passed over.
private_key_traces() {
	python3 - "$@" <<'PY'
import base64, os, re, stat, sys

args = sys.argv[1:]
marker = os.stat(args[0]).st_mtime_ns
sep = args.index("--")
pubs, dirs = args[1:sep], args[sep + 1:]
pats = []
for p in pubs:
    blob = base64.b64decode(open(p).read().split()[1])
    pats.append(re.compile(rb"\x00\x00\x00\x40.{32}" + re.escape(blob[-32:]), re.S))
b64run = re.compile(rb"[A-Za-z0-9+/=\r\n]{80,}")

def holds(data):
    if any(p.search(data) for p in pats):
        return True
    for m in b64run.finditer(data):
        t = re.sub(rb"\s", b"", m.group())
        for piece in t.split(b"="):
            for off in range(4):
                u = piece[off:]
                try:
                    raw = base64.b64decode(u[: len(u) - len(u) % 4])
                except ValueError:
                    continue
                if any(p.search(raw) for p in pats):
                    return True
    return False

seen = set()
for d in dirs:
    for root, subdirs, files in os.walk(d, onerror=lambda e: None):
        for f in files:
            path = os.path.join(root, f)
            try:
                st = os.lstat(path)
                if (not stat.S_ISREG(st.st_mode) or st.st_mtime_ns < marker
                        or st.st_size > (64 << 20) or (st.st_dev, st.st_ino) in seen):
                    continue
                seen.add((st.st_dev, st.st_ino))
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if holds(data):
                print(path)
PY
}

# ---- the CA ----------------------------------------------------------------------------

# tls_pin CERT.pem: sha256//base64(SHA-256(DER SubjectPublicKeyInfo)), computed with openssl
tls_pin() {
	echo "sha256//$(openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | base64 -w0)"
}

# write_policy: the test policy with the generated keys of alice and bob
write_policy() {
	sed -e "s|@ALICE_KEY@|$(cut -d' ' -f1,2 "$T/keys/alice.pub")|" \
		-e "s|@BOB_KEY@|$(cut -d' ' -f1,2 "$T/keys/bob.pub")|" \
		-e "s|@LOGIN@|$TEST_LOGIN|g" \
		"$TESTS_DIR/policy.yaml" >"$T/ca/policy.yaml"
}

# init_ca: jit-ssh-ca init, then the test policy (needs the keys of alice and bob)
init_ca() {
	"$JIT_SSH_CA" init --dir "$T/ca" >"$T/ca-init.out" 2>"$T/ca-init.log" ||
		fail "jit-ssh-ca init failed"
	write_policy
	"$JIT_SSH_CA" policy check "$T/ca/policy.yaml" >"$T/policy-check.log" 2>&1 ||
		fail "the test policy does not load: $(cat "$T/policy-check.log")"
	CA_PIN=$(tls_pin "$T/ca/tls_cert.pem")
	grep -qF "$CA_PIN" "$T/ca-init.out" ||
		fail "jit-ssh-ca init did not print the TLS pin $CA_PIN: $(cat "$T/ca-init.out")"
	CA_PUB="$T/ca/ca_key.pub"
}

# serve_ca [ARGS...]: start jit-ssh-ca serve with the test config and ARGS (e.g.
# --plain-http); on an ephemeral port unless CA_FIXED_PORT=1 (then on the config's port, see
# set_config). Sets CA_PID, CA_PORT, CA_URL.
serve_ca() {
	local port=(--port 0) scheme=https a
	[ -z "${CA_FIXED_PORT:-}" ] || port=()
	for a in "$@"; do [ "$a" != --plain-http ] || scheme=http; done
	if grep -qx 'plain_http: true' "$T/ca/config.yaml"; then scheme=http; fi
	rm -f "$T/ca.port"
	"$JIT_SSH_CA" serve --config "$T/ca/config.yaml" "${port[@]}" --port-file "$T/ca.port" \
		"$@" 2>>"$T/ca.log" &
	CA_PID=$!
	PIDS+=("$CA_PID")
	wait_for "jit-ssh-ca serve" "$CA_PID" test -s "$T/ca.port"
	CA_PORT=$(cat "$T/ca.port")
	CA_URL="$scheme://127.0.0.1:$CA_PORT"
}

# stop_ca: SIGTERM the CA and wait for it (it is then no longer in PIDS)
stop_ca() {
	kill "$CA_PID"
	wait "$CA_PID" 2>/dev/null || true
	forget_pid "$CA_PID"
}

# forget_pid PID: drop a process that has been waited for from PIDS
forget_pid() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# set_config KEY VALUE: set KEY in the CA's config.yaml (replaced, or added at the end)
set_config() {
	local f="$T/ca/config.yaml"
	if grep -q "^$1:" "$f"; then
		sed -i "s|^$1:.*|$1: $2|" "$f"
	else
		echo "$1: $2" >>"$f"
	fi
}

# ca_curl ARGS...: curl to the CA, pinned when it speaks TLS
ca_curl() {
	local tls=()
	case $CA_URL in
	https:*) tls=(--cacert "$T/ca/tls_cert.pem" --pinnedpubkey "$CA_PIN") ;;
	esac
	curl -sS --max-time 30 "${tls[@]}" "$@"
}

# ca_get PATH OUT: GET from the CA; prints the HTTP status
ca_get() {
	ca_curl -o "$2" -w '%{http_code}' "$CA_URL$1"
}

# health OUT: GET /healthz into OUT; fails unless it answers 200
health() {
	local status
	status=$(ca_get /healthz "$1") || fail "GET /healthz failed"
	[ "$status" = 200 ] || fail "GET /healthz answered $status: $(head -c 300 "$1")"
}

# ca_cmd ARGS...: jit-ssh-ca ARGS --config (the test config)
ca_cmd() {
	"$JIT_SSH_CA" "$@" --config "$T/ca/config.yaml"
}

# ledger_json [CONFIG]: every ledger record as one JSON array (`ledger list --json`, which
# may print an array or one object a line)
ledger_json() {
	"$JIT_SSH_CA" ledger list --json --config "${1:-$T/ca/config.yaml}" 2>>"$T/ledger.log" |
		jq -s 'if length == 1 and (.[0] | type) == "array" then .[0] else . end'
}

# ledger_serials: every certificate serial in the ledger, one a line, in ledger order
ledger_serials() {
	"$JIT_SSH_CA" ledger list --json --config "$T/ca/config.yaml" 2>>"$T/ledger.log" |
		jq -r '(if type == "array" then .[] else . end) | .. | objects |
			select(has("serial") and (.serial | type) == "number" and .serial > 0) |
			.serial' | awk '!seen[$0]++'
}

# fingerprint PUBFILE: the SHA256 fingerprint ssh-keygen prints for a key
fingerprint() { ssh-keygen -l -E sha256 -f "$1" | awk '{ print $2 }'; }

# ---- sshd ------------------------------------------------------------------------------

declare -A SSHD_PORT SSHD_DIR

free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 40000))
		ss -Htln "sport = :$port" 2>/dev/null | grep -q . || break
	done
	echo "$port"
}

# start_sshd NAME HOST [--principals-command] LOGIN...: a real sshd for host name HOST,
# configured by jit-ssh-hostcfg install, on 127.0.0.1:SSHD_PORT[NAME], log in
# SSHD_DIR[NAME]/sshd.log, known_hosts in SSHD_DIR[NAME]/known_hosts
start_sshd() {
	local name=$1 host=$2 d="$T/sshd-$1" pid port attempt extra=() args=()
	shift 2
	local hostcfg=$JIT_SSH_HOSTCFG
	if [ "${1:-}" = --principals-command ]; then
		extra=(--principals-command)
		shift
		# sshd runs an AuthorizedPrincipalsCommand only from a path whose every
		# directory is root-owned and not group/world-writable; a checkout under
		# /tmp is not, so run a copy from a private directory under /run.
		local safe
		safe=$(mktemp -d /run/jit-ssh-it.XXXXXX)
		chmod 0755 "$safe"
		AT_EXIT+=("rm -rf '$safe'")
		cp "$JIT_SSH_HOSTCFG" "$safe/jit-ssh-hostcfg"
		hostcfg=$safe/jit-ssh-hostcfg
	fi
	for l in "$@"; do args+=(--login "$l"); done
	mkdir -p "$d"
	ssh-keygen -q -t ed25519 -N '' -C "$host" -f "$d/host_key"
	"$hostcfg" install --ca-key "$CA_PUB" --host "$host" "${args[@]}" \
		--etc "$d/etc" "${extra[@]}" >"$d/hostcfg.out" 2>&1 ||
		fail "jit-ssh-hostcfg install: $(cat "$d/hostcfg.out")"
	cat >"$d/sshd_config" <<-EOF
		Include $d/etc/sshd_config.d/jit-ssh.conf
		HostKey $d/host_key
		PidFile $d/sshd.pid
		ListenAddress 127.0.0.1
		UsePAM no
		StrictModes no
		AuthorizedKeysFile none
		PasswordAuthentication no
		KbdInteractiveAuthentication no
	EOF
	for ((attempt = 0; attempt < 10; attempt++)); do
		port=$(free_port)
		: >"$d/sshd.log"
		"$SSHD" -D -e -f "$d/sshd_config" -p "$port" 2>>"$d/sshd.log" &
		pid=$!
		while kill -0 "$pid" 2>/dev/null &&
			! contains "$d/sshd.log" "Server listening on 127.0.0.1 port $port"; do
			sleep 0.05
		done
		if kill -0 "$pid" 2>/dev/null; then
			PIDS+=("$pid")
			SSHD_PORT[$name]=$port
			SSHD_DIR[$name]=$d
			echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$d/host_key.pub")" >"$d/known_hosts"
			return 0
		fi
		wait "$pid" 2>/dev/null || true
		contains "$d/sshd.log" "Address already in use" || break
	done
	fail "sshd $name did not start: $(tail -n 5 "$d/sshd.log")"
}

# sshd_accepted NAME: how many certificate logins sshd NAME has accepted so far
sshd_accepted() {
	count_matches "${SSHD_DIR[$1]}/sshd.log" '^Accepted publickey for .* ssh2: [A-Z0-9]+-CERT '
}

# ssh_opts NAME: ssh options that reach sshd NAME (the host name stays what was asked for)
ssh_opts() {
	local d=${SSHD_DIR[$1]}
	printf '%s\n' -F /dev/null -p "${SSHD_PORT[$1]}" -o HostName=127.0.0.1 \
		-o "UserKnownHostsFile=$d/known_hosts" -o GlobalKnownHostsFile=/dev/null \
		-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10
}

# ---- the engineer's command ------------------------------------------------------------

# jit_ssh SSHD_NAME ARGS...: jit-ssh as alice (JIT_USER), against the test CA, with ssh
# options that reach sshd SSHD_NAME
jit_ssh() {
	local name=$1 opts
	shift
	mapfile -t opts < <(ssh_opts "$name")
	HOME="$T/home" XDG_RUNTIME_DIR="$T/run" JIT_SSH_SSH="$(command -v ssh)" \
		"$JIT_SSH" --ca "$CA_URL" --pin "$CA_PIN" --user "${JIT_USER:-alice}" \
		"${opts[@]}" "$@"
}

# jit_cert ARGS...: jit-ssh cert as alice (JIT_USER)
jit_cert() {
	HOME="$T/home" XDG_RUNTIME_DIR="$T/run" \
		"$JIT_SSH" cert --ca "$CA_URL" --pin "$CA_PIN" --user "${JIT_USER:-alice}" "$@"
}

# Where jit-ssh leaves the public key and certificate of LOGIN@HOST.
cert_file() { echo "$T/run/jit-ssh/$1-cert.pub"; }
pub_file() { echo "$T/run/jit-ssh/$1.pub"; }

# cert_field CERTFILE FIELD: a field of `ssh-keygen -L` ("Key ID", "Serial", "Valid", ...)
cert_field() {
	ssh-keygen -L -f "$1" | sed -n "s/^ *$2: //p" | sed 's/^"\(.*\)"$/\1/'
}
cert_principals() {
	ssh-keygen -L -f "$1" | awk '/^ *Principals:/ { p = 1; next } p && /^ *[A-Z][A-Za-z ]*:/ { p = 0 }
		p { gsub(/^ +/, ""); print }'
}

# ---- requests made by hand: curl + ssh-keygen -Y sign (the documented by-hand flow) -----

new_nonce() { openssl rand -hex 16; }

# hand_body USER HOST LOGIN PUBFILE [TTL [TIMESTAMP [NONCE]]]: a request body (one line);
# its reason is HAND_REASON, default "integration test"
hand_body() {
	jq -cn --arg user "$1" --arg host "$2" --arg login "$3" --arg pk "$(cat "$4")" \
		--argjson ttl "${5:-0}" --argjson ts "${6:-$(date +%s)}" \
		--arg nonce "${7:-$(new_nonce)}" --arg reason "${HAND_REASON:-integration test}" \
		'{user: $user, host: $host, login: $login, public_key: $pk, ttl_seconds: $ttl,
		  reason: $reason, timestamp: $ts, nonce: $nonce}'
}

# hand_sign KEY BODYFILE [NAMESPACE]: the base64 SSHSIG over the file, armour removed
hand_sign() {
	rm -f "$2.sig"
	ssh-keygen -q -Y sign -n "${3:-jit-ssh-request}" -f "$1" "$2" 2>/dev/null
	sed -e '/^-----/d' "$2.sig" | tr -d '\n'
}

# hand_post BODYFILE AUTH OUT [CONTENT_TYPE [CURL-ARGS...]]: POST /v1/requests (or the path
# in HAND_PATH); prints the HTTP status
hand_post() {
	local auth=() body=$1 out=$3 type=${4:-application/json}
	[ -z "$2" ] || auth=(-H "Authorization: $2")
	shift $(($# < 4 ? $# : 4))
	ca_curl -o "$out" -w '%{http_code}' -H "Content-Type: $type" "${auth[@]}" "$@" \
		--data-binary "@$body" "$CA_URL${HAND_PATH:-/v1/requests}"
}

# hand_request KEY BODYFILE OUT: sign with KEY and POST; prints the HTTP status
hand_request() {
	hand_post "$2" "SSHSIG $(hand_sign "$1" "$2")" "$3"
}

# hand_cert NAME USER HOST LOGIN [TTL]: a certificate for $T/keys/NAME.pub (which must
# exist) requested and signed by USER's enrolled key $T/keys/USER; writes
# $T/keys/NAME-cert.pub and $T/NAME.json
hand_cert() {
	local status
	hand_body "$2" "$3" "$4" "$T/keys/$1.pub" "${5:-0}" >"$T/$1.body"
	status=$(hand_request "$T/keys/$2" "$T/$1.body" "$T/$1.json")
	[ "$status" = 201 ] || fail "request for $1 answered $status: $(cat "$T/$1.json")"
	jq -r .certificate "$T/$1.json" >"$T/keys/$1-cert.pub"
}

# fast_request KEY USER HOST LOGIN PUBFILE OUT: one request signed with KEY and POSTed, made
# without jq or openssl (for loops of many); answer in OUT; prints the HTTP status, "000"
# when the CA did not answer. Nonce: the shell's PID, the time in microseconds, a random.
fast_request() {
	local ts nonce sig sl status
	printf -v ts '%(%s)T' -1
	nonce="fast-$BASHPID-${EPOCHREALTIME/./}-$RANDOM"
	printf '{"user":"%s","host":"%s","login":"%s","public_key":"%s","ttl_seconds":0,"reason":"%s","timestamp":%s,"nonce":"%s"}' \
		"$2" "$3" "$4" "$(<"$5")" "${HAND_REASON:-integration test}" "$ts" "$nonce" \
		>"$6.body"
	rm -f "$6.body.sig"
	ssh-keygen -q -Y sign -n jit-ssh-request -f "$1" "$6.body" 2>/dev/null
	mapfile -t sl <"$6.body.sig"
	sig=$(IFS= && echo "${sl[*]:1:${#sl[@]}-2}")
	status=$(ca_curl -o "$6" -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "Authorization: SSHSIG $sig" --data-binary "@$6.body" "$CA_URL/v1/requests" \
		2>/dev/null) || status=000
	echo "$status"
}

# ---- the usual start -------------------------------------------------------------------

# setup_ca_and_agent: sshd usable, keys of alice and bob, an agent holding alice's enrolled
# key, the CA initialised with the test policy and serving
setup_ca_and_agent() {
	require_sshd
	new_key alice
	new_key bob
	start_agent
	ssh-add -q "$T/keys/alice" 2>/dev/null
	init_ca
	serve_ca
}
