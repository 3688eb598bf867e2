#!/usr/bin/env bash
# A local demo that pages, with nothing but Rust and Python: moto stands in for AWS, the bundled
# real trace is backfilled as if its last run ended now, a run that is already overrunning is
# started, the real checker binary runs once under the Lambda runtime emulator (cargo lambda),
# and the email, SMS and JSON bodies it published are read back through an SQS subscription.
# Everything listens on 127.0.0.1 and is stopped on exit; with --keep, moto and its tables stay
# up and the exact `export` lines to operate them (`overrun status`, `explain`, `close`…) are
# printed. CI runs it.
#
# Usage: ./scripts/demo.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
case "${1:-}" in
  --keep) keep=true ;;
  "") ;;
  *) echo "usage: $0 [--keep]" >&2; exit 2 ;;
esac

MOTO_VERSION=5.2.5
CARGO_LAMBDA_VERSION=1.9.2
say() { printf '\n==> %s\n' "$*"; }

if [ ! -x .venv/bin/moto_server ] || [ ! -x .venv/bin/cargo-lambda ]; then
  say "installing moto ${MOTO_VERSION} and cargo-lambda ${CARGO_LAMBDA_VERSION} into .venv"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check \
    "moto[server]==${MOTO_VERSION}" "cargo-lambda==${CARGO_LAMBDA_VERSION}"
fi
export PATH="$PWD/.venv/bin:$PATH"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
moto_port=$(free_port)
emulator_port=$(free_port)
work=$(mktemp -d)
pids=()
moto_pid=
cleanup() {
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  if [ -n "$moto_pid" ] && ! $keep; then kill -- "-$moto_pid" 2>/dev/null || kill "$moto_pid" 2>/dev/null || true; fi
  wait "${pids[@]}" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say "moto on 127.0.0.1:${moto_port}"
moto_log="$work/moto.log"
if $keep; then moto_log="${TMPDIR:-/tmp}/overrun-demo-moto-${moto_port}.log"; fi
setsid moto_server -H 127.0.0.1 -p "$moto_port" >"$moto_log" 2>&1 &
moto_pid=$!
endpoint="http://127.0.0.1:${moto_port}"
for _ in $(seq 1 100); do
  python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$endpoint/moto-api/data.json" 2>/dev/null && break
  sleep 0.1
done

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export OVERRUN_RUNS_TABLE=demo-runs OVERRUN_STATS_TABLE=demo-stats
unset AWS_PROFILE AWS_SESSION_TOKEN

# The release binary the quick start built, when there is one; else a debug build (quicker to
# make from nothing, as in CI).
if [ -x target/release/overrun ]; then
  overrun=target/release/overrun
  say "the overrun command: $overrun (built by the quick start)"
else
  say "building the overrun command (debug; \`cargo build --release -p overrun-cli\` first makes the demo use the release one)"
  cargo build --quiet -p overrun-cli
  overrun=target/debug/overrun
fi

say "tables, and the bundled trace backfilled as if it ended now"
"$overrun" create-tables --endpoint-url "$endpoint"
# The last 8 days give the busy task types their baselines; moto copies every table on each
# transaction (and keeps much of it), so loading all 35 days of the retention into it takes
# minutes and gigabytes, where DynamoDB takes seconds.
"$overrun" backfill examples/data/julia_buildkite_jobs.csv.gz --shift-to-now --since 8d --concurrency 4 \
  --endpoint-url "$endpoint"

say "the alert topic, with an SQS queue subscribed to it"
eval "$(python3 scripts/demo_aws.py "$endpoint" setup)"

say "a run of ${DEMO_TASK} that started ${DEMO_ELAPSED} ago: far past its limit"
printf 'task_type,run_id,start_epoch_s,end_epoch_s,status\n%s,demo-overrun,%s,,running\n' \
  "$DEMO_TASK" "$DEMO_START" >"$work/running.csv"
"$overrun" backfill "$work/running.csv" --no-baselines --endpoint-url "$endpoint"

say "the checker binary, once, under the Lambda runtime emulator (cargo lambda)"
setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$emulator_port" \
  --env-var "AWS_ENDPOINT_URL=$endpoint" --env-var AWS_ACCESS_KEY_ID=testing \
  --env-var AWS_SECRET_ACCESS_KEY=testing --env-var AWS_REGION=us-east-1 \
  --env-var "OVERRUN_RUNS_TABLE=$OVERRUN_RUNS_TABLE" --env-var "OVERRUN_STATS_TABLE=$OVERRUN_STATS_TABLE" \
  --env-var "OVERRUN_TOPIC_ARN=$DEMO_TOPIC" >"$work/emulator.log" 2>&1 </dev/null &
pids+=($!)
for _ in $(seq 1 600); do
  python3 -c "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$emulator_port" 2>/dev/null && break
  sleep 0.2
done
cargo lambda invoke checker --invoke-address 127.0.0.1 --invoke-port "$emulator_port" \
  --data-ascii '{"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}'
echo

say "what the topic delivered"
python3 scripts/demo_aws.py "$endpoint" show

if $keep; then
  say "moto stays up with the demo's tables (pid ${moto_pid}, log ${moto_log}); to operate it:"
  cat <<EXPORTS
export AWS_ENDPOINT_URL=${endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export OVERRUN_RUNS_TABLE=${OVERRUN_RUNS_TABLE} OVERRUN_STATS_TABLE=${OVERRUN_STATS_TABLE}
overrun status                      # the run paged above, past its limits
overrun explain "${DEMO_TASK}" demo-overrun
kill ${moto_pid}                          # stops moto when you are done
EXPORTS
fi
