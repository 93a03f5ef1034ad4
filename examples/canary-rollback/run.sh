#!/usr/bin/env bash
# A CodeDeploy blue/green canary that rolls back on a CloudWatch alarm, against ecsim.
#
# Creates a cluster, a CODE_DEPLOY service of 40 tasks across 5 AZs behind an ALB (blue and
# green target groups, production listener :80, test listener :8080), a 5xx alarm on the green
# target group, a custom deployment config of 25% for 10 minutes, and deploys a bad revision
# (half its answers are 500s) while production traffic flows. The alarm fires during the canary
# and CodeDeploy rolls back. The script checks that outcome, prints a summary and deletes
# everything it created (also on failure or Ctrl-C), so it can be run again.
#
# Needs ecsim already running, e.g. `ecsim serve --time-scale 60` (Docker tasks when a daemon
# answers, else simulated tasks), the AWS CLI, curl and jq; docker for the Docker runtime.
# See README.md beside this file.
#
# Environment (all optional):
#   AWS_ENDPOINT_URL  ecsim's address (default http://127.0.0.1:4566)
#   NAME              prefix of the resource names (default canary-demo)
#   DESIRED           tasks in the service (default 40)
#   IMAGE             the test application's image (default ecsim-testapp:latest)
#   TRAFFIC_RPS       Docker runtime: real requests per second to the production listener
#                     (default 100); simulated runtime: simulated requests per control-plane
#                     second through /_ecsim/traffic (default 20)
#   POLL_SECONDS      pause between two polls of the deployment (default 1)
#   HC_INTERVAL, HC_TIMEOUT  target groups' health check interval and timeout in seconds
#                     (default 5 and 4 on simulated tasks, 15 and 10 on Docker)
#   KEEP=1            leave the resources in place at the end (the next run deletes them)
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$script_dir/../.." && pwd)"

endpoint="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
endpoint="${endpoint%/}"
# Dummy credentials, never a profile: every call goes to ecsim.
unset AWS_PROFILE AWS_SESSION_TOKEN
export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_MAX_ATTEMPTS=3

name="${NAME:-canary-demo}"
desired="${DESIRED:-40}"
image="${IMAGE:-ecsim-testapp:latest}"
poll="${POLL_SECONDS:-1}"
cluster="$name"
service="web"
family="$name-web"
lb_name="$name"
blue_name="$name-blue"
green_name="$name-green"
alarm_name="green-5xx"
config_name="Canary25Percent10Minutes"
app_name="$name"
group_name="$name-dg"

start_time="$EPOCHREALTIME"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
scale=60
traffic_pid=""
traffic_id=""
sim_traffic=""
# What this run created (known ARNs spare the clean-up its look-ups).
lb_arn=""
blue_tg=""
green_tg=""
td_v1=""
td_v2=""
service_created=""
app_created=""

aws() { command aws --endpoint-url "$endpoint" --region us-east-1 "$@"; }
since() { awk -v s="$1" -v n="$EPOCHREALTIME" 'BEGIN { printf "%.1f", n - s }'; }
elapsed() { since "$start_time"; }
log() { printf '[%6ss] %s\n' "$(elapsed)" "$*"; }
fail() {
  printf '[%6ss] FAIL: %s\n' "$(elapsed)" "$*" >&2
  exit 1
}
# ecsim's own API (/_ecsim/...) through curl, failing on HTTP errors.
ecsim_api() {
  local method="$1" path="$2"
  shift 2
  curl -fsS --max-time 10 -X "$method" -H 'Content-Type: application/json' "$@" "$endpoint$path"
}
# seconds_for N: real seconds for N control-plane seconds at the server's time scale, plus 120 s
# for what the scale does not speed up (containers starting and stopping, the CLI itself).
seconds_for() { awk -v s="$1" -v k="$scale" 'BEGIN { printf "%d", s / k + 120 }'; }

