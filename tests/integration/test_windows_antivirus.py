"""An antivirus holding a freshly written copy (the Windows lane: real share modes in Wine).

A scanner opens each new file for reading, sharing reading and writing but not deleting,
for a moment: renaming the verified partial to its final name fails with a sharing
violation meanwhile. The engine retries on a bounded backoff (``IN_USE_DELAYS``, about
8 s), each retry with the reason, and says how long it waited when it gives up. The
holder is a second Windows process with a real open handle.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from almc_assistant.core.events import ListSink
from almc_assistant.core.transfer import CopyFailed, CopyRequest, CopyRetried, CopyVerified
from almc_assistant.core.transfer.faults import IN_USE_DELAYS, from_os_error
from almc_assistant.core.transfer.hooks import CopyHooks
from almc_assistant.core.transfer.job import CopyJob
from almc_assistant.core.winfiles import IN_USE
from tests.integration.test_windows_paths import Holder
from tests.portable import WINDOWS

pytestmark = pytest.mark.skipif(not WINDOWS, reason="Windows share modes")

GENERIC_READ = 0x80000000
SHARE_READ_WRITE = 0x1 | 0x2  # no FILE_SHARE_DELETE: the file cannot be renamed meanwhile


class Scanner(ListSink):
    """Opens every partial the engine is about to read back, as a scanner does; lets go
    of all of them at the ``release_at``-th retry (0: never, until the test ends)."""

    def __init__(self, release_at: int) -> None:
        super().__init__()
        self.release_at = release_at
        self.holders: list[Holder] = []
        self.job: CopyJob | None = None

    def scan(self, partial: Path, start: int, end: int) -> None:
        if self.release_at == 0 or len(self.of_type(CopyRetried)) < self.release_at:
            self.holders.append(Holder(partial, access=GENERIC_READ, share=SHARE_READ_WRITE))

    def publish(self, event: object) -> None:
        super().publish(event)  # type: ignore[arg-type]
        if isinstance(event, CopyRetried) and len(self.of_type(CopyRetried)) == self.release_at:
            self.release()

    def release(self) -> None:
        for holder in self.holders:
            holder.release()


def _copy(tmp_path: Path, scanner: Scanner) -> tuple[Path, Path]:
    src = tmp_path / "src" / "fresh.tif"
    src.parent.mkdir()
    src.write_bytes(b"II*\x00" + bytes(range(256)) * 200)
    dest = tmp_path / "d"
    dest.mkdir()
    request = CopyRequest(
        sources=[src],
        destinations=[dest],
        group_small_files=False,
        hooks=CopyHooks(after_flush=scanner.scan),
    )
    scanner.job = CopyJob(request, scanner)
    try:
        scanner.job.run()
    finally:
        scanner.release()
    return src, dest / "fresh.tif"


def test_a_copy_held_by_a_scanner_for_a_few_seconds_is_retried_then_verified(
    tmp_path: Path,
) -> None:
    scanner = Scanner(release_at=3)  # more retries than other transient errors get
    src, final = _copy(tmp_path, scanner)
    retried = scanner.of_type(CopyRetried)
    assert [r.attempt for r in retried] == [2, 3, 4]
    assert all(IN_USE in r.detail for r in retried)
    (verified,) = scanner.of_type(CopyVerified)
    assert verified.copy.path == final and final.read_bytes() == src.read_bytes()
    assert not scanner.of_type(CopyFailed)


def test_a_copy_held_all_along_fails_saying_how_long_it_waited(tmp_path: Path) -> None:
    scanner = Scanner(release_at=0)
    _src, final = _copy(tmp_path, scanner)
    tries = len(IN_USE_DELAYS) + 1
    assert len(scanner.of_type(CopyRetried)) == tries - 1
    (failed,) = scanner.of_type(CopyFailed)
    assert IN_USE in failed.detail and "permission" not in failed.detail
    assert f"still in use after {tries} tries over {sum(IN_USE_DELAYS):g} s" in failed.detail
    assert failed.next_step and not final.exists()  # nothing unverified under the name


def test_an_access_denied_from_the_c_runtime_is_retried_as_it_may_have_been_a_scan(
    tmp_path: Path,
) -> None:
    """The C runtime turns a sharing violation into EACCES without the Windows code; one
    that ended before the engine could ask (another job reading the copy back) failed a
    concurrent copy at once as "permission was denied" (test_copy_concurrent, under load)."""
    gone = tmp_path / "was-held.tif"  # nobody holds it now
    exc = PermissionError(errno.EACCES, "Permission denied", str(gone))
    err = from_os_error(exc, action="finish the verified copy", path=gone, source=gone)
    assert err.retryable and not err.in_use  # the quick retries, not the scanner's wait
    denied = PermissionError(errno.EACCES, "Access is denied", str(gone), 5)  # from Win32
    assert not from_os_error(denied, action="open", path=gone, source=gone).retryable


class _CancelOnRetry(Scanner):
    def publish(self, event: object) -> None:
        super().publish(event)
        if isinstance(event, CopyRetried) and self.job is not None:
            self.job.cancel()  # the user gives up while the engine waits for the scan


def test_a_cancel_during_the_wait_for_a_scanner_ends_the_job_without_more_tries(
    tmp_path: Path,
) -> None:
    scanner = _CancelOnRetry(release_at=0)
    _src, final = _copy(tmp_path, scanner)
    assert len(scanner.of_type(CopyRetried)) == 1  # no second try after the cancel
    assert not final.exists()
