#!/usr/bin/env bash
# A CodeDeploy blue/green canary that rolls back on a CloudWatch alarm, against ecsim.
#
# Creates a cluster, a CODE_DEPLOY service of 40 tasks across 5 AZs behind an ALB (blue and
# green target groups, production listener :80, test listener :8080), a 5xx alarm on the green
# target group, a custom deployment config of 25% for 10 minutes, and deploys a bad revision
# (half its answers are 500s). The alarm fires during the canary and CodeDeploy rolls back.
# Then it checks the outcome, prints a summary and deletes everything it created.
#
# Needs ecsim already running, e.g. `ecsim serve --time-scale 60` (Docker runtime when a daemon
# answers, else simulated tasks), the AWS CLI, curl and jq. See README.md beside this file.
#
# Environment (all optional):
#   AWS_ENDPOINT_URL  ecsim's address (default http://127.0.0.1:4566)
#   NAME              prefix of every resource name (default canary-demo)
#   DESIRED           tasks in the service (default 40)
#   IMAGE             test application image (default ecsim-testapp:latest)
#   TRAFFIC_RPS       Docker runtime: real requests per second to the production listener
#                     (default 100); simulated runtime: simulated requests per control-plane
#                     second through /_ecsim/traffic (default 20)
#   POLL_SECONDS      how often the deployment is polled (default 1)
#   KEEP=1            leave the resources in place at the end (still deleted on the next run)
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$script_dir/../.." && pwd)"

endpoint="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
endpoint="${endpoint%/}"
# Dummy credentials, never a profile: everything goes to ecsim.
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
traffic_pid=""
traffic_id=""
deployment_id=""

aws() { command aws --endpoint-url "$endpoint" --region us-east-1 "$@"; }
elapsed() { awk -v s="$start_time" -v n="$EPOCHREALTIME" 'BEGIN { printf "%.1f", n - s }'; }
log() { printf '[%6ss] %s\n' "$(elapsed)" "$*"; }
fail() {
  printf '[%6ss] FAIL: %s\n' "$(elapsed)" "$*" >&2
  exit 1
}
# ecsim's own API (/_ecsim/...): curl, failing on HTTP errors.
ecsim_api() {
  local method="$1" path="$2"
  shift 2
  curl -fsS --max-time 10 -X "$method" -H 'Content-Type: application/json' "$@" "$endpoint$path"
}
# seconds_for CONTROL_PLANE_SECONDS: real seconds at the server's time scale, plus 60 s of slack
# for what the scale does not speed up (containers starting and stopping, the CLI itself).
seconds_for() { awk -v s="$1" -v k="$scale" 'BEGIN { printf "%d", s / k + 60 }'; }

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

