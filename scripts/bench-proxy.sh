#!/usr/bin/env bash
# Load balancer data plane against nginx, on loopback: two http-backend upstreams weighted 3:1,
# nginx (worker_processes 1, like ecsim's single-threaded runtime; then auto, throughput only) and
# an ecsim ALB listener forwarding to two target groups weighted 3:1. Throughput with wrk (closed
# loop, -t1 -c32) and latency at a fixed offered load with loadgen (open loop, measured from each
# request's scheduled send time). Bounded: each run lasts DURATION seconds (loadgen adds a 2 s
# warm-up); everything started here is killed on exit.
# Usage: scripts/bench-proxy.sh [DURATION_SECONDS]
#   needs: cargo build --release --bin ecsim && cargo build --release -p ecsim-benches --bins;
#          nginx, wrk, curl, python3 (Debian packages)
#   env:   BENCH_BIN_DIR (target/release) holds http-backend and loadgen, ECSIM_BIN
#          ($BENCH_BIN_DIR/ecsim), BENCH_RATE (5000 req/s), BENCH_SKIP_ECSIM=1 (direct and nginx only)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
BIN_DIR="${BENCH_BIN_DIR:-target/release}"
ECSIM="${ECSIM_BIN:-$BIN_DIR/ecsim}"
BACKEND="$BIN_DIR/http-backend"
LOADGEN="$BIN_DIR/loadgen"
RATE="${BENCH_RATE:-5000}"
CONNS=32
SKIP_ECSIM="${BENCH_SKIP_ECSIM:-0}"
B1=46101 B2=46102 NGINX_PORT=46080 NGINX_AUTO_PORT=46082 API_PORT=46566 LISTENER_PORT=46081
API="http://127.0.0.1:$API_PORT"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
die() { echo "bench-proxy: $*" >&2; exit 1; }

for tool in "$BACKEND" "$LOADGEN"; do
  [ -x "$tool" ] || die "$tool missing: cargo build --release -p ecsim-benches --bins (or set BENCH_BIN_DIR)"
done
if [ "$SKIP_ECSIM" != 1 ]; then
  [ -x "$ECSIM" ] || die "$ECSIM missing: cargo build --release --bin ecsim (or set ECSIM_BIN)"
fi
for tool in nginx wrk curl python3; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || die "$tool is not installed"
done
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

# The address must be free: a stale server there would be measured instead.
port_free() { ! curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; }
for port in $B1 $B2 $NGINX_PORT $NGINX_AUTO_PORT $API_PORT $LISTENER_PORT; do
  port_free "$port" || die "127.0.0.1:$port is already in use"
done
# Waits until URL answers with the status (any status when none is given); 10 s at most.
wait_http() {
  local code
  for _ in $(seq 1 400); do
    code="$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "$1" || true)"
    if [ -n "${2:-}" ]; then [ "$code" = "$2" ] && return 0; else [ "$code" != 000 ] && return 0; fi
    sleep 0.025
  done
  return 1
}
# Counts which backend answered N keep-alive GETs: the weighted split as seen by a client.
split() {
  python3 - "$1" 400 <<'PY'
import collections, http.client, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
seen = collections.Counter()
for _ in range(int(sys.argv[2])):
    conn.request("GET", "/")
    r = conn.getresponse()
    seen[r.read().decode().strip() if r.status == 200 else f"HTTP {r.status}"] += 1
print(" ".join(f"{k}={v}" for k, v in sorted(seen.items())))
PY
}

"$BACKEND" "$B1" a >"$WORK/backend-a.log" 2>&1 &
BACKEND_A_PID=$!
PIDS+=($!)
"$BACKEND" "$B2" b >"$WORK/backend-b.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$B1/" 200 || die "http-backend a did not start: $(cat "$WORK/backend-a.log")"
wait_http "http://127.0.0.1:$B2/" 200 || die "http-backend b did not start: $(cat "$WORK/backend-b.log")"

