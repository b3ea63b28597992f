"""One instance per user: a second launch hands its paths to the first."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from almc_assistant.qt.single_instance import SingleInstance, server_name
from tests.portable import WINDOWS


def test_second_launch_forwards_paths(qtbot: QtBot, tmp_path: Path) -> None:
    name = server_name(str(tmp_path))
    first = SingleInstance(name)
    assert not first.forward({"paths": []})  # nobody running yet
    assert first.listen()
    second = SingleInstance(name)
    with qtbot.waitSignal(first.message_received, timeout=3000) as got:
        assert second.forward({"paths": ["/data/a.nd2", "/data/b é.tif"]})
    assert got.args == [{"paths": ["/data/a.nd2", "/data/b é.tif"]}]
    first.close()
    assert not second.forward({"paths": []})


@pytest.mark.skipif(
    WINDOWS, reason="a named pipe vanishes with its process: no stale name on Windows"
)
def test_a_stale_server_name_is_taken_over(qtbot: QtBot, tmp_path: Path) -> None:
    name = server_name(str(tmp_path))
    # A crashed instance leaves its socket file behind on Unix.
    from PySide6.QtNetwork import QLocalServer

    crashed = QLocalServer()
    assert crashed.listen(name)
    path = crashed.fullServerName()
    crashed.setSocketOptions(QLocalServer.SocketOption.NoOptions)
    crashed.close()
    with open(path, "w"):  # the leftover file a killed process leaves
        pass
    instance = SingleInstance(name)
    assert instance.listen()
    instance.close()


def test_garbage_messages_are_ignored(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtNetwork import QLocalSocket

    name = server_name(str(tmp_path))
    first = SingleInstance(name)
    assert first.listen()
    got: list[object] = []
    first.message_received.connect(got.append)
    socket = QLocalSocket()
    socket.connectToServer(name)
    assert socket.waitForConnected(1000)
    socket.write(b"not json\n[1, 2]\n")
    socket.waitForBytesWritten(1000)
    with qtbot.waitSignal(first.message_received, timeout=3000):
        socket.write(b'{"paths": []}\n')
        socket.waitForBytesWritten(1000)
    assert got == [{"paths": []}]
    socket.disconnectFromServer()
    first.close()


def test_names_differ_per_state_folder(tmp_path: Path) -> None:
    assert server_name(str(tmp_path / "a")) != server_name(str(tmp_path / "b"))


@pytest.mark.skipif(not WINDOWS, reason="Windows named pipes (POSIX: tests/integration)")
def test_on_windows_the_pipe_is_first_instance_and_this_users_only(qtbot, tmp_path) -> None:
    """The pipe is created as the first instance (a second server of the name fails,
    whoever holds it) with a protected DACL naming this user alone, owned by this user."""
    from almc_assistant.core import winacl, winpipe

    name = server_name(str(tmp_path))
    first = SingleInstance(name)
    assert first.listen()
    try:
        assert not SingleInstance(name).listen()  # FILE_FLAG_FIRST_PIPE_INSTANCE
        k = winpipe._k32()
        handle = k.CreateFileW(winpipe.pipe_path(name), 0x00020000, 0, None, 3, 0, None)
        assert handle not in (None, winpipe._INVALID)
        try:
            sec = winacl.security_of(handle)
        finally:
            k.CloseHandle(handle)
        me = winacl.user_sid()
        assert sec.owner == me
        assert sec.dacl is not None and {a.sid for a in sec.dacl} == {me}
    finally:
        first.close()


@pytest.mark.skipif(not WINDOWS, reason="Windows named pipes (POSIX: tests/integration)")
def test_on_windows_a_pipe_of_another_account_is_sent_nothing(qtbot, tmp_path) -> None:
    """Another account listens under this user's pipe name first: the launch sends it
    nothing (its owner SID is not ours) and starts on its own (listen fails: logged)."""
    from almc_assistant.core import winacl, winpipe

    name = server_name(str(tmp_path))
    got: list[bytes] = []
    squatter = winpipe.PipeServer(name, got.append)
    other = "S-1-5-32-545"  # BUILTIN\\Users, standing in for another account
    assert squatter.start(f"O:{other}D:(A;;GA;;;WD)")
    try:
        k = winpipe._k32()
        handle = k.CreateFileW(winpipe.pipe_path(name), 0x00020000, 0, None, 3, 0, None)
        try:
            owner = winacl.security_of(handle).owner
        finally:
            k.CloseHandle(handle)
        if owner != other:
            pytest.skip(f"the pipe's owner could not be set to another account here ({owner})")
        launch = SingleInstance(name)
        assert not launch.forward({"paths": ["C:\\\\data\\\\a.nd2"]})
        assert not launch.listen()
    finally:
        squatter.stop()
    assert got == []
