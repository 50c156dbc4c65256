#!/usr/bin/env bash
# Starts moto on a free loopback port, waits until it answers, and prints the exports that point
# the AWS SDK at it. Usage: eval "$(infra/scripts/emulator.sh start)"; infra/scripts/emulator.sh stop
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
pidfile="${TMPDIR:-/tmp}/fittrack-emulator.pid"
case "${1:-start}" in
  start)
    bin="$("$root/infra/scripts/tools.sh")"
    port="${FITTRACK_EMULATOR_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
    # moto, with DynamoDB requests serialised as DynamoDB isolates transactions (see the script).
    "$bin/python" "$root/infra/scripts/moto_serialized.py" -H 127.0.0.1 -p "$port" >"${TMPDIR:-/tmp}/fittrack-emulator.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      if curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then
        echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1"
        exit 0
      fi
      sleep 0.1
    done
    echo "emulator did not start; see ${TMPDIR:-/tmp}/fittrack-emulator.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
    ;;
esac
