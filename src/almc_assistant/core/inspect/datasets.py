"""Multi-file datasets: which files belong together, and which are missing.

Thread contract: runs on the calling thread; reads directory listings and index XML,
never image data. A ``Disk`` caches listings for one run (not shared between threads).

Datasets are defined by the formats' own layouts (DOMAIN.md 1.1, 1.3, 7.1): an Opera
Phenix / Harmony export (``Index.idx.xml`` plus the images it lists, plus sibling
``FFC_Profile/`` and ``Assaylayout/``), OIF + ``name.oif.files/``, VSI + ``_name_/``,
SLDY + ``name.dir/``, OIR + ``name_00001``..., Micro-Manager ``prefix_MMStack*.tif`` (with
its ``metadata.txt`` / ``display_and_comments.txt``),
CZI + ``name (1).czi``..., LIF + ``.lifext``, and an ND2 series (NIS-Elements runs saved
as numbered files beside each other: ``run001.nd2``, ``run002.nd2``... or JOBS'
``..._Seq0001.nd2``; two or more with the same name before the number). Grouping uses
names and folders because that is how these formats tie their files together; verdicts
still come from contents.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

HARMONY = "Opera Phenix / Harmony export"
OIF, VSI, SLDY = "Olympus OIF dataset", "Olympus/Evident VSI dataset", "3i SlideBook 7 dataset"
OIR, MMSTACK = "Olympus OIR multi-part file", "Micro-Manager image stack"
CZI, LIF = "Zeiss CZI multi-part file", "Leica LIF with LIFEXT"
ND2_SERIES = "ND2 series"
_INDEX_NAMES = ("Index.idx.xml", "Index.ref.xml", "Index.xml")
_HARMONY_SIBLINGS = ("FFC_Profile", "Assaylayout")
_OIR_PART = re.compile(r"^(?P<stem>.+)_\d{5}$")
_MMSTACK = re.compile(r"^(?P<prefix>.+)_MMStack(?:_[^.]*)?(?:\.ome)?\.tiff?$", re.IGNORECASE)
_MM_METADATA = ("metadata.txt", "display_and_comments.txt", "comments.txt")
_CZI_PART = re.compile(r"^(?P<stem>.+) \(\d+\)\.czi$", re.IGNORECASE)
ND2_NUMBERED = re.compile(r"^(?P<stem>.*?)(?P<number>\d+)\.nd2$", re.IGNORECASE)
_MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Layout:
    """The files of one dataset as found on disk."""

    kind: str
    anchor: Path
    members: tuple[Path, ...]
    missing: tuple[Path, ...]
    notes: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return str(self.anchor)


class Disk:
    """Directory listings, cached for one run (``cached=False`` for single lookups)."""

    def __init__(self, cached: bool = True) -> None:
        self.cached = cached
        self._names = lru_cache(maxsize=4096)(self._list) if cached else self._list
        self._memo: dict[tuple[str, Path], tuple[str, Path] | None] = {}
        self.groups: dict[tuple[str, Path], frozenset[str]] = {}  # stems with parts
        self.series: dict[Path, dict[str, tuple[str, ...]]] = {}  # ND2 series per folder

    @staticmethod
    def _list(folder: Path) -> frozenset[str]:
        try:
            return frozenset(os.listdir(folder))  # noqa: PTH208  (names only, fast)
        except OSError:
            return frozenset()

    def memo(
        self, key: tuple[str, Path], compute: Callable[[], tuple[str, Path] | None]
    ) -> tuple[str, Path] | None:
        """Per-folder answers (computed once per run when cached)."""
        if not self.cached:
            return compute()
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def exists(self, path: Path) -> bool:
        if self.cached:
            return path.name in self._names(path.parent)
        return path.exists()

    def files_under(self, folder: Path) -> list[Path]:
        out: list[Path] = []
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            out.extend(Path(root) / f for f in sorted(files))
        return out


def anchor_of(path: Path, disk: Disk) -> tuple[str, Path] | None:
    """The dataset ``path`` belongs to, as (kind, anchor file), judged by layout."""
    if path.name in _INDEX_NAMES:
        return HARMONY, path
    parent = path.parent
    found = disk.memo(("harmony", parent), lambda: _harmony_index_for(parent, disk))
    if found:
        return found
    found = _by_suffix(path, disk)
    if found:
        return found
    return disk.memo(("ancestor", parent), lambda: _by_ancestor(parent, disk))


def _harmony_index_for(folder: Path, disk: Disk) -> tuple[str, Path] | None:
    for index in _INDEX_NAMES:
        if disk.exists(folder / index):
            return HARMONY, folder / index
        if folder.name in _HARMONY_SIBLINGS and disk.exists(folder.parent / "Images" / index):
            return HARMONY, folder.parent / "Images" / index
    return None


def _by_suffix(path: Path, disk: Disk) -> tuple[str, Path] | None:
    name, parent, suffix = path.name, path.parent, path.suffix.lower()
    if suffix == ".oif":
        return OIF, path
    if suffix == ".vsi":
        return VSI, path
    if suffix == ".sldy":
        return SLDY, path
    if suffix == ".oir":
        has = _has_parts(path, disk, _OIR_PART, f"{path.stem}_00001")
        return (OIR, path) if has else None
    if (m := _OIR_PART.match(name)) and disk.exists(parent / f"{m['stem']}.oir"):
        return OIR, parent / f"{m['stem']}.oir"
    if m := _MMSTACK.match(name):
        return MMSTACK, parent / f"{m['prefix']}_MMStack"
    if name in _MM_METADATA:
        prefixes = sorted({m["prefix"] for n in _names(parent, disk) if (m := _MMSTACK.match(n))})
        if prefixes:  # Micro-Manager's metadata beside its stacks
            return MMSTACK, parent / f"{prefixes[0]}_MMStack"
    if (m := _CZI_PART.match(name)) and disk.exists(parent / f"{m['stem']}.czi"):
        return CZI, parent / f"{m['stem']}.czi"
    if suffix == ".czi" and _has_parts(path, disk, _CZI_PART, f"{path.stem} (1).czi"):
        return CZI, path
    if suffix == ".lifext" and disk.exists(path.with_suffix(".lif")):
        return LIF, path.with_suffix(".lif")
    if suffix == ".lif" and disk.exists(path.with_suffix(".lifext")):
        return LIF, path
    if suffix == ".nd2" and (m := ND2_NUMBERED.match(name)):
        stem = m["stem"].lower()
        members = (nd2_series(parent, disk) if disk.cached else _one_series(parent, stem)).get(stem)
        if members:
            return ND2_SERIES, parent / members[0]
    return None


def _one_series(folder: Path, stem: str) -> dict[str, tuple[str, ...]]:
    """:func:`nd2_series` for one name only (a single lookup: a large folder's other
    names are passed over without the pattern)."""
    names = [
        n for n in Disk._list(folder) if n.lower().startswith(stem) and n[-4:].lower() == ".nd2"
    ]
    found = nd2_series_of(names)
    return {stem: found[stem]} if stem in found else {}


def nd2_series(folder: Path, disk: Disk) -> dict[str, tuple[str, ...]]:
    """The ND2 series in ``folder``: name before the number (lower case) -> the file
    names in number order, for names shared by two or more numbered ND2 files."""
    found = disk.series.get(folder) if disk.cached else None
    if found is None:
        found = nd2_series_of(_names(folder, disk))
        if disk.cached:
            disk.series[folder] = found
    return found


def nd2_series_of(names: Iterable[str]) -> dict[str, tuple[str, ...]]:
    stems: dict[str, list[tuple[int, str]]] = {}
    for n in names:
        if m := ND2_NUMBERED.match(n):
            stems.setdefault(m["stem"].lower(), []).append((int(m["number"]), n))
    return {s: tuple(n for _, n in sorted(ns)) for s, ns in stems.items() if len(ns) > 1}


def _series_gaps(names: tuple[str, ...]) -> list[str]:
    """Numbers missing between the first and the last file of a series (as names)."""
    matches = [m for n in names if (m := ND2_NUMBERED.match(n))]
    numbers = {int(m["number"]) for m in matches}
    first = matches[0]
    width, stem = len(first["number"]), first["stem"]
    low, high = min(numbers), max(numbers)
    if high - low >= 2 * len(numbers) + 10:  # not one run (dates or times as numbers)
        return []
    gaps = [i for i in range(low, high) if i not in numbers]
    return [f"{stem}{i:0{width}d}.nd2" for i in gaps]


def _by_ancestor(start: Path, disk: Disk) -> tuple[str, Path] | None:
    for depth, folder in enumerate((start, *start.parents)):
        if depth >= _MAX_DEPTH or folder == folder.parent:
            break
        fname = folder.name
        if fname.lower().endswith(".oif.files"):
            return OIF, folder.parent / fname[: -len(".files")]
        if fname.startswith("_") and fname.endswith("_") and len(fname) > 2:
            vsi = folder.parent / f"{fname[1:-1]}.vsi"
            if disk.exists(vsi):
                return VSI, vsi
        if fname.lower().endswith(".dir"):
            sldy = folder.parent / f"{fname[:-4]}.sldy"
            if disk.exists(sldy):
                return SLDY, sldy
    return None


def _has_parts(anchor: Path, disk: Disk, pattern: re.Pattern[str], first: str) -> bool:
    """Whether ``anchor`` has numbered parts beside it (a multi-part CZI or OIR).

    A run lists each folder once and keeps the stems that have parts; a single lookup
    only asks whether the first part exists (no listing of a large folder per file).
    """
    if not disk.cached:
        return disk.exists(anchor.parent / first)
    key = (pattern.pattern, anchor.parent)
    if key not in disk.groups:
        names = _names(anchor.parent, disk)
        disk.groups[key] = frozenset(m["stem"] for n in names if (m := pattern.match(n)))
    return anchor.stem in disk.groups[key]


def _names(folder: Path, disk: Disk) -> frozenset[str]:
    return disk._names(folder) if disk.cached else Disk._list(folder)


def _oir_parts(anchor: Path, disk: Disk) -> list[Path]:
    stem = anchor.stem
    return [
        anchor.parent / n
        for n in sorted(_names(anchor.parent, disk))
        if (m := _OIR_PART.match(n)) and m["stem"] == stem
    ]


def layout(kind: str, anchor: Path, disk: Disk) -> Layout:
    """List the files of the dataset anchored at ``anchor`` and those it lacks."""
    parent = anchor.parent
    if kind == HARMONY:
        return _harmony(anchor, disk)
    companions: dict[str, Path] = {
        OIF: parent / f"{anchor.name}.files",
        VSI: parent / f"_{anchor.stem}_",
        SLDY: parent / f"{anchor.stem}.dir",
    }
    if kind in companions:
        folder = companions[kind]
        if not folder.is_dir():
            return Layout(kind, anchor, _present([anchor], disk), (folder,))
        return Layout(kind, anchor, _present([anchor, *disk.files_under(folder)], disk), ())
    if kind == OIR:
        return Layout(kind, anchor, _present([anchor, *_oir_parts(anchor, disk)], disk), ())
    if kind == MMSTACK:
        prefix = anchor.name[: -len("_MMStack")]
        listing = _names(parent, disk)
        names = sorted(n for n in listing if (m := _MMSTACK.match(n)) and m["prefix"] == prefix)
        names += [n for n in _MM_METADATA if n in listing]
        return Layout(kind, anchor, tuple(parent / n for n in names), ())
    if kind == CZI:
        parts = [parent / n for n in sorted(_names(parent, disk)) if _czi_part_of(n, anchor.stem)]
        return Layout(kind, anchor, _present([anchor, *parts], disk), ())
    if kind == ND2_SERIES:
        return _nd2_series(anchor, disk)
    return Layout(kind, anchor, _present([anchor, anchor.with_suffix(".lifext")], disk), ())


def _nd2_series(anchor: Path, disk: Disk) -> Layout:
    m = ND2_NUMBERED.match(anchor.name)
    names = nd2_series(anchor.parent, disk).get(m["stem"].lower(), ()) if m else ()
    members = tuple(anchor.parent / n for n in names) or (anchor,)
    gaps = _series_gaps(names) if names else []
    notes: tuple[str, ...] = ()
    if gaps:
        shown = ", ".join(gaps[:3]) + (f" and {len(gaps) - 3:,} more" if len(gaps) > 3 else "")
        notes = (
            f"The numbering of this series skips {len(gaps):,} file(s) ({shown}): if they "
            "were acquired, they are not in this folder.",
        )
    return Layout(ND2_SERIES, anchor, members, (), notes)


def _czi_part_of(name: str, stem: str) -> bool:
    m = _CZI_PART.match(name)
    return bool(m and m["stem"] == stem)


def _present(paths: Iterable[Path], disk: Disk) -> tuple[Path, ...]:
    return tuple(p for p in paths if disk.exists(p))


def _harmony(index: Path, disk: Disk) -> Layout:
    folder = index.parent
    urls, notes = _harmony_urls(index)
    members: list[Path] = [index] if disk.exists(index) else []
    missing: list[Path] = []
    for url in urls:
        image = folder / url
        try:
            ok = image.stat().st_size > 0
        except OSError:
            ok = False
        (members if ok else missing).append(image)
    if not urls and not notes:
        notes.append(
            "The index lists no image files: this looks like a 'Referenced images' export, "
            "which holds no pixel data at all."
        )
    listed = set(members) | set(missing)
    extras = [p for p in disk.files_under(folder) if p not in listed and p.parent == folder]
    for sibling in _HARMONY_SIBLINGS:
        if (folder.parent / sibling).is_dir() and folder.name == "Images":
            extras += disk.files_under(folder.parent / sibling)
    return Layout(HARMONY, index, (*members, *extras), tuple(missing), tuple(notes))


def _harmony_urls(index: Path) -> tuple[list[str], list[str]]:
    """Relative image URLs an index lists (``http`` ones are not local files)."""
    urls: list[str] = []
    try:
        for _, element in ET.iterparse(index, events=("end",)):
            if element.tag.rsplit("}", 1)[-1] == "URL" and element.text:
                url = element.text.strip()
                if url and not url.lower().startswith(("http:", "https:")):
                    urls.append(unquote(url))
            elif element.tag.rsplit("}", 1)[-1] == "Image":
                element.clear()
    except (ET.ParseError, OSError) as exc:
        return urls, [f"The index {index.name} could not be read completely: {exc}."]
    return urls, []


def find_layouts(files: Iterable[Path], disk: Disk) -> dict[Path, Layout]:
    """Every dataset the given files belong to (keyed by anchor)."""
    anchors: dict[Path, str] = {}
    for path in files:
        found = anchor_of(path, disk)
        if found and found[1] not in anchors:
            anchors[found[1]] = found[0]
    return {anchor: layout(kind, anchor, disk) for anchor, kind in anchors.items()}
