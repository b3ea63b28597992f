"""Which paths the watcher never reports: our own partial copies, OS and editor clutter.

Thread contract: pure functions, safe anywhere (called on watchdog observer threads).
A caller's ``ignore`` callable is combined with these rules, never replaces them: the
copy engine's hidden partial files must never be catalogued as acquisitions.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from pathlib import Path

# Names (files or folders) that are never acquisitions.
_IGNORED_NAMES = frozenset(
    {
        ".ds_store",
        "thumbs.db",
        "ehthumbs.db",
        "desktop.ini",
        "$recycle.bin",
        "system volume information",
        ".trashes",
        ".spotlight-v100",
        ".fseventsd",
        ".temporaryitems",
    }
)
_IGNORED_PATTERNS = (
    ".almc-*",  # our partial copies, manifests in flight, state folders
    ".almc_*",
    "._*",  # macOS AppleDouble files on non-Mac file systems
    "~$*",  # Office lock files
    ".~lock.*#",  # LibreOffice lock files
    ".trash-*",  # freedesktop trash on removable drives
    "*.tmp",
    "*.temp",
    "*.swp",
    "*.crdownload",
    "*.part",
)
_IGNORED_RE = re.compile("|".join(fnmatch.translate(p) for p in _IGNORED_PATTERNS))

IgnoreRule = Callable[[Path], bool]


def is_ignored_name(name: str) -> bool:
    """True when a file or folder called ``name`` is never reported."""
    folded = name.lower()
    return folded in _IGNORED_NAMES or _IGNORED_RE.match(folded) is not None


def default_ignore(path: Path) -> bool:
    """The built-in rule: looks at the last component of ``path`` only."""
    return is_ignored_name(path.name)


def combine(extra: IgnoreRule | None) -> IgnoreRule:
    """The built-in rule, plus ``extra`` when given."""
    if extra is None:
        return default_ignore

    def rule(path: Path) -> bool:
        return default_ignore(path) or extra(path)

    return rule
