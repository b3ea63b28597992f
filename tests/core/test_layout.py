"""Every copy the GUI starts keeps the acquisition tree under the destination (core.layout).

Issue 9: the wizard and the reminder's "Back up now" flattened every file into the
destination root; two plates' identically named tiles refused the whole job, or (across
sessions) one plate's tiles were renamed into the other plate's folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.layout import relative_destination
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.preflight import plan_files
from almc_assistant.core.service import Service
from almc_assistant.core.transfer import CopyVerified, JobFinished


def test_relative_to_the_deepest_acquisition_folder() -> None:
    roots = [PurePosixPath("/data"), PurePosixPath("/data/alice")]
    assert relative_destination("/data/bob/p1/r01.tiff", roots) == "bob/p1/r01.tiff"
    assert relative_destination("/data/alice/p1/r01.tiff", roots) == "p1/r01.tiff"
    assert relative_destination("/data/alice/../bob/x.nd2", roots) == "bob/x.nd2"
    assert relative_destination("/media/usb/x.nd2", roots) == "x.nd2"  # outside: its name
    assert relative_destination("/data", roots) == "data"  # a root itself: its name
    assert relative_destination("/data/x.nd2") == "x.nd2"  # no roots: the CLI's rule


def test_preflight_plans_what_the_engine_copies(tmp_path: Path) -> None:
    acq = tmp_path / "acq"
    (acq / "p1").mkdir(parents=True)
    (acq / "p1" / "a.tif").write_bytes(b"a")
    [planned] = plan_files([acq / "p1" / "a.tif"], [acq])
    assert planned.relative.as_posix() == "p1/a.tif"


def _plate(acq: Path, name: str, marker: bytes) -> list[Path]:
    """An Opera Phenix-like export: tiles named the same in every plate."""
    images = acq / "alice" / name / "Images"
    images.mkdir(parents=True)
    files = []
    for tile in ("r01c01f01p01-ch1sk1fk1fl1.tiff", "r01c01f02p01-ch1sk1fk1fl1.tiff"):
        (images / tile).write_bytes(marker + tile.encode())
        files.append(images / tile)
    (images / "Index.idx.xml").write_bytes(b"<index plate='" + marker + b"'/>")
    return [*files, images / "Index.idx.xml"]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Service, ListSink, Path, Path]]:
    acq, bit = tmp_path / "acq", tmp_path / "bit"
    acq.mkdir()
    bit.mkdir()
    paths = AppPaths.under(tmp_path / "home").ensure()
    paths.facility_config.write_text(
        f'[watch]\nfolders = [{str(acq)!r}]\n[[destinations]]\nname = "BIT"\n'
        f'path = {str(bit)!r}\nkind = "institutional"\n'
    )
    sink = ListSink()
    service = Service(paths, sink)
    yield service, sink, acq, bit
    service.stop()


def _copy(service: Service, files: list[Path], bit: Path) -> str:
    job = service.start_copy(files, service.destinations(), keep_tree=True)
    result = job.wait(60)
    assert result is not None and result.error is None, result
    return result.summary.state


def test_two_plates_with_the_same_tile_names_in_one_session(
    site: tuple[Service, ListSink, Path, Path],
) -> None:
    service, sink, acq, bit = site
    files = _plate(acq, "plate1", b"1") + _plate(acq, "plate3", b"3")
    assert _copy(service, files, bit) == "completed"
    for f in files:
        copy = bit / f.relative_to(acq)
        assert copy.read_bytes() == f.read_bytes()
    assert not [p for p in bit.rglob("*") if "almc copy" in p.name]
    verified = sink.of_type(CopyVerified)
    assert {e.copy.path for e in verified} == {bit / f.relative_to(acq) for f in files}


def test_two_plates_across_two_sessions_land_in_their_own_folders(
    site: tuple[Service, ListSink, Path, Path],
) -> None:
    service, sink, acq, bit = site
    plate1 = _plate(acq, "plate1", b"1")
    assert _copy(service, plate1, bit) == "completed"
    plate3 = _plate(acq, "plate3", b"3")
    assert _copy(service, plate3, bit) == "completed"
    for f in plate1 + plate3:
        assert (bit / f.relative_to(acq)).read_bytes() == f.read_bytes()
    # nothing of plate 3 renamed into plate 1's folder: its index points at its own tiles
    assert sorted(p.name for p in (bit / "alice" / "plate1" / "Images").iterdir()) == sorted(
        f.name for f in plate1
    )
    assert [e.summary.state for e in sink.of_type(JobFinished)] == ["completed", "completed"]


def test_without_keep_tree_the_command_line_rule_holds(
    site: tuple[Service, ListSink, Path, Path],
) -> None:
    """``copy SRC --to DEST``: a named source lands under its own name (unchanged)."""
    service, _sink, acq, bit = site
    files = _plate(acq, "plate1", b"1")
    result = service.start_copy([files[0].parent], service.destinations()).wait(60)
    assert result is not None and result.summary.state == "completed"
    assert (bit / "Images" / files[0].name).read_bytes() == files[0].read_bytes()


def test_a_refused_job_says_why_in_its_summary(site: tuple[Service, ListSink, Path, Path]) -> None:
    """Two sources landing at one place: the job is refused, and the summary every
    window sees carries the reason (it used to say "Refused: 0 verified", no reason)."""
    service, sink, acq, _bit = site
    a = _plate(acq, "plate1", b"1")[0]
    b = _plate(acq, "plate3", b"3")[0]
    result = service.start_copy([a, b], service.destinations()).wait(60)  # flat: collide
    assert result is not None and result.summary.state == "refused"
    [finished] = sink.of_type(JobFinished)
    assert finished.summary.error_title == "Sources would overwrite each other"
    assert str(a) in finished.summary.error_detail and finished.summary.error_next_step


def test_two_acquisition_folders_holding_the_same_path_land_under_their_names(
    tmp_path: Path,
) -> None:
    """Two acquisition folders with the same relative path (alice/plate1 on both
    microscopes' disks) made the engine refuse the whole GUI copy job. Where two
    acquisition folders' places meet, each lands under its folder's name."""
    a, b, bit = tmp_path / "confocal", tmp_path / "widefield", tmp_path / "bit"
    bit.mkdir()
    paths = AppPaths.under(tmp_path / "home").ensure()
    paths.facility_config.write_text(
        f'[watch]\nfolders = [{str(a)!r}, {str(b)!r}]\n[[destinations]]\nname = "BIT"\n'
        f'path = {str(bit)!r}\nkind = "institutional"\n'
    )
    files = _plate(a, "plate1", b"A") + _plate(b, "plate1", b"B")
    planned = plan_files(files, [a, b])
    assert planned[0].relative.as_posix() == (
        "confocal/alice/plate1/Images/r01c01f01p01-ch1sk1fk1fl1.tiff"
    )
    sink = ListSink()
    service = Service(paths, sink)
    try:
        assert _copy(service, files, bit) == "completed"
    finally:
        service.stop()
    for f in files:
        root = a if a in f.parents else b
        assert (bit / root.name / f.relative_to(root)).read_bytes() == f.read_bytes()
    # what the preflight planned is where the engine copied
    assert {p.relative.as_posix() for p in planned} == {
        e.copy.relpath for e in sink.of_type(CopyVerified)
    }
    # one folder alone keeps the plain tree, as before
    assert relative_destination(a / "alice" / "x.nd2", [a, b]) == "alice/x.nd2"
