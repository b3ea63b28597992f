"""Signing in to Google Drive and OneDrive through the browser, and signing out.

Thread contract: :func:`start_sign_in` returns at once (a small loopback server waits in
a daemon thread); :meth:`SignIn.finish` blocks until the browser comes back (a worker
runs it); :meth:`SignIn.cancel` may be called from any thread. Nothing here touches a GUI.

The flow is OAuth 2.0 for installed apps (RFC 8252) with PKCE, with the facility's own
client id from the facility config (Google retires rclone's shared client in 2026).
rclone's own ``rclone authorize`` always listens on 127.0.0.1:53682, so on a shared
workstation a second sign-in (another account's, or a stuck one) would fail; we listen on
a free loopback port the system picks instead (both providers accept any port on a
loopback redirect for desktop clients). :func:`start_sign_in` returns the provider's
page a front end opens in the browser; after the user consents, the browser comes back
to our port with a code, :meth:`SignIn.finish` exchanges it for a token at the
provider's token endpoint (OneDrive: then asks Microsoft Graph for the account's drive,
``me/drive``, whose id and type rclone's OneDrive backend needs: :func:`own_drive`),
and stores it with rclone's ``config/create`` in the user's
private rclone.conf (encrypted when a keyring holds its password: :mod:`vault`): never
in our TOML, the facility's files or the logs.

No Google or Microsoft account is reachable from the test machines: the tests follow
the flow up to the browser hand-off for real, then play the browser's return and the
provider's token endpoint and Graph's ``me/drive`` with a stand-in on loopback
(:attr:`Provider.token_url`, :attr:`Provider.drive_url`).

Signing out deletes the remote from the private config, token included
(:func:`sign_out`); the provider still lists the app under the user's account until
they remove it there.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import queue
import re
import secrets
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from almc_assistant.core.errors import AlmcError
from almc_assistant.core.remote.rcd import RcDaemon


class SignInError(AlmcError):
    title = "Sign-in failed"


@dataclass(frozen=True, slots=True)
class Provider:
    auth_url: str
    token_url: str
    scope: str
    redirect_host: str  # what the redirect names: Google "127.0.0.1", Microsoft "localhost"
    extra: tuple[tuple[str, str], ...] = ()
    drive_url: str = ""  # OneDrive: the Microsoft Graph root asked for the account's drive


PROVIDERS: dict[str, Provider] = {
    "drive": Provider(
        "https://accounts.google.com/o/oauth2/auth",
        "https://oauth2.googleapis.com/token",
        "https://www.googleapis.com/auth/drive",
        "127.0.0.1",
        (("access_type", "offline"), ("prompt", "consent")),
    ),
    "onedrive": Provider(
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "Files.Read Files.ReadWrite Files.Read.All Files.ReadWrite.All Sites.Read.All "
        "offline_access",
        "localhost",
        drive_url="https://graph.microsoft.com/v1.0",
    ),
}
# The drive types rclone's OneDrive backend knows (its ``drive_type``).
DRIVE_TYPES = ("personal", "business", "documentLibrary")

_DONE_PAGE = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>almc-assistant</title></head>"
    b"<body><h1>%s</h1><p>%s</p></body></html>"
)


@dataclass
class SignIn:
    """A sign-in waiting for the user's consent in the browser."""

    backend: str
    provider: Provider
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str  # our loopback port: where the browser comes back
    provider_url: str  # the page to open in the browser
    state: str = field(repr=False)
    verifier: str = field(repr=False)
    _server: http.server.HTTPServer | None = field(default=None, repr=False)
    _answers: queue.Queue[dict[str, str]] = field(default_factory=queue.Queue, repr=False)

    @property
    def port(self) -> int:
        return int(urlsplit(self.redirect_uri).port or 0)

    def cancel(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        self._answers.put({"error": "cancelled"})

    def wait_code(self, timeout: float) -> str:
        """The authorization code the browser brought back (blocks)."""
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            self.cancel()
            raise SignInError(
                "The sign-in was not completed in the browser in time.",
                next_step="Start the sign-in again and finish it in the browser.",
            ) from None
        if answer.get("error") == "cancelled":
            raise SignInError("The sign-in was cancelled.", next_step="Sign in again.")
        if "code" not in answer:
            raise SignInError(
                f"The provider refused the sign-in ({answer.get('error', 'no answer')}).",
                next_step="Sign in again; if it keeps failing, ask staff whether the "
                "facility's app is allowed for your account.",
            )
        return answer["code"]

    def finish(self, daemon: RcDaemon, name: str, timeout: float) -> None:
        """Wait for the browser, get the token, store remote ``name`` in the private config."""
        try:
            code = self.wait_code(timeout)
        finally:
            self.cancel()
        token = exchange_code(self, code)
        drive = own_drive(self.provider, token) if self.backend == "onedrive" else None
        store_token(
            daemon, name, self.backend, self.client_id, token, self.client_secret, drive=drive
        )


def _handler(sign_in: SignIn) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            if query.get("state") != sign_in.state:  # not our browser's answer: ignored
                self._page(400, b"Not this sign-in", b"This link does not belong here.")
                return
            ok = "code" in query
            self._page(
                200,
                b"Signed in" if ok else b"Sign-in refused",
                b"You can close this tab and go back to almc-assistant."
                if ok
                else b"Go back to almc-assistant to try again.",
            )
            sign_in._answers.put(query)

        def _page(self, status: int, title: bytes, text: bytes) -> None:
            body = _DONE_PAGE % (title, text)
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the query holds the code: never logged

    return Handler


def start_sign_in(
    backend: str, client_id: str, client_secret: str = "", *, provider: Provider | None = None
) -> SignIn:
    """Listen on a free loopback port and return the sign-in whose ``provider_url`` the
    browser opens. ``provider``: another endpoint (the tests' stand-in)."""
    if backend not in PROVIDERS:
        raise SignInError(f"{backend!r} has no browser sign-in here.")
    if not client_id:
        raise SignInError(
            "The facility has not set its own sign-in app for this provider.",
            next_step="Ask staff to add the client id to the facility configuration.",
        )
    p = provider or PROVIDERS[backend]
    verifier = secrets.token_urlsafe(48)
    sign_in = SignIn(
        backend, p, client_id, client_secret, "", "", secrets.token_urlsafe(16), verifier
    )
    try:
        server = http.server.HTTPServer(("127.0.0.1", 0), _handler(sign_in))
    except OSError as exc:
        raise SignInError(
            f"No local port could be opened for the browser to come back to ({exc.strerror}).",
            next_step="Restart almc-assistant and try again; if it persists, ask staff.",
        ) from None
    sign_in._server = server
    sign_in.redirect_uri = f"http://{p.redirect_host}:{server.server_address[1]}/"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "client_id": client_id,
        "redirect_uri": sign_in.redirect_uri,
        "response_type": "code",
        "scope": p.scope,
        "state": sign_in.state,
        "code_challenge": challenge.decode("ascii").rstrip("="),
        "code_challenge_method": "S256",
        **dict(p.extra),
    }
    sign_in.provider_url = f"{p.auth_url}?{urlencode(query)}"
    threading.Thread(target=server.serve_forever, daemon=True, name="sign-in").start()
    return sign_in


