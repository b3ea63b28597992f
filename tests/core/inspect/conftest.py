"""Fixtures for the file-check tests.

``corpus`` extends the project-wide fixture: besides ``../shared/corpus`` beside the
checkout (CI), it accepts ``ALMC_CORPUS=/path/to/corpus`` (a git worktree lives one level
deeper, so the default location is not beside it). It still skips cleanly when absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import CORPUS


def corpus_location() -> Path | None:
    for candidate in (os.environ.get("ALMC_CORPUS"), CORPUS):
        if candidate and (Path(candidate) / "CATALOG.tsv").is_file():
            return Path(candidate)
    return None


@pytest.fixture
def corpus() -> Path:
    found = corpus_location()
    if found is None:
        pytest.skip(f"shared corpus not present at {CORPUS} (or $ALMC_CORPUS)")
    return found
