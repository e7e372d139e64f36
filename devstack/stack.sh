#!/usr/bin/env bash
# Bring up a single-node kumo cloud for development: RabbitMQ on loopback,
# a virtualenv with kumo installed, a config file, the database schema, and
# all eleven daemons in the background. Safe to run again: what already runs
# is reused, what is missing is started.
#
# Environment:
#   KUMO_VIRT          fake (default) or libvirt (real QEMU/KVM guests; see below)
#   KUMO_LIBVIRT_VIRT_TYPE  [libvirt] virt_type with KUMO_VIRT=libvirt: auto
#                      (default: kvm only if a probe guest really boots under
#                      KVM, else qemu), kvm or qemu
#   KUMO_INSTANCES_PATH  guests' disks with KUMO_VIRT=libvirt (default
#                      /var/lib/kumo/instances: QEMU runs as libvirt-qemu and
#                      must reach them, which a repo under /root or /tmp may not allow)
#   KUMO_TINY_IMAGE_DIR  where the tiny test guest is built and cached
#                      (default /var/cache/kumo/tiny-image)
#   KUMO_FAKE_NODES    fake hypervisor nodes kumo-compute serves (default 1)
#   KUMO_FAKE_NODE_VCPUS / KUMO_FAKE_NODE_RAM_MB / KUMO_FAKE_NODE_DISK_GB
#                      size of each fake node (default 16 / 65536 / 1024)
#   KUMO_DATA_DIR      config, database, logs, pids (default <repo>/data)
#   KUMO_HOST          host name the services register as (default: hostname)
#   KUMO_REPORT_INTERVAL  heartbeat period in seconds (default 10)
#   KUMO_WAIT_TIMEOUT  seconds to wait for every service to report up (default 90)
#   KUMO_DEBUG         true (default) or false: debug logging
#   KUMO_RPC_POOL_SIZE threads per RPC server ([DEFAULT] executor_thread_pool_size;
#                      default: unset, oslo.messaging's 64)
#   KUMO_CONDUCTOR_WORKERS / KUMO_API_WORKERS / KUMO_METADATA_WORKERS  processes of
#                      kumo-conductor / kumo-api / kumo-api-metadata ([conductor]
#                      workers, [DEFAULT] osapi_compute_workers / metadata_workers;
#                      default 1 each)
#   KUMO_RABBIT_USER / KUMO_RABBIT_PASSWORD / KUMO_RABBIT_VHOST  (default kumo/kumo/kumo)
#   KUMO_API_PORT / KUMO_EC2_PORT / KUMO_METADATA_PORT  (default 8774 / 8773 / 8775)
#   KUMO_NOVNC_PORT / KUMO_XVPVNC_PORT / KUMO_SPICE_PORT  (default 6080 / 6081 / 6082):
#                      with another KUMO_DATA_DIR and KUMO_RABBIT_VHOST, a second
#                      cloud runs beside the first one
#   KUMO_NETWORK       unset (default: servers get no addresses), flat or flatdhcp:
#                      kumo-network with that manager, building its bridge, dnsmasq
#                      and iptables in the namespace KUMO_NETWORK_NAMESPACE
#                      (default kumo-net), never on the host's own interfaces;
#                      see devstack/lib/network.sh and docs/network.md
#
# See docs/devstack.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/functions.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/functions.sh"
# shellcheck source-path=SCRIPTDIR source=lib/cloud.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/cloud.sh"
# shellcheck source-path=SCRIPTDIR source=lib/tiny_image.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tiny_image.sh"
# shellcheck source-path=SCRIPTDIR source=lib/network.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/network.sh"

