#!/usr/bin/env bash
# Screenshots of the first-run path for the README, from the real app on a virtual
# display with a tray host (Debian: apt-get install xvfb trayer). Writes
# docs/screenshots/first-run-*.png. Usage, from the project's root:
#   resources/screenshots/first-run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v Xvfb >/dev/null && command -v trayer >/dev/null || {
    echo "needs Xvfb and trayer: apt-get install -y xvfb trayer" >&2; exit 2; }
display=":$((80 + RANDOM % 40))"
Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 & xvfb=$!
trap 'kill $tray $xvfb 2>/dev/null || true' EXIT
sleep 1
DISPLAY=$display trayer --edge top --align right --widthtype request --height 28 \
    --SetDockType true --tint 0x303030 --transparent true --alpha 0 >/dev/null 2>&1 & tray=$!
sleep 1
DISPLAY=$display QT_QPA_PLATFORM=xcb "${PYTHON:-.venv/bin/python}" \
    resources/screenshots/first_run.py docs/screenshots
