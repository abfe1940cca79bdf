#!/usr/bin/env bash
# Sets up .venv with the dev tools, then lints, type-checks and runs the whole test suite.
# Extra arguments go to pytest (e.g. ./test.sh -k deadlines).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
set +e
.venv/bin/pytest "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; an empty run proves nothing, so this is a failure." >&2
  exit 1
fi
exit "$code"
