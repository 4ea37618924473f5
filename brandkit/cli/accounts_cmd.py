"""``brandkit accounts``: add, list, verify, reauth and remove platform accounts.

A secret (access token, app password) is read from a hidden prompt, standard input or a named
environment variable — never from a command-line argument, where it would end up in shell
history and process lists. Non-secret credential fields (user ids, page ids…) come from
``--set KEY=VALUE``, which refuses keys that look like secrets. ``brandkit auth`` (in
:mod:`brandkit.cli.auth_cmd`) is the browser alternative for OAuth platforms.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Mapping
from typing import Annotated, Any, Protocol

import typer
from rich.markup import escape
from sqlmodel import select

from brandkit.accounts import add_to_workspace, replace_credentials, verify_accounts
from brandkit.cli.output import emit_json, emit_table, local
from brandkit.cli.state import console, state
from brandkit.db.engine import session_scope
from brandkit.db.models import Account, AccountSnapshot, Variant
from brandkit.errors import InvalidInputError, NotFoundError
from brandkit.platforms.base import Credentials, get_connector_class, known_platforms
from brandkit.publishing.jobs import SYNC_PREFIX, JobQueue
from brandkit.secrets import SecretBox
from brandkit.workspace import build_runtime

app = typer.Typer(
    help="Platform accounts: add, list, verify, reauth, remove.", no_args_is_help=True
)


_SECRET_WORDS = ("token", "secret", "password", "passwd", "jwt", "key", "code")
_EXTRA_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")


def env_secret(variable: str) -> str:
    """The secret in environment variable ``variable``, refused when unset or blank."""
    value = os.environ.get(variable, "").strip()
    if not value:
        raise InvalidInputError(f"environment variable {variable} is not set or empty")
    return value


def _read_token(token_env: str | None, platform: str = "") -> str:
    """The secret from ``token_env``, standard input, or a hidden prompt; never from argv."""
    if token_env:
        return env_secret(token_env)
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    label = f"{platform} access token or app password" if platform else "Access token"
    return str(typer.prompt(label, hide_input=True)).strip()


def parse_extras(pairs: list[str] | None, *, platform: str) -> dict[str, str]:
    """``--set KEY=VALUE`` pairs as a dict, refusing keys that name a secret."""
    extra: dict[str, str] = {}
    for pair in pairs or []:
        key, eq, value = pair.partition("=")
        key = key.strip()
        if not eq or not _EXTRA_KEY.fullmatch(key) or not value.strip():
            raise InvalidInputError(
                f"--set {pair.split('=', 1)[0]}=… is not KEY=VALUE with a lower-case key "
                "and a non-empty value",
                hint="e.g. --set user_id=1234567890",
            )
        if any(word in key for word in _SECRET_WORDS):
            raise InvalidInputError(
                f"--set {key}=… looks like a secret, and a secret on the command line ends up "
                "in shell history and process lists",
                hint=(
                    "give the secret at the hidden prompt, on standard input or with "
                    f"--token-env VAR; for OAuth tokens use 'brandkit auth {platform}'"
                ),
            )
        extra[key] = value.strip()
    return extra


def durable_extras(credentials: Credentials) -> dict[str, str]:
    """The extras that outlive a token (user ids, client id), without what belonged to it."""
    return {
        k: v
        for k, v in credentials.extra.items()
        if not any(w in k for w in _SECRET_WORDS) and k != "scope" and not k.endswith("expires_at")
    }


class _FromSecret(Protocol):
    def __call__(self, secret: str, extra: Mapping[str, str]) -> Credentials: ...


def build_credentials(platform: str, secret: str, extra: Mapping[str, str]) -> Credentials:
    """The connector's own ``credentials_from_secret`` if it has one, else token + extras."""
    if not secret.strip():
        raise InvalidInputError("the access token is empty")
    cls = get_connector_class(platform)
    builder: _FromSecret | None = getattr(cls, "credentials_from_secret", None)
    if builder is None:
        return Credentials(token=secret.strip(), extra=dict(extra))
    try:
        return builder(secret.strip(), dict(extra))
    except (KeyError, ValueError) as exc:
        raise InvalidInputError(f"{platform}: {exc}") from exc


def resolve_base_url(platform: str, base_url: str | None) -> str:
    """``--base-url``, or the connector's documented API address."""
    if base_url:
        return base_url
    default: str | None = getattr(get_connector_class(platform), "default_base_url", None)
    if not default:
        raise InvalidInputError(
            f"{platform} has no default API address: every server is its own",
            hint=f"pass --base-url, e.g. brandkit accounts add {platform} --name NAME "
            "--base-url https://mastodon.social",
        )
    return default


