"""The macOS LaunchAgent: a real plist file, read back with plistlib."""

from __future__ import annotations

import plistlib
from pathlib import Path

from almc_assistant.core.autostart import LaunchAgentAutostart, backend_for

APP = "/Applications/almc-assistant.app/Contents/MacOS/almc-assistant"


def test_plist_round_trips_through_plistlib(tmp_path: Path) -> None:
    agent = LaunchAgentAutostart(tmp_path / "LaunchAgents")
    assert agent.registered_command() is None
    agent.enable([APP])
    assert agent.path.name == "edu.almc.assistant.plist"
    with open(agent.path, "rb") as fh:
        data = plistlib.load(fh)
    assert data == {
        "Label": "edu.almc.assistant",
        "ProgramArguments": [APP],
        "RunAtLoad": True,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    }
    assert agent.registered_command() == (APP,)
    agent.disable()
    assert not agent.path.exists()
    assert agent.registered_command() is None


def test_a_disabled_or_broken_agent_counts_as_off(tmp_path: Path) -> None:
    agent = LaunchAgentAutostart(tmp_path)
    agent.enable([APP])
    data = plistlib.loads(agent.path.read_bytes())
    agent.path.write_bytes(plistlib.dumps({**data, "Disabled": True}))
    assert agent.registered_command() is None
    agent.path.write_bytes(b"<plist>not really")
    assert agent.registered_command() is None
    agent.enable([APP])  # replaces it
    assert agent.registered_command() == (APP,)


def test_default_location_is_the_users_launch_agents() -> None:
    location = Path(backend_for("darwin").location).as_posix()  # built with this OS's rules
    assert location.endswith("Library/LaunchAgents/edu.almc.assistant.plist")
