"""The initial scan: reconciling the folders with what the catalog knew."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from almc_assistant.core.watch import (
    FileAppeared,
    FileChanged,
    FileDeleted,
    FileMoved,
    FileStabilised,
    FolderAvailable,
    FolderUnavailable,
    ManualClock,
    ScanFinished,
    Watcher,
    WatchFailed,
)
from tests.core.watch.helpers import CatalogStub, signature, write_file

QUIET = 60.0


def kinds(cat: CatalogStub) -> list[tuple[str, str]]:
    """(event name, file name) pairs, in order, for readable assertions."""
    out = []
    for e in cat.events:
        path = getattr(e, "path", None) or getattr(e, "dest", None) or getattr(e, "folder", None)
        out.append((type(e).__name__, Path(str(path)).name))
    return out


def test_new_changed_deleted_and_unchanged_files_vs_the_catalog(tmp_path: Path) -> None:
    unchanged = write_file(tmp_path / "day1" / "unchanged.nd2", 10, old=True)
    changed = write_file(tmp_path / "day1" / "changed.nd2", 10, old=True)
    write_file(tmp_path / "day2" / "new_quiet.tif", 7, old=True)
    new_recent = write_file(tmp_path / "new_recent.tif", 8)
    known = {
        unchanged: signature(unchanged),
        changed: (5, signature(changed)[1]),
        tmp_path / "day1" / "deleted.nd2": (3, 1),
        Path("/elsewhere/not-ours.nd2"): (1, 1),  # outside the folder: ignored
    }
    cat, clock = CatalogStub(), ManualClock()
    watcher = Watcher([tmp_path], cat, quiet_seconds=QUIET, clock=clock)
    watcher.scan(known)

    got = sorted(kinds(cat))
    assert got == sorted(
        [
            ("FileChanged", "changed.nd2"),
            ("FileStabilised", "changed.nd2"),
            ("FileAppeared", "new_quiet.tif"),
            ("FileStabilised", "new_quiet.tif"),
            ("FileAppeared", "new_recent.tif"),
            ("FileDeleted", "deleted.nd2"),
            ("ScanFinished", tmp_path.name),
        ]
    )
    assert not any(e for e in cat.events if getattr(e, "path", None) == unchanged)
    [finished] = cat.of_type(ScanFinished)
    assert finished.files == 4 and finished.folder == tmp_path and finished.seconds >= 0
    assert [p.path for p in watcher.pending()] == [new_recent]

    clock.advance(QUIET + 1)
    watcher.check_stability()
    assert cat.count(FileStabilised, path=new_recent, size=8) == 1


def test_a_second_scan_with_the_catalog_up_to_date_says_nothing_new(tmp_path: Path) -> None:
    for i in range(50):
        write_file(tmp_path / f"s{i % 5}" / f"f{i}.tif", i + 1, old=True)
    cat = CatalogStub()
    watcher = Watcher([tmp_path], cat, quiet_seconds=QUIET, clock=ManualClock())
    watcher.scan(cat.known)
    assert cat.count(FileStabilised) == 50
    before = len(cat.events)
    watcher.scan(cat.known)
    assert [type(e) for e in cat.events[before:]] == [ScanFinished]


def test_renames_while_the_app_was_not_running_are_moves(tmp_path: Path) -> None:
    renamed = write_file(tmp_path / "sorted" / "cells_final.nd2", 1234, old=True)
    twin_a = write_file(tmp_path / "twin_a.tif", 50, old=True)
    twin_b = write_file(tmp_path / "twin_b.tif", 50, old=True)  # same size and mtime
    known = {
        tmp_path / "cells.nd2": signature(renamed),
        tmp_path / "old_twin_a.tif": signature(twin_a),
        tmp_path / "old_twin_b.tif": signature(twin_b),
    }
    cat = CatalogStub()
    Watcher([tmp_path], cat, quiet_seconds=QUIET, clock=ManualClock()).scan(known)
    [moved] = cat.of_type(FileMoved)
    assert (moved.src, moved.dest, moved.size) == (tmp_path / "cells.nd2", renamed, 1234)
    # Two identical candidates cannot be told apart: deleted + appeared, never a guess.
    assert cat.count(FileDeleted) == 2 and cat.count(FileAppeared) == 2
    assert not any(e.path == renamed for e in cat.of_type(FileAppeared))


def test_symbolic_link_loops_and_links_out_of_the_tree_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "acq"
    real = write_file(root / "sub" / "real.nd2", old=True)
    (root / "sub" / "loop").symlink_to(root)
    (root / "outside").symlink_to("/usr")
    (root / "link.nd2").symlink_to(real)
    cat = CatalogStub()
    Watcher([root], cat, quiet_seconds=QUIET, clock=ManualClock()).scan({})
    assert cat.states() == {real: "complete"}
    assert cat.of_type(ScanFinished)[0].files == 1


def test_clutter_and_ignored_folders_are_not_reported(tmp_path: Path) -> None:
    keep = write_file(tmp_path / "a.nd2", old=True)
    write_file(tmp_path / ".almc-partial-a.nd2", old=True)
    write_file(tmp_path / "Thumbs.db", old=True)
    write_file(tmp_path / "$RECYCLE.BIN" / "deleted.nd2", old=True)
    write_file(tmp_path / "logs" / "run.log", old=True)
    cat = CatalogStub()
    watcher = Watcher(
        [tmp_path], cat, quiet_seconds=QUIET, clock=ManualClock(), ignore=lambda p: p.name == "logs"
    )
    watcher.scan({})
    assert cat.states() == {keep: "complete"}


def test_a_missing_folder_is_unavailable_and_its_files_are_not_deleted(tmp_path: Path) -> None:
    folder = tmp_path / "usb" / "acq"
    known = {folder / "a.nd2": (10, 1), folder / "b.nd2": (10, 2)}
    cat, clock = CatalogStub(), ManualClock()
    watcher = Watcher([folder], cat, quiet_seconds=QUIET, clock=clock, retry_interval=5)
    watcher.scan(known)
    [unavailable] = cat.of_type(FolderUnavailable)
    assert unavailable.folder == folder and "does not exist" in unavailable.reason
    assert not cat.of_type(FileDeleted)
    watcher.check_stability()
    assert len(cat.of_type(FolderUnavailable)) == 1  # said once, not every tick

    a = write_file(folder / "a.nd2", old=True)  # the drive is back, b.nd2 is gone
    clock.advance(6)
    watcher.check_stability()
    assert cat.count(FolderAvailable, folder=folder) == 1
    assert cat.count(FileDeleted, path=folder / "b.nd2") == 1
    assert cat.count(FileChanged, path=a) == 1  # differs from what the catalog had


def test_a_catalog_that_cannot_answer_is_reported_and_nothing_is_guessed(tmp_path: Path) -> None:
    write_file(tmp_path / "a.nd2", old=True)

    def broken(folder: Path) -> dict[Path, tuple[int, int]]:
        raise RuntimeError("database is locked")

    cat = CatalogStub()
    Watcher([tmp_path], cat, quiet_seconds=QUIET, clock=ManualClock()).scan(broken)
    [failure] = cat.events
    assert isinstance(failure, WatchFailed)
    assert "database is locked" in failure.detail and failure.folder == tmp_path


def test_nested_and_repeated_folders_are_watched_once(tmp_path: Path) -> None:
    write_file(tmp_path / "sub" / "a.nd2", old=True)
    cat = CatalogStub()
    watcher = Watcher(
        [tmp_path / "sub", tmp_path, Path(str(tmp_path) + "/./")], cat, clock=ManualClock()
    )
    assert watcher.folders == (tmp_path,)
    watcher.scan({})
    assert cat.count(FileAppeared) == 1


# ---------------------------------------------------------------- permission denied
@pytest.fixture
def shared_tree() -> Iterator[Path]:
    """A tree an unprivileged user can reach (pytest's tmp_path is private to root)."""
    base = Path(tempfile.mkdtemp(prefix="almc-watch-perm-"))
    base.chmod(0o755)
    private = [p for p in base.parents if not p.stat().st_mode & stat.S_IXOTH]
    if private:  # e.g. a chroot made under a private temporary folder ("/" is 0700)
        base.rmdir()
        pytest.skip(f"an unprivileged user cannot reach {base}: {private[-1]} is private")
    yield base
    for dirpath, dirnames, _ in os.walk(base):
        for d in dirnames:
            (Path(dirpath) / d).chmod(0o755)
    shutil.rmtree(base)


def _scan_as_unprivileged(root: Path, known: dict[Path, tuple[int, int]]) -> list[dict[str, str]]:
    """Scan ``root`` in a child process that cannot read everything; events as dicts."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop privileges when root (root reads everything), then scan
        code = 1
        try:
            os.close(read_fd)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            cat = CatalogStub()
            Watcher([root], cat, quiet_seconds=QUIET, clock=ManualClock()).scan(known)
            rows = [
                {"kind": type(e).__name__}
                | {
                    k: str(getattr(e, k))
                    for k in ("path", "folder", "title", "detail", "reason")
                    if hasattr(e, k)
                }
                for e in cat.events
            ]
            os.write(write_fd, json.dumps(rows).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the unprivileged scan failed"
    return json.loads(data)  # type: ignore[no-any-return]


def test_an_unreadable_subfolder_is_reported_and_its_files_are_not_deleted(
    shared_tree: Path,
) -> None:
    public = write_file(shared_tree / "public" / "a.tif", old=True)
    secret = shared_tree / "secret"
    write_file(secret / "b.tif", old=True)
    for p in (shared_tree / "public", public):
        p.chmod(0o755 if p.is_dir() else 0o644)
    secret.chmod(0o700)
    if os.geteuid() != 0:
        secret.chmod(0o000)
    known = {
        secret / "b.tif": (100, 1),
        shared_tree / "public" / "gone.tif": (5, 1),
    }
    rows = _scan_as_unprivileged(shared_tree, known)
    failures = [r for r in rows if r["kind"] == "WatchFailed"]
    assert len(failures) == 1
    assert failures[0]["folder"] == str(secret)
    assert "secret" in failures[0]["title"] and "permission denied" in failures[0]["detail"]
    deleted = {r["path"] for r in rows if r["kind"] == "FileDeleted"}
    assert deleted == {str(shared_tree / "public" / "gone.tif")}
    assert {"kind": "FileAppeared", "path": str(public)} in [
        {k: r[k] for k in ("kind", "path")} for r in rows if "path" in r
    ]


def test_an_unreadable_watched_folder_is_unavailable_with_a_clear_reason(
    shared_tree: Path,
) -> None:
    locked = shared_tree / "locked"
    write_file(locked / "a.tif", old=True)
    locked.chmod(0o700 if os.geteuid() == 0 else 0o000)
    rows = _scan_as_unprivileged(locked, {locked / "a.tif": (100, 1)})
    assert [r["kind"] for r in rows] == ["FolderUnavailable"]
    assert rows[0]["folder"] == str(locked) and "permission denied" in rows[0]["reason"]
