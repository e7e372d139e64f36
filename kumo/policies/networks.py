"""Policy defaults of the nova-network proxies: os-networks, os-floating-ips,
os-floating-ip-pools, os-security-groups (and rules), and the server actions
addFloatingIp/removeFloatingIp/addSecurityGroup/removeSecurityGroup."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

NETWORKS = "os_compute_api:os-networks:%s"
FLOATING_IPS = "os_compute_api:os-floating-ips:%s"
FLOATING_IP_POOLS = "os_compute_api:os-floating-ip-pools:list"
SECURITY_GROUPS = "os_compute_api:os-security-groups:%s"
FIXED_IPS = "os_compute_api:os-fixed-ips:%s"
VIRTUAL_INTERFACES = "os_compute_api:os-virtual-interfaces:list"
NETWORKS_ASSOCIATE = "os_compute_api:os-networks-associate"

_FIP = "/os-floating-ips"
_SG = "/os-security-groups"
_ACTION = "/servers/{server_id}/action"


_rule = base.rule


def list_rules() -> list[policy.DocumentedRuleDefault]:
    reader, member, admin = (base.PROJECT_READER_OR_ADMIN, base.PROJECT_MEMBER_OR_ADMIN,
                             base.ADMIN_API)
    return [
        _rule(NETWORKS % "list", reader, "List networks", [("GET", "/os-networks")]),
        _rule(NETWORKS % "show", reader, "Show a network", [("GET", "/os-networks/{id}")]),
        _rule(FLOATING_IP_POOLS, reader, "List floating IP pools",
              [("GET", "/os-floating-ip-pools")]),
        _rule(FLOATING_IPS % "list", reader, "List the project's floating IPs",
              [("GET", _FIP)]),
        _rule(FLOATING_IPS % "show", reader, "Show a floating IP",
              [("GET", _FIP + "/{floating_ip_id}")]),
        _rule(FLOATING_IPS % "create", member, "Allocate a floating IP", [("POST", _FIP)]),
        _rule(FLOATING_IPS % "delete", member, "Release a floating IP",
              [("DELETE", _FIP + "/{floating_ip_id}")]),
        _rule(FLOATING_IPS % "add", member, "Associate a floating IP with a server",
              [("POST", _ACTION + " (addFloatingIp)")]),
        _rule(FLOATING_IPS % "remove", member, "Disassociate a floating IP",
              [("POST", _ACTION + " (removeFloatingIp)")]),
        _rule(SECURITY_GROUPS % "get", reader, "List security groups", [("GET", _SG)]),
        _rule(SECURITY_GROUPS % "show", reader, "Show a security group",
              [("GET", _SG + "/{security_group_id}")]),
        _rule(SECURITY_GROUPS % "create", member, "Create a security group",
              [("POST", _SG)]),
        _rule(SECURITY_GROUPS % "update", member, "Rename a security group",
              [("PUT", _SG + "/{security_group_id}")]),
        _rule(SECURITY_GROUPS % "list", reader, "List a server's security groups",
              [("GET", "/servers/{server_id}/os-security-groups")]),
        _rule(SECURITY_GROUPS % "delete", member, "Delete a security group",
              [("DELETE", _SG + "/{security_group_id}")]),
        _rule(SECURITY_GROUPS % "rule:create", member, "Create a security group rule",
              [("POST", "/os-security-group-rules")]),
        _rule(SECURITY_GROUPS % "rule:delete", member, "Delete a security group rule",
              [("DELETE", "/os-security-group-rules/{security_group_id}")]),
        _rule(SECURITY_GROUPS % "add", member, "Add a security group to a server",
              [("POST", _ACTION + " (addSecurityGroup)")]),
        _rule(SECURITY_GROUPS % "remove", member, "Remove a security group from a server",
              [("POST", _ACTION + " (removeSecurityGroup)")]),
        _rule(FIXED_IPS % "show", admin, "Show a fixed IP",
              [("GET", "/os-fixed-ips/{fixed_ip}")]),
        _rule(FIXED_IPS % "reserve", admin, "Reserve a fixed IP",
              [("POST", "/os-fixed-ips/{fixed_ip}/action (reserve)")]),
        _rule(FIXED_IPS % "unreserve", admin, "Unreserve a fixed IP",
              [("POST", "/os-fixed-ips/{fixed_ip}/action (unreserve)")]),
        _rule(VIRTUAL_INTERFACES, reader, "List a server's virtual interfaces",
              [("GET", "/servers/{server_id}/os-virtual-interfaces")]),
        _rule(NETWORKS % "create", admin, "Create a network", [("POST", "/os-networks")]),
        _rule(NETWORKS % "delete", admin, "Delete a network",
              [("DELETE", "/os-networks/{id}")]),
        _rule(NETWORKS % "add", admin, "Give a project a network",
              [("POST", "/os-networks/add")]),
        _rule(NETWORKS_ASSOCIATE, admin, "Associate or disassociate a network's host "
              "and project", [("POST", "/os-networks/{id}/action (associate_host, "
                              "disassociate_host, disassociate_project, disassociate)")]),
    ]
