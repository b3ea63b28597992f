"""The benchmark's large-ND2 builder keeps a real ND2 valid and identical in content."""

from __future__ import annotations

from pathlib import Path

import nd2
import numpy as np
from bench.nd2_inflate import inflate

from almc_assistant.core.inspect import Verdict, check_file


def test_inflated_nd2_reads_the_same_frames(corpus: Path, tmp_path: Path) -> None:
    source = corpus / "files" / "example-timelapse.nd2"
    big = tmp_path / "big.nd2"

    size = inflate(source, big, extra=5 << 30)  # 5 GiB, sparse: offsets beyond 4 GiB

    assert size == big.stat().st_size > 5 << 30
    with nd2.ND2File(source) as a, nd2.ND2File(big) as b:
        assert b.sizes == a.sizes
        assert b.attributes == a.attributes
        assert b.text_info == a.text_info
        for i in (0, 26, 52):
            np.testing.assert_array_equal(b.read_frame(i), a.read_frame(i))
    result = check_file(big)
    assert result.verdict == Verdict.NATIVE_OK, result.reasons
    assert result.details["frames_in_file"] == 53
    assert result.details["acquisition_time"] == check_file(source).details["acquisition_time"]
