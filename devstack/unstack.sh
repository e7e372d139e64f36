#!/usr/bin/env bash
# Stop everything devstack/stack.sh started: the kumo daemons (by pid file),
# then RabbitMQ and libvirtd if stack.sh was the one that started them.
#
#   devstack/unstack.sh           stop; keep config, database and logs
#   devstack/unstack.sh --clean   stop, then remove $KUMO_DATA_DIR
#
# KUMO_DATA_DIR must be the same as for stack.sh (default <repo>/data).
# KUMO_STOP_TIMEOUT: seconds a daemon gets to drain after SIGTERM (default 30).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/functions.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/functions.sh"
# shellcheck source-path=SCRIPTDIR source=lib/network.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/network.sh"

CLEAN=no
for arg in "$@"; do
    case $arg in
        --clean) CLEAN=yes ;;
        -h | --help)
            sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument '$arg' (expected --clean)" ;;
    esac
done

KUMO_DATA_DIR=$(realpath -m "${KUMO_DATA_DIR:-$KUMO_REPO/data}")
KUMO_STOP_TIMEOUT=${KUMO_STOP_TIMEOUT:-30}
KUMO_CONF=$KUMO_DATA_DIR/kumo.conf
PID_DIR=$KUMO_DATA_DIR/pids
RABBIT_MARKER=$KUMO_DATA_DIR/rabbitmq.started-by-devstack
LIBVIRT_MARKER=$KUMO_DATA_DIR/libvirt.started-by-devstack

# Stop libvirtd, then virtlogd, if stack.sh started them.
stop_libvirt() {
    [[ -f $LIBVIRT_MARKER ]] || return 0
    local name pid
    for name in libvirtd virtlogd; do
        pid=$(marker_value "$LIBVIRT_MARKER" "$name")
        [[ -n $pid ]] || continue
        if kill -TERM "$pid" 2>/dev/null && ! wait_pid_exit "$pid" 30; then
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        log "stopped $name"
    done
    rm -f "$LIBVIRT_MARKER"
}

# Daemons of this devstack that run without a pid file (the file was deleted,
# or a daemon was started by hand with the same config): they still carry
# "--config-file $KUMO_CONF" on their command line. Prints their pids.
stray_daemons() {
    local pid cmdline
    for pid in $(pgrep -f -- "--config-file $KUMO_CONF" || true); do
        cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
        if [[ $cmdline == *"/bin/kumo-"* ]]; then
            printf '%s\n' "$pid"
        fi
    done
}

START=$(now)
if [[ -d $PID_DIR ]]; then
    # Everything that talks to the conductor first, so that their last
    # heartbeats and in-flight work can still reach it; the conductor last.
    log "stopping kumo daemons (SIGTERM, SIGKILL after ${KUMO_STOP_TIMEOUT}s)"
    daemon_stop_many "$PID_DIR" "$KUMO_STOP_TIMEOUT" "${KUMO_DAEMONS[@]:1}"
    daemon_stop_many "$PID_DIR" "$KUMO_STOP_TIMEOUT" kumo-conductor
    # Any other pid file is a leftover of an older layout: stop it too.
    for pidfile in "$PID_DIR"/*.pid; do
        [[ -e $pidfile ]] || continue
        name=$(basename "$pidfile" .pid)
        daemon_stop "$pidfile" "$name" "$KUMO_STOP_TIMEOUT"
    done
else
    log "no pid directory $PID_DIR: no daemon to stop"
fi

mapfile -t strays < <(stray_daemons)
if [[ ${#strays[@]} -gt 0 ]]; then
    warn "kumo processes of $KUMO_CONF without pid file: ${strays[*]}; stopping them"
    kill -TERM "${strays[@]}" 2>/dev/null || true
    for pid in "${strays[@]}"; do
        wait_pid_exit "$pid" "$KUMO_STOP_TIMEOUT" || kill -KILL "$pid" 2>/dev/null || true
    done
fi

stop_libvirt
# kumo-network's dnsmasq (detached from it) and the namespaces stack.sh made.
NETWORKS_PATH=""
if [[ -f $KUMO_CONF ]]; then
    NETWORKS_PATH=$(sed -n 's/^networks_path = //p' "$KUMO_CONF")
    network_stop_dnsmasq "$NETWORKS_PATH"
fi
network_remove_namespaces "$KUMO_DATA_DIR"
rabbitmq_stop "$RABBIT_MARKER"

if [[ $CLEAN == yes ]]; then
    case $KUMO_DATA_DIR in
        / | "$HOME" | "$KUMO_REPO") die "refusing to remove $KUMO_DATA_DIR" ;;
    esac
    log "removing $KUMO_DATA_DIR"
    rm -rf "$KUMO_DATA_DIR"
    if [[ -n $NETWORKS_PATH && -d $NETWORKS_PATH && $NETWORKS_PATH == */networks-* ]]; then
        log "removing $NETWORKS_PATH (kumo-network's dnsmasq files)"
        rm -rf "$NETWORKS_PATH"
    fi
fi
log "unstack.sh took $(($(now) - START))s"
