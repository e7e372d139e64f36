#!/usr/bin/env bash
# Prove kumo-network on a devstack cloud started with KUMO_NETWORK=flatdhcp:
#
#  1. boot a server in a new security group; its `addresses` show a fixed IP;
#  2. a "guest" namespace whose eth0 has the server's MAC, plugged into the
#     network's bridge, leases exactly that address from kumo's dnsmasq (busybox
#     udhcpc) and pings the gateway;
#  3. a floating IP is associated; from the "outside" namespace a TCP port of
#     the guest is closed (the group denies inbound) until a rule opens it;
#  4. deleting the server releases everything: the dnsmasq host entry, the
#     fixed IP, the floating IP's association and the firewall chain.
#
# Run as root with the same environment as stack.sh (KUMO_DATA_DIR,
# KUMO_API_PORT, KUMO_NETWORK_NAMESPACE). Everything it makes is removed at
# the end (guest namespace, veth, server, floating IP, group), even on failure.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/functions.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/functions.sh"
# shellcheck source-path=SCRIPTDIR source=lib/network.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/network.sh"

KUMO_DATA_DIR=$(realpath -m "${KUMO_DATA_DIR:-$KUMO_REPO/data}")
KUMO_CONF=$KUMO_DATA_DIR/kumo.conf
API=http://127.0.0.1:${KUMO_API_PORT:-8774}/v2.1
TOKEN=${KUMO_CHECK_TOKEN:-admin:admin}
PY=$KUMO_VENV/bin/python
NS=$KUMO_NETWORK_NAMESPACE
EXT=$(network_external_namespace)
GUEST=$NS-guest
TAP=tapcheck0
PORT=8080
[[ -n $NS ]] || die "network-check.sh needs the namespace layout (KUMO_NETWORK_NAMESPACE)"
is_root || die "run as root"
NETWORKS_PATH=$(sed -n 's/^networks_path = //p' "$KUMO_CONF")
BRIDGE=$KUMO_FIXED_BRIDGE
WORK=$(mktemp -d)
SERVER="" FLOATING_ID="" GROUP_ID="" LISTENER=""

# api METHOD PATH [BODY]: prints "<status> <json>".
api() {
    local out status
    out=$(curl -s -o "$WORK/body" -w '%{http_code}' -X "$1" -H "X-Auth-Token: $TOKEN" \
        -H 'Content-Type: application/json' "$API$2" ${3:+-d "$3"})
    status=$out
    printf '%s %s\n' "$status" "$(cat "$WORK/body")"
}

# json EXPR: evaluate a Python expression on the JSON body of the last answer (j).
json() {
    "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$WORK/body"
}

expect() {
    local want=$1 got
    shift
    got=$(api "$@" | cut -d' ' -f1)
    [[ $got == "$want" ]] || die "$1 $2: HTTP $got (expected $want): $(cat "$WORK/body")"
}

wait_until() {
    local what=$1 timeout=$2 waited=0
    shift 2
    until "$@"; do
        ((waited < timeout * 2)) || die "timed out after ${timeout}s waiting for $what"
        sleep 0.5
        waited=$((waited + 1))
    done
}

tcp_from_outside() {
    ip netns exec "$EXT" "$PY" -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)
    print(s.recv(64).decode())
except OSError:
    sys.exit(1)' "$1" "$PORT" >/dev/null 2>&1
}

cleanup() {
    set +e
    [[ -n $LISTENER ]] && kill "$LISTENER" 2>/dev/null
    if [[ -n $SERVER ]]; then
        api DELETE "/servers/$SERVER" >/dev/null
    fi
    [[ -n $FLOATING_ID ]] && api DELETE "/os-floating-ips/$FLOATING_ID" >/dev/null
    if [[ -n $GROUP_ID ]]; then
        # The group is in use until the server is gone.
        for _ in $(seq 60); do
            [[ -z $SERVER ]] || server_gone && break
            sleep 0.5
        done
        api DELETE "/os-security-groups/$GROUP_ID" >/dev/null
    fi
    for pid in $(ip netns pids "$GUEST" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$GUEST" 2>/dev/null
    ip -n "$NS" link del "$TAP" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

hosts_file_has() {
    grep -qi "$1" "$NETWORKS_PATH/kumo-$BRIDGE.hosts" 2>/dev/null
}

server_gone() {
    [[ $(api GET "/servers/$SERVER" | cut -d' ' -f1) == 404 ]]
}

# -- 1. boot ------------------------------------------------------------------------------
api GET /images >/dev/null
IMAGE=$(json 'next(i["id"] for i in j["images"] if i["name"] == "cirros")')
GROUP=netcheck-$$
expect 200 POST /os-security-groups \
    '{"security_group": {"name": "'"$GROUP"'", "description": "network-check.sh"}}'
GROUP_ID=$(json 'j["security_group"]["id"]')
expect 202 POST /servers '{"server": {"name": "netcheck", "imageRef": "'"$IMAGE"'",
    "flavorRef": "1", "security_groups": [{"name": "'"$GROUP"'"}]}}'
