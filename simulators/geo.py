"""Local flat-earth geometry around a city centre.

Simulated vehicles drive within a few tens of kilometres of a centre, where an equirectangular
projection is accurate to well under a metre per kilometre: plenty for plausible tracks, and
cheap enough to step thousands of vehicles.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  #: mean radius (IUGG)


class LocalFrame:
    """Metres east/north of ``(lat0, lon0)`` to degrees and back."""

    __slots__ = ("lat0", "lon0", "_m_per_deg_lat", "_m_per_deg_lon")

    def __init__(self, lat0: float, lon0: float) -> None:
        if not (-80.0 <= lat0 <= 80.0):
            # the projection degenerates near the poles; no road network there anyway
            raise ValueError(f"centre latitude {lat0} outside -80..80")
        if not (-180.0 <= lon0 <= 180.0):
            raise ValueError(f"centre longitude {lon0} outside -180..180")
        self.lat0 = lat0
        self.lon0 = lon0
        self._m_per_deg_lat = math.pi * EARTH_RADIUS_M / 180.0
        self._m_per_deg_lon = self._m_per_deg_lat * math.cos(math.radians(lat0))

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        lat = self.lat0 + y / self._m_per_deg_lat
        lon = self.lon0 + x / self._m_per_deg_lon
        if lon > 180.0:
            lon -= 360.0
        elif lon < -180.0:
            lon += 360.0
        return lat, lon

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        dlon = lon - self.lon0
        if dlon > 180.0:
            dlon -= 360.0
        elif dlon < -180.0:
            dlon += 360.0
        return dlon * self._m_per_deg_lon, (lat - self.lat0) * self._m_per_deg_lat


def heading_deg(dx: float, dy: float) -> float:
    """Compass heading (0 = north, 90 = east) of a displacement east ``dx``, north ``dy``."""
    return math.degrees(math.atan2(dx, dy)) % 360.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (what a health rule computes between two fixes)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing from point 1 to point 2, degrees true."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360.0


def angle_diff(a: float, b: float) -> float:
    """Smallest absolute difference between two headings, 0..180."""
    d = abs(a - b) % 360.0
    return 360.0 - d if d > 180.0 else d
