#!/bin/bash
# Crash safety of issuance (issue 4): several clients ask for certificates in loops (curl with
# ssh-keygen -Y sign, and jit-ssh cert) while the CA is killed with SIGKILL at random moments
# and restarted at once, CRASH_KILLS times (default 200). After each kill: every certificate
# a client received (serial and request ID from its answer) is in the ledger as issued to
# that request, no serial appears twice, `ledger verify` passes; after each restart the CA
# serves again (its start-up chain check passed); at the end, a sweep closes every request
# the kills cut short with one "cancelled" record. Durability is the point, so the CA speaks
# plain HTTP on loopback here (no TLS cost). scripts/crash-bench runs more kills.
#
# Environment: CRASH_KILLS (200), CRASH_CURL_CLIENTS (2), CRASH_JIT_CLIENTS (1),
# CRASH_MAX_LIFE_MS (longest time the CA serves before its kill, 250).
. "$(dirname "$0")/lib.sh"

KILLS=${CRASH_KILLS:-200}
CURL_CLIENTS=${CRASH_CURL_CLIENTS:-2}
JIT_CLIENTS=${CRASH_JIT_CLIENTS:-1}
MAX_LIFE_MS=${CRASH_MAX_LIFE_MS:-250}
L=$TEST_LOGIN

new_key alice
new_key bob
new_key subject
init_ca
set_config plain_http true
set_config port "$(free_port)"
CA_URL="http://127.0.0.1:$(sed -n 's/^port: //p' "$T/ca/config.yaml")"
CA_PID=
AT_EXIT+=('[ -z "$CA_PID" ] || { kill -KILL "$CA_PID"; wait "$CA_PID"; } 2>/dev/null')

# nap SECONDS: sleep without starting a process (the kill loop is slowed by every process)
exec {NAPFD}<> <(:)
nap() { read -r -t "$1" -u "$NAPFD" || true; }

# start_ca: start serve in the background (not waiting); sets CA_PID
start_ca() {
	rm -f "$T/ca.port"
	"$JIT_SSH_CA" serve --config "$T/ca/config.yaml" --port-file "$T/ca.port" 2>>"$T/ca.log" &
	CA_PID=$!
}

# ca_ready: wait until the CA listens (restarting it while the port is still held); up to
# about 15 s, for a slow sanitizer build on a loaded machine (a deadline, not a speed check)
ca_ready() {
	local i
	for ((i = 0; i < 1500; i++)); do
		[ -s "$T/ca.port" ] && return 0
		if ! kill -0 "$CA_PID" 2>/dev/null; then
			wait "$CA_PID" 2>/dev/null || true
			CA_PID=
			tail -n 3 "$T/ca.log" | grep -q "Address already in use" ||
				fail "the CA did not start again after a kill"
			nap 0.05
			start_ca
		fi
		nap 0.01
	done
	fail "the CA did not start again after a kill: timed out"
}

kill_ca() {
	kill -KILL "$CA_PID" 2>/dev/null || true
	{ wait "$CA_PID"; } 2>/dev/null || true
	CA_PID=
}

# ---- the clients: each appends "SERIAL REQUEST_ID" for every 201 it got to its file -------

