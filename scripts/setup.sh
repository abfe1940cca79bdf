#!/usr/bin/env bash
# Creates .venv/ and installs the project with its pinned dependencies.
# Re-runs pip only when pyproject.toml changed since the last install.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
extra="${1:-}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version)"
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=".venv/.cascade-installed${extra:+-$extra}"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing cascade${extra:+[$extra]} and its pinned dependencies into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extra:+[$extra]}"
  echo "$want" > "$stamp"
fi
# The operator's message catalogue, compiled when its .po is newer than its .mo (cascade/i18n.py)
po=cascade/locale/vi/LC_MESSAGES/cascade.po
if [ ! -f "${po%.po}.mo" ] || [ "$po" -nt "${po%.po}.mo" ]; then
  .venv/bin/pybabel compile --use-fuzzy -d cascade/locale -D cascade -l vi -i "$po" -o "${po%.po}.mo" 2>&1 | grep -v "^compiling" || true
fi
