"""The one size formatter of the app (CLI, tray, windows, reminders, logout reason)."""

from __future__ import annotations

import pytest

from almc_assistant.core.units import human_size


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (999, "999 bytes"),
        (1000, "1.0 kB"),
        (12_400_000_000, "12.4 GB"),
        (999_960_000, "1.0 GB"),
        (250_000_000, "250 MB"),
        (99_950_000_000, "100 GB"),
        (124_000_000_000, "124 GB"),
        (999_960_000_000, "1.0 TB"),
        (3 * 10**15, "3.0 PB"),
        (3_500_000_000_000_000_000, "3500 PB"),
        (1536.7, "1.5 kB"),  # rates and sums may be floats
    ],
)
def test_decimal_units_like_file_managers(n: float, text: str) -> None:
    assert human_size(n) == text
