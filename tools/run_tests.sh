#!/usr/bin/env bash
# The test command of kumo (README.md and .ci/run call exactly this).
#
#   tools/run_tests.sh                    the whole suite (tests/)
#   tools/run_tests.sh tests/unit -x      extra arguments go to pytest
#
# On a clean Debian 12 machine, as root, it installs what the suite needs:
# Debian packages (rabbitmq-server for the functional tests' own broker,
# postgresql, libvirt and QEMU for the libvirt driver's tests; libvirt-dev and
# pkg-config build libvirt-python), the virtualenv .venv with kumo and its
# test extras. As a non-root user who already has those it only checks that
# they are there.
# Then it lints with `ruff check`, starts a private PostgreSQL cluster on
# loopback for the run (KUMO_TEST_PG_URL), and runs pytest. RabbitMQ is not
# started here: the functional tests start a private node themselves.
#
# KUMO_REINSTALL=1 forces `pip install` even when pyproject.toml is unchanged.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../devstack/lib/functions.sh
source "$(dirname "${BASH_SOURCE[0]}")/../devstack/lib/functions.sh"
cd "$KUMO_REPO"

PG_PORT_FIRST=54329
PG_ROLE=kumo
PG_DB=kumo_test

# ----------------------------------------------------------------- timing --

declare -a PHASE_REPORT=()
PHASE_NAME=""
PHASE_START=0
RUN_START=$(now)

# Close the current phase (if any) and open phase $1.
phase() {
    phase_end
    PHASE_NAME=$1
    PHASE_START=$(now)
    log "== $PHASE_NAME"
}

phase_end() {
    if [[ -n $PHASE_NAME ]]; then
        local took=$(($(now) - PHASE_START))
        PHASE_REPORT+=("$(printf '%-12s %4ss' "$PHASE_NAME" "$took")")
        log "== $PHASE_NAME took ${took}s"
        PHASE_NAME=""
    fi
}

# shellcheck disable=SC2317  # only reached through the EXIT trap
print_timings() {
    phase_end
    printf '\nphase timings:\n'
    local line
    for line in "${PHASE_REPORT[@]}"; do
        printf '  %s\n' "$line"
    done
    printf '  %-12s %4ss\n' total "$(($(now) - RUN_START))"
}

# ------------------------------------------------------------- postgresql --

PG_TMP=""
PG_BIN=""
PG_OWNER=""

# Run a command as the OS user that owns the cluster: the server refuses to
# run as root, so root runs it as `postgres`.
as_pg_owner() {
    if [[ $PG_OWNER == "$(id -un)" ]]; then
        "$@"
    else
        runuser -u "$PG_OWNER" -- "$@"
    fi
}

# Debian keeps the server binaries out of PATH, one directory per version.
find_pg_bin() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    if [[ -n $dir && -x $dir/initdb ]]; then
        printf '%s\n' "$dir"
    elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
    else
        die "PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql"
    fi
}

# A free loopback port, starting at $PG_PORT_FIRST: several runs (or a
# developer's own cluster) may be using the first ones.
free_port() {
    local port
    for ((port = PG_PORT_FIRST; port < PG_PORT_FIRST + 100; port++)); do
        if ! port_open "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    die "no free port in $PG_PORT_FIRST..$((PG_PORT_FIRST + 99)) for PostgreSQL"
}

