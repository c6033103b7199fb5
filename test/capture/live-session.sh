#!/usr/bin/env bash
# One live-capture session, run INSIDE a private network namespace (`unshare -n`) by live.test.ts:
# a real MCP SDK Streamable HTTP server and client talk over lo while `shadowtap capture` watches, then
# the capture is stopped with SIGINT. Everything it makes goes to $OUT:
#   capture.ndjson (stdout), capture.err, capture.rc, live-before-stop.ndjson (stdout as it was just before
#   SIGINT), capture.pcap, report.json, server.log, client.log, client.rc
# Environment: OUT, SHADOWTAP (path to bin/shadowtap.js), MAKE_DIR (fixtures/make), SERVER_IP, CLIENT_IP, PORT,
#   FILTER (optional BPF filter for the capture), STOP_SIGNAL (INT by default).
set -euo pipefail
: "${OUT:?}" "${SHADOWTAP:?}" "${MAKE_DIR:?}" "${SERVER_IP:?}" "${CLIENT_IP:?}" "${PORT:?}"

PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

ip link set lo up
# Both addresses on lo; connections to the server get the client address as source, so the capture has a
# distinct client and server (as in fixtures/make/lib.sh).
ip addr add "$SERVER_IP/32" dev lo
ip addr add "$CLIENT_IP/32" dev lo
ip route replace local "$SERVER_IP" dev lo proto kernel scope host src "$CLIENT_IP" table local

node "$MAKE_DIR/mcp-http-server.mjs" --host "$SERVER_IP" --port "$PORT" --mode streamable >"$OUT/server.log" 2>&1 &
PIDS+=($!)

args=(capture -i lo --format ndjson --write "$OUT/capture.pcap" --report "$OUT/report.json")
if [[ -n "${FILTER:-}" ]]; then args+=(--filter "$FILTER"); fi
node "$SHADOWTAP" "${args[@]}" >"$OUT/capture.ndjson" 2>"$OUT/capture.err" &
CAPTURE=$!
PIDS+=($CAPTURE)

# The server is up when its port answers; the capture is up when its socket is open (ss lists packet sockets).
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/$SERVER_IP/$PORT") 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 1 100); do ss -0 -p 2>/dev/null | grep -q "pid=$CAPTURE," && break; sleep 0.1; done
sleep 0.3

set +e
timeout 20 node "$MAKE_DIR/mcp-client.mjs" --url "http://$SERVER_IP:$PORT/mcp" >"$OUT/client.log" 2>&1
echo $? >"$OUT/client.rc"
set -e

# Findings are printed by a 1 s tick: give it up to 4 s to show one (none will come with an excluding filter).
for _ in $(seq 1 40); do grep -q '"event":"new"' "$OUT/capture.ndjson" && break; sleep 0.1; done
cp "$OUT/capture.ndjson" "$OUT/live-before-stop.ndjson"

kill -"${STOP_SIGNAL:-INT}" "$CAPTURE"
set +e
wait "$CAPTURE"
echo $? >"$OUT/capture.rc"
