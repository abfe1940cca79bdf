#!/usr/bin/env bash
# The main job on embedded defaults: set up .venv, validate and plan every example
# campaign, then run each through the engine on a virtual clock with its example signals
# (a temporary SQLite store; notices are captured, not sent). The unattended Prefect run
# arrives with the orchestration stage.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
status=0
for file in campaigns/*.yaml; do
  .venv/bin/cascade validate "$file" || status=1
done
[ "$status" -eq 0 ] || exit "$status"
mkdir -p data
for file in campaigns/*.yaml; do
  name="$(basename "$file" .yaml)"
  .venv/bin/cascade plan "$file" --summary
  signals="$(ls tests/scenarios/"$name".signals.* 2>/dev/null | head -n 1 || true)"
  .venv/bin/cascade simulate "$file" ${signals:+--signals "$signals"} --out "data/$name.events.jsonl"
done