start_postgres() {
    PG_BIN=$(find_pg_bin)
    if is_root; then
        PG_OWNER=postgres
        getent passwd postgres >/dev/null || die "OS user 'postgres' does not exist (install postgresql)"
    else
        PG_OWNER=$(id -un)
    fi
    # Everything of the cluster (data, socket, server log) lives in one
    # temporary directory owned by the cluster's OS user.
    PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kumo-pg.XXXXXX")
    mkdir "$PG_TMP/data" "$PG_TMP/run"
    if is_root; then
        chown -R "$PG_OWNER" "$PG_TMP"
    fi

    as_pg_owner "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres -E UTF8 --no-locale \
        --auth-local=trust --auth-host=trust >"$PG_TMP/initdb.log" 2>&1 ||
        { cat "$PG_TMP/initdb.log" >&2; die "initdb failed"; }

    # Loopback only, the socket in our own directory (the system's
    # /var/run/postgresql may not exist or not be writable), and no fsync:
    # the cluster is thrown away at the end of the run.
    PG_PORT=$(free_port)
    as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_TMP/run -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null ||
        { cat "$PG_TMP/server.log" >&2; die "PostgreSQL did not start"; }

    as_pg_owner "$PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
        -c "CREATE ROLE $PG_ROLE LOGIN" \
        -c "CREATE DATABASE $PG_DB OWNER $PG_ROLE" >/dev/null ||
        die "could not create role $PG_ROLE and database $PG_DB"

    export KUMO_TEST_PG_URL="postgresql+psycopg2://$PG_ROLE@127.0.0.1:$PG_PORT/$PG_DB"
    export KUMO_REQUIRE_PG=1
    log "PostgreSQL on 127.0.0.1:$PG_PORT: KUMO_TEST_PG_URL=$KUMO_TEST_PG_URL"
}

# shellcheck disable=SC2317  # only reached through the EXIT trap
stop_postgres() {
    [[ -n $PG_TMP ]] || return 0
    if [[ -f $PG_TMP/data/postmaster.pid ]]; then
        as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
            warn "could not stop the PostgreSQL cluster in $PG_TMP"
    fi
    rm -rf "$PG_TMP"
    PG_TMP=""
}

# shellcheck disable=SC2317  # only reached through the EXIT trap
on_exit() {
    local rc=$?
    stop_postgres
    print_timings
    exit "$rc"
}
trap on_exit EXIT
# Turn signals into a normal exit so that the EXIT trap cleans up.
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ pytest --

# pytest's arguments: "$@", preceded by "tests" unless one of them already
# names a test path (tests/unit, tests/unit/test_x.py::test_y, ...). Without
# this, `run_tests.sh tests/unit` would run the whole suite.
pytest_args() {
    local arg names_path=no
    for arg in "$@"; do
        if [[ $arg != -* && -e ${arg%%::*} ]]; then
            names_path=yes
        fi
    done
    if [[ $names_path == no ]]; then
        printf '%s\0' tests
    fi
    if [[ $# -gt 0 ]]; then
        printf '%s\0' "$@"
    fi
}

# ------------------------------------------------------------------- main --

phase install
apt_ensure_packages rabbitmq-server postgresql \
    libvirt-dev pkg-config libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients \
    libvirt-daemon-system qemu-utils qemu-system-x86 \
    dnsmasq busybox iproute2 iptables
ensure_venv test

phase lint
"$KUMO_VENV/bin/ruff" check kumo tests

phase postgresql
start_postgres

phase pytest
# Here the functional tests must run: a missing broker fails them instead of skipping.
export KUMO_REQUIRE_RABBITMQ=1
# Likewise kumo-network's plumbing tests in network namespaces (root, ip netns).
export KUMO_REQUIRE_NETNS=1
# And the real-guest tests: they start libvirtd (and virtlogd) themselves
# when it does not answer on qemu:///system, and stop what they started.
export KUMO_REQUIRE_LIBVIRT=1
# And the Glance snapshot tests' real glance-api (the test extra installs it).
export KUMO_REQUIRE_GLANCE=1
mapfile -d '' -t PYTEST_ARGS < <(pytest_args "$@")
set +e
"$KUMO_VENV/bin/python" -m pytest "${PYTEST_ARGS[@]}"
rc=$?
set -e
# pytest exits 5 when it collected no test. For the whole suite (no
# arguments) that is a new or empty tree, not a failure; with arguments it
# usually means a typo in a path or -k expression, so it stays an error.
if [[ $rc -eq 5 && $# -eq 0 ]]; then
    warn "pytest collected no test"
    rc=0
fi
exit "$rc"
