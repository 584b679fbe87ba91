#!/usr/bin/env bash
# Prepares newer Erlang/OTP releases for the interop tests, as Debian's own
# packages in minimal chroots: OTP 27 (Debian 13, "trixie", with Elixir 1.18)
# and OTP 29 (the next Debian release, "forky", with Elixir 1.20).
#
# Usage: scripts/otp-chroots.sh [otp27] [otp29]     (default: both)
#
# For each release it leaves, under $BEAMLINE_OTP_ROOT (default
# /var/lib/beamline-otp), a chroot `<name>/root` and a folder `<name>/bin`
# of wrappers (erl, erlc, elixir, elixirc, iex, epmd, escript) that run the
# chroot's programs in the caller's working directory. Put that folder first
# on PATH and every test that starts `erl` runs it on that release:
#
#   PATH=/var/lib/beamline-otp/otp27/bin:$PATH npm test
#
# The chroot shares this machine's network (loopback, EPMD ports), /tmp,
# /dev, /proc and the folder holding this checkout (bind-mounted at the same
# path, so ../shared resolves too). Idempotent: a prepared release is reused,
# and mounts are made once. Needs root and debootstrap (installed when
# missing); the Debian mirror is the one this machine's apt already uses.
set -euo pipefail

ROOT_DIR="${BEAMLINE_OTP_ROOT:-/var/lib/beamline-otp}"
here="$(cd "$(dirname "$0")/.." && pwd)"
share="$(dirname "$here")"

if [ "$(id -u)" != 0 ]; then
  echo "otp-chroots: needs root (chroot, mount, debootstrap)" >&2
  exit 2
fi

mirror() {
  # The first Debian archive URI this machine's apt is configured with.
  local uri
  uri="$(grep -hE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
  if [ -z "$uri" ]; then
    uri="$(grep -hE '^\s*deb\s' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
  fi
  if [ -z "$uri" ]; then
    echo "otp-chroots: no Debian mirror found in /etc/apt sources" >&2
    exit 2
  fi
  echo "$uri"
}

ensure_debootstrap() {
  if ! command -v debootstrap >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
  fi
  # Older debootstrap releases have no script for the newest suites; those
  # are bootstrapped like sid.
  local scripts=/usr/share/debootstrap/scripts suite
  for suite in trixie forky; do
    [ -e "$scripts/$suite" ] || ln -s sid "$scripts/$suite"
  done
}

bind() {
  # bind SRC DST: bind-mounts SRC on DST once. A mount left there by an
  # earlier run may show a folder that has since been deleted and made again
  # (findmnt prints its source as `…//deleted`): the same path, another
  # inode. Such a stale mount is replaced.
  mkdir -p "$2"
  if mountpoint -q "$2"; then
    [ "$(stat -c %d:%i "$1")" = "$(stat -c %d:%i "$2")" ] && return 0
    umount -l "$2"
  fi
  mount --bind "$1" "$2"
}

prepare() {
  local name="$1" suite="$2"
  local dir="$ROOT_DIR/$name" root="$ROOT_DIR/$name/root"
  if [ ! -x "$root/usr/bin/erl" ] || [ ! -x "$root/usr/bin/elixir" ]; then
    ensure_debootstrap
    echo "otp-chroots: bootstrapping $name from Debian $suite"
    rm -rf "$root"
    mkdir -p "$root"
    debootstrap --variant=minbase "$suite" "$root" "$(mirror)" >"$dir.debootstrap.log" 2>&1 \
      || { tail -n 20 "$dir.debootstrap.log" >&2; exit 1; }
    mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
    chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      erlang-nox erlang-dev elixir ca-certificates >"$dir.apt.log" 2>&1 \
      || { tail -n 20 "$dir.apt.log" >&2; exit 1; }
  fi
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  bind /dev "$root/dev"
  bind /tmp "$root/tmp"
  bind "$share" "$root$share"
  cp /etc/hosts "$root/etc/hosts"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

  mkdir -p "$dir/bin"
  for tool in erl erlc escript epmd elixir elixirc iex mix erl_call; do
    local target="/usr/bin/$tool"
    [ "$tool" = erl_call ] && target="$(chroot "$root" /bin/sh -c 'ls /usr/lib/erlang/lib/erl_interface-*/bin/erl_call 2>/dev/null | head -n1')"
    [ -n "$target" ] || continue
    cat >"$dir/bin/$tool" <<EOF
#!/bin/sh
# $tool from the $name chroot, run in the caller's working directory.
exec chroot "$root" /usr/bin/env -C "\$PWD" "$target" "\$@"
EOF
    chmod +x "$dir/bin/$tool"
  done
  local release
  release="$("$dir/bin/erl" -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')"
  echo "otp-chroots: $name ready: OTP $release, $("$dir/bin/elixir" --version 2>/dev/null | grep -i elixir | head -n1) ($dir/bin)"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(otp27 otp29)
for t in "${targets[@]}"; do
  case "$t" in
    otp27) prepare otp27 trixie ;;
    otp29) prepare otp29 forky ;;
    *) echo "otp-chroots: unknown release $t (otp27 or otp29)" >&2; exit 2 ;;
  esac
done
