"""The wizard's receipt from what it noted of each copy (plain values, not events).

One truth for "safe" (issue 9): the receipt says "✓ Everything from this session is
safe" only when every file of the backup has a verified copy on every destination, the
policy's answer for them is "safe", and nothing was refused, failed, skipped, pending
upload or still being written.
"""

from __future__ import annotations

import gc
from pathlib import Path, PurePath, PurePosixPath

from almc_assistant.core.catalog import FileState
from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.plan_safety import PlanSafety
from almc_assistant.core.transfer.events import (
    READ_BACK_CACHED,
    READ_BACK_EVICTED,
    READ_BACK_IN_MEMORY,
    CopySkipped,
    CopyVerified,
    JobSummary,
)
from almc_assistant.qt.wizard.receipt import not_safe, receipt_html
from almc_assistant.qt.wizard.state import WizardState, copy_note
from tests.qt.helpers import engine_summary, file_record

SAFE = PlanSafety(safe=True, requirement="1 verified copy on backed-up storage", counted=("S",))


File = file_record  # a file of the session, as the catalog lists it


def _verified(
    source: str, root: PurePath, size: int, read_back: str, name: str = ""
) -> CopyVerified:
    copy = CopyRecord(
        source=Path(source),
        destination_root=root,
        path=root / (name or Path(source).name),
        size=size,
        mtime_ns=0,
        blake3="0" * 64,
        verified_at=0.0,
        read_back=read_back,
    )
    return CopyVerified(job_id="j", copy=copy)


def _summary(state: str = "completed", **extra: object) -> JobSummary:
    summary: JobSummary = engine_summary("j", state, files_total=2, verified=2, **extra)
    return summary


def test_a_note_is_plain_values_the_collector_stops_tracking(tmp_path: Path) -> None:
    note = copy_note(_verified("/acq/a.tif", tmp_path / "share", 4096, READ_BACK_EVICTED))
    source = str(Path("/acq/a.tif"))  # with this OS's separators
    assert note == (str(tmp_path / "share"), 4096, READ_BACK_EVICTED, source, "")
    gc.collect()
    assert not gc.is_tracked(note)  # full collections during a copy do not walk it


def test_receipt_counts_copies_per_destination(tmp_path: Path) -> None:
    share, drive = tmp_path / "share", tmp_path / "drive"
    state = WizardState()
    state.verified = [
        copy_note(_verified("/acq/a.tif", share, 1_000_000, READ_BACK_EVICTED)),
        copy_note(_verified("/acq/b.tif", share, 2_000_000, READ_BACK_EVICTED)),
        copy_note(_verified("/acq/a.tif", drive, 1_000_000, READ_BACK_EVICTED)),
    ]
    skipped = CopySkipped(
        job_id="j",
        source=Path("/acq/c.tif"),
        destination=drive / "run" / "c.tif",
        reason="already verified at this destination",
    )
    state.skipped = [copy_note(skipped, [share, drive])]
    html = receipt_html(state)
    assert f"<b>{share}</b>: 2 files (3.0 MB) copied, read back and matched" in html
    # a skipped copy names only its file: its root is the chosen destination holding it
    assert f"<b>{drive}</b>: 1 file (1.0 MB) copied, read back and matched; 1 file" in html
    assert "evicted from the cache and read back from the storage" in html
    assert "file system held in memory" not in html
    # a copy on a tmpfs: re-read from the memory that is its storage, and said so
    ram = tmp_path / "ram"
    state.verified.append(copy_note(_verified("/acq/a.tif", ram, 1, READ_BACK_IN_MEMORY)))
    html = receipt_html(state)
    assert "evicted from the cache and read back from the storage" in html
    assert "a copy on a file system held in memory, such as a tmpfs, was re-read" in html
    state.verified.append(copy_note(_verified("/acq/d.tif", share, 1, READ_BACK_CACHED)))
    assert "could not evict the cache" in receipt_html(state)


def _copied_everywhere(tmp_path: Path, *destinations: Destination) -> WizardState:
    state = WizardState(files=[File(Path("/acq/a.tif")), File(Path("/acq/b.tif"))])
    state.destinations = list(destinations)
    state.verified = [
        copy_note(_verified(f"/acq/{n}", Path(d.path), 1, READ_BACK_EVICTED))
        for n in ("a.tif", "b.tif")
        for d in destinations
    ]
    state.summary, state.safety = _summary(), SAFE
    return state


def test_everything_safe_only_when_nothing_is_left(tmp_path: Path) -> None:
    share = Destination("Share", tmp_path / "share", DestinationKind.INSTITUTIONAL)
    state = _copied_everywhere(tmp_path, share)
    assert not_safe(state) == []
    assert "✓ Everything from this session is safe" in receipt_html(state)

    state.files.append(File(Path("/acq/live.tif"), state=FileState.ACQUIRING))
    html = receipt_html(state)
    assert "✓ Everything" not in html and "live.tif" in html
    assert "Back it up in a later session once acquisition has finished" in html
    state.files.pop()

    state.safety = None  # the policy's answer is not known: not called safe
    assert "is not known" in receipt_html(state) and "✓ Everything" not in receipt_html(state)
    state.safety = PlanSafety(
        safe=False,
        requirement="2 verified copies on independent destinations",
        counted=(),
        not_counted=("Share: on the same disk as your files, so a copy there is not a backup",),
    )
    html = receipt_html(state)
    assert "Not enough under the facility's policy" in html and "same disk" in html


