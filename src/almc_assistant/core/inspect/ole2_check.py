"""OLE2 compound files (Olympus OIB, Office documents): header, FAT and sector chains.

Thread contract: one open file per call; never modifies it.

Layout ([MS-CFB]): a 512-byte header (sector size, the first 109 FAT sector numbers, the
DIFAT chain for more, the first directory and mini-FAT sectors); sector ``n`` lies at
``(n + 1) * sector_size``. The FAT chains sectors together. The walk reads the header,
the DIFAT and FAT sectors and the directory, then follows every stream's chain (large
streams through the FAT, the mini stream's container too) and checks that each chain
stays inside the file, does not loop and is long enough for the stream's size. A copy
cut off short loses sectors at the end, so chains point past the end of the file.
Stream contents are never read, except the directory.
"""

from __future__ import annotations

import array
import struct
import sys
from dataclasses import dataclass, field
from typing import BinaryIO

from almc_assistant.core.inspect import wording
from almc_assistant.core.inspect.finding import Finding
from almc_assistant.core.inspect.structure import MAX_TABLE, Damage, complete, damaged, read_exact
from almc_assistant.core.verdicts import Verdict

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END, _FREE, _FATSECT, _DIFSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFC
_MAX_REGULAR = 0xFFFFFFFA
_MAX_FAT_ENTRIES = MAX_TABLE // 4 * 16  # 1 Gi sectors: far beyond any real file


@dataclass(slots=True)
class Compound:
    """What the walk found: stream names and the problems (plain words)."""

    names: list[str] = field(default_factory=list)
    streams: int = 0
    problems: list[str] = field(default_factory=list)
    # some Office writers leave the last sector short; FluoView does not (OIB only)
    partial_sector: str = ""


def walk_ole2(fh: BinaryIO, size: int) -> Compound:
    """Walk the compound file; raises :class:`Damage` when its tables cannot be read."""
    header = read_exact(fh, 0, 512, size, "header")
    if header[:8] != MAGIC or header[0x1C:0x1E] != b"\xfe\xff":
        raise Damage("Its compound-file header is corrupt (overwritten or zeroed).")
    shift = struct.unpack_from("<H", header, 0x1E)[0]
    if shift not in (9, 12):
        raise Damage(f"Its header declares an impossible sector size (2^{shift}).")
    sector = 1 << shift
    n_fat, first_dir, _, cutoff, first_minifat, n_minifat, first_difat, n_difat = (
        struct.unpack_from("<IIIIIIII", header, 0x2C)
    )
    walker = _Walker(fh, size, sector)
    fat_sectors = walker.difat(header, n_fat, first_difat, n_difat)
    fat = walker.fat(fat_sectors)
    found = Compound()
    directory = walker.chain(fat, first_dir, "directory")
    entries = walker.directory(directory)
    root_size = 0
    for name, kind, start, length in entries:
        if kind == 5:
            root_size = length
            walker.stream(fat, start, length, "mini-stream container", found)
        elif kind == 2:
            found.names.append(name)
            found.streams += 1
            if length >= cutoff:
                walker.stream(fat, start, length, f"stream '{name}'", found)
            elif length and start * 64 >= root_size:
                found.problems.append(f"Its small stream '{name}' lies outside the mini stream.")
    if n_minifat and first_minifat < _MAX_REGULAR:
        walker.chain(fat, first_minifat, "mini-FAT")
    if size % sector:
        found.partial_sector = (
            f"Its length ({size:,} bytes) is not a whole number of {sector}-byte sectors, "
            "as Olympus writes compound files: the end of the file is cut off."
        )
    return found