# Deletes every resource this example creates, found by name, so that it also removes what an
# interrupted earlier run left. Never fails; bounded.
delete_everything() {
  local id status arn i tg_name
  # An unfinished deployment first: a group with one running cannot go.
  for id in $(aws deploy list-deployments --application-name "$app_name" \
    --deployment-group-name "$group_name" --include-only-statuses Created Queued InProgress Ready \
    --query 'deployments[]' --output text 2>/dev/null); do
    aws deploy stop-deployment --deployment-id "$id" --no-auto-rollback-enabled >/dev/null 2>&1 || true
  done
  aws deploy delete-deployment-group --application-name "$app_name" \
    --deployment-group-name "$group_name" >/dev/null 2>&1 || true
  aws deploy delete-application --application-name "$app_name" >/dev/null 2>&1 || true
  aws deploy delete-deployment-config --deployment-config-name "$config_name" >/dev/null 2>&1 || true
  aws cloudwatch delete-alarms --alarm-names "$alarm_name" >/dev/null 2>&1 || true

  status="$(aws ecs describe-services --cluster "$cluster" --services "$service" \
    --query 'services[0].status' --output text 2>/dev/null || true)"
  if [ "$status" = ACTIVE ]; then
    aws ecs delete-service --cluster "$cluster" --service "$service" --force >/dev/null 2>&1 || true
  fi
  # The service's tasks stop (draining first); the cluster can go once none is left.
  for ((i = 0; i < 120; i++)); do
    status="$(aws ecs list-tasks --cluster "$cluster" --query 'length(taskArns)' \
      --output text 2>/dev/null || echo 0)"
    [ "$status" = 0 ] && break
    sleep 1
  done
  for arn in $(aws ecs list-task-definitions --family-prefix "$family" --status ACTIVE \
    --query 'taskDefinitionArns[]' --output text 2>/dev/null); do
    aws ecs deregister-task-definition --task-definition "$arn" >/dev/null 2>&1 || true
  done
  aws ecs delete-cluster --cluster "$cluster" >/dev/null 2>&1 || true

  arn="$(aws elbv2 describe-load-balancers --names "$lb_name" \
    --query 'LoadBalancers[0].LoadBalancerArn' --output text 2>/dev/null || true)"
  if [ -n "$arn" ] && [ "$arn" != None ]; then
    aws elbv2 delete-load-balancer --load-balancer-arn "$arn" >/dev/null 2>&1 || true
  fi
  for tg_name in "$blue_name" "$green_name"; do
    arn="$(aws elbv2 describe-target-groups --names "$tg_name" \
      --query 'TargetGroups[0].TargetGroupArn' --output text 2>/dev/null || true)"
    if [ -n "$arn" ] && [ "$arn" != None ]; then
      # A target group is in use until its listeners are gone: retry briefly.
      for ((i = 0; i < 10; i++)); do
        aws elbv2 delete-target-group --target-group-arn "$arn" >/dev/null 2>&1 && break
        sleep 1
      done
    fi
  done
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  stop_traffic
  if [ "${KEEP:-0}" = 1 ]; then
    log "KEEP=1: leaving the resources in place"
  else
    log "cleaning up"
    delete_everything
  fi
  rm -rf "$work"
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. ecsim and the image ----------------------------------------------------------------

health="$(curl -fsS --max-time 5 "$endpoint/_ecsim/health")" ||
  fail "ecsim does not answer at $endpoint (start it with: ecsim serve --time-scale 60)"
runtime="$(jq -r .runtime <<<"$health")"
clock="$(ecsim_api GET /_ecsim/clock)"
[ "$(jq -r .mode <<<"$clock")" = system ] ||
  fail "ecsim runs the virtual clock; this example needs the live one (ecsim serve --time-scale 60)"
scale="$(jq -r .timeScale <<<"$clock")"
log "ecsim $(jq -r .version <<<"$health") at $endpoint: runtime $runtime, time scale $scale"
if awk -v k="$scale" 'BEGIN { exit !(k < 60) }'; then
  log "note: at time scale $scale the 10-minute canary alone takes $(seconds_for 600) s at most;" \
    "start ecsim with --time-scale 60 for a one-minute run"
fi

if [ "$runtime" = docker ]; then
  command -v docker >/dev/null || fail "ecsim runs Docker tasks but there is no docker CLI here"
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    log "building $image (scripts/build-testapp-image.sh)"
    "$root/scripts/build-testapp-image.sh" "$image" >/dev/null
  fi
fi

log "removing leftovers of an earlier run, if any"
delete_everything

# --- 2. Network, load balancer, task definitions, service ----------------------------------

vpc="$(aws ec2 describe-vpcs --filters Name=is-default,Values=true \
  --query 'Vpcs[0].VpcId' --output text)"
if [ -z "$vpc" ] || [ "$vpc" = None ]; then fail "no default VPC"; fi
# The first five default subnets, one per Availability Zone.
aws ec2 describe-subnets --filters "Name=vpc-id,Values=$vpc" Name=default-for-az,Values=true \
  --query 'sort_by(Subnets, &AvailabilityZone)[:5].[SubnetId,AvailabilityZone]' --output text \
  >"$work/subnets"
mapfile -t subnets < <(cut -f1 "$work/subnets")
[ "${#subnets[@]}" = 5 ] || fail "expected 5 default subnets, got: $(cat "$work/subnets")"
[ "$(cut -f2 "$work/subnets" | sort -u | wc -l)" = 5 ] || fail "subnets not in 5 AZs"
log "subnets: $(paste -sd' ' <(sed 's/\t/ (/; s/$/)/' "$work/subnets"))"
subnet_list="$(
  IFS=,
  echo "${subnets[*]}"
)"

aws ecs create-cluster --cluster-name "$cluster" >/dev/null
account="$(aws sts get-caller-identity --query Account --output text)"

lb_arn="$(aws elbv2 create-load-balancer --name "$lb_name" --type application \
  --subnets "${subnets[@]}" --query 'LoadBalancers[0].LoadBalancerArn' --output text)"
for ((i = 0; ; i++)); do
  state="$(aws elbv2 describe-load-balancers --load-balancer-arns "$lb_arn" \
    --query 'LoadBalancers[0].State.Code' --output text)"
  [ "$state" = active ] && break
  [ "$i" -lt 60 ] || fail "load balancer still $state"
  sleep 1
