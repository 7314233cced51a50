#!/usr/bin/env bash
# Start-up and tear-down time of the whole reference stack (`vecs stack up|down`: 2
# hosts with libvirtd, ScaleIO gateway, NFS, vecs-mgmt, 2 agents, pools and template
# registered), next to the baseline of the same run: bringing up the 2 bare hosts alone
# (vecs-host up), the part every stack must pay.
set -eu
BIN=${VECS_BIN:-build/bin}
tmp=$(mktemp -d)
trap '"$BIN/vecs" stack down --dir "$tmp/s" >/dev/null 2>&1 || true; "$BIN/vecs-host" down --dir "$tmp/h" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
now() { date +%s.%N; }

mkdir -p "$tmp/h"
t0=$(now)
"$BIN/vecs-host" up --dir "$tmp/h" --name h1 --index 1 --owner $$ >/dev/null
"$BIN/vecs-host" up --dir "$tmp/h" --name h2 --index 2 --owner $$ >/dev/null
t1=$(now)
"$BIN/vecs-host" down --dir "$tmp/h" >/dev/null 2>&1
hosts=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')

best_up=999 best_down=999
for i in 1 2; do
	t0=$(now)
	"$BIN/vecs" stack up --dir "$tmp/s" 2>/dev/null
	t1=$(now)
	"$BIN/vecs" stack down --dir "$tmp/s" 2>/dev/null
	t2=$(now)
	best_up=$(awk -v a="$t0" -v b="$t1" -v c="$best_up" 'BEGIN { d = b - a; printf "%.2f", d < c ? d : c }')
	best_down=$(awk -v a="$t1" -v b="$t2" -v c="$best_down" 'BEGIN { d = b - a; printf "%.2f", d < c ? d : c }')
done
echo "  2 bare hosts up (baseline):  ${hosts} s"
echo "  vecs stack up (best of 2):   ${best_up} s"
echo "  vecs stack down (best of 2): ${best_down} s"
echo "stack: start-up ${best_up} s = $(awk -v a="$best_up" -v b="$hosts" 'BEGIN { printf "%.2f", a / b }')x the bare hosts"
