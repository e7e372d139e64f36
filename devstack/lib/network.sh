# shellcheck shell=bash
# kumo-network for devstack (KUMO_NETWORK=flat|flatdhcp): sourced by stack.sh
# and unstack.sh; defines functions and runs nothing.
#
# The host's own interfaces, routes and iptables are never touched: by
# default kumo-network builds everything ([network] namespace) inside the
# network namespace KUMO_NETWORK_NAMESPACE, which stack.sh creates with
#
#   KUMO_NETWORK_NAMESPACE            the "host" of guest networking: the
#     br100  10.0.0.1/24 + dnsmasq    fixed network's bridge (no physical
#                                     interface enslaved), kumo's iptables
#     pub0   203.0.113.1/24 ──veth──┐ public interface: floating IPs, SNAT
#                                   │
#   KUMO_NETWORK_NAMESPACE-ext      │ "the outside world", to reach floating
#     eth0   203.0.113.2/24 ────────┘ IPs from (devstack/network-check.sh)
#
# Guests are plugged into br100 by whatever plays the hypervisor (the fake
# driver plugs nothing; network-check.sh plugs a veth "guest" namespace with
# the VIF's MAC). KUMO_NETWORK_NAMESPACE="" builds in the host's own
# namespace instead: the bridge still has no physical interface, but kumo's
# iptables chains (and SNAT out of KUMO_PUBLIC_INTERFACE) go into the host's.

KUMO_NETWORK=${KUMO_NETWORK:-}
KUMO_NETWORK_NAMESPACE=${KUMO_NETWORK_NAMESPACE-kumo-net}
KUMO_FIXED_RANGE=${KUMO_FIXED_RANGE:-10.0.0.0/24}
KUMO_FIXED_BRIDGE=${KUMO_FIXED_BRIDGE:-br100}
KUMO_FIXED_LABEL=${KUMO_FIXED_LABEL:-private}
KUMO_NETWORK_DNS=${KUMO_NETWORK_DNS:-}
KUMO_PUBLIC_CIDR=${KUMO_PUBLIC_CIDR:-203.0.113.1/24}
KUMO_EXTERNAL_CIDR=${KUMO_EXTERNAL_CIDR:-203.0.113.2/24}
KUMO_FLOATING_RANGE=${KUMO_FLOATING_RANGE:-203.0.113.64/28}
KUMO_FLOATING_POOL=${KUMO_FLOATING_POOL:-nova}
# dnsmasq's files; outside the repository, which may not be readable by
# nobody (dnsmasq rereads its hosts file after dropping privileges).
KUMO_NETWORKS_PATH=${KUMO_NETWORKS_PATH:-/var/lib/kumo/networks-${KUMO_NETWORK_NAMESPACE:-host}}
if [[ -n $KUMO_NETWORK_NAMESPACE ]]; then
    KUMO_PUBLIC_INTERFACE=${KUMO_PUBLIC_INTERFACE:-pub0}
else
    KUMO_PUBLIC_INTERFACE=${KUMO_PUBLIC_INTERFACE:-eth0}
fi

# The namespace that plays the outside world.
network_external_namespace() {
    printf '%s-ext\n' "$KUMO_NETWORK_NAMESPACE"
}

network_check_settings() {
    case $KUMO_NETWORK in
        "" | flat | flatdhcp) ;;
        vlan) die "KUMO_NETWORK=vlan is not supported by devstack (it needs a trunk" \
            "interface with 802.1Q); use flat or flatdhcp" ;;
        *) die "KUMO_NETWORK must be flat or flatdhcp (or unset), not '$KUMO_NETWORK'" ;;
    esac
    if [[ -n $KUMO_NETWORK && -n $KUMO_NETWORK_NAMESPACE ]]; then
        [[ $KUMO_NETWORK_NAMESPACE =~ ^[A-Za-z0-9_.-]{1,40}$ ]] ||
            die "KUMO_NETWORK_NAMESPACE must be a short name of letters, digits, . _ -"
    fi
    return 0
}

# Debian packages kumo-network runs (printed one per line).
network_packages() {
    [[ -n $KUMO_NETWORK ]] || return 0
    printf '%s\n' iproute2 iptables
    if [[ $KUMO_NETWORK == flatdhcp ]]; then
        printf '%s\n' dnsmasq-base
    fi
}

_netns_exists() {
    ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF "$1"
}