def exchange_code(sign_in: SignIn, code: str) -> str:
    """The token (rclone's JSON shape) for ``code`` from the provider's token endpoint."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": sign_in.redirect_uri,
        "client_id": sign_in.client_id,
        "code_verifier": sign_in.verifier,
    }
    if sign_in.client_secret:
        form["client_secret"] = sign_in.client_secret
    request = urllib.request.Request(
        sign_in.provider.token_url,
        data=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    answer = _ask(
        request,
        refused="{host} refused the sign-in code (HTTP {code}).",
        unreachable="{host} could not be reached to finish the sign-in ({error}).",
        next_step=_RETRY + "is allowed for your account.",
    )
    return rclone_token(answer)


_RETRY = "Sign in again; if it keeps failing, ask staff whether the facility's app "


def _ask(request: urllib.request.Request, *, refused: str, unreachable: str, next_step: str) -> Any:
    """The JSON a provider answers ``request`` with; :class:`SignInError` in these words
    (``{host}``, ``{code}``, ``{error}`` filled in) when it refuses or cannot be reached."""
    host = urlsplit(request.full_url).hostname
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        exc.close()  # its answer's connection
        raise SignInError(refused.format(host=host, code=exc.code), next_step=next_step) from None
    except (OSError, ValueError) as exc:
        raise SignInError(
            unreachable.format(host=host, error=type(exc).__name__),
            next_step="Check the network, then sign in again.",
        ) from None


def rclone_token(answer: Any) -> str:
    """A token endpoint's answer as rclone records a token (``expiry`` as a time)."""
    if not isinstance(answer, dict) or "access_token" not in answer:
        raise SignInError(
            "The provider did not give a sign-in token.",
            next_step="Start the sign-in again; if it keeps failing, ask staff whether "
            "the facility's app is allowed for your account.",
        )
    seconds = int(answer.get("expires_in", 3600))
    expiry = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    token = {
        "access_token": answer["access_token"],
        "token_type": answer.get("token_type", "Bearer"),
        "refresh_token": answer.get("refresh_token", ""),
        "expiry": expiry,
    }
    return json.dumps(token)


