"""A minimal, fast walk over every page header (IFD) of a TIFF or BigTIFF.

Thread contract: pure reading of one open file; safe from any thread (one file object
per call).

Why not tifffile for this: building a ``TiffPage`` costs ~50 µs per page (5 s for a
100,000-page file), and its fast ``useframes`` mode assumes every page is compressed like
the first, so it misses a single compressed page (DOMAIN.md 3.4). This walker reads only
the tags a policy audit needs (compression, photometric, bits, samples, sample format,
data offsets and byte counts) and records, without ever raising on a bad file:

- the compression of every page, as runs (``[(code, first, last), ...]``);
- every distinct pixel layout (photometric, bits, samples, sample format);
- the problems that mean damage: a page header or image data beyond the end of the file,
  a looping page chain, unreadable tag arrays.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO

# tags
_WIDTH, _LENGTH, _BITS, _COMPRESSION, _PHOTOMETRIC = 256, 257, 258, 259, 262
_DESCRIPTION, _SOFTWARE, _SAMPLES, _PLANAR, _SAMPLEFORMAT = 270, 305, 277, 284, 339
_STRIP_OFFSETS, _STRIP_COUNTS, _TILE_OFFSETS, _TILE_COUNTS = 273, 279, 324, 325
_FIRST_PAGE_TEXT = {_DESCRIPTION, _SOFTWARE, 51123, 65500}
# TIFF field type -> struct code (only the integer types offsets and counts use)
_INT_TYPES = {1: "B", 3: "H", 4: "I", 16: "Q", 6: "b", 8: "h", 9: "i", 17: "q", 13: "I", 18: "Q"}
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
              13: 4, 16: 8, 17: 8, 18: 8}  # fmt: skip
_MAX_TEXT = 4 << 20  # read at most 4 MiB of a first-page text tag


class NotTiff(ValueError):
    """The header is not a TIFF header."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Pixel layout of a page (pages with the same layout are counted together)."""

    photometric: int | None
    bits: int
    samples: int
    sampleformat: int
    planar: int


@dataclass(slots=True)
class PageWalk:
    """What walking the page chain found."""

    bigtiff: bool
    byteorder: str
    pages: int = 0
    compression_runs: list[tuple[int, int, int]] = field(default_factory=list)
    layouts: dict[Layout, int] = field(default_factory=dict)
    first_shape: tuple[int, int] = (0, 0)
    first_page_tags: frozenset[int] = frozenset()
    first_page_text: dict[int, str] = field(default_factory=dict)
    first_data_offset: int | None = None
    data_end: int = 0  # the furthest byte any page's image data reaches
    tiled: bool = False
    problems: list[str] = field(default_factory=list)
    # first strip/tile (offset, length) of the first page of each compression run, so a
    # codec whose lossiness depends on its settings (WebP, JPEG, JPEG 2000) can be probed
    run_samples: list[tuple[int, int]] = field(default_factory=list)

    def codes(self) -> set[int]:
        return {code for code, _, _ in self.compression_runs}


def walk_pages(fh: BinaryIO, size: int, head: bytes = b"") -> PageWalk:
    """Walk every IFD of the open TIFF ``fh`` (``size`` bytes long). Raises only NotTiff.

    ``head`` (the first bytes of the file, already read) saves re-reading a page header
    that lies inside it, as the first page's usually does.
    """
    fh.seek(0)
    header = head[:16] if len(head) >= 16 else fh.read(16)
    if header[:2] not in (b"II", b"MM") or len(header) < 8:
        raise NotTiff("not a TIFF header")
    bo = "<" if header[:2] == b"II" else ">"
    version = struct.unpack(bo + "H", header[2:4])[0]
    if version == 42:
        walk = PageWalk(bigtiff=False, byteorder=bo)
        first = struct.unpack(bo + "I", header[4:8])[0]
        count_fmt, entry_fmt, next_fmt, inline = bo + "H", bo + "HHI4s", bo + "I", 4
    elif version == 43 and len(header) >= 16:
        walk = PageWalk(bigtiff=True, byteorder=bo)
        first = struct.unpack(bo + "Q", header[8:16])[0]
        count_fmt, entry_fmt, next_fmt, inline = bo + "Q", bo + "HHQ8s", bo + "Q", 8
    else:
        raise NotTiff(f"unknown TIFF version {version}")
    walker = _Walker(_Reader(fh, head), size, walk, count_fmt, entry_fmt, next_fmt, inline)
    walker.run(first)
    return walk


