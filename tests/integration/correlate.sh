#!/bin/bash
# sshd-log correlation (issue 4): the real sshd log of logins made through jit-ssh (and by
# hand), in sshd's own stderr form and converted to the classic syslog, ISO-timestamp and
# short-unix forms of syslog and journalctl, read by `jit-ssh-ca ledger correlate FILE|-`:
# each login is joined with its ledger story (who, which request, why), a refused
# certificate is reported as refused, and a login with a certificate the ledger does not
# know (signed with the CA key directly by ssh-keygen -s: a serial never issued, or a serial
# issued to another key) is flagged loudly and makes the command exit non-zero.
. "$(dirname "$0")/lib.sh"

setup_ca_and_agent
start_sshd web prod-web-3 "$TEST_LOGIN"
L=$TEST_LOGIN
LOG=${SSHD_DIR[web]}/sshd.log
: >"$T/logins" # "SERIAL REQUEST_ID REASON" of every accepted login

# record_login CERTFILE REASON
record_login() {
	local serial rid
	serial=$(cert_field "$1" Serial)
	rid=$(cert_field "$1" "Key ID" | sed -n 's/.* request=\([0-9a-f]*\)$/\1/p')
	echo "$serial $rid $2" >>"$T/logins"
}

# ssh_key NAME COMMAND: plain ssh to prod-web-3 with $T/keys/NAME and its certificate
ssh_key() {
	local opts
	mapfile -t opts < <(ssh_opts web)
	ssh "${opts[@]}" -o IdentitiesOnly=yes -o IdentityAgent=none -i "$T/keys/$1" \
		-o "CertificateFile=$T/keys/$1-cert.pub" -l "$L" prod-web-3 "$2"
}

for n in 1 2; do
	jit_ssh web --reason "INC-10$n login number $n" "$L@prod-web-3" true >"$T/out" 2>&1 ||
		fail "jit-ssh login $n: $(cat "$T/out")"
	record_login "$(cert_file "$L@prod-web-3")" "INC-10$n login number $n"
done
new_key hand
HAND_REASON="CHG-7 by hand" hand_cert hand alice prod-web-3 "$L"
ssh_key hand true >"$T/out" 2>&1 || fail "login with the hand-made certificate: $(cat "$T/out")"
record_login "$T/keys/hand-cert.pub" "CHG-7 by hand"
# A certificate for another host, offered here: sshd refuses it.
jit_cert "$L@prod-db-1" >"$T/out" 2>&1 || fail "jit-ssh cert for prod-db-1: $(cat "$T/out")"
mapfile -t OPTS < <(ssh_opts web)
if ssh "${OPTS[@]}" -o IdentitiesOnly=yes -o "IdentityFile=$(pub_file "$L@prod-db-1")" \
	-o "CertificateFile=$(cert_file "$L@prod-db-1")" -l "$L" prod-web-3 true >"$T/out" 2>&1; then
	fail "sshd for prod-web-3 accepted the certificate for prod-db-1"
fi
check "sshd logged the three certificate logins" test "$(sshd_accepted web)" = 3
cp "$LOG" "$T/clean.log"

# to_syslog FORM < STDERR-LOG: the lines as syslog would store them. sshd -e writes no pid;
# each connection's lines come together here (one login at a time), so each "Connection
# from" starts a new pid.
to_syslog() {
	local stamp
	case $1 in
	classic) stamp=$(date -u '+%b %e %H:%M:%S') ;;                # rsyslog, journalctl -o short
	iso) stamp=$(date -u '+%Y-%m-%dT%H:%M:%S.%6N+00:00') ;;      # journalctl -o short-iso-precise
	unix) stamp=$(date -u '+%s.%6N') ;;                          # journalctl -o short-unix
	esac
	awk -v stamp="$stamp" '/^Connection from / { pid++ }
		{ printf "%s ci-host sshd[%d]: %s\n", stamp, 4000 + pid, $0 }'
}
to_syslog classic <"$T/clean.log" >"$T/clean.syslog"
to_syslog iso <"$T/clean.log" >"$T/clean.iso"
to_syslog unix <"$T/clean.log" >"$T/clean.unix"

# correlate NAME ARGS...: jit-ssh-ca ledger correlate ARGS; output in $T/NAME.out (stdout)
# and $T/NAME.err, exit status in RC
correlate() {
	local name=$1
	shift
	RC=0
	ca_cmd ledger correlate "$@" >"$T/$name.out" 2>"$T/$name.err" || RC=$?
}

