"""The packaging definitions agree with the app: the Inno Setup script, the desktop
entry and the PyInstaller spec name files that exist, commands the CLI has, and the
start-at-login entry the core writes. (Inno Setup itself cannot run here: see
packaging/README.md for what was verified where.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from almc_assistant.core.autostart.windows import APPROVED_KEY, RUN_KEY, VALUE_NAME

ROOT = Path(__file__).resolve().parents[2]
ISS = ROOT / "packaging" / "windows" / "almc-assistant.iss"
SRC = ROOT / "src"


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        if re.fullmatch(r"\[\w+\]", line):
            current = line[1:-1]
            sections[current] = []
        elif current:
            sections[current].append(line)
    return sections


def test_inno_setup_script_is_per_user_and_complete() -> None:
    sections = _sections(ISS.read_text(encoding="utf-8"))
    for name in ("Setup", "Tasks", "Files", "Icons", "Run", "UninstallRun", "Code"):
        assert name in sections, f"[{name}] missing"
    setup = dict(line.split("=", 1) for line in sections["Setup"])
    assert setup["PrivilegesRequired"] == "lowest"
    assert setup["DefaultDirName"] == r"{localappdata}\Programs\{#AppName}"
    assert setup["AppVersion"] == "{#AppVersion}"
    assert setup["AppId"].startswith("{{")
    icon = (ISS.parent / setup["SetupIconFile"].replace("\\", "/")).resolve()
    assert icon == ROOT / "packaging" / "icons" / "app.ico" and icon.is_file()
    # Every entry line is "Key: value; Key: value" with known keys only.
    for section in ("Tasks", "Files", "Icons", "Run", "UninstallRun"):
        for line in sections[section]:
            keys = [part.split(":", 1)[0].strip() for part in line.split("; ")]
            assert keys[0] in ("Name", "Source", "Filename", "Type"), line


def test_inno_setup_runs_autostart_commands_the_cli_has() -> None:
    text = ISS.read_text(encoding="utf-8")
    params = re.findall(r'Parameters: "([^"]+)"', text)
    assert params == ["autostart on", "autostart off", "autostart off"]
    assert "Tasks: not startatlogin" in text and "Tasks: startatlogin" in text
    for words in set(params):
        result = subprocess.run(
            [sys.executable, "-m", "almc_assistant", *words.split(), "--help"],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    # The uninstall fallback deletes the very value the core's Windows backend writes.
    assert f"RunKey = '{RUN_KEY}';" in text
    assert f"ApprovedKey = '{APPROVED_KEY}';" in text
    assert '#define AppName "almc-assistant"' in text and VALUE_NAME == "almc-assistant"


def test_inno_setup_uses_the_executables_the_spec_builds() -> None:
    spec = (ROOT / "packaging" / "pyinstaller" / "almc-assistant.spec").read_text("utf-8")
    text = ISS.read_text(encoding="utf-8")
    assert '#define AppExe "almc-assistant.exe"' in text
    assert '#define CliExe "almc-assistant-cli.exe"' in text
    assert 'APP = "almc-assistant"' in spec and 'CLI = f"{APP}-cli"' in spec
    assert '"LSUIElement": True' in spec and '"NSHighResolutionCapable": True' in spec


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="no desktop-file-utils")
def test_linux_desktop_entry_validates() -> None:
    entry = ROOT / "packaging" / "linux" / "almc-assistant.desktop"
    result = subprocess.run(
        ["desktop-file-validate", str(entry)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
