"""Session-end adapters: the thin Qt side of the logout reminder.

Thread contract: GUI thread only. The decisions live in ``almc_assistant.core.session_end``;
these modules only translate the operating system's session-end messages into calls on
its :class:`~almc_assistant.core.session_end.SessionEndGuard`:

- ``windows``: hidden native window, native event filter, block reason, WTS lock cues;
- ``gnome``: gnome-session client protocol (QtDBus), and Xfce's D-Bus twin of it;
- ``xsmp``: X11 session managers (xfce4-session, ksmserver) over XSMP, through ``libsm``
  (libSM/libICE via ctypes), asking with ``logout_prompt``;
- ``display_loss``: the X11 display went away: the end is recorded before Qt exits;
- ``desktop_cues``: screen lock and idle time on GNOME, KDE and other Linux desktops;
- ``logind``: a delay lock on shutdown/sleep while data is at risk;
- ``qtsm``: macOS through ``commitDataRequest``;
- ``posix_signals``: SIGTERM/SIGHUP: the end recorded, then a quit;
- ``hooks``: :func:`install_session_end_hooks`, the one entry point for the tray app.
"""

from almc_assistant.qt.session.hooks import SessionEndHooks, install_session_end_hooks

__all__ = ["SessionEndHooks", "install_session_end_hooks"]
