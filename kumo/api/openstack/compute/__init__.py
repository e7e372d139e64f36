"""The compute API's resources: servers, flavors, images."""
