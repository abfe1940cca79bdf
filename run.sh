#!/usr/bin/env bash
# The main job on embedded defaults (SQLite under data/, a local Prefect server):
#  1. set up .venv, validate and plan every example campaign, and run each through the
#     engine on a virtual clock with its example signals (data/<campaign>.events.jsonl);
#  2. deploy the Ha Tinh seed with its signals into data/cascade.db and serve it unattended:
#     a local Prefect server starts (UI address printed), the campaign ticks at once (catching
#     up from 2020 to today), then every 10 minutes and on each `cascade signal`; its digests
#     go to the officials' channels when CASCADE_SMTP_URL (or _SECRET) is set, else to the log.
# Ctrl-C stops it; `./run.sh --for 120` stops after two minutes. Arguments go to `cascade serve`.
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
.venv/bin/cascade deploy campaigns/ha-tinh-xix-2020.yaml
.venv/bin/cascade signal ha-tinh-xix-2020 --import tests/scenarios/ha-tinh-xix-2020.signals.yaml
# No SMTP server configured (CASCADE_SMTP_URL / CASCADE_SMTP_SECRET): digests go to the log.
if [ -z "${CASCADE_SMTP_URL:-}${CASCADE_SMTP_SECRET:-}" ]; then
  export CASCADE_NOTIFY="${CASCADE_NOTIFY:-log}"
fi
# The web application (forms, status page, API) on 127.0.0.1:8080. Unless CASCADE_WEB_TOKEN
# is set, the status page's token is made once and kept in data/web-token (owner only).
export CASCADE_WEB_URL="${CASCADE_WEB_URL:-http://127.0.0.1:8080}"
if [ -z "${CASCADE_WEB_TOKEN:-}" ]; then
  if [ ! -s data/web-token ]; then
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(16))' > data/web-token)
  fi
  CASCADE_WEB_TOKEN="$(cat data/web-token)"
  export CASCADE_WEB_TOKEN
  echo "status page: $CASCADE_WEB_URL/status (its token is in data/web-token)"
fi
exec .venv/bin/cascade serve "$@"