done

target_group() {
  local arn
  arn="$(aws elbv2 create-target-group --name "$1" --protocol HTTP --port 8080 \
    --vpc-id "$vpc" --target-type ip --health-check-path /health \
    --health-check-interval-seconds 5 --health-check-timeout-seconds 2 \
    --healthy-threshold-count 2 --unhealthy-threshold-count 2 \
    --query 'TargetGroups[0].TargetGroupArn' --output text)"
  aws elbv2 modify-target-group-attributes --target-group-arn "$arn" \
    --attributes Key=deregistration_delay.timeout_seconds,Value=0 >/dev/null
  echo "$arn"
}
blue_tg="$(target_group "$blue_name")"
green_tg="$(target_group "$green_name")"

listener() {
  aws elbv2 create-listener --load-balancer-arn "$lb_arn" --protocol HTTP --port "$1" \
    --default-actions "Type=forward,TargetGroupArn=$blue_tg" \
    --query 'Listeners[0].ListenerArn' --output text
}
prod_listener="$(listener 80)"
test_listener="$(listener 8080)"
log "load balancer $lb_name: production listener :80 and test listener :8080 -> $blue_name"

register() {
  local version="$1" extra="$2"
  cat >"$work/td-$version.json" <<JSON
{
  "family": "$family",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "512",
  "containerDefinitions": [{
    "name": "web",
    "image": "$image",
    "essential": true,
    "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
    "environment": [{"name": "ECSIM_VERSION", "value": "$version"}$extra]
  }]
}
JSON
  aws ecs register-task-definition --cli-input-json "file://$work/td-$version.json" \
    --query 'taskDefinition.taskDefinitionArn' --output text
}
td_v1="$(register v1 '')"
td_v2="$(register v2 ', {"name": "ECSIM_ERROR_RATE", "value": "0.5"}')"
log "task definitions: v1 $td_v1, v2 (bad: ECSIM_ERROR_RATE=0.5) $td_v2"

aws ecs create-service --cluster "$cluster" --service-name "$service" \
  --task-definition "$td_v1" --desired-count "$desired" --launch-type FARGATE \
  --deployment-controller type=CODE_DEPLOY \
  --network-configuration "awsvpcConfiguration={subnets=[$subnet_list],assignPublicIp=DISABLED}" \
  --load-balancers "targetGroupArn=$blue_tg,containerName=web,containerPort=8080" \
  --health-check-grace-period-seconds 60 >/dev/null
log "service $service: $desired tasks of v1 (CODE_DEPLOY controller); waiting for its task set"

# `aws ecs wait services-stable` never succeeds for a CODE_DEPLOY service (it has no
# deployments[]), as on AWS: poll the task set instead.
deadline=$((SECONDS + $(seconds_for 600)))
last=""
while :; do
  line="$(aws ecs describe-services --cluster "$cluster" --services "$service" \
    --query 'services[0].taskSets[0].[stabilityStatus,runningCount,computedDesiredCount]' \
    --output text)"
  if [ "$line" != "$last" ]; then
    log "  task set: $(awk '{ printf "%s, running %s of %s", $1, $2, $3 }' <<<"$line")"
    last="$line"
  fi
  [ "${line%%[[:space:]]*}" = STEADY_STATE ] && break
  [ "$SECONDS" -lt "$deadline" ] || fail "the service's task set never reached STEADY_STATE"
  sleep 1
done
healthy="$(aws elbv2 describe-target-health --target-group-arn "$blue_tg" \
  --query "length(TargetHealthDescriptions[?TargetHealth.State=='healthy'])" --output text)"
[ "$healthy" = "$desired" ] || fail "$healthy of $desired targets healthy in $blue_name"
log "service steady: $healthy healthy targets in $blue_name"
mapfile -t task_arns < <(aws ecs list-tasks --cluster "$cluster" --service-name "$service" \
  --query 'taskArns[]' --output text | tr '\t' '\n')
per_az="$(aws ecs describe-tasks --cluster "$cluster" --tasks "${task_arns[@]:0:100}" \
  --query 'tasks[].availabilityZone' --output text | tr '\t' '\n' | sort | uniq -c |
  awk '{ printf "%s%s %s", sep, $2, $1; sep=", " }')"
log "  tasks per AZ: $per_az"

# --- 3. The alarm on the green target group ------------------------------------------------

