"""A throwaway X11 desktop for tests: Xvfb, a private D-Bus session bus, temp HOME/XDG
folders, optionally a real session manager (xfce4-session or KDE's ksmserver), and the
real tray app (``python -m almc_assistant gui``) with data at risk.

Each desktop lets Xvfb pick a free display (``-displayfd``) and keeps everything under
the test's own temp folder, so parallel runs do not collide. Every process started here
is in its own process group and is ended by that group at teardown (the session
managers start helpers of their own).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
WAIT_S = 60.0  # generous: a shared 2-core machine; these are waits, not assertions on speed

XFCE_SESSION_XML = """<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-session" version="1.0">
  <property name="general" type="empty">
    <property name="SaveOnExit" type="bool" value="false"/>
    <property name="PromptOnLogout" type="bool" value="false"/>
  </property>
  <property name="startup" type="empty">
    <property name="gpg-agent" type="empty">
      <property name="enabled" type="bool" value="false"/>
    </property>
    <property name="ssh-agent" type="empty">
      <property name="enabled" type="bool" value="false"/>
    </property>
  </property>
</channel>
"""


def need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: xvfb, xfce4-session, plasma-workspace)")


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class X11Desktop:
    """Xvfb + a private session bus + temp HOME/XDG; ``close()`` ends all of it."""

    def __init__(self, root: Path) -> None:
        need("Xvfb", "dbus-daemon", "xdotool")
        self.root = root
        self.home = root / "home"
        self.runtime = root / "run"
        for d in (self.home, self.runtime, root / "xdg-dirs"):
            d.mkdir(parents=True, exist_ok=True)
        self.runtime.chmod(0o700)
        self._groups: list[subprocess.Popen[Any]] = []
        self._sockets: list[Path] = []
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "USER": os.environ.get("USER", "root"),
            "LANG": "C.UTF-8",
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_CONFIG_DIRS": str(root / "xdg-dirs"),  # no system autostart entries
            "XDG_DATA_HOME": str(self.home / ".local/share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "ICEAUTHORITY": str(self.runtime / "ICEauthority"),
            "NO_AT_BRIDGE": "1",
            "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={root / 'no-system-bus'}",
        }
        read, write = os.pipe()
        self.xvfb = self._start(
            ["Xvfb", "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", "1280x800x24"],
            pass_fds=(write,),
        )
        os.close(write)
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number:
            raise AssertionError("Xvfb did not start")
        self.display = f":{number}"
        self.env["DISPLAY"] = self.display
        bus = self._start(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
        )
        assert bus.stdout is not None
        self.env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().decode().strip()

    def _start(self, argv: list[str], **kw: Any) -> subprocess.Popen[Any]:
        env = kw.pop("env", self.env)
        if "stdout" in kw:
            proc = subprocess.Popen(argv, env=env, start_new_session=True, **kw)
        else:
            with open(self.root / f"{Path(argv[0]).name}.log", "ab") as log:
                proc = subprocess.Popen(
                    argv, env=env, start_new_session=True, stdout=log, stderr=log, **kw
                )
        self._groups.append(proc)
        return proc

    def run(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, env=kw.pop("env", self.env), capture_output=True, text=True, timeout=60, **kw
        )

    def windows(self, name: str) -> list[str]:
        """Visible windows whose title contains ``name`` (xdotool)."""
        done = self.run(["xdotool", "search", "--onlyvisible", "--name", name])
        return done.stdout.split()

    def press(self, window: str, keys: str) -> None:
        """Focus ``window`` and type ``keys`` through XTEST, as a user would."""
        self.run(["xdotool", "windowfocus", "--sync", window], check=True)
        self.run(["xdotool", "key", "--clearmodifiers", keys], check=True)

    # ------------------------------------------------------------------ session managers
    def start_xfce(self) -> subprocess.Popen[Any]:
        """xfce4-session with an empty failsafe session; sets ``SESSION_MANAGER``."""
        need("xfce4-session", "xfce4-session-logout", "dbus-send")
        xml = self.home / ".config/xfce4/xfconf/xfce-perchannel-xml/xfce4-session.xml"
        xml.parent.mkdir(parents=True, exist_ok=True)
        xml.write_text(XFCE_SESSION_XML)
        proc = self._start(["xfce4-session"])
        sock = Path(f"/tmp/.ICE-unix/{proc.pid}")
        wait_until(lambda: sock.exists() or proc.poll() is not None, "xfce4-session's socket")
        self._session_manager(proc, sock)
        wait_until(lambda: self.has_name("org.xfce.SessionManager"), "xfce4-session on D-Bus")
        return proc

    def start_ksmserver(self) -> subprocess.Popen[Any]:
        """KDE's ksmserver (no window manager, no lock screen); sets ``SESSION_MANAGER``."""
        need("ksmserver", "dbus-send")
        proc = self._start(["ksmserver", "--no-lockscreen"])
        address = self.runtime / f"KSMserver_{self.display.replace(':', '_')}"
        wait_until(lambda: address.exists() or proc.poll() is not None, "ksmserver's address")
        sock = Path(f"/tmp/.ICE-unix/{proc.pid}")
        self._session_manager(proc, sock)
        wait_until(lambda: self.has_name("org.kde.ksmserver"), "ksmserver on D-Bus")
        return proc

    def has_name(self, name: str) -> bool:
        done = self.run(
            [
                "dbus-send",
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                f"string:{name}",
            ]
        )
        return "boolean true" in done.stdout

    def _session_manager(self, proc: subprocess.Popen[Any], sock: Path) -> None:
        self._sockets.append(sock)  # left behind when the manager is killed
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args!r} exited with {proc.returncode}")
        host = os.uname().nodename
        self.env["SESSION_MANAGER"] = f"local/{host}:@{sock},unix/{host}:{sock}"

    def xfce_logout(self) -> None:
        self._start(["xfce4-session-logout", "--logout"])

    def xfce_fast_logout(self) -> None:
        self._start(["xfce4-session-logout", "--logout", "--fast"])

    def kde_logout(self) -> None:
        self.run(
            [
                "dbus-send",
                "--session",
                "--type=method_call",
                "--dest=org.kde.ksmserver",
                "/KSMServer",
                "org.kde.KSMServerInterface.logout",
                "int32:0",
                "int32:0",
                "int32:0",
            ],
            check=True,
        )

    def kill_display(self) -> None:
        self.xvfb.send_signal(signal.SIGTERM)
        self.xvfb.wait(timeout=WAIT_S)

    def close(self) -> None:
        for proc in reversed(self._groups):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=WAIT_S)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        for sock in self._sockets:
            sock.unlink(missing_ok=True)


