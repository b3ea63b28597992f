"""Cleanup on Windows deletes through the handle it checked (``core.winhandles``).

Real catalog, real files on two Windows volumes (the lane maps ``ALMC_TEST_DRIVE``, D:,
to a folder of its own: another volume serial), real Win32 calls under Wine. Skipped
elsewhere (POSIX has its own tests in ``test_cleanup.py``).

Wine 8 cannot make a junction (``FSCTL_SET_REPARSE_POINT``: "Request not supported") or
a Windows symlink (``CreateSymbolicLinkW`` reports success, nothing appears), so the
"link swapped in" case plants a *Unix* symlink below the folder (``ln -s`` run through
Wine): Wine shows it as a plain folder, and only ``GetFinalPathNameByHandleW`` (the
containment check) tells it leads elsewhere. The reparse-point refusal itself is not
reachable under Wine 8.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from almc_assistant.core.catalog import Catalog
from almc_assistant.core.cleanup.apply import apply_cleanup
from almc_assistant.core.cleanup.plan import Action, CleanupItem, CleanupPlan, CleanupResult
from almc_assistant.core.config import PolicySettings
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.evidence import EvidenceRules
from almc_assistant.core.policy import Policy
from tests.core.catalog.test_catalog_identity import (
    acquired,
    any_copy,
    copy_of,
    edit_keeping_size_and_mtime,
    seen,
)
from tests.portable import UNDER_WINE, WINDOWS

pytestmark = pytest.mark.skipif(not WINDOWS, reason="Windows handles (the Windows lane)")
DATA = b"a" * 8192


@pytest.fixture
def dest_root() -> Iterator[Path]:
    drive = os.environ.get("ALMC_TEST_DRIVE")
    if not drive:
        pytest.skip("set ALMC_TEST_DRIVE to a second volume you may write to (the lane maps D:)")
    root = Path(f"{drive}\\") / f"cleanup-{uuid.uuid4().hex[:8]}"
    root.mkdir()
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _mine() -> EvidenceRules:
    """A user's own catalog: owners are SIDs on Windows."""
    from almc_assistant.core import winacl

    return EvidenceRules(catalog_owner_uid=winacl.user_sid())


def _cleanup(
    tmp_path: Path,
    dest: Path,
    f: Path,
    *,
    before_unlink=None,
    rules: EvidenceRules | None = None,
    facility: bool = True,
) -> CleanupResult:
    """Apply a plan deleting ``f``; ``dest`` is a facility destination unless not
    ``facility`` (then ``rules`` alone say whose it is)."""
    acq = tmp_path / "acq"
    target = Destination("NAS", dest, DestinationKind.INSTITUTIONAL)
    rules = rules or _mine()
    if facility:
        rules = replace(rules, facility_destinations=(dest,))
    with Catalog(tmp_path / "c.sqlite3", safety=any_copy) as cat:
        rec = cat.file(f)
        assert rec is not None
        plan = CleanupPlan(1.0, (CleanupItem(rec, Action.DELETE, "safe and old", 1.0),))
        return apply_cleanup(
            plan,
            cat,
            policy=Policy(PolicySettings(), [target], acquisition_roots=[acq]),
            rules=rules,
            acquisition_roots=[acq],
            audit_log=tmp_path / "audit.log",
            user="ann",
            before_unlink=before_unlink,
        )


def _recorded(tmp_path: Path, dest: Path, name: str = "run1/a.nd2") -> Path:
    f = acquired(tmp_path / "acq" / name, DATA)
    with Catalog(tmp_path / "c.sqlite3", safety=any_copy) as cat:
        seen(cat, f)
        cat.record_copy(copy_of(f, dest / name), owner="ann")
    return f


def test_a_proper_file_with_a_copy_on_another_volume_is_deleted(
    tmp_path: Path, dest_root: Path
) -> None:
    f = _recorded(tmp_path, dest_root)
    (outcome,) = _cleanup(tmp_path, dest_root, f).outcomes
    assert outcome.deleted, outcome.reason
    assert not f.exists() and (dest_root / "run1" / "a.nd2").read_bytes() == DATA


def test_a_file_changed_in_place_is_kept(tmp_path: Path, dest_root: Path) -> None:
    f = _recorded(tmp_path, dest_root)
    edit_keeping_size_and_mtime(f, b"NEW")
    (outcome,) = _cleanup(tmp_path, dest_root, f).outcomes
    assert not outcome.deleted and "BLAKE3" in outcome.reason
    assert f.read_bytes()[:3] == b"NEW"


