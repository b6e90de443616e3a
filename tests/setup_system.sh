#!/usr/bin/env bash
# System packages the test suite starts itself (Chromium, PostgreSQL, Node and curl for the code snippets), and the
# snippets' npm packages. Installs them with apt when run as root; otherwise stops at once with one line naming what
# to install.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium fonts-noto-color-emoji)
# PostgreSQL for the ledger's tests (tests/postgres.py starts its own server; Debian keeps initdb off PATH)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || need+=(postgresql)
# The code snippets are run by the tests (tests/test_snippets_run.py): Node and npm for JavaScript, curl for the
# shell, openssl for the test CA of the HTTPS proxy in front of the fake server
{ command -v node && command -v npm; } >/dev/null || need+=(nodejs npm)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "The tests need: ${need[*]}. Install them (e.g. sudo apt-get install ${need[*]}) and run make test again." >&2
    exit 1
  fi
fi
# The JavaScript clients the snippets use, pinned by tests/js/package-lock.json (again whenever the lock changes)
js="$(dirname "$0")/js"
if [ ! -d "$js/node_modules" ] || [ "$js/package-lock.json" -nt "$js/node_modules" ]; then
  npm ci --prefix "$js" --no-audit --no-fund --loglevel=error
  touch "$js/node_modules"
fi
