#!/usr/bin/env bash
# Sets up .venv with the dev tools, then lints, type-checks and runs the whole test suite.
# Extra arguments go to pytest (e.g. ./test.sh -k deadlines).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh dev
# The store and engine tests run on SQLite and on a throwaway PostgreSQL (required in CI).
if [ -z "${CASCADE_TEST_POSTGRES_URL:-}" ]; then
  source scripts/postgres.sh
  start_throwaway_postgres || true
fi
# Real programs some tests drive: LibreOffice and pdftoppm (the summary docx), Chromium (the web).
source scripts/debian.sh
ensure_debian "soffice pdftoppm pdftotext" libreoffice-writer-nogui poppler-utils fonts-dejavu-core || true
ensure_debian_packages libreoffice-calc-nogui || true
ensure_debian chromium chromium || true
if [ "${CI:-}" = "true" ]; then
  export CASCADE_REQUIRE_POSTGRES=1 CASCADE_REQUIRE_DOCTOOLS=1 CASCADE_REQUIRE_BROWSER=1
fi
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
