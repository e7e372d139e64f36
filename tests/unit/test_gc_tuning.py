"""A started daemon freezes its start-up objects and collects its young generation
less often (kumo.gc_tuning)."""

from __future__ import annotations

import gc

from kumo import gc_tuning


def test_tune_freezes_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        gc_tuning.tune()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (gc_tuning.YOUNG_THRESHOLD, before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
