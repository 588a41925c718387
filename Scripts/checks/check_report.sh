#!/usr/bin/env bash
# Loads a run's report.html in Debian's headless Chromium and fails unless the page loads with no
# console message (errors, uncaught exceptions) and every image it shows decodes.
#   Scripts/checks/check_report.sh RUN_FOLDER [SCREENSHOT.png]
# Needs: apt-get install chromium (make check-report installs it).
set -euo pipefail
run="${1:?usage: check_report.sh RUN_FOLDER [SCREENSHOT.png]}"
page="$(cd "$run" && pwd)/report.html"
[ -f "$page" ] || { echo "check-report: $page does not exist (synclr report $run writes it)"; exit 1; }
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "check-report: chromium is not installed (apt-get install chromium)"; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0 --virtual-time-budget=10000)
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$page" > "$tmp/dom.html" 2> "$tmp/log.txt" || {
    echo "check-report: chromium failed"; tail -5 "$tmp/log.txt"; exit 1; }
if grep -q ":CONSOLE" "$tmp/log.txt"; then
    echo "check-report: console messages on $page:"; grep ":CONSOLE" "$tmp/log.txt"; exit 1
fi
images="$(grep -o 'data-images="[0-9]*"' "$tmp/dom.html" | grep -o '[0-9]*' || true)"
broken="$(grep -o 'data-broken-images="[0-9]*"' "$tmp/dom.html" | grep -o '[0-9]*' || true)"
if [ -z "$images" ] || [ -z "$broken" ]; then echo "check-report: the page's load handler did not run"; exit 1; fi
if [ "$broken" != 0 ]; then echo "check-report: $broken image(s) did not load"; exit 1; fi
if [ "$images" = 0 ]; then echo "check-report: the report shows no image"; exit 1; fi
if [ -n "${2:-}" ]; then
    timeout 120 "$browser" "${flags[@]}" --window-size=1200,2400 --screenshot="$2" "file://$page" 2>/dev/null >/dev/null
    echo "check-report: screenshot in $2"
fi
echo "check-report: $page loads in $("$browser" --version 2>/dev/null | head -1) with no console message; $images images, all decoded"
