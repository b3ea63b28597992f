"""rclone's error text turned into a message naming the destination and what to do.

Thread contract: pure functions, safe anywhere.
"""

from __future__ import annotations

from almc_assistant.core.errors import AlmcError

# How rclone's sftp backend (Go's knownhosts) says the server's key is not the pinned
# one: another key of the pinned type, or no key of that type offered at all (the pinned
# type is the only one rclone negotiates: ``host_key_algorithms``).
HOST_KEY_CHANGED = ("knownhosts: key mismatch", "no common algorithm for host key")
HOST_KEY_UNKNOWN = ("knownhosts: key is unknown",)  # the file names no key for it
HOST_KEYS_UNREADABLE = ("couldn't parse known_hosts_file",)


def host_key_fault(message: str) -> str:
    """``changed``, ``unknown`` or ``unreadable`` when ``message`` is rclone refusing
    the server's key; "" otherwise."""
    low = message.lower()
    for kind, words in (
        ("changed", HOST_KEY_CHANGED),
        ("unknown", HOST_KEY_UNKNOWN),
        ("unreadable", HOST_KEYS_UNREADABLE),
    ):
        if any(w in low for w in words):
            return kind
    return ""


# (words rclone or the server uses, what happened, what to do), first match wins.
_KNOWN: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        HOST_KEY_CHANGED,
        "the server's identity (host key) is not the one you confirmed: it may be an "
        "impostor, nothing was sent",
        "Ask your facility or IT whether the server changed; only if they expected it, "
        "confirm the new key in Settings (Destinations, Test) or with "
        "'almc-assistant remote trust'.",
    ),
    (
        (*HOST_KEY_UNKNOWN, *HOST_KEYS_UNREADABLE),
        "the server's identity (host key) has not been confirmed",
        "Confirm the server's key in Settings (Destinations, Test) or with "
        "'almc-assistant remote trust'.",
    ),
    (
        (
            "unable to authenticate",
            "permission denied (publickey",
            "invalidaccesskeyid",
            "signaturedoesnotmatch",
            "401 unauthorized",
            "status 401",
            "logon failure",
            "nt_status_logon_failure",
            "invalid_grant",
            "token expired",
            "access denied",
            "accessdenied",
        ),
        "the server refused the sign-in (wrong or expired credentials)",
        "Check the user name, key or password in Settings, or sign in again.",
    ),
    (
        ("no space left", "quota", "insufficient storage", "status 507", "disk full"),
        "the remote storage is full",
        "Free space there or choose another destination; nothing was published.",
    ),
    (
        (
            "connection refused",
            "connection reset",
            "broken pipe",
            "unexpected eof",
            "eof",
            "i/o timeout",
            "no route to host",
            "connection lost",
            "use of closed network connection",
            "timeout",
        ),
        "the connection to the server was lost",
        "Check the network and that the server is up, then run the copy again: "
        "copies already proven are kept, the rest are redone.",
    ),
    (
        ("didn't find section in config file", "not found in config", "unknown backend"),
        "no such remote is set up",
        "Add the remote in Settings (or check its name), then try again.",
    ),
    (
        ("permission denied", "forbidden", "status 403"),
        "the server does not allow writing there",
        "Check that your account may write to that folder.",
    ),
)


class RemoteError(AlmcError):
    """A remote destination failed; ``final`` says whether retrying it now is pointless."""

    title = "Remote destination failed"

    def __init__(
        self, detail: str, *, final: bool = False, title: str | None = None, next_step: str = ""
    ) -> None:
        super().__init__(detail, title=title, next_step=next_step)
        self.final = final


def describe(label: str, action: str, message: str) -> RemoteError:
    """``Could not <action> at <label>: <what happened>.`` with a next step."""
    low = message.lower()
    for words, what, step in _KNOWN:
        if any(w in low for w in words):
            final = what != "the connection to the server was lost"
            return RemoteError(
                f"Could not {action} at {label}: {what} (rclone: {message.strip()[:300]}).",
                title=f"Could not {action}",
                next_step=step,
                final=final,
            )
    return RemoteError(
        f"Could not {action} at {label}: {message.strip()[:300]}.",
        title=f"Could not {action}",
        next_step="Try again; if it persists, ask staff and send them the log.",
    )
