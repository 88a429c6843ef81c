#!/usr/bin/env bash
# What the browser tests (tests/test_portal_browser.py) need, installed when missing:
# Debian's Chromium (/usr/bin/chromium; run as root) and a Chinese font for it (the
# screenshots in bench/results/ are read by people), Python playwright in .venv (it drives
# that Chromium through `executable_path`, no browser download) and the widget's npm
# packages (web/node_modules, from web/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Chromium (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  echo "Installing a Chinese font (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null
fi

if ! .venv/bin/python -c 'import playwright' 2>/dev/null; then
  echo "Installing playwright into .venv"
  .venv/bin/python -m pip install --quiet 'playwright==1.65.*'
fi

if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  echo "Installing the widget's packages (npm ci in web/)"
  npm ci --prefix web --no-audit --no-fund --loglevel=error
fi