@app.command("add")
def add(
    ctx: typer.Context,
    platform: Annotated[str, typer.Argument(help=f"One of: {', '.join(known_platforms())}.")],
    name: Annotated[str, typer.Option(help="A short name to refer to the account.")],
    base_url: Annotated[
        str | None,
        typer.Option(help="The instance or API base URL (default: the platform's own)."),
    ] = None,
    token_env: Annotated[
        str | None, typer.Option(help="Read the token from this environment variable.")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="A non-secret credential field, KEY=VALUE (user_id, page_id…; repeatable).",
        ),
    ] = None,
) -> None:
    """Add an account; the token is encrypted before it is stored.

    The secret (access token, or Bluesky app password) comes from a hidden prompt, standard
    input or --token-env VAR, never from an argument. See docs/platforms/README.md for what
    each platform needs.

    Example: echo "$TOKEN" | brandkit accounts add mastodon --name dr-yamada \\
    --base-url https://mastodon.social
    """
    st = state(ctx)
    settings = st.settings()
    get_connector_class(platform)  # an unknown platform is refused before asking for a token
    url = resolve_base_url(platform, base_url)
    extra = parse_extras(set_, platform=platform)
    credentials = build_credentials(platform, _read_token(token_env, platform), extra)
    secrets = SecretBox.from_key_file(settings.secret_key_file)
    with session_scope(st.engine()) as session:
        account = add_to_workspace(
            session, secrets, platform=platform, name=name, base_url=url, credentials=credentials
        )
    console.print(
        f"Added {account.platform} account {account.name!r} ({account.base_url}). "
        f"Check it with: brandkit accounts verify {account.name}",
        highlight=False,
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List accounts with their status, last sync and latest follower count.

    Example: brandkit accounts list --json
    """
    st = state(ctx)
    tz = st.settings().tz
    with session_scope(st.engine()) as session:
        rows: list[dict[str, Any]] = []
        for account in session.exec(select(Account).order_by(Account.name)).all():
            followers = session.exec(
                select(AccountSnapshot.followers)
                .where(AccountSnapshot.account_id == account.id)
                .order_by(AccountSnapshot.taken_at.desc())  # type: ignore[attr-defined]
            ).first()
            rows.append(
                {
                    "name": account.name,
                    "platform": account.platform,
                    "handle": account.handle,
                    "base_url": account.base_url,
                    "status": account.status,
                    "last_sync_at": account.last_sync_at,
                    "followers": followers,
                    "last_error": account.last_error,
                }
            )
    if as_json:
        emit_json(rows)
        return
    emit_table(
        "Accounts",
        ["name", "platform", "handle", "status", "followers", "last sync"],
        [
            [
                r["name"],
                r["platform"],
                r["handle"],
                r["status"],
                r["followers"],
                local(r["last_sync_at"], tz),
            ]
            for r in rows
        ],
    )


@app.command("verify")
def verify(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Accounts (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Call each account's profile endpoint and show its status: ok, needs_reauth or error.

    Working credentials make a needs_reauth account active again; rejected ones mark it
    needs_reauth. Exits 1 if any account is not ok.

    Example: brandkit accounts verify dr-yamada
    """
    st = state(ctx)
    engine = st.engine()
    with session_scope(engine) as session:
        query = select(Account).order_by(Account.name)
        accounts = [
            a
            for a in session.exec(query).all()
            if ((a.name in names) if names else a.status != "disabled")
        ]
        for missing in set(names or []) - {a.name for a in accounts}:
            raise NotFoundError("account", missing, hint="see 'brandkit accounts list'")
        for account in accounts:
            session.expunge(account)
    runtime = build_runtime(st.settings(), engine)

    results = asyncio.run(verify_accounts(runtime, accounts))
    if as_json:
        emit_json(results)
    else:
        for r in results:
            colour = "green" if r["status"] == "ok" else "red"
            detail = (
                f"@{r['handle']}, {r['followers']:,} followers"
                if r["status"] == "ok"
                else str(r["error"])
            )
            console.print(
                f"{escape(str(r['name']))}: [{colour}]{r['status']}[/] {escape(detail)}",
                highlight=False,
                soft_wrap=True,
            )
    if any(r["status"] != "ok" for r in results):
        raise typer.Exit(1)


@app.command("reauth")
def reauth(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The account whose token to replace.")],
    token_env: Annotated[
        str | None, typer.Option(help="Read the token from this environment variable.")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Change a non-secret credential field, KEY=VALUE."),
    ] = None,
) -> None:
    """Replace an account's token (read like 'accounts add') and make it active again.

    Stored non-secret fields (user ids…) are kept unless --set changes them. For OAuth
    platforms, 'brandkit auth PLATFORM --name NAME' gets a fresh token instead.

    Example: echo "$NEW_TOKEN" | brandkit accounts reauth dr-yamada
    """
    st = state(ctx)
    secrets = SecretBox.from_key_file(st.settings().secret_key_file)
    with session_scope(st.engine()) as session:
        account = session.exec(select(Account).where(Account.name == name)).first()
        if account is None:
            raise NotFoundError("account", name, hint="see 'brandkit accounts list'")
        platform = account.platform
        old = secrets.decrypt(account.credentials_encrypted)
    extra = {**durable_extras(old), **parse_extras(set_, platform=platform)}
    credentials = build_credentials(platform, _read_token(token_env, platform), extra)
    with session_scope(st.engine()) as session:
        account = session.exec(select(Account).where(Account.name == name)).one()
        replace_credentials(account, secrets, credentials)
    console.print(
        f"Stored a new token for {name}. Check it with: brandkit accounts verify {name}",
        highlight=False,
    )


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The account to remove.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove an account; one with posts is disabled instead, so its history stays.

    Example: brandkit accounts remove old-account --yes
    """
    st = state(ctx)
    with session_scope(st.engine()) as session:
        account = session.exec(select(Account).where(Account.name == name)).first()
        if account is None:
            raise NotFoundError("account", name, hint="see 'brandkit accounts list'")
        used = session.exec(select(Variant.id).where(Variant.account_id == account.id)).first()
        if used is not None:
            account.status = "disabled"
            console.print(f"{name} has posts; it is now disabled instead of removed.")
            return
        if not yes and not typer.confirm(f"Remove account {name}?"):
            raise typer.Exit(1)
        for snap in session.exec(
            select(AccountSnapshot).where(AccountSnapshot.account_id == account.id)
        ).all():
            session.delete(snap)
        account_id = account.id
        session.delete(account)
    with JobQueue(st.engine()) as queue:
        queue.remove(f"{SYNC_PREFIX}{account_id}")
    console.print(f"Removed {name}.")
