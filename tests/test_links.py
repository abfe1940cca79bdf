"""The signing secret (issue: forgeable links when it was empty): made atomically, never short."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from cascade import i18n
from cascade.cli import app
from cascade.engine.links import MIN_SECRET, Link, SecretInvalid, secret_from, sign

# each process waits for the same instant, then reads (or makes) the secret
READ = (
    "import sys, time; from pathlib import Path; from cascade.engine.links import secret_from\n"
    "start = float(sys.argv[2])\nwhile time.time() < start: pass\n"
    "print(secret_from(None, Path(sys.argv[1])).decode())"
)


def test_processes_starting_together_all_get_the_same_full_secret(tmp_path: Path) -> None:
    """Six processes at the same instant, ten rounds: before, some crashed with FileExistsError
    (14 of 60 here) and some read the file between its creation and its write (an empty key,
    kept for their life)."""
    root = Path(__file__).parent.parent
    for n in range(10):
        folder, start = tmp_path / f"d{n}", time.time() + 0.8
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", READ, str(folder), str(start)],
                cwd=root,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(6)
        ]
        results = [p.communicate(timeout=60) for p in procs]
        assert all(p.returncode == 0 for p in procs), [err.decode()[-300:] for _, err in results]
        secrets_read = {out.decode().strip() for out, _ in results}
        assert len(secrets_read) == 1 and len(secrets_read.pop()) >= MIN_SECRET
        assert (folder / "web-secret").stat().st_mode & 0o077 == 0
        assert [p.name for p in folder.iterdir()] == ["web-secret"]  # no temporary file left behind


def test_an_empty_or_short_secret_is_refused_never_used(tmp_path: Path) -> None:
    (tmp_path / "web-secret").write_text("")  # what a crash or a full disk left
    with pytest.raises(SecretInvalid, match="holds 0 bytes"):
        secret_from(None, tmp_path)
    with pytest.raises(SecretInvalid, match="CASCADE_WEB_SECRET has 5 bytes"):
        secret_from(SecretStr("short"), tmp_path)
    with pytest.raises(SecretInvalid):
        sign(b"", Link("c", "u", "t", 1))  # a link signed with the empty key opened the form
    good = b"x" * MIN_SECRET
    assert sign(good, Link("c", "u", "t", 1)) != sign(good + b"y", Link("c", "u", "t", 1))


def test_cascade_web_refuses_to_start_with_an_empty_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "web-secret").write_text("\n")
    monkeypatch.setenv("CASCADE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CASCADE_WEB_SECRET", raising=False)
    result = CliRunner().invoke(app, ["web", "--port", "0"])
    assert result.exit_code == 1
    assert "web-secret holds 0 bytes" in result.stderr and "Delete it" in result.stderr
    assert "Traceback" not in result.output
    try:  # and in the operator's language
        vietnamese = CliRunner().invoke(app, ["--lang", "vi", "web", "--port", "0"])
    finally:
        i18n.use("en")
    assert vietnamese.exit_code == 1
    assert "web-secret chỉ có 0 byte" in vietnamese.stderr and "Xóa tệp này" in vietnamese.stderr