# Each AWS CLI call costs about a second of CPU (Python start-up), so independent calls run in
# parallel: `spawn NAME command...` starts one with its output in $work/NAME, `join` waits for
# every spawned call and fails with the first error.
spawned=()
spawn() {
  local out="$1"
  shift
  "$@" >"$work/$out" 2>"$work/$out.err" &
  spawned+=("$!:$out")
}
join() {
  local job rc=0 failed=""
  for job in "${spawned[@]}"; do
    if ! wait "${job%%:*}"; then
      rc=1
      failed="${failed:-${job#*:}: $(cat "$work/${job#*:}.err")}"
    fi
  done
  spawned=()
  [ "$rc" = 0 ] || fail "$failed"
}
out() { cat "$work/$1"; }

for tool in curl jq; do
  command -v "$tool" >/dev/null || fail "$tool is required"
done
command -v aws >/dev/null || fail "the AWS CLI is required (pip install awscli)"

# --- Cleanup -------------------------------------------------------------------------------

stop_traffic() {
  if [ -n "$traffic_pid" ]; then
    touch "$work/stop-traffic"
    kill "$traffic_pid" 2>/dev/null || true
    wait "$traffic_pid" 2>/dev/null || true
    traffic_pid=""
  fi
  if [ -n "$traffic_id" ]; then
    ecsim_api DELETE "/_ecsim/traffic/$traffic_id" >/dev/null 2>&1 || true
    traffic_id=""
  fi
}

# The CodeDeploy side and the alarm: an unfinished deployment first (a group with one running
# cannot go), then the group, the application, the config.
delete_deploy_side() {
  local id
  if [ -n "$app_created" ] ||
    aws deploy get-application --application-name "$app_name" >/dev/null 2>&1; then
    for id in $(aws deploy list-deployments --application-name "$app_name" \
      --deployment-group-name "$group_name" \
      --include-only-statuses Created Queued InProgress Ready \
      --query 'deployments[]' --output text 2>/dev/null); do
      aws deploy stop-deployment --deployment-id "$id" --no-auto-rollback-enabled \
        >/dev/null 2>&1 || true
    done
    aws deploy delete-application --application-name "$app_name" >/dev/null 2>&1 || true
  fi
  aws deploy delete-deployment-config --deployment-config-name "$config_name" \
    >/dev/null 2>&1 || true
}

# The service (its tasks stop, draining first), the task definitions, then the cluster once no
# task is left.
delete_ecs_side() {
  local i left arn
  local tds=("$td_v1" "$td_v2")
  if [ -n "$service_created" ] || [ "$(aws ecs describe-services --cluster "$cluster" \
    --services "$service" --query 'services[0].status' --output text 2>/dev/null)" = ACTIVE ]; then
    aws ecs delete-service --cluster "$cluster" --service "$service" --force >/dev/null 2>&1 || true
  fi
  if [ -z "$td_v2" ]; then
    read -ra tds < <(aws ecs list-task-definitions --family-prefix "$family" --status ACTIVE \
      --query 'taskDefinitionArns[]' --output text 2>/dev/null || true)
  fi
  for arn in "${tds[@]}"; do
    case "$arn" in "" | None) continue ;; esac
    aws ecs deregister-task-definition --task-definition "$arn" >/dev/null 2>&1 &
  done
  for ((i = 0; i < 120; i++)); do
    left="$(aws ecs list-tasks --cluster "$cluster" --query 'length(taskArns)' \
      --output text 2>/dev/null || echo 0)"
    [ "$left" = 0 ] && break
    sleep 1
  done
  wait
  aws ecs delete-cluster --cluster "$cluster" >/dev/null 2>&1 || true
}

# The load balancer (with its listeners), then the target groups.
delete_elb_side() {
  local arn="$lb_arn" i tgs=("$blue_tg" "$green_tg")
  if [ -z "$arn" ]; then
    arn="$(aws elbv2 describe-load-balancers --names "$lb_name" \
      --query 'LoadBalancers[0].LoadBalancerArn' --output text 2>/dev/null || true)"
  fi
  if [ -n "$arn" ] && [ "$arn" != None ]; then
    aws elbv2 delete-load-balancer --load-balancer-arn "$arn" >/dev/null 2>&1 || true
  fi
  if [ -z "$blue_tg" ] || [ -z "$green_tg" ]; then
    read -ra tgs < <(aws elbv2 describe-target-groups \
      --query "TargetGroups[?TargetGroupName=='$blue_name' || TargetGroupName=='$green_name'].TargetGroupArn" \
      --output text 2>/dev/null || true)
  fi
  for arn in "${tgs[@]}"; do
    case "$arn" in "" | None) continue ;; esac
    (
      # In use until its listeners are gone: retry briefly.
      for ((i = 0; i < 10; i++)); do
        aws elbv2 delete-target-group --target-group-arn "$arn" >/dev/null 2>&1 && break
        sleep 1
      done
    ) &
  done
  wait
}

