"""Signing in to Google Drive and OneDrive through the browser, and signing out.

Thread contract: :func:`start_sign_in` and :meth:`SignIn.finish` block (a worker thread
runs them); :func:`sign_out` is one daemon call. Nothing here touches a GUI.

The flow is rclone's own (``rclone authorize``), with the facility's OAuth client id
from the facility config (Google retires rclone's shared client in 2026): rclone listens
on 127.0.0.1:53682 for the provider's answer and prints a local link that redirects to
the provider's authorize page. :func:`start_sign_in` returns both links; a front end
opens one in the browser. After the user consents, :meth:`SignIn.finish` reads the token
rclone prints and stores it with ``config/create`` in the user's private rclone.conf
(0600, theirs only): never in our TOML, the facility's files or the logs.

Signing out deletes the remote from the private config, token included
(:func:`sign_out`); the provider still lists the app under the user's account until
they remove it there (we cannot revoke it for them without reaching the provider).

On a shared workstation the fixed local port means one sign-in at a time on the
machine; another account holding 127.0.0.1:53682 makes the sign-in fail (refused,
not redirected).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.remote.rclonebin import rclone_binary

AUTHORIZE_HOSTS = {
    "drive": "accounts.google.com",
    "onedrive": "login.microsoftonline.com",
}
_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/auth\?state=[\w-]+)")


class SignInError(AlmcError):
    title = "Sign-in failed"


@dataclass
class SignIn:
    """A sign-in waiting for the user's consent in the browser."""

    backend: str
    local_url: str  # what rclone printed: redirects to the provider
    provider_url: str  # the provider's authorize page, with our client id
    proc: subprocess.Popen[str]
    _out: list[str] = field(default_factory=list)

    def cancel(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def finish(self, daemon: RcDaemon, name: str, client_id: str, timeout: float) -> None:
        """Wait for the token, then store the remote ``name`` in the private config."""
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.cancel()
            raise SignInError(
                "The sign-in was not completed in the browser in time.",
                next_step="Start the sign-in again and finish it in the browser.",
            ) from exc
        token = parse_token(out)
        store_token(daemon, name, self.backend, client_id, token)


def parse_token(out: str) -> str:
    """The token JSON between rclone's paste markers (or the last JSON line)."""
    m = re.search(r"--->\s*(\{.*?\})\s*<---", out, re.S)
    text = (
        m.group(1)
        if m
        else next((line for line in reversed(out.splitlines()) if line.startswith("{")), "")
    )
    try:
        token = json.loads(text)
    except ValueError:
        token = None
    if not isinstance(token, dict) or "access_token" not in token:
        raise SignInError(
            "The provider did not give a sign-in token.",
            next_step="Start the sign-in again; if it keeps failing, ask staff whether "
            "the facility's app is allowed for your account.",
        )
    return json.dumps(token)


def store_token(daemon: RcDaemon, name: str, backend: str, client_id: str, token: str) -> None:
    """Create remote ``name`` holding ``token`` (no call to the provider)."""
    params = {"client_id": client_id, "token": token, "config_refresh_token": "false"}
    if backend == "onedrive":
        params["drive_type"] = "personal"
    daemon.call(
        "config/create",
        name=name,
        type=backend,
        parameters=params,
        opt={"nonInteractive": True, "obscure": True},
    )


def start_sign_in(backend: str, client_id: str, client_secret: str = "") -> SignIn:
    """Start ``rclone authorize`` and return the links the user opens."""
    if backend not in AUTHORIZE_HOSTS:
        raise SignInError(f"{backend!r} has no browser sign-in here.")
    if not client_id:
        raise SignInError(
            "The facility has not set its own sign-in app for this provider.",
            next_step="Ask staff to add the client id to the facility configuration.",
        )
    blob = (
        base64.b64encode(
            json.dumps({"client_id": client_id, "client_secret": client_secret}).encode()
        )
        .decode("ascii")
        .rstrip("=")  # rclone reads it without padding
    )
    proc = subprocess.Popen(
        [str(rclone_binary()), "authorize", backend, blob, "--auth-no-open-browser"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    local_url = _read_link(proc)
    sign_in = SignIn(backend, local_url, "", proc)
    try:
        sign_in.provider_url = _follow_once(local_url)
    except BaseException:
        sign_in.cancel()
        raise
    return sign_in


def _read_link(proc: subprocess.Popen[str]) -> str:
    found: list[str] = []
    lines: list[str] = []

    def reader() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if m := _LINK.search(line):
                found.append(m.group(1))
                return

    t = threading.Thread(target=reader, daemon=True, name="rclone-authorize")
    t.start()
    t.join(20)
    if not found:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
        t.join(5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        said = "".join(lines)[-300:] or "nothing"
        raise SignInError(
            f"rclone did not start the sign-in (it said: {said.strip()}).",
            next_step="Close other sign-ins on this computer (one at a time), then retry.",
        )
    return found[0]


def _follow_once(url: str) -> str:
    """The ``Location`` the local link redirects to (never fetched: no network needed)."""
    parts = urlsplit(url)
    for _ in range(50):
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            conn.request("GET", f"{parts.path}?{parts.query}")
            resp = conn.getresponse()
            resp.read()
            location = resp.getheader("Location", "")
        except OSError:
            time.sleep(0.1)
            continue
        finally:
            conn.close()
        if location:
            return location
        break
    raise SignInError("rclone's sign-in page did not lead to the provider.")


def sign_out(daemon: RcDaemon, name: str) -> None:
    """Remove remote ``name`` and its token from the user's private rclone config."""
    daemon.call("config/delete", name=name)
