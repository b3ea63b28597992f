"""`almc-assistant remote add|test|trust`: set up a remote destination from the command
line, test one, and confirm an SFTP server's key, as Settings does.

Thread contract: main thread; the service's worker does the network work and answers
``RemoteTested``, awaited here.

An SFTP server's key (its type and ``SHA256:`` fingerprint) is printed before anything
of the user's is sent. It is pinned only when the person confirms it: with
``--accept-host-key SHA256:...`` (compared with the key the server shows), or by
answering "yes" at a terminal. Without either, and no terminal to ask at, the command
stops with exit status 2 saying what to run; a server showing another key than the one
given stops with exit status 1. A key that changed since it was confirmed is a hard
stop on every use (``copy``, ``verify``, ``cleanup``, ``remote test``);
``remote trust DEST --accept-host-key ...`` confirms the new one once IT said it is
expected.

Exit status: 0 the remote works; 1 it does not (refused, unreachable, key not the one
given or changed); 2 usage (missing fields, a key not confirmed without a terminal).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import asdict, replace
from typing import Any

from almc_assistant.cli import _common
from almc_assistant.cli._service import open_service
from almc_assistant.core.errors import UsageError
from almc_assistant.core.events import QueueSink
from almc_assistant.core.remote.hostkey import COMPARE_NOTE
from almc_assistant.core.remote.spec import parse_remote
from almc_assistant.core.service_remotes import (
    BACKEND_LABELS,
    SIGN_IN_BACKENDS,
    RemoteSetup,
    RemoteTested,
    RemoteTestResult,
)

KINDS = tuple(b for b in BACKEND_LABELS if b not in SIGN_IN_BACKENDS)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "remote",
        help="set up, test or trust a remote destination (SFTP, SMB, S3, WebDAV)",
        description="Set up a remote destination in your private rclone settings, test "
        "it as a copy would, or confirm an SFTP server's key. Google Drive and OneDrive "
        "are set up by signing in, in Settings.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="save a remote and test it",
        description="Save a remote destination and test it. For SFTP the server's key "
        "is shown first and must be confirmed.",
    )
    add.add_argument("kind", choices=KINDS, help="the kind of connection")
    add.add_argument("destination", metavar="NAME:FOLDER", help="e.g. research:lab/me")
    add.add_argument("--host", default="", help="the server's name (SFTP, SMB)")
    add.add_argument("--port", default="", help="the server's port (default: the usual)")
    add.add_argument("--user", default="", help="your user name there")
    add.add_argument("--key-file", default="", help="SFTP: your private key file")
    add.add_argument("--url", default="", help="WebDAV address, or S3 endpoint")
    add.add_argument("--access-key", default="", help="S3 access key id")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password (S3: the secret key) from the first line of standard input",
    )
    _accept_option(add)
    add.add_argument("--json", action="store_true", help="print one JSON document")
    add.set_defaults(handler=_add)

    test = actions.add_parser("test", help="test a remote as a copy would open it")
    test.add_argument("destination", metavar="NAME:FOLDER")
    test.add_argument("--json", action="store_true", help="print one JSON document")
    test.set_defaults(handler=_test)

    trust = actions.add_parser(
        "trust",
        help="confirm an SFTP server's key (first use, or a change IT expected)",
        description="Show the key of the SFTP server of NAME:FOLDER, pin it once "
        "confirmed (replacing the key pinned before), and test the remote.",
    )
    trust.add_argument("destination", metavar="NAME:FOLDER")
    _accept_option(trust)
    trust.add_argument("--json", action="store_true", help="print one JSON document")
    trust.set_defaults(handler=_trust)


def _accept_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--accept-host-key",
        metavar="SHA256:...",
        default="",
        help="SFTP: the server key's fingerprint you checked with your facility or IT; "
        "the key is pinned only if the server shows this one",
    )


def _ask(sink: QueueSink, request: int) -> RemoteTestResult:
    while True:
        event = sink.get(timeout=0.5)
        if isinstance(event, RemoteTested) and event.request_id == request:
            return event.result


def _secret(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    needed = args.kind in ("smb", "s3", "webdav") or (args.kind == "sftp" and not args.key_file)
    if needed and sys.stdin.isatty():
        words = "Secret key" if args.kind == "s3" else "Password"
        return getpass.getpass(f"{words} for {args.destination}: ")
    return ""


def _add(args: argparse.Namespace) -> int:
    spec = parse_remote(args.destination)  # a clear ConfigError when malformed
    setup = RemoteSetup(
        args.kind,
        spec.name,
        folder=spec.path,
        host=args.host,
        port=args.port,
        user=args.user,
        key_file=args.key_file,
        url=args.url,
        access_key=args.access_key,
        secret=_secret(args),
        host_key=args.accept_host_key,
    )
    sink = QueueSink()
    with open_service(sink, show_problems=False) as service:
        result = _ask(sink, service.set_up_remote(setup))
        fingerprint = _confirmed(args, result)
        if fingerprint:
            result = _ask(sink, service.set_up_remote(replace(setup, host_key=fingerprint)))
    return _report(args, result)


def _test(args: argparse.Namespace) -> int:
    sink = QueueSink()
    with open_service(sink, show_problems=False) as service:
        result = _ask(sink, service.test_remote(args.destination))
        if result.host_key is not None and not result.host_key.changed and not result.ok:
            fingerprint = _confirmed(args, result)  # set up before keys were checked
            if fingerprint:
                result = _ask(sink, service.trust_host_key(args.destination, fingerprint))
    return _report(args, result)


def _trust(args: argparse.Namespace) -> int:
    sink = QueueSink()
    with open_service(sink, show_problems=False) as service:
        if args.accept_host_key:
            request = service.trust_host_key(args.destination, args.accept_host_key)
            return _report(args, _ask(sink, request))
        result = _ask(sink, service.test_remote(args.destination))
        check = result.host_key
        if check is None:
            return _report(args, result)  # works already, or fails for another reason
        fingerprint = _confirmed(args, result)
        if fingerprint:
            result = _ask(sink, service.trust_host_key(args.destination, fingerprint))
    return _report(args, result)


def _confirmed(args: argparse.Namespace, result: RemoteTestResult) -> str:
    """The fingerprint the person confirms at the terminal for ``result``'s key ("" when
    there is nothing to confirm); :class:`UsageError` when nobody can be asked."""
    check = result.host_key
    if check is None or result.ok:
        return ""
    if args.accept_host_key:
        return ""  # it was given and the server shows another: reported as it is
    out = sys.stderr
    out.write(
        f"{result.title}\n  {result.detail}\n"
        f"  Server: {check.address}\n  Key type: {check.key_type}\n"
        f"  Fingerprint: {check.fingerprint}\n"
    )
    if check.changed:
        out.write(f"  Confirmed before: {check.pinned}\n  {result.next_step}\n")
    else:
        out.write(f"  {COMPARE_NOTE}\n")
    out.flush()
    interactive = sys.stdin.isatty() and not getattr(args, "password_stdin", False)
    if not interactive or args.json:
        raise UsageError(
            f"The key of the server of {check.destination} was not confirmed, so nothing "
            f"was saved or sent (its fingerprint: {check.fingerprint}).",
            title="Server key not confirmed",
            next_step="Compare the fingerprint with what your facility or IT publishes; if "
            f"it matches, run again with --accept-host-key {check.fingerprint}"
            + (" (the key changed: only if IT expected it)." if check.changed else "."),
        )
    words = "Trust the NEW key" if check.changed else "Trust this key"
    answer = input(f"{words} of {check.address}? Type yes to trust it: ").strip().lower()
    if answer not in ("yes", "y"):
        raise UsageError(
            f"The key of the server of {check.destination} was not trusted; nothing was "
            "saved or sent.",
            title="Server key not confirmed",
            next_step="Run again once you have compared the fingerprint.",
        )
    return check.fingerprint


def _report(args: argparse.Namespace, result: RemoteTestResult) -> int:
    if args.json:
        document: dict[str, Any] = asdict(result)
        _common.print_json(document)
    else:
        out = sys.stdout if result.ok else sys.stderr
        mark = "ok" if result.ok else "error"
        out.write(f"{mark}: {result.title}\n  {result.detail}\n")
        if result.host_key is not None:
            check = result.host_key
            out.write(f"  Server key: {check.key_type} {check.fingerprint}\n")
            if check.pinned:
                out.write(f"  Confirmed before: {check.pinned}\n")
        if result.proof:
            out.write(f"  {result.proof}\n")
        if result.next_step:
            out.write(f"  What to do: {result.next_step}\n")
        out.flush()
    return _common.EXIT_OK if result.ok else _common.EXIT_FAILED
