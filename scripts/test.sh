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

step() { printf '\n==> %s\n' "$*"; }

step "toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --version >/dev/null
cargo clippy --version >/dev/null

step "python tools (.venv): moto ${MOTO_VERSION}, cargo-lambda ${CARGO_LAMBDA_VERSION}"
if [ ! -x .venv/bin/pip ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check \
  "moto[server]==${MOTO_VERSION}" "cargo-lambda==${CARGO_LAMBDA_VERSION}"
export PATH="$PWD/.venv/bin:$PATH"
cargo lambda --version

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
moto_server -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
moto_pid=$!
cleanup() {
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
  rm -f "$log" "$moto_log"
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

# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
