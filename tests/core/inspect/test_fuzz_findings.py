"""Every input the fuzzer found that made a header walker raise is a regression test.

``bench/fuzz/fuzz_headers.py`` found them (``tests/core/inspect/data/fuzz/README`` lists
them in ``data/README.md``). Each must now give a plain verdict: no exception out of the
walkers, and ``check_file`` must not fall back to "the check failed unexpectedly".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.fuzz.dispatch import run_walkers

from almc_assistant.core.inspect import Verdict, check_file

FINDINGS = sorted((Path(__file__).parent / "data" / "fuzz").glob("*.bin"))
EXPECTED = {
    "tiff-huge-entry-count.bin": Verdict.TIFF_DAMAGED,
    "tiff-tag-array-outside.bin": Verdict.TIFF_DAMAGED,
    "bigtiff-64bit-offset.bin": Verdict.TIFF_DAMAGED,
    "nd2-cut-in-first-header.bin": Verdict.NATIVE_DAMAGED,
    "czi-empty-directory.bin": Verdict.NATIVE_DAMAGED,
    "hdf5-superblock-cut.bin": Verdict.NATIVE_DAMAGED,
}


@pytest.mark.parametrize("finding", FINDINGS, ids=[p.name for p in FINDINGS])
def test_walkers_do_not_raise(finding: Path) -> None:
    run_walkers(finding.read_bytes())


@pytest.mark.parametrize("finding", FINDINGS, ids=[p.name for p in FINDINGS])
def test_check_gives_a_plain_verdict(tmp_path: Path, finding: Path) -> None:
    path = tmp_path / finding.name
    path.write_bytes(finding.read_bytes())

    result = check_file(path)

    assert not any("failed unexpectedly" in r or "unpack" in r for r in result.reasons), (
        result.reasons
    )
    if finding.name in EXPECTED:
        assert result.verdict == EXPECTED[finding.name], result.reasons


def test_the_empty_input_is_walked() -> None:
    run_walkers(b"")
