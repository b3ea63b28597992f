"""Build facts for the PyInstaller spec: the version (from pyproject.toml) and the
Windows version resource of each executable. A build helper, not part of the app.

The version resource matters beyond looks: Explorer's Details tab, SmartScreen and
antivirus heuristics read it, and the Inno Setup script takes the installer's version
from the built executable's ProductVersion (``packaging/windows/almc-assistant.iss``).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

COMPANY = "ALMC"
PRODUCT = "almc-assistant"
DESCRIPTION = "almc-assistant: microscopy data backup assistant"


def project_version(root: Path) -> str:
    """``project.version`` of ``root/pyproject.toml``."""
    with open(root / "pyproject.toml", "rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def version_numbers(version: str) -> tuple[int, int, int, int]:
    """``"1.2.3rc1"`` -> ``(1, 2, 3, 0)``: the four numbers Windows keeps."""
    numbers = [int(n) for n in re.findall(r"\d+", version.split("+")[0])[:3]]
    return (*numbers, *[0] * (3 - len(numbers)), 0)  # type: ignore[return-value]


def windows_version_info(version: str, exe_name: str, description: str = DESCRIPTION) -> Any:
    """The ``VSVersionInfo`` for ``EXE(version=...)`` (needs PyInstaller's Windows
    utilities, whose ``pefile`` dependency PyInstaller installs on Windows only)."""
    from PyInstaller.utils.win32 import versioninfo as vi

    numbers = version_numbers(version)
    strings = [
        vi.StringStruct("CompanyName", COMPANY),
        vi.StringStruct("FileDescription", description),
        vi.StringStruct("FileVersion", version),
        vi.StringStruct("InternalName", Path(exe_name).stem),
        vi.StringStruct("OriginalFilename", exe_name),
        vi.StringStruct("ProductName", PRODUCT),
        vi.StringStruct("ProductVersion", version),
    ]
    return vi.VSVersionInfo(
        ffi=vi.FixedFileInfo(
            filevers=numbers,
            prodvers=numbers,
            mask=0x3F,
            flags=0x0,
            OS=0x40004,  # VOS_NT_WINDOWS32
            fileType=0x1,  # VFT_APP
            subtype=0x0,
            date=(0, 0),
        ),
        kids=[
            vi.StringFileInfo([vi.StringTable("040904B0", strings)]),  # US English, Unicode
            vi.VarFileInfo([vi.VarStruct("Translation", [0x0409, 1200])]),
        ],
    )