# story FILE SERIAL [known]: the lines of FILE about the logins with SERIAL: each line
# naming it and the indented lines after it (with "known", not those flagged "!!!")
story() {
	awk -v s="$2" -v known="${3:-}" '
		$0 ~ ("serial[ =]" s "([^0-9]|$)") && !(known && /^!!!/) { on = 1; print; next }
		on && /^[ \t]/ { print; next }
		{ on = 0 }' "$1"
}

# joined NAME: every login of $T/logins is told with its user, request and reason in
# $T/NAME.out
joined() {
	local serial rid reason
	while read -r serial rid reason; do
		story "$T/$1.out" "$serial" known >"$T/story"
		[ -s "$T/story" ] ||
			fail "$1: nothing about the login with serial $serial: $(cat "$T/$1.out")"
		for want in alice "$rid" "$reason" sre-prod; do
			grep -qF -- "$want" "$T/story" ||
				fail "$1: serial $serial: the story does not say '$want': $(cat "$T/story")"
		done
	done <"$T/logins"
	ok "$1: each of the three logins is joined with its story (alice, request, reason, rule)"
}

for form in log syslog iso unix; do
	correlate "clean-$form" "$T/clean.$form"
	check "correlate on the $form form of a log of known logins exits 0 ($RC)" test "$RC" = 0
	joined "clean-$form"
	check "$form form: the summary counts 3 logins joined, 0 not in the ledger" \
		grep -Eq '3 certificate logins?: 3 joined with the ledger, 0 NOT in the ledger' \
		"$T/clean-$form.out"
	check "$form form: the certificate for prod-db-1 is reported as refused" \
		grep -Eq '1 refused certificate' "$T/clean-$form.out"
done
correlate stdin - <"$T/clean.syslog"
check "correlate - reads the log from stdin (exit $RC)" test "$RC" = 0
joined stdin

# ---- certificates the ledger does not know ----------------------------------------------
# The CA key signs directly, bypassing the CA: a serial never issued.
new_key rogue
ssh-keygen -q -s "$T/ca/ca_key" -n "jit:prod-web-3:$L" \
	-I "jit-ssh user=mallory host=prod-web-3 login=$L request=0123456789abcdef0123456789abcdef" \
	-z 987654321 -V -5m:+10m "$T/keys/rogue.pub"
ssh_key rogue true >"$T/out" 2>&1 || fail "login with the rogue certificate: $(cat "$T/out")"
# ... and one reusing the serial of the first jit-ssh login, for another key.
read -r S1 R1 _ <"$T/logins"
new_key twin
ssh-keygen -q -s "$T/ca/ca_key" -I "jit-ssh user=alice host=prod-web-3 login=$L request=$R1" \
	-n "jit:prod-web-3:$L" -z "$S1" -V -5m:+10m "$T/keys/twin.pub"
ssh_key twin true >"$T/out" 2>&1 || fail "login with the twin certificate: $(cat "$T/out")"
check "sshd accepted both (it trusts the CA key)" test "$(sshd_accepted web)" = 5
to_syslog classic <"$LOG" >"$T/all.syslog"

for form in log syslog; do
	[ "$form" = log ] && f=$LOG || f=$T/all.syslog
	correlate "rogue-$form" "$f"
	check "$form form with unknown certificates: correlate exits non-zero ($RC)" test "$RC" != 0
	story "$T/rogue-$form.out" 987654321 >"$T/story"
	check "$form form: the login with serial 987654321 is flagged loudly" \
		grep -Eqi '!!!.*unknown|unknown.*!!!' "$T/story"
	check "$form form: ... because the ledger has no such serial" \
		grep -qi 'no certificate with this serial' "$T/story"
	check "$form form: the certificate reusing serial $S1 for another key is flagged" \
		grep -Eqi '!!!.*another key' "$T/rogue-$form.out"
	check "$form form: the summary counts 2 logins NOT in the ledger" \
		grep -Eq '5 certificate logins: 3 joined with the ledger, 2 NOT in the ledger' \
		"$T/rogue-$form.out"
	check "$form form: stderr tells the reviewer to investigate" grep -qi investigate "$T/rogue-$form.err"
done
joined rogue-log
