"""Issue 17: a group's verified copies are published, recorded in the catalog and listed
in the receipts together; what is recorded is still exactly the per-file truth.

Real files, real folders (one destination on a real tmpfs mount: root only), the real
service with its catalog and its catalog writer thread, worker processes or threads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path, PurePath

import blake3
import pytest

from almc_assistant.core import smallcopy
from almc_assistant.core.events import Event, FanOutSink, ListSink, QueueSink, publish_all
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.receipts import read_receipt
from almc_assistant.core.service import Service
from almc_assistant.core.transfer import (
    READ_BACK_EVICTED,
    READ_BACK_IN_MEMORY,
    CopyFailed,
    CopyHooks,
    CopyRequest,
    CopyRetried,
    CopyVerified,
    run_copy,
)
from almc_assistant.core.transfer.concurrency import process_workers
from tests.portable import IS_ROOT

Truth = dict[tuple[Path, PurePath], str]  # (source, destination root) -> BLAKE3 of the copy


@pytest.fixture
def world(
    tmp_path: Path, other_disk: Callable[..., Path]
) -> Iterator[tuple[Service, Path, ListSink]]:
    """The service, an acquisition folder (its files are tracked: the catalog records
    them), a destination on the test's disk and one on a tmpfs of its own."""
    if not IS_ROOT:
        pytest.skip("needs root to mount the second destination's tmpfs")
    paths = AppPaths.under(tmp_path / "home").ensure()
    (tmp_path / "acq").mkdir()
    (tmp_path / "disk").mkdir()
    other_disk(tmp_path / "tmpfs")
    paths.facility_config.write_text(
        "[watch]\n"
        f"folders = [{str(tmp_path / 'acq')!r}]\n"
        "[[destinations]]\n"
        'name = "BIT"\n'
        f"path = {str(tmp_path / 'tmpfs')!r}\n"
        'kind = "institutional"\n'
    )
    sink = ListSink()
    service = Service(paths, sink)
    yield service, tmp_path, sink
    service.stop()


def _files(run: Path, n: int) -> dict[str, bytes]:
    """``n`` small files in a few folders (different sizes, some empty)."""
    out = {}
    for i in range(n):
        data = os.urandom((i * 37) % 3000)
        path = run / f"w{i % 5}" / f"f{i:05d}.tif"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out[path.relative_to(run.parent).as_posix()] = data
    return out


def _truth(roots: list[Path], top: str) -> Truth:
    """What is really at each destination: every file under ``root/top``, hashed now."""
    out: Truth = {}
    for root in roots:
        for path in (root / top).rglob("*"):
            if path.is_file() and not path.name.startswith(".almc-"):
                rel = path.relative_to(root)
                source = root.parent / "acq" / rel
                out[(source, root)] = blake3.blake3(path.read_bytes()).hexdigest()
    return out


def _receipt_rows(root: Path) -> list[dict[str, object]]:
    (receipt,) = (root / "almc-receipts").glob("*.json")
    rows: list[dict[str, object]] = json.loads(receipt.read_text("utf-8"))["verified"]
    return rows


def _catalogued(service: Service, sources: list[Path]) -> Truth:
    """The copies the catalog holds; each file with a copy at the tmpfs (BIT, another
    disk) is safe, each other not."""
    assert service.recorder.flush(60)
    out: Truth = {}
    for source in sources:
        record = service.catalog.file(source)
        assert record is not None  # tracked: in the acquisition folder
        at_bit = any(c.destination_root.name == "tmpfs" for c in record.copies)
        assert record.safe == at_bit, source
        for c in record.copies if record is not None else []:
            key = (c.source, c.destination_root)
            assert key not in out  # one copy per file and destination
            out[key] = c.blake3
    return out


def test_thousands_of_files_to_a_disk_and_a_tmpfs_are_recorded_exactly(
    world: tuple[Service, Path, ListSink],
) -> None:
    """A job big enough for worker processes and many groups: the events, both receipts
    and the catalog name each verified copy once, with the BLAKE3 of the bytes really
    at the destination, and nothing else."""
    service, tmp, sink = world
    sources = _files(tmp / "acq" / "run1", 2500)
    roots = [tmp / "disk", tmp / "tmpfs"]
    job = service.start_copy([tmp / "acq" / "run1"], roots, record=True)
    result = job.wait(300)
    assert result is not None and result.summary.ok
    assert result.summary.verified == 2 * len(sources)
    if smallcopy.available():  # one worker thread per worker process
        assert result.summary.workers == process_workers()
    truth = _truth(roots, "run1")
    assert len(truth) == 2 * len(sources)
    for (source, _), got in truth.items():  # what is there is the source's bytes
        assert got == blake3.blake3(source.read_bytes()).hexdigest()
    assert _published(sink) == truth
    # how each was read back, as the receipt says it: the disk's after its pages were
    # dropped, the tmpfs's from the memory that is its storage (nothing to drop there)
    how: dict[PurePath, set[str]] = {}
    for e in sink.of_type(CopyVerified):
        how.setdefault(e.copy.destination_root, set()).add(e.copy.read_back)
    assert how == {roots[0]: {READ_BACK_EVICTED}, roots[1]: {READ_BACK_IN_MEMORY}}
    for root in roots:
        rows = _receipt_rows(root)
        rels = [str(r["relative_path"]) for r in rows]
        assert rels == sorted(rels) and len(set(rels)) == len(rels)
        listed = {(Path(str(r["source"])), root): str(r["blake3"]) for r in rows}
        assert listed == {k: v for k, v in truth.items() if k[1] == root}
        assert all(r["destination"] == str(root / str(r["relative_path"])) for r in rows)
        (receipt,) = (root / "almc-receipts").glob("*.json")
        back = {(c.source, c.destination_root): c.blake3 for c in read_receipt(receipt, root)}
        assert back == listed
    assert _catalogued(service, [tmp / "acq" / rel for rel in sources]) == truth


