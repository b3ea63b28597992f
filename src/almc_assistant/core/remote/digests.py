"""Every digest the destinations of one file need, fed by the single read of the source.

Thread contract: one :class:`ReadPassDigests` per file, used by the one worker reading it.
BLAKE3 always (our manifest and local read-back); MD5, SHA-256 and QuickXorHash only
when a destination can compare one of them with a hash its server computed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Protocol

import blake3

from almc_assistant.core.destination_backend import SourceDigests

EXTRA = ("md5", "sha256", "quickxor")


class _Hasher(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> object: ...

    def hexdigest(self) -> str: ...


def _new(name: str) -> _Hasher:
    if name == "quickxor":  # numpy, imported only for a OneDrive destination (75 ms)
        from almc_assistant.core.remote.quickxor import QuickXorHash

        return QuickXorHash()
    return hashlib.new(name)


class ReadPassDigests:
    """``update(chunk)`` per chunk read; :meth:`result` at the end."""

    def __init__(self, wanted: Iterable[str] = (), *, threads: bool = True) -> None:
        """``threads=False``: single-threaded BLAKE3 (the copy engine runs one hasher per
        worker already)."""
        names = set(wanted)
        unknown = names - set(EXTRA) - {"blake3"}
        if unknown:
            raise ValueError(f"unknown digests: {sorted(unknown)}")
        self._blake3 = blake3.blake3(max_threads=blake3.blake3.AUTO if threads else 1)
        self._others = {name: _new(name) for name in EXTRA if name in names}
        self._size = 0

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._blake3.update(chunk)
        for h in self._others.values():
            h.update(chunk)
        self._size += len(chunk)

    def result(self) -> SourceDigests:
        return SourceDigests(
            size=self._size,
            blake3=self._blake3.hexdigest(),
            others={name: h.hexdigest() for name, h in self._others.items()},
        )
