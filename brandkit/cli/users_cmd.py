"""``brandkit users``: who may sign in to the dashboard, with which role.

A password is read from a hidden prompt (asked twice) or from the first line of standard input —
never from a command-line argument, where it would end up in shell history and process lists.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from sqlmodel import select

from brandkit.cli.output import emit_json, emit_table, local
from brandkit.cli.state import console, err_console, state
from brandkit.db.engine import session_scope
from brandkit.db.models import Profile
from brandkit.errors import InvalidInputError
from brandkit.web.policy import Role
from brandkit.web.users import Passwords, add_user, list_users, remove_user, set_password
from brandkit.workspace import current_workspace

app = typer.Typer(help="Dashboard users: add, list, remove, passwd.", no_args_is_help=True)


def _read_password() -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line.strip():
            raise InvalidInputError(
                "no password on standard input", hint="pipe it in, or run in a terminal"
            )
        return line.rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("add")
def add(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The name to sign in with.")],
    role: Annotated[Role, typer.Option(help="owner, doctor or marketing.")],
    profile: Annotated[
        str | None,
        typer.Option(help="A doctor's profile slug (default: the only profile, if one)."),
    ] = None,
) -> None:
    """Add a user who can sign in to the dashboard; the password is asked for twice.

    Example: brandkit users add yamada --role doctor --profile yamada
    """
    st = state(ctx)
    engine = st.engine()
    password = _read_password()
    with session_scope(engine) as session:
        workspace = current_workspace(session)
        user = add_user(
            session,
            Passwords(),
            workspace,
            login=login,
            role=role.value,
            password=password,
            profile_slug=profile,
        )
        linked = session.get(Profile, user.profile_id) if user.profile_id else None
    suffix = f", linked to the doctor profile {linked.slug!r}" if linked else ""
    console.print(f"Added {user.login!r} as {user.role}{suffix}. Start the dashboard: brandkit web")
    if user.role == Role.DOCTOR and linked is None:
        err_console.print(
            "warning: the workspace has no doctor profile yet, so this doctor can approve no "
            "posts; posts without a profile are approved by owners"
        )


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the dashboard's users with their role, doctor profile and last sign-in.

    Example: brandkit users list --json
    """
    st = state(ctx)
    tz = st.settings().tz
    with session_scope(st.engine()) as session:
        slugs = {p.id: p.slug for p in session.exec(select(Profile)).all()}
        rows: list[dict[str, Any]] = [
            {
                "login": u.login,
                "role": u.role,
                "profile": slugs.get(u.profile_id) if u.profile_id else None,
                "last_login_at": u.last_login_at,
                "created_at": u.created_at,
            }
            for u in list_users(session)
        ]
    if as_json:
        emit_json(rows)
        return
    emit_table(
        "Users",
        ["login", "role", "profile", "last sign-in"],
        [[r["login"], r["role"], r["profile"], local(r["last_login_at"], tz)] for r in rows],
    )


@app.command("remove")
def remove(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The user's login.")],
) -> None:
    """Remove a user; their sessions end at once. The last owner cannot be removed.

    Example: brandkit users remove suzuki
    """
    st = state(ctx)
    with session_scope(st.engine()) as session:
        user = remove_user(session, login)
    console.print(f"Removed {user.login!r}.")


@app.command("passwd")
def passwd(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The user's login.")],
) -> None:
    """Set a user's password (asked twice); every session they have open ends.

    Example: brandkit users passwd yamada
    """
    st = state(ctx)
    engine = st.engine()
    password = _read_password()
    with session_scope(engine) as session:
        user = set_password(session, Passwords(), login, password)
    console.print(f"New password saved for {user.login!r}; their open sessions have ended.")
