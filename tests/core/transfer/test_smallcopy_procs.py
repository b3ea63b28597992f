"""Issue 17, fifth pass: groups of small files copied by real worker processes
(``core.smallcopy``, spawn), verified from storage, published by the parent; a child
killed mid-group fails its group's files clearly and the job goes on; cancel works."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3
import pytest

from almc_assistant.core import smallcopy
from almc_assistant.core.events import ListSink
from almc_assistant.core.rawio import load_syncfs
from almc_assistant.core.transfer import (
    READ_BACK_EVICTED,
    READ_BACK_IN_MEMORY,
    CopyFailed,
    CopyRequest,
    CopyVerified,
    start_copy,
)
from almc_assistant.core.transfer import job as job_module
from tests.core.transfer.conftest import copy, flip_on_device, partials, tree_files, write

pytestmark = pytest.mark.skipif(
    not smallcopy.available(), reason="worker processes copy small files on Linux (syncfs)"
)


class Calls:
    """Every group sent to a worker process (the real ``Helper.copy`` runs)."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.pids: set[int] = set()
        self.lock = threading.Lock()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    seen = Calls()
    real = smallcopy.Helper.copy

    def counted(self: smallcopy.Helper, request: smallcopy.Request) -> Any:
        self.start()
        with seen.lock:
            seen.groups.append([spec[0] for spec in request[1]])
            if self.pid is not None:
                seen.pids.add(self.pid)
        return real(self, request)

    monkeypatch.setattr(smallcopy.Helper, "copy", counted)
    yield seen


def _tree(root: Path, n: int, folders: int = 5) -> Path:
    for i in range(n):
        write(root / f"w{i % folders}" / f"f{i:04d}.tif", os.urandom(500 + (i * 37) % 9000))
    return root


def _dests(tmp_path: Path, tmpfs: Any) -> list[Path]:
    """Two destinations on two real file systems when root may mount a tmpfs."""
    try:
        second = tmpfs("64m") / "d2"
    except pytest.skip.Exception:
        second = tmp_path / "d2"
    return [tmp_path / "d1", second]


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def test_small_files_are_copied_and_verified_by_worker_processes(
    tmp_path: Path, tmpfs: Any, calls: Calls
) -> None:
    run = _tree(tmp_path / "src" / "run1", 300)
    dests = _dests(tmp_path, tmpfs)
    result, sink = copy([run], dests, processes=2, group_files=16)
    assert result.summary.ok and result.summary.workers == 2
    assert len(sink.of_type(CopyVerified)) == 600
    assert sum(len(g) for g in calls.groups) == 300  # every file went to a child
    assert len(calls.pids) == 2 and os.getpid() not in calls.pids
    assert all(_gone(pid) for pid in calls.pids)  # stopped and reaped at the job's end
    for dest in dests:
        assert partials(dest) == []
        assert tree_files(dest / "run1") == tree_files(run)
        manifest = (dest / "almc-manifest.b3sum").read_text().splitlines()
        assert len(manifest) == 300
    for e in sink.of_type(CopyVerified):
        on_disk = e.copy.destination_root == dests[0] or dests[1].parent == tmp_path
        assert e.copy.read_back == (READ_BACK_EVICTED if on_disk else READ_BACK_IN_MEMORY)
        assert e.copy.blake3 == blake3.blake3(e.copy.source.read_bytes()).hexdigest()
        assert Path(e.copy.path).stat().st_mtime_ns == e.copy.source.stat().st_mtime_ns


