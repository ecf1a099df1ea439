"""The gateway runs on uvloop in production (``fieldgate gateway``): the TCP scenarios whose
behaviour depends on the loop's transports (pause/resume, close while paused, accept limits) are
run again on it."""

from __future__ import annotations

import asyncio

import pytest

from tests.gateway import test_tcp

uvloop = pytest.importorskip("uvloop")


@pytest.mark.parametrize("scenario", [
    test_tcp.test_pgid_identifies_the_connection_and_records_flow_into_its_session,
    test_tcp.test_bad_input_is_counted_and_skipped_without_dropping_the_connection,
    test_tcp.test_connections_beyond_the_limit_are_refused_and_counted,
    test_tcp.test_a_second_connection_of_the_same_terminal_replaces_the_first,
    test_tcp.test_shutdown_flushes_the_last_epoch_and_closes_sessions,
    test_tcp.test_blocked_sink_stops_reading_until_the_sender_blocks_then_nothing_is_lost,
], ids=lambda f: f.__name__.removeprefix("test_"))
def test_tcp_scenario_on_uvloop(scenario) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert isinstance(runner.get_loop(), uvloop.Loop)
        runner.run(scenario())