# Deletes every resource this example creates, found by name, so that it also removes what an
# interrupted earlier run left. Never fails; every wait is bounded.
delete_everything() {
  local pids=()
  delete_deploy_side &
  pids+=("$!")
  aws cloudwatch delete-alarms --alarm-names "$alarm_name" >/dev/null 2>&1 &
  pids+=("$!")
  delete_ecs_side &
  pids+=("$!")
  delete_elb_side &
  pids+=("$!")
  wait "${pids[@]}" 2>/dev/null || true
}

on_exit() {
  local rc=$? t
  trap - EXIT INT TERM
  stop_traffic
  if [ "${KEEP:-0}" = 1 ]; then
    log "KEEP=1: leaving the resources in place"
  else
    t="$EPOCHREALTIME"
    delete_everything
    log "cleaned up in $(since "$t") s"
  fi
  rm -rf "$work"
  exit "$rc"
}

# --- 1. ecsim and the image ----------------------------------------------------------------

health="$(curl -fsS --max-time 5 "$endpoint/_ecsim/health")" ||
  fail "ecsim does not answer at $endpoint (start it with: ecsim serve --time-scale 60)"
runtime="$(jq -r .runtime <<<"$health")"
# From here on, whatever happens, clean up on the way out.
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
clock="$(ecsim_api GET /_ecsim/clock)"
[ "$(jq -r .mode <<<"$clock")" = system ] ||
  fail "ecsim runs the virtual clock; this example needs the live one (ecsim serve --time-scale 60)"
scale="$(jq -r .timeScale <<<"$clock")"
log "ecsim $(jq -r .version <<<"$health") at $endpoint: $runtime runtime, time scale $scale"
if awk -v k="$scale" 'BEGIN { exit !(k < 60) }'; then
  log "note: at time scale $scale the 10-minute canary alone may take $(seconds_for 600) s;" \
    "ecsim serve --time-scale 60 makes the whole run about a minute"
fi

if [ "$runtime" = docker ]; then
  command -v docker >/dev/null || fail "ecsim runs Docker tasks, but there is no docker CLI here"
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    log "building $image (scripts/build-testapp-image.sh)"
    "$root/scripts/build-testapp-image.sh" "$image" >/dev/null
  fi
fi

# Leftovers of an interrupted earlier run: one look at ecsim's state (GET /_ecsim/state) says
# whether there are any, which spares a dozen CLI calls when there are none.
leftovers() {
  local state found
  state="$(ecsim_api GET /_ecsim/state 2>/dev/null)" || return 0
  found="$(jq -r --arg account "$account" --arg cluster "$cluster" --arg lb "$lb_name" \
    --arg blue "$blue_name" --arg green "$green_name" --arg alarm "$alarm_name" --arg app "$app_name" '
    ([.worlds[] | select(.accountId == $account and .region == "us-east-1")] | first // {}) as $w
    | ([$w.ecs.clusters[]? | select(.cluster.clusterName == $cluster)] | length > 0)
      or ([$w.elbv2.loadBalancers[]? | select(.LoadBalancerName == $lb)] | length > 0)
      or ([$w.elbv2.targetGroups[]? | select(.TargetGroupName == ($blue, $green))] | length > 0)
      or ([$w.cloudwatch.metricAlarms[]? | select(.AlarmName == $alarm)] | length > 0)
      or ([$w.codedeploy.applications[]? | select(.application.applicationName == $app)] | length > 0)
    | if . then "yes" elif ($w | has("codedeploy")) then "no" else "unknown" end' <<<"$state")"
  case "$found" in
    no) return 1 ;;
    # An ecsim that does not export CodeDeploy in its state: ask it.
    unknown) aws deploy get-application --application-name "$app_name" >/dev/null 2>&1 ;;
    *) return 0 ;;
  esac
}
account="$(jq -r .defaultAccountId <<<"$health")"
if leftovers; then
  t="$EPOCHREALTIME"
  delete_everything
  log "removed the leftovers of an earlier run ($(since "$t") s)"
fi

# --- 2. Network, load balancer, task definitions, service ----------------------------------

# The first five default subnets, one per Availability Zone (subnet-0ec5100000000000a … e in
# ecsim's default topology).
aws ec2 describe-subnets --filters Name=default-for-az,Values=true \
  --query 'sort_by(Subnets, &AvailabilityZone)[:5].[SubnetId,AvailabilityZone,VpcId]' \
  --output text >"$work/subnets"