class _Walker:
    def __init__(self, fh: BinaryIO, size: int, sector: int) -> None:
        self.fh, self.size, self.sector = fh, size, sector
        self.sectors_in_file = max(0, size // sector - 1)

    def _at(self, number: int, what: str) -> bytes:
        return read_exact(self.fh, (number + 1) * self.sector, self.sector, self.size, what)

    def difat(self, header: bytes, n_fat: int, first: int, n_difat: int) -> list[int]:
        # a file of N sectors needs at most N / (sector / 4) FAT sectors (+1 for rounding)
        most = self.size // self.sector // (self.sector // 4) + 1
        if n_fat > min(most, _MAX_FAT_ENTRIES // (self.sector // 4)):
            raise Damage(
                f"Its header declares {n_fat:,} FAT sectors, more than a file of this size "
                "can need (corrupt header)."
            )
        numbers = [n for n in struct.unpack_from("<109I", header, 0x4C) if n < _MAX_REGULAR]
        seen: set[int] = set()
        current = first
        while current < _MAX_REGULAR and len(numbers) < n_fat:
            if current in seen or len(seen) > n_difat + 1:
                raise Damage("Its DIFAT chain loops (corrupt file).")
            seen.add(current)
            data = self._at(current, f"DIFAT sector {current:,}")
            per = self.sector // 4 - 1
            numbers += [n for n in struct.unpack_from(f"<{per}I", data) if n < _MAX_REGULAR]
            current = struct.unpack_from("<I", data, per * 4)[0]
        if len(numbers) < n_fat:
            raise Damage(f"Its header lists {n_fat:,} FAT sectors but only {len(numbers):,} exist.")
        return numbers[:n_fat]

    def fat(self, numbers: list[int]) -> array.array[int]:
        table: array.array[int] = array.array("I")
        for number in numbers:
            table.frombytes(self._at(number, f"FAT sector {number:,}"))
        if sys.byteorder == "big":
            table.byteswap()
        return table

    def chain(self, fat: array.array[int], start: int, what: str) -> list[int]:
        out: list[int] = []
        current, limit = start, len(fat)
        while current != _END:
            if current >= limit or current >= _MAX_REGULAR:
                raise Damage(
                    f"Its {what} chain points to sector {current:,}, which does not exist."
                )
            if len(out) > limit:
                raise Damage(f"Its {what} chain loops (corrupt file).")
            out.append(current)
            current = fat[current]
        return out

    def directory(self, chain: list[int]) -> list[tuple[str, int, int, int]]:
        entries = []
        for number in chain:
            data = self._at(number, "directory")
            for pos in range(0, self.sector, 128):
                raw = data[pos : pos + 128]
                name_len = min(struct.unpack_from("<H", raw, 0x40)[0], 64)
                kind = raw[0x42]
                if kind == 0:
                    continue
                name = raw[: max(0, name_len - 2)].decode("utf-16-le", "replace")
                start, low, high = struct.unpack_from("<III", raw, 0x74)
                length = low if self.sector == 512 else low | high << 32
                entries.append((name, kind, start, length))
        return entries

    def stream(
        self, fat: array.array[int], start: int, length: int, what: str, found: Compound
    ) -> None:
        if length == 0:
            return
        try:
            chain = self.chain(fat, start, what)
        except Damage as exc:
            found.problems.append(str(exc))
            return
        needed = -(-length // self.sector)
        if len(chain) < needed:
            found.problems.append(
                f"Its {what} needs {needed:,} sectors but its chain has only {len(chain):,}."
            )
            return
        last = chain[needed - 1]
        beyond = [n for n in chain[: needed - 1] if n >= self.sectors_in_file]
        tail = length - (needed - 1) * self.sector
        if beyond or (last + 1) * self.sector + tail > self.size:
            found.problems.append(
                f"Its {what} ({length:,} bytes) lies partly beyond the end of the file "
                f"({self.size:,} bytes): the file is cut off."
            )


_OLE_NAMES = (
    ("OibInfo.txt", "Olympus FluoView OIB", True),
    ("PowerPoint Document", "PowerPoint document", False),
    ("WordDocument", "Word document", False),
    ("Workbook", "Excel workbook", False),
)


def check_ole2(fh: BinaryIO, size: int) -> Finding:
    """An OIB is native (complete or damaged); Office documents are other formats."""
    try:
        found = walk_ole2(fh, size)
    except Damage as exc:
        return damaged("OLE2 compound file (OIB or Office document)", [str(exc)], {})
    fmt, native = "OLE2 compound file", False
    for needle, name, is_native in _OLE_NAMES:
        if any(n == needle or n.startswith(needle) for n in found.names):
            fmt, native = name, is_native
            break
    details = {"streams": found.streams}
    if native and found.partial_sector:
        found.problems.append(found.partial_sector)
    if found.problems:
        if native:
            return damaged(fmt, found.problems, details)
        return Finding(
            Verdict.OTHER_FORMAT,
            fmt,
            (
                wording.OTHER_FORMAT.format(article=wording.article(fmt), format=fmt),
                "It is also damaged or cut off: " + found.problems[0],
            ),
            details=details,
        )
    if native:
        return complete(
            fmt,
            f"A complete Olympus OIB file: its compound-file tables are intact and all "
            f"{found.streams:,} streams lie inside the file.",
            details,
        )
    text = wording.OTHER_FORMAT.format(article=wording.article(fmt), format=fmt)
    return Finding(Verdict.OTHER_FORMAT, fmt, (text,), details=details)
