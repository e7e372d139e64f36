"""kumo-api-metadata's WSGI application.

The version listing is served now; the per-instance documents (meta-data,
user-data, meta_data.json) need the instance lookup by fixed IP that
kumo-network provides, and answer 404 until then.
"""

from __future__ import annotations

import webob
import webob.dec

# The EC2 metadata versions a client may ask for, oldest first.
EC2_VERSIONS = (
    "1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
    "2008-02-01", "2008-09-01", "2009-04-04",
)


class MetadataAPI:
    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        if req.method not in ("GET", "HEAD"):
            return webob.Response(status=405, headers={"Allow": "GET, HEAD"})
        if req.path_info in ("", "/"):
            body = "\n".join((*EC2_VERSIONS, "latest"))
            return webob.Response(body=body.encode(), content_type="text/plain",
                                  charset="utf-8")
        return webob.Response(status=404, body=b"Not Found", content_type="text/plain")
