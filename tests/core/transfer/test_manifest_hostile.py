"""Issue 9: bad manifests and odd names get a clear message, never a hang, a traceback or
"all good"; non-UTF-8 names are copied and recorded exactly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from almc_assistant.core.errors import AlmcError, UsageError
from almc_assistant.core.events import ListSink
from almc_assistant.core.transfer import CopyVerified, DestinationRefused, verify_destination
from almc_assistant.core.transfer.manifest import Manifest, format_line, load_manifest
from almc_assistant.core.transfer.naming import MANIFEST_NAME
from tests.core.transfer.conftest import copy, digest, write
from tests.portable import WINDOWS


def _copied(tmp_path: Path, n: int = 3) -> Path:
    for i in range(n):
        write(tmp_path / "src" / "run1" / f"f{i}.tif", f"data {i}".encode() * 50)
    dest = tmp_path / "dest"
    result, _ = copy([tmp_path / "src" / "run1"], [dest])
    assert result.summary.ok
    return dest


def _plant(manifest: Path, kind: str) -> None:
    if WINDOWS and kind != "folder":
        pytest.skip("POSIX only: Windows has no FIFOs and no /dev/zero")
    manifest.unlink(missing_ok=True)
    if kind == "folder":
        manifest.mkdir()
    elif kind == "fifo":
        os.mkfifo(manifest)
    else:
        manifest.symlink_to("/dev/zero")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["folder", "fifo", "link to /dev/zero"])
def test_manifest_that_is_not_a_file_is_refused_without_hanging(tmp_path: Path, kind: str) -> None:
    dest = _copied(tmp_path)
    _plant(dest / MANIFEST_NAME, kind)
    with pytest.raises(AlmcError) as err:
        verify_destination(dest, ListSink())
    assert MANIFEST_NAME in err.value.detail and not isinstance(err.value, UsageError)
    write(tmp_path / "src" / "run1" / "new.tif", b"new")
    result, sink = copy([tmp_path / "src" / "run1"], [dest])
    assert not result.summary.ok and not sink.of_type(CopyVerified)
    assert result.error is not None and MANIFEST_NAME in result.error.detail
    assert sink.of_type(DestinationRefused)


def test_empty_manifest_where_copies_were_recorded_is_not_all_good(tmp_path: Path) -> None:
    dest = _copied(tmp_path)
    (dest / MANIFEST_NAME).write_bytes(b"")
    report = verify_destination(dest, ListSink())
    assert not report.ok and report.listed == 0
    assert report.unlisted == ["run1/f0.tif", "run1/f1.tif", "run1/f2.tif"]
    assert len(report.matched) == 3  # what is known: the copies match their receipt


def test_truncated_manifest_is_reported(tmp_path: Path) -> None:
    dest = _copied(tmp_path)
    m = dest / MANIFEST_NAME
    m.write_bytes(m.read_bytes().splitlines(keepends=True)[0])
    report = verify_destination(dest, ListSink())
    assert not report.ok and report.unlisted == ["run1/f1.tif", "run1/f2.tif"]


def test_empty_manifest_without_receipts_is_not_all_good(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_bytes(b"")
    report = verify_destination(tmp_path, ListSink())
    assert not report.ok and report.listed == 0


def test_dot_dot_lines_are_refused_and_never_read(tmp_path: Path) -> None:
    dest = _copied(tmp_path)
    secret = write(tmp_path / "secret.txt", b"outside")
    line = format_line(digest(secret), "../secret.txt").encode()
    with open(dest / MANIFEST_NAME, "ab") as f:
        f.write(line + format_line("00" * 32, "/etc/passwd").encode())
    report = verify_destination(dest, ListSink())
    assert not report.ok and len(report.set_aside) == 2
    assert "leaves the destination" in report.set_aside[0][1]
    assert "absolute" in report.set_aside[1][1]
    assert len(report.matched) == 3 and not report.errors


def test_bom_does_not_drop_the_first_entry(tmp_path: Path) -> None:
    dest = _copied(tmp_path)
    m = dest / MANIFEST_NAME
    m.write_bytes(b"\xef\xbb\xbf" + m.read_bytes())
    report = verify_destination(dest, ListSink())
    assert report.ok and len(report.matched) == 3


def test_torn_last_line_is_fenced_off_before_the_next_append(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    m.record("a.tif", "11" * 32)
    with open(tmp_path / MANIFEST_NAME, "ab") as f:
        f.write(b"22" * 20)  # a crash mid-line
    m2 = Manifest(tmp_path)
    m2.record("b.tif", "33" * 32)
    loaded = load_manifest(tmp_path)
    assert loaded.entries == {"a.tif": "11" * 32, "b.tif": "33" * 32}
    assert [why for _, why in loaded.set_aside] == ["not a manifest line"]
    assert (tmp_path / MANIFEST_NAME).read_bytes().endswith(b"  b.tif\n")


@pytest.mark.root
def test_disk_full_while_appending_leaves_no_torn_line(tmp_path: Path, tmpfs: object) -> None:
    mnt = tmpfs("64k")  # type: ignore[operator]
    m = Manifest(mnt)
    m.record("a.tif", "11" * 32)
    filler = mnt / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"x" * 512)
        except OSError:
            pass
    before = (mnt / MANIFEST_NAME).read_bytes()
    m.record_many([(f"long/{'n' * 200}-{i}.tif", "22" * 32) for i in range(100)])
    assert m.problem is not None  # kept for the end of the job, the copies stand
    assert (mnt / MANIFEST_NAME).read_bytes() == before  # the short write was cut away
    assert load_manifest(mnt).set_aside == []
    filler.unlink()  # room again: the end of the job writes the lines that were missing
    m.close()
    assert len(load_manifest(mnt).entries) == 101 and m.problem is None


@pytest.mark.skipif(
    WINDOWS,
    reason="POSIX only: Windows file names are UTF-16, a name cannot hold bytes that are not UTF-8",
)
def test_non_utf8_names_are_copied_and_recorded(tmp_path: Path) -> None:
    raw = b"plate\xff\xfe-01.tif"
    run = tmp_path / "src" / "run1"
    run.mkdir(parents=True)
    name = os.fsdecode(raw)
    (run / name).write_bytes(b"pixels" * 100)
    (run / "ok.tif").write_bytes(b"fine")
    dest = tmp_path / "dest"
    result, sink = copy([run], [dest])
    assert result.summary.ok and len(sink.of_type(CopyVerified)) == 2
    assert (dest / "run1" / name).read_bytes() == b"pixels" * 100
    (receipt,) = result.summary.receipts
    rows = json.loads(Path(receipt).read_text(encoding="utf-8"))["verified"]
    assert {os.fsencode(r["relative_path"]) for r in rows} == {b"run1/" + raw, b"run1/ok.tif"}
    assert not list((dest / "almc-receipts").glob("*.tmp"))
    (dest / MANIFEST_NAME).read_bytes().decode("utf-8")  # valid UTF-8 throughout
    report = verify_destination(dest, ListSink())
    assert report.ok and len(report.matched) == 2 and not report.extra
    if shutil.which("b3sum") is None:
        pytest.skip("b3sum is not installed (apt-get install b3sum)")
    checked = subprocess.run(
        ["b3sum", "--check", MANIFEST_NAME], cwd=dest, capture_output=True, text=True
    )
    # b3sum reads the whole manifest: the UTF-8 name checks OK, the other one is the
    # line b3sum itself cannot check (its own convention for such names)
    assert "run1/ok.tif: OK" in checked.stdout
    assert "replacement character" in checked.stderr


def test_copy_replaced_by_a_link_to_the_source_is_not_a_match(tmp_path: Path) -> None:
    dest = _copied(tmp_path)
    copy_ = dest / "run1" / "f0.tif"
    copy_.unlink()
    copy_.symlink_to(tmp_path / "src" / "run1" / "f0.tif")
    report = verify_destination(dest, ListSink())
    assert not report.ok and [r for r, _ in report.errors] == ["run1/f0.tif"]
    assert "link" in report.errors[0][1] and len(report.matched) == 2


@pytest.mark.parametrize("grouped", [True, False])
def test_lock_file_planted_as_a_link_is_refused_clearly(tmp_path: Path, grouped: bool) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    victim = write(tmp_path / "victim.txt", b"untouched")
    (dest / ".almc-lock").symlink_to(victim)
    write(tmp_path / "src" / "run1" / "a.tif", b"a")
    result, sink = copy([tmp_path / "src" / "run1"], [dest], group_small_files=grouped)
    assert result.error is not None and ".almc-lock" in result.error.detail
    assert sink.of_type(DestinationRefused) and not sink.of_type(CopyVerified)
    assert victim.read_bytes() == b"untouched"