# Create the namespaces and the public link between them (idempotent; a
# namespace that exists is kept as it is, with whatever kumo-network built).
network_ensure_namespaces() {
    [[ -n $KUMO_NETWORK && -n $KUMO_NETWORK_NAMESPACE ]] || return 0
    is_root || die "KUMO_NETWORK needs root (network namespaces, bridges, iptables)"
    local ns=$KUMO_NETWORK_NAMESPACE ext
    ext=$(network_external_namespace)
    if ! _netns_exists "$ns"; then
        log "creating network namespace $ns (kumo-network's host) and $ext (outside)"
        ip netns add "$ns"
    fi
    _netns_exists "$ext" || ip netns add "$ext"
    ip -n "$ns" link set lo up
    ip -n "$ext" link set lo up
    if ! ip -n "$ns" link show dev "$KUMO_PUBLIC_INTERFACE" >/dev/null 2>&1; then
        ip -n "$ns" link add "$KUMO_PUBLIC_INTERFACE" type veth peer name eth0 netns "$ext"
    fi
    ip -n "$ns" addr replace "$KUMO_PUBLIC_CIDR" dev "$KUMO_PUBLIC_INTERFACE"
    ip -n "$ext" addr replace "$KUMO_EXTERNAL_CIDR" dev eth0
    ip -n "$ns" link set "$KUMO_PUBLIC_INTERFACE" up
    ip -n "$ext" link set eth0 up
    # What stack.sh made, for unstack.sh to remove.
    printf '%s\n%s\n' "$ns" "$ext" >"$KUMO_DATA_DIR/network-namespaces.made-by-devstack"
}

# The [network] section of kumo.conf (appended by write_config).
network_config() {
    if [[ -z $KUMO_NETWORK ]]; then
        return 0
    fi
    cat <<EOF

[network]
enabled = true
network_manager = $KUMO_NETWORK
public_interface = $KUMO_PUBLIC_INTERFACE
flat_network_bridge = $KUMO_FIXED_BRIDGE
default_floating_pool = $KUMO_FLOATING_POOL
networks_path = $KUMO_NETWORKS_PATH
EOF
    if [[ -n $KUMO_NETWORK_NAMESPACE ]]; then
        printf 'namespace = %s\n' "$KUMO_NETWORK_NAMESPACE"
    fi
}

# dnsmasq rereads its hosts file as nobody: its directory must be reachable
# by everyone, which a repository under /root may not be.
network_prepare_paths() {
    [[ -n $KUMO_NETWORK ]] || return 0
    mkdir -p "$KUMO_NETWORKS_PATH"
    chmod 0755 "$KUMO_NETWORKS_PATH" "$(dirname "$KUMO_NETWORKS_PATH")"
}

# Create the fixed network and the floating range unless they exist (after
# db sync; kumo-network converges on them when it starts).
network_ensure_defaults() {
    [[ -n $KUMO_NETWORK ]] || return 0
    local conf=$1 log_file=$2 labels floating
    labels=$("$MANAGE" --config-file "$conf" network list --format json 2>>"$log_file" |
        _json_field label) || die "kumo-manage network list failed; see $log_file"
    if ! grep -qxF "$KUMO_FIXED_LABEL" <<<"$labels"; then
        log "creating network $KUMO_FIXED_LABEL ($KUMO_FIXED_RANGE on $KUMO_FIXED_BRIDGE)"
        local -a extra=()
        [[ -n $KUMO_NETWORK_DNS ]] && extra+=(--dns1 "$KUMO_NETWORK_DNS")
        "$MANAGE" --config-file "$conf" network create --label "$KUMO_FIXED_LABEL" \
            --fixed-range-v4 "$KUMO_FIXED_RANGE" --bridge "$KUMO_FIXED_BRIDGE" \
            "${extra[@]}" >>"$log_file" 2>&1 ||
            die "kumo-manage network create failed; see $log_file"
    fi
    floating=$("$MANAGE" --config-file "$conf" floating list --format json 2>>"$log_file" |
        _json_field address) || die "kumo-manage floating list failed; see $log_file"
    if [[ -z $floating ]]; then
        log "creating floating IPs $KUMO_FLOATING_RANGE (pool $KUMO_FLOATING_POOL)"
        "$MANAGE" --config-file "$conf" floating create --ip-range "$KUMO_FLOATING_RANGE" \
            --pool "$KUMO_FLOATING_POOL" --interface "$KUMO_PUBLIC_INTERFACE" \
            >>"$log_file" 2>&1 || die "kumo-manage floating create failed; see $log_file"
    fi
}

# unstack.sh: stop the dnsmasq processes of networks path $1 (they detach
# from kumo-network, so stopping the daemons leaves them running).
network_stop_dnsmasq() {
    local path=$1 pidfile pid
    [[ -d $path ]] || return 0
    for pidfile in "$path"/kumo-*.pid; do
        [[ -f $pidfile ]] || continue
        pid=$(<"$pidfile")
        if pid_alive "$pid" dnsmasq && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$path/"; then
            kill -TERM "$pid" 2>/dev/null && log "stopped dnsmasq (pid $pid)"
        fi
    done
}

# unstack.sh: remove the namespaces stack.sh made, killing what runs in them
# (their dnsmasq too).
network_remove_namespaces() {
    local data_dir=$1 marker ns pid
    marker=$data_dir/network-namespaces.made-by-devstack
    [[ -f $marker ]] || return 0
    while read -r ns; do
        [[ -n $ns ]] || continue
        _netns_exists "$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -TERM "$pid" 2>/dev/null || true
        done
        sleep 0.5
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns del "$ns" && log "removed network namespace $ns"
    done <"$marker"
    rm -f "$marker"
}