class _Reader:
    """Reads from the already-read head when it covers the bytes, else from the file."""

    def __init__(self, fh: BinaryIO, head: bytes) -> None:
        self.fh, self.head, self.pos = fh, head, 0

    def seek(self, pos: int) -> None:
        self.pos = pos

    def read(self, n: int) -> bytes:
        start, self.pos = self.pos, self.pos + n
        if start + n <= len(self.head):
            return self.head[start : start + n]
        if start >= 1 << 62:  # a corrupt 64-bit offset: nothing is there
            return b""
        self.fh.seek(start)
        return self.fh.read(n)


class _Walker:
    def __init__(
        self,
        fh: _Reader,
        size: int,
        walk: PageWalk,
        count_fmt: str,
        entry_fmt: str,
        next_fmt: str,
        inline: int,
    ) -> None:
        self.fh, self.size, self.walk = fh, size, walk
        self.count = struct.Struct(count_fmt)
        self.entry = struct.Struct(entry_fmt)
        self.next = struct.Struct(next_fmt)
        self.inline = inline
        self.bo = walk.byteorder

    def run(self, offset: int) -> None:
        walk, seen = self.walk, set()
        if offset == 0:
            walk.problems.append("The file declares no pages at all.")
        while offset:
            if offset in seen:
                walk.problems.append(
                    f"The page chain loops back after page {walk.pages} (corrupt file)."
                )
                return
            seen.add(offset)
            nxt = self._page(offset)
            if nxt is None:
                return
            offset = nxt

    def _page(self, offset: int) -> int | None:
        walk, fh = self.walk, self.fh
        number = walk.pages + 1
        if offset + self.count.size > self.size:
            walk.problems.append(
                f"Page {number} should start at byte {offset:,} but the file ends at byte "
                f"{self.size:,}: the rest of the file is missing."
            )
            return None
        fh.seek(offset)
        (n,) = self.count.unpack(fh.read(self.count.size))
        block_len = n * self.entry.size + self.next.size
        # a corrupt count can ask for exabytes: never read past the end of the file
        block = fh.read(block_len) if block_len <= self.size - offset else b""
        if n == 0 or len(block) < block_len:
            walk.problems.append(
                f"The header of page {number} is cut off or empty (corrupt or truncated)."
            )
            return None
        tags: dict[int, tuple[int, int, bytes]] = {}
        for tag, typ, cnt, raw in self.entry.iter_unpack(block[: n * self.entry.size]):
            tags[tag] = (typ, cnt, raw)
        walk.pages = number
        try:
            self._record(number, tags)
        except _BadArray as exc:
            walk.problems.append(
                f"The header of page {number} points to values at byte {exc.pos:,}, beyond "
                f"the end of the file ({self.size:,} bytes): the file is truncated or corrupt."
            )
            return None
        return int(self.next.unpack(block[-self.next.size :])[0])

    def _ints(self, entry: tuple[int, int, bytes] | None, default: int = 0) -> tuple[int, ...]:
        if entry is None:
            return (default,)
        typ, cnt, raw = entry
        code = _INT_TYPES.get(typ)
        if code is None or cnt == 0:
            return (default,)
        nbytes = cnt * _TYPE_SIZE[typ]
        if nbytes <= self.inline:
            data = raw[:nbytes]
        else:
            (pos,) = struct.unpack(self.bo + ("I" if self.inline == 4 else "Q"), raw)
            if pos + nbytes > self.size:
                raise _BadArray(pos)
            self.fh.seek(pos)
            data = self.fh.read(nbytes)
            if len(data) < nbytes:
                raise _BadArray(pos)
        return struct.unpack(f"{self.bo}{cnt}{code}", data)

    def _text(self, entry: tuple[int, int, bytes]) -> str:
        typ, cnt, raw = entry
        nbytes = cnt * _TYPE_SIZE.get(typ, 1)
        if nbytes <= self.inline:
            data = raw[:nbytes]
        else:
            (pos,) = struct.unpack(self.bo + ("I" if self.inline == 4 else "Q"), raw)
            if pos >= self.size:
                return ""
            self.fh.seek(pos)
            data = self.fh.read(min(nbytes, _MAX_TEXT, self.size - pos))
        return data.rstrip(b"\x00").decode("utf-8", "replace")

    def _record(self, number: int, tags: dict[int, tuple[int, int, bytes]]) -> None:
        walk = self.walk
        compression = self._ints(tags.get(_COMPRESSION), 1)[0]
        runs = walk.compression_runs
        new_run = not runs or runs[-1][0] != compression
        if new_run:
            runs.append((compression, number, number))
        else:
            runs[-1] = (compression, runs[-1][1], number)
        photometric = self._ints(tags[_PHOTOMETRIC])[0] if _PHOTOMETRIC in tags else None
        layout = Layout(
            photometric=photometric,
            bits=self._ints(tags.get(_BITS), 1)[0],
            samples=self._ints(tags.get(_SAMPLES), 1)[0],
            sampleformat=self._ints(tags.get(_SAMPLEFORMAT), 1)[0],
            planar=self._ints(tags.get(_PLANAR), 1)[0],
        )
        walk.layouts[layout] = walk.layouts.get(layout, 0) + 1
        if number == 1:
            walk.first_shape = (self._ints(tags.get(_LENGTH))[0], self._ints(tags.get(_WIDTH))[0])
            walk.first_page_tags = frozenset(tags)
            for tag in _FIRST_PAGE_TEXT & tags.keys():
                walk.first_page_text[tag] = self._text(tags[tag])
        self._data(number, tags, new_run)

    def _data(self, number: int, tags: dict[int, tuple[int, int, bytes]], new_run: bool) -> None:
        walk = self.walk
        tiled = _TILE_OFFSETS in tags
        walk.tiled = walk.tiled or tiled
        offsets_tag, counts_tag = (
            (_TILE_OFFSETS, _TILE_COUNTS) if tiled else (_STRIP_OFFSETS, _STRIP_COUNTS)
        )
        if offsets_tag not in tags:
            walk.problems.append(f"Page {number} does not say where its image data are.")
            return
        try:
            offsets = self._ints(tags[offsets_tag])
            counts = self._ints(tags.get(counts_tag))
        except _BadArray as exc:
            walk.problems.append(
                f"The data table of page {number} lies at byte {exc.pos:,}, beyond the end "
                f"of the file ({self.size:,} bytes): the file is truncated."
            )
            return
        if counts_tag not in tags:
            counts = (0,) * len(offsets)
        if len(counts) != len(offsets):
            walk.problems.append(f"Page {number} has an inconsistent image-data table.")
            return
        end = max((o + c for o, c in zip(offsets, counts, strict=True) if c), default=0)
        if walk.first_data_offset is None and offsets:
            walk.first_data_offset = offsets[0]
        if end > self.size:
            walk.problems.append(
                f"The image data of page {number} run to byte {end:,}, beyond the end of "
                f"the file ({self.size:,} bytes): the file is truncated."
            )
        walk.data_end = max(walk.data_end, end)
        if new_run:
            walk.run_samples.append((offsets[0], counts[0]) if offsets else (0, 0))


class _BadArray(Exception):
    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos
