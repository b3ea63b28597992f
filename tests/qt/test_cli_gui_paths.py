"""``almc-assistant PATH...`` with no command opens the paths in the tray app.

Parser-level: no GUI starts. The words are resolved and parsed exactly as ``main`` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from almc_assistant.cli import build_parser, commands, main, resolve_words


def _parse(words: list[str]):
    parser = build_parser()
    return parser.parse_args(resolve_words(parser, words))


def test_existing_paths_without_a_command_go_to_the_gui(tmp_path: Path) -> None:
    folder = tmp_path / "2026-11-23 HeLa"
    folder.mkdir()
    image = tmp_path / "cells.nd2"
    image.write_bytes(b"x")
    args = _parse([str(folder), str(image)])
    assert args.command == "gui"
    assert args.paths == [str(folder), str(image)]


def test_a_path_named_like_nothing_known_is_not_mistaken_for_a_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "session").mkdir()
    assert _parse(["session"]).paths == ["session"]


def test_commands_and_options_are_left_alone(tmp_path: Path) -> None:
    assert "gui" in commands(build_parser()) and "check" in commands(build_parser())
    assert _parse(["check", str(tmp_path)]).command == "check"
    assert _parse(["gui", str(tmp_path)]).paths == [str(tmp_path)]
    assert resolve_words(build_parser(), ["-v"]) == ["-v"]
    assert resolve_words(build_parser(), []) == []


def test_a_word_that_is_neither_command_nor_path_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["chek", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "'chek' is not a command, nor a file or folder that exists" in err
    assert "check" in err and "gui" in err


def test_one_missing_path_among_existing_ones_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "gone.tif"
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), str(missing)])
    assert exit_info.value.code == 2
    assert f"{str(missing)!r} is not a command" in capsys.readouterr().err
