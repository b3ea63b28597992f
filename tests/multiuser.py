"""Two real unprivileged accounts on this machine, for shared-workstation tests.

Used where the tests run as root on Linux (CI does); elsewhere every test using these
fixtures skips with the reason. The accounts (``almc-ta`` and ``almc-tb``, no login shell,
no password) are created once per machine with ``useradd`` and kept: creating and
deleting accounts per test would race other test runs on the same machine.

``users`` gives both accounts; ``shared_root`` a world-traversable folder (0755, owned by
root) under which each test builds its workstation: pytest's own ``tmp_path`` is 0700 and
root's, so the accounts could not reach it. ``Account.run`` runs a command as the
account, with this checkout's ``almc-assistant`` reachable and an ``ALMC_HOME`` of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.portable import IS_ROOT

if sys.platform != "win32":  # Windows has no pwd: every fixture here skips there
    import pwd

NAMES = ("almc-ta", "almc-tb")
SRC = Path(__file__).resolve().parents[1] / "src"


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: Path  # this test's ALMC_HOME for the account (0700, owned by it)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "ALMC_HOME": str(self.home / "almc"),
            "XDG_CONFIG_HOME": str(self.home / "xdg-config"),
            "XDG_RUNTIME_DIR": str(self.home / "runtime"),
            "PYTHONPATH": os.pathsep.join([str(SRC), *_site_packages()]),
            "LANG": "C.UTF-8",
        }
        env.update(extra or {})
        return env

    def run(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args`` as this account; ``almc-assistant`` means this checkout's CLI."""
        argv = list(args)
        if argv and argv[0] == "almc-assistant":
            argv = [_interpreter(), "-m", "almc_assistant", *argv[1:]]
        elif argv and argv[0] == "python":
            argv = [_interpreter(), *argv[1:]]
        return subprocess.run(
            argv,
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            env=self.env(env),
            cwd=cwd or self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def make_dir(self, path: Path, mode: int = 0o700) -> Path:
        """A folder owned by this account with ``mode``."""
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        path.chmod(mode)
        return path

    def write(self, path: Path, data: bytes, mode: int = 0o644) -> Path:
        """A file owned by this account (written by root, then handed over)."""
        path.write_bytes(data)
        os.chown(path, self.uid, self.gid)
        path.chmod(mode)
        return path


def _site_packages() -> list[str]:
    import site

    return [p for p in site.getsitepackages() if Path(p).is_dir()]


def _interpreter() -> str:
    """A Python the accounts may execute, with this run's packages on PYTHONPATH.

    The venv's interpreter may live below root's 0700 home (pyenv): then the system's
    Python of the same minor version runs the same site-packages (same ABI)."""
    real = Path(sys.executable).resolve()
    if all(p.stat().st_mode & 0o001 for p in [real, *real.parents]):
        return sys.executable
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if system.is_file():
        return str(system)
    pytest.skip(f"no Python the test accounts may run ({real} is below a private folder)")


def _ensure_account(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=False,
        capture_output=True,
    )
    return pwd.getpwnam(name)  # a concurrent run may have created it: either way it exists now


def _skip_reason() -> str:
    if sys.platform != "linux":
        return "real accounts are created on Linux only"
    if not IS_ROOT:
        return "needs root to create two unprivileged accounts"
    if shutil.which("useradd") is None:
        return "useradd is not installed"
    if not Path("/").stat().st_mode & 0o001:  # e.g. a chroot made in a private temp folder
        return "other accounts cannot enter / here (mode 0700), so they cannot run anything"
    return ""


@pytest.fixture(scope="session")
def _accounts() -> tuple[pwd.struct_passwd, pwd.struct_passwd]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    a, b = (_ensure_account(n) for n in NAMES)
    return a, b


@pytest.fixture
def shared_root() -> Iterator[Path]:
    """A fresh world-traversable folder (0755, root's) for one test's workstation."""
    if _skip_reason():
        pytest.skip(_skip_reason())
    root = Path(tempfile.mkdtemp(prefix="almc-ws-", dir="/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def users(
    _accounts: tuple[pwd.struct_passwd, pwd.struct_passwd], shared_root: Path
) -> tuple[Account, Account]:
    """User A (the attacker in most tests) and user B, each with a private home."""
    out = []
    for pw in _accounts:
        home = shared_root / "home" / pw.pw_name
        acc = Account(pw.pw_name, pw.pw_uid, pw.pw_gid, home)
        acc.make_dir(home, 0o700)
        for sub in ("almc", "xdg-config", "runtime"):
            acc.make_dir(home / sub, 0o700)
        out.append(acc)
    (shared_root / "home").chmod(0o755)
    return out[0], out[1]