def test_a_copy_that_differs_is_not_counted(tmp_path: Path, dest_root: Path) -> None:
    f = _recorded(tmp_path, dest_root)
    (dest_root / "run1" / "a.nd2").write_bytes(b"b" * len(DATA))
    (outcome,) = _cleanup(tmp_path, dest_root, f).outcomes
    assert not outcome.deleted and "differ" in outcome.reason
    assert f.read_bytes() == DATA


def test_a_file_held_open_by_its_writer_is_kept(tmp_path: Path, dest_root: Path) -> None:
    f = _recorded(tmp_path, dest_root)
    with open(f, "r+b"):  # the acquisition software, still writing: it does not share
        (outcome,) = _cleanup(tmp_path, dest_root, f).outcomes
    assert not outcome.deleted and "another program" in outcome.reason
    assert f.read_bytes() == DATA


def test_the_checked_file_cannot_be_swapped_before_its_delete(
    tmp_path: Path, dest_root: Path
) -> None:
    """Right before the delete, another program tries to replace the file and to rename
    its folder: the held handles refuse both, and the file deleted is the checked one."""
    f = _recorded(tmp_path, dest_root)
    refused: list[str] = []

    def swap(path: Path) -> None:
        for what, attempt in (
            ("rename the file", lambda: path.replace(path.with_name("moved.nd2"))),
            ("rename its folder", lambda: path.parent.rename(path.parent.with_name("moved"))),
            ("write the file", lambda: path.write_bytes(b"evil")),
        ):
            try:
                attempt()
            except OSError:
                refused.append(what)

    (outcome,) = _cleanup(tmp_path, dest_root, f, before_unlink=swap).outcomes
    assert {"rename the file", "write the file"} <= set(refused)
    if UNDER_WINE:
        # Wine 8 lets a folder held open without FILE_SHARE_DELETE be renamed (Windows
        # refuses: a sharing violation); the last re-check sees the name gone and keeps it.
        assert "rename its folder" not in refused
        assert not outcome.deleted and "no longer be found" in outcome.reason
        assert (f.parent.with_name("moved") / "a.nd2").read_bytes() == DATA
    else:
        assert set(refused) == {"rename the file", "rename its folder", "write the file"}
        assert outcome.deleted and not f.exists()


def _unix(*command: str, until: Callable[[], bool]) -> None:
    """Run a Unix program on the Unix side of Wine (Wine starts one given its path),
    then wait until ``until`` holds (WinExec gives no handle to wait on)."""
    k = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]
    k.wine_get_unix_file_name.restype = ctypes.c_char_p
    k.wine_get_unix_file_name.argtypes = [ctypes.c_wchar_p]
    args = [k.wine_get_unix_file_name(a).decode() if ":" in a else a for a in command[1:]]
    line = " ".join([command[0], *(f'"{a}"' for a in args)])
    assert k.WinExec(line.encode(), 0) > 31, f"Wine could not start {command[0]}"
    deadline = time.monotonic() + 30
    while not until():
        assert time.monotonic() < deadline, f"{line} did not finish"
        time.sleep(0.05)


@pytest.mark.skipif(not UNDER_WINE, reason="plants a Unix symlink through Wine")
def test_a_folder_swapped_for_a_link_is_refused(tmp_path: Path, dest_root: Path) -> None:
    """The run folder is replaced by a link to another user's folder holding a file of
    the same name and bytes: the walk's final-path check refuses it; nothing is deleted."""
    f = _recorded(tmp_path, dest_root)
    victim = acquired(tmp_path / "other" / "a.nd2", DATA)
    f.parent.rename(tmp_path / "acq" / "run1-old")
    _unix(r"Z:\bin\ln", "-s", str(victim.parent), str(f.parent), until=f.exists)
    try:
        (outcome,) = _cleanup(tmp_path, dest_root, f).outcomes
    finally:  # the temporary folder's removal would go through the link
        _unix(r"Z:\bin\rm", str(f.parent), until=lambda: not os.path.lexists(f.parent))
    assert not outcome.deleted and "outside the folder walked" in outcome.reason
    assert victim.read_bytes() == DATA


def test_a_copy_other_accounts_may_write_does_not_count(tmp_path: Path, dest_root: Path) -> None:
    """Everyone may write the copy (its ACL): any user could have put those bytes there
    or change them after the check, so it is no evidence; the source stays."""
    from almc_assistant.core import winacl
    from tests.windows_acl import set_dacl

    f = _recorded(tmp_path, dest_root)
    me = winacl.user_sid()
    set_dacl(dest_root / "run1" / "a.nd2", f"D:(A;;FA;;;{me})(A;;FA;;;WD)")
    (outcome,) = _cleanup(tmp_path, dest_root, f).outcomes
    assert not outcome.deleted and "lets S-1-1-0 write it" in outcome.reason
    assert f.read_bytes() == DATA
    set_dacl(dest_root / "run1" / "a.nd2", f"D:(A;;FA;;;{me})(A;;FR;;;WD)")  # read only
    (outcome,) = _cleanup(tmp_path, dest_root, f).outcomes
    assert outcome.deleted, outcome.reason