mapfile -t subnets < <(cut -f1 "$work/subnets")
[ "${#subnets[@]}" = 5 ] || fail "expected 5 default subnets, got: $(cat "$work/subnets")"
[ "$(cut -f2 "$work/subnets" | sort -u | wc -l)" = 5 ] || fail "the subnets are not in 5 AZs"
vpc="$(cut -f3 "$work/subnets" | sort -u)"
[[ "$vpc" =~ ^vpc-[0-9a-f]+$ ]] || fail "the default subnets are not in one VPC: $vpc"
log "subnets in $vpc: $(awk '{ printf "%s%s (%s)", sep, $1, $2; sep=", " }' "$work/subnets")"
subnet_list="$(
  IFS=,
  echo "${subnets[*]}"
)"

# Fast health checks, thresholds 2. The time scale shortens the interval and the probe timeout
# alike (the timeout never below 50 ms): at 60x, interval 5 s and timeout 4 s (the most the
# interval allows) are 83 ms and 67 ms of real time. Simulated targets answer at once; real
# containers on a busy machine miss 67 ms often enough that targets flap and the service replaces
# tasks faster than Docker starts them, so on Docker the default is 15 s and 10 s (250 ms and
# 167 ms at 60x): a target is still healthy half a second after it starts.
if [ "$runtime" = docker ]; then
  hc_interval="${HC_INTERVAL:-15}" hc_timeout="${HC_TIMEOUT:-10}"
else
  hc_interval="${HC_INTERVAL:-5}" hc_timeout="${HC_TIMEOUT:-4}"
fi
target_group() {
  local arn
  arn="$(aws elbv2 create-target-group --name "$1" --protocol HTTP --port 8080 \
    --vpc-id "$vpc" --target-type ip --health-check-path /health \
    --health-check-interval-seconds "$hc_interval" --health-check-timeout-seconds "$hc_timeout" \
    --healthy-threshold-count 2 --unhealthy-threshold-count 2 \
    --query 'TargetGroups[0].TargetGroupArn' --output text)"
  aws elbv2 modify-target-group-attributes --target-group-arn "$arn" \
    --attributes Key=deregistration_delay.timeout_seconds,Value=0 >/dev/null
  echo "$arn"
}

# register VERSION [NAME=VALUE...]: task definition revision VERSION of the test application.
register() {
  local version="$1" env
  shift
  env="$(jq -cn --arg v "$version" '$ARGS.positional | map(split("=") | {name: .[0], value: .[1]})
    | [{name: "ECSIM_VERSION", value: $v}] + .' --args "$@")"
  jq -n --arg family "$family" --arg image "$image" --argjson env "$env" '{
    family: $family, networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"],
    cpu: "256", memory: "512",
    containerDefinitions: [{
      name: "web", image: $image, essential: true,
      portMappings: [{containerPort: 8080, protocol: "tcp"}],
      environment: $env
    }]
  }' >"$work/td-$version.json"
  aws ecs register-task-definition --cli-input-json "file://$work/td-$version.json" \
    --query 'taskDefinition.taskDefinitionArn' --output text
}

# The custom deployment config; one left by an earlier run is kept if it is the same.
deployment_config() {
  local routing='{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":25,"canaryInterval":10}}'
  if ! aws deploy create-deployment-config --deployment-config-name "$config_name" \
    --compute-platform ECS --traffic-routing-config "$routing" 2>"$work/config.create.err"; then
    grep -q DeploymentConfigAlreadyExists "$work/config.create.err" ||
      fail "$(cat "$work/config.create.err")"
    [ "$(aws deploy get-deployment-config --deployment-config-name "$config_name" \
      --query 'deploymentConfigInfo.trafficRoutingConfig' --output json | jq -cS .)" = \
      "$(jq -cS . <<<"$routing")" ] || fail "$config_name exists with other settings"
  fi
}

spawn cluster aws ecs create-cluster --cluster-name "$cluster"
spawn lb aws elbv2 create-load-balancer --name "$lb_name" --type application \
  --subnets "${subnets[@]}" --query 'LoadBalancers[0].LoadBalancerArn' --output text
spawn blue target_group "$blue_name"
spawn green target_group "$green_name"
spawn td_v1 register v1
join
lb_arn="$(out lb)"
blue_tg="$(out blue)"
green_tg="$(out green)"
td_v1="$(out td_v1)"

