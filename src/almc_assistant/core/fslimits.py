"""What a destination's file system can hold: its type, and the names and sizes it refuses.

Thread contract: pure functions and frozen values, safe from any thread. The only I/O is
in :func:`detect_filesystem` (reads ``/proc/self/mountinfo`` on Linux, ``statfs`` on
macOS, ``GetVolumeInformationW`` on Windows).

Detection is exact on Linux (tested). On Windows (``GetVolumePathNameW`` then
``GetVolumeInformationW`` through ctypes) it is tested under Wine by the Windows lane; on
macOS (``statfs``) it is **best effort and untested here**; when a
type cannot be found the result is the conservative ``"unknown"`` profile (Windows naming
rules, no size limit). A OneDrive folder is recognised by the ``OneDrive*`` environment
variables or a path component starting with ``OneDrive`` and gets OneDrive's limits
(250 GB per file, 400-character paths, its forbidden names) on top.

Use::

    fs = detect_filesystem(dest)
    problems = name_problems("run1/CON.tif", fs)       # ["'CON.tif' is a reserved name ..."]
    problem = size_problem(5 * 2**30, fs)              # "... larger than FAT32's ..."
    clashes = case_collisions(relpaths) if not fs.case_sensitive else []
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from almc_assistant.core.cachingfs import pending_upload_reason
from almc_assistant.core.statfs import linux_fs_type
from almc_assistant.core.units import human_size

FAT32_MAX_FILE = (1 << 32) - 1
ONEDRIVE_MAX_FILE = 250 * 10**9
WINDOWS_MAX_PATH = 260
ONEDRIVE_MAX_PATH = 400

_WINDOWS_BAD_CHARS = set('<>:"\\|?*') | {chr(c) for c in range(32)}
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}
_ONEDRIVE_RESERVED = {".lock", "desktop.ini"}
_ONEDRIVE_RESERVED_RE = re.compile(r"^(~\$.*|.*_vti_.*|(com|lpt)0(\..*)?)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FileSystemInfo:
    """The limits of one file system (or of a sync service on top of it).

    ``max_file_size`` and ``max_path`` are ``None`` when there is no practical limit.
    ``max_path`` counts characters of the full path, as Windows does. ``windows_names``
    means the Windows naming rules apply (invalid characters, reserved names, no trailing
    dot or space).
    ``pending_upload`` says why a copy here can only be "pending upload" (a caching
    mount), empty when a read-back reaches the storage.
    """

    type: str
    case_sensitive: bool = True
    max_file_size: int | None = None
    max_name: int = 255
    max_path: int | None = None
    windows_names: bool = False
    profile: str | None = None  # "onedrive" when a sync service's limits apply
    mount_point: str = ""
    pending_upload: str = ""  # why a read-back here proves a cache (see core.cachingfs)

    @property
    def label(self) -> str:
        """Human name, e.g. ``"FAT32"`` or ``"ext4 (OneDrive folder)"``."""
        name = _LABELS.get(self.type, self.type)
        return f"{name} (OneDrive folder)" if self.profile == "onedrive" else name


_LABELS = {"vfat": "FAT32", "msdos": "FAT", "exfat": "exFAT", "ntfs": "NTFS", "cifs": "SMB"}

_FAT = FileSystemInfo(
    type="vfat",
    case_sensitive=False,
    max_file_size=FAT32_MAX_FILE,
    windows_names=True,
)
_EXFAT = FileSystemInfo(type="exfat", case_sensitive=False, windows_names=True)
_NTFS = FileSystemInfo(type="ntfs", case_sensitive=False, windows_names=True)
_SMB = FileSystemInfo(type="cifs", case_sensitive=False, windows_names=True)

_BY_TYPE: dict[str, FileSystemInfo] = {
    "vfat": _FAT,
    "msdos": replace(_FAT, type="msdos"),
    "fat": replace(_FAT, type="vfat"),
    "fat32": replace(_FAT, type="vfat"),
    "exfat": _EXFAT,
    "ntfs": _NTFS,
    "ntfs3": replace(_NTFS, type="ntfs"),
    # ntfs-3g and exfat-fuse show up as fuseblk: apply the Windows rules to be safe.
    "fuseblk": replace(_NTFS, type="fuseblk"),
    "cifs": _SMB,
    "smb3": _SMB,
    "smbfs": replace(_SMB, type="smbfs"),
    "apfs": FileSystemInfo(type="apfs", case_sensitive=False),
    "hfs": FileSystemInfo(type="hfs", case_sensitive=False),
}


def filesystem_for_type(fs_type: str, *, mount_point: str = "") -> FileSystemInfo:
    """Limits for a file-system type name as the OS reports it (``vfat``, ``ext4``, ...)."""
    base = _BY_TYPE.get(fs_type.lower())
    if base is None:
        base = FileSystemInfo(type=fs_type.lower() or "unknown")
    return replace(base, mount_point=mount_point)


def onedrive_profile(fs: FileSystemInfo) -> FileSystemInfo:
    """The same file system with OneDrive's limits on top."""
    size = ONEDRIVE_MAX_FILE
    if fs.max_file_size is not None:
        size = min(size, fs.max_file_size)
    return replace(
        fs,
        profile="onedrive",
        max_file_size=size,
        max_path=ONEDRIVE_MAX_PATH,
        windows_names=True,
        case_sensitive=False,
    )


