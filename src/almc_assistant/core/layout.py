"""Where a copied file lands under a destination: one rule for every way of copying.

Thread contract: pure functions on path strings (no I/O), safe anywhere.

A source inside an acquisition folder keeps its place in that folder's tree:
``<acquisition>/alice/plate1/r01c01.tiff`` lands at ``<destination>/alice/plate1/
r01c01.tiff`` (relative to the deepest acquisition folder that holds it, when folders
nest). Anything else (a file from a USB stick, an acquisition folder itself) lands under
its own name, as the command line's ``copy`` does. The preflight plans with this rule and
the copy engine copies with it, so what the preflight checked is what is copied, and a
file backed up from the wizard, the reminder or the transfer window lands in the same
place each time (a later backup finds the earlier copy instead of making another).
Flattening instead put two plates' ``r01c01.tiff`` at one name (the whole job refused)
or, across sessions, renamed one plate's tiles into the other plate's folder.

Two acquisition folders can hold the same relative path (``/data/a/alice/p1`` and
``/scratch/b/alice/p1``). When the sources of one copy come from two or more
acquisition folders and their places would meet (the same path, or one inside the
other), every source inside an acquisition folder lands under that folder's name
(``a/alice/p1``, ``b/alice/p1``; the folder's whole path when two share a name):
:func:`relative_destinations`, the one rule for a whole selection.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePath


def _base(source: PurePath, roots: Sequence[PurePath | str]) -> PurePath | None:
    base: PurePath | None = None
    for root in roots:
        r = PurePath(os.path.normpath(root))
        if r in source.parents and (base is None or len(r.parts) > len(base.parts)):
            base = r
    return base


def _meet(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def relative_destinations(
    sources: Sequence[PurePath | str], roots: Sequence[PurePath | str] = ()
) -> list[str]:
    """Each source's ``/``-separated path under a destination, for one selection: as
    :func:`relative_destination`, prefixed by the acquisition folder's name where two
    acquisition folders' places would meet (see the module docstring)."""
    srcs = [PurePath(os.path.normpath(s)) for s in sources]
    bases = [_base(s, roots) for s in srcs]
    rels = [relative_destination(s, roots) for s in srcs]
    placed = [(b, r) for b, r in zip(bases, rels, strict=True) if b is not None]
    meet = any(
        b1 != b2 and _meet(r1, r2)
        for i, (b1, r1) in enumerate(placed)
        for b2, r2 in placed[i + 1 :]
    )
    if not meet:
        return rels
    involved = {b for b, _ in placed}
    names = {b: b.name for b in involved}
    if len(set(names.values())) < len(names):  # two share a name: their whole paths
        names = {b: PurePath(*b.parts[1:]).as_posix() for b in involved}
    return [r if b is None else f"{names[b]}/{r}" for b, r in zip(bases, rels, strict=True)]


def relative_destination(source: PurePath | str, roots: Sequence[PurePath | str] = ()) -> str:
    """``source``'s ``/``-separated path under a destination (see the module docstring)."""
    src = PurePath(os.path.normpath(source))
    base = _base(src, roots)
    rel = src.relative_to(base) if base is not None else PurePath(src.name)
    return rel.as_posix()
