#!/usr/bin/env bash
# vecs-mgmt API latency on SQLite: p50/p99 of signed listDiskOfferings and listHosts
# under 32 concurrent keep-alive clients, next to two baselines of the same run and
# server: the unsigned static /vecs/ready (HTTP floor) and signed listCapabilities
# (HTTP + authentication, no list query). Goal: p99 < 20 ms.
set -eu
BIN=${VECS_BIN:-build/bin}
CLIENTS=${BENCH_CLIENTS:-32}
REQS=${BENCH_REQUESTS:-200}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
(umask 077; printf 'db.cloud.encrypt.secret=bench-%s\n' "$RANDOM$RANDOM" >"$tmp/key.props")
for i in $(seq 20); do
	echo "kvm$i ip=10.2.0.$i host.volume.encryption=$([ $((i % 2)) = 0 ] && echo true || echo false) cpu.sockets=2"
done >"$tmp/hosts"
"$BIN/vecs-mgmt" --listen 127.0.0.1:0 --db "sqlite:$tmp/db" --key-file "$tmp/key.props" \
	--credentials-out "$tmp/creds" --url-file "$tmp/url" --log "$tmp/log" --hosts "$tmp/hosts" >/dev/null &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/url" ] && break; sleep 0.05; done
port=$(sed 's|.*:\([0-9]*\)/client/api|\1|' "$tmp/url")
run() { "$BIN/vecs-ref-bench-api" 127.0.0.1 "$port" "$tmp/creds" "$CLIENTS" "$REQS" "$1"; }
# 20 disk offerings to list, half encrypted
for i in $(seq 20); do
	"$BIN/vecs-ref-bench-api" 127.0.0.1 "$port" "$tmp/creds" 1 1 \
		"command=createDiskOffering&response=json&name=do$i&disksize=$i&encrypt=$([ $((i % 2)) = 0 ] && echo true || echo false)" >/dev/null
done
run "command=listDiskOfferings&response=json" >/dev/null # warm-up
worst=0
for q in "-" "command=listCapabilities&response=json" "command=listDiskOfferings&response=json" \
	"command=listHosts&response=json"; do
	line=$(run "$q")
	name=${q#command=}; name=${name%%&*}; [ "$q" = - ] && name="/vecs/ready (baseline)"
	[ "$name" = listCapabilities ] && name="listCapabilities (baseline)"
	printf '  %-30s %s\n' "$name" "$line"
	case $name in list[DH]*)
		p99=$(echo "$line" | sed 's/.*p99_ms \([0-9.]*\).*/\1/')
		worst=$(awk -v a="$worst" -v b="$p99" 'BEGIN { print (b > a) ? b : a }') ;;
	esac
done
verdict=$(awk -v w="$worst" 'BEGIN { print (w < 20) ? "goal met" : "GOAL MISSED" }')
echo "mgmt-api: worst list p99 ${worst} ms with $CLIENTS clients (goal < 20 ms): $verdict"
