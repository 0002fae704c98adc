#!/bin/sh
# SPDX-License-Identifier: ISC
#
# make-fixtures.sh - regenerate the certificate and SSHSIG fixtures (cert-*, sig-*) with the
# real OpenSSH ssh-keygen. Keys are fresh on every run; dates are fixed, so tests use a fixed
# clock. Only public files are kept.  Usage: tests/data/make-fixtures.sh   (from anywhere)
#
# Validity of every certificate: 2030-01-01T00:00:00Z (1893456000) to
# 2030-01-01T00:10:00Z (1893456600).
set -eu

data=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
kg=${SSH_KEYGEN:-ssh-keygen}
validity=20300101000000Z:20300101001000Z
key_id='jit-ssh user=alice host=prod-web-3 login=root request=0123456789abcdef0123456789abcdef'

gen() { # gen NAME TYPE BITS
	"$kg" -q -t "$2" -b "$3" -N '' -C "$1" -f "$tmp/$1"
}

gen ca-ed25519 ed25519 256
gen ca-p256 ecdsa 256
gen ca-p384 ecdsa 384
gen ca-rsa rsa 3072
gen user-ed25519 ed25519 256
gen user-p256 ecdsa 256
gen user-p384 ecdsa 384
gen user-rsa rsa 3072

# One user certificate per CA type, each over a different subject type.
serial=41
for pair in ed25519:ed25519 p256:rsa p384:p256 rsa:p384; do
	ca=${pair%%:*} user=${pair##*:}
	serial=$((serial + 1))
	cp "$tmp/user-$user.pub" "$tmp/cert-$ca-$user.pub"
	"$kg" -q -s "$tmp/ca-$ca" -I "$key_id" -n jit:prod-web-3:root,jit:prod-web-3:deploy \
		-z "$serial" -V "$validity" -O clear -O permit-pty \
		-O force-command=/usr/bin/true -O source-address=127.0.0.1/32 \
		"$tmp/cert-$ca-$user.pub"
	cp "$tmp/cert-$ca-$user-cert.pub" "$data/"
	cp "$tmp/ca-$ca.pub" "$data/cert-ca-$ca.pub"
done

# A host certificate (user certificates only are accepted for logins).
cp "$tmp/user-ed25519.pub" "$tmp/cert-host.pub"
"$kg" -q -s "$tmp/ca-ed25519" -h -I prod-web-3 -n prod-web-3 -z 7 -V "$validity" \
	"$tmp/cert-host.pub"
cp "$tmp/cert-host-cert.pub" "$data/"

# An RSA CA signature with SHA-1 ("ssh-rsa"), which we refuse.
cp "$tmp/user-ed25519.pub" "$tmp/cert-rsa-sha1.pub"
"$kg" -q -s "$tmp/ca-rsa" -t ssh-rsa -I "$key_id" -n jit:prod-web-3:root -z 9 \
	-V "$validity" "$tmp/cert-rsa-sha1.pub"
cp "$tmp/cert-rsa-sha1-cert.pub" "$data/"

# SSHSIG: one signature per key type over the same message, namespace jit-ssh-request.
printf '{"user":"alice","host":"prod-web-3","login":"root"}\n' >"$data/sig-msg.json"
for t in ed25519 p256 p384 rsa; do
	cp "$tmp/user-$t" "$tmp/sig-$t"
	"$kg" -q -Y sign -n jit-ssh-request -f "$tmp/sig-$t" <"$data/sig-msg.json" \
		>"$data/sig-$t.sig"
	cp "$tmp/user-$t.pub" "$data/sig-$t.pub"
done
"$kg" -q -Y sign -n jit-ssh-request -O hashalg=sha256 -f "$tmp/sig-ed25519" \
	<"$data/sig-msg.json" >"$data/sig-ed25519-sha256.sig"
