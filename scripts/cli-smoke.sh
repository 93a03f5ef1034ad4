#!/usr/bin/env bash
# Drives `ecsim serve` with the AWS CLI (from PyPI) the way a user would, asserting exit codes and
# JSON fields. Usage: ECSIM_BIN=target/debug/ecsim [ECSIM_SMOKE_RUNTIME=sim|docker] scripts/cli-smoke.sh
# On `docker` the tasks are real containers of the test image, and each one is also reached over
# its loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${ECSIM_BIN:-target/debug/ecsim}"
PORT="${ECSIM_SMOKE_PORT:-45666}"
RUNTIME="${ECSIM_SMOKE_RUNTIME:-sim}"
LOG="$(mktemp)"

IMAGE="public.ecr.aws/nginx/nginx:latest"
EXTRA=()
if [ "$RUNTIME" = docker ]; then
  IMAGE="$(scripts/build-testapp-image.sh)"
  EXTRA=(--docker-instance "cli-smoke-$$" --no-pull)
fi
"$BIN" serve --listen "127.0.0.1:$PORT" --log-level warn --runtime "$RUNTIME" "${EXTRA[@]}" >"$LOG" 2>&1 &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; rm -f "$LOG"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/_ecsim/health')" 2>/dev/null; then break; fi
  sleep 0.05
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_MAX_ATTEMPTS=1
fail() { echo "FAIL: $*" >&2; exit 1; }
# json FILE EXPR: evaluates a Python expression over the JSON document `d`.
# Further arguments are sys.argv[2:].
json() {
  local file="$1" expr="$2"
  shift 2
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($expr)" "$file" "$@"
}
out="$(mktemp)"; err="$(mktemp)"; alarms="$(mktemp)"

aws ecs create-cluster --cluster-name demo >"$out"
[ "$(json "$out" "d['cluster']['status']")" = ACTIVE ] || fail "create-cluster"

cat >"$out.td.json" <<TD
{
  "family": "web",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "512",
  "containerDefinitions": [
    {"name": "web", "image": "$IMAGE", "essential": true,
     "portMappings": [{"containerPort": 8080}],
     "environment": [{"name": "ECSIM_VERSION", "value": "v1"}]}
  ]
}
TD
aws ecs register-task-definition --cli-input-json "file://$out.td.json" >"$out"
[ "$(json "$out" "d['taskDefinition']['revision']")" = 1 ] || fail "register-task-definition"

aws ecs create-service --cluster demo --service-name web --task-definition web:1 --desired-count 3 \
  --launch-type FARGATE \
  --network-configuration "awsvpcConfiguration={subnets=[subnet-0ec5100000000000a,subnet-0ec5100000000000b,subnet-0ec5100000000000c]}" >"$out"
[ "$(json "$out" "d['service']['deployments'][0]['status']")" = PRIMARY ] || fail "create-service"

sleep 2
aws ecs wait services-stable --cluster demo --services web || fail "services-stable"
aws ecs describe-services --cluster demo --services web >"$out"
[ "$(json "$out" "d['services'][0]['runningCount']")" = 3 ] || fail "runningCount"

aws ecs list-tasks --cluster demo --service-name web >"$out"
tasks=$(json "$out" "' '.join(d['taskArns'])")
aws ecs describe-tasks --cluster demo --tasks $tasks >"$out"
[ "$(json "$out" "len(d['tasks'])")" = 3 ] || fail "describe-tasks count"
[ "$(json "$out" "all(t['lastStatus']=='RUNNING' for t in d['tasks'])")" = True ] || fail "tasks RUNNING"
[ "$(json "$out" "sorted(t['availabilityZone'] for t in d['tasks'])")" = "['us-east-1a', 'us-east-1b', 'us-east-1c']" ] || fail "AZ spread"
[ "$(json "$out" "all(any(x['name']=='privateIPv4Address' and x['value'].startswith('172.31.') for x in t['attachments'][0]['details']) for t in d['tasks'])")" = True ] || fail "private IPs"

passed=12
if [ "$RUNTIME" = docker ]; then
  python3 - "$PORT" <<'PY' || fail "tasks reachable over loopback"