def detect_filesystem(path: str | os.PathLike[str]) -> FileSystemInfo:
    """The file system holding ``path`` (or its nearest existing ancestor), with limits."""
    p = Path(os.path.normpath(Path(path).absolute()))
    while not p.exists() and p.parent != p:
        p = p.parent
    real = os.path.realpath(p)
    if sys.platform.startswith("linux"):
        fs_type, mount = _linux_type(real)
    elif sys.platform == "darwin":  # pragma: no cover - best effort, untested here
        fs_type, mount = _macos_type(real)
    elif os.name == "nt":  # pragma: no cover - tested by the Windows lane
        fs_type, mount = _windows_type(real)
    else:  # pragma: no cover
        fs_type, mount = "unknown", ""
    fs = filesystem_for_type(fs_type, mount_point=mount)
    if os.name == "nt":  # pragma: no cover - Win32 MAX_PATH unless long paths are on
        fs = replace(fs, max_path=_windows_max_path(), windows_names=True, case_sensitive=False)
    onedrive = _is_onedrive(Path(real))
    if onedrive:
        fs = onedrive_profile(fs)
    return replace(fs, pending_upload=pending_upload_reason(fs_type, real, onedrive=onedrive))


def _unescape_mount(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _linux_type(real: str) -> tuple[str, str]:
    best, best_type = "", "unknown"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return "unknown", ""
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        mount = _unescape_mount(fields[4])
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):  # later lines shadow earlier ones
            best, best_type = mount, right.split()[0]
    if not best:  # a chroot or container: mountinfo hides the mounts holding its root
        return linux_fs_type(real) or "unknown", ""
    return best_type, best


def _macos_type(real: str) -> tuple[str, str]:  # pragma: no cover - untested here
    found = macos_statfs(real)
    return found if found is not None else ("unknown", "")


def macos_statfs(path: str) -> tuple[str, str] | None:  # pragma: no cover - macOS only
    """Best effort ``statfs()``: (``f_fstypename``, ``f_mntonname``) with 64-bit inodes."""

    class StatFs(ctypes.Structure):
        _fields_ = [
            ("f_bsize", ctypes.c_uint32),
            ("f_iosize", ctypes.c_int32),
            ("f_blocks", ctypes.c_uint64),
            ("f_bfree", ctypes.c_uint64),
            ("f_bavail", ctypes.c_uint64),
            ("f_files", ctypes.c_uint64),
            ("f_ffree", ctypes.c_uint64),
            ("f_fsid", ctypes.c_int32 * 2),
            ("f_owner", ctypes.c_uint32),
            ("f_type", ctypes.c_uint32),
            ("f_flags", ctypes.c_uint32),
            ("f_fssubtype", ctypes.c_uint32),
            ("f_fstypename", ctypes.c_char * 16),
            ("f_mntonname", ctypes.c_char * 1024),
            ("f_mntfromname", ctypes.c_char * 1024),
            ("f_flags_ext", ctypes.c_uint32),
            ("f_reserved", ctypes.c_uint32 * 7),
        ]

    libc = ctypes.CDLL("/usr/lib/libc.dylib", use_errno=True)
    for symbol in ("statfs$INODE64", "statfs"):
        func = getattr(libc, symbol, None)
        if func is None:
            continue
        buf = StatFs()
        if func(os.fsencode(path), ctypes.byref(buf)) == 0:
            kind = buf.f_fstypename.decode("ascii", "replace").lower()
            return kind, os.fsdecode(buf.f_mntonname)
    return None