# curl_client N: signs and POSTs requests in a loop (alice as $L on prod-web-N)
curl_client() {
	local id=$1 d="$T/client-curl-$1" i=0 ts nonce body status resp sig sl pk serial rid
	mkdir -p "$d"
	pk=$(cat "$T/keys/subject.pub")
	: >"$d/got"
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		printf -v ts '%(%s)T' -1
		printf -v nonce 'crash-%02d-%010d-%05d' "$id" "$i" "$$"
		printf -v body '{"user":"alice","host":"prod-web-%s","login":"%s","public_key":"%s",' \
			"$id" "$L" "$pk"
		printf '%s"ttl_seconds":0,"reason":"crash test","timestamp":%s,"nonce":"%s"}' \
			"$body" "$ts" "$nonce" >"$d/body"
		rm -f "$d/body.sig"
		ssh-keygen -q -Y sign -n jit-ssh-request -f "$T/keys/alice" "$d/body" 2>/dev/null
		mapfile -t sl <"$d/body.sig"
		sig=$(IFS= && echo "${sl[*]:1:${#sl[@]}-2}")
		status=$(curl -sS --max-time 10 -o "$d/resp" -w '%{http_code}' \
			-H 'Content-Type: application/json' -H "Authorization: SSHSIG $sig" \
			--data-binary "@$d/body" "$CA_URL/v1/requests" 2>/dev/null) || status=000
		case $status in
		201)
			serial='' rid=''
			resp=$(<"$d/resp")
			[[ $resp =~ \"serial\"[[:space:]]*:[[:space:]]*([0-9]+) ]] && serial=${BASH_REMATCH[1]}
			[[ $resp =~ \"request_id\"[[:space:]]*:[[:space:]]*\"([0-9a-f]{32})\" ]] &&
				rid=${BASH_REMATCH[1]}
			echo "$serial $rid" >>"$d/got"
			;;
		000) sleep 0.01 ;; # the CA is down or died while answering
		*) echo "HTTP $status: $(head -c 300 "$d/resp")" >>"$d/other" ;;
		esac
	done
}

# jit_client N: jit-ssh cert in a loop (alice as $L on prod-db-N), own agent and key dir
jit_client() {
	local id=$1 d="$T/client-jit-$1" i=0 cert
	mkdir -p "$d/run" "$d/home"
	chmod 0700 "$d/run"
	: >"$d/got"
	cert="$d/run/jit-ssh/$L@prod-db-$id-cert.pub"
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		rm -f "$cert"
		if HOME="$d/home" XDG_RUNTIME_DIR="$d/run" SSH_AUTH_SOCK="$d/agent.sock" \
			"$JIT_SSH" cert --ca "$CA_URL" --user alice -i "$T/keys/alice" \
			"$L@prod-db-$id" >"$d/out" 2>&1; then
			ssh-keygen -L -f "$cert" | awk '
				/^ *Serial:/ { s = $2 }
				/^ *Key ID:/ { if (match($0, /request=[0-9a-f]+/)) r = substr($0, RSTART + 8, RLENGTH - 8) }
				END { print s, r }' >>"$d/got"
		else
			sleep 0.01
		fi
		# The agent keeps every certificate for its lifetime: empty it now and then.
		((i % 50)) || SSH_AUTH_SOCK="$d/agent.sock" ssh-add -q -D 2>/dev/null || true
	done
}

for ((c = 1; c <= JIT_CLIENTS; c++)); do
	ssh-agent -D -a "$T/client-jit-$c.sock" >/dev/null 2>&1 &
	PIDS+=($!)
	mkdir -p "$T/client-jit-$c"
	wait_for "ssh-agent" "$!" test -S "$T/client-jit-$c.sock"
	ln -s "$T/client-jit-$c.sock" "$T/client-jit-$c/agent.sock"
done

start_ca
ca_ready
for ((c = 1; c <= CURL_CLIENTS; c++)); do
	curl_client "$c" &
	PIDS+=($!)
done
for ((c = 1; c <= JIT_CLIENTS; c++)); do
	jit_client "$c" &
	PIDS+=($!)
done

# ---- kill, check, restart ------------------------------------------------------------------

# pairs: "SERIAL REQUEST_ID" of the issued records in the JSON records on stdin (an array,
# or one record a line)
pairs() {
	jq -r '(if type == "array" then .[] else . end) | select(.event == "issued") |
		"\(.serial) \(.request_id)"'
}

# check_received WINDOW-PAIRS: the lines the clients appended since the last call (offsets
# per file in $T/offsets) must all be among WINDOW-PAIRS; prints those that are not
check_received() {
	awk -v state="$T/offsets" -v out="$T/offsets.new" '
		FILENAME == state { off[$1] = $2; next }
		FILENAME == pairs { have[$0] = 1; next }
		FNR <= off[FILENAME] + 0 || cut[FILENAME] { next }
		!/^[0-9]+ [0-9a-f]+$/ || length($2) != 32 { cut[FILENAME] = 1; next } # being written
		{ if (!($0 in have)) print; seen[FILENAME] = FNR }
		END {
			for (f in seen) print f, seen[f] > out
			for (f in off) if (!(f in seen)) print f, off[f] > out
		}
	' pairs="$1" "$T/offsets" "$1" "$T"/client-*/got
	mv "$T/offsets.new" "$T/offsets" 2>/dev/null || true
}

: >"$T/offsets"
since=$(date +%s)
served=0 # restarts after which /healthz answered
started=$SECONDS
for ((k = 1; k <= KILLS; k++)); do
	if ((k > 1)); then
		start_ca
		# One kill in eight hits the CA while it starts (opens the ledger, checks the chain).
		if ((RANDOM % 8 == 0)); then
			nap "0.0$((RANDOM % 10))"
		else
			ca_ready
			status=$(curl -sS --max-time 10 -o "$T/hz.json" -w '%{http_code}' \
				"$CA_URL/healthz" 2>/dev/null) || status=000
			[ "$status" = 200 ] ||
				fail "after kill $((k - 1)) the CA does not serve: /healthz $status"
			[[ $(<"$T/hz.json") =~ \"ledger_chain_ok\"[[:space:]]*:[[:space:]]*true ]] ||
				fail "after kill $((k - 1)) /healthz says: $(cat "$T/hz.json")"
			served=$((served + 1))
		fi
	fi
	ms=$((RANDOM % MAX_LIFE_MS))
	nap "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	kill_ca

	# Every answer a client holds now was sent before this kill.
	! compgen -G "$T/client-*/other" >/dev/null ||
		fail "a client got an answer other than 201: $(cat "$T"/client-*/other | head -n 5)"
	# The issued records since shortly before the last check (`ledger list` filters).
	ca_cmd ledger list --json --event issued --since "$((since - 3))" 2>"$T/list.err" |
		pairs >"$T/window.pairs" ||
		fail "ledger list --json --event issued --since after kill $k: $(cat "$T/list.err")"
	printf -v since '%(%s)T' -1
	missing=$(check_received "$T/window.pairs")
	if [ -n "$missing" ]; then
		# Maybe older than the window: look in the whole ledger before failing.
		ca_cmd ledger list --json 2>>"$T/list.err" | pairs >"$T/all.pairs"
		missing=$(grep -vxF -f "$T/all.pairs" <<<"$missing" | head -n 5 || true)
		[ -z "$missing" ] ||
			fail "after kill $k: received but not in the ledger as issued to that request (serial request): $missing"
	fi
	dup=$(awk 'seen[$1]++ { print $1 }' "$T/window.pairs" | head -n 5)
	[ -z "$dup" ] || fail "after kill $k: serials issued twice in the ledger: $dup"
	ca_cmd ledger verify >"$T/verify.out" 2>&1 ||
		fail "after kill $k: ledger verify fails: $(cat "$T/verify.out")"
done
ok "$KILLS SIGKILLs in $((SECONDS - started)) s; after each: every certificate received was in" \
	"the ledger, no serial twice, the ledger verified"
check "the CA served again after every restart that was not itself killed ($served)" \
	test "$served" -gt "$((KILLS / 2))"

# ---- the end: stop the clients, look at the whole story ---------------------------------
start_ca
ca_ready
sleep 0.3
touch "$T/stop"
for pid in "${PIDS[@]}"; do
	kill -0 "$pid" 2>/dev/null || continue
	[ "$(ps -o comm= -p "$pid")" = bash ] || continue
	wait "$pid" 2>/dev/null || true
	forget_pid "$pid"
done
kill -TERM "$CA_PID"
wait "$CA_PID" 2>/dev/null || true
CA_PID=
cat "$T"/client-*/got | sort -u >"$T/got.all"
received=$(wc -l <"$T/got.all")
check "the clients received certificates throughout ($received)" test "$received" -ge "$KILLS"
check "every client received some" bash -c 'for f in "$1"/client-*/got; do [ -s "$f" ] || exit 1; done' _ "$T"
check "no client received the same serial twice" \
	test -z "$(cut -d' ' -f1 "$T/got.all" | sort | uniq -d)"

ledger_json >"$T/all.json"
pairs <"$T/all.json" | sort >"$T/all.pairs"
check "every certificate received is in the ledger, issued to its request" \
	test -z "$(comm -23 "$T/got.all" "$T/all.pairs")"
check "no serial appears twice in the ledger" test -z "$(cut -d' ' -f1 "$T/all.pairs" | sort | uniq -d)"
check "no request was issued two certificates" \
	test -z "$(cut -d' ' -f2 "$T/all.pairs" | sort | uniq -d)"
jcheck "every issued record has its received and allowed decided records before it" \
	"$T/all.json" '[.[] | select(.event == "issued") | .request_id] as $issued |
		(map(select(.event == "received") | .request_id) | INDEX(.)) as $rec |
		(map(select(.event == "decided" and .decision == "allowed") | .request_id) | INDEX(.))
			as $dec | all($issued[]; $rec[.] != null and $dec[.] != null)'
jcheck "seq runs 1..N without a gap" "$T/all.json" '[.[].seq] == [range(1; length + 1)]'
jcheck "every start-up found the chain intact (startup events: chain_ok, not continued)" \
	"$T/all.json" '[.[] | select(.event == "startup")] | length >= $n and
		all(.[]; .chain_ok == true and .continued_on_broken_chain == false)' \
	--argjson n "$served"
check "ledger verify passes at the end" ca_cmd ledger verify

# ---- the requests the kills cut short: cancelled, each once ------------------------------
# The CA is stopped, so no request is in flight: a sweep without grace period closes every
# request that never reached an answer (the daemon's own sweeps wait clock_window_sec + 60 s).
ca_cmd ledger sweep --grace 0 >"$T/sweep.out" 2>&1 || fail "ledger sweep: $(cat "$T/sweep.out")"
ok "$(cat "$T/sweep.out")"
ledger_json >"$T/all2.json"
jcheck "after the sweep every request has exactly one end: denied, issued or cancelled" \
	"$T/all2.json" '[.[] | select(.request_id != null and (.event == "received" or
		.event == "decided" or .event == "issued" or .event == "cancelled"))] |
		group_by(.request_id) | all(.[]; [.[] | select(.event == "issued" or
		.event == "cancelled" or (.event == "decided" and .decision != "allowed"))] |
		length == 1)'
jq -r '.[] | select(.event == "cancelled") | .request_id' "$T/all2.json" | sort >"$T/cancelled.ids"
check "no request a client got a certificate for was cancelled" \
	test -z "$(cut -d' ' -f2 "$T/got.all" | sort | comm -12 - "$T/cancelled.ids")"
check "ledger verify passes with the sweep's records" ca_cmd ledger verify
