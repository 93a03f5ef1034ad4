#!/usr/bin/env bash
# Measures ecsim's resident memory with N running task containers (default 200) on the Docker
# runtime: starts a release `ecsim serve --runtime docker`, runs N one-container Fargate tasks of
# the test image over three AZs, waits until all are RUNNING, and prints ecsim's VmRSS before and
# after. Sends traffic only to 127.0.0.1; stops ecsim (which removes its containers) on exit.
# Usage: scripts/bench-docker-memory.sh [N] [PORT]
set -euo pipefail
n="${1:-200}"
port="${2:-4599}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build --release --bin ecsim >&2
bash scripts/build-testapp-image.sh >/dev/null
url="http://127.0.0.1:$port"
target/release/ecsim serve --runtime docker --listen "127.0.0.1:$port" --docker-instance bench-memory \
  --no-pull --log-level warn >/tmp/ecsim-bench-memory.log 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$url/_ecsim/health" >/dev/null && break; sleep 0.1; done

ecs() {
  curl -sf -H "X-Amz-Target: AmazonEC2ContainerServiceV20141113.$1" \
    -H 'Content-Type: application/x-amz-json-1.1' -d "$2" "$url/" >/dev/null
}
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
running() {
  curl -sf "$url/_ecsim/tasks" | python3 -c 'import json,sys; print(sum(t["lastStatus"]=="RUNNING" for t in json.load(sys.stdin)["tasks"]))'
}

ecs CreateCluster '{"clusterName":"memory"}'
ecs RegisterTaskDefinition '{"family":"memory","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"ecsim-testapp:latest","portMappings":[{"containerPort":8080}]}]}'
idle_kib="$(rss)"
start_s="$(date +%s.%N)"
left="$n"
while [ "$left" -gt 0 ]; do
  count=$(( left < 10 ? left : 10 ))
  ecs RunTask "{\"cluster\":\"memory\",\"taskDefinition\":\"memory\",\"count\":$count,\"launchType\":\"FARGATE\",\"networkConfiguration\":{\"awsvpcConfiguration\":{\"subnets\":[\"subnet-0ec5100000000000a\",\"subnet-0ec5100000000000b\",\"subnet-0ec5100000000000c\"]}}}"
  left=$(( left - count ))
done
for _ in $(seq 1 1200); do
  [ "$(running)" -ge "$n" ] && break
  sleep 0.25
done
end_s="$(date +%s.%N)"
got="$(running)"
loaded_kib="$(rss)"
echo "tasks RUNNING: $got of $n in $(python3 -c "print(round($end_s - $start_s, 1))") s"
echo "ecsim VmRSS idle (after setup): $idle_kib KiB"
echo "ecsim VmRSS with $got running containers: $loaded_kib KiB ($(( (loaded_kib - idle_kib) / (got > 0 ? got : 1) )) KiB per task)"
