"""Plausible vehicle tracks: driving between waypoints around a city centre.

A :class:`Vehicle` drives legs from one waypoint to the next, straight or along a gentle curve
(a quadratic Bézier), accelerating to a cruise speed picked per leg, braking along a constant
deceleration curve before the end of the leg, stopping at some waypoints (traffic lights,
deliveries), sometimes parking for minutes, and slowing for sharp turns instead of taking them at
cruise speed. The heading is the direction of travel, kept while standing. Satellites, HDOP and
altitude wander the way a receiver's do.

Everything random comes from the ``random.Random`` passed in: the same seed gives the same track.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from simulators.geo import LocalFrame, angle_diff, heading_deg

KMH = 1 / 3.6  #: km/h in m/s
#: integration step: long report intervals (a terminal reporting every 30 s) must still brake
#: before waypoints, so vehicles are stepped at this resolution whatever the interval
MAX_STEP_S = 0.5
#: turns sharper than this are taken from a standstill, as a driver would
SHARP_TURN_DEG = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteConfig:
    """Where and how the simulated vehicles drive.

    Args:
        center: ``(lat, lon)`` of the city centre, decimal degrees.
        radius_m: waypoints stay within this distance of the centre.
        leg_m: range of distances between consecutive waypoints.
        cruise_kmh: range of cruise speeds; each leg picks one.
        accel_mps2: acceleration from a stop or a turn.
        decel_mps2: braking deceleration before stops and turns.
        turn_kmh: speed through a waypoint the vehicle does not stop at.
        stop_probability: chance of stopping at a waypoint.
        dwell_s: range of stop durations.
        park_probability: chance that a stop is a long park instead.
        park_s: range of park durations.
        curve_probability: chance that a leg is curved rather than straight.
        base_alt_m: altitude of the area; terrain varies it by about ±15 m.
    """

    center: tuple[float, float] = (52.5200, 13.4050)
    radius_m: float = 6000.0
    leg_m: tuple[float, float] = (300.0, 2500.0)
    cruise_kmh: tuple[float, float] = (30.0, 60.0)
    accel_mps2: float = 1.5
    decel_mps2: float = 2.5
    turn_kmh: float = 20.0
    stop_probability: float = 0.5
    dwell_s: tuple[float, float] = (5.0, 45.0)
    park_probability: float = 0.05
    park_s: tuple[float, float] = (120.0, 600.0)
    curve_probability: float = 0.4
    base_alt_m: float = 40.0

    def __post_init__(self) -> None:
        LocalFrame(*self.center)  # validates the centre
        for name in ("leg_m", "cruise_kmh", "dwell_s", "park_s"):
            low, high = getattr(self, name)
            if not (0 <= low <= high):
                raise ValueError(f"{name} must be a range low <= high, got {(low, high)}")
        if self.radius_m < 100 or self.leg_m[1] <= 0 or self.cruise_kmh[0] <= 0:
            raise ValueError("radius_m >= 100, positive legs and cruise speeds required")
        if self.accel_mps2 <= 0 or self.decel_mps2 <= 0:
            raise ValueError("accel_mps2 and decel_mps2 must be positive")
        for name in ("stop_probability", "park_probability", "curve_probability"):
            if not (0.0 <= getattr(self, name) <= 1.0):
                raise ValueError(f"{name} must be within 0..1")

    @property
    def max_speed_mps(self) -> float:
        return self.cruise_kmh[1] * KMH


@dataclass(frozen=True, slots=True)
class VehicleState:
    """Ground truth of one vehicle at one instant."""

    lat: float
    lon: float
    speed_mps: float
    course: float  #: degrees true, direction of travel (kept while standing)
    alt_m: float
    sats: int
    hdop: float

    @property
    def speed_kn(self) -> float:
        return self.speed_mps / 0.514444


class _Leg:
    __slots__ = ("points", "cum", "length", "cruise", "stop", "end_heading", "start_heading")

    def __init__(self, points: list[tuple[float, float]], cruise: float) -> None:
        self.points = points
        cum = [0.0]
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            cum.append(cum[-1] + math.hypot(x1 - x0, y1 - y0))
        self.cum = cum
        self.length = cum[-1]
        self.cruise = cruise
        self.stop = True
        (ax, ay), (bx, by) = points[0], points[1]
        self.start_heading = heading_deg(bx - ax, by - ay)
        (ax, ay), (bx, by) = points[-2], points[-1]
        self.end_heading = heading_deg(bx - ax, by - ay)

    def at(self, s: float, hint: int) -> tuple[float, float, float, int]:
        """Point and heading at distance ``s`` along the leg; ``hint`` is the last segment."""
        cum = self.cum
        i = hint
        last = len(cum) - 2
        while i < last and cum[i + 1] < s:
            i += 1
        (x0, y0), (x1, y1) = self.points[i], self.points[i + 1]
        seg = cum[i + 1] - cum[i]
        f = 0.0 if seg <= 0 else min(1.0, max(0.0, (s - cum[i]) / seg))
        return x0 + (x1 - x0) * f, y0 + (y1 - y0) * f, heading_deg(x1 - x0, y1 - y0), i


class Vehicle:
    """One vehicle driving legs between random waypoints; see the module docstring."""

    def __init__(self, config: RouteConfig, rng: random.Random) -> None:
        self.config = config
        self._rng = rng
        self._frame = LocalFrame(*config.center)
        r = config.radius_m * 0.8 * math.sqrt(rng.random())
        a = rng.uniform(0, 2 * math.pi)
        self._x, self._y = r * math.cos(a), r * math.sin(a)
        self._heading = rng.uniform(0, 360)
        self._v = 0.0
        self._s = 0.0
        self._seg = 0
        # start at a stop, somewhere in its dwell: fleets do not all pull away at once
        self._dwell = rng.uniform(0, config.dwell_s[1])
        self._leg = self._plan(self._x, self._y, self._heading)
        self._next = self._plan_after(self._leg)
        self._sats = rng.randint(7, 12)
        self._hdop = self._hdop_for(self._sats)
        self._alt = self._terrain()
        self._noise_clock = 0.0
        self.odometer_m = 0.0

    # -- planning --------------------------------------------------------------------------

    def _plan(self, x: float, y: float, heading: float) -> _Leg:
        cfg, rng = self.config, self._rng
        target = None
        for _ in range(6):
            d = rng.uniform(*cfg.leg_m) or 1.0
            h = math.radians(heading + rng.gauss(0, 50))
            tx, ty = x + d * math.sin(h), y + d * math.cos(h)
            if math.hypot(tx, ty) <= cfg.radius_m:
                target = (tx, ty)
                break
        if target is None:  # near the edge: head back towards the centre
            d = rng.uniform(*cfg.leg_m) or 1.0
            h = math.atan2(-x, -y) + math.radians(rng.uniform(-45, 45))
            target = (x + d * math.sin(h), y + d * math.cos(h))
        tx, ty = target
        d = math.hypot(tx - x, ty - y)
        n = max(2, int(d / 40))
        if rng.random() < cfg.curve_probability:
            # control point pushed sideways: a bend of at most about 20 % of the leg
            mx, my = (x + tx) / 2, (y + ty) / 2
            k = rng.uniform(-0.35, 0.35)
            cx, cy = mx - (ty - y) * k, my + (tx - x) * k
            points = []
            for i in range(n + 1):
                t = i / n
                u = 1 - t
                points.append((u * u * x + 2 * u * t * cx + t * t * tx,
                               u * u * y + 2 * u * t * cy + t * t * ty))
        else:
            points = [(x + (tx - x) * i / n, y + (ty - y) * i / n) for i in range(n + 1)]
        return _Leg(points, rng.uniform(*cfg.cruise_kmh) * KMH)

    def _plan_after(self, leg: _Leg) -> _Leg:
        nxt = self._plan(*leg.points[-1], leg.end_heading)
        sharp = angle_diff(leg.end_heading, nxt.start_heading) > SHARP_TURN_DEG
        leg.stop = sharp or self._rng.random() < self.config.stop_probability
        return nxt

    def _end_speed(self) -> float:
        leg = self._leg
        return 0.0 if leg.stop else min(self.config.turn_kmh * KMH, leg.cruise,
                                         self._next.cruise)

    # -- stepping --------------------------------------------------------------------------

    def advance(self, dt: float) -> VehicleState:
        """Move ``dt`` seconds forward and return the new state."""
        if dt < 0:
            raise ValueError("time runs forward only")
        while dt > 1e-9:
            step = min(dt, MAX_STEP_S)
            self._step(step)
            dt -= step
        return self.state()

    def _step(self, dt: float) -> None:
        cfg = self.config
        self._wander(dt)
        if self._dwell > 0:
            self._dwell -= dt
            self._v = 0.0
            return
        leg = self._leg
        remaining = leg.length - self._s
        v_end = self._end_speed()
        v = self._v
        # deceleration needed to be at v_end exactly at the waypoint: braking starts when it
        # reaches the configured deceleration, and then follows it to the end (constant-
        # deceleration kinematics, so the vehicle arrives at v_end rather than creeping)
        need = (v * v - v_end * v_end) / (2 * remaining) if remaining > 1e-6 else math.inf
        if v > v_end and need >= cfg.decel_mps2:
            t_end = (v - v_end) / need
            if t_end <= dt:
                self._arrive(leg, v_end, remaining)
                return
            a = -need
        elif v < leg.cruise:
            a = min(cfg.accel_mps2, (leg.cruise - v) / dt)
            v_new = v + a * dt
            rem_new = remaining - (v + v_new) / 2 * dt
            if rem_new <= 0 or (v_new * v_new - v_end * v_end) / (2 * rem_new) > cfg.decel_mps2:
                a = 0.0  # accelerating now would overshoot the braking point
        elif v > leg.cruise:
            a = -min(cfg.decel_mps2, (v - leg.cruise) / dt)
        else:
            a = 0.0
        v_new = max(0.0, v + a * dt)
        travel = (v + v_new) / 2 * dt
        if travel >= remaining:
            self._arrive(leg, v_new, remaining)
            return
        self._v = v_new
        self._s += travel
        self.odometer_m += travel
        self._x, self._y, self._heading, self._seg = leg.at(self._s, self._seg)

    def _arrive(self, leg: _Leg, v: float, remaining: float) -> None:
        cfg, rng = self.config, self._rng
        self.odometer_m += max(0.0, remaining)
        self._x, self._y = leg.points[-1]
        self._heading = leg.end_heading
        self._v = v
        if leg.stop:
            self._v = 0.0
            if rng.random() < cfg.park_probability:
                self._dwell = rng.uniform(*cfg.park_s)
            else:
                self._dwell = rng.uniform(*cfg.dwell_s)
        self._leg, self._s, self._seg = self._next, 0.0, 0
        self._next = self._plan_after(self._leg)

    def _wander(self, dt: float) -> None:
        """Satellites, HDOP and altitude noise, updated once per simulated second."""
        self._noise_clock += dt
        rng = self._rng
        while self._noise_clock >= 1.0:
            self._noise_clock -= 1.0
            if rng.random() < 0.05:
                self._sats = min(14, max(5, self._sats + rng.choice((-1, 1))))
            self._hdop = self._hdop_for(self._sats)
            self._alt = self._terrain()

    def _hdop_for(self, sats: int) -> float:
        # more satellites, better geometry: roughly what urban receivers report
        return min(3.0, max(0.6, 0.5 + 6.0 / sats + self._rng.gauss(0, 0.05)))

    def _terrain(self) -> float:
        x, y = self._x, self._y
        return (self.config.base_alt_m + 15 * math.sin(x / 1700) * math.cos(y / 2300)
                + self._rng.gauss(0, 0.4))

    def teleport(self, dx: float, dy: float) -> None:
        """Move the vehicle ``dx``/``dy`` metres at once (a relocation fault) and replan."""
        self._x += dx
        self._y += dy
        self._leg = self._plan(self._x, self._y, self._heading)
        self._next = self._plan_after(self._leg)
        self._s, self._seg = 0.0, 0

    def state(self) -> VehicleState:
        lat, lon = self._frame.to_latlon(self._x, self._y)
        return VehicleState(lat, lon, self._v, self._heading, self._alt, self._sats, self._hdop)

    @property
    def frame(self) -> LocalFrame:
        return self._frame