lb_dim="${lb_arn#*:loadbalancer/}"
green_dim="${green_tg##*:}"
aws cloudwatch put-metric-alarm --alarm-name "$alarm_name" \
  --alarm-description "5xx answers of the green (replacement) target group" \
  --namespace AWS/ApplicationELB --metric-name HTTPCode_Target_5XX_Count \
  --dimensions "Name=TargetGroup,Value=$green_dim" "Name=LoadBalancer,Value=$lb_dim" \
  --statistic Sum --period 60 --evaluation-periods 1 --threshold 5 \
  --comparison-operator GreaterThanThreshold --treat-missing-data notBreaching
log "alarm $alarm_name: Sum(HTTPCode_Target_5XX_Count) of $green_dim > 5 per minute"

# --- 4. CodeDeploy: deployment config, application, deployment group -----------------------

aws deploy create-deployment-config --deployment-config-name "$config_name" \
  --compute-platform ECS \
  --traffic-routing-config 'type=TimeBasedCanary,timeBasedCanary={canaryPercentage=25,canaryInterval=10}' \
  >/dev/null
aws deploy create-application --application-name "$app_name" --compute-platform ECS >/dev/null
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
log "CodeDeploy: config $config_name (TimeBasedCanary 25% / 10 min), application $app_name," \
  "group $group_name (alarm $alarm_name, auto-rollback)"

# --- 5. Production traffic -----------------------------------------------------------------

prod_url="$(ecsim_api GET /_ecsim/listeners |
  jq -r --arg l "$prod_listener" '.listeners[] | select(.listenerArn == $l) | .url')"
case "$prod_url" in
  http://127.0.0.1:*) ;;
  *) fail "unexpected production listener address '$prod_url'" ;;
esac
curl -fsS --max-time 5 "$prod_url/" | grep -q 'v1' || fail "the production listener does not answer v1"

if [ "$runtime" = docker ]; then
  # Real HTTP requests to the production listener on loopback: batches of parallel requests
  # five times a second, for at most traffic_seconds; the loop also stops when told.
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
  log "traffic: ~$rps real requests/s to $prod_url (curl, at most $traffic_seconds s)"
else
  rps="${TRAFFIC_RPS:-20}"
  traffic_id="$(ecsim_api POST /_ecsim/traffic -d "$(jq -cn --arg lb "$lb_arn" --argjson r "$rps" \
    '{loadBalancer: $lb, port: 80, requestsPerSecond: $r, durationSeconds: 3600}')" |
    jq -r .trafficId)"
  log "traffic: $rps simulated requests per control-plane second through :80 (/_ecsim/traffic $traffic_id)"
fi
sleep 1

# --- 6. The deployment of the bad revision -------------------------------------------------

appspec="$(jq -cn --arg td "$td_v2" '{
  version: 0.0,
  Resources: [{TargetService: {Type: "AWS::ECS::Service", Properties: {
    TaskDefinition: $td,
    LoadBalancerInfo: {ContainerName: "web", ContainerPort: 8080}
  }}}]
}')"
sha="$(printf '%s' "$appspec" | sha256sum | cut -d' ' -f1)"
deploy_start="$EPOCHREALTIME"
deployment_id="$(aws deploy create-deployment --application-name "$app_name" \
  --deployment-group-name "$group_name" --description "v2 (bad revision)" \
  --revision "$(jq -cn --arg c "$appspec" --arg s "$sha" \
    '{revisionType: "AppSpecContent", appSpecContent: {content: $c, sha256: $s}}')" \
  --query deploymentId --output text)"
log "deployment $deployment_id of v2 created; watching it"

