"""``brandkit auth PLATFORM``: authorise an account in the browser (OAuth 2.0 with PKCE).

The flow itself lives in :mod:`brandkit.platforms.authflow`; this command finds the platform's
:class:`~brandkit.platforms.oauth.OAuthSpec`, gathers the client id and secret, runs the flow,
and stores the credentials encrypted: a new account, or new credentials for an existing one
(which becomes active again).
"""

from __future__ import annotations

import asyncio
import webbrowser
from typing import Annotated

import httpx
import typer
from sqlmodel import select

from brandkit.accounts import add_to_workspace, replace_credentials
from brandkit.cli.accounts_cmd import (
    durable_extras,
    env_secret,
    parse_extras,
    resolve_base_url,
)
from brandkit.cli.state import console, err_console, state
from brandkit.clock import SystemClock
from brandkit.config import Settings
from brandkit.db.engine import session_scope
from brandkit.db.models import Account
from brandkit.errors import InvalidInputError
from brandkit.platforms.authflow import DEFAULT_TIMEOUT, AuthRequest, authorize
from brandkit.platforms.base import Credentials, get_connector_class, known_platforms
from brandkit.platforms.oauth import OAuthSpec
from brandkit.runtime import default_http_client
from brandkit.secrets import SecretBox


def http_client(settings: Settings) -> httpx.AsyncClient:
    """The client for the token exchange (a function, so tests can hand in a fake)."""
    return default_http_client(settings.http_timeout)


def auth(
    ctx: typer.Context,
    platform: Annotated[str, typer.Argument(help=f"One of: {', '.join(known_platforms())}.")],
    name: Annotated[str, typer.Option(help="The account to create or re-authorise.")],
    client_id: Annotated[
        str | None,
        typer.Option(help="The app's OAuth client id (default: the one stored for NAME)."),
    ] = None,
    client_secret_env: Annotated[
        str | None,
        typer.Option(help="Read the app's client secret from this environment variable."),
    ] = None,
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="Callback port on 127.0.0.1 (0: any free one)."),
    ] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the address instead of opening it.")
    ] = False,
    base_url: Annotated[
        str | None, typer.Option(help="The instance or API base URL (default: the platform's).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="A non-secret credential field, KEY=VALUE (repeatable)."),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for the browser.")
    ] = DEFAULT_TIMEOUT,
) -> None:
    """Authorise an account in the browser: OAuth 2.0 authorization code with PKCE.

    Opens the platform's consent page; its answer comes back to http://127.0.0.1:PORT/callback
    on this machine. The token is stored encrypted and never printed. Platforms without OAuth
    take a token with 'brandkit accounts add'.

    Example: brandkit auth x --name dr-yamada --client-id abc123 --port 8765
    """
    st = state(ctx)
    settings = st.settings()
    cls = get_connector_class(platform)
    spec: OAuthSpec | None = getattr(cls, "oauth", None)
    if spec is None:
        raise InvalidInputError(
            f"{platform} has no browser authorisation in brandkit",
            hint=f"add the account with its token: brandkit accounts add {platform} --name "
            f"{name} (see docs/platforms/{platform}.md)",
        )
    extra = parse_extras(set_, platform=platform)
    secrets = SecretBox.from_key_file(settings.secret_key_file)
    with session_scope(st.engine()) as session:
        existing = session.exec(select(Account).where(Account.name == name)).first()
        if existing is not None and existing.platform != platform:
            raise InvalidInputError(
                f"account {name!r} is a {existing.platform} account, not {platform}",
                hint="choose another --name",
            )
        stored = secrets.decrypt(existing.credentials_encrypted) if existing else None
        url = resolve_base_url(platform, base_url or (existing.base_url if existing else None))
    request = AuthRequest(
        platform=platform,
        spec=spec,
        base_url=url,
        client_id=_client_id(platform, client_id, stored),
        client_secret=_client_secret(client_secret_env, stored),
        port=port,
        timeout=timeout,
        locale=settings.locale,
        authorize_params=dict(getattr(cls, "authorize_params", None) or {}),
        finish=getattr(cls, "finish_authorization", None),
    )

    def show(address: str) -> None:
        err_console.print(
            f"Open this address to authorise brandkit on {platform}:\n{address}",
            highlight=False,
            soft_wrap=True,
        )
        if not no_browser:
            webbrowser.open(address)
        err_console.print(f"Waiting up to {timeout:g} s for the browser…", highlight=False)

    async def run() -> Credentials:
        client = http_client(settings)
        try:
            return await authorize(request, client=client, show_url=show, now=SystemClock().now)
        finally:
            await client.aclose()

    credentials = asyncio.run(run())
    kept = durable_extras(stored) if stored else {}
    credentials = Credentials(token=credentials.token, extra={**kept, **credentials.extra, **extra})
    with session_scope(st.engine()) as session:
        account = session.exec(select(Account).where(Account.name == name)).first()
        if account is None:
            add_to_workspace(
                session,
                secrets,
                platform=platform,
                name=name,
                base_url=url,
                credentials=credentials,
            )
            done = "Added"
        else:
            replace_credentials(account, secrets, credentials)
            account.base_url = url.rstrip("/")
            done = "Re-authorised"
    expiry = credentials.get("expires_at")
    refresh = (
        "a refresh token is stored" if credentials.get("refresh_token") else "no refresh token"
    )
    console.print(
        f"{done} {platform} account {name!r}: token stored encrypted"
        f"{f', expires {expiry}' if expiry else ''} ({refresh}). "
        f"Check it with: brandkit accounts verify {name}",
        highlight=False,
    )


def _client_id(platform: str, given: str | None, stored: Credentials | None) -> str:
    found = given or (stored.get("client_id") if stored else None)
    if not found:
        raise InvalidInputError(
            f"{platform} needs the OAuth client id of your app",
            hint=f"pass --client-id (from the platform's developer portal; "
            f"see docs/platforms/{platform}.md)",
        )
    return found.strip()


def _client_secret(env: str | None, stored: Credentials | None) -> str | None:
    if env:
        return env_secret(env)
    return stored.get("client_secret") if stored else None
