"""iptables rules of kumo-network, rebuilt as a whole from the desired state.

kumo owns a few chains and never edits anything else, except one jump from
each built-in chain it hooks (inserted once, first):

========  ===============  ==========================================
table     built-in chain   kumo's chain
========  ===============  ==========================================
filter    FORWARD          ``kumo-filter-top``: isolation between
                           networks, then per instance ``-d IP`` →
                           ``kumo-inst-<id>`` (its security groups)
nat       PREROUTING       ``kumo-PREROUTING``: metadata redirect,
                           floating-IP DNAT
nat       OUTPUT           ``kumo-OUTPUT``: floating-IP DNAT of local
                           traffic
nat       POSTROUTING      ``kumo-postrouting`` → ``kumo-snat``:
                           floating-IP SNAT, SNAT of fixed ranges out
                           of the public interface
========  ===============  ==========================================

:func:`apply` renders the full contents of those chains from a
:class:`FirewallState` and loads each table with one ``iptables-restore -n``:
declaring a chain flushes it, the rest of the table is untouched, and the
swap is atomic. Instance chains no longer wanted are deleted in the same
transaction. Applying the same state twice leaves identical rules, so a
restarted host converges by calling :func:`apply` with what the database says.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import re
import threading

from kumo import privileged

METADATA_IP = "169.254.169.254"
CHAIN_MAX = 28  # iptables' limit on chain names
INSTANCE_PREFIX = "kumo-inst-"

FILTER_TOP = "kumo-filter-top"
NAT_PREROUTING = "kumo-PREROUTING"
NAT_OUTPUT = "kumo-OUTPUT"
NAT_POSTROUTING = "kumo-postrouting"
NAT_SNAT = "kumo-snat"

# iptables-save → iptables-restore is a read-modify-write: one at a time.
_lock = threading.Lock()

# table -> [(built-in chain, our chain)]
HOOKS = {
    "filter": [("FORWARD", FILTER_TOP)],
    "nat": [("PREROUTING", NAT_PREROUTING), ("OUTPUT", NAT_OUTPUT),
            ("POSTROUTING", NAT_POSTROUTING)],
}
OWN_CHAINS = {
    "filter": [FILTER_TOP],
    "nat": [NAT_PREROUTING, NAT_OUTPUT, NAT_POSTROUTING, NAT_SNAT],
}


@dataclasses.dataclass(frozen=True)
class SecurityGroupRule:
    """One ingress rule. ``protocol`` None means every protocol; for icmp
    ``from_port``/``to_port`` are type/code (-1: any). Sources are ``cidr``
    and/or ``source_ips`` (the member IPs of a source group)."""

    protocol: str | None = None
    from_port: int | None = None
    to_port: int | None = None
    cidr: str | None = None
    source_ips: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class InstanceFirewall:
    instance_id: str
    ip: str
    dhcp_server: str | None = None  # the network's gateway, allowed to answer DHCP
    rules: tuple[SecurityGroupRule, ...] = ()


@dataclasses.dataclass(frozen=True)
class FixedNetwork:
    bridge: str
    cidr: str


@dataclasses.dataclass(frozen=True)
class FloatingIP:
    address: str
    fixed_ip: str


@dataclasses.dataclass(frozen=True)
class FirewallState:
    public_interface: str
    networks: tuple[FixedNetwork, ...] = ()
    floating_ips: tuple[FloatingIP, ...] = ()
    instances: tuple[InstanceFirewall, ...] = ()
    routing_source_ip: str | None = None
    metadata_host: str | None = None
    metadata_port: int = 8775


def instance_chain(instance_id: str) -> str:
    name = INSTANCE_PREFIX + str(instance_id)
    if len(name) <= CHAIN_MAX and re.fullmatch(r"[A-Za-z0-9_.-]+", str(instance_id)):
        return name
    digest = hashlib.sha1(str(instance_id).encode()).hexdigest()
    return INSTANCE_PREFIX + digest[:CHAIN_MAX - len(INSTANCE_PREFIX)]


def _host(address: str) -> str:
    return f"{ipaddress.IPv4Address(address)}/32"


def _net(cidr: str) -> str:
    return str(ipaddress.IPv4Network(cidr, strict=False))


def _is_any(value: int | None) -> bool:
    return value is None or value < 0


def rule_matches(rule: SecurityGroupRule) -> list[str]:
    """The iptables match strings (without -j) of one security-group rule."""
    protocol = (rule.protocol or "").lower()
    if protocol in ("", "-1", "all", "any"):
        proto_args = ""
    elif protocol in ("tcp", "udp"):
        proto_args = f"-p {protocol} -m {protocol}"
        if not _is_any(rule.from_port):
            to_port = rule.from_port if _is_any(rule.to_port) else rule.to_port
            if to_port == rule.from_port:
                proto_args += f" --dport {rule.from_port}"
            else:
                proto_args += f" --dport {rule.from_port}:{to_port}"
    elif protocol == "icmp":
        proto_args = "-p icmp -m icmp"
        if not _is_any(rule.from_port):
            proto_args += f" --icmp-type {rule.from_port}"
            if not _is_any(rule.to_port):
                proto_args += f"/{rule.to_port}"
        else:
            proto_args = "-p icmp"
    else:
        raise ValueError(f"unsupported protocol {rule.protocol!r}")
    sources: list[str] = []
    if rule.cidr:
        net = _net(rule.cidr)
        sources.append("" if net == "0.0.0.0/0" else f"-s {net}")
    sources += [f"-s {_host(ip)}" for ip in sorted(set(rule.source_ips),
                                                     key=ipaddress.IPv4Address)]
    return [" ".join(part for part in (src, proto_args) if part) for src in sources]


def instance_rules(instance: InstanceFirewall) -> list[str]:
    """The body of an instance's chain (rules, without ``-A chain``)."""
    body = ["-m conntrack --ctstate INVALID -j DROP",
            "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]
    if instance.dhcp_server:
        body.append(f"-s {_host(instance.dhcp_server)} -p udp -m udp --sport 67 "
                    "--dport 68 -j ACCEPT")
    seen = set()
    for rule in instance.rules:
        for match in rule_matches(rule):
            line = f"{match} -j ACCEPT".strip()
            if line not in seen:
                seen.add(line)
                body.append(line)
    body.append("-j DROP")
    return body


def desired_rules(state: FirewallState) -> dict[str, dict[str, list[str]]]:
    """table -> chain -> rule bodies, for every chain kumo owns."""
    filter_chains: dict[str, list[str]] = {FILTER_TOP: []}
    top = filter_chains[FILTER_TOP]
    bridges = sorted({net.bridge for net in state.networks})
    for source in bridges:
        for dest in bridges:
            if source != dest:
                top.append(f"-i {source} -o {dest} -j DROP")
    for instance in sorted(state.instances, key=lambda i: instance_chain(i.instance_id)):
        chain = instance_chain(instance.instance_id)
        top.append(f"-d {_host(instance.ip)} -j {chain}")
        filter_chains[chain] = instance_rules(instance)

    prerouting: list[str] = []
    output: list[str] = []
    postrouting: list[str] = []
    snat: list[str] = []
    if state.metadata_host:
        prerouting.append(f"-d {METADATA_IP}/32 -p tcp -m tcp --dport 80 -j DNAT "
                          f"--to-destination {state.metadata_host}:{state.metadata_port}")
    for floating in sorted(state.floating_ips, key=lambda f: ipaddress.IPv4Address(f.address)):
        prerouting.append(f"-d {_host(floating.address)} -j DNAT "
                          f"--to-destination {floating.fixed_ip}")
        output.append(f"-d {_host(floating.address)} -j DNAT "
                      f"--to-destination {floating.fixed_ip}")
        snat.append(f"-s {_host(floating.fixed_ip)} -j SNAT --to-source {floating.address}")
    for network in sorted(state.networks, key=lambda n: (n.bridge, n.cidr)):
        cidr = _net(network.cidr)
        if state.metadata_host:
            postrouting.append(f"-s {cidr} -d {_host(state.metadata_host)} -j ACCEPT")
        postrouting.append(f"-s {cidr} -d {cidr} -m conntrack ! --ctstate DNAT -j ACCEPT")
        if state.routing_source_ip:
            snat.append(f"-s {cidr} -o {state.public_interface} -j SNAT "
                        f"--to-source {state.routing_source_ip}")
        else:
            snat.append(f"-s {cidr} -o {state.public_interface} -j MASQUERADE")
    postrouting.append(f"-j {NAT_SNAT}")
    nat_chains = {NAT_PREROUTING: prerouting, NAT_OUTPUT: output,
                  NAT_POSTROUTING: postrouting, NAT_SNAT: snat}
    return {"filter": filter_chains, "nat": nat_chains}


def _save(table: str, namespace: str | None) -> str:
    stdout, _ = privileged.execute(["iptables-save", "-t", table], namespace=namespace)
    return stdout


def existing_chains(saved: str) -> set[str]:
    return {line[1:].split()[0] for line in saved.splitlines() if line.startswith(":")}


def _hooked(table: str, saved: str) -> list[tuple[str, str]]:
    """The (built-in, ours) pairs of ``table`` whose jump is already in ``saved``."""
    saved_lines = set(saved.splitlines())
    return [(builtin, ours) for builtin, ours in HOOKS[table]
            if f"-A {builtin} -j {ours}" in saved_lines]


def render_table(table: str, chains: dict[str, list[str]], saved: str) -> str:
    """The ``iptables-restore -n`` input that makes ``table`` hold ``chains``."""
    present = existing_chains(saved)
    stale = sorted(chain for chain in present
                   if chain.startswith(INSTANCE_PREFIX) and chain not in chains)
    hooked = _hooked(table, saved)
    lines = [f"*{table}"]
    lines += [f":{chain} - [0:0]" for chain in [*chains, *stale]]
    lines += [f"-I {builtin} 1 -j {ours}" for builtin, ours in HOOKS[table]
              if (builtin, ours) not in hooked]
    for chain, body in chains.items():
        lines += [f"-A {chain} {rule}" for rule in body]
    lines += [f"-X {chain}" for chain in stale]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def in_sync(table: str, chains: dict[str, list[str]], saved: str) -> bool:
    """Whether ``saved`` already holds exactly ``chains``, hooked and without stale
    instance chains. Compared as text: a rule iptables-save spells differently
    only costs a needless reload."""
    present = existing_chains(saved)
    if any(chain.startswith(INSTANCE_PREFIX) and chain not in chains for chain in present):
        return False
    if not present.issuperset(chains) or len(_hooked(table, saved)) != len(HOOKS[table]):
        return False
    bodies: dict[str, list[str]] = {chain: [] for chain in chains}
    for line in saved.splitlines():
        _, chain, rule = (line.split(" ", 2) + ["", ""])[:3]
        if line.startswith("-A ") and chain in bodies:
            bodies[chain].append(rule)
    return bodies == chains


def apply(state: FirewallState, namespace: str | None = None) -> None:
    """Make kumo's chains match ``state`` (idempotent, one transaction per table;
    a table already in that state is not reloaded)."""
    with _lock:
        for table, chains in desired_rules(state).items():
            saved = _save(table, namespace)
            if in_sync(table, chains, saved):
                continue
            privileged.execute(["iptables-restore", "-n"], namespace=namespace,
                               process_input=render_table(table, chains, saved))


def remove_all(namespace: str | None = None) -> None:
    """Remove every chain and hook of kumo (the rest of the tables untouched)."""
    with _lock:
        _remove_all(namespace)


def _remove_all(namespace: str | None) -> None:
    for table in ("filter", "nat"):
        saved = _save(table, namespace)
        present = existing_chains(saved)
        ours = [c for c in present if c in OWN_CHAINS[table] or c.startswith(INSTANCE_PREFIX)]
        if not ours:
            continue
        lines = [f"*{table}", *[f":{chain} - [0:0]" for chain in ours]]
        lines += [f"-D {builtin} -j {chain}" for builtin, chain in _hooked(table, saved)]
        lines += [f"-X {chain}" for chain in ours]
        lines.append("COMMIT")
        privileged.execute(["iptables-restore", "-n"], namespace=namespace,
                           process_input="\n".join(lines) + "\n")