listener() {
  aws elbv2 create-listener --load-balancer-arn "$lb_arn" --protocol HTTP --port "$1" \
    --default-actions "Type=forward,TargetGroupArn=$blue_tg" \
    --query 'Listeners[0].ListenerArn' --output text
}
# v2 after v1, so that the revisions read in order (v1 is :1 on a fresh ecsim).
spawn td_v2 register v2 ECSIM_ERROR_RATE=0.5
spawn prod listener 80
spawn test listener 8080
join
td_v2="$(out td_v2)"
prod_listener="$(out prod)"
test_listener="$(out test)"
log "load balancer $lb_name: production listener :80 and test listener :8080 -> $blue_name"
log "target groups $blue_name, $green_name: health checks every $hc_interval s (timeout $hc_timeout s)"
log "task definitions: v1 $td_v1"
log "                  v2 $td_v2 (the bad revision: ECSIM_ERROR_RATE=0.5)"

aws ecs create-service --cluster "$cluster" --service-name "$service" \
  --task-definition "$td_v1" --desired-count "$desired" --launch-type FARGATE \
  --deployment-controller type=CODE_DEPLOY \
  --network-configuration "awsvpcConfiguration={subnets=[$subnet_list],assignPublicIp=DISABLED}" \
  --load-balancers "targetGroupArn=$blue_tg,containerName=web,containerPort=8080" \
  --health-check-grace-period-seconds 300 >/dev/null
service_created=1
log "service $service: $desired tasks of v1, CODE_DEPLOY controller; waiting for its task set"

# While the tasks start: the alarm and the CodeDeploy side (steps 3 and 4).
lb_dim="${lb_arn#*:loadbalancer/}"
green_dim="${green_tg##*:}"
spawn alarm aws cloudwatch put-metric-alarm --alarm-name "$alarm_name" \
  --alarm-description "5xx answers of the green (replacement) target group" \
  --namespace AWS/ApplicationELB --metric-name HTTPCode_Target_5XX_Count \
  --dimensions "Name=TargetGroup,Value=$green_dim" "Name=LoadBalancer,Value=$lb_dim" \
  --statistic Sum --period 60 --evaluation-periods 1 --threshold 5 \
  --comparison-operator GreaterThanThreshold --treat-missing-data notBreaching
spawn config deployment_config
spawn app aws deploy create-application --application-name "$app_name" --compute-platform ECS
join
app_created=1
log "alarm $alarm_name: Sum of HTTPCode_Target_5XX_Count > 5 in a minute, for $green_dim"
aws deploy create-deployment-group --application-name "$app_name" \
  --deployment-group-name "$group_name" \
  --service-role-arn "arn:aws:iam::$account:role/ecsCodeDeployRole" \
  --deployment-config-name "$config_name" \
  --ecs-services "clusterName=$cluster,serviceName=$service" \
  --deployment-style deploymentType=BLUE_GREEN,deploymentOption=WITH_TRAFFIC_CONTROL \
  --blue-green-deployment-configuration "$(jq -cn '{
      deploymentReadyOption: {actionOnTimeout: "CONTINUE_DEPLOYMENT"},
      terminateBlueInstancesOnDeploymentSuccess: {action: "TERMINATE", terminationWaitTimeInMinutes: 5}
    }')" \
  --load-balancer-info "$(jq -cn --arg blue "$blue_name" --arg green "$green_name" \
    --arg prod "$prod_listener" --arg test "$test_listener" '{
      targetGroupPairInfoList: [{
        targetGroups: [{name: $blue}, {name: $green}],
        prodTrafficRoute: {listenerArns: [$prod]},
        testTrafficRoute: {listenerArns: [$test]}
      }]
    }')" \
  --alarm-configuration "$(jq -cn --arg a "$alarm_name" '{enabled: true, alarms: [{name: $a}]}')" \
  --auto-rollback-configuration enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_ALARM \
  >/dev/null
log "CodeDeploy: config $config_name (TimeBasedCanary 25%, 10 minutes), application $app_name,"
log "            group $group_name (alarm $alarm_name; rollback on failure and on alarm)"

