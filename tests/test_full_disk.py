"""A disk that fills up, for real: a small tmpfs mounted for the test (as root; skipped where
mounting is not allowed), the store on it, the real `cascade` command. In WAL mode SQLite
says "disk I/O error", not "disk is full", when the full disk refuses its log: the operator
read "the store failed (disk I/O error)" and was not told the disk was full."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from cascade.engine import faults
from cascade.engine.faults import StoreFault
from tests.test_hardening import run_main

CAMPAIGN = str(Path(__file__).parent.parent / "campaigns" / "ha-tinh-xix-2020.yaml")


def _io_error() -> OperationalError:
    return OperationalError("INSERT ...", {}, Exception("disk I/O error"))


def test_a_disk_io_error_on_a_disk_with_no_room_is_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cascade.db'}"
    monkeypatch.setattr(faults.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10, 10, 0))  # type: ignore[attr-defined]
    full = StoreFault.of(_io_error(), url)
    assert full.full and "the disk is full; nothing was written" in str(full)
    monkeypatch.setattr(
        faults.shutil,
        "disk_usage",
        lambda path: shutil._ntuple_diskusage(10**12, 10**9, 10**11),  # type: ignore[attr-defined]
    )
    failing = StoreFault.of(_io_error(), url)
    assert not failing.full
    assert "the disk failed to read or write the store (disk I/O error)" in str(failing)
    assert "Check the disk (its free space, the system log)" in str(failing)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (as root it can): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> None:
    with open(disk / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass


def test_a_full_disk_is_told_as_one_and_the_store_is_intact_once_there_is_room(small_disk: Path) -> None:
    env = {"CASCADE_DATA_DIR": str(small_disk / "data"), "CASCADE_LANG": "en", "CASCADE_DATABASE_URL": ""}
    deployed = run_main(["deploy", CAMPAIGN], env)
    assert deployed.returncode == 0, deployed.stderr
    _fill(small_disk)
    for command in (
        ["tick", "ha-tinh-xix-2020", "--now", "2020-12-10 08:00"],
        [
            "signal",
            "ha-tinh-xix-2020",
            "tu-ha-tinh",
            "hn-tinh",
            "--at",
            "18/11/2020 10:00",
            "-f",
            "attendees=450",
        ],
    ):
        result = run_main(command, env)
        said = " ".join(result.stderr.split())
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert (
            f"store error: {small_disk / 'data' / 'cascade.db'}: the disk is full; nothing was written"
            in said
        )
    (small_disk / "filler").unlink()
    ticked = run_main(["tick", "ha-tinh-xix-2020", "--now", "2020-12-10 08:00"], env)
    assert ticked.returncode == 0 and "opened 7" in ticked.stderr, ticked.stderr
    doctor = run_main(["doctor"], env)
    assert "✓ store integrity: sound" in doctor.stdout, doctor.stdout


def test_a_simulation_on_a_full_disk_says_so_and_gives_the_room_back(
    small_disk: Path, tmp_path: Path
) -> None:
    temporary = small_disk / "tmp"
    temporary.mkdir()
    env = {"TMPDIR": str(temporary), "CASCADE_DATA_DIR": str(tmp_path / "data"), "CASCADE_LANG": "en"}
    signals = str(Path(__file__).parent / "scenarios" / "ha-tinh-xix-2020.signals.yaml")
    (small_disk / "filler").write_bytes(b"\0" * (2 * 1024 * 1024 + 512 * 1024))  # 0.5 MB left
    result = run_main(["simulate", CAMPAIGN, "--signals", signals], env)
    said = " ".join(result.stderr.split())
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"the disk of the simulation's temporary store ({temporary}) is full" in said, said
    assert list(temporary.iterdir()) == []