def _published(sink: ListSink) -> Truth:
    """The verified copies ``sink`` was told of, each once."""
    out: Truth = {}
    for e in sink.of_type(CopyVerified):
        key = (e.copy.source, e.copy.destination_root)
        assert key not in out
        out[key] = e.copy.blake3
    return out


def _corrupt(match: str, times: int) -> CopyHooks:
    """Flip a byte of the partials of ``match`` at the tmpfs destination, ``times`` times,
    right before they are read back (a write the storage did not keep)."""
    left = [times]

    def flip(partial: Path, start: int, end: int) -> None:
        if "tmpfs" in partial.parts and match in partial.name and left[0] > 0 and end > start:
            left[0] -= 1
            with partial.open("r+b") as f:
                first = f.read(1)
                f.seek(0)
                f.write(bytes([first[0] ^ 0xFF]))

    return CopyHooks(after_flush=flip)


@pytest.mark.parametrize("times", [1, 100], ids=["retried", "failed"])
def test_a_copy_that_fails_in_the_middle_of_a_group_is_recorded_as_it_ended(
    world: tuple[Service, Path, ListSink], times: int
) -> None:
    """One file in the middle of a group fails its read-back at the tmpfs: retried and
    verified (``times=1``), or failed for good. The group's other copies are published,
    recorded and listed; the failed copy is in no receipt's verified list and not in the
    catalog, and its receipt lists it as failed."""
    service, tmp, _ = world
    sources = _files(tmp / "acq" / "run1", 300)
    roots = [tmp / "disk", tmp / "tmpfs"]
    seen = ListSink()
    sink = service.copying.recording(seen)
    request = CopyRequest(
        sources=[tmp / "acq" / "run1"],
        destinations=roots,
        workers=2,
        group_files=32,
        hooks=_corrupt("f00150.tif", times),
    )
    result = run_copy(request, sink)
    bad = tmp / "acq" / "run1" / "w0" / "f00150.tif"
    truth = _truth(roots, "run1")
    assert _published(seen) == truth
    assert _catalogued(service, [tmp / "acq" / k for k in sources]) == truth
    failed = seen.of_type(CopyFailed)
    retried = seen.of_type(CopyRetried)
    assert retried and all(r.source == bad for r in retried)
    tmpfs_rows = _receipt_rows(tmp / "tmpfs")
    if times == 1:
        assert result.summary.ok and not failed
        assert len(truth) == 2 * len(sources)
    else:
        assert not result.summary.ok
        assert [(f.source, f.destination_root) for f in failed] == [(bad, tmp / "tmpfs")]
        assert failed[0].title == "Copy did not match" and failed[0].next_step
        assert set(truth) == {(tmp / "acq" / k, r) for k in sources for r in roots} - {
            (bad, tmp / "tmpfs")
        }
        assert not (tmp / "tmpfs" / "run1" / "w0" / "f00150.tif").exists()
        (receipt,) = (tmp / "tmpfs" / "almc-receipts").glob("*.json")
        doc = json.loads(receipt.read_text("utf-8"))
        assert [f["source"] for f in doc["failed"]] == [str(bad)]
    assert {Path(str(r["source"])) for r in tmpfs_rows} == {
        s for s, root in truth if root == tmp / "tmpfs"
    }


def test_a_group_of_events_reaches_every_sink_whole_and_in_order() -> None:
    """``publish_all``: a sink taking several at once gets them in one call, any other
    sink one by one; a fan-out passes the whole group to each of its sinks."""
    calls: list[list[Event]] = []

    class Many:
        def publish(self, event: Event) -> None:
            calls.append([event])

        def publish_many(self, events: list[Event]) -> None:
            calls.append(list(events))

    one_by_one = ListSink()
    queue = QueueSink()

    class Plain:
        def __init__(self) -> None:
            self.got: list[Event] = []

        def publish(self, event: Event) -> None:
            self.got.append(event)

    plain = Plain()
    group = [Event(at=float(i)) for i in range(5)]
    publish_all(FanOutSink(Many(), one_by_one, queue, plain), group)
    assert calls == [group]
    assert one_by_one.events == group and queue.drain() == group and plain.got == group