# `aws ecs wait services-stable` never succeeds for a CODE_DEPLOY service (its deployments[]
# stays empty), as on AWS: poll the task set instead.
deadline=$((SECONDS + $(seconds_for 600)))
last=""
while :; do
  line="$(aws ecs describe-services --cluster "$cluster" --services "$service" \
    --query 'services[0].taskSets[0].[stabilityStatus,runningCount,computedDesiredCount]' \
    --output text)"
  if [ "$line" != "$last" ]; then
    log "  task set: $(awk '{ printf "%s, %s of %s tasks running", $1, $2, $3 }' <<<"$line")"
    last="$line"
  fi
  [ "${line%%[[:space:]]*}" = STEADY_STATE ] && break
  [ "$SECONDS" -lt "$deadline" ] || fail "the service's task set never reached STEADY_STATE"
  sleep 1
done
spawn healthy aws elbv2 describe-target-health --target-group-arn "$blue_tg" \
  --query "length(TargetHealthDescriptions[?TargetHealth.State=='healthy'])" --output text
spawn tasks aws ecs list-tasks --cluster "$cluster" --service-name "$service" \
  --query 'taskArns[]' --output text
spawn listeners ecsim_api GET /_ecsim/listeners
join
[ "$(out healthy)" = "$desired" ] || fail "$(out healthy) of $desired targets healthy in $blue_name"
read -ra task_arns <"$work/tasks"
per_az="$(aws ecs describe-tasks --cluster "$cluster" --tasks "${task_arns[@]:0:100}" \
  --query 'tasks[].availabilityZone' --output text | tr '\t' '\n' | sort | uniq -c |
  awk '{ printf "%s%s %s", sep, $2, $1; sep=", " }')"
log "service steady: $(out healthy) healthy targets in $blue_name; tasks per AZ: $per_az"

# --- 5. Production traffic -----------------------------------------------------------------

prod_url="$(jq -r --arg l "$prod_listener" '.listeners[] | select(.listenerArn == $l) | .url' \
  "$work/listeners")"
case "$prod_url" in
  http://127.0.0.1:*) ;;
  *) fail "unexpected production listener address '$prod_url'" ;;
esac
curl -fsS --max-time 5 "$prod_url/" | grep -q 'v1' || fail "the production listener does not answer v1"

if [ "$runtime" = docker ]; then
  # Real requests to the production listener on loopback: parallel batches five times a
  # second, for at most traffic_seconds; the loop also stops when told to.
  rps="${TRAFFIC_RPS:-100}"
  batch=$(((rps + 4) / 5))
  traffic_seconds="$(seconds_for 1800)"
  (
    end=$((SECONDS + traffic_seconds))
    while [ "$SECONDS" -lt "$end" ] && [ ! -e "$work/stop-traffic" ]; do
      curl -s --max-time 2 --parallel --parallel-max 16 -o /dev/null -w '%{http_code}\n' \
        "$prod_url/?n=[1-$batch]" >>"$work/traffic.log" 2>/dev/null || true
      sleep 0.2
    done
  ) &
  traffic_pid=$!
  log "traffic: ~$rps real requests/s to $prod_url (curl; stops by itself after $traffic_seconds s)"
else
  rps="${TRAFFIC_RPS:-20}"
  traffic_id="$(ecsim_api POST /_ecsim/traffic -d "$(jq -cn --arg lb "$lb_arn" --argjson r "$rps" \
    '{loadBalancer: $lb, port: 80, requestsPerSecond: $r, durationSeconds: 7200}')" |
    jq -r .trafficId)"
  sim_traffic="$traffic_id"
  log "traffic: $rps simulated requests per control-plane second through :80 ($traffic_id)"
fi

# --- 6. The deployment of the bad revision -------------------------------------------------

appspec="$(jq -cn --arg td "$td_v2" '{
  version: "0.0",
  Resources: [{TargetService: {Type: "AWS::ECS::Service", Properties: {
    TaskDefinition: $td,
    LoadBalancerInfo: {ContainerName: "web", ContainerPort: 8080}
  }}}]
}' | sed 's/"version":"0.0"/"version":0.0/')"
sha="$(printf '%s' "$appspec" | sha256sum | cut -d' ' -f1)"
cw_start=$(($(ecsim_api GET /_ecsim/clock | jq .nowMs) / 1000 - 120))
deploy_start="$EPOCHREALTIME"
deployment_id="$(aws deploy create-deployment --application-name "$app_name" \
  --deployment-group-name "$group_name" --description "v2 (bad revision)" \
  --revision "$(jq -cn --arg c "$appspec" --arg s "$sha" \
    '{revisionType: "AppSpecContent", appSpecContent: {content: $c, sha256: $s}}')" \
  --query deploymentId --output text)"
