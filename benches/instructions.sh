#!/usr/bin/env bash
# Instructions the gateway executes per maas lock + unlock cycle, counted by valgrind's callgrind:
# the same figure on every run of the same binary, whatever else the machine is doing, so a change
# of a few percent shows (the timed benchmark, `cargo bench --bench hotpath`, moves by ±15 %).
#
#   bash benches/instructions.sh [BINARY]     # default: target/release/lockgate
#
# Needs valgrind, redis-server and python3. It serves 200 and then 1,200 cycles from one keep-alive
# client on one worker thread and prints the difference per cycle (start-up cancels out), and the
# functions that grew the most between the two runs.
set -euo pipefail
binary=${1:-target/release/lockgate}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() {
  local cycles=$1 redis_port gateway_port redis_pid gateway_pid
  redis_port=$(free_port)
  gateway_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
  redis_pid=$!
  LOCKGATE_SERVER__LISTEN=127.0.0.1:$gateway_port LOCKGATE_REDIS__URL=redis://127.0.0.1:$redis_port \
    LOCKGATE_LOG__LEVEL=warn LOCKGATE_SERVER__WORKER_THREADS=1 \
    valgrind --tool=callgrind --callgrind-out-file="$work/$cycles.out" "$binary" serve \
    >"$work/$cycles.log" 2>&1 &
  gateway_pid=$!
  python3 - "$gateway_port" "$cycles" <<'PY'
import http.client, json, sys, time
port, cycles = int(sys.argv[1]), int(sys.argv[2])
for _ in range(300):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", "/healthz"); conn.getresponse().read(); break
    except OSError:
        time.sleep(0.1)
for _ in range(cycles):
    conn.request("PUT", "/mutex/lock/counted?timeout=0")
    body = json.loads(conn.getresponse().read())
    conn.request("DELETE", "/mutex/lock/counted?mutex_id=" + body["mutex_id"])
    conn.getresponse().read()
PY
  kill -INT "$gateway_pid"
  wait "$gateway_pid" || true
  kill "$redis_pid"
  wait "$redis_pid" || true
}

run 200
run 1200
python3 - "$work" <<'PY'
import re, subprocess, sys
work = sys.argv[1]
def functions(cycles):
    out = subprocess.run(["callgrind_annotate", "--threshold=100", f"{work}/{cycles}.out"],
                         capture_output=True, text=True).stdout
    table = {}
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+) \([^)]*\)\s+(.*)$", line)
        if m:
            table[m.group(2)] = int(m.group(1).replace(",", ""))
    return table
small, large = functions(200), functions(1200)
per_cycle = (large["PROGRAM TOTALS"] - small["PROGRAM TOTALS"]) / 1000
print(f"gateway instructions per maas cycle: {per_cycle:,.0f} ({per_cycle / 2:,.0f} per request)")
grown = sorted(((large.get(k, 0) - small.get(k, 0)) / 1000, k) for k in large if k != "PROGRAM TOTALS")
for count, name in reversed(grown[-15:]):
    print(f"{count:10,.0f}  {name[:120]}")
PY
