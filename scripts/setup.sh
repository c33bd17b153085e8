#!/usr/bin/env bash
# Installs what vtscope needs on a fresh Debian machine: nasm and gcc -m32 to build the sample
# and test kernels, QEMU as the reference PC the tests compare with, the npm packages, and
# code-server with Chromium for the end-to-end test of the VS Code extension.
# Run as root (or with sudo available). Running it again installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
# chromium drives code-server in the end-to-end test; libkrb5-dev and ripgrep let code-server install offline.
for package in nasm gcc-multilib qemu-system-x86 chromium libkrb5-dev ripgrep; do
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

# code-server 4.100.3 is VS Code 1.100, the last release that runs on Node 20; it goes into a
# project-local prefix. Its @vscode/ripgrep postinstall would download rg from GitHub: Debian's
# rg, put where that script caches its download, makes the install work offline.
code_server_version=4.100.3
code_server_prefix=.cache/code-server
installed_version=$(node -p "try { require('./$code_server_prefix/node_modules/code-server/package.json').version } catch { '' }")
if [[ $installed_version != "$code_server_version" ]]; then
  echo "setup.sh: installing code-server $code_server_version in $code_server_prefix"
  seed=$(mktemp -d)
  mkdir -p "$seed/vscode-ripgrep-cache-1.15.11" "$code_server_prefix"
  tar -czf "$seed/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
  if ! TMPDIR=$seed npm_config_yes=true npm_config_unsafe_perm=true npm install --prefix "$code_server_prefix" \
      --no-save --no-audit --no-fund --loglevel=error "code-server@$code_server_version" >"$seed/npm.log" 2>&1; then
    cat "$seed/npm.log" >&2
    rm -rf "$seed"
    echo "setup.sh: installing code-server failed" >&2
    exit 1
  fi
  rm -rf "$seed"
fi
