#!/usr/bin/env bash
# Installs the Python-packaged tools once into a virtualenv and prints its bin directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${FITTRACK_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/fittrack-tools}"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/moto_server" ] || ! cmp -s "$root/infra/requirements-dev.txt" "$stamp"; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/infra/requirements-dev.txt" >&2
  cp "$root/infra/requirements-dev.txt" "$stamp"
fi
echo "$venv/bin"
