"""``fieldgate db``: migrations and the TimescaleDB policies, as operators run them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldgate.cli import main
from fieldgate.dburl import DatabaseURL


def test_upgrade_then_current_on_a_new_sqlite_file(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path}/sub/dir/new.db"
    assert main(["db", "upgrade", "--db", url]) == 0
    assert main(["db", "current", "--db", url]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    head = out[-1]
    assert head != "(empty database)"
    assert out[0].endswith(f"is at {head} (asked for head)")
    # an older revision than the current one changes nothing, and says so truthfully
    assert main(["db", "upgrade", "--db", url, "--revision", "0001"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"is at {head} (asked for 0001)")


def test_timescale_policies_change_nothing_on_plain_postgresql(db: DatabaseURL,
                                                               capsys) -> None:
    assert main(["db", "timescale", "--db", str(db), "--compress-after", "7",
                 "--retain", "365"]) == 0
    out = capsys.readouterr().out
    assert "nothing changed" in out


def test_bad_arguments_are_one_clear_line(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["db", "timescale", "--db", "sqlite:///x.db", "--retain", "-3"])
    assert exit_.value.code == 2
    assert "days cannot be negative" in capsys.readouterr().err
    assert main(["db", "upgrade", "--db", "mysql://x@y/z"]) == 2
    assert "unsupported database URL" in capsys.readouterr().err


def test_retention_past_timedelta_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["db", "timescale", "--db", "sqlite:///x.db", "--retain", "99999999999999999"])
    assert exit_.value.code == 2
    assert "at most 999999999 days" in capsys.readouterr().err


@pytest.mark.parametrize(("action", "url", "message"), [
    (["upgrade"], "postgresql://nobody@127.0.0.1:1/none", "Connection refused"),
    (["current"], "postgresql://nobody@127.0.0.1:1/none", "Connection refused"),
    (["upgrade", "--revision", "nosuch"], "sqlite:///{tmp}/x.db", "Can't locate revision"),
    (["upgrade"], "sqlite:///{tmp}/not-a-db.txt", "file is not a database"),
    (["current"], "sqlite:///{tmp}/not-a-db.txt", "file is not a database"),
    (["upgrade"], "sqlite:///{tmp}/not-a-db.txt/sub/x.db", "Not a directory"),
])
def test_database_errors_are_one_clear_line(tmp_path: Path, capsys, action: list[str],
                                            url: str, message: str) -> None:
    (tmp_path / "not-a-db.txt").write_text("these are not the tables you are looking for\n" * 20)
    url = url.format(tmp=tmp_path)
    assert main(["db", *action, "--db", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fieldgate db: {url}: ") and message in err
    assert len(err.splitlines()) == 1
