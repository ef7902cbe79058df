#!/usr/bin/env bash
# Installs the independent API testers (Schemathesis, openapi-python-client) pinned in
# tests/motcua-cli/api-testers.txt into a Python virtual environment at DIR, from PyPI, unless
# it already holds exactly them. Called by .ci/run and, when the venv is missing, by the tests.
set -euo pipefail
dir=${1:?usage: tools/api-testers.sh DIR}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$here/tests/motcua-cli/api-testers.txt"
stamp="$dir/installed-$(sha256sum "$req" | cut -c1-16)"
[ -f "$stamp" ] && exit 0
# Written last: a venv without it was cut short, and is made again.
rm -rf "$dir"
python3 -m venv "$dir"
"$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req"
touch "$stamp"
