"""One copy of a source file at a destination: the one record of it everywhere.

Thread contract: immutable values and pure functions, safe anywhere.

The copy engine publishes a :class:`CopyRecord` (in ``CopyVerified``) and lists it in the
destination's receipt; the catalog stores it and returns it with the file; policy and
cleanup judge it; reading a receipt back gives it again. A record the catalog holds, a
``CopyVerified`` carries or a receipt's ``"verified"`` list names is verified: the copy
was read back from storage and matched. The only other use is a receipt's
``"pending_upload"`` list (written to a caching mount and read back from its cache: not
verified, never counted).

Receipt rows: :meth:`CopyRecord.receipt_row` writes one, :meth:`CopyRecord.from_receipt_row`
reads one back. The row format has not changed since the first receipts
(``almc-assistant copy receipt 1``); keys a reader does not know are ignored, and
``read_back``/``adopted_existing_copy`` default when absent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath

from almc_assistant.core.identity import FileIdentity
from almc_assistant.core.remotepaths import recorded_path

RECEIPT_FORMAT = "almc-assistant copy receipt 1"

# (device, file number, status-change time in ns) of a source as it was when copied: with
# size and mtime, what "unchanged" means (see core.identity). None: not known (rows written
# before the catalog's schema v2, or a copy read from a receipt).
Ident = tuple[int, int, int]


# The source identity the catalog stores for a copy read from a receipt: the receipt
# does not say which version of the file was copied. Never a real file's (no device -1),
# never the "not known" of rows from before the catalog kept identities (NULL): such a
# copy counts only once the source, re-read from storage, hashes as the copy says
# (``catalog.revalidate``), and a rename or a first identity never adopts it.
NOT_CONFIRMED: Ident = (-1, -1, -1)


def ident_of(identity: FileIdentity | None) -> Ident | None:
    """The part of a :class:`FileIdentity` a record keeps besides size and mtime."""
    if identity is None:
        return None
    return (identity.dev, identity.ino, identity.ctime_ns)


def iso_time(ts: float) -> str:
    """A receipt's timestamp: UTC, ISO 8601, milliseconds."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyRecord:
    """One copy of ``source`` at ``path`` below ``destination_root``, and how it was proven.

    ``size``, ``mtime_ns`` and ``source_ident`` describe the source as it was copied;
    ``blake3`` the bytes read back. ``read_back`` says how they were read back ("" when
    not known: rows the catalog stored); ``adopted`` that an identical file was already
    at the name and was read back instead of written.
    """

    source: Path
    destination_root: PurePath  # on a remote a PurePosixPath (``remotepaths``)
    path: PurePath
    size: int
    mtime_ns: int
    blake3: str
    verified_at: float
    read_back: str = ""
    adopted: bool = False
    source_ident: Ident | None = None
    # A remote copy: what its backend proved (``StoredProof.as_dict()``: "proof" is the
    # ``ProofKind`` value, e.g. "server-blake3"; ``read_back`` then holds its words).
    proof: Mapping[str, object] | None = None

    @property
    def proof_kind(self) -> str:
        """How a remote copy was proven (a ``ProofKind`` value); "" for a local copy."""
        return "" if self.proof is None else str(self.proof.get("proof", ""))

    @property
    def relpath(self) -> str:
        """The copy's path below its destination root, with ``/`` separators."""
        root, parts = self.destination_root.parts, self.path.parts
        if parts[: len(root)] == root:  # cheaper than relative_to (a receipt of 10^5 rows)
            return "/".join(parts[len(root) :])
        return self.path.relative_to(self.destination_root).as_posix()

    def receipt_row(
        self,
        *,
        stamp: str = "verified_at",
        when: Callable[[float], str] = iso_time,
        relpath: str | None = None,
    ) -> dict[str, object]:
        """The receipt's row for this copy. ``stamp`` names the time of the read-back
        (``read_back_at`` in the pending-upload list); ``when`` formats times (a job
        formats a group's shared verification time once); ``relpath``: :attr:`relpath`,
        when the caller has it already."""
        row: dict[str, object] = {
            "source": str(self.source),
            "destination": str(self.path),
            "relative_path": self.relpath if relpath is None else relpath,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "mtime": iso_time(self.mtime_ns / 1e9),
            "blake3": self.blake3,
            stamp: when(self.verified_at),
            "read_back": self.read_back,
            "adopted_existing_copy": self.adopted,
        }
        if self.proof is not None:
            row["proof"] = dict(self.proof)
        return row

    @classmethod
    def from_receipt_row(cls, row: Mapping[str, object], destination_root: PurePath) -> CopyRecord:
        """A row of a receipt's ``"verified"`` list, as found under ``destination_root``.
        Raises ``KeyError``, ``TypeError`` or ``ValueError`` for a malformed row."""
        verified_at = row["verified_at"]
        if not isinstance(verified_at, str):
            raise TypeError("verified_at is not a string")
        return cls(
            source=Path(_text(row["source"])),
            destination_root=destination_root,
            path=recorded_path(_text(row["destination"])),
            size=_int(row["size"]),
            mtime_ns=_int(row["mtime_ns"]),
            blake3=_text(row["blake3"]),
            verified_at=dt.datetime.fromisoformat(verified_at).timestamp(),
            read_back=_text(row.get("read_back", "")),
            adopted=row.get("adopted_existing_copy", False) is True,
            proof=proof if isinstance(proof := row.get("proof"), Mapping) else None,
        )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{value!r} is not a whole number")
    return int(value)
