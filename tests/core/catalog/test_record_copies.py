"""Issue 17: ``Catalog.record_copies`` (a group's copies in one transaction) leaves the
catalog exactly as ``record_copy`` of each copy in turn would, safety flags included."""

from __future__ import annotations

from pathlib import Path

from almc_assistant.core.catalog import Catalog
from almc_assistant.core.copies import CopyRecord
from tests.core.catalog.conftest import Clock, two_copies


def _state(cat: Catalog, sources: list[Path]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for source in sources:
        rec = cat.file(source)
        if rec is None:
            out.append((source, None))
            continue
        copies = sorted((str(c.path), c.blake3, c.size, c.source_ident) for c in rec.copies)
        out.append((source, rec.size, rec.mtime_ns, rec.safe, rec.owner, copies))
    return out


def test_a_group_recorded_at_once_equals_its_copies_recorded_one_by_one(
    tmp_path: Path,
) -> None:
    """Files with copies at two roots in a row (safe under the two-copies rule), a file
    with one copy (not safe), a file copied twice to the same root, an untracked file
    (``create=False``: not recorded), a file already catalogued, and a file whose copies
    are not in a row."""
    src = tmp_path / "acq"
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    files = [src / f"f{i}.tif" for i in range(7)]

    def copy(
        i: int, root: Path, name: str = "", ident: tuple[int, int, int] | None = None
    ) -> CopyRecord:
        return CopyRecord(
            source=files[i],
            destination_root=root,
            path=root / (name or files[i].name),
            size=100 + i,
            mtime_ns=10**18 + i,
            blake3=f"{i:02d}" * 32,
            verified_at=1_700_000_000.0 + i,
            source_ident=ident,
        )

    group: list[tuple[CopyRecord, str, bool]] = [
        (copy(0, d1, ident=(1, 10, 5)), "ann", True),
        (copy(0, d2, ident=(1, 10, 5)), "ann", True),
        (copy(1, d1), "ann", True),
        (copy(2, d1), "bob", True),
        (copy(2, d1, "again.tif"), "bob", True),
        (copy(3, d1), "ann", False),
        (copy(3, d2), "ann", False),
        (copy(4, d1), "ann", False),
        (copy(5, d1), "ann", True),
        (copy(6, d1), "ann", True),
        (copy(5, d2), "ann", True),
    ]
    results = []
    for name, at_once in (("one.sqlite3", False), ("group.sqlite3", True)):
        with Catalog(tmp_path / name, safety=two_copies, safety_key="two", clock=Clock()) as cat:
            cat.record_copy(copy(4, d2), owner="ann")  # already catalogued: create=False adds
            if at_once:
                with cat.transaction():
                    cat.record_copies(group)
            else:
                for c, owner, create in group:
                    cat.record_copy(c, owner=owner, create=create)
            results.append(_state(cat, files))
    one, grouped = results
    assert grouped == one
    safe = {str(entry[0]): entry[3] for entry in one if len(entry) > 2}
    assert safe == {
        str(files[0]): True,
        str(files[1]): False,
        str(files[2]): False,  # two copies, one root
        str(files[4]): True,
        str(files[5]): True,
        str(files[6]): False,
    }
    assert one[3] == (files[3], None)  # not tracked, never recorded
