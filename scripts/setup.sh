#!/usr/bin/env bash
# Installs what fence-agent's demo and tests need on a fresh Debian 12 machine (as root):
# Debian packages (MariaDB, keepalived, util-linux, iproute2, e2fsprogs, psmisc, hyperfine, bindfs, tgt, prometheus for promtool),
# the npm dependencies (npm ci), and the built CLI (dist/). Idempotent: a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (the lab uses loop devices, mount and network namespaces)" >&2
  exit 1
fi

# command → Debian package that provides it
declare -A wanted=(
  [mariadbd]=mariadb-server [mariadb]=mariadb-client [keepalived]=keepalived
  [hyperfine]=hyperfine [fuser]=psmisc [nsenter]=util-linux [losetup]=mount
  [mkfs.ext4]=e2fsprogs [ip]=iproute2 [findmnt]=util-linux
  [bindfs]=bindfs # the lab's per-node lease storage (FUSE), which a test can freeze
  [tgtd]=tgt # the labs' iSCSI target (persistent reservations), on loopback for lab/iscsi's test
  [promtool]=prometheus # `promtool check metrics` on the daemon's metrics (test/unit/metrics/registry.test.ts); its service is not started
)
missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "setup: installing Debian packages: $pkgs"
  apt-get update -q >/dev/null
  # Keep the packages' services from starting: the agent (or the lab) starts mysqld itself.
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  [ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs >/dev/null
  [ "$had_policy" = 1 ] || rm -f "$policy"
fi

# npm ci when node_modules is missing or older than the lockfile; it runs `prepare` (the build).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
