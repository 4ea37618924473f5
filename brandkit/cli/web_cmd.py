"""``brandkit web``: serve the dashboard with uvicorn."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer
from sqlalchemy import func
from sqlmodel import select

from brandkit.cli.state import console, err_console, state
from brandkit.db.engine import session_scope
from brandkit.db.models import User


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def web(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web dashboard (the week's queue, approvals, users) until Ctrl-C.

    Example: brandkit web --host 127.0.0.1 --port 8000
    """
    import uvicorn

    from brandkit.web import create_app

    st = state(ctx)
    settings = st.settings()
    engine = st.engine()
    app = create_app(settings, engine)
    with session_scope(engine) as session:
        users = session.exec(select(func.count()).select_from(User)).one()
    if not users:
        err_console.print(
            "No users yet: add one with 'brandkit users add LOGIN --role owner' to sign in."
        )
    if not _is_loopback(host):
        err_console.print(
            f"Listening on {host}: put the dashboard behind an https proxy, so passwords and "
            "session cookies never cross the network in clear."
        )
    console.print(f"brandkit dashboard on http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="warning")
