"""The session marker: "this session has N files not backed up", kept current on disk.

Thread contract: :class:`SessionMarker` methods may be called from any thread; writes are
serialised by a lock. Each write goes to a temporary file in the same folder, is flushed
(and, unless ``durable=False``, fsynced) and then replaces the marker with ``os.replace``,
so a reader never sees half a marker even if the process is killed mid-write.

Why continuously: a session can end with no callback at all (SIGKILL, a lost X11/Wayland
connection, a forced Windows logoff, ``aboutToQuit`` never running). The marker already
says what was at risk, and the next login reads it to show the strongest reminder.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.errors import describe_os_error
from almc_assistant.core.session_end.events import EndKind
from almc_assistant.core.session_end.pending import PendingSummary

log = logging.getLogger(__name__)

MARKER_NAME = "session-end.json"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class MarkerRecord:
    """What the marker says: the pending data when last written, and how the session ended."""

    pending: PendingSummary
    updated: float  # when the pending state was last written
    ended_kind: EndKind | None = None  # set when the OS announced the end of the session
    ended_at: float | None = None


class SessionMarker:
    """Reads and atomically rewrites ``state_dir/session-end.json``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / MARKER_NAME
        self._lock = threading.Lock()

    def write(self, record: MarkerRecord, *, durable: bool = True) -> None:
        """Replace the marker with ``record``. Raises ``AlmcError`` on an OS error."""
        data = {
            "version": _VERSION,
            "files": record.pending.files,
            "bytes": record.pending.bytes,
            "oldest": record.pending.oldest,
            "updated": record.updated,
            "ended_kind": record.ended_kind.value if record.ended_kind else None,
            "ended_at": record.ended_at,
        }
        payload = json.dumps(data, indent=1).encode()
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".session-end.", dir=self.path.parent)
                try:
                    with os.fdopen(fd, "wb") as f:
                        f.write(payload)
                        f.flush()
                        if durable:
                            os.fsync(f.fileno())
                    Path(tmp).replace(self.path)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
            except OSError as exc:
                raise describe_os_error(
                    exc, action="write the session marker", path=self.path
                ) from exc

    def read(self) -> MarkerRecord | None:
        """The marker, or ``None`` when there is none or it cannot be understood (logged)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            err = describe_os_error(exc, action="read the session marker", path=self.path)
            log.warning("%s %s", err, err.next_step)
            return None
        try:
            return _parse(json.loads(raw))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning(
                "Ignoring the session marker %s: it is not a marker this version understands "
                "(%s). It will be rewritten.",
                self.path,
                exc,
            )
            return None


def _parse(data: object) -> MarkerRecord:
    if not isinstance(data, dict) or data.get("version") != _VERSION:
        raise ValueError("unknown marker version")
    oldest = data["oldest"]
    ended = data.get("ended_kind")
    ended_at = data.get("ended_at")
    return MarkerRecord(
        pending=PendingSummary(
            files=_int(data["files"]),
            bytes=_int(data["bytes"]),
            oldest=None if oldest is None else float(oldest),
        ),
        updated=float(data["updated"]),
        ended_kind=None if ended is None else EndKind(ended),
        ended_at=None if ended_at is None else float(ended_at),
    )


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {value!r}")
    return value