KUMO_VIRT=${KUMO_VIRT:-fake}
KUMO_FAKE_NODES=${KUMO_FAKE_NODES:-1}
KUMO_FAKE_NODE_VCPUS=${KUMO_FAKE_NODE_VCPUS:-16}
KUMO_FAKE_NODE_RAM_MB=${KUMO_FAKE_NODE_RAM_MB:-65536}
KUMO_FAKE_NODE_DISK_GB=${KUMO_FAKE_NODE_DISK_GB:-1024}
KUMO_DATA_DIR=$(realpath -m "${KUMO_DATA_DIR:-$KUMO_REPO/data}")
KUMO_HOST=${KUMO_HOST:-$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)}
KUMO_REPORT_INTERVAL=${KUMO_REPORT_INTERVAL:-10}
KUMO_WAIT_TIMEOUT=${KUMO_WAIT_TIMEOUT:-90}
KUMO_DEBUG=${KUMO_DEBUG:-true}
KUMO_RPC_POOL_SIZE=${KUMO_RPC_POOL_SIZE:-}
KUMO_CONDUCTOR_WORKERS=${KUMO_CONDUCTOR_WORKERS:-1}
KUMO_API_WORKERS=${KUMO_API_WORKERS:-1}
KUMO_METADATA_WORKERS=${KUMO_METADATA_WORKERS:-1}
KUMO_RABBIT_USER=${KUMO_RABBIT_USER:-kumo}
KUMO_RABBIT_PASSWORD=${KUMO_RABBIT_PASSWORD:-kumo}
KUMO_RABBIT_VHOST=${KUMO_RABBIT_VHOST:-kumo}
KUMO_API_PORT=${KUMO_API_PORT:-8774}
KUMO_EC2_PORT=${KUMO_EC2_PORT:-8773}
KUMO_METADATA_PORT=${KUMO_METADATA_PORT:-8775}
KUMO_NOVNC_PORT=${KUMO_NOVNC_PORT:-6080}
KUMO_XVPVNC_PORT=${KUMO_XVPVNC_PORT:-6081}
KUMO_SPICE_PORT=${KUMO_SPICE_PORT:-6082}

KUMO_CONF=$KUMO_DATA_DIR/kumo.conf
LOG_DIR=$KUMO_DATA_DIR/logs
PID_DIR=$KUMO_DATA_DIR/pids
STATE_DIR=$KUMO_DATA_DIR/state
RABBIT_MARKER=$KUMO_DATA_DIR/rabbitmq.started-by-devstack
LIBVIRT_MARKER=$KUMO_DATA_DIR/libvirt.started-by-devstack
TINY_IMAGE_DIR=${KUMO_TINY_IMAGE_DIR:-/var/cache/kumo/tiny-image}
INSTANCES_PATH=${KUMO_INSTANCES_PATH:-/var/lib/kumo/instances}
MANAGE=$KUMO_VENV/bin/kumo-manage
API_URL=http://127.0.0.1:$KUMO_API_PORT/v2.1

# TCP ports each daemon listens on, to report a port already taken by
# something else before the daemon fails on it.
declare -A DAEMON_PORTS=(
    [kumo-api]="$KUMO_API_PORT $KUMO_EC2_PORT"
    [kumo-api-metadata]=$KUMO_METADATA_PORT
    [kumo-novncproxy]=$KUMO_NOVNC_PORT
    [kumo-xvpvncproxy]=$KUMO_XVPVNC_PORT
    [kumo-spicehtml5proxy]=$KUMO_SPICE_PORT
)

case $KUMO_VIRT in
    fake | libvirt) ;;
    *) die "KUMO_VIRT must be fake or libvirt, not '$KUMO_VIRT'" ;;
esac
for var in KUMO_FAKE_NODES KUMO_FAKE_NODE_VCPUS KUMO_FAKE_NODE_RAM_MB KUMO_FAKE_NODE_DISK_GB; do
    [[ ${!var} =~ ^[1-9][0-9]*$ ]] || die "$var must be a positive integer"
done
[[ -z $KUMO_RPC_POOL_SIZE || $KUMO_RPC_POOL_SIZE =~ ^[1-9][0-9]*$ ]] ||
    die "KUMO_RPC_POOL_SIZE must be a positive integer"
for var in KUMO_CONDUCTOR_WORKERS KUMO_API_WORKERS KUMO_METADATA_WORKERS; do
    [[ ${!var} =~ ^[1-9][0-9]*$ ]] || die "$var must be a positive integer"
done
network_check_settings

# ----------------------------------------------------------------- phases --