import json, sys, urllib.request
port = sys.argv[1]
listing = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/_ecsim/tasks"))
assert listing["runtime"] == "docker", listing["runtime"]
urls = [p["url"] for t in listing["tasks"] if t["lastStatus"] == "RUNNING" for c in t["containers"] for p in c["ports"]]
assert len(urls) == 3, urls
for url in urls:
    body = urllib.request.urlopen(url).read().decode()
    assert "version=v1" in body, body
PY
  passed=13
fi

# A service behind an Application Load Balancer: targets register, turn healthy, and the
# listener answers from every task.
aws elbv2 create-load-balancer --name smoke --subnets subnet-0ec5100000000000a subnet-0ec5100000000000b >"$out"
lb=$(json "$out" "d['LoadBalancers'][0]['LoadBalancerArn']")
aws elbv2 wait load-balancer-available --load-balancer-arns "$lb" || fail "load-balancer-available"
aws elbv2 create-target-group --name smoke-web --protocol HTTP --port 8080 --vpc-id vpc-0ec5100000000000d \
  --target-type ip --health-check-path /health --health-check-interval-seconds 5 --health-check-timeout-seconds 2 --healthy-threshold-count 2 >"$out"
tg=$(json "$out" "d['TargetGroups'][0]['TargetGroupArn']")
aws elbv2 create-listener --load-balancer-arn "$lb" --protocol HTTP --port 8090 \
  --default-actions "Type=forward,TargetGroupArn=$tg" >"$out"
listener=$(json "$out" "d['Listeners'][0]['ListenerArn']")
[ "$(json "$out" "d['Listeners'][0]['Port']")" = 8090 ] || fail "create-listener"
aws ecs create-service --cluster demo --service-name lb-web --task-definition web:1 --desired-count 2 \
  --launch-type FARGATE --load-balancers "targetGroupArn=$tg,containerName=web,containerPort=8080" \
  --network-configuration "awsvpcConfiguration={subnets=[subnet-0ec5100000000000a,subnet-0ec5100000000000b]}" >/dev/null
aws ecs wait services-stable --cluster demo --services lb-web || fail "services-stable behind the load balancer"
aws elbv2 wait target-in-service --target-group-arn "$tg" || fail "target-in-service"
aws elbv2 describe-target-health --target-group-arn "$tg" >"$out"
[ "$(json "$out" "sorted(t['TargetHealth']['State'] for t in d['TargetHealthDescriptions'])")" = "['healthy', 'healthy']" ] \
  || fail "two healthy targets: $(cat "$out")"
python3 - "$PORT" "$listener" <<'PY' || fail "the listener answers from both tasks"
import json, sys, urllib.request
port, listener = sys.argv[1], sys.argv[2]
rows = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/_ecsim/listeners"))["listeners"]
url = next(r["url"] for r in rows if r["listenerArn"] == listener)
answers = set()
for _ in range(8):
    body = urllib.request.urlopen(url + "/").read().decode()
    assert "v1" in body, body
    answers.add(body)
assert len(answers) == 2, answers
PY
if aws elbv2 describe-load-balancers --names nope >"$out" 2>"$err"; then fail "missing load balancer succeeded"; fi
grep -q LoadBalancerNotFound "$err" || fail "LoadBalancerNotFound expected: $(cat "$err")"
passed=$((passed + 5))

aws sts get-caller-identity >"$out"
[ "$(json "$out" "d['Account']")" = 000000000000 ] || fail "get-caller-identity"

aws ec2 describe-subnets --filters Name=default-for-az,Values=true >"$out"
[ "$(json "$out" "len(d['Subnets'])")" = 6 ] || fail "describe-subnets"

if aws ecs describe-services --cluster nope --services web >"$out" 2>"$err"; then fail "missing cluster succeeded"; fi
grep -q ClusterNotFoundException "$err" || fail "ClusterNotFoundException expected: $(cat "$err")"

# CloudWatch: the CLI speaks awsJson 1.0 to it (the Rust SDK in tests/ speaks CBOR).
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
aws cloudwatch put-metric-data --namespace Smoke --metric-name Errors --dimensions Service=web \
  --value 3 --timestamp "$now" || fail "put-metric-data"
aws cloudwatch put-metric-data --namespace Smoke --metric-name Errors --dimensions Service=web \
  --value 4 --timestamp "$now" || fail "put-metric-data"
