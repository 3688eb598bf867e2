#!/usr/bin/env bash
# Runs every check and test of Overrun, installing what they need first. CI runs exactly this.
#
# Installs (idempotently) into .venv: moto (the local AWS endpoint) and cargo-lambda (the Lambda
# runtime emulator for the end-to-end test). Starts moto on a free 127.0.0.1 port for the
# duration of the tests and stops it afterwards, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
CARGO_LAMBDA_VERSION=1.9.2
SAM_CLI_VERSION=1.170.0
CFN_LINT_VERSION=1.58.0

step() { printf '\n==> %s\n' "$*"; }

step "toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --version >/dev/null
cargo clippy --version >/dev/null

step "python tools (.venv): moto ${MOTO_VERSION}, cargo-lambda ${CARGO_LAMBDA_VERSION}, aws-sam-cli ${SAM_CLI_VERSION}, cfn-lint ${CFN_LINT_VERSION}"
if [ ! -x .venv/bin/pip ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check \
  "moto[server]==${MOTO_VERSION}" "cargo-lambda==${CARGO_LAMBDA_VERSION}" \
  "aws-sam-cli==${SAM_CLI_VERSION}" "cfn-lint==${CFN_LINT_VERSION}"
export PATH="$PWD/.venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0 CDK_DISABLE_CLI_TELEMETRY=true
# A clean clone gains nothing from incremental compilation, and its cache costs gigabytes of disk.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
cargo lambda --version
rustup target add aarch64-unknown-linux-gnu >/dev/null

# The HTML report's test renders it in a real headless browser: Chromium from the distribution.
if ! command -v chromium >/dev/null 2>&1; then
  step "chromium from the distribution's packages (the report's browser test)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  install_chromium() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null; }
  install_chromium || { $sudo apt-get update -q >/dev/null && install_chromium; }
fi
chromium --version

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets -- -D warnings

step "build"
cargo build --workspace --all-targets

step "local AWS endpoint"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp)
moto_log=$(mktemp)
demo_log=$(mktemp)
moto_server -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
moto_pid=$!
cleanup() {
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
  rm -f "$log" "$moto_log" "$demo_log"
}
trap cleanup EXIT
answering() { python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "http://127.0.0.1:${port}/moto-api/data.json" >/dev/null 2>&1; }
for _ in $(seq 1 100); do
  if answering; then break; fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then cat "$moto_log"; echo "moto did not start" >&2; exit 1; fi
  sleep 0.1
done
answering || { cat "$moto_log"; echo "moto is not answering" >&2; exit 1; }
echo "moto ${MOTO_VERSION} on 127.0.0.1:${port}"
export OVERRUN_TEST_ENDPOINT="http://127.0.0.1:${port}"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
# Nothing may reach a real AWS account from the tests.
unset AWS_PROFILE AWS_SESSION_TOKEN

step "tests"
cargo test --workspace --lib --bins --tests 2>&1 | tee "$log"

step "deploy paths, offline: SAM template"
(cd infra && cfn-lint template.yaml member.yaml && sam validate --lint --region us-east-1)
(cd infra && sam build --beta-features)
python3 - <<'PY'
import pathlib, sys
for function in ("IngestFunction", "HttpIngestFunction", "ForwarderFunction", "BaselineFunction", "CheckerFunction"):
    binary = pathlib.Path("infra/.aws-sam/build") / function / "bootstrap"
    header = binary.read_bytes()[:20] if binary.exists() else b""
    # ELF, 64-bit, machine 183 = AArch64.
    if header[:4] != b"\x7fELF" or header[4] != 2 or int.from_bytes(header[18:20], "little") != 183:
        sys.exit(f"{binary}: missing or not an arm64 ELF binary")
    print(f"{binary}: arm64 bootstrap, {binary.stat().st_size} bytes")
PY

step "deploy paths, offline: CDK app"
cargo lambda build --release --arm64 -p overrun-ingest -p overrun-http-ingest -p overrun-forwarder -p overrun-baseline -p overrun-checker
(cd infra/cdk && npm ci --no-audit --no-fund && npx tsc && node --test dist/test/ 2>&1 | tee -a "$log" \
  && npx cdk synth --quiet --no-notices)
# The same app with a central bus for member accounts, open to an organization and one account.
(cd infra/cdk && npx cdk synth --quiet --no-notices -o cdk.out.central -c centralBusName=overrun-tasks \
  -c centralBusOrganizationId=o-abcd1234ef -c centralBusAccounts=111122223333)
# W3005: the CDK adds DependsOn next to the GetAtt it already implies; harmless.
cfn-lint --ignore-checks W3005 -- infra/cdk/cdk.out/Overrun.template.json infra/cdk/cdk.out.central/Overrun.template.json

step "least privilege: no wildcard in any function's or forwarding role's policy, no stats write beyond what a function owns, secrets only read, the central bus open to named accounts or one organization only"
python3 infra/check_policies.py --self-test
python3 infra/check_policies.py infra/template.yaml infra/member.yaml infra/.aws-sam/build/template.yaml \
  infra/cdk/cdk.out/Overrun.template.json infra/cdk/cdk.out.central/Overrun.template.json

step "one set of defaults: SAM template, samconfig.toml and the CDK app agree"
python3 infra/check_defaults.py --self-test
python3 infra/check_defaults.py infra/template.yaml infra/samconfig.toml infra/cdk/cdk.out/Overrun.template.json

step "the local demo: an overrunning run pages through the real checker binary"
./scripts/demo.sh | tee "$demo_log"
grep -q "message(s) published by the checker and received through SQS" "$demo_log"

# One closing line for the whole run, summed over every test binary (cargo and node).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^# pass / { p += $3 } /^# fail / { f += $3 }
     END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
