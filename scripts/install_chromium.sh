#!/usr/bin/env bash
# Installs Debian's chromium (browser tests, PDF edition) when it is missing.
# Playwright drives this system browser; it never downloads one of its own.
set -euo pipefail
# The PDF edition prints with DejaVu Serif/Sans (italics are in fonts-dejavu-extra).
if [ -x /usr/bin/chromium ] && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "chromium est introuvable et apt-get n'existe pas : installez chromium (/usr/bin/chromium) à la main." >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
echo "Installation de chromium (apt)…"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core fonts-dejavu-extra fonts-liberation >/dev/null
