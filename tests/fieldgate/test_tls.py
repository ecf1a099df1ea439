"""HTTPS for tablets on a LAN (a service worker and the camera need a secure context):
``fieldgate api`` and ``serve`` with ``--tls-cert/--tls-key``, through real processes and a
real TLS handshake against a certificate made for the test."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fieldgate.cli import main
from fieldgate.dburl import DatabaseURL
from tests import servers
from tests.servers import free_port, wait_for_port


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("command", [["api"], ["serve", "--tcp", "127.0.0.1:0"]])
def test_https_with_the_given_certificate(command: list[str], sqlite_db: DatabaseURL,
                                          certificate: tuple[Path, Path],
                                          tmp_path: Path) -> None:
    cert, key = certificate
    port = free_port()
    env = {**servers.clean_env(), "FIELDGATE_SPOOL_DIR": str(tmp_path / "spool")}
    proc = subprocess.Popen([sys.executable, "-m", "fieldgate", *command, "--db", str(sqlite_db),
                             "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with servers.stopped_by_sigterm(proc) as stopped:
        wait_for_port("127.0.0.1", port, timeout=30)
        trust = ssl.create_default_context(cafile=str(cert))
        answer = httpx.get(f"https://127.0.0.1:{port}/health", verify=trust)
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
        page = httpx.get(f"https://127.0.0.1:{port}/", verify=trust)
        assert "/static/js/main.js" in page.text
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not served on that port
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    # uvicorn (fieldgate api) re-raises the SIGTERM it handled after a graceful shutdown
    assert stopped.returncode in (0, -signal.SIGTERM), stopped.err
    if stopped.returncode:
        assert "Application shutdown complete" in stopped.err


@pytest.mark.parametrize(("flags", "message"), [
    (["--tls-cert", "{cert}"], "--tls-cert and --tls-key go together"),
    (["--tls-cert", "{missing}", "--tls-key", "{key}"], "cannot use"),
    (["--tls-cert", "{key}", "--tls-key", "{cert}"], "cannot use"),
])
@pytest.mark.parametrize("command", ["api", "serve"])
def test_bad_tls_files_are_one_clear_error(command: str, flags: list[str], message: str,
                                           sqlite_db: DatabaseURL,
                                           certificate: tuple[Path, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FIELDGATE_"):
            monkeypatch.delenv(name)
    cert, key = certificate
    values = {"cert": str(cert), "key": str(key), "missing": str(tmp_path / "none.pem")}
    argv = [command, "--db", str(sqlite_db), "--port", str(free_port()),
            *[f.format(**values) for f in flags]]
    if command == "serve":
        argv += ["--tcp", "127.0.0.1:0", "--spool-dir", str(tmp_path / "spool")]
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err
