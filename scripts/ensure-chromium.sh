#!/usr/bin/env sh
# The browser tests drive Debian's Chromium (playwright-core does not bring
# its own browser). Install it when it is missing and we may; otherwise say
# how, and fail, rather than let the browser tests fail obscurely.
set -eu
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "The browser tests need Chromium at $CHROMIUM: run 'sudo apt-get install chromium'" >&2
echo "(or set CHROMIUM_PATH to a Chromium binary)." >&2
exit 1
