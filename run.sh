#!/usr/bin/env bash
# The main job on embedded defaults: set up .venv, then validate and plan every
# example campaign in campaigns/. Later stages extend this to the unattended run.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
status=0
for file in campaigns/*.yaml; do
  .venv/bin/cascade validate "$file" || status=1
done
[ "$status" -eq 0 ] || exit "$status"
for file in campaigns/*.yaml; do
  .venv/bin/cascade plan "$file" --summary
done