install_packages() {
    local -a pkgs=(rabbitmq-server)
    if [[ $KUMO_VIRT == libvirt ]]; then
        # libvirt-python compiles against libvirt's headers.
        # libvirt-daemon-system brings the libvirt-qemu user QEMU runs as.
        pkgs+=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system
            libvirt-clients qemu-system-x86 qemu-utils libvirt-dev pkg-config gcc)
        if [[ $(command -v python3) == /usr/bin/python3 ]]; then
            pkgs+=(python3-dev)
        fi
    fi
    mapfile -t -O "${#pkgs[@]}" pkgs < <(network_packages)
    apt_ensure_packages "${pkgs[@]}"
    ensure_venv ""
    if [[ $KUMO_VIRT == libvirt ]] && ! "$KUMO_VENV/bin/python" -c 'import libvirt' 2>/dev/null; then
        log "pip install libvirt-python"
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$KUMO_VENV/bin/python" -m pip install -q libvirt-python
    fi
}

# libvirtd has no init system to start it either. virtlogd must run first.
start_libvirt() {
    if [[ -e /dev/kvm ]] && getent group kvm >/dev/null; then
        # With /dev/kvm root-only, libvirt re-probes QEMU on every API call
        # (tens of seconds each); group kvm + 0660 makes that milliseconds.
        if ! { chgrp kvm /dev/kvm && chmod 660 /dev/kvm; }; then
            warn "could not fix /dev/kvm permissions"
        fi
    fi
    if virsh -c qemu:///system version >/dev/null 2>&1; then
        log "libvirtd already running: reusing it"
        return 0
    fi
    is_root || die "libvirtd is not running and only root may start it"
    log "starting virtlogd and libvirtd"
    setsid /usr/sbin/virtlogd >"$LOG_DIR/virtlogd.log" 2>&1 </dev/null &
    printf 'virtlogd=%s\n' "$!" >"$LIBVIRT_MARKER"
    setsid /usr/sbin/libvirtd >"$LOG_DIR/libvirtd.log" 2>&1 </dev/null &
    printf 'libvirtd=%s\n' "$!" >>"$LIBVIRT_MARKER"
    local waited=0
    until virsh -c qemu:///system version >/dev/null 2>&1; do
        ((waited < 30)) || die "libvirtd did not answer within 30 s; see $LOG_DIR/libvirtd.log"
        sleep 1
        waited=$((waited + 1))
    done
}

write_config() {
    local transport_url="rabbit://$KUMO_RABBIT_USER:$KUMO_RABBIT_PASSWORD@127.0.0.1:5672/$KUMO_RABBIT_VHOST"
    # Rewritten on every run so that changed variables take effect; daemons
    # that are already running keep the config they started with.
    cat >"$KUMO_CONF" <<EOF
# Written by devstack/stack.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ); rewritten on each run.
[DEFAULT]
host = $KUMO_HOST
transport_url = $transport_url
state_path = $STATE_DIR
report_interval = $KUMO_REPORT_INTERVAL
service_down_time = 60
debug = $KUMO_DEBUG
log_dir = $LOG_DIR
osapi_compute_workers = $KUMO_API_WORKERS
metadata_workers = $KUMO_METADATA_WORKERS

[conductor]
workers = $KUMO_CONDUCTOR_WORKERS

[database]
connection = sqlite:///$KUMO_DATA_DIR/kumo.sqlite

[api]
auth_strategy = noauth2
listen = 127.0.0.1
port = $KUMO_API_PORT
metadata_listen = 127.0.0.1
metadata_port = $KUMO_METADATA_PORT

[compute]
compute_driver = $KUMO_VIRT

[fake]
node_count = $KUMO_FAKE_NODES
vcpus = $KUMO_FAKE_NODE_VCPUS
memory_mb = $KUMO_FAKE_NODE_RAM_MB
local_gb = $KUMO_FAKE_NODE_DISK_GB

[vnc]
novncproxy_host = 127.0.0.1
novncproxy_port = $KUMO_NOVNC_PORT
xvpvncproxy_host = 127.0.0.1
xvpvncproxy_port = $KUMO_XVPVNC_PORT

[spice]
html5proxy_host = 127.0.0.1
html5proxy_port = $KUMO_SPICE_PORT
EOF
    network_config >>"$KUMO_CONF"
    if [[ -n $KUMO_RPC_POOL_SIZE ]]; then
        sed -i "/^\[DEFAULT\]/a executor_thread_pool_size = $KUMO_RPC_POOL_SIZE" "$KUMO_CONF"
    fi
    if [[ $KUMO_VIRT == libvirt ]]; then
        # auto boots the tiny guest's kernel under KVM once when kumo-compute
        # starts and takes kvm only if it prints its banner in time: /dev/kvm
        # exists yet hangs guests under nested virtualisation.
        cat >>"$KUMO_CONF" <<EOF

[libvirt]
connection_uri = qemu:///system
virt_type = ${KUMO_LIBVIRT_VIRT_TYPE:-auto}
kvm_probe_kernel = $TINY_IMAGE_DIR/vmlinuz
instances_path = $INSTANCES_PATH
EOF
        # Every directory on the way must be searchable by libvirt-qemu.
        mkdir -p "$INSTANCES_PATH"
        chmod 0755 "$INSTANCES_PATH" "$(dirname "$INSTANCES_PATH")"
    fi
    log "wrote $KUMO_CONF"
}

