"""Refuse a copy onto itself before anything is written.

Thread contract: a pure check on the job thread before preflight.

``copy acq/run3 --to acq`` (the target ``acq/run3`` is the source), a destination that is
the source folder through a symbolic link or lies inside it, a target reached through a
bind mount (same device and inode): each is a :class:`UsageError` (exit 2). A target name
that is the source by device and inode *inside* a tree (a hard link) is refused per file
when planning (:func:`targets.plan_target`).
"""

from __future__ import annotations

import os
from pathlib import Path

from almc_assistant.core.errors import UsageError
from almc_assistant.core.identity import FileIdentity


def refuse_copy_onto_itself(sources: list[Path], roots: list[Path]) -> None:
    """Refuse, before anything is written, a destination that is (or lies inside) a source
    folder, or where a source would land on itself: ``copy acq/run3 --to acq``, through a
    symlinked alias, or a bind mount (same device and inode)."""
    for src in sources:
        try:
            real_src = src.resolve()
            src_id = FileIdentity.of_path(src, follow_symlinks=True)
        except (OSError, RuntimeError):
            continue  # the scan reports a missing source
        name = Path(os.path.normpath(src.absolute())).name
        for root in roots:
            real_root = root.resolve()
            try:
                root_id: FileIdentity | None = FileIdentity.of_path(root, follow_symlinks=True)
            except OSError:
                root_id = None
            inside = real_root == real_src or real_src in real_root.parents
            if src_id.is_dir and (inside or _same(root_id, src_id)):
                raise _onto_itself(
                    src,
                    root,
                    f"The destination {root} is the source folder {src} or lies inside it: "
                    "the copy would copy itself.",
                    "Destination inside the source",
                )
            try:
                target_id: FileIdentity | None = FileIdentity.of_path(
                    root / name, follow_symlinks=True
                )
            except OSError:
                target_id = None
            if real_root / name == real_src or _same(target_id, src_id):
                raise _onto_itself(
                    src,
                    root,
                    f"Copying {src} to {root} would put it onto itself ({root / name} is "
                    f"{src}): that is not a copy. Nothing was written.",
                )


def _same(a: FileIdentity | None, b: FileIdentity) -> bool:
    return a is not None and a.known and b.known and a.same_file(b)


def _onto_itself(src: Path, root: Path, detail: str, title: str = "Copy onto itself") -> UsageError:
    return UsageError(
        detail,
        title=title,
        next_step="Choose a destination outside the folder you copy, on another drive "
        "for a backup.",
        paths=(src, root),
    )
