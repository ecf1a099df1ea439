"""The garbage collector's settings for processes that run a gateway (``fieldgate gateway``,
``serve``, ``demo``).

CPython collects its youngest generation every 700 allocations of container objects. The
gateway allocates several per fix (the decoder's tuples, the record, the batch's lists) and
holds up to ``queue_max_rows`` fixes alive while the writer catches up, so at 150,000 fixes a
second the collector ran hundreds of times a second, each pass walking objects that all
survive. Measured with ``bench e2e`` (docs/benchmarks.md, "Issue 9 §4"): thresholds of
``(50_000, 20, 100)`` raise TCP sockets → committed rows by 13 %.
"""

from __future__ import annotations

import gc

#: (young generation allocations, young passes per middle pass, middle passes per full pass)
THRESHOLDS = (50_000, 20, 100)


def settle() -> None:
    """Once the process is built: everything made so far (modules, settings, listeners) lives
    as long as the process, so it leaves the collector's passes (they otherwise stop the loop
    for tens of milliseconds: bench gateway_tcp, p99 35 → 18 ms); then space the passes out."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
