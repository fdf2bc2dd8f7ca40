#!/bin/bash
# The front's client-side engines side by side with Nginx, in front of the same app server
# (uWS, 1 worker, access logs off everywhere): proxied GET /api/ping/ and static 1 KB
# (app/static/hello.txt), wrk -t1 -c${CONNECTIONS:-32} for ${DURATION:-5} s, ${ROUNDS:-3}
# interleaved rounds. Prints req/s and each front's own CPU µs per request (utime + stime from
# /proc/PID/stat over the run). Engines: ENGINES="net http" (default; add "uws" on a checkout
# that still has it). Usage: bench/front-engines.sh
set -u
cd "$(dirname "$0")/.."
ENGINES=${ENGINES:-"net http"}
BASE=${PORT_BASE:-18300}
APP=$((BASE + 1)); NGX=$((BASE + 9))
TMP=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  [ -f "$TMP/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
node --import tsx server/pool/cli.ts --listen 127.0.0.1:$APP --workers 1 --engine uws --access-log off >"$TMP/app.log" 2>&1 & pids+=($!)
declare -A PORT PID
i=2
for e in $ENGINES; do
  PORT[$e]=$((BASE + i)); i=$((i + 1))
  node --import tsx proxy/cli.ts --front-engine "$e" --listen 127.0.0.1:${PORT[$e]} --upstream 127.0.0.1:$APP \
    --static /static/=app/static --access-log off >"$TMP/$e.log" 2>&1 & PID[$e]=$!; pids+=($!)
done
cat >"$TMP/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $TMP/nginx.pid; error_log $TMP/nginx-error.log;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 100000; sendfile on;
  upstream app { server 127.0.0.1:$APP; keepalive 64; }
  server { listen 127.0.0.1:$NGX; location /static/ { alias $PWD/app/static/; }
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; } } }
NGX
nginx -c "$TMP/nginx.conf" -p "$TMP" >/dev/null 2>&1 &
pids+=($!)
# Ready when every front answers ping with 200.
for _ in $(seq 60); do
  ok=1
  for e in $ENGINES; do curl -fs -o /dev/null "http://127.0.0.1:${PORT[$e]}/api/ping/" || ok=0; done
  curl -fs -o /dev/null "http://127.0.0.1:$NGX/api/ping/" || ok=0
  [ $ok = 1 ] && break
  sleep 0.5
done
PORT[nginx]=$NGX
PID[nginx]=$(pgrep -P "$(cat "$TMP/nginx.pid")" | head -1)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for r in $(seq "${ROUNDS:-3}"); do
  for path in /api/ping/ /static/hello.txt; do
    for e in $ENGINES nginx; do
      c0=$(cpu "${PID[$e]}")
      out=$(wrk -t1 -c"${CONNECTIONS:-32}" -d"${DURATION:-5}"s "http://127.0.0.1:${PORT[$e]}$path" 2>&1)
      c1=$(cpu "${PID[$e]}")
      rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      n=$(echo "$out" | awk '/requests in/ {print $1}')
      non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
      us=$(awk -v c=$((c1 - c0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", c * 1e6 / hz / n }')
      echo "round $r  $path  $e  req/s=$rps  cpu_us_per_req=$us  non2xx=${non2xx:-0}"
    done
  done
done
