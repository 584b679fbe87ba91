#!/usr/bin/env bash
# Runs the test suite on a newer Node.js than the machine's own: Debian
# forky's `nodejs` package (Node.js 24) inside the OTP 29 chroot that
# scripts/otp-chroots.sh prepares. Debian packages no Node.js 22 (trixie has
# 20.19, forky 24), so 24 is the newer release CI checks; README.md states
# the Node.js policy.
#
# Usage: scripts/test-newer-node.sh [arguments of scripts/test.mjs]
#   Default: every compiled test file except the interop ones (.ci/run runs
#   those on OTP 25, 27 and 29 already), the npm packaging test (npm is not
#   in the chroot) and the observer's browser test (no chromium there).
#
# Runs the build/ that `npm test` compiled (plain JavaScript, the same on
# every Node.js). Needs root (chroot); installs nodejs into the chroot the
# first time, and skips with a one-line reason when it cannot. Test
# failures fail it.
set -euo pipefail

ROOT_DIR="${BEAMLINE_OTP_ROOT:-/var/lib/beamline-otp}"
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$ROOT_DIR/otp29/root"

if [ "$(id -u)" != 0 ]; then
  echo "test-newer-node: needs root (chroot)" >&2
  exit 2
fi
# Prepared once, reused; makes the mounts (the checkout's folder, /tmp, /dev, /proc) if missing.
"$here/scripts/otp-chroots.sh" otp29 >/dev/null
if [ ! -x "$root/usr/bin/node" ]; then
  install_nodejs() { chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs; }
  # Optional: when Debian's nodejs cannot be had (no mirror), say so and skip.
  if ! { install_nodejs || { chroot "$root" apt-get update -q && install_nodejs; }; } >"$ROOT_DIR/otp29.nodejs.log" 2>&1; then
    tail -n 5 "$ROOT_DIR/otp29.nodejs.log" >&2
    echo "test-newer-node: skipped: could not install nodejs in $root (log: $ROOT_DIR/otp29.nodejs.log)"
    exit 0
  fi
fi
if [ ! -d "$here/build" ]; then
  echo "test-newer-node: no build/ (run npm test or npx tsc -p . first)" >&2
  exit 2
fi

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--no-erlang --exclude=test/package.test --exclude=observer/page.test)
echo "== tests on Node.js $(chroot "$root" /usr/bin/node --version) (Debian forky's nodejs, in $root)"
exec chroot "$root" /usr/bin/env -C "$here" HOME=/tmp CI="${CI:-true}" /usr/bin/node scripts/test.mjs "${args[@]}"