aws cloudwatch get-metric-statistics --namespace Smoke --metric-name Errors --dimensions Name=Service,Value=web \
  --start-time "$(date -u -d '-5 min' +%Y-%m-%dT%H:%M:%SZ)" --end-time "$(date -u -d '+5 min' +%Y-%m-%dT%H:%M:%SZ)" \
  --period 600 --statistics Sum SampleCount >"$out"
[ "$(json "$out" "sum(p['Sum'] for p in d['Datapoints'])")" = 7.0 ] || fail "get-metric-statistics: $(cat "$out")"
aws cloudwatch list-metrics --namespace Smoke >"$out"
[ "$(json "$out" "d['Metrics'][0]['MetricName']")" = Errors ] || fail "list-metrics: $(cat "$out")"
aws cloudwatch put-metric-alarm --alarm-name smoke-errors --namespace Smoke --metric-name Errors \
  --dimensions Name=Service,Value=web --statistic Sum --period 60 --evaluation-periods 1 --threshold 1 \
  --comparison-operator GreaterThanThreshold || fail "put-metric-alarm"
aws cloudwatch wait alarm-exists --alarm-names smoke-errors || fail "alarm-exists"
aws cloudwatch set-alarm-state --alarm-name smoke-errors --state-value OK --state-reason drill || fail "set-alarm-state"
# As on AWS, the alarm's next evaluation (5 s after each minute) may move it
# again right after set-alarm-state. So the drill is checked in the history,
# and the state DescribeAlarms shows must be the one a history item moved it
# to at its StateUpdatedTimestamp. The drill sets OK: the data above never
# evaluates to OK, so the drill is always a transition.
aws cloudwatch describe-alarms --alarm-names smoke-errors >"$alarms"
aws cloudwatch describe-alarm-history --alarm-name smoke-errors --history-item-type StateUpdate >"$out"
drill="[i for i in d['AlarmHistoryItems'] if json.loads(i['HistoryData'])['newState'].get('stateReason') == 'drill']"
json "$out" "' '.join(i['HistorySummary'] for i in $drill)" | grep -Eq "^Alarm updated from (INSUFFICIENT_DATA|ALARM) to OK$" \
  || fail "describe-alarm-history: $(cat "$out")"
shown="$(json "$alarms" "d['MetricAlarms'][0]['StateValue'] + ' ' + str(d['MetricAlarms'][0]['StateUpdatedTimestamp'])")"
json "$out" "'\\n'.join(json.loads(i['HistoryData'])['newState']['stateValue'] + ' ' + str(i['Timestamp']) for i in d['AlarmHistoryItems'])" \
  | grep -qx "$shown" || fail "describe-alarms shows $shown, not in the history: $(cat "$out")"
if aws cloudwatch set-alarm-state --alarm-name nope --state-value OK --state-reason x >"$out" 2>"$err"; then
  fail "missing alarm succeeded"
fi
grep -q ResourceNotFound "$err" || fail "ResourceNotFound expected: $(cat "$err")"
if aws cloudwatch put-metric-data --namespace AWS/ECS --metric-name X --value 1 >"$out" 2>"$err"; then
  fail "reserved namespace accepted"
fi
grep -q InvalidParameterValue "$err" || fail "InvalidParameterValue expected: $(cat "$err")"
aws cloudwatch delete-alarms --alarm-names smoke-errors || fail "delete-alarms"
passed=$((passed + 9))

# CodeDeploy blue/green: a CODE_DEPLOY service on a blue target group, an all-at-once deployment
# of web:2 into green, then the production listener answers v2 from the replacement task set.
hc=(--protocol HTTP --port 8080 --vpc-id vpc-0ec5100000000000d --target-type ip --health-check-path /health
  --health-check-interval-seconds 5 --health-check-timeout-seconds 2 --healthy-threshold-count 2)
aws elbv2 create-target-group --name smoke-blue "${hc[@]}" >"$out"
blue=$(json "$out" "d['TargetGroups'][0]['TargetGroupArn']")
aws elbv2 create-target-group --name smoke-green "${hc[@]}" >"$out"
green=$(json "$out" "d['TargetGroups'][0]['TargetGroupArn']")
for tg_arn in "$blue" "$green"; do
  aws elbv2 modify-target-group-attributes --target-group-arn "$tg_arn" \
    --attributes Key=deregistration_delay.timeout_seconds,Value=0 >/dev/null
