"""The foundation: event sinks, error wording, app paths, the CLI contract."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from almc_assistant.cli import main
from almc_assistant.core.errors import describe_os_error
from almc_assistant.core.events import Event, ListSink, QueueSink
from almc_assistant.core.paths import AppPaths


def test_queue_sink_delivers_events_from_many_threads_in_order_per_thread() -> None:
    sink = QueueSink()

    def worker(n: int) -> None:
        for i in range(200):
            sink.publish(Event(at=n * 1000 + i))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = [e.at for e in sink.drain()]
    assert len(got) == 800
    for n in range(4):
        mine = [a for a in got if n * 1000 <= a < n * 1000 + 1000]
        assert mine == sorted(mine)
    assert sink.drain() == []


def test_list_sink_filters_by_type() -> None:
    class Other(Event):
        pass

    sink = ListSink()
    sink.publish(Event())
    sink.publish(Other())
    assert len(sink.of_type(Other)) == 1
    assert len(sink.of_type(Event)) == 2


def test_os_error_becomes_plain_words_with_file_and_next_step(tmp_path: Path) -> None:
    err = describe_os_error(
        OSError(errno.ENOSPC, "No space left on device"), action="write", path=tmp_path / "a.nd2"
    )
    assert "a.nd2" in err.detail and "full" in err.detail
    assert err.next_step
    assert err.paths == (str(tmp_path / "a.nd2"),)


def test_alm_home_overrides_every_folder(tmp_path: Path) -> None:
    paths = AppPaths.default({"ALMC_HOME": str(tmp_path)}).ensure()
    assert paths.catalog_db.parent == tmp_path / "state"
    assert paths.user_config.parent.is_dir()


def test_cli_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        main(["no-such-command"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("argparse accepted an unknown command")


def test_cli_version_runs_as_a_module() -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    out = subprocess.run(
        [sys.executable, "-m", "almc_assistant", "--version"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    assert out.stdout.startswith("almc-assistant ")