def _owned_by_another_account(f: Path) -> None:
    """Give ``f`` the owner BUILTIN\\Users (not this account), or skip saying why not."""
    from almc_assistant.core import winacl, wininfo
    from tests.windows_acl import set_owner

    try:
        set_owner(f, "S-1-5-32-545")
        handle = wininfo.open_handle(f, access=wininfo.READ_CONTROL)
        try:
            owner = winacl.security_of(handle).owner
        finally:
            wininfo.close(handle)
    except OSError as exc:
        pytest.skip(f"cannot give the file another owner here ({exc})")
    if owner != "S-1-5-32-545":
        pytest.skip("the owner did not change (Wine 8 derives it from the Unix file)")


def test_a_users_catalog_does_not_speak_for_another_accounts_file(
    tmp_path: Path, dest_root: Path
) -> None:
    """Owners are SIDs on Windows (``st_uid`` is 0 for all): a file owned by another
    account is kept by a user's own cleanup, whatever that user's catalog says, even when
    that user is an administrator (the evidence rules decide, not the token)."""
    f = _recorded(tmp_path, dest_root)
    _owned_by_another_account(f)
    (outcome,) = _cleanup(tmp_path, dest_root, f).outcomes
    assert not outcome.deleted and "speaks only for" in outcome.reason
    assert "S-1-5-32-545" in outcome.reason
    assert f.read_bytes() == DATA


def test_staffs_catalog_speaks_for_another_accounts_file(tmp_path: Path, dest_root: Path) -> None:
    """An elevated administrator's own catalog is staff's (``catalog_owner_uid=None``):
    it may clean another account's file, with a copy on a facility destination."""
    f = _recorded(tmp_path, dest_root)
    _owned_by_another_account(f)
    (outcome,) = _cleanup(tmp_path, dest_root, f, rules=EvidenceRules(None)).outcomes
    assert outcome.deleted, outcome.reason


def test_another_accounts_catalog_does_not_speak_for_my_file(
    tmp_path: Path, dest_root: Path
) -> None:
    """The same rule seen from the other side, which Wine can show (it cannot give a
    file another owner): the catalog of BUILTIN\\Users does not speak for this
    account's file."""
    f = _recorded(tmp_path, dest_root)
    rules = EvidenceRules(catalog_owner_uid="S-1-5-32-545")
    (outcome,) = _cleanup(tmp_path, dest_root, f, rules=rules).outcomes
    assert not outcome.deleted, outcome.reason
    assert "speaks only for S-1-5-32-545's files" in outcome.reason
    assert f.read_bytes() == DATA


def test_an_owners_own_destinations_count_only_for_that_owners_files(
    tmp_path: Path, dest_root: Path
) -> None:
    """As on POSIX: a destination someone configured for themselves counts for their own
    files only (owners compared as SIDs, not ``st_uid``, which is 0 for every file)."""
    from almc_assistant.core import winacl

    me = winacl.user_sid()
    f = _recorded(tmp_path, dest_root)

    def staff_with_own(sid: str) -> CleanupResult:
        rules = EvidenceRules(None, owner_destinations=lambda o: (dest_root,) if o == sid else ())
        return _cleanup(tmp_path, dest_root, f, rules=rules, facility=False)

    (outcome,) = staff_with_own("S-1-5-32-545").outcomes  # another account's destination
    assert not outcome.deleted and "not inside a destination" in outcome.reason, outcome.reason
    (outcome,) = staff_with_own(me).outcomes  # the file's owner's own destination
    assert outcome.deleted, outcome.reason


def test_an_elevated_administrator_is_staff() -> None:
    """``is_superuser`` asks the token (``CheckTokenMembership`` on Administrators), as
    ``IsUserAnAdmin`` does; Wine's only user is an administrator, so both say yes here.
    (A UAC-filtered administrator and a plain user cannot be made under Wine.)"""
    from almc_assistant.core import privatefs

    shell = bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
    assert privatefs.is_superuser() is shell
    assert privatefs.is_staff() is shell
    if UNDER_WINE:
        assert shell, "Wine's user is an administrator"