done
aws elbv2 create-listener --load-balancer-arn "$lb" --protocol HTTP --port 8091 \
  --default-actions "Type=forward,TargetGroupArn=$blue" >"$out"
prod=$(json "$out" "d['Listeners'][0]['ListenerArn']")
sed 's/"value": "v1"/"value": "v2"/' "$out.td.json" >"$out.td2.json"
aws ecs register-task-definition --cli-input-json "file://$out.td2.json" >"$out"
[ "$(json "$out" "d['taskDefinition']['revision']")" = 2 ] || fail "register-task-definition v2"
aws ecs create-service --cluster demo --service-name cd-web --task-definition web:1 --desired-count 2 \
  --launch-type FARGATE --deployment-controller type=CODE_DEPLOY \
  --load-balancers "targetGroupArn=$blue,containerName=web,containerPort=8080" \
  --network-configuration "awsvpcConfiguration={subnets=[subnet-0ec5100000000000a,subnet-0ec5100000000000b]}" >"$out"
[ "$(json "$out" "len(d['service']['deployments'])")" = 0 ] || fail "CODE_DEPLOY service shows deployments"
[ "$(json "$out" "d['service']['taskSets'][0]['status']")" = PRIMARY ] || fail "CODE_DEPLOY primary task set"
for _ in $(seq 1 120); do
  aws ecs describe-services --cluster demo --services cd-web >"$out"
  [ "$(json "$out" "d['services'][0]['taskSets'][0]['stabilityStatus']")" = STEADY_STATE ] && break
  sleep 1
done
[ "$(json "$out" "d['services'][0]['taskSets'][0]['stabilityStatus']")" = STEADY_STATE ] || fail "task set steady: $(cat "$out")"
aws deploy create-application --application-name smoke --compute-platform ECS >/dev/null
aws deploy create-deployment-group --application-name smoke --deployment-group-name smoke-dg \
  --service-role-arn arn:aws:iam::000000000000:role/ecsCodeDeployRole \
  --deployment-config-name CodeDeployDefault.ECSAllAtOnce \
  --ecs-services clusterName=demo,serviceName=cd-web \
  --deployment-style deploymentType=BLUE_GREEN,deploymentOption=WITH_TRAFFIC_CONTROL \
  --blue-green-deployment-configuration '{"deploymentReadyOption":{"actionOnTimeout":"CONTINUE_DEPLOYMENT"},"terminateBlueInstancesOnDeploymentSuccess":{"action":"TERMINATE","terminationWaitTimeInMinutes":0}}' \
  --load-balancer-info "{\"targetGroupPairInfoList\":[{\"targetGroups\":[{\"name\":\"smoke-blue\"},{\"name\":\"smoke-green\"}],\"prodTrafficRoute\":{\"listenerArns\":[\"$prod\"]}}]}" \
  >"$out" || fail "create-deployment-group"
cat >"$out.appspec.yaml" <<'YAML'
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: web:2
        LoadBalancerInfo:
          ContainerName: web
          ContainerPort: 8080
YAML
python3 -c "import json,sys; print(json.dumps({'revisionType':'AppSpecContent','appSpecContent':{'content':open(sys.argv[1]).read()}}))" \
  "$out.appspec.yaml" >"$out.revision.json"
aws deploy create-deployment --application-name smoke --deployment-group-name smoke-dg \
  --revision "file://$out.revision.json" >"$out" || fail "create-deployment"
deployment=$(json "$out" "d['deploymentId']")
[[ "$deployment" =~ ^d-[A-Z0-9]{9}$ ]] || fail "deployment id $deployment"
aws deploy wait deployment-successful --deployment-id "$deployment" || fail "deployment-successful"
aws deploy get-deployment --deployment-id "$deployment" >"$out"
[ "$(json "$out" "d['deploymentInfo']['status']")" = Succeeded ] || fail "get-deployment: $(cat "$out")"
aws deploy list-deployment-targets --deployment-id "$deployment" >"$out"
target=$(json "$out" "d['targetIds'][0]")
aws deploy get-deployment-target --deployment-id "$deployment" --target-id "$target" >"$out"
[ "$(json "$out" "[e['lifecycleEventName'] for e in d['deploymentTarget']['ecsTarget']['lifecycleEvents'] if e['status']!='Succeeded']")" = "[]" ] \
  || fail "lifecycle events: $(cat "$out")"
