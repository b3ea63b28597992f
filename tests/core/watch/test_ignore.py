"""Names the watcher never reports, and the caller's extra rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from almc_assistant.core.watch import default_ignore
from almc_assistant.core.watch.ignore import combine


@pytest.mark.parametrize(
    "name",
    [
        ".almc-partial-a.nd2",
        ".almc-partial",
        ".DS_Store",
        "Thumbs.db",
        "desktop.ini",
        "~$report.docx",
        "._image.tif",
        ".~lock.sheet.ods#",
        "capture.tmp",
        "$RECYCLE.BIN",
        "System Volume Information",
    ],
)
def test_clutter_and_our_own_partial_files_are_ignored(name: str) -> None:
    assert default_ignore(Path("/acq") / name)


@pytest.mark.parametrize(
    "name", ["cells.nd2", "plate_A01.tif", "Experiment.ome.tiff", "notes.txt", "almc.nd2"]
)
def test_acquisitions_are_not_ignored(name: str) -> None:
    assert not default_ignore(Path("/acq") / name)


def test_an_extra_rule_adds_to_the_built_in_one_and_never_replaces_it() -> None:
    rule = combine(lambda p: p.suffix == ".log")
    assert rule(Path("/acq/run.log"))
    assert rule(Path("/acq/.almc-partial-x"))
    assert not rule(Path("/acq/cells.nd2"))
    assert combine(None) is default_ignore
