"""Benchmark datasets: what they are, and generating them once into a cache folder.

Each dataset is ``count`` files of ``size`` bytes of incompressible (random) content,
written under ``DATA_DIR/<name>/`` where the name encodes the shape, so the full and the
``--quick`` sets live side by side. A marker ``DATA_DIR/<name>.complete.json``, written
last and kept outside the folder (so no tool copies it), says the folder is whole; a
folder without it (an interrupted generation) is generated again.

Thread contract: main thread only.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

MARKER_SUFFIX = ".complete.json"
_BLOCK = 64 * MIB  # random bytes generated (and written) per step


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: ``count`` files of ``size`` bytes each."""

    key: str  # "a", "b", "c": what --only selects
    count: int
    size: int
    per_folder: int = 1000  # files per sub-folder (one folder when count is at most this)

    @property
    def total_bytes(self) -> int:
        return self.count * self.size

    @property
    def name(self) -> str:
        """Folder name, also the dataset's label in tables: ``a-1x2GiB``."""
        return f"{self.key}-{self.count}x{human_size(self.size)}"

    @property
    def label(self) -> str:
        """Column heading: ``(a) 1 × 2 GiB``."""
        return f"({self.key}) {self.count:,} × {human_size(self.size, space=True)}"


FULL = (
    DatasetSpec("a", 1, 2 * GIB),
    DatasetSpec("b", 2_000, 2 * MIB),
    DatasetSpec("c", 20_000, 64 * KIB),
)
QUICK = (
    DatasetSpec("a", 1, 64 * MIB),
    DatasetSpec("b", 50, 2 * MIB),
    DatasetSpec("c", 500, 64 * KIB),
)


def human_size(n: int, *, space: bool = False) -> str:
    """Exact binary size for the round sizes used here (``2GiB``, ``64KiB``)."""
    sep = " " if space else ""
    for unit, factor in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{sep}{unit}"
    return f"{n}{sep}B"


def file_name(index: int, count: int, per_folder: int = 1000) -> str:
    """Names of a dataset's files; ``per_folder`` (1,000) per sub-folder for the big sets
    (like exports)."""
    if count == 1:
        return "image-0000.bin"
    if count <= per_folder:
        return f"image-{index:05d}.bin"
    return f"well-{index // per_folder:03d}/image-{index:05d}.bin"


def _marker(spec: DatasetSpec, data_dir: Path) -> Path:
    return data_dir / f"{spec.name}{MARKER_SUFFIX}"


def is_complete(spec: DatasetSpec, data_dir: Path) -> bool:
    """True when ``data_dir`` holds a whole generation of ``spec``."""
    try:
        marker = json.loads(_marker(spec, data_dir).read_text())
    except (OSError, ValueError):
        return False
    return bool(marker == asdict(spec))


def _random_blocks() -> Callable[[int], bytes]:
    """A fast source of incompressible bytes: numpy's PCG64 if present, else urandom."""
    try:
        import numpy as np
    except ImportError:
        return os.urandom
    rng = np.random.default_rng()
    return rng.bytes


def ensure(spec: DatasetSpec, data_dir: Path, log: Callable[[str], None]) -> Path:
    """Return the dataset folder, generating it first when it is missing or partial."""
    root = data_dir / spec.name
    if is_complete(spec, data_dir) and root.is_dir():
        return root
    need = spec.total_bytes + 64 * MIB
    data_dir.mkdir(parents=True, exist_ok=True)
    _marker(spec, data_dir).unlink(missing_ok=True)
    if root.exists():
        shutil.rmtree(root)
    free = shutil.disk_usage(data_dir).free
    if free < need:
        raise OSError(
            f"not enough free space in {data_dir} to generate {spec.name}: "
            f"need {need / GIB:.1f} GiB, {free / GIB:.1f} GiB free"
        )
    log(f"generating {spec.label} in {root} ...")
    random_bytes = _random_blocks()
    block = memoryview(b"")
    offset = 0
    for index in range(spec.count):
        path = root / file_name(index, spec.count, spec.per_folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            left = spec.size
            while left:
                if offset == len(block):
                    block, offset = memoryview(random_bytes(_BLOCK)), 0
                piece = block[offset : offset + left]
                offset += len(piece)
                out.write(piece)
                left -= len(piece)
        if spec.count >= 100 and index and index % (spec.count // 4) == 0:
            sys.stderr.write(f"  {index:,}/{spec.count:,} files\n")
    os.sync()
    _marker(spec, data_dir).write_text(json.dumps(asdict(spec)))
    return root


def listing(root: Path) -> dict[str, int]:
    """Every regular file under ``root``: relative POSIX path -> size."""
    found: dict[str, int] = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            found[path.relative_to(root).as_posix()] = path.stat().st_size
    return found


def missing_from(expected: dict[str, int], copy: Path) -> list[str]:
    """Source files absent from ``copy`` or of another size there (extra files are fine)."""
    if not copy.is_dir():
        return [f"{copy} does not exist"]
    present = listing(copy)
    return [rel for rel, size in expected.items() if present.get(rel) != size]
