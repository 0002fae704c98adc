#!/bin/sh
# SPDX-License-Identifier: ISC
#
# sshd_capture.sh DIR - produce real sshd log lines for test_correlate.c.
#
# Runs /usr/sbin/sshd -D -e (LogLevel VERBOSE) on 127.0.0.1 with TrustedUserCAKeys and an
# AuthorizedPrincipalsFile, logs in with ssh using certificates made by ssh-keygen -s, stops
# sshd and leaves in DIR:
#   sshd.log   sshd's stderr
#   ca.pub     the CA public key (TrustedUserCAKeys)
#   ca.fp      its SHA256 fingerprint as ssh-keygen -l prints it
#   login      the account used (the user running this script)
# Attempts, in order (key IDs in the CA's format, user=alice host=h1):
#   serial 42  valid                          -> login succeeds
#   serial 43  expired                        -> refused
#   serial 44  principal for another host     -> refused
#   serial 45  source-address 10.9.9.9/32     -> refused
# Exit 0 when every attempt ended as expected, 77 when sshd cannot run here, 1 otherwise.
set -eu

dir=$1
sshd=/usr/sbin/sshd
[ -x "$sshd" ] || { echo "no $sshd" >&2; exit 77; }
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || { echo "no ssh" >&2; exit 77; }
login=$(id -un)
if [ "$(id -u)" = 0 ]; then
	mkdir -p -m 0755 /run/sshd || { echo "cannot make /run/sshd" >&2; exit 77; }
fi

cd "$dir"
ssh-keygen -q -t ed25519 -N '' -C ca -f ca
ssh-keygen -q -t ed25519 -N '' -C host -f hostkey
ssh-keygen -q -t ed25519 -N '' -C user -f user
ssh-keygen -l -f ca.pub | cut -d' ' -f2 > ca.fp
mkdir principals
echo "jit:h1:$login" > "principals/$login"

cat > sshd_config <<EOF
HostKey $dir/hostkey
PidFile $dir/sshd.pid
ListenAddress 127.0.0.1
StrictModes no
UsePAM no
AuthorizedKeysFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
LogLevel VERBOSE
TrustedUserCAKeys $dir/ca.pub
AuthorizedPrincipalsFile $dir/principals/%u
EOF

# A free port: try a few pseudo-random ones until sshd says it listens.
pid=
for try in 1 2 3 4 5 6 7 8 9 10; do
	port=$(( 20000 + ($$ * 7919 + try * 104729) % 40000 ))
	: > sshd.log
	"$sshd" -D -e -r -f "$dir/sshd_config" -p "$port" 2>> sshd.log &
	pid=$!
	n=0
	while [ $n -lt 200 ] && kill -0 "$pid" 2>/dev/null &&
	      ! grep -q 'Server listening on' sshd.log; do
		sleep 0.05
		n=$((n + 1))
	done
	grep -q 'Server listening on' sshd.log && break
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
done
[ -n "$pid" ] || { cat sshd.log >&2; exit 1; }
trap 'kill "$pid" 2>/dev/null || true' EXIT

echo "[127.0.0.1]:$port $(cat hostkey.pub)" > known_hosts

# attempt SERIAL REQUEST-ID EXPECTED-STATUS ssh-keygen-options...
attempt() {
	serial=$1 request=$2 want=$3
	shift 3
	ssh-keygen -q -s ca -I "jit-ssh user=alice host=h1 login=$login request=$request" \
		-z "$serial" "$@" user.pub
	set +e
	ssh -F /dev/null -p "$port" -o BatchMode=yes -o UserKnownHostsFile=known_hosts \
		-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o IdentityFile=user \
		-o CertificateFile=user-cert.pub -o KexAlgorithms=curve25519-sha256 \
		-l "$login" 127.0.0.1 true 2>> ssh.log
	got=$?
	set -e
	case $want:$got in
	ok:0 | refused:255) ;;
	*)
		echo "serial $serial: ssh exited $got, wanted $want" >&2
		cat ssh.log sshd.log >&2
		exit 1
		;;
	esac
}

attempt 42 0123456789abcdef0123456789abcdef ok -n "jit:h1:$login" -V -5m:+5m
attempt 43 00000000000000000000000000000043 refused -n "jit:h1:$login" -V 20200101:20200102
attempt 44 00000000000000000000000000000044 refused -n "jit:h2:$login" -V -5m:+5m
attempt 45 00000000000000000000000000000045 refused -n "jit:h1:$login" -V -5m:+5m \
	-O source-address=10.9.9.9/32

# sshd logs the end of a connection after ssh has exited; stop it only once it has.
n=0
while [ $n -lt 200 ] && [ "$(grep -c 'Connection closed by\|Disconnected from' sshd.log)" -lt 4 ]; do
	sleep 0.05
	n=$((n + 1))
done
kill "$pid"
wait "$pid" 2>/dev/null || true
trap - EXIT
echo "$login" > login
