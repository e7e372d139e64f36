"""The console proxies: kumo-novncproxy and kumo-spicehtml5proxy (WebSocket ↔ the guest's
display, :mod:`kumo.proxies.websocket`) and kumo-xvpvncproxy (HTTP CONNECT-style TCP,
:mod:`kumo.proxies.xvp`); both resolve their target from a console token
(:mod:`kumo.proxies.auth`)."""
