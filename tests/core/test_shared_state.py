"""Where a user's catalog goes when the facility keeps a shared state folder.

(Other accounts taking names first are in tests/integration/test_shared_workstation.py.)
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from almc_assistant.core.shared_state import user_catalog

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX owners and modes")


def test_a_sound_shared_folder_holds_a_private_folder_per_uid(tmp_path: Path) -> None:
    shared = tmp_path / "users"
    shared.mkdir(mode=0o1733)
    shared.chmod(0o1733)
    place = user_catalog(shared, tmp_path / "own" / "catalog.sqlite3")
    assert place.path == shared / str(os.geteuid()) / "catalog.sqlite3" and not place.notes
    assert stat.S_IMODE(place.path.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("problem", ["missing", "writable-without-sticky", "uid-is-a-link"])
def test_an_unsound_shared_folder_leaves_the_catalog_in_the_users_own_folder(
    tmp_path: Path, problem: str
) -> None:
    shared = tmp_path / "users"
    if problem != "missing":
        shared.mkdir()
        shared.chmod(0o777 if problem == "writable-without-sticky" else 0o1777)
    if problem == "uid-is-a-link":
        (tmp_path / "elsewhere").mkdir()
        (shared / str(os.geteuid())).symlink_to(tmp_path / "elsewhere")
    own = tmp_path / "own" / "catalog.sqlite3"
    place = user_catalog(shared, own)
    assert place.path == own
    assert len(place.notes) == 1 and str(own.parent) in place.notes[0]
    words = {
        "missing": "does not exist (staff create it; the app never does)",
        "writable-without-sticky": "may be written by other users without the sticky bit",
        "uid-is-a-link": "is a symbolic link, not a folder",
    }
    assert words[problem] in place.notes[0]
    assert problem != "missing" or not shared.exists()
