"""oslo.policy defaults in code, one module per API resource."""
