"""Vehicle tracks are plausible: bounded speeds and accelerations, heading along the motion,
stops, staying in the area, and the same track for the same seed."""

import random

import pytest

from simulators.geo import LocalFrame, angle_diff, bearing_deg, haversine_m
from simulators.route import KMH, RouteConfig, Vehicle, VehicleState


def drive(seed: int, seconds: int, config: RouteConfig | None = None,
          step: float = 1.0) -> list[VehicleState]:
    vehicle = Vehicle(config or RouteConfig(), random.Random(seed))
    states = [vehicle.state()]
    for _ in range(int(seconds / step)):
        states.append(vehicle.advance(step))
    return states


@pytest.mark.parametrize("seed", range(6))
def test_an_hour_of_driving_is_physically_plausible(seed: int) -> None:
    config = RouteConfig()
    states = drive(seed, 3600, config)
    vmax = config.max_speed_mps
    moving = stopped = 0
    for a, b in zip(states, states[1:], strict=False):
        assert 0 <= b.speed_mps <= vmax + 1e-9
        # ground covered in a second never exceeds the top speed (no teleports)
        assert haversine_m(a.lat, a.lon, b.lat, b.lon) <= vmax + 0.01
        # accelerations a car manages: ~1.5 m/s² away, at most ~4 m/s² braking
        assert b.speed_mps - a.speed_mps <= config.accel_mps2 + 1e-9
        assert a.speed_mps - b.speed_mps <= 4.0
        if a.speed_mps > 3 and b.speed_mps > 3:
            moving += 1
            # the reported heading points where the vehicle actually went
            went = bearing_deg(a.lat, a.lon, b.lat, b.lon)
            assert angle_diff(went, b.course) < 30
            # and turns at a plausible rate at speed (sharp turns are taken slowly)
            assert angle_diff(a.course, b.course) <= 65
        if b.speed_mps == 0:
            stopped += 1
            assert b.course == a.course  # a standing vehicle keeps its last heading
        assert 5 <= b.sats <= 14
        assert 0.6 <= b.hdop <= 3.0
        assert abs(b.alt_m - config.base_alt_m) < 20
    assert moving > 1000, "vehicles spend most of their time driving"
    assert stopped > 30, "and stop now and then"


def test_vehicles_stay_around_the_centre() -> None:
    config = RouteConfig(center=(-33.8688, 151.2093), radius_m=2000, leg_m=(200, 800))
    frame = LocalFrame(*config.center)
    for seed in range(4):
        for s in drive(seed, 1800, config):
            x, y = frame.to_xy(s.lat, s.lon)
            # waypoints lie within the radius; curved legs bulge a little beyond it
            assert (x * x + y * y) ** 0.5 <= config.radius_m * 1.2


def test_same_seed_same_track_other_seed_other_track() -> None:
    assert drive(7, 600) == drive(7, 600)
    assert drive(7, 600) != drive(8, 600)


def test_long_report_intervals_move_the_vehicle_as_short_ones_do() -> None:
    # a terminal reporting every 30 s drives the same track (and brakes for the same stops)
    fine = drive(3, 1800, step=1.0)[::30]
    coarse = drive(3, 1800, step=30.0)
    assert len(fine) == len(coarse)
    for a, b in zip(fine, coarse, strict=True):
        assert haversine_m(a.lat, a.lon, b.lat, b.lon) < 0.01
        assert a.speed_mps == pytest.approx(b.speed_mps)


def test_speeds_follow_the_configured_cruise_range() -> None:
    config = RouteConfig(cruise_kmh=(80, 100), leg_m=(2000, 4000), radius_m=20000,
                         stop_probability=0.0)
    top = max(s.speed_mps for s in drive(1, 1800, config))
    assert 80 * KMH <= top <= 100 * KMH + 1e-9


@pytest.mark.parametrize("bad", [
    {"center": (95.0, 0.0)}, {"leg_m": (10, 5)}, {"accel_mps2": 0},
    {"stop_probability": 1.5}, {"radius_m": 10},
])
def test_bad_route_configs_fail_at_construction(bad: dict) -> None:
    with pytest.raises(ValueError):
        RouteConfig(**bad)
