#!/usr/bin/env bash
# Installs what a fresh Debian bookworm machine lacks to build, run and test Earpiece:
# the C libraries we bind (OpenSSL, hiredis), Redis, the openssl CLI (test certificates),
# and the Python clients the interoperability tests drive. Idempotent and quiet when all is there.
set -euo pipefail

packages=(libssl-dev libhiredis-dev pkg-config openssl redis-server python3 python3-pip)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c "import pytest, websockets, socketio, websocket, requests, jsonschema, prometheus_client" 2>/dev/null; then
  req="$(dirname "$0")/../Tests/Interop/requirements.txt"
  python3 -m pip install -q --disable-pip-version-check -r "$req" 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages -r "$req"
fi