# Print, one per line, the binaries in "$@" that `service list` shows up on
# $KUMO_HOST. Binaries named in $FRESH (space-separated) must also have
# heartbeated since $SINCE (epoch seconds): a row left by an earlier run can
# still read "up" for service_down_time seconds after its daemon died.
services_up() {
    local json
    json=$("$MANAGE" --config-file "$KUMO_CONF" service list --format json 2>"$LOG_DIR/stack-service-list.log") ||
        return 0
    "$KUMO_VENV/bin/python" -c '
import datetime, json, sys

host, since, fresh = sys.argv[1], float(sys.argv[2]), set(sys.argv[3].split())
wanted = set(sys.argv[4:])

def epoch(value):
    """updated_at as epoch seconds; None when absent or unreadable."""
    if not value:
        return None
    try:
        ts = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if ts.tzinfo is None:  # the database keeps naive UTC
        ts = ts.replace(tzinfo=datetime.timezone.utc)
    return ts.timestamp()

for row in json.loads(sys.stdin.read() or "[]"):
    binary = row.get("binary")
    if binary not in wanted or row.get("host") != host or row.get("state") != "up":
        continue
    if binary in fresh:
        ts = epoch(row.get("updated_at"))
        if ts is not None and ts < since:
            continue
    print(binary)
' "$KUMO_HOST" "$SINCE" "$FRESH" "$@" <<<"$json" | sort -u
}

