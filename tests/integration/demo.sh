#!/bin/bash
# scripts/demo, the README's first command, runs to the end on the binaries of this build
# (JIT_SSH_DEMO_BUILDDIR, JIT_SSH_DEMO_NO_BUILD=1: it builds nothing): the login's output
# comes back, sshd logs the certificate, the ledger lists it and verifies, and the demo
# removes its temporary directory.
. "$(dirname "$0")/lib.sh"

require_sshd
DEMO=$TESTS_DIR/../../scripts/demo
[ -f "$DEMO" ] || fail "no scripts/demo at $DEMO"
[ -n "${JIT_SSH_DEMO_BUILDDIR:-}" ] || fail "JIT_SSH_DEMO_BUILDDIR must name the build directory"

rc=0
JIT_SSH_DEMO_NO_BUILD=1 bash "$DEMO" >"$T/demo.out" 2>"$T/demo.err" </dev/null || rc=$?
[ "$rc" = 0 ] || fail "scripts/demo exited $rc: $(tail -n 30 "$T/demo.out" "$T/demo.err")"
ok "scripts/demo exits 0"
check "the demo's login ran the command on this host with a jit-ssh certificate" \
	grep -qx "logged in as $(id -un) on $(hostname) with a jit-ssh certificate" "$T/demo.out"
check "the demo shows the certificate in the agent" grep -q ' (ED25519-CERT)$' "$T/demo.out"
check "the demo shows sshd's log line with the key ID and serial" \
	grep -Eq '^Accepted certificate ID "jit-ssh user=[^ ]+ host=demo-host login=[^ ]+ request=[0-9a-f]{32}" \(serial [1-9][0-9]*\)' "$T/demo.out"
check "the demo shows the issuance in the ledger" grep -Eq ' issued .*demo-host' "$T/demo.out"
check "the demo's ledger verifies" grep -q '^ledger intact: ' "$T/demo.out"
check "the demo ends with its closing line" \
	grep -q '== Done: everything above ran against real OpenSSH' "$T/demo.out"
WORK=$(sed -n 's/^--- the policy init wrote (\(.*\)\/ca\/policy\.yaml):$/\1/p' "$T/demo.out")
check "the demo names its temporary directory" test -n "$WORK"
check "the demo removed its temporary directory" test ! -e "$WORK"
