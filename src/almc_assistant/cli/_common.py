"""Shared command-line plumbing: exit codes, JSON output, error rendering, logging.

Thread contract: main thread only.
"""

from __future__ import annotations

import argparse
import errno
import functools
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO

from almc_assistant.core.errors import AlmcError, ConfigError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK = 0
EXIT_FAILED = 1  # some files failed or were flagged
EXIT_USAGE = 2  # usage or configuration error
EXIT_PIPE = 141  # the reader of stdout went away (``| head``): 128 + SIGPIPE, as Unix tools

log = logging.getLogger("almc_assistant")

Handler = Callable[[argparse.Namespace], int]


def setup_logging(verbosity: int) -> None:
    """Warnings to stderr by default; ``-v`` info, ``-vv`` debug."""
    level = logging.WARNING - 10 * min(verbosity, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def utf8_output() -> None:
    """Windows, output going to a pipe or a file: UTF-8, and a reader gone is EPIPE.

    Python there encodes redirected output in the ANSI code page (cp1252), which cannot
    hold, say, a "λ" from ND2 metadata or a file name: the command would fail after its
    work was done. And a write into a pipe whose reader has gone fails with ``EINVAL``
    (the C runtime's reading of ``ERROR_NO_DATA``), not ``EPIPE``: stdout is rewrapped so
    that it raises :class:`BrokenPipeError` as on POSIX, and ``| more`` quit early ends
    quietly. A console keeps its own (Unicode) output.
    """
    if sys.platform != "win32":
        return
    if sys.stderr is not None and hasattr(sys.stderr, "reconfigure") and not sys.stderr.isatty():
        sys.stderr.reconfigure(encoding="utf-8")
    if sys.stdout is None or sys.stdout.isatty():
        return
    sys.stdout.flush()
    raw = _PipeAwareWriter(sys.stdout.fileno())
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8")


class _PipeAwareWriter(io.RawIOBase):
    """fd 1 on Windows, where a closed pipe's ``EINVAL`` becomes :class:`BrokenPipeError`."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, data: Any) -> int:
        try:
            return os.write(self._fd, data)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise BrokenPipeError(errno.EPIPE, "the reader of stdout went away") from exc
            raise


_ENCODE = json.JSONEncoder(default=str, ensure_ascii=False).encode  # the C encoder
QUOTE = json.encoder.encode_basestring  # how ``_ENCODE`` writes a string


class JsonText(str):
    """A value already written as JSON text (a row of a long list, built in one
    f-string): :func:`print_json` writes it as it is."""


def _pieces(value: Any, depth: int = 0) -> Iterator[str]:
    """``value`` as JSON text: the document and its first-level values laid out one entry
    per line, each deeper value (a row of a list) on one line by the C encoder, which
    ``indent`` would replace with the pure-Python one (seconds for 40,000 rows)."""
    pad = "\n" + "  " * (depth + 1)
    if depth < 2 and isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        first = True
        for key, item in value.items():
            yield ("{" if first else ",") + pad + _ENCODE(key) + ": "
            first = False
            yield from _pieces(item, depth + 1)
        yield "\n" + "  " * depth + "}"
    elif depth < 2 and isinstance(value, list | tuple) and value:
        first = True
        for item in value:
            yield ("[" if first else ",") + pad
            first = False
            yield from _pieces(item, depth + 1)
        yield "\n" + "  " * depth + "]"
    elif type(value) is JsonText:
        yield value
    else:
        yield _ENCODE(value)


def print_json(document: Any, stream: TextIO | None = None) -> None:
    """Print one JSON document (the ``--json`` contract)."""
    out = stream or sys.stdout
    # written in blocks of about 64 KiB: few system calls when Python runs unbuffered
    # (PYTHONUNBUFFERED), and no second copy of a 100,000-entry document in memory
    block: list[str] = []
    size = 0
    for piece in _pieces(document):
        block.append(piece)
        size += len(piece)
        if size >= 1 << 16:
            out.write("".join(block))
            block, size = [], 0
    block.append("\n")
    out.write("".join(block))
    out.flush()


def console() -> Console:
    """A rich console on stdout for human output. When the reader of stdout goes away it
    ends the command as :func:`print_json` does (rich's own way exits with status 1,
    which means "files failed" here)."""
    return _console_class()()


@functools.cache
def _console_class() -> type[Console]:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, "the reader of stdout went away")

    return _Console


def print_error(err: AlmcError, stream: TextIO | None = None) -> None:
    """Human form of an error: title, detail, what to do next. Never a traceback."""
    out = stream or sys.stderr
    out.write(f"error: {err.title}\n  {err.detail}\n")
    if err.next_step:
        out.write(f"  What to do: {err.next_step}\n")
    out.flush()


def run_command(args: argparse.Namespace) -> int:
    """Call the command's handler, turning every error into a message and an exit code.

    When the reader of stdout goes away (``almc-assistant check --json | head``), stop
    quietly with :data:`EXIT_PIPE`, as standard Unix tools do: no traceback.
    """
    try:
        return _run_handler(args)
    except BrokenPipeError:
        return _stdout_closed()


def _stdout_closed() -> int:
    """Point stdout at the null device, so that the final flush at exit cannot fail too."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no usable stdout at all: nothing more to protect
        pass
    return EXIT_PIPE


def _run_handler(args: argparse.Namespace) -> int:
    handler: Handler = args.handler
    want_json = bool(getattr(args, "json", False))
    try:
        return handler(args)
    except (UsageError, ConfigError) as err:
        _report(err, want_json)
        return EXIT_USAGE
    except AlmcError as err:
        _report(err, want_json)
        return EXIT_FAILED
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted: nothing was left under a final name unverified.\n")
        return 130
    except BrokenPipeError:
        raise  # the reader of stdout left: run_command ends quietly
    except Exception as exc:  # a bug: log the traceback, show plain words
        log.debug("unexpected error", exc_info=True)
        internal = AlmcError(
            f"An unexpected error occurred: {type(exc).__name__}: {exc}",
            title="Internal error",
            next_step="Run again with -vv and send the output to the facility staff.",
        )
        _report(internal, want_json)
        return EXIT_FAILED


def _report(err: AlmcError, want_json: bool) -> None:
    if want_json:
        print_json({"ok": False, **err.as_dict()})
    else:
        print_error(err)