# Wait until every daemon in "$@" reports up, or until $DEADLINE. Fails early
# when one of them exits, showing the end of its log.
wait_for_services() {
    local -a missing dead up
    local name
    while true; do
        mapfile -t up < <(services_up "$@")
        missing=()
        for name in "$@"; do
            if [[ " ${up[*]} " != *" $name "* ]]; then
                missing+=("$name")
            fi
        done
        [[ ${#missing[@]} -eq 0 ]] && return 0

        dead=()
        for name in "${missing[@]}"; do
            pidfile_alive "$PID_DIR/$name.pid" "$name" || dead+=("$name")
        done
        if [[ ${#dead[@]} -gt 0 ]]; then
            for name in "${dead[@]}"; do
                printf '\n--- last lines of %s ---\n' "$LOG_DIR/$name.log" >&2
                tail -n 25 "$LOG_DIR/$name.log" >&2 2>/dev/null || true
            done
            die "exited during start: ${dead[*]} (logs: $LOG_DIR/<daemon>.log)." \
                "Fix the cause and run stack.sh again; running daemons are kept."
        fi

        if (($(now) >= DEADLINE)); then
            printf '\n' >&2
            for name in "${missing[@]}"; do
                printf '  %-22s not up; log: %s\n' "$name" "$LOG_DIR/$name.log" >&2
            done
            if [[ -s $LOG_DIR/stack-service-list.log ]]; then
                printf '\nlast error of kumo-manage service list:\n' >&2
                tail -n 5 "$LOG_DIR/stack-service-list.log" >&2
            fi
            die "not every service reported up within ${KUMO_WAIT_TIMEOUT}s:" \
                "${missing[*]}. See docs/devstack.md, 'A daemon did not come up'."
        fi
        sleep 1
    done
}

# Refuse to start a daemon whose port some other process already holds.
check_ports_free() {
    local name port
    for name in "$@"; do
        pidfile_alive "$PID_DIR/$name.pid" "$name" && continue
        for port in ${DAEMON_PORTS[$name]:-}; do
            if port_open "$port"; then
                die "port 127.0.0.1:$port, needed by $name, is taken by another process" \
                    "(not one stack.sh started from $KUMO_DATA_DIR)"
            fi
        done
    done
}

# ------------------------------------------------------------------- main --

START=$(now)
log "kumo devstack: repo $KUMO_REPO, data $KUMO_DATA_DIR, virt $KUMO_VIRT, host $KUMO_HOST"
mkdir -p "$KUMO_DATA_DIR" "$LOG_DIR" "$PID_DIR" "$STATE_DIR"

install_packages
rabbitmq_start "$RABBIT_MARKER" "$LOG_DIR/rabbitmq.log"
rabbitmq_ensure_vhost_user "$KUMO_RABBIT_VHOST" "$KUMO_RABBIT_USER" "$KUMO_RABBIT_PASSWORD"
if [[ $KUMO_VIRT == libvirt ]]; then
    start_libvirt
    log "building the tiny test guest (cached in $TINY_IMAGE_DIR)"
    build_tiny_image "$TINY_IMAGE_DIR" >/dev/null || die "building the tiny test guest failed"
fi

write_config
log "kumo-manage db sync"
if ! "$MANAGE" --config-file "$KUMO_CONF" db sync >>"$LOG_DIR/kumo-manage.log" 2>&1; then
    tail -n 20 "$LOG_DIR/kumo-manage.log" >&2
    die "kumo-manage db sync failed; see $LOG_DIR/kumo-manage.log"
fi
ensure_default_flavors "$KUMO_CONF" "$LOG_DIR/kumo-manage.log"
ensure_default_image "$KUMO_CONF" "$LOG_DIR/kumo-manage.log" "$STATE_DIR"
network_prepare_paths
network_ensure_namespaces
network_ensure_defaults "$KUMO_CONF" "$LOG_DIR/kumo-manage.log"
if [[ $KUMO_VIRT == libvirt ]]; then
    ensure_tiny_image "$KUMO_CONF" "$LOG_DIR/kumo-manage.log" "$TINY_IMAGE_DIR"
fi

check_ports_free "${KUMO_DAEMONS[@]}"
: >"$LOG_DIR/stack-service-list.log"
DEADLINE=$(($(now) + KUMO_WAIT_TIMEOUT))
# A heartbeat counts for a daemon started now only if it is newer than this
# (with a little slack for clock granularity).
SINCE=$(($(now) - 2))
FRESH=""

# The conductor first, and wait for it: the others register through it, and
# an RPC cast sent before its queue exists would be lost.
if daemon_start kumo-conductor "$KUMO_CONF" "$LOG_DIR" "$PID_DIR"; then
    FRESH+=" kumo-conductor"
fi
wait_for_services kumo-conductor
log "kumo-conductor is up"

for daemon in "${KUMO_DAEMONS[@]:1}"; do
    if daemon_start "$daemon" "$KUMO_CONF" "$LOG_DIR" "$PID_DIR"; then
        FRESH+=" $daemon"
    fi
done
log "waiting for all services to report up (at most ${KUMO_WAIT_TIMEOUT}s in all)"
wait_for_services "${KUMO_DAEMONS[@]}"

ELAPSED=$(($(now) - START))
cat <<EOF

kumo is running: all ${#KUMO_DAEMONS[@]} daemons report up.

  Compute API   $API_URL
  Auth          noauth2 (development only): send the token 'admin:admin'
                (X-Auth-Token: admin:admin, i.e. user:project)
  Config        $KUMO_CONF
  Logs          $LOG_DIR/<daemon>.log
  Pid files     $PID_DIR/<daemon>.pid

EOF
"$MANAGE" --config-file "$KUMO_CONF" service list || warn "kumo-manage service list failed"
cat <<EOF

Try:
  source devstack/openrc && .venv/bin/kumo-manage --config-file "\$KUMO_CONF" service list
  curl -s http://127.0.0.1:$KUMO_API_PORT/

Stop everything with: devstack/unstack.sh   (--clean also removes $KUMO_DATA_DIR)

stack.sh took ${ELAPSED}s.
EOF
