"""The development set-up: locked, hash-checked tools; system packages installed or named.

``../shared/tools/fresh-machine both`` runs the whole path on a bare Debian 12 root; these
tests keep its parts honest on any machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.portable import IS_ROOT, WINDOWS

pytestmark = pytest.mark.skipif(WINDOWS, reason="POSIX only: ./dev is a bash script run on Linux")

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ("app", "dev", "dbus")


def _requirements(lock: str) -> dict[str, str]:
    """name -> the requirement's text (pin, marker and hashes)."""
    text = (ROOT / "requirements" / f"{lock}.txt").read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[a-z0-9])", text.split("\n", 1)[1])
    out: dict[str, str] = {}
    for block in blocks:
        if block.strip() and not block.lstrip().startswith("#"):
            name = re.match(r"[a-z0-9][a-z0-9._-]*", block)
            assert name is not None, block
            out.setdefault(name.group(0), "")
            out[name.group(0)] += block
    return out


def _name(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert name is not None
    return re.sub(r"[-_.]+", "-", name.group(0)).lower()


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_is_pinned_with_hashes(lock: str) -> None:
    found = _requirements(lock)
    assert found
    for name, block in found.items():
        assert re.match(rf"{re.escape(name)}==[0-9]", block), block
        assert "--hash=sha256:" in block, f"{lock}.txt: {name} has no hash"
    assert {"setuptools", "wheel"} <= set(found)  # the project installs without isolation


def test_the_locks_cover_what_pyproject_asks_for() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {
        "app": project["dependencies"],
        "dev": project["dependencies"] + project["optional-dependencies"]["dev"],
        "dbus": project["dependencies"]
        + project["optional-dependencies"]["dev"]
        + project["optional-dependencies"]["dbus"],
    }
    for lock, requirements in wanted.items():
        have = set(_requirements(lock))
        missing = {_name(r) for r in requirements} - have
        assert not missing, (
            f"requirements/{lock}.txt lacks {missing}: run requirements/update-locks"
        )


def test_dev_installs_only_from_the_locks_and_keeps_pip() -> None:
    script = (ROOT / "dev").read_text(encoding="utf-8")
    assert "--require-hashes" in script and "--no-deps" in script
    assert "--upgrade pip" not in script and 'install -q -e ".$1"' not in script
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "./dev test" in ci  # CI runs the README's test command as it is (other lanes after)


def test_ci_always_runs_the_windows_lane_after_the_linux_checks() -> None:
    ci = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "set -euo pipefail" in ci  # a failed lane fails CI
    assert ci.index(".ci/windows-lane") > ci.index("./dev test")
    assert not [line for line in ci if "ALMC_WINDOWS_LANE" in line]  # not opt-in any more
    lane = (ROOT / ".ci" / "windows-lane").read_text(encoding="utf-8")
    assert "xvfb" in lane and "Xvfb -displayfd" in lane  # Wine's display: a free number
    assert "without pytest's summary" in lane  # a Wine killed under the run is a failure


@pytest.fixture
def bare_debian(tmp_path: Path) -> dict[str, str]:
    """A PATH on which apt's tools say no package is installed (and any install fails)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in (("dpkg-query", "exit 1"), ("apt-get", "exit 100")):
        script = bin_dir / tool
        script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        script.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}


def test_missing_system_packages_are_named_in_one_message(bare_debian: dict[str, str]) -> None:
    env = {**bare_debian, "ALMC_SYSTEM_PACKAGES": "no"}
    done = subprocess.run(
        [str(ROOT / "requirements" / "system-packages"), "ensure", "app"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout == ""  # the set-up goes on
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and "Qt needs them to show the tray icon" in lines[0]
    assert "apt-get install -y" in lines[1]
    for package in ("libxcb-icccm4", "libxcb-keysyms1", "libxcb-cursor0", "fonts-dejavu-core"):
        assert package in lines[1].split()
    listed = subprocess.run(
        [str(ROOT / "requirements" / "system-packages"), "missing", "test"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed[0] == "apt" and {"b3sum", "libcairo2-dev", "dbus"} <= set(listed)


def test_a_failed_install_still_names_the_command(bare_debian: dict[str, str]) -> None:
    done = subprocess.run(
        [str(ROOT / "requirements" / "system-packages"), "ensure", "app"],
        env={**bare_debian, "ALMC_SYSTEM_PACKAGES": "yes"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    if IS_ROOT:  # it tried (the fake apt-get fails), then said what to run
        assert "installing system packages failed" in done.stderr
    assert "apt-get install -y libegl1" in done.stderr
