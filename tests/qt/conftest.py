"""pytest-qt fixtures for the GUI: offscreen, no real modal dialogs, recording prompter.

Any real ``QDialog.exec``/``QMessageBox``/``QFileDialog`` call fails the test: every
question must go through the prompt port (``qt/prompts.py``), which tests replace with
:class:`RecordingPrompter`.
"""

from __future__ import annotations

import os

from PySide6.QtWidgets import QApplication

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

# Real servers on loopback and the private rclone daemon (remote destinations, issue 13).
from tests.core.remote.conftest import (  # noqa: F401
    daemon,
    rclone_config,
    sftp_remote,
    sftp_server,
    webdav_server,
)
from tests.qt.helpers import RecordingPrompter


def _fail_modal(name: str):
    def _refuse(*_args, **_kwargs):
        pytest.fail(f"a real modal dialog was opened ({name}); route it through the prompter")

    return _refuse


@pytest.fixture(autouse=True)
def _no_real_modal_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QDialog, "exec", _fail_modal("QDialog.exec"))
    monkeypatch.setattr(QMessageBox, "exec", _fail_modal("QMessageBox.exec"))
    for name in ("question", "warning", "information", "critical", "about"):
        monkeypatch.setattr(QMessageBox, name, _fail_modal(f"QMessageBox.{name}"))
    for name in (
        "getOpenFileName",
        "getOpenFileNames",
        "getExistingDirectory",
        "getSaveFileName",
    ):
        monkeypatch.setattr(QFileDialog, name, _fail_modal(f"QFileDialog.{name}"))


@pytest.fixture
def prompter() -> RecordingPrompter:
    return RecordingPrompter()


@pytest.fixture(scope="session", autouse=True)
def _gui_thread_garbage_collection(qapp: QApplication):
    """As in the app (``qt/app.py``): cycles are collected on the GUI thread only, so no
    worker thread ever finalises a Qt wrapper."""
    from almc_assistant.qt.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector(parent=qapp)
    collector.start()
    yield
    collector.stop()
