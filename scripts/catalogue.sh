#!/usr/bin/env bash
# The operator's message catalogue (cascade/i18n.py): extract every message marked _("..."),
# _n("...", "...") or N_("...") into cascade/locale/cascade.pot and merge it into the Vietnamese
# catalogue, cascade/locale/vi/LC_MESSAGES/cascade.po, whose new entries are then translated by
# hand (tests/test_i18n.py fails while one is not). scripts/setup.sh compiles the catalogue.
set -euo pipefail
cd "$(dirname "$0")/.."
pot=cascade/locale/cascade.pot
po=cascade/locale/vi/LC_MESSAGES/cascade.po
.venv/bin/pybabel extract --no-location --sort-output --project=cascade \
  -k _ -k _n:1,2 -k N_ --width=100 -o "$pot" cascade flows notifiers 2>&1 | grep -v "^extracting messages" || true
if [ -f "$po" ]; then
  .venv/bin/pybabel update --width=100 --no-fuzzy-matching --ignore-obsolete -i "$pot" -o "$po" -l vi 2>&1 | grep -v "^updating" || true
else
  .venv/bin/pybabel init -i "$pot" -o "$po" -l vi
fi
echo "catalogue: $(grep -c '^msgid "' "$po") messages in $po"
