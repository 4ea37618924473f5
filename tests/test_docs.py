"""Documentation that cannot drift: every setting and command is in the README, with examples."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from brandkit.cli.main import app
from brandkit.config import SETTINGS

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def leaf_commands() -> list[tuple[str, str]]:
    """(``group sub``, help text) for every command the user can run."""
    root = typer.main.get_command(app)
    found = []

    def walk(command: object, path: list[str]) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, [*path, name])
        else:
            found.append((" ".join(path), getattr(command, "help", "") or ""))

    walk(root, [])
    return found


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.key)
def test_every_setting_is_documented(setting: object) -> None:
    key = setting.key
    assert f"`{key}`" in README
    assert f"BRANDKIT_{key.upper()}" in README


@pytest.mark.parametrize(("path", "help_text"), leaf_commands(), ids=lambda v: str(v)[:30])
def test_every_command_is_documented_with_an_example(path: str, help_text: str) -> None:
    group, _, sub = path.partition(" ")
    assert f"brandkit {group}" in README, f"README does not mention 'brandkit {group}'"
    if sub:
        assert sub in README, f"README does not mention '{path}'"
    assert "Example" in help_text, f"'brandkit {path} --help' has no example"


def test_readme_shows_the_two_setup_commands_near_the_top() -> None:
    top = README[:1500]
    assert "pip install -e . && brandkit demo" in top
    assert 'pip install -e ".[test]" && pytest' in top
