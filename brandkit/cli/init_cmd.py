"""``brandkit init``: create brandkit.toml, the secret key and the database here."""

from __future__ import annotations

from typing import Annotated

import typer

from brandkit.cli.state import console, state
from brandkit.workspace import init_workspace


def init(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="The clinic's or practice's name.")] = "My clinic",
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "Asia/Tokyo",
    locale: Annotated[str, typer.Option(help="ja or en.")] = "ja",
    phone: Annotated[str | None, typer.Option(help="The clinic's phone number.")] = None,
    email: Annotated[str | None, typer.Option(help="The clinic's e-mail address.")] = None,
    address: Annotated[str | None, typer.Option(help="The clinic's postal address.")] = None,
) -> None:
    """Create a workspace in the current directory (or --home); safe to run again.

    The clinic's own phone, e-mail and address may appear in posts: the privacy lint knows
    them and does not flag them (run init again to change them).

    Example: brandkit init --name "さくら内科クリニック" --phone 03-1234-5678
    """
    st = state(ctx)
    from brandkit.config import default_home

    home = st.home or default_home()
    settings, engine = init_workspace(
        home,
        name=name,
        timezone=timezone,
        locale=locale,
        database_url=st.flags.get("database_url"),
        contact={"phone": phone, "email": email, "address": address},
    )
    engine.dispose()
    console.print(f"Workspace ready in {home}")
    console.print(f"  config:   {home / 'brandkit.toml'}")
    console.print(f"  database: {settings.database_url.split('@')[-1]}")
    console.print("Next: brandkit accounts add mastodon --name NAME --base-url URL")