SERVER=$(json 'j["server"]["id"]')
server_active() {
    api GET "/servers/$SERVER" >/dev/null
    [[ $(json 'j["server"]["status"]') == ACTIVE ]]
}
wait_until "server $SERVER ACTIVE" 60 server_active
read -r FIXED MAC < <(json '" ".join(next((a["addr"], a["OS-EXT-IPS-MAC:mac_addr"])
    for a in j["server"]["addresses"]["'"$KUMO_FIXED_LABEL"'"]))')
log "1. server $SERVER ACTIVE, addresses: $FIXED (MAC $MAC) on $KUMO_FIXED_LABEL"
api GET "/servers/$SERVER/os-security-groups" >/dev/null
log "   its security groups: $(json '[g["name"] for g in j["security_groups"]]')"

# -- 2. the guest leases it -----------------------------------------------------------------
wait_until "MAC $MAC in dnsmasq's hosts file" 30 hosts_file_has "$MAC"
ip netns add "$GUEST"
ip -n "$GUEST" link set lo up
ip -n "$NS" link add "$TAP" type veth peer name eth0 netns "$GUEST"
ip -n "$GUEST" link set eth0 address "$MAC"
ip -n "$NS" link set "$TAP" master "$BRIDGE"
ip -n "$NS" link set "$TAP" up
ip -n "$GUEST" link set eth0 up
cat >"$WORK/udhcpc.sh" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "$router"
    echo "$ip $router" > "$LEASE_OUT" ;;
esac
EOF
chmod 755 "$WORK/udhcpc.sh"
LEASE_OUT=$WORK/lease ip netns exec "$GUEST" busybox udhcpc -i eth0 -n -q -f -t 8 -T 1 \
    -s "$WORK/udhcpc.sh" >"$WORK/udhcpc.log" 2>&1 || die "no DHCP lease: $(cat "$WORK/udhcpc.log")"
read -r LEASED ROUTER <"$WORK/lease"
[[ $LEASED == "$FIXED" ]] || die "the guest leased $LEASED, the API shows $FIXED"
log "2. guest with MAC $MAC leased $LEASED by DHCP (router $ROUTER)"
ip netns exec "$GUEST" busybox ping -c 1 -W 2 "$ROUTER" >/dev/null || die "the guest cannot ping $ROUTER"
log "   and pings its gateway $ROUTER"

# -- 3. floating IP and security group ------------------------------------------------------
ip netns exec "$GUEST" "$PY" -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", '"$PORT"')); s.listen(4)
while True:
    c, peer = s.accept(); c.sendall(b"hello"); c.close()' &
LISTENER=$!
expect 200 POST /os-floating-ips '{}'
FLOATING=$(json 'j["floating_ip"]["ip"]')
FLOATING_ID=$(json 'j["floating_ip"]["id"]')
expect 202 POST "/servers/$SERVER/action" '{"addFloatingIp": {"address": "'"$FLOATING"'"}}'
log "3. floating IP $FLOATING associated"
nat_and_chain_in_place() {
    local rules
    rules=$(ip netns exec "$NS" iptables-save)
    grep -q -- "-d $FLOATING/32 -j DNAT --to-destination $FIXED" <<<"$rules" &&
        grep -q -- "-d $FIXED/32 -j kumo-inst" <<<"$rules"
}
wait_until "the DNAT of $FLOATING and the chain of $FIXED" 30 nat_and_chain_in_place
log "   kumo-network put the DNAT $FLOATING -> $FIXED and $FIXED's chain in place"
if tcp_from_outside "$FLOATING"; then
    die "port $PORT open from outside while group $GROUP has no rule"
fi
log "   $FLOATING:$PORT from outside: refused (group $GROUP has no rule)"
expect 200 POST /os-security-group-rules '{"security_group_rule": {"parent_group_id": '"$GROUP_ID"',
    "ip_protocol": "tcp", "from_port": '"$PORT"', "to_port": '"$PORT"', "cidr": "0.0.0.0/0"}}'
wait_until "$FLOATING:$PORT open from outside" 30 tcp_from_outside "$FLOATING"
log "   rule tcp $PORT 0.0.0.0/0 added: $FLOATING:$PORT answers from outside"
api GET "/servers/$SERVER" >/dev/null
log "   addresses: $(json 'j["server"]["addresses"]')"

# -- 4. delete releases everything --------------------------------------------------------------
expect 204 DELETE "/servers/$SERVER"
wait_until "server deleted" 60 server_gone
DELETED=$SERVER
SERVER=""
not_in_hosts() { ! hosts_file_has "$MAC"; }
wait_until "MAC $MAC gone from dnsmasq's hosts file" 30 not_in_hosts
not_reachable() { ! tcp_from_outside "$FLOATING"; }
wait_until "$FLOATING unreachable" 30 not_reachable
api GET "/os-floating-ips/$FLOATING_ID" >/dev/null
[[ $(json 'j["floating_ip"]["instance_id"]') == None ]] || die "floating IP still associated"
api GET "/os-fixed-ips/$FIXED" >/dev/null
[[ $(json 'j["fixed_ip"]["hostname"]') == None ]] || die "fixed IP $FIXED still allocated"
if ip netns exec "$NS" iptables-save | grep -q -- "-d $FIXED/32 -j kumo-inst"; then
    die "the firewall chain of $FIXED is still there"
fi
log "4. server $DELETED deleted: $FIXED free, MAC gone from dnsmasq, $FLOATING" \
    "disassociated and unreachable, its firewall chain removed"
log "network-check: OK"
