"""Cyclic garbage-collector settings for a daemon that has finished starting.

CPython runs a collection of its youngest generation every 700 container
allocations and a full collection once enough objects survived; a full one
walks every tracked object of the process, the imported modules' included.
A 1,000-server ``GET /servers/detail`` allocates ~200,000 containers in
kumo-api and again in kumo-conductor (the rows, their JSON on the bus, the
views): ~420 young, ~38 middle and ~3 full collections per listing in each,
measured at 25-100 ms of a listing's CPU (bench/README.md, "The listing and
the garbage collector"). Reference counting frees those objects anyway; the
collector only matters for cycles, which kumo's request paths rarely make.

:func:`tune` (kumo.service.serve, once the service started) therefore

* collects once, then freezes what is alive (``gc.freeze``): the modules, the
  configuration, the RPC and database machinery move to the permanent
  generation, which no collection walks again;
* lets the youngest generation grow to :data:`YOUNG_THRESHOLD` allocations
  before a collection (middle and old thresholds unchanged), so a listing's
  burst of short-lived containers costs a dozen collections instead of
  hundreds. Cyclic garbage waits a little longer: a few MB at most.
"""

from __future__ import annotations

import gc

#: Container allocations (net of frees) between two collections of the young generation.
YOUNG_THRESHOLD = 10_000


def tune() -> None:
    """Freeze the objects alive now and raise the young generation's threshold."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