# weights: "BLUE GREEN" percentages of the production listener's default forward action.
weights() {
  aws elbv2 describe-listeners --listener-arns "$prod_listener" \
    --query 'Listeners[0].DefaultActions[0].[TargetGroupArn, ForwardConfig.TargetGroups[].[TargetGroupArn, Weight]]' \
    --output json | jq -r --arg b "$blue_tg" --arg g "$green_tg" '
      .[0] as $single | (.[1] // []) as $tgs
      | if ($tgs | length) == 0 then
          (if $single == $b then "100 0" elif $single == $g then "0 100" else "? ?" end)
        else
          ([$tgs[] | .[1]] | add) as $total
          | def pct($arn): ([$tgs[] | select(.[0] == $arn) | .[1]] | add // 0) as $w
              | if $total > 0 then ($w * 100 / $total | round) else 0 end;
            "\(pct($b)) \(pct($g))"
        end'
}

deadline=$((SECONDS + $(seconds_for 1800)))
max_green=0
while :; do
  status="$(aws deploy get-deployment --deployment-id "$deployment_id" \
    --query deploymentInfo.status --output text)"
  read -r blue_pct green_pct <<<"$(weights)"
  alarm_state="$(aws cloudwatch describe-alarms --alarm-names "$alarm_name" \
    --query 'MetricAlarms[0].StateValue' --output text)"
  if [[ "$green_pct" =~ ^[0-9]+$ ]] && [ "$green_pct" -gt "$max_green" ]; then
    max_green="$green_pct"
  fi
  line="$status: production blue ${blue_pct}% / green ${green_pct}%, alarm $alarm_state"
  extra=""
  if [ -s "$work/traffic.log" ]; then
    extra=" (traffic so far: $(sort "$work/traffic.log" | uniq -c |
      awk '{ printf "%s%s x%s", sep, $2, $1; sep=", " }'))"
  fi
  log "  $line$extra"
  case "$status" in
    Stopped | Failed | Succeeded) break ;;
  esac
  [ "$SECONDS" -lt "$deadline" ] || fail "deployment still $status after the time allowed"
  sleep "$poll"
done
deploy_seconds="$(awk -v s="$deploy_start" -v n="$EPOCHREALTIME" 'BEGIN { printf "%.1f", n - s }')"

# --- Assertions ----------------------------------------------------------------------------

aws deploy get-deployment --deployment-id "$deployment_id" --output json >"$work/deployment.json"
status="$(jq -r .deploymentInfo.status "$work/deployment.json")"
code="$(jq -r '.deploymentInfo.errorInformation.code // empty' "$work/deployment.json")"
message="$(jq -r '.deploymentInfo.errorInformation.message // empty' "$work/deployment.json")"
rollback_id="$(jq -r '.deploymentInfo.rollbackInfo.rollbackDeploymentId // empty' "$work/deployment.json")"
[ "$status" = Stopped ] || fail "deployment ended $status, expected Stopped: $(cat "$work/deployment.json")"
[ "$code" = ALARM_ACTIVE ] || fail "errorInformation.code is '$code', expected ALARM_ACTIVE"
[ "$max_green" -gt 0 ] || log "note: the alarm fired before a poll saw green traffic"
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
log "rollback deployment $rollback_id: $rollback_status"

read -r blue_pct green_pct <<<"$(weights)"
if [ "$blue_pct" != 100 ] || [ "$green_pct" != 0 ]; then
  fail "production weights are blue $blue_pct% / green $green_pct%, expected 100 / 0"
fi

deadline=$((SECONDS + $(seconds_for 600)))
while :; do
  aws ecs describe-services --cluster "$cluster" --services "$service" \
    --query 'services[0].taskSets[].[status,taskDefinition,runningCount]' --output text \
    >"$work/task-sets"
  [ "$(wc -l <"$work/task-sets")" = 1 ] && break
  [ "$SECONDS" -lt "$deadline" ] || fail "task sets left: $(cat "$work/task-sets")"
  sleep 1
done
read -r set_status set_td set_running <"$work/task-sets"
if [ "$set_status" != PRIMARY ] || [ "$set_td" != "$td_v1" ]; then
  fail "the remaining task set is $set_status of $set_td, expected PRIMARY of $td_v1"
fi

stop_traffic
traffic_summary="simulated"
if [ -s "$work/traffic.log" ]; then
  traffic_summary="$(sort "$work/traffic.log" | uniq -c |
    awk '{ n += $1; printf "%s%s x%s", sep, $2, $1; sep=", " } END { printf " (%d requests)", n }')"
elif [ "$runtime" != docker ]; then
  traffic_summary="$(ecsim_api GET /_ecsim/traffic | jq -r '[.traffic[-1].statuses | to_entries[] |
    "\(.key) x\(.value)"] | join(", ")') (simulated)"
fi

cat <<SUMMARY

== Summary ($runtime runtime, time scale $scale) ==
deployment      $deployment_id: $status, $code
                $message
rollback        $rollback_id: $rollback_status
green traffic   at most ${max_green}% seen before the rollback
production      blue ${blue_pct}% / green ${green_pct}%
service         one task set: $set_status, $set_td, $set_running running
traffic         $traffic_summary
deployment took ${deploy_seconds} s of wall time; whole run so far $(elapsed) s
SUMMARY
log "PASS"
