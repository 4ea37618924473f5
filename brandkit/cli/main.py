"""The ``brandkit`` command: global options, the command groups, and the one place where
errors become exit codes.

Domain errors print one line that says what to do and exit with the error's code; anything else
is a bug, printed as one line too unless ``BRANDKIT_DEBUG=1`` asks for the traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from brandkit import __version__
from brandkit.cli import (
    accounts_cmd,
    auth_cmd,
    calendar_cmd,
    check_cmd,
    demo_cmd,
    goals_cmd,
    init_cmd,
    plan_cmd,
    posts_cmd,
    report_cmd,
    sandbox_cmd,
    sync_cmd,
    templates_cmd,
    topics_cmd,
    users_cmd,
    web_cmd,
    worker_cmd,
)
from brandkit.cli.state import CliState, err_console
from brandkit.errors import BrandkitError

EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="brandkit",
    help="Plan, check, publish and measure a doctor's or clinic's social-media posts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"brandkit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home", help="Workspace directory (default: BRANDKIT_HOME or the current one)."
        ),
    ] = None,
    database_url: Annotated[str | None, typer.Option(help="Database URL override.")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone override.")] = None,
    locale: Annotated[str | None, typer.Option(help="ja or en.")] = None,
    template_dir: Annotated[
        list[str] | None,
        typer.Option("--template-dir", help="Extra template directory (repeatable)."),
    ] = None,
    secret_key_file: Annotated[str | None, typer.Option(help="Secret key file.")] = None,
    http_timeout: Annotated[float | None, typer.Option(help="HTTP timeout in seconds.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """brandkit: steady, safe, measurable posting for doctors and clinics.

    Examples:

      brandkit demo --dir ./demo            # twelve simulated weeks, offline

      brandkit init --name "さくら内科クリニック"

      brandkit posts list --json
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    flags = {
        "database_url": database_url,
        "timezone": timezone,
        "locale": locale,
        "template_dirs": template_dir or None,
        "secret_key_file": secret_key_file,
        "http_timeout": http_timeout,
    }
    ctx.obj = CliState(
        home=home.resolve() if home else None,
        flags={k: v for k, v in flags.items() if v is not None},
    )
    ctx.call_on_close(ctx.obj.close)


app.command("init")(init_cmd.init)
app.command("demo")(demo_cmd.demo)
app.command("check")(check_cmd.check_cmd)
app.add_typer(accounts_cmd.app, name="accounts")
app.command("auth")(auth_cmd.auth)
app.add_typer(templates_cmd.app, name="templates")
app.add_typer(posts_cmd.app, name="posts")
app.add_typer(calendar_cmd.app, name="calendar")
app.add_typer(topics_cmd.app, name="topics")
app.command("plan")(plan_cmd.plan)
app.command("worker")(worker_cmd.worker)
app.command("sync")(sync_cmd.sync)
app.command("report")(report_cmd.report)
app.add_typer(goals_cmd.app, name="goals")
app.add_typer(sandbox_cmd.app, name="sandbox")
app.command("web")(web_cmd.web)
app.add_typer(users_cmd.app, name="users")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command and translate what it raised into an exit code."""
    debug = os.environ.get("BRANDKIT_DEBUG") == "1"
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="brandkit", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        err_console.print("Aborted.")
        return EXIT_INTERRUPTED
    except typer.TyperException as exc:  # usage errors: Typer's own (vendored) click exceptions
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", EXIT_USAGE))
    except BrandkitError as exc:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} — a bug in "
            "brandkit; run again with BRANDKIT_DEBUG=1 for the traceback and report it",
            highlight=False,
        )
        return EXIT_INTERNAL
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