# nginx in the foreground of a background job (daemon off), so the trap's kill stops it.
NGINX_PID=
start_nginx() { # workers port
  local dir="$WORK/nginx-$1"
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<CONF
worker_processes $1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
$( [ "$(id -u)" = 0 ] && echo 'user root;' )
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 1000000;
  upstream backends {
    server 127.0.0.1:$B1 weight=3;
    server 127.0.0.1:$B2 weight=1;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$2;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
  "$NGINX" -c "$dir/nginx.conf" -p "$dir" >"$dir/stdout.log" 2>&1 &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  wait_http "http://127.0.0.1:$2/" 200 || die "nginx did not start: $(cat "$dir/stdout.log" "$dir/error.log" 2>/dev/null)"
}
start_nginx 1 "$NGINX_PORT"
NGINX_URL="http://127.0.0.1:$NGINX_PORT"

ECSIM_URL=
if [ "$SKIP_ECSIM" != 1 ]; then
  "$ECSIM" serve --listen "127.0.0.1:$API_PORT" --runtime sim --log-level error >"$WORK/ecsim.log" 2>&1 &
  ECSIM_PID=$!
  PIDS+=("$ECSIM_PID")
  wait_http "$API/_ecsim/health" 200 || die "ecsim serve did not start: $(cat "$WORK/ecsim.log")"
  # ELBv2 speaks awsQuery; unsigned requests are accepted and routed by the Version field.
  elb() { # Name=value...
    local args=(--data-urlencode Version=2015-12-01)
    for field in "$@"; do args+=(--data-urlencode "$field"); done
    curl -s "$API/" "${args[@]}"
  }
  xml() { { grep -o "<$1>[^<]*</$1>" || true; } | head -1 | sed 's/<[^>]*>//g'; }
  OUT="$(elb Action=DescribeLoadBalancers)"
  if grep -q NotImplemented <<<"$OUT"; then
    die "this ecsim ($ECSIM) answers NotImplemented to ELBv2 DescribeLoadBalancers: the load balancer is not built into it yet (BENCH_SKIP_ECSIM=1 runs the direct and nginx parts alone)"
  fi
  OUT="$(elb Action=CreateLoadBalancer Name=bench Subnets.member.1=subnet-0ec5100000000000a Subnets.member.2=subnet-0ec5100000000000b)"
  LB_ARN="$(xml LoadBalancerArn <<<"$OUT")"
  [ -n "$LB_ARN" ] || die "CreateLoadBalancer failed: $OUT"
  TGS=()
  for name_port in "a $B1" "b $B2"; do
    read -r name port <<<"$name_port"
    OUT="$(elb Action=CreateTargetGroup "Name=bench-$name" Protocol=HTTP "Port=$port" VpcId=vpc-0ec5100000000000d \
      TargetType=ip HealthCheckIntervalSeconds=5 HealthCheckTimeoutSeconds=2 HealthyThresholdCount=2)"
    TG="$(xml TargetGroupArn <<<"$OUT")"
    [ -n "$TG" ] || die "CreateTargetGroup bench-$name failed: $OUT"
    OUT="$(elb Action=RegisterTargets "TargetGroupArn=$TG" Targets.member.1.Id=127.0.0.1 "Targets.member.1.Port=$port")"
    grep -q '<RegisterTargetsResponse' <<<"$OUT" || die "RegisterTargets in bench-$name failed: $OUT"
    TGS+=("$TG")
  done
  OUT="$(elb Action=CreateListener "LoadBalancerArn=$LB_ARN" Protocol=HTTP "Port=$LISTENER_PORT" \
    DefaultActions.member.1.Type=forward \
    "DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=${TGS[0]}" \
    DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight=3 \
    "DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn=${TGS[1]}" \
    DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.Weight=1)"
  LISTENER_ARN="$(xml ListenerArn <<<"$OUT")"
  [ -n "$LISTENER_ARN" ] || die "CreateListener failed: $OUT"
  ECSIM_URL="$(curl -s "$API/_ecsim/listeners" | python3 -c '
import json, sys
arn = sys.argv[1]
print(next((l["url"] for l in json.load(sys.stdin)["listeners"] if l["listenerArn"] == arn), ""))' "$LISTENER_ARN")"
  [ -n "$ECSIM_URL" ] || die "the listener is not in /_ecsim/listeners: $(curl -s "$API/_ecsim/listeners")"
  # Targets start in the initial health state: wait (30 s at most) until both are healthy.
  for _ in $(seq 1 120); do
    healthy=0
    for TG in "${TGS[@]}"; do
      elb Action=DescribeTargetHealth "TargetGroupArn=$TG" | grep -q '<State>healthy</State>' && healthy=$((healthy + 1))
    done
    [ "$healthy" = 2 ] && break
    sleep 0.25
  done
  [ "$healthy" = 2 ] || echo "bench-proxy: warning: only $healthy of 2 targets healthy after 30 s"
  wait_http "$ECSIM_URL/" 200 || die "the ecsim listener at $ECSIM_URL does not answer 200: $(curl -s -i "$ECSIM_URL/" | head -5)"
fi

DIRECT_URL="http://127.0.0.1:$B1"
echo "== split over 400 keep-alive requests (want a:b = 3:1): nginx $(split "$NGINX_URL")${ECSIM_URL:+, ecsim $(split "$ECSIM_URL")}"

rps() { awk '/^Requests\/sec/ {print $2}'; }
throughput() { # label url
  echo "== throughput $1 (wrk -t1 -c$CONNS -d${DURATION}s) $2"
  wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$2/" >"$WORK/wrk.txt"
  grep -E "Requests/sec|^ +(50|90|99)%|Non-2xx|Socket errors" "$WORK/wrk.txt" || true
  RPS["$1"]="$(rps <"$WORK/wrk.txt")"
}
declare -A RPS P50 P99 TP99 CPU
throughput direct "$DIRECT_URL"
throughput nginx "$NGINX_URL"
[ -n "$ECSIM_URL" ] && throughput ecsim "$ECSIM_URL"

field() { grep -o " $1=[0-9.]*" | head -1 | cut -d= -f2; }
# CPU time (user + system, clock ticks, all threads) of the processes.
cpu_ticks() {
  local total=0 pid f
  for pid in "$@"; do
    read -r -a f <"/proc/$pid/stat" 2>/dev/null || continue
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}
latency() { # label url pid...
  local label="$1" url="$2" before after
  shift 2
  echo "== latency $label (loadgen --rate $RATE --duration-s $DURATION --connections $CONNS, 2 s warm-up) $url"
  before="$(cpu_ticks "$@")"
  "$LOADGEN" --url "$url/" --rate "$RATE" --duration-s "$DURATION" --warmup-s 2 --connections "$CONNS" \
    >"$WORK/loadgen.txt" || { cat "$WORK/loadgen.txt"; die "loadgen against $label failed"; }
  after="$(cpu_ticks "$@")"
  cat "$WORK/loadgen.txt"
  CPU["$label"]="$(awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" \
    -v w=2 -v d="$DURATION" -v r="$RATE" 'BEGIN {printf "%.1f", t / hz * 1e6 / (r * (w + d))}')"
  echo "   CPU of the server under test (not counting the backends behind a proxy): ${CPU[$label]} us per request"
  P50["$label"]="$(field p50_us <"$WORK/loadgen.txt")"
  P99["$label"]="$(field p99_us <"$WORK/loadgen.txt")"
  TP99["$label"]="$(field target_p99_us <"$WORK/loadgen.txt")"
}
latency direct "$DIRECT_URL" "$BACKEND_A_PID"
# shellcheck disable=SC2046 # one pid a word
latency nginx "$NGINX_URL" "$NGINX_PID" $(pgrep -P "$NGINX_PID")
[ -n "$ECSIM_URL" ] && latency ecsim "$ECSIM_URL" "$ECSIM_PID"