class TrayApp:
    """The real tray app on the desktop, with ``files`` acquisitions not backed up."""

    def __init__(self, desktop: X11Desktop, site: Path, files: int = 3) -> None:
        self.desktop = desktop
        self.site = site
        self.almc_home = site / "almc-home"
        acq = site / "acq"
        if not (site / "facility.toml").exists():
            (site / "bit").mkdir(parents=True)
            for i in range(files):
                (acq / f"run{i}").mkdir(parents=True)
                (acq / f"run{i}" / "image.nd2").write_bytes(b"x" * 1000)
            (site / "facility.toml").write_text(
                "[watch]\n"
                f"folders = [{str(acq)!r}]\n"
                "quiet_seconds = 1\n"
                "[[destinations]]\nname = 'BIT'\n"
                f"path = {str(site / 'bit')!r}\nkind = 'institutional'\n"
            )
        self.env = {
            **desktop.env,
            "ALMC_HOME": str(self.almc_home),
            "ALMC_FACILITY_CONFIG": str(site / "facility.toml"),
            "PYTHONPATH": str(ROOT / "src"),
            "QT_QPA_PLATFORM": "xcb",
            "PYTHONFAULTHANDLER": "1",
        }
        watched = desktop.run(
            [sys.executable, "-m", "almc_assistant", "watch", "--once"], env=self.env
        )
        assert watched.returncode == 0, watched.stderr
        self.proc = desktop._start([sys.executable, "-m", "almc_assistant", "gui"], env=self.env)

    @property
    def log(self) -> str:
        path = self.almc_home / "log" / "almc-assistant.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def marker(self) -> dict[str, Any] | None:
        path = self.almc_home / "state" / "session-end.json"
        try:
            return dict(json.loads(path.read_text()))
        except (FileNotFoundError, ValueError):
            return None

    def wait_at_risk(self, files: int) -> None:
        """Started, with the pending state known (the marker is written when it is)."""
        wait_until(lambda: (self.marker() or {}).get("files") == files, "the app's marker")
        wait_until(lambda: "almc-assistant" in self.log and " started" in self.log, "start")

    def wait_exit(self) -> int:
        return self.proc.wait(timeout=WAIT_S)
