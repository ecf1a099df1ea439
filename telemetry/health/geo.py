"""Distances for the jump rule: fast and good enough to tell a teleport from a drive."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance in metres.

    Within 0.5 % of the haversine up to a few hundred kilometres, at a third of its cost;
    the jump rule compares the result with limits an order of magnitude apart, and it runs on
    every consecutive pair of fixes the gateway sees.
    """
    dlon = abs(lon2 - lon1)
    if dlon > 180.0:  # across the antimeridian
        dlon = 360.0 - dlon
    x = dlon * math.cos(math.radians((lat1 + lat2) * 0.5))
    y = lat2 - lat1
    return _M_PER_DEG * math.hypot(x, y)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (reference for tests and evidence)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
