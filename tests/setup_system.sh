#!/usr/bin/env bash
# System packages the test suite starts itself (Chromium, PostgreSQL). Installs them with apt when run as root;
# otherwise stops at once with one line naming what to install.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium fonts-noto-color-emoji)
# PostgreSQL for the ledger's tests (tests/postgres.py starts its own server; Debian keeps initdb off PATH)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "The tests need: ${need[*]}. Install them (e.g. sudo apt-get install ${need[*]}) and run make test again." >&2
  exit 1
fi
