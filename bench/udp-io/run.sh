#!/usr/bin/env bash
# CPU per datagram answered over UDP on 127.0.0.1: node:dgram (the agent's way), Node with a small
# addon of this bench (napi/napi-udp.c: recvmmsg batches, one JS call per batch, sendmmsg), C with
# one datagram per system call and C with recvmmsg/sendmmsg batches of 32. A C client (blast.c) offers
# RATE datagrams/s for 5 s per server; the server's CPU (utime+stime from /proc) over the datagrams
# it answered gives µs per datagram (receive one, send one reply).
#   bash bench/udp-io/run.sh [RATE ...]      default: 20000 40000
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/sipwall-udp-io-XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/blast" "$here/blast.c"
gcc -O2 -o "$work/echo" "$here/echo.c"
# The addon, built with npm's own node-gyp against the running node's headers (no download).
prefix=$(cd "$(dirname "$(command -v node)")/.." && pwd)
gyp="$prefix/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
cp "$here/napi/napi-udp.c" "$here/napi/binding.gyp" "$work/"
native=""
if (cd "$work" && node "$gyp" rebuild --nodedir="$prefix" >"$work/gyp.log" 2>&1); then
  native="$work/build/Release/napi_udp.node"
else
  echo "node-mmsg: addon not built (see the node-gyp output below); that row is left out"
  tail -5 "$work/gyp.log"
fi
port=$((47000 + RANDOM % 1000))
rates=("$@")
[ ${#rates[@]} -eq 0 ] && rates=(20000 40000)
echo "bench/udp-io $(date -u +%FT%TZ) node $(node -v), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

one() { # one <label> <rate> <server command...>
  local label=$1 rate=$2
  shift 2
  "$@" >"$work/srv.out" 2>&1 &
  local pid=$!
  sleep 1
  local t0 t1
  t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
  "$work/blast" "$port" "$rate" 5 >"$work/cli.out"
  t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  local answered
  answered=$(grep -o '[0-9]*' "$work/srv.out" | tail -1)
  local ticks=$((t1 - t0)) hz
  hz=$(getconf CLK_TCK)
  awk -v l="$label" -v r="$rate" -v t="$ticks" -v hz="$hz" -v n="$answered" -v c="$(cat "$work/cli.out")" \
    'BEGIN { printf "%-10s offered %6d/s: %s, answered %d, server CPU %5.0f ms, %5.1f µs per datagram\n", l, r, c, n, t * 1000 / hz, t * 1e6 / hz / n }'
}

for rate in "${rates[@]}"; do
  one node "$rate" node "$here/echo.mjs" "$port"
  [ -n "$native" ] && NAPI_UDP="$native" one node-mmsg "$rate" node "$here/echo-native.mjs" "$port"
  one c-single "$rate" "$work/echo" "$port" 1
  one c-mmsg32 "$rate" "$work/echo" "$port" 32
done
