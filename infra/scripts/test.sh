#!/usr/bin/env bash
# The whole check, as CI runs it: formatting, lints, every test (unit, property, contract tests on
# both adapters, Lambda payloads, end-to-end on both stores) and the template lint.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
bin="$(infra/scripts/tools.sh)"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cfn-lint template.yaml"
"$bin/cfn-lint" template.yaml

echo "== starting the AWS emulator"
eval "$(infra/scripts/emulator.sh start)"
trap 'infra/scripts/emulator.sh stop' EXIT
echo "   $AWS_ENDPOINT_URL"

echo "== cargo test"
log="$(mktemp)"
cargo test --workspace --locked --all-targets 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "all tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
