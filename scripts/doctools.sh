#!/usr/bin/env bash
# Sourced by test.sh: Debian's LibreOffice Writer (headless) and poppler's pdftoppm, for the
# test that renders the summary docx to PDF and PNG. Installed when missing and we are root
# (CI is); otherwise that test is skipped, or fails under CI=true.

ensure_doctools() {
  if command -v soffice >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "doctools: LibreOffice or pdftoppm missing and not root; the docx rendering test will be skipped" >&2
    return 1
  fi
  echo "doctools: installing Debian's libreoffice-writer-nogui and poppler-utils" >&2
  apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libreoffice-writer-nogui poppler-utils fonts-dejavu-core >/dev/null
}