log "deployment $deployment_id of v2 created; polling it"

# weights: "BLUE GREEN", the percentages of the production listener's forward action.
weights() {
  jq -r --arg b "$blue_tg" --arg g "$green_tg" '
    .Listeners[0].DefaultActions[] | select(.Type == "forward")
    | (.ForwardConfig.TargetGroups // [{TargetGroupArn: .TargetGroupArn, Weight: 1}]) as $tgs
    | ([$tgs[].Weight // 1] | add) as $total
    | def pct($arn): ([$tgs[] | select(.TargetGroupArn == $arn) | .Weight // 1] | add // 0)
        | if $total > 0 then (. * 100 / $total | round) else 0 end;
      "\(pct($b)) \(pct($g))"' "$1"
}

deadline=$((SECONDS + $(seconds_for 1800)))
max_green=0
while :; do
  spawn status aws deploy get-deployment --deployment-id "$deployment_id" \
    --query deploymentInfo.status --output text
  spawn listener.json aws elbv2 describe-listeners --listener-arns "$prod_listener" --output json
  spawn alarm_state aws cloudwatch describe-alarms --alarm-names "$alarm_name" \
    --query 'MetricAlarms[0].StateValue' --output text
  join
  status="$(out status)"
  read -r blue_pct green_pct < <(weights "$work/listener.json")
  if [ "$green_pct" -gt "$max_green" ]; then max_green="$green_pct"; fi
  traffic=""
  if [ -s "$work/traffic.log" ]; then
    traffic=", traffic so far $(sort "$work/traffic.log" | uniq -c |
      awk '{ printf "%s%s x%s", sep, ($2 == "000" ? "timeout" : $2), $1; sep=" " }')"
  fi
  log "  $status: production blue $blue_pct% / green $green_pct%, alarm $(out alarm_state)$traffic"
  case "$status" in
    Stopped | Failed | Succeeded) break ;;
  esac
  [ "$SECONDS" -lt "$deadline" ] || fail "deployment still $status after the time allowed"
  sleep "$poll"
done
deploy_seconds="$(since "$deploy_start")"

# --- Checks --------------------------------------------------------------------------------

aws deploy get-deployment --deployment-id "$deployment_id" --output json >"$work/deployment.json"
info() { jq -r ".deploymentInfo.$1 // empty" "$work/deployment.json"; }
code="$(info errorInformation.code)"
message="$(info errorInformation.message)"
rollback_id="$(info rollbackInfo.rollbackDeploymentId)"
cp_minutes="$(jq -r '.deploymentInfo | (.completeTime - .createTime) / 60 | . * 10 | round / 10' \
  "$work/deployment.json")"
[ "$status" = Stopped ] || fail "the deployment ended $status, expected Stopped: $message"
[ "$code" = ALARM_ACTIVE ] || fail "errorInformation.code is '$code', expected ALARM_ACTIVE"
[ -n "$rollback_id" ] || fail "no rollbackInfo.rollbackDeploymentId"

deadline=$((SECONDS + $(seconds_for 600)))
while :; do
  rollback_status="$(aws deploy get-deployment --deployment-id "$rollback_id" \
    --query deploymentInfo.status --output text)"
  case "$rollback_status" in
    Succeeded) break ;;
    Failed | Stopped) fail "rollback deployment $rollback_id ended $rollback_status" ;;
  esac
  [ "$SECONDS" -lt "$deadline" ] || fail "rollback deployment $rollback_id still $rollback_status"
  sleep 1
done

deadline=$((SECONDS + $(seconds_for 600)))
while :; do
  spawn listener.json aws elbv2 describe-listeners --listener-arns "$prod_listener" --output json
  spawn task_sets aws ecs describe-services --cluster "$cluster" --services "$service" \
    --query 'services[0].taskSets[].[status,taskDefinition,runningCount]' --output text
  join
  [ "$(wc -l <"$work/task_sets")" = 1 ] && break
  [ "$SECONDS" -lt "$deadline" ] || fail "task sets left after the rollback: $(out task_sets)"
  sleep 1
done
read -r blue_pct green_pct < <(weights "$work/listener.json")
if [ "$blue_pct" != 100 ] || [ "$green_pct" != 0 ]; then
  fail "production weights are blue $blue_pct% / green $green_pct%, expected 100 / 0"
fi
read -r set_status set_td set_running <"$work/task_sets"
if [ "$set_status" != PRIMARY ] || [ "$set_td" != "$td_v1" ]; then
  fail "the remaining task set is $set_status of $set_td, expected PRIMARY of $td_v1"
fi
stop_traffic

# What the green target group served, and why the alarm fired.
cw_end=$(($(ecsim_api GET /_ecsim/clock | jq .nowMs) / 1000 + 120))
spawn green_metrics aws cloudwatch get-metric-data --start-time "$cw_start" --end-time "$cw_end" \
  --metric-data-queries "$(jq -cn --arg tg "$green_dim" --arg lb "$lb_dim" '
    [["requests", "RequestCount"], ["errors", "HTTPCode_Target_5XX_Count"]] | map({
      Id: .[0], ReturnData: true,
      MetricStat: {Metric: {Namespace: "AWS/ApplicationELB", MetricName: .[1],
        Dimensions: [{Name: "TargetGroup", Value: $tg}, {Name: "LoadBalancer", Value: $lb}]},
        Period: 60, Stat: "Sum"}})')" \
  --query 'MetricDataResults[].[Id, sum(Values)]' --output text
spawn history aws cloudwatch describe-alarm-history --alarm-name "$alarm_name" \
  --history-item-type StateUpdate --output json
spawn target aws deploy get-deployment-target --deployment-id "$deployment_id" \
  --target-id "$cluster:$service" --output json
join
# The lifecycle events in control-plane seconds from the deployment's creation.
created="$(jq -r .deploymentInfo.createTime "$work/deployment.json")"
timeline="$(jq -r --argjson t0 "$created" '
  .deploymentTarget.ecsTarget.lifecycleEvents[]
  | def at($t): ($t - $t0 | round | tostring) + "s";
    "\(.lifecycleEventName) \(.status)"
    + (if .startTime then " " + at(.startTime) else "" end)
    + (if .endTime and .endTime != .startTime then "-" + at(.endTime) else "" end)' "$work/target" |
  paste -sd';' - | sed 's/;/, /g')"