def parse_token(out: str) -> str:
    """The token JSON between rclone's paste markers (or the last JSON line): a token
    made by ``rclone authorize`` on another computer, pasted in."""
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


def own_drive(provider: Provider, token: str) -> tuple[str, str]:
    """OneDrive: the signed-in account's own drive, ``(drive_id, drive_type)``, asked of
    Microsoft Graph (``GET me/drive``) as rclone's own configuration does after the
    token: rclone's OneDrive backend needs both. :class:`SignInError` naming what failed."""
    host = urlsplit(provider.drive_url).hostname
    access = json.loads(token).get("access_token", "")
    request = urllib.request.Request(
        f"{provider.drive_url.rstrip('/')}/me/drive",
        headers={"Authorization": f"Bearer {access}", "Accept": "application/json"},
    )
    answer = _ask(
        request,
        refused="{host} did not give this account's OneDrive (HTTP {code}).",
        unreachable="{host} could not be reached to find your OneDrive ({error}).",
        next_step=_RETRY + "may read your OneDrive, and whether your account has one.",
    )
    drive_id = answer.get("id") if isinstance(answer, dict) else None
    drive_type = answer.get("driveType") if isinstance(answer, dict) else None
    if not isinstance(drive_id, str) or not drive_id or drive_type not in DRIVE_TYPES:
        raise SignInError(
            f"{host} answered without a OneDrive this app can use (drive type {drive_type!r}).",
            next_step=_RETRY + "may read your OneDrive.",
        )
    return drive_id, str(drive_type)


def store_token(
    daemon: RcDaemon,
    name: str,
    backend: str,
    client_id: str,
    token: str,
    client_secret: str = "",
    *,
    drive: tuple[str, str] | None = None,
) -> None:
    """Create remote ``name`` holding ``token`` (no call to the provider); ``drive``:
    OneDrive's ``(drive_id, drive_type)`` (:func:`own_drive`)."""
    params = {"client_id": client_id, "token": token, "config_refresh_token": "false"}
    if client_secret:
        params["client_secret"] = client_secret
    if drive is not None:
        params["drive_id"], params["drive_type"] = drive
    elif backend == "onedrive":
        params["drive_type"] = "personal"  # no drive known (a token made elsewhere)
    daemon.call(
        "config/create",
        name=name,
        type=backend,
        parameters=params,
        opt={"nonInteractive": True, "obscure": True},
    )


def sign_out(daemon: RcDaemon, name: str) -> None:
    """Remove remote ``name`` and its token from the user's private rclone config."""
    daemon.call("config/delete", name=name)
