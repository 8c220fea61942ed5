#!/usr/bin/env bash
# Vendor Chart.js from npm into the dashboard's static files (the dashboard is served
# offline: no CDN). Run from the repository root: `make vendor-js` or this script.
set -euo pipefail
VERSION="${CHARTJS_VERSION:-4.5.1}"
DEST="src/lakeforge/serve/dashboard/static/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm install --no-save --no-audit --no-fund --silent "chart.js@${VERSION}" >/dev/null)
DIST="$TMP/node_modules/chart.js/dist"
SRC="$DIST/chart.umd.min.js"
[ -f "$SRC" ] || SRC="$DIST/chart.umd.js"
mkdir -p "$DEST"
cp "$SRC" "$DEST/chart.umd.min.js"
cp "$TMP/node_modules/chart.js/LICENSE.md" "$DEST/chart.js.LICENSE.md"
INSTALLED="$(node -p "require('$TMP/node_modules/chart.js/package.json').version")"
echo "vendored chart.js ${INSTALLED} into ${DEST}"
