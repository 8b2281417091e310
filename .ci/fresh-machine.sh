#!/usr/bin/env bash
# Checks the README's promise on a machine that has only what a fresh Debian 12 has: builds a
# clean root with debootstrap from this machine's configured Debian source, installs this
# machine's Node.js package into it (repacked with dpkg-repack, since Debian 12's own nodejs is
# 18 and quantlab needs >= 20), clones the committed HEAD into it and runs `CI=true npm test`
# there, as root. Nothing else from this machine (no PyTorch, no hand-installed packages, no
# node_modules, no build) is visible inside. Not part of CI: it downloads a base system and
# takes about as long as a CI run plus the download.
#
#   sudo .ci/fresh-machine.sh [ROOT]        (default ROOT: /var/tmp/quantlab-fresh; kept for reuse)
#   QL_FRESH_KEEP=0 ...                     deletes ROOT afterwards
#   QL_FRESH_PREPARE=1 ...                  only builds ROOT (base system and Node.js)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:-/var/tmp/quantlab-fresh}"
[ "$(id -u)" = 0 ] || { echo "fresh-machine: run as root (debootstrap and chroot need it)" >&2; exit 2; }

need=()
for tool in debootstrap dpkg-repack; do command -v "$tool" >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# The configured Debian source and release (deb822 sources first, then sources.list).
mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
[ -n "$mirror" ] || mirror="$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)"
suite="$(. /etc/os-release && echo "$VERSION_CODENAME")"
echo "[fresh] $suite from $mirror into $target"

if [ ! -x "$target/usr/bin/apt-get" ]; then
  debootstrap --variant=minbase --include=ca-certificates,git "$suite" "$target" "$mirror"
fi
# Same package sources as this machine (security updates included), same DNS.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  cp /etc/apt/sources.list.d/debian.sources "$target/etc/apt/sources.list.d/"
  rm -f "$target/etc/apt/sources.list"
fi
cp /etc/resolv.conf "$target/etc/resolv.conf"
# The machine's own certificate authorities (a workplace proxy's, for instance), as a fresh
# machine of the same kind has them.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$target/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$target/usr/local/share/ca-certificates/"
  chroot "$target" update-ca-certificates >/dev/null
fi

# Node.js as this machine has it, as a package (so dpkg knows it inside, as on a fresh machine).
if ! chroot "$target" dpkg-query -W nodejs >/dev/null 2>&1; then
  work="$(mktemp -d)"
  (cd "$work" && dpkg-repack nodejs >/dev/null)
  cp "$work"/nodejs_*.deb "$target/tmp/"
  rm -rf "$work"
  chroot "$target" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/nodejs_*.deb'
fi
# This kind of machine upgrades npm (to 11) when it starts, replacing files of the nodejs
# package: bring the same npm as the host has.
rm -rf "$target/usr/lib/node_modules/npm"
cp -a /usr/lib/node_modules/npm "$target/usr/lib/node_modules/npm"
for tool in npm npx; do ln -sf ../lib/node_modules/npm/bin/$tool-cli.js "$target/usr/bin/$tool"; done
cp -a /root/.npmrc "$target/root/.npmrc" 2>/dev/null || true
echo "[fresh] node $(chroot "$target" node --version), npm $(chroot "$target" npm --version)"

if [ "${QL_FRESH_PREPARE:-0}" = 1 ]; then echo "[fresh] prepared $target"; exit 0; fi

mounted=()
cleanup() {
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
  if [ "${QL_FRESH_KEEP:-1}" = 0 ]; then rm -rf "$target"; fi
}
trap cleanup EXIT
for m in proc sys dev dev/pts dev/shm; do
  mkdir -p "$target/$m"
  mount --bind "/$m" "$target/$m"
  mounted=("$target/$m" "${mounted[@]}")
done

rm -rf "$target/root/quantlab"
git clone -q --no-local "$repo" "$target/root/quantlab"
echo "[fresh] $(git -C "$repo" log -1 --format='%h %s')"
echo "[fresh] PyTorch inside: $(chroot "$target" sh -c 'python3 -c "import torch" 2>/dev/null && echo present || echo absent')"
echo "[fresh] numpy inside before set-up: $(chroot "$target" sh -c 'python3 -c "import numpy" 2>/dev/null && echo present || echo absent')"
rc=0
# A clean environment but for the machine's certificate settings (Node reads its extra CAs
# only from NODE_EXTRA_CA_CERTS).
certs=()
for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR; do
  [ -n "${!v:-}" ] && certs+=("$v=${!v}")
done
chroot "$target" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  CI=true TERM=dumb "${certs[@]}" sh -c 'cd /root/quantlab && npm test' || rc=$?
echo "[fresh] after npm test: PyTorch $(chroot "$target" sh -c 'python3 -c "import torch" 2>/dev/null && echo present || echo absent'), numpy $(chroot "$target" sh -c 'python3 -c "import numpy" 2>/dev/null && echo "present (a dependency of Debian emscripten)" || echo absent')"
echo "[fresh] npm test exit code $rc"
exit "$rc"
