"""kumo-network: nova-network-style fixed/floating IPs, bridges, DHCP, security groups."""
