"""What every command shares: the global flags, and lazily opened settings and database."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from sqlalchemy import Engine

from brandkit.config import Settings, load_settings
from brandkit.db.migrate import open_database
from brandkit.workspace import require_config, sync_workspace_settings

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays one line


@dataclass
class CliState:
    home: Path | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None
    _engine: Engine | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.home, **self.flags)
        return self._settings

    def engine(self) -> Engine:
        """The workspace database, upgraded to the newest schema if it is older."""
        if self._engine is None:
            settings = self.settings()
            require_config(settings)
            self._engine = open_database(settings.database_url)
            sync_workspace_settings(self._engine, settings)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_object(CliState)
    if obj is None:  # a sub-command invoked on its own in a test
        obj = CliState()
        ctx.obj = obj
    return obj
