#!/usr/bin/env bash
# Install everything shadowtap and its test suite need on Debian 12 (bookworm), then build.
# System packages: the real validators and peers the tests run (nft, iptables-restore, named-checkzone,
# unbound-checkconf, dnsmasq, squid, suricata, tshark, tcpdump), libpcap for live capture, Chromium for the
# HTML report test. Suricata 7 comes from Debian's bookworm-backports.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(
  python3 make g++
  tshark tcpdump iproute2 socat
  nftables iptables
  bind9 bind9-utils bind9-dnsutils unbound dnsmasq-base squid
  libpcap-dev libndpi-bin
  chromium
)

need_install=0
for p in "${APT_PACKAGES[@]}" suricata; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need_install=1
done

if [ "$need_install" = 1 ]; then
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports suricata >/dev/null
fi

npm ci --no-audit --no-fund
# cap (the libpcap binding) is optional: npm drops it when its native build fails; say so instead of failing.
node -e "require('cap')" 2>/dev/null || echo "note: cap (live capture) is not built; shadowtap capture will explain what is missing" >&2
# The programs that made the capture fixtures (MCP SDK, supergateway, ...): the live-capture test runs them.
(cd fixtures/make && npm ci --no-audit --no-fund)
npm run build
