#!/usr/bin/env bash
# Installs what vtscope needs on a fresh Debian machine: nasm and gcc -m32 to build the sample
# and test kernels, QEMU as the reference PC the tests compare with, and the npm packages.
# Run as root (or with sudo available). Running it again installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for package in nasm gcc-multilib qemu-system-x86; do
  installed "$package" || missing+=("$package")
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]]; then
    as_root=()
  elif command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "setup.sh: ${missing[*]} missing; run this script as root to install them" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  "${as_root[@]}" apt-get update
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major < 20)); then
  echo "setup.sh: vtscope needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

npm ci
