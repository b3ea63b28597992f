"""Whether to hold up a session end: a pure function of the request, the pending data and policy.

Thread contract: pure, safe anywhere, no I/O. Rules (``LOGOUT.md`` §0.2, §2.1):

- never veto a forced or critical end, nor the Restart Manager closing us (``CLOSE_APP``):
  an installer or updater would break, and a forced end ignores us anyway;
- veto only while data is at risk and only where the facility's policy allows it;
- the answer carries a short reason for the OS's own screen (Windows' "This app is
  preventing you from signing out", GNOME's end-session dialog) and a longer text for our
  window, shown *after* the user cancels.
"""

from __future__ import annotations

from dataclasses import dataclass

from almc_assistant.core.session_end.events import EndKind
from almc_assistant.core.session_end.pending import PendingSummary
from almc_assistant.core.session_end.texts import short_reason


@dataclass(frozen=True, slots=True)
class SessionEndRequest:
    """One end-of-session query from the operating system."""

    kind: EndKind
    platform: str
    can_veto: bool = True


@dataclass(frozen=True, slots=True)
class SessionEndPolicy:
    """What the facility allows (a site may not want logouts held up at all)."""

    veto_logoff: bool = True
    veto_shutdown: bool = True
    veto_unknown: bool = True  # macOS: logout, restart and a Dock "Quit" look alike


@dataclass(frozen=True, slots=True)
class SessionEndDecision:
    """The answer: ``veto`` the end or not, and the words to show."""

    veto: bool
    reason: str  # short, for the OS screen; empty when nothing is at risk

    @property
    def allow(self) -> bool:
        return not self.veto


ALLOW = SessionEndDecision(veto=False, reason="")


def decide(
    request: SessionEndRequest, summary: PendingSummary, policy: SessionEndPolicy
) -> SessionEndDecision:
    """Answer ``request`` given what is pending. Never vetoes a forced end."""
    if not summary.at_risk:
        return ALLOW
    reason = short_reason(summary)
    if not request.can_veto or request.kind in (EndKind.FORCED, EndKind.CLOSE_APP):
        return SessionEndDecision(veto=False, reason=reason)
    allowed = {
        EndKind.LOGOFF: policy.veto_logoff,
        EndKind.SHUTDOWN_OR_RESTART: policy.veto_shutdown,
        EndKind.UNKNOWN: policy.veto_unknown,
    }
    return SessionEndDecision(veto=allowed.get(request.kind, False), reason=reason)
