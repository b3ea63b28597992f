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
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePath


def relative_destination(source: PurePath | str, roots: Sequence[PurePath | str] = ()) -> str:
    """``source``'s ``/``-separated path under a destination (see the module docstring)."""
    src = PurePath(os.path.normpath(source))
    base: PurePath | None = None
    for root in roots:
        r = PurePath(os.path.normpath(root))
        if r in src.parents and (base is None or len(r.parts) > len(base.parts)):
            base = r
    rel = src.relative_to(base) if base is not None else PurePath(src.name)
    return rel.as_posix()
