"""``fieldgate faults`` and the health settings (flags over FIELDGATE_* over the TOML file)."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fieldgate.cli import main
from fieldgate.dburl import DatabaseURL
from telemetry.health import FaultEvent, FaultEventKind, FaultStore, HealthConfigError
from telemetry.health.settings import add_health_options, health_settings_from

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_health_options(parser)
    return parser.parse_args(argv)


def test_flags_map_onto_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FIELDGATE_OFFLINE_AFTER", "FIELDGATE_NO_FIX_AFTER", "FIELDGATE_HEALTH"):
        monkeypatch.delenv(name, raising=False)
    settings = health_settings_from(parse("--offline-after", "90", "--no-fix-after", "45",
                                          "--max-hdop", "7.5", "--reconnect-count", "4",
                                          "--health-tick", "0.5", "--health-disable",
                                          "clock_drift,checksum_errors"))
    config = settings.to_config()
    assert config.rules["offline"].open_after_s == 90
    assert config.rules["no_fix"].open_after_s == 45
    assert config.rules["poor_accuracy"].max_hdop == 7.5
    assert config.rules["reconnect_storm"].count == 4
    assert not config.rules["clock_drift"].enabled
    assert not config.rules["checksum_errors"].enabled
    assert config.tick_s == 0.5
    assert settings.enabled and settings.offline_sweep


def test_environment_and_file_and_flag_precedence(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "health.toml"
    file.write_text('[rules.no_fix]\nopen_after_s = 600\nclear_after_s = 30\n'
                    '[rules.offline]\nopen_after_s = 900\n'
                    '[models."T55-LITE".poor_accuracy]\nmax_hdop = 9.0\n')
    monkeypatch.setenv("FIELDGATE_HEALTH_CONFIG", str(file))
    monkeypatch.setenv("FIELDGATE_NO_FIX_AFTER", "120")
    monkeypatch.setenv("FIELDGATE_OFFLINE_AFTER", "240")
    config = health_settings_from(parse("--offline-after", "60")).to_config()
    assert config.rules["no_fix"].open_after_s == 120  # env over file
    assert config.rules["no_fix"].clear_after_s == 30  # file over default
    assert config.rules["offline"].open_after_s == 60  # flag over env over file
    assert config.models["T55-LITE"]["poor_accuracy"] == {"max_hdop": 9.0}


def test_disable_health_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDGATE_HEALTH", "0")
    assert not health_settings_from(parse()).enabled
    assert not health_settings_from(parse("--no-offline-sweep")).offline_sweep


@pytest.mark.parametrize(("argv", "message"), [
    (["--offline-after", "-5"], "offline_after"),
    (["--checksum-error-rate", "1.5"], "checksum_error_rate"),
    (["--jump-count", "0"], "jump_count"),
])
def test_invalid_settings_are_one_clear_error(argv: list[str], message: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDGATE_HEALTH_CONFIG", raising=False)
    with pytest.raises(HealthConfigError, match=message):
        health_settings_from(parse(*argv)).to_config()


def test_unknown_rule_or_bad_file_is_refused(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDGATE_HEALTH_CONFIG", raising=False)
    with pytest.raises(HealthConfigError, match="unknown health rule 'power_kut'"):
        health_settings_from(parse("--health-disable", "power_kut")).to_config()
    bad = tmp_path / "bad.toml"
    bad.write_text("[rules.no_fix\n")
    with pytest.raises(HealthConfigError, match="not valid TOML"):
        health_settings_from(parse("--health-config", str(bad))).to_config()
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[rules]\n")
    with pytest.raises(HealthConfigError, match="not valid TOML"):
        health_settings_from(parse("--health-config", str(binary))).to_config()
    typo = tmp_path / "typo.toml"
    typo.write_text("[rules.no_fix]\nopen_after = 5\n")
    with pytest.raises(HealthConfigError, match="unknown threshold.*open_after"):
        health_settings_from(parse("--health-config", str(typo))).to_config()
    with pytest.raises(HealthConfigError, match="cannot read"):
        health_settings_from(parse("--health-config", str(tmp_path / "no.toml"))).to_config()


def _seed(db: DatabaseURL) -> None:
    async def go() -> None:
        async with FaultStore(db=db) as store:
            await store.record([
                FaultEvent(FaultEventKind.OPENED, "A", "no_fix", T0, {"observed": {}}),
                FaultEvent(FaultEventKind.OPENED, "B", "offline", T0, {"observed": {}}),
                FaultEvent(FaultEventKind.CLEARED, "A", "no_fix", T0, {"observed": {}}),
                FaultEvent(FaultEventKind.OPENED, "A", "clock_drift", T0, {"observed": {}}),
            ])
    asyncio.run(go())


def test_faults_list(db: DatabaseURL, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(db)
    assert main(["faults", "list", "--db", str(db), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["terminal_id"], r["rule"], r["state"]) for r in rows] == [
        ("A", "clock_drift", "open"), ("B", "offline", "open"), ("A", "no_fix", "cleared")]
    assert rows[2]["cleared_at"] == "2026-11-30T08:00:00Z"

    assert main(["faults", "list", "--db", str(db), "--json", "--open", "--terminal", "A"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["terminal_id"], r["rule"]) for r in rows] == [("A", "clock_drift")]

    assert main(["faults", "list", "--db", str(db)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["ID", "TERMINAL", "RULE", "STATE", "OPENED", "CLEARED", "TICKET"]
    assert len(table) == 4 and "no_fix" in table[3] and "cleared" in table[3]

    assert main(["faults", "list", "--db", str(db), "--terminal", "nobody"]) == 0
    assert capsys.readouterr().out.strip().endswith("(no faults)")


def test_faults_list_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDGATE_DB", raising=False)
    assert main(["faults", "list"]) == 2
    assert "no database URL" in capsys.readouterr().err
    empty = tmp_path / "empty.db"
    assert main(["faults", "list", "--db", f"sqlite:///{empty}"]) == 2
    assert "cannot read faults" in capsys.readouterr().err
    assert main(["faults", "list", "--db", f"sqlite:///{empty}", "--limit", "0"]) == 2


def test_faults_rules_shows_thresholds_in_effect(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDGATE_HEALTH_CONFIG", raising=False)
    assert main(["faults", "rules", "--json", "--no-fix-after", "42"]) == 0
    rules = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rules["no_fix"]["thresholds"]["open_after_s"] == 42
    assert rules["offline"]["kind"] == "sweep"
    assert main(["faults", "rules", "--offline-after", "-1"]) == 2
    assert "offline_after" in capsys.readouterr().err


def test_faults_tickets_once(db: DatabaseURL, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(db)
    assert main(["faults", "tickets", "--db", str(db), "--once"]) == 0
    done = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(d["terminal_id"], d["kind"], d["outcome"]) for d in done] == [
        ("A", "opened", "no ticket: the terminal is not registered"),
        ("B", "opened", "no ticket: the terminal is not registered"),
        ("A", "cleared", "no ticket: the fault was not linked to one"),
        ("A", "opened", "no ticket: the terminal is not registered"),
    ]
    assert main(["faults", "tickets", "--db", str(db), "--once"]) == 0
    assert capsys.readouterr().out == ""  # each event once
    assert main(["faults", "tickets", "--db", str(db), "--poll", "0"]) == 2
