"""Real X11 session managers drive the real tray app through a logout.

xfce4-session 4.18 and KDE's ksmserver 5.27 (Debian 12) run on Xvfb with a private
session bus; the app (``python -m almc_assistant gui``) is started with 3 acquisitions
not backed up. The session manager asks it, over XSMP, whether the session may end; the
app asks the user (``LogoutPrompt``), and the test answers with the keyboard (xdotool,
XTEST), as a user would. Skipped where the tools are not installed.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.qt.session.x11_desktop import TrayApp, X11Desktop, wait_until

QUESTION = "Log out with files not backed up?"
REMINDER = "Back up your files"


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[X11Desktop]:
    d = X11Desktop(tmp_path / "desktop")
    try:
        yield d
    finally:
        d.close()


MANAGERS: dict[str, tuple[Callable[[X11Desktop], Any], Callable[[X11Desktop], None]]] = {
    "xfce4-session": (X11Desktop.start_xfce, X11Desktop.xfce_logout),
    "xfce4-session --fast": (X11Desktop.start_xfce, X11Desktop.xfce_fast_logout),
    "ksmserver": (X11Desktop.start_ksmserver, X11Desktop.kde_logout),
}


def _ask(desktop: X11Desktop, app: TrayApp, logout: Callable[[X11Desktop], None]) -> str:
    """Start the logout; return the question's window once it is on screen."""
    wait_until(lambda: "Registered with the X11 session manager" in app.log, "XSMP registration")
    if logout in (X11Desktop.xfce_logout, X11Desktop.xfce_fast_logout):  # and Xfce's D-Bus
        wait_until(lambda: "Registered with the Xfce session as /org/xfce/" in app.log, "D-Bus")
    logout(desktop)
    windows = wait_until(lambda: desktop.windows(QUESTION), "the logout question")
    assert "Logout question shown: 3 files (3.0 kB) from today are not backed up yet." in app.log
    marker = app.marker()
    assert marker is not None and marker["files"] == 3 and marker["ended_kind"] == "logoff"
    return str(windows[0])


@pytest.mark.parametrize("manager", sorted(MANAGERS))
def test_cancel_logout_keeps_the_session_and_raises_the_reminder(
    desktop: X11Desktop, tmp_path: Path, manager: str
) -> None:
    start, logout = MANAGERS[manager]
    session = start(desktop)
    app = TrayApp(desktop, tmp_path / "site")
    app.wait_at_risk(3)
    question = _ask(desktop, app, logout)
    desktop.press(question, "alt+c")
    wait_until(lambda: desktop.windows(REMINDER), "the reminder after the cancelled logout")
    assert "Logout question answered: cancel logout" in app.log
    assert not desktop.windows(QUESTION)
    assert session.poll() is None and app.proc.poll() is None  # nobody logged out
    marker = wait_until(
        lambda: app.marker() if (app.marker() or {}).get("ended_kind", "") is None else None,
        "the marker to say the session goes on",
    )
    assert marker["files"] == 3
    # a second logout asks again
    desktop.press(_ask(desktop, app, logout), "alt+l")
    assert app.wait_exit() == 0


@pytest.mark.parametrize("manager", sorted(MANAGERS))
def test_log_out_anyway_ends_session_and_app_and_next_start_reminds(
    desktop: X11Desktop, tmp_path: Path, manager: str
) -> None:
    start, logout = MANAGERS[manager]
    session = start(desktop)
    app = TrayApp(desktop, tmp_path / "site")
    app.wait_at_risk(3)
    desktop.press(_ask(desktop, app, logout), "alt+l")
    assert app.wait_exit() == 0  # "Die": the app quit by itself, cleanly
    assert "Logout question answered: log out anyway" in app.log
    marker = app.marker()
    assert marker is not None and marker["files"] == 3 and marker["ended_kind"] == "logoff"
    assert session.wait(timeout=60) is not None  # the session manager finished the logout
    desktop.env.pop("SESSION_MANAGER")
    again = TrayApp(desktop, tmp_path / "site")  # the next login
    wait_until(lambda: desktop.windows(REMINDER), "the next-login reminder")
    again.proc.send_signal(signal.SIGTERM)
    assert again.wait_exit() == 0


def test_lost_display_is_recorded_before_qt_exits(desktop: X11Desktop, tmp_path: Path) -> None:
    """No session manager: the X server just goes away (a plain logout on many desktops)."""
    app = TrayApp(desktop, tmp_path / "site")
    app.wait_at_risk(3)
    assert (app.marker() or {}).get("ended_kind") is None
    desktop.kill_display()
    assert app.wait_exit() == 1  # Qt's own exit: "The X11 connection broke"
    marker = app.marker()
    assert marker is not None and marker["files"] == 3 and marker["ended_kind"] == "unknown"
    assert "The X11 connection broke" in app.log


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_first_sigterm_quits_even_with_the_main_window_open(
    desktop: X11Desktop, tmp_path: Path, signum: signal.Signals
) -> None:
    """No tray on this display: the main window stands in, and closing it asks "Quit?".
    A SIGTERM must not go through that question: one signal, a recorded end, an exit."""
    app = TrayApp(desktop, tmp_path / "site")
    app.wait_at_risk(3)
    wait_until(lambda: desktop.windows("almc-assistant"), "the main window")
    app.proc.send_signal(signum)
    assert app.wait_exit() == 0
    marker = app.marker()
    assert marker is not None and marker["files"] == 3 and marker["ended_kind"] == "unknown"


def test_session_manager_crash_does_not_take_the_app_along(
    desktop: X11Desktop, tmp_path: Path
) -> None:
    """libICE's default I/O error handler calls exit(): ours only logs, the app runs on."""
    session = desktop.start_xfce()
    app = TrayApp(desktop, tmp_path / "site")
    app.wait_at_risk(3)
    wait_until(lambda: "Registered with the X11 session manager" in app.log, "XSMP registration")
    session.send_signal(signal.SIGKILL)
    session.wait(timeout=60)
    wait_until(lambda: "The X11 session manager went away" in app.log, "the broken connection")
    assert app.proc.poll() is None
    app.proc.send_signal(signal.SIGTERM)
    assert app.wait_exit() == 0
