#!/usr/bin/env bash
# A real Keystone (Identity v3) for the e2e tests, in a virtualenv of its own.
#
#   tools/keystone_venv.sh            create or reuse it; print its path
#
# Keystone is installed from PyPI at the version pinned below, into
# ${KUMO_BUILD_DIR:-/var/tmp/kumo-build}/keystone-<version>: outside the work
# tree, so a CI run in a fresh clone on the same machine pays for the install
# only once. Its own venv, because Keystone pins its dependencies (Flask,
# SQLAlchemy, oslo.*) independently of kumo's. Keystone 30 supports
# Python 3.10-3.12; the venv uses the python3 on PATH.
set -euo pipefail

KEYSTONE_VERSION=${KUMO_KEYSTONE_VERSION:-30.0.0}
BUILD_DIR=${KUMO_BUILD_DIR:-/var/tmp/kumo-build}
VENV=$BUILD_DIR/keystone-$KEYSTONE_VERSION
STAMP=$VENV/.kumo-keystone-ready

if [[ -f $STAMP && -x $VENV/bin/keystone-manage ]]; then
    printf '%s\n' "$VENV"
    exit 0
fi
python3 -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' || {
    echo "keystone $KEYSTONE_VERSION needs Python 3.10-3.12, python3 is $(python3 -V)" >&2
    exit 1
}
mkdir -p "$BUILD_DIR"
rm -rf "$VENV"
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install -q --disable-pip-version-check "keystone==$KEYSTONE_VERSION" >&2
"$VENV/bin/python" -c 'import keystone.server.wsgi' >&2
touch "$STAMP"
printf '%s\n' "$VENV"
