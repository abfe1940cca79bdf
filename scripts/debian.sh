#!/usr/bin/env bash
# Sourced by test.sh: Debian packages some tests drive as real programs, installed when
# missing and we are root (CI is); otherwise those tests are skipped (or fail under CI=true).
#   LibreOffice Writer (headless) and poppler's pdftoppm: the summary docx rendered to PDF and PNG
#   LibreOffice Calc (headless): a CSV turned into an .xlsx workbook, imported as a district's answer
#   Chromium: the web forms and status page driven by Playwright

ensure_debian() {  # ensure_debian "command..." package...
  local commands="$1" missing=0 command
  shift
  for command in $commands; do
    command -v "$command" >/dev/null 2>&1 || missing=1
  done
  [ "$missing" -eq 0 ] && [ -n "$commands" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "debian: ${commands:-$*} missing and not root; the tests that need them will be skipped" >&2
    return 1
  fi
  echo "debian: installing $*" >&2
  apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_debian_packages() {  # ensure_debian_packages package...: the packages dpkg does not have yet
  local wanted=() package
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || wanted+=("$package")
  done
  [ "${#wanted[@]}" -eq 0 ] && return 0
  ensure_debian "" "${wanted[@]}" || return 1
}
