"""The test modules stay importable under Windows Python (the Windows lane, .ci/windows-lane).

A POSIX-only call evaluated when a module is imported (a ``skipif(os.geteuid() ...)``
decorator, ``import pwd`` at the top) stops the whole Windows run at collection. This
catches it on Linux, before the lane: use ``tests.portable.IS_ROOT`` / ``WINDOWS``, and
import POSIX-only modules inside the tests that need them (or under a platform check).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
POSIX_MODULES = {"pwd", "grp", "fcntl", "termios", "resource", "posix"}
POSIX_CALLS = {"geteuid", "getuid", "getegid", "getgid", "mkfifo", "fork", "getpwnam"}
# X11 session management is Unix only; its modules are not collected on Windows
# (tests/qt/session/conftest.py), so they may use POSIX at import time
EXEMPT = {"tests/qt/session/test_xsmp.py", "tests/qt/session/test_x11_session_managers.py"}


def _import_time_nodes(tree: ast.Module) -> list[ast.AST]:
    """What runs when the module is imported: top-level statements (not under ``if``,
    ``try``), and the decorators and default values of top-level functions and classes."""
    out: list[ast.AST] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out.extend(node.decorator_list)
            out.extend(node.args.defaults)
        elif isinstance(node, ast.ClassDef):
            out.extend(node.decorator_list)
        elif not isinstance(node, ast.If | ast.Try):
            out.append(node)
    return out


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for top in _import_time_nodes(tree):
        guarded = {  # hasattr(os, "geteuid") and os.geteuid() ...: fine
            n.args[1].value
            for n in ast.walk(top)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id == "hasattr"
            and len(n.args) == 2
            and isinstance(n.args[1], ast.Constant)
        }
        for node in ast.walk(top):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            found += [f"imports {n}" for n in names if n in POSIX_MODULES]
            if isinstance(node, ast.Attribute) and node.attr in POSIX_CALLS - guarded:
                found.append(f"uses .{node.attr}")
            if isinstance(node, ast.Attribute) and node.attr in ("SIGHUP", "SIGKILL"):
                found.append(f"uses signal.{node.attr}")
    return [f"{path.relative_to(TESTS.parent).as_posix()}: {p} at import" for p in found]


def test_no_posix_only_calls_when_test_modules_are_imported() -> None:
    problems = [
        p
        for f in sorted(TESTS.rglob("*.py"))
        if f.relative_to(TESTS.parent).as_posix() not in EXEMPT
        for p in _problems(f)
    ]
    assert problems == [], "\n".join(problems)
