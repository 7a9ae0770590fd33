#!/usr/bin/env bash
# Install Debian's Chromium and ChromeDriver for the browser tests when they are missing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "chromium/chromedriver missing: run as root or: sudo apt-get install -y chromium chromium-driver" >&2
  exit 1
fi
echo "installing chromium and chromium-driver from Debian packages..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
command -v chromium && command -v chromedriver
