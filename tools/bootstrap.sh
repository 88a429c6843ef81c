#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs requirements.lock when it changed.
# Rasa 3.6 refuses Python 3.11+, so 3.10 is looked for on PATH, then under pyenv.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python310() {
  if command -v python3.10 >/dev/null 2>&1 && python3.10 -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    command -v python3.10
    return
  fi
  local root
  root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
  local candidate
  for candidate in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/bin/python3.10" ]; then
      echo "$candidate/bin/python3.10"
      return
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ]; then
  if ! py="$(find_python310)"; then
    echo "error: Python 3.10 is required (Rasa 3.6 does not support 3.11+)." >&2
    echo "       Install it (e.g. 'pyenv install 3.10') or put python3.10 on PATH, then retry." >&2
    exit 1
  fi
  echo "Creating .venv with $py"
  "$py" -m venv .venv
fi

lock_hash="$(sha256sum requirements.lock | cut -c1-16)"
stamp=".venv/.installed-$lock_hash"
if [ ! -f "$stamp" ]; then
  echo "Installing pinned dependencies (a few minutes the first time)"
  .venv/bin/python -m pip install --quiet --upgrade pip==24.0
  .venv/bin/python -m pip install --quiet -r requirements.lock
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# The portal's chat widget: socket.io-client from the npm registry, pinned by web/package-lock.json.
if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  echo "Installing the web widget's packages (npm ci in web/)"
  npm ci --prefix web --no-audit --no-fund --loglevel=error
fi