NGINX_RSS="$(ps -o rss= -p "$NGINX_PID" --ppid "$NGINX_PID" | awk '{s += $1} END {print s}')"
[ -n "$ECSIM_URL" ] && ECSIM_RSS="$(ps -o rss= -p "$ECSIM_PID" | tr -d ' ')"

# nginx with one worker per core, for scale (throughput only).
kill "$NGINX_PID" 2>/dev/null || true
wait "$NGINX_PID" 2>/dev/null || true
start_nginx auto "$NGINX_AUTO_PORT"
throughput nginx-auto "http://127.0.0.1:$NGINX_AUTO_PORT"

echo "== summary ($(nproc) cores; $RATE req/s offered for latency)"
for t in direct nginx ecsim nginx-auto; do
  [ -n "${RPS[$t]:-}" ] || continue
  printf '%-10s wrk %10s req/s' "$t" "${RPS[$t]}"
  [ -n "${P99[$t]:-}" ] && printf '   loadgen p50 %6s us  p99 %6s us  (p99 without loadgen lateness %6s us)  CPU %5s us/req' \
    "${P50[$t]}" "${P99[$t]}" "${TP99[$t]}" "${CPU[$t]}"
  echo
done
echo "added p99 over direct: nginx $((P99[nginx] - P99[direct])) us${ECSIM_URL:+, ecsim $((P99[ecsim] - P99[direct])) us}" \
  "(without loadgen lateness: nginx $((TP99[nginx] - TP99[direct])) us${ECSIM_URL:+, ecsim $((TP99[ecsim] - TP99[direct])) us})"
if [ -n "$ECSIM_URL" ]; then
  echo "throughput ecsim/nginx (1 worker): $(awk -v e="${RPS[ecsim]}" -v n="${RPS[nginx]}" 'BEGIN {printf "%.2f", e / n}')"
  echo "RSS after the runs (KiB): ecsim $ECSIM_RSS, nginx 1 worker (master + worker) $NGINX_RSS"
else
  echo "RSS after the runs (KiB): nginx 1 worker (master + worker) $NGINX_RSS (ecsim skipped)"
fi
