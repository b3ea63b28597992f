"""One hidden partial file of a copy: written through its writer, verified by its read-back.

Created, read back and removed relative to its open :class:`~folder.Folder` (never by a
path that could have been redirected since): in the folder of its final name, or on a
network share in a staging folder (:mod:`staging`, ``Folder.home``).

Thread contract: owned by the pipeline's worker thread; its :class:`StreamWriter` and
:class:`ReadBack` may run threads of their own, which :meth:`PartialFile.close` joins.
:meth:`PartialFile.discard` removes the partial (idempotent, never raises) and releases
its name; after a successful rename (:attr:`PartialFile.published` set by the pipeline) it
only closes and releases: no removal of a name that is gone (a round trip on a share).
"""

from __future__ import annotations

import os

from almc_assistant.core.transfer import cache
from almc_assistant.core.transfer import direct as _direct
from almc_assistant.core.transfer.folder import Folder
from almc_assistant.core.transfer.naming import partial_name, release_partial
from almc_assistant.core.transfer.readback import FlushHook, ReadBack
from almc_assistant.core.transfer.targets import Target
from almc_assistant.core.transfer.writer import StreamWriter

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


class PartialFile:
    """One hidden partial: its descriptor, its writer and its read-back."""

    def __init__(
        self,
        target: Target,
        folder: Folder,
        buffer: _direct.Buffer,
        *,
        trailing: bool,
        threaded_writes: bool,
        window: int,
        after_flush: FlushHook | None,
        direct: bool = False,
    ):
        """``direct``: write and read back with ``O_DIRECT`` where the file system
        :func:`~direct.suits` (``buffer`` and the chunks written must then be page
        aligned, as :class:`~streamed.StreamedMover`'s are)."""
        self.target = target
        self.folder = folder
        self.name = partial_name(target.final.name)
        self.home = folder.home  # where the partial is: here, or a staging folder
        self.partial = self.home.path / self.name
        self.published = False  # renamed to its final name: nothing left to remove
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        try:
            self.fd = self.home.open(self.name, flags, 0o644)
        except BaseException:
            release_partial(self.partial.name)
            raise
        self.readback: ReadBack | None = None
        self._direct = False  # the writes go to the device, not through the cache
        try:
            cache.prepare(self.fd)
            self._direct = direct and _direct.enable(self.fd)
            reader = self.home.open(self.name, os.O_RDONLY | _NOFOLLOW)
            self.readback = ReadBack(
                self.partial,
                self.fd,
                buffer,
                threaded=trailing,
                after_flush=after_flush,
                reader_fd=reader,
                direct=self._direct,
            )
        except BaseException:
            self.discard()
            raise
        self.writer = StreamWriter(
            self.write,
            self.readback.submit,
            window,
            threaded=threaded_writes,
            name=f"almc-writer {target.final.name}",
        )

    def write(self, data: memoryview) -> None:
        if self._direct and not _direct.aligned(len(data)):
            self._write_through_cache()  # the tail: O_DIRECT takes whole blocks only
        while data:
            try:
                n = os.write(self.fd, data)
            except OSError as exc:
                if not (self._direct and _direct.refused(exc)):
                    raise
                self._write_through_cache()  # refused: the rest through the cache
                continue
            data = data[n:]
            if self._direct and not _direct.aligned(n):
                self._write_through_cache()  # a short write: what follows is unaligned

    def _write_through_cache(self) -> None:
        self._direct = False
        _direct.disable(self.fd)

    def close(self) -> None:
        writer: StreamWriter | None = getattr(self, "writer", None)
        if writer is not None:
            writer.close()
        if self.readback is not None:
            self.readback.close()
            self.readback = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def discard(self) -> None:
        try:
            self.close()
        except OSError:
            pass
        if not self.published:
            try:
                self.home.unlink(self.name)
            except OSError:
                pass
        release_partial(self.partial.name)
        self.folder.close()
