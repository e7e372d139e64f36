"""The EC2 Query API served on :8773."""