green_requests="$(awk '$1 == "requests" { printf "%d", $2 }' "$work/green_metrics")"
green_errors="$(awk '$1 == "errors" { printf "%d", $2 }' "$work/green_metrics")"
# Newest first; the history outlives alarms of the same name deleted by earlier runs.
alarm_reason="$(jq -r '[.AlarmHistoryItems[] | select(.HistorySummary | test("to ALARM"))]
  | first | .HistoryData // "{}" | fromjson | .newState.stateReason // "?"' "$work/history")"
seen="the polls saw at most ${max_green}% of production on green"
if [ "$max_green" = 0 ]; then
  seen="the canary was over before a poll saw it (at 60x a control-plane minute is a second)"
fi
[ "${green_requests:-0}" -gt 0 ] || fail "the green target group served no request"

if [ -s "$work/traffic.log" ]; then
  # "timeout": no answer within curl's 2 s (on a 2-core machine, while Docker starts the 40
  # replacement containers, the whole machine stalls for a moment).
  traffic_summary="$(sort "$work/traffic.log" | uniq -c |
    awk '{ n += $1; printf "%s%s x%s", sep, ($2 == "000" ? "timeout" : $2), $1; sep=", " }
      END { printf " (%d real requests)", n }')"
else
  traffic_summary="$(ecsim_api GET /_ecsim/traffic | jq -r --arg id "$sim_traffic" '
    .traffic[] | select(.trafficId == $id) | "\(.statuses | to_entries
    | map("\(.key) x\(.value)") | join(", ")) (\(.sent) simulated requests)"')"
fi

cat <<SUMMARY

== Canary rollback: $runtime runtime, time scale $scale ==
deployment  $deployment_id: Stopped, $code
            $message
alarm       $alarm_reason
green       served $green_requests requests, $green_errors answered 5xx; $seen
events      $timeline
rollback    $rollback_id: $rollback_status; production blue $blue_pct% / green $green_pct%
service     one task set left: $set_status, $set_td, $set_running running
traffic     $traffic_summary
time        the deployment took $deploy_seconds s of wall time ($cp_minutes control-plane minutes)
SUMMARY
log "PASS: the bad revision was rolled back (whole run so far $(elapsed) s)"
