"""Console proxies: noVNC, SPICE HTML5 and XVP VNC."""
