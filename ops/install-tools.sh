#!/usr/bin/env bash
# What the image and chart checks need besides the project's virtualenv, installed by
# `make deploy-tools` (make test runs it): Debian's Docker engine, debootstrap and promtool; the
# CRD schema validators from npm (ops/crds); checkov in a virtualenv of its own. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}

missing=()
command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
command -v promtool >/dev/null || missing+=(prometheus)
# The dashboard's browser test (tests/reporting) drives Debian's chromium with Playwright.
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v node >/dev/null || { echo "Node.js is needed for the CRD schema validators (ops/crds)" >&2; exit 1; }
npm ci --prefix ops/crds --no-audit --no-fund --loglevel=error

CHECKOV=.tandem/checkov
test -x "$CHECKOV/bin/python" || "$PYTHON" -m venv "$CHECKOV"
"$CHECKOV/bin/pip" install -q --upgrade pip
"$CHECKOV/bin/pip" install -q -c ops/checkov-constraints.txt checkov
