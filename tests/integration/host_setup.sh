#!/bin/bash
# The host side as an SRE uses it: jit-ssh-hostcfg install refuses what is not a CA public
# key, --check runs the real sshd -t, the principals command answers sshd, and a real sshd
# set up with --principals-command lets a jit-ssh certificate in.
. "$(dirname "$0")/lib.sh"

setup_ca_and_agent
L=$TEST_LOGIN
H=$JIT_SSH_HOSTCFG

# refused WHAT MESSAGE-REGEX ARGS...: install fails, says MESSAGE, writes nothing
refused() {
	local what=$1 msg=$2 etc="$T/refused-etc"
	shift 2
	rm -rf "$etc"
	if "$H" install --etc "$etc" "$@" >"$T/out" 2>"$T/err"; then
		fail "$what: install succeeded"
	fi
	contains "$T/err" "$msg" || fail "$what: error '$(cat "$T/err")' does not match '$msg'"
	test ! -e "$etc" || fail "$what: $etc was created"
	ok "$what is refused with a clear message, nothing written"
}

new_key user
ssh-keygen -q -s "$T/keys/alice" -I x -n p "$T/keys/user.pub"
refused "a private key as CA key" "line 1: this is a private key" \
	--ca-key "$T/ca/ca_key" --host web --login root
refused "a certificate as CA key" "line 1: this is a certificate" \
	--ca-key "$T/keys/user-cert.pub" --host web --login root
refused "a missing CA key file" "CA key file .*no-such.pub: No such file" \
	--ca-key "$T/no-such.pub" --host web --login root
refused "an unsafe host name" 'host name "web server"' \
	--ca-key "$CA_PUB" --host "web server" --login root
refused "an unsafe login" 'login "root,admin"' --ca-key "$CA_PUB" --host web --login root,admin
refused "install without a login" "at least one --login" --ca-key "$CA_PUB" --host web

# --check: the real sshd -t judges the new snippet before anything is written.
"$H" install --check --ca-key "$CA_PUB" --host Prod-Web-3 --login "$L" --etc "$T/etc1" \
	>"$T/out" 2>"$T/err" || fail "install --check: $(cat "$T/err")"
check "install --check reports sshd -t found the configuration valid" \
	grep -q "sshd -t: configuration valid" "$T/out"
check "the installed principals file names the normalised host" \
	test "$(cat "$T/etc1/jit-ssh/principals/$L")" = "jit:prod-web-3:$L"
check "the installed snippet passes sshd -t in a full sshd_config" \
	bash -c 'ssh-keygen -q -t ed25519 -N "" -f "$1/hk" &&
		printf "Include %s\nHostKey %s\n" "$1/etc1/sshd_config.d/jit-ssh.conf" "$1/hk" >"$1/t.conf" &&
		/usr/sbin/sshd -t -f "$1/t.conf"' _ "$T"

# The principals command, as sshd runs it.
"$H" install --principals-command --ca-key "$CA_PUB" --host prod-web-3 --login "$L" \
	--etc "$T/etc2" >/dev/null
check "principals USER prints the principal of an enabled login" \
	test "$("$H" principals --etc "$T/etc2" "$L")" = "jit:prod-web-3:$L"
check "principals USER prints nothing for another account, and exits 0" \
	test -z "$("$H" principals --etc "$T/etc2" postgres)"
check "principals prints nothing for a path-like user name" \
	test -z "$("$H" principals --etc "$T/etc2" "../principals/$L")"
check "the snippet names this binary as AuthorizedPrincipalsCommand" \
	contains "$T/etc2/sshd_config.d/jit-ssh.conf" \
	"^AuthorizedPrincipalsCommand $(readlink -f "$H") principals --etc $T/etc2 %u\$"

# A real sshd that asks the principals command. sshd runs the command only when it and
# every directory above it belong to root and are not group- or world-writable, and as
# user nobody, so this part needs root.
if [ "$(id -u)" != 0 ]; then
	echo "# skipped: sshd with AuthorizedPrincipalsCommand (needs root)"
	exit 0
fi
start_sshd pc prod-web-3 --principals-command "$L"
jit_ssh pc "$L@prod-web-3" 'echo via-principals-command' >"$T/out" 2>"$T/err" ||
	fail "login through AuthorizedPrincipalsCommand: $(cat "$T/err"; grep -i principal "${SSHD_DIR[pc]}/sshd.log")"
check "sshd with AuthorizedPrincipalsCommand accepts the jit-ssh certificate" \
	grep -qx via-principals-command "$T/out"

# Disable the login on the host: the command prints nothing, sshd refuses.
rm "${SSHD_DIR[pc]}/etc/jit-ssh/principals/$L"
if jit_ssh pc "$L@prod-web-3" 'echo should-not-run' >"$T/out" 2>"$T/err"; then
	fail "login accepted after the login was disabled on the host"
fi
check "removing the login's principals file locks jit-ssh out at once (no restart)" \
	grep -q "Permission denied" "$T/err"