# production_on TARGET_GROUP_ARN: the production listener forwards 100% to it, 0% to the other.
production_on() {
  aws elbv2 describe-listeners --listener-arns "$prod" >"$out"
  [ "$(json "$out" "sorted((t['TargetGroupArn']==sys.argv[2], t['Weight']) for t in d['Listeners'][0]['DefaultActions'][0]['ForwardConfig']['TargetGroups'])" "$1")" = "[(False, 0), (True, 100)]" ]
}
# only_task_set REVISION: within a minute cd-web has one task set left, PRIMARY, of REVISION.
only_task_set() {
  for _ in $(seq 1 60); do
    aws ecs describe-services --cluster demo --services cd-web >"$out"
    [ "$(json "$out" "len(d['services'][0]['taskSets'])")" = 1 ] && break
    sleep 1
  done
  [ "$(json "$out" "[(s['status'], s['taskDefinition'].rsplit('/')[-1]) for s in d['services'][0]['taskSets']]")" = "[('PRIMARY', '$1')]" ]
}
production_on "$green" || fail "production weights after the deployment: $(cat "$out")"
only_task_set web:2 || fail "task sets after the deployment: $(cat "$out")"
# production_answers VERSION: six requests through the production listener all answer VERSION.
production_answers() {
  python3 - "$PORT" "$prod" "$1" <<'PY'
import json, sys, urllib.request
port, listener, version = sys.argv[1], sys.argv[2], sys.argv[3]
rows = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/_ecsim/listeners"))["listeners"]
url = next(r["url"] for r in rows if r["listenerArn"] == listener)
for _ in range(6):
    body = urllib.request.urlopen(url + "/").read().decode()
    assert version in body, body
PY
}
production_answers v2 || fail "the production listener answers v2"
if aws deploy create-deployment --application-name smoke --deployment-group-name nope \
  --revision "file://$out.revision.json" >"$out" 2>"$err"; then
  fail "deployment to a missing group succeeded"
fi
grep -q DeploymentGroupDoesNotExistException "$err" || fail "DeploymentGroupDoesNotExistException expected: $(cat "$err")"
passed=$((passed + 8))

# `aws ecs deploy`, the CLI's own CodeDeploy pipeline: it checks the application and group
# (reading both wait times of the group), registers web:3 from a file, writes its ARN into the
# AppSpec, creates the deployment with the AppSpec's sha256 and polls deployment-successful
# every 15 s. The replacement goes to the other group of the pair: blue again.
sed 's/"value": "v1"/"value": "v3"/' "$out.td.json" >"$out.td3.json"
aws ecs deploy --cluster demo --service cd-web --task-definition "$out.td3.json" \
  --codedeploy-appspec "$out.appspec.yaml" --codedeploy-application smoke \
  --codedeploy-deployment-group smoke-dg >"$out" 2>"$err" || fail "ecs deploy: $(cat "$out" "$err")"
grep -q "Successfully deployed arn:aws:ecs:us-east-1:000000000000:task-definition/web:3 to service 'cd-web'" "$out" \
  || fail "ecs deploy output: $(cat "$out")"
production_on "$blue" || fail "production weights after ecs deploy: $(cat "$out")"
only_task_set web:3 || fail "task sets after ecs deploy: $(cat "$out")"
production_answers v3 || fail "the production listener answers v3"
if aws ecs deploy --cluster demo --service web --task-definition "$out.td3.json" \
  --codedeploy-appspec "$out.appspec.yaml" --codedeploy-application smoke \
  --codedeploy-deployment-group smoke-dg >"$out" 2>"$err"; then
  fail "ecs deploy to a service outside the group succeeded"
fi
grep -q "smoke-dg" "$err" || fail "ecs deploy names the group: $(cat "$err")"
passed=$((passed + 5))

kill -INT "$PID"
wait "$PID" || fail "ecsim did not shut down cleanly on SIGINT"
trap - EXIT
rm -f "$LOG" "$out" "$err" "$out".*
echo "CLI smoke test ($RUNTIME runtime): $passed passed, 0 failed"
