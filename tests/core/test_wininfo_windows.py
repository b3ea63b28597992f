"""``core.wininfo`` on real files under the Windows lane: where a handle's file is
(``GetFinalPathNameByHandleW``) past MAX_PATH (260 characters), its buffer grown to the
length the call asks for. Skipped elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.portable import WINDOWS

pytestmark = pytest.mark.skipif(not WINDOWS, reason="Win32 handles (the Windows lane)")


def _final(path: str) -> str:
    from almc_assistant.core import wininfo

    handle = wininfo.open_handle(path)
    try:
        return wininfo.final_path(handle)
    finally:
        wininfo.close(handle)


@pytest.mark.parametrize("length", [300, 700, 1500])
def test_final_path_past_max_path(tmp_path: Path, length: int) -> None:
    base = _final(str(tmp_path))  # the folder as the call spells it (case, 8.3 names)
    parts: list[str] = []
    while len(base) + sum(len(p) + 1 for p in parts) < length:
        parts.append("d" * 50)
    folder = "\\\\?\\" + "\\".join([base, *parts])
    Path(folder).mkdir(parents=True)
    name = folder + "\\x.bin"
    with open(name, "wb") as fh:
        fh.write(b"x")

    found = _final(name)

    assert len(found) > length
    assert found.lower() == "\\".join([base, *parts, "x.bin"]).lower()
