"""``verify`` on a remote destination: prove again every copy its manifest lists.

Thread contract: :func:`verify_remote` runs on the caller's thread with ``workers``
threads of its own (joined before it returns); ``EntryChecked`` events are published
from those threads. A daemon it starts (without the service's) is stopped before it returns.

Each listed copy is proven the way the backend can (:meth:`DestinationBackend.prove`
with the BLAKE3 the manifest recorded): over SFTP the server's own ``b3sum`` over the
stored file; where the server has no BLAKE3 (S3, Drive, OneDrive, SMB, WebDAV) the copy
is downloaded back and hashed here. The report says which proof was used. The manifest
is the root file plus the parts of jobs not merged yet (``rclone_backend``); an empty one
is never "all good".
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from almc_assistant.core.destination_backend import DestinationBackend, SourceDigests
from almc_assistant.core.errors import AlmcError, UsageError
from almc_assistant.core.events import EventSink
from almc_assistant.core.remotepaths import remote_path
from almc_assistant.core.transfer.events import EntryChecked
from almc_assistant.core.transfer.naming import MANIFEST_NAME, is_own_record
from almc_assistant.core.transfer.verifier import VerifyReport

if TYPE_CHECKING:
    from almc_assistant.core.remote.session import RemoteSession


def verify_remote(
    text: str,
    sink: EventSink,
    *,
    workers: int = 2,
    config: Path | None = None,
    session: RemoteSession | None = None,
) -> VerifyReport:
    """Check remote destination ``text`` (``research:lab/me``) against its manifest;
    ``session``: the service's daemon (else one of its own, stopped at the end)."""
    from almc_assistant.core.remote.session import RemoteSession

    own = RemoteSession(config) if session is None else None
    session = session or own
    assert session is not None
    try:
        backend = session.open(text)
        entries = backend.read_manifest()
        if not entries and backend.stat(MANIFEST_NAME) is None:
            raise UsageError(
                f"{text} has no {MANIFEST_NAME}: nothing was copied there by "
                "'almc-assistant copy', or it is not the destination folder itself.",
                title="Nothing to verify",
                next_step=f"Give the destination you copied to (the one holding {MANIFEST_NAME}).",
            )
        report = VerifyReport(remote_path(text), listed=len(entries))
        _check_all(backend, text, entries, report, sink, workers)
        listed = {e.relpath for e in backend.list("", recursive=True) if not e.is_dir}
        for rel in sorted(listed - set(entries)):
            if not is_own_record(rel) and not rel.rsplit("/", 1)[-1].startswith(".almc-probe"):
                report.extra.append(rel)
                sink.publish(
                    EntryChecked(
                        destination_root=report.root,
                        relative_path=rel,
                        outcome="extra",
                        detail=f"{remote_path(text, rel)} is not listed in the manifest.",
                    )
                )
        for lst in (report.matched, report.differing, report.missing):
            lst.sort()
        return report
    finally:
        if own is not None:
            own.stop()


def _check_all(
    backend: DestinationBackend,
    text: str,
    entries: dict[str, str],
    report: VerifyReport,
    sink: EventSink,
    workers: int,
) -> None:
    lock = threading.Lock()
    todo: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
    for item in sorted(entries.items()):
        todo.put(item)

    def check(rel: str, expected: str) -> None:
        actual: str | None = None
        detail, size, words = "", 0, ""
        where = remote_path(text, rel)
        try:
            entry = backend.stat(rel)
            if entry is None or entry.is_dir:
                outcome, detail = "missing", f"{where} is listed in the manifest but missing."
            else:
                size = entry.size
                proof = backend.prove(rel, SourceDigests(size=size, blake3=expected))
                actual, words = proof.stored, proof.words
                outcome = "match" if proof.verified else "differs"
                if not proof.verified:
                    detail = (
                        f"{where} no longer matches the BLAKE3 recorded when it was copied "
                        f"({words})."
                    )
        except AlmcError as exc:
            outcome, detail = "error", exc.detail
        report.note(
            lock,
            sink,
            rel,
            outcome,
            expected=expected,
            actual=actual,
            detail=detail,
            size=size,
            proof=words,
        )

    def loop() -> None:
        while True:
            try:
                rel, expected = todo.get_nowait()
            except queue.Empty:
                return
            check(rel, expected)

    threads = [threading.Thread(target=loop, name=f"almc-verify-{i}") for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
