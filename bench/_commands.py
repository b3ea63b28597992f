"""The commands the benchmark compares, as step lists, and where each leaves its copy.

Every command copies the dataset folder ``SRC`` (named ``NAME``) into a fresh, empty
destination root ``ROOT`` and ends with its data on the storage (``sync`` or the tool's own
``fsync``), so the comparison is fair to tools that do not fsync:

- ``cp``: ``cp -r SRC ROOT/ && sync``: the floor, nothing verified;
- ``naive``: the same, then the caches are dropped and ``b3sum`` (default flags: it
  memory-maps each file and hashes it with one thread per logical core, one file after
  the other) hashes every destination file, listed by ``find | xargs -0``;
- ``rsync``: ``rsync -a SRC ROOT/ && sync`` (no verification beyond rsync's own);
- ``rclone``: ``rclone copy --checksum SRC ROOT/NAME && sync``, caches dropped, then
  ``rclone check --download SRC ROOT/NAME`` (re-reads both sides and compares bytes);
  rclone's default ``--transfers 4 --checkers 8``, no config file (``--config /dev/null``);
- ``almc1`` / ``almc2``: ``almc-assistant copy SRC --to ROOT/1 [--to ROOT/2] --json``.

Thread contract: main thread only.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _harness import DropCaches, Shell, Step

_STRICT = "set -euo pipefail; "


@dataclass(frozen=True)
class AlmcInvocation:
    """How to start almc-assistant: the argv prefix, extra environment, extra arguments."""

    argv: list[str]
    env: dict[str, str]
    extra: list[str]

    def line(self, src: Path, dests: list[Path], json_out: Path) -> str:
        words = [*self.argv, "copy", str(src)]
        for dest in dests:
            words += ["--to", str(dest)]
        words += [*self.extra, "--json"]
        return f"{_STRICT}{shlex.join(words)} > {shlex.quote(str(json_out))}"


@dataclass(frozen=True)
class Command:
    """One benchmarked command."""

    key: str  # what --commands selects and the JSON calls it
    label: str  # row heading in the tables
    tools: tuple[str, ...]  # external programs it needs (checked before the run)
    build: Callable[[Path, Path, Path], list[Step]]  # (src, dest root, work dir) -> steps
    copies: Callable[[Path, str], list[Path]]  # (dest root, dataset name) -> copy folders


def _q(path: Path) -> str:
    return shlex.quote(str(path))


def _cp(src: Path, root: Path, work: Path) -> list[Step]:
    return [Shell(f"{_STRICT}cp -r -- {_q(src)} {_q(root)}/ && sync")]


def _naive(src: Path, root: Path, work: Path) -> list[Step]:
    copy = root / src.name
    sums = work / "naive.b3"
    return [
        *_cp(src, root, work),
        DropCaches(),
        Shell(f"{_STRICT}find {_q(copy)} -type f -print0 | xargs -0 b3sum -- > {_q(sums)}"),
    ]


def _rsync(src: Path, root: Path, work: Path) -> list[Step]:
    return [Shell(f"{_STRICT}rsync -a -- {_q(src)} {_q(root)}/ && sync")]


def _rclone(src: Path, root: Path, work: Path) -> list[Step]:
    copy = root / src.name
    conf = "--config /dev/null"
    return [
        Shell(f"{_STRICT}rclone copy --checksum {conf} {_q(src)} {_q(copy)} && sync"),
        DropCaches(),
        Shell(f"{_STRICT}rclone check --download {conf} {_q(src)} {_q(copy)}"),
    ]


def _named(root: Path, name: str) -> list[Path]:
    return [root / name]


def build_commands(
    almc: AlmcInvocation, second: Callable[[Path], Path] = lambda root: root
) -> list[Command]:
    """Every command, in the order of the tables.

    ``second`` maps a destination root to the root of almc's second destination (the
    same by default; another device with ``--dest-dir2``).
    """

    def dest_roots(root: Path, count: int) -> list[Path]:
        return [(root if i == 1 else second(root)) / str(i) for i in range(1, count + 1)]

    def _per_dest(count: int) -> Callable[[Path, str], list[Path]]:
        def copies(root: Path, name: str) -> list[Path]:
            return [d / name for d in dest_roots(root, count)]

        return copies

    def almc_steps(count: int) -> Callable[[Path, Path, Path], list[Step]]:
        def build(src: Path, root: Path, work: Path) -> list[Step]:
            dests = dest_roots(root, count)
            return [Shell(almc.line(src, dests, work / "almc.json"), env=almc.env)]

        return build

    return [
        Command("cp", "cp -r + sync (floor, no verification)", ("cp",), _cp, _named),
        Command(
            "naive",
            "cp -r + sync + drop caches + b3sum (naive verified)",
            ("cp", "b3sum"),
            _naive,
            _named,
        ),
        Command("rsync", "rsync -a + sync", ("rsync",), _rsync, _named),
        Command(
            "rclone",
            "rclone copy --checksum + sync + drop caches + rclone check --download",
            ("rclone",),
            _rclone,
            _named,
        ),
        Command("almc1", "almc-assistant copy, 1 destination", (), almc_steps(1), _per_dest(1)),
        Command("almc2", "almc-assistant copy, 2 destinations", (), almc_steps(2), _per_dest(2)),
    ]