def test_a_small_job_keeps_threads_and_a_large_one_starts_processes(
    tmp_path: Path, calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Automatic: processes only for a job with enough small files to pay for them."""
    monkeypatch.setattr(job_module, "PROCESS_MIN_FILES", 50)
    small = _tree(tmp_path / "src" / "small", 49)
    result, _ = copy([small], [tmp_path / "d1"])
    assert result.summary.ok and calls.groups == []
    large = _tree(tmp_path / "src" / "large", 50)
    result, sink = copy([large], [tmp_path / "d2"])
    assert result.summary.ok and len(sink.of_type(CopyVerified)) == 50
    assert sum(len(g) for g in calls.groups) == 50
    result, _ = copy([large], [tmp_path / "d3"], processes=0)  # threads only, as asked
    assert result.summary.ok and sum(len(g) for g in calls.groups) == 50


def test_a_rerun_adopts_what_is_there_on_threads(tmp_path: Path, calls: Calls) -> None:
    """Adoption stays on threads; a rerun adopts what is there by reading it back."""
    run = _tree(tmp_path / "src" / "run1", 40)
    dest = tmp_path / "d1"
    first, _ = copy([run], [dest], processes=1)
    assert first.summary.ok and first.summary.verified == 40
    sent = sum(len(g) for g in calls.groups)
    again, sink = copy([run], [dest], processes=1)
    assert again.summary.ok and again.summary.verified == 0 and len(sink.events) > 0
    assert sum(len(g) for g in calls.groups) == sent  # nothing new was written
    assert partials(dest) == []


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="kills a child with SIGKILL")
def test_a_child_killed_mid_group_fails_its_files_and_the_job_goes_on(
    tmp_path: Path, tmpfs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child stops itself after writing the partials of one file of the second group
    (the request's test seam); the test kills it (SIGKILL) while its partials are on disk.
    That group's files fail at each destination with a clear error and next step, their
    partials are removed, none gets a final name; a new child copies everything else."""
    run = _tree(tmp_path / "src" / "run1", 200)
    dests = _dests(tmp_path, tmpfs)
    real = smallcopy.Helper.copy
    killed: dict[str, Any] = {}
    sent = [0]

    def kill_mid_group(self: smallcopy.Helper, request: smallcopy.Request) -> Any:
        sent[0] += 1
        if sent[0] != 2:
            return real(self, request)
        folders, specs, _ = request
        victim = specs[len(specs) // 2][0]
        self.start()
        pid = self.pid
        assert pid is not None

        def kill_when_stopped() -> None:
            while _state(pid) != "T":  # waits for the seam's SIGSTOP (no time limit)
                threading.Event().wait(0.01)
            killed["partials"] = [p for d in dests for p in partials(d)]
            killed["group"] = {Path(s[0]).name for s in specs}
            os.kill(pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_when_stopped)
        killer.start()
        try:
            return real(self, (folders, specs, victim))
        finally:
            killer.join()

    monkeypatch.setattr(smallcopy.Helper, "copy", kill_mid_group)
    result, sink = copy([run], dests, processes=1, group_files=20)
    group: set[str] = killed["group"]
    assert len(group) == 20 and killed["partials"]  # killed with partials on disk
    failed = sink.of_type(CopyFailed)
    assert {f.source.name for f in failed} == group
    assert len(failed) == 2 * len(group)  # at each destination
    for f in failed:
        assert f.title == "Copy helper stopped" and "exit code -9" in f.detail
        assert str(f.source) in f.detail and f.next_step.startswith("Copy again")
    assert result.summary.state == "completed with problems"
    assert len(sink.of_type(CopyVerified)) == 2 * (200 - len(group))
    for dest in dests:
        assert partials(dest) == []
        copied = tree_files(dest / "run1")
        assert {Path(k).name for k in copied} == {f"f{i:04d}.tif" for i in range(200)} - group
        for rel, data in copied.items():
            assert data == (run / rel).read_bytes()


def _state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0]


def test_cancel_mid_job_with_processes_leaves_verified_files_only(
    tmp_path: Path, calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _tree(tmp_path / "src" / "run1", 400)
    dest = tmp_path / "d1"
    sink = ListSink()
    real = smallcopy.Helper.copy
    holder: dict[str, Any] = {}
    sent = [0]

    def cancel_on_third(self: smallcopy.Helper, request: smallcopy.Request) -> Any:
        sent[0] += 1
        if sent[0] == 3:
            holder["job"].cancel()
        return real(self, request)

    monkeypatch.setattr(smallcopy.Helper, "copy", cancel_on_third)
    request = CopyRequest(
        sources=[run], destinations=[dest], create_missing=True, processes=1, group_files=16
    )
    holder["job"] = start_copy(request, sink)
    result = holder["job"].wait(120)
    assert result is not None and result.summary.state == "cancelled"
    assert partials(dest) == []
    copied = tree_files(dest / "run1")
    assert 0 < len(copied) < 400
    manifest: dict[str, str] = {}
    for line in (dest / "almc-manifest.b3sum").read_text().splitlines():
        hexdigest, rel = line.split("  ", 1)
        manifest[rel] = hexdigest
    for rel, data in copied.items():  # every final name holds verified, recorded bytes
        assert data == (run / rel).read_bytes()
        assert manifest[f"run1/{rel}"] == blake3.blake3(data).hexdigest()
    assert all(_gone(pid) for pid in calls.pids)


def _copy_in_a_daemon(src: str, dest: str, conn: Any) -> None:
    from almc_assistant.core.transfer import run_copy

    sent: list[int] = []
    real = smallcopy.Helper.copy

    def counted(self: smallcopy.Helper, request: smallcopy.Request) -> Any:
        sent.append(len(request[1]))
        return real(self, request)

    smallcopy.Helper.copy = counted  # type: ignore[method-assign]
    request = CopyRequest(
        sources=[Path(src)], destinations=[Path(dest)], create_missing=True, processes=2
    )
    result = run_copy(request, ListSink())
    conn.send((result.summary.state, result.summary.verified, sum(sent)))


def test_the_apps_engine_a_daemonic_process_starts_its_helpers(tmp_path: Path) -> None:
    """The app runs the engine in a daemonic spawn child (``service_process``), which
    ``multiprocessing`` forbids children by default: its jobs still get their helpers."""
    import multiprocessing

    run = _tree(tmp_path / "src" / "run1", 60)
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    engine = ctx.Process(
        target=_copy_in_a_daemon, args=(str(run), str(tmp_path / "d1"), theirs), daemon=True
    )
    engine.start()
    theirs.close()
    try:
        assert ours.recv() == ("completed", 60, 60)
    finally:
        engine.join(60)
    assert tree_files(tmp_path / "d1" / "run1") == tree_files(run)


def test_the_childs_read_back_catches_bytes_changed_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child's steps, run in this process: a partial whose bytes change on disk after
    it was made durable (before its read-back) is a mismatch, its sibling verified; a
    source changed after it was read fails as changed."""
    src = [write(tmp_path / "src" / f"f{i}.tif", os.urandom(5000)) for i in range(3)]
    folder = tmp_path / "d"
    folder.mkdir()
    st = folder.stat()
    real = smallcopy._Group._read_back

    def flip_then_read_back(self: Any, *args: Any) -> None:
        with open(folder / ".p0", "r+b") as f:  # a bit flipped on the stored partial
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 1]))
        src[2].write_bytes(os.urandom(5000))  # same size, rewritten
        real(self, *args)

    monkeypatch.setattr(smallcopy._Group, "_read_back", flip_then_read_back)
    files: list[smallcopy.FileSpec] = [
        (str(p), 5000, p.stat().st_mtime_ns, None, [(0, f".p{i}")]) for i, p in enumerate(src)
    ]
    group = smallcopy._Group(bytearray(1 << 16), load_syncfs())
    answers = group.run(([(str(folder), st.st_dev, st.st_ino)], files, None)).files
    digest0, fault0, faults0 = answers[0]
    assert digest0 == blake3.blake3(src[0].read_bytes()).hexdigest() and fault0 is None
    assert faults0[0] is not None and faults0[0][0] == "mismatch"
    assert answers[1][1:] == (None, [None])  # verified
    assert answers[2][1] is not None and answers[2][1][0] == "changed"


class _Seen:
    """The child's cache and durability calls, run in this process: the devices of the
    descriptors given ``syncfs`` and ``POSIX_FADV_DONTNEED``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.synced: list[int] = []
        self.dropped: list[int] = []
        real_sync = load_syncfs()
        assert real_sync is not None
        real_advise = smallcopy._advise

        def sync(fd: int) -> int:
            self.synced.append(os.fstat(fd).st_dev)
            return real_sync(fd)

        def advise(fd: int, advice: int) -> None:
            if advice == os.POSIX_FADV_DONTNEED:
                self.dropped.append(os.fstat(fd).st_dev)
            real_advise(fd, advice)

        self.sync = sync
        monkeypatch.setattr(smallcopy, "_advise", advise)


def _group_of(
    sources: list[Path], folders: list[Path]
) -> tuple[list[tuple[str, int, int]], list[smallcopy.FileSpec]]:
    """A request's folders and files: each source to ``.p<i>`` in every folder."""
    described = [(str(f), f.stat().st_dev, f.stat().st_ino) for f in folders]
    files: list[smallcopy.FileSpec] = [
        (
            str(p),
            p.stat().st_size,
            p.stat().st_mtime_ns,
            None,
            [(k, f".p{i}") for k in range(len(folders))],
        )
        for i, p in enumerate(sources)
    ]
    return described, files


@pytest.mark.root
def test_a_tmpfs_target_is_read_back_from_memory_and_a_disk_one_from_storage(
    tmp_path: Path, tmpfs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per target folder, by its file system: the disk's partials are made durable
    (``syncfs``) and their pages dropped before and after the read-back; the tmpfs's
    are not (its page cache is its storage), and the answer says which way each took.
    A byte changed on the tmpfs's partial before its read-back is still a mismatch."""
    src = [write(tmp_path / "src" / f"f{i}.tif", os.urandom(9000 + i)) for i in range(4)]
    disk = tmp_path / "disk"
    disk.mkdir()
    memory = tmpfs("16m")
    seen = _Seen(monkeypatch)
    real = smallcopy._Group._check_memory
    flipped: list[int] = []

    def flip_then_read_back(self: Any, fd: int, digest: str) -> Any:
        # the tmpfs's partials are read back as each is written: .p1's, once written,
        # gets a byte changed through another descriptor (the tmpfs's stored bytes)
        if not flipped and (memory / ".p1").exists():
            with open(memory / ".p1", "r+b") as f:
                f.seek(10)
                byte = f.read(1)
                f.seek(10)
                f.write(bytes([byte[0] ^ 0x80]))
            flipped.append(os.fstat(fd).st_ino)
        return real(self, fd, digest)

    monkeypatch.setattr(smallcopy._Group, "_check_memory", flip_then_read_back)
    folders, files = _group_of(src, [disk, memory])
    answer = smallcopy._Group(bytearray(1 << 16), seen.sync).run((folders, files, None))
    assert flipped == [(memory / ".p1").stat().st_ino]  # changed just before its read-back
    assert answer.read_back == [smallcopy.STORAGE, smallcopy.MEMORY]
    disk_dev, memory_dev = disk.stat().st_dev, memory.stat().st_dev
    assert seen.synced == [disk_dev]  # one syncfs for the group, none for the tmpfs
    assert memory_dev not in seen.dropped
    assert seen.dropped.count(disk_dev) >= 2 * len(src)  # before and after each read-back
    for i, (digest, fault, faults) in enumerate(answer.files):
        assert digest == blake3.blake3(src[i].read_bytes()).hexdigest() and fault is None
        if i == 1:
            assert faults[0] is None and faults[1] is not None and faults[1][0] == "mismatch"
        else:
            assert faults == [None, None]
    assert (memory / ".p0").read_bytes() == src[0].read_bytes()


@pytest.mark.root
def test_a_tmpfs_copy_read_back_wrong_leaves_the_next_target_the_source_bytes(
    tmp_path: Path, tmpfs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tmpfs is the first target: its partial is read back before the disk's is
    written. A byte changed there is its mismatch alone; the disk still gets the
    source's bytes and verifies (the read-back never overwrites the bytes being copied)."""
    src = [write(tmp_path / "src" / f"f{i}.tif", os.urandom(9000 + i)) for i in range(3)]
    disk = tmp_path / "disk"
    disk.mkdir()
    memory = tmpfs("16m")
    real = smallcopy._Group._check_memory

    def flip_then_read_back(self: Any, fd: int, digest: str) -> Any:
        os.pwrite(fd, bytes([os.pread(fd, 1, 10)[0] ^ 0x80]), 10)  # the stored bytes
        return real(self, fd, digest)

    monkeypatch.setattr(smallcopy._Group, "_check_memory", flip_then_read_back)
    folders, files = _group_of(src, [memory, disk])
    answer = smallcopy._Group(bytearray(1 << 16), _Seen(monkeypatch).sync).run(
        (folders, files, None)
    )
    for i, (digest, fault, faults) in enumerate(answer.files):
        assert digest == blake3.blake3(src[i].read_bytes()).hexdigest() and fault is None
        assert faults[0] is not None and faults[0][0] == "mismatch"
        assert faults[1] is None
        assert (disk / f".p{i}").read_bytes() == src[i].read_bytes()


@pytest.mark.root
def test_a_byte_changed_in_storage_under_a_clean_cache_is_caught_on_disk(
    tmp_path: Path, ext4: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk target's read-back reads the device, not the page cache: a byte changed
    on the device after ``syncfs`` (written into the loop device's image, under the
    file's still-cached clean pages, which go on showing the old byte) is a mismatch."""
    mnt, image = ext4
    src = [write(tmp_path / "src" / f"f{i}.tif", os.urandom(8192)) for i in range(2)]
    real = smallcopy._Group._read_back
    cached: list[bytes] = []

    def corrupt_storage_then_read_back(self: Any, *args: Any) -> None:
        flip_on_device(image, mnt / ".p0", 100)
        cached.append((mnt / ".p0").read_bytes()[100:101])  # the page cache: unchanged
        real(self, *args)

    monkeypatch.setattr(smallcopy._Group, "_read_back", corrupt_storage_then_read_back)
    folders, files = _group_of(src, [mnt])
    answer = smallcopy._Group(bytearray(1 << 16), load_syncfs()).run((folders, files, None))
    assert answer.read_back == [smallcopy.STORAGE]
    assert cached == [src[0].read_bytes()[100:101]]  # only a read from storage sees it
    faults0 = answer.files[0][2]
    assert faults0[0] is not None and faults0[0][0] == "mismatch"
    assert answer.files[1][1:] == (None, [None])
    assert (mnt / ".p0").read_bytes()[100] == src[0].read_bytes()[100] ^ 1  # as stored
