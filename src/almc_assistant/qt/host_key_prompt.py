"""An SFTP server's key to confirm, in words: shown in "Add a remote destination" and in
the Destinations tab's Test, and the extra question before a *changed* key is trusted.

Thread contract: GUI thread only (the question is a modal box through the prompter).
"""

from __future__ import annotations

import html

from almc_assistant.core.service_remotes import HostKeyCheck, RemoteTestResult
from almc_assistant.qt.prompts import Choice, Level, Prompter, Question, Role

TRUST_NEW_KEY = "trust-changed-host-key"


def host_key_html(result: RemoteTestResult) -> str:
    """The question (first use, a changed key, or not the key confirmed) with the key's
    type and fingerprint in full, selectable, and what to compare it with."""
    check = result.host_key
    assert check is not None
    mark = "⚠ " if check.changed else ""
    rows = [
        ("Server", check.address),
        ("Key type", check.key_type),
        ("Fingerprint", check.fingerprint),
    ]
    if check.changed:
        rows.append(("Confirmed before", check.pinned))
    table = "".join(
        f"<tr><td>{html.escape(k)}:&nbsp;</td><td><tt><b>{html.escape(v)}</b></tt></td></tr>"
        for k, v in rows
    )
    return (
        f"{mark}<b>{html.escape(result.title)}</b><br>{html.escape(result.detail)}"
        f"<table>{table}</table><i>{html.escape(result.next_step)}</i>"
    )


def trust_label(check: HostKeyCheck) -> str:
    return "Trust the &new key…" if check.changed else "Trust this key and c&onnect"


def confirm_changed(prompter: Prompter, check: HostKeyCheck) -> bool:
    """For a changed key only: the person says IT expected the change (Escape: no)."""
    if not check.changed:
        return True
    answer = prompter.ask(
        Question(
            key=TRUST_NEW_KEY,
            title="Trust the server's new key?",
            text=f"The server {check.address} has a new key. Trust it only if your "
            "facility or IT told you the server changed and its new fingerprint is:\n\n"
            f"{check.fingerprint}",
            detail=f"Key confirmed before: {check.pinned}. A key that changed without "
            "notice may mean someone is impersonating the server.",
            choices=(
                Choice("trust", "Trust the new key", Role.DESTRUCTIVE),
                Choice("cancel", "Cancel", Role.REJECT),
            ),
            default="cancel",
            level=Level.WARNING,
        )
    )
    return answer == "trust"