def _windows_type(real: str) -> tuple[str, str]:  # pragma: no cover - Windows lane only
    """File-system name (``NTFS``, ``FAT32``, ``exFAT``, ``ReFS``...) and volume root.

    ``GetVolumePathNameW`` finds the volume holding ``real`` (a drive letter, a folder a
    volume is mounted on, or a ``\\\\server\\share\\`` root); ``GetVolumeInformationW``
    accepts only such a root. Tested under Wine (which answers NTFS for its drives).
    """
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    root = ctypes.create_unicode_buffer(32768)
    if not kernel32.GetVolumePathNameW(ctypes.c_wchar_p(real), root, len(root)):
        root.value = os.path.splitdrive(real)[0] + "\\"
    buf = ctypes.create_unicode_buffer(64)
    ok = kernel32.GetVolumeInformationW(
        ctypes.c_wchar_p(root.value), None, 0, None, None, None, buf, len(buf)
    )
    return (buf.value if ok and buf.value else "unknown"), root.value


def _windows_max_path() -> int | None:  # pragma: no cover - Windows lane only
    """``None`` when this process may use long paths (the registry switch and the
    program's manifest both allow it: ``RtlAreLongPathsEnabled``), else ``MAX_PATH``.
    Wine 8 has no such function and needs no switch, but we stay with the Windows rule."""
    import ctypes

    ntdll = ctypes.WinDLL("ntdll")  # type: ignore[attr-defined]
    check = getattr(ntdll, "RtlAreLongPathsEnabled", None)
    if check is not None:
        check.restype = ctypes.c_ubyte
        if check():
            return None
    return WINDOWS_MAX_PATH


def _is_onedrive(real: Path) -> bool:
    for var in ("OneDrive", "OneDriveCommercial", "OneDriveConsumer"):
        base = os.environ.get(var)
        if base and (real == Path(base) or Path(base) in real.parents):
            return True
    return any(part.lower().startswith("onedrive") for part in real.parts[1:])


def name_problems(
    relpath: str | os.PathLike[str],
    fs: FileSystemInfo,
    *,
    root: str | os.PathLike[str] | None = None,
) -> list[str]:
    """Why ``relpath`` (``/``-separated, below ``root``) cannot be created on ``fs``.

    A backslash is a character here (Windows file systems refuse it), never a separator.

    Empty when the name is fine. With ``root``, the full path length is checked too.
    """
    problems: list[str] = []
    parts = [p for p in os.fspath(relpath).split("/") if p not in ("", ".")]
    for part in parts:
        problems.extend(_component_problems(part, fs))
    if fs.max_path is not None and root is not None:
        full = str(Path(root).joinpath(*parts))
        if len(full) > fs.max_path:
            problems.append(
                f"the full path is {len(full)} characters, more than the {fs.max_path} "
                f"{fs.label} allows"
            )
    return problems


def _component_problems(part: str, fs: FileSystemInfo) -> list[str]:
    out: list[str] = []
    size = len(part.encode("utf-16-le")) // 2 if fs.windows_names else len(os.fsencode(part))
    if size > fs.max_name:
        out.append(f"the name '{part[:40]}...' is longer than the {fs.max_name} {fs.label} allows")
    if not fs.windows_names:
        return out
    bad = sorted({c for c in part if c in _WINDOWS_BAD_CHARS})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        out.append(f"'{part}' contains characters {fs.label} cannot store: {shown}")
    if part.split(".")[0].strip().upper() in _RESERVED:
        out.append(
            f"'{part}' is a reserved name on {fs.label} (CON, PRN, AUX, NUL, COM1-9, LPT1-9)"
        )
    if part.endswith((".", " ")):
        out.append(f"'{part}' ends with a dot or a space, which {fs.label} drops or refuses")
    if fs.profile == "onedrive":
        if part.startswith(" "):
            out.append(f"'{part}' starts with a space, which OneDrive refuses")
        if part.lower() in _ONEDRIVE_RESERVED or _ONEDRIVE_RESERVED_RE.match(part):
            out.append(f"'{part}' is a name OneDrive refuses")
    return out


def size_problem(size: int, fs: FileSystemInfo) -> str | None:
    """Why a file of ``size`` bytes cannot be stored on ``fs``; ``None`` if it can."""
    if fs.max_file_size is None or size <= fs.max_file_size:
        return None
    return (
        f"it is {human_size(size)}, larger than the {_limit(fs.max_file_size)} a file on "
        f"{fs.label} can hold"
    )


def _limit(n: int) -> str:
    """A file-size limit by the name people know it by: FAT32's is "4 GiB" (one byte less,
    in truth), which decimal units would call 4.3 GB, as they would a file just over it."""
    return "4 GiB" if n == FAT32_MAX_FILE else human_size(n)


def case_collisions(relpaths: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs of paths that name the same file on a case-insensitive file system.

    Each pair is (first seen, later one); callers refuse the later one.
    """
    seen: dict[str, str] = {}
    clashes: list[tuple[str, str]] = []
    for rel in relpaths:
        key = rel.casefold()
        first = seen.setdefault(key, rel)
        if first != rel:
            clashes.append((first, rel))
    return clashes