def test_refused_and_failed_copies_are_listed_with_their_reason(tmp_path: Path) -> None:
    share = Destination("Share", tmp_path / "share", DestinationKind.INSTITUTIONAL)
    state = _copied_everywhere(tmp_path, share)
    state.verified = []
    state.summary = _summary(
        "refused",
        error_title="Destination not usable",
        error_detail="Cannot copy to /share: it is not a folder.",
        error_next_step="Check the destination and try again.",
    )
    html = receipt_html(state)
    assert "✓" not in html and "Nothing was copied" in html
    assert "The copy was refused: Destination not usable.</b> Cannot copy to /share" in html
    assert "2 files without a verified copy on every destination chosen: a.tif, b.tif" in html
    # the policy's words about copies would mislead when none was made
    assert "Not enough under the facility" not in html


def test_cloud_sync_copies_are_pending_upload_not_safe(tmp_path: Path) -> None:
    cloud = Destination("OneDrive", tmp_path / "OneDrive", DestinationKind.CLOUD_SYNC)
    state = _copied_everywhere(tmp_path, cloud)
    html = receipt_html(state)
    assert "pending upload: not safe yet" in html
    assert "are pending upload" in html and "✓ Everything" not in html


def test_a_copy_stopped_by_an_error_is_not_said_to_have_copied_nothing(tmp_path: Path) -> None:
    share = Destination("Share", tmp_path / "share", DestinationKind.INSTITUTIONAL)
    state = _copied_everywhere(tmp_path, share)
    state.verified = state.verified[:1]  # a.tif was copied before the error
    state.summary = _summary(
        "failed",
        error_title="Internal error",
        error_detail="An unexpected error stopped the copy: OSError: boom",
        error_next_step="Run again with -vv and send the output to the facility staff.",
    )
    html = receipt_html(state)
    assert "The copy stopped: Internal error.</b> An unexpected error" in html
    assert "1 file without a verified copy on every destination chosen: b.tif" in html
    assert "Not everything from this session is safe yet" in html


def test_the_receipt_lists_each_dataset_with_its_files(tmp_path: Path) -> None:
    from almc_assistant.core.inspect import DatasetUnit

    share = Destination("Share", tmp_path / "share", DestinationKind.INSTITUTIONAL)
    state = _copied_everywhere(tmp_path, share)
    series = DatasetUnit(id="/acq/run001.nd2", kind="ND2 series", anchor=Path("/acq/run001.nd2"))
    state.files += [File(Path("/acq/run001.nd2")), File(Path("/acq/run002.nd2"))]
    state.datasets = {str(f.path): series for f in state.files[-2:]}  # as units_of keys them
    state.verified.append(
        copy_note(_verified("/acq/run001.nd2", tmp_path / "share", 1, READ_BACK_EVICTED))
    )

    html = receipt_html(state)

    assert "<h3>Datasets</h3>" in html
    where = Path("/acq")
    assert (
        f"<b>run001.nd2 …</b> — ND2 series, in {where}: 2 files, not all copied: 1 without" in html
    )
    assert "Files: run001.nd2, run002.nd2" in html
    state.verified.append(
        copy_note(_verified("/acq/run002.nd2", tmp_path / "share", 1, READ_BACK_EVICTED))
    )
    assert "2 files, every file copied and verified" in receipt_html(state)


def test_a_remote_destination_is_named_with_slashes_on_every_system() -> None:
    """The engine names places on a remote with ``/`` (``PurePosixPath``) on every system;
    the receipt keeps them so, for a copy skipped there and one stored under another name
    (on Windows a ``Path`` would show ``research:lab\\me\\exp1\\a (almc copy 2).nd2``)."""
    spec = "research:lab/me"
    root = PurePosixPath(spec)
    words = "BLAKE3 computed by the server over the stored file"
    verified = _verified("/acq/exp1/a.nd2", root, 1, words, "exp1/a (almc copy 2).nd2")
    skipped = CopySkipped(
        job_id="j",
        source=Path("/acq/exp1/b.nd2"),
        destination=root / "exp1" / "b.nd2",
        reason="already verified at this destination",
    )
    state = WizardState()
    state.verified = [copy_note(verified)]
    state.skipped = [copy_note(skipped, [spec])]
    assert [n[0] for n in (*state.verified, *state.skipped)] == [spec, spec]

    html = receipt_html(state)

    assert f"<b>{spec}</b>: 1 file" in html
    assert f"→ {spec}/exp1/a (almc copy 2).nd2</li>" in html
    assert "research:lab\\" not in html
