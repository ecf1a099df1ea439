import pytest

from fieldgate.dburl import DatabaseKind, DatabaseURL, DatabaseURLError


@pytest.mark.parametrize(
    ("url", "kind", "target"),
    [
        ("postgresql://fg@127.0.0.1:5432/fleet", DatabaseKind.POSTGRESQL,
         "postgresql://fg@127.0.0.1:5432/fleet"),
        ("postgres://fg@db/fleet", DatabaseKind.POSTGRESQL, "postgresql://fg@db/fleet"),
        ("postgresql+psycopg://fg@db/fleet", DatabaseKind.POSTGRESQL, "postgresql://fg@db/fleet"),
        ("sqlite:///var/fieldgate.db", DatabaseKind.SQLITE, "var/fieldgate.db"),
        ("sqlite:////abs/fieldgate.db", DatabaseKind.SQLITE, "/abs/fieldgate.db"),
    ],
)
def test_parse(url: str, kind: DatabaseKind, target: str) -> None:
    parsed = DatabaseURL.parse(url)
    assert parsed.kind is kind
    assert parsed.target == target


def test_driver_forms() -> None:
    pg = DatabaseURL.parse("postgresql://fg@127.0.0.1/fleet")
    assert pg.sqlalchemy_url(asynchronous=True) == "postgresql+psycopg://fg@127.0.0.1/fleet"
    assert pg.conninfo == "postgresql://fg@127.0.0.1/fleet"
    lite = DatabaseURL.parse("sqlite:////tmp/a.db")
    assert lite.sqlalchemy_url(asynchronous=True) == "sqlite+aiosqlite:////tmp/a.db"
    assert lite.sqlalchemy_url(asynchronous=False) == "sqlite+pysqlite:////tmp/a.db"
    assert str(lite.sqlite_path) == "/tmp/a.db"
    with pytest.raises(DatabaseURLError):
        _ = lite.conninfo


@pytest.mark.parametrize(
    "url", ["", "mysql://x@y/z", "sqlite://", "sqlite:///", "sqlite:///:memory:", "postgresql://",
            "/just/a/path.db"],
)
def test_rejects_with_a_clear_message(url: str) -> None:
    with pytest.raises(DatabaseURLError, match=r"URL|database"):
        DatabaseURL.parse(url)
