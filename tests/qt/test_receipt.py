"""The wizard's receipt from what it noted of each copy (plain values, not events)."""

from __future__ import annotations

import gc
from pathlib import Path

from almc_assistant.core.transfer.events import (
    READ_BACK_CACHED,
    READ_BACK_EVICTED,
    CopySkipped,
    CopyVerified,
)
from almc_assistant.qt.wizard.receipt import receipt_html
from almc_assistant.qt.wizard.state import WizardState, copy_note


def _verified(source: str, root: Path, size: int, read_back: str) -> CopyVerified:
    return CopyVerified(
        job_id="j",
        source=Path(source),
        destination_root=root,
        destination=root / Path(source).name,
        size=size,
        mtime_ns=0,
        blake3="0" * 64,
        verified_at=0.0,
        read_back=read_back,
    )


def test_a_note_is_plain_values_the_collector_stops_tracking(tmp_path: Path) -> None:
    note = copy_note(_verified("/acq/a.tif", tmp_path / "share", 4096, READ_BACK_EVICTED))
    assert note == (str(tmp_path / "share"), 4096, READ_BACK_EVICTED)
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
    state.skipped = [
        copy_note(
            CopySkipped(
                job_id="j", source=Path("/acq/c.tif"), destination=drive / "c.tif", reason="same"
            )
        )
    ]
    html = receipt_html(state, "")
    assert f"<b>{share}</b>: 2 files (3.0 MB)" in html
    assert f"<b>{drive / 'c.tif'}</b>: 1 file" in html  # a skipped copy names its file
    assert "evicted from the cache and read back from the storage" in html
    state.verified.append(copy_note(_verified("/acq/d.tif", share, 1, READ_BACK_CACHED)))
    assert "could not evict the cache" in receipt_html(state, "")
