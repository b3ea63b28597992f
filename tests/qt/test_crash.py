"""Uncaught exceptions are logged and reported through the prompt port, once."""

from __future__ import annotations

import sys

import pytest

from almc_assistant.qt.crash import CrashReporter


def test_crash_is_logged_and_reported(prompter, caplog: pytest.LogCaptureFixture) -> None:
    reporter = CrashReporter(prompter, "/logs/almc-assistant.log")
    try:
        raise ValueError("bad value in slot")
    except ValueError:
        reporter(*sys.exc_info())
    assert reporter.count == 1
    summary, details, log_file = prompter.crashes[0]
    assert summary == "ValueError: bad value in slot"
    assert "Traceback" in details and "bad value in slot" in details
    assert log_file == "/logs/almc-assistant.log"
    assert "unexpected error" in caplog.text


def test_a_crash_while_reporting_is_only_logged(prompter, caplog: pytest.LogCaptureFixture) -> None:
    class Failing:
        def report_crash(self, *_a):
            raise RuntimeError("dialog failed")

    reporter = CrashReporter(Failing(), "x.log")  # type: ignore[arg-type]
    reporter(KeyError, KeyError("k"), None)
    assert "could not show the crash report" in caplog.text
