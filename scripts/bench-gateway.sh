#!/usr/bin/env bash
# Gateway throughput and latency with wrk (Debian package) against a release `ecsim serve` on
# loopback, with a fixed signed request per operation. Bounded: each run lasts DURATION seconds.
# Usage: scripts/bench-gateway.sh [DURATION_SECONDS]   (needs: cargo build --release; wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
PORT="${ECSIM_BENCH_PORT:-45999}"
BIN=target/release/ecsim
URL="http://127.0.0.1:$PORT"
WORK="$(mktemp -d)"

# Large subnets, so RunTask never runs out of addresses during the run.
echo '{"topology":{"defaultVpcCidr":"10.0.0.0/8","defaultSubnetPrefixLength":11}}' >"$WORK/config.json"
START_NS=$(date +%s%N)
"$BIN" serve --listen "127.0.0.1:$PORT" --log-level error --config "$WORK/config.json" >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 1000); do curl -sf "$URL/_ecsim/health" >/dev/null && break; sleep 0.005; done
echo "== cold start to first answered request: $(( ($(date +%s%N) - START_NS) / 1000000 )) ms"
echo "== idle RSS before any API call (KiB): $(ps -o rss= -p $PID)"

AUTH='AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7'
call() { curl -sf "$URL/" -H "x-amz-target: AmazonEC2ContainerServiceV20141113.$1" \
  -H 'content-type: application/x-amz-json-1.1' -H "authorization: $AUTH" -d "$2" >/dev/null; }
TD='{"family":"bench","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"web","image":"nginx:latest","portMappings":[{"containerPort":8080}]}]}'
NET='{"awsvpcConfiguration":{"subnets":["subnet-0ec5100000000000a","subnet-0ec5100000000000b","subnet-0ec5100000000000c","subnet-0ec5100000000000d","subnet-0ec5100000000000e"]}}'
call CreateCluster '{"clusterName":"bench"}'
call RegisterTaskDefinition "$TD"
call CreateService "{\"cluster\":\"bench\",\"serviceName\":\"web\",\"taskDefinition\":\"bench\",\"desiredCount\":10,\"launchType\":\"FARGATE\",\"networkConfiguration\":$NET}"
sleep 1

lua() { # name op body
  cat >"$WORK/$1.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$3]]
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AmazonEC2ContainerServiceV20141113.$2"
wrk.headers["Authorization"] = "$AUTH"
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
LUA
}
lua describe_clusters DescribeClusters '{"clusters":["bench"]}'
lua describe_services DescribeServices '{"cluster":"bench","services":["web"]}'
lua register_task_definition RegisterTaskDefinition "$TD"
lua run_task RunTask "{\"cluster\":\"bench\",\"taskDefinition\":\"bench\",\"count\":10,\"launchType\":\"FARGATE\",\"networkConfiguration\":$NET}"

for name in describe_clusters describe_services register_task_definition; do
  echo "== $name (wrk -t1 -c8 -d${DURATION}s)"
  wrk -t1 -c8 -d"${DURATION}s" --latency -s "$WORK/$name.lua" "$URL/" | grep -E "Requests/sec|50%|90%|99%|Non-2xx" || true
done
# RunTask creates ten tasks per call: keep it short so the task table stays bounded.
echo "== run_task count=10 (wrk -t1 -c1 -d3s)"
wrk -t1 -c1 -d3s --latency -s "$WORK/run_task.lua" "$URL/" | grep -E "Requests/sec|50%|90%|99%|Non-2xx" || true
echo "== RSS after the runs (KiB): $(ps -o rss= -p $PID)  tasks: $(curl -sf "$URL/_ecsim/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"])')"
