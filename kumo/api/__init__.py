"""kumo's HTTP APIs: the compute API (openstack/), EC2 (ec2/) and metadata (metadata/)."""
