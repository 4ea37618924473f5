"""The template editor: the library, a live preview for each platform, lint, save only what
renders (never into the installed package), and the history of changes with their authors.

On SQLite and PostgreSQL. The files a save writes and the revision rows it records are checked
together: a refused or failed save leaves neither.
"""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from brandkit.cli import templates_cmd
from brandkit.cli.main import main
from brandkit.clock import SimulatedClock
from brandkit.config import Settings, load_settings, render_config_file
from brandkit.content import TemplateLibrary
from brandkit.content.templates import builtin_template_dir
from brandkit.db.engine import session_scope
from brandkit.db.models import TemplateRevision
from brandkit.errors import ConcurrentUpdateError, InvalidInputError, TemplateError
from brandkit.web import template_preview, template_store
from brandkit.web.template_preview import preview_source, template_name
from brandkit.web.template_store import Author, save_template, with_template_dirs
from tests.test_web_harness import LOGINS, World, build_world

BUILTIN = builtin_template_dir() / "ja" / "health_tip.j2"
TIP = """---
title: ひとこと
category: health_tip
platforms: [mastodon, x]
variables:
  - {name: topic, type: str, example: 睡眠}
---
{% block default %}
{{ topic }}のはなし。{{ clinic }}より。
{% endblock %}
{% block short %}
{{ topic }}。
{% endblock %}
"""


@pytest.fixture
def world(engine: Engine, clock: SimulatedClock, tmp_path: Path) -> World:
    return build_world(engine, clock, tmp_path)


def revisions(engine: Engine, name: str | None = None) -> list[TemplateRevision]:
    with session_scope(engine) as session:
        query = select(TemplateRevision).order_by(col(TemplateRevision.id))
        if name:
            query = query.where(TemplateRevision.template == name)
        return list(session.exec(query).all())


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def edited(source: str) -> str:
    return source.replace("できることから、一つずつ", "今日から少しずつ")


def form_token(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


# --- the library and the editor page ---------------------------------------------------------


async def test_the_library_lists_every_template_with_where_it_comes_from(world: World) -> None:
    async with world.browser() as browser:
        await browser.login("marketing")
        html = (await browser.get("/templates")).text
    for name in TemplateLibrary().names():
        assert f'href="/templates/{name}"' in html
    row = html.split('id="template-ja-health_tip"')[1].split("</tr>")[0]
    assert "健康ワンポイント" in row and "組み込み" in row and "mastodon, threads, x" in row
    assert 'href="/templates"' in html  # the navigation entry


async def test_the_editor_shows_the_source_and_a_preview_for_each_platform(world: World) -> None:
    async with world.browser() as browser:
        await browser.login("owner")
        html = (await browser.get("/templates/ja/health_tip")).text
    source = BUILTIN.read_text(encoding="utf-8")
    assert 'id="template-source"' in html and 'id="save-template"' in html
    assert 'id="template-status"' in html and 'data-state="saved"' in html
    textarea = html.split('id="template-source"')[1].split(">", 1)[1].split("</textarea>")[0]
    assert textarea.removeprefix("\n").replace("&gt;", ">") == source
    platforms = ("mastodon", "threads", "x", "bluesky", "facebook", "linkedin", "instagram")
    for platform in platforms:
        assert f'id="preview-{platform}"' in html
    x = html.split('id="preview-x"')[1].split("</pre>")[0]
    assert "【健康ワンポイント:睡眠】" in x  # the example variables, the short form
    assert "なぜ大切なのか" in html.split('id="preview-linkedin"')[1].split("</pre>")[0]
    assert re.search(r'id="preview-length-x">\d+ / 280<', html)
    assert 'formaction="/templates/ja/health_tip/lint"' in html
    assert "templates/ja/health_tip.j2" in html  # where saving writes the override


async def test_the_preview_follows_the_unsaved_source(world: World) -> None:
    source = BUILTIN.read_text(encoding="utf-8")
    async with world.browser() as browser:
        await browser.login("marketing")
        token = await browser.csrf()

        async def preview(text: str) -> dict[str, Any]:
            response = await browser.client.post(
                "/api/templates/ja/health_tip/preview",
                json={"source": text},
                headers={"X-CSRF-Token": token},
            )
            assert response.status_code == 200
            data: dict[str, Any] = response.json()
            return data

        before = await preview(source)
        after = await preview(edited(source))
        broken = await preview(source.replace("{{ tip }}\n{{ reason }}", "{{ tip }\n{{ reason }}"))
        undefined = await preview(source.replace("{{ tip }}{{ reason }}", "{{ tipp }}"))
        empty = await preview("  \n")
    by_platform = {p["platform"]: p for p in after["platforms"]}
    assert after["renders"] and "今日から少しずつ" in by_platform["mastodon"]["text"]
    assert by_platform["mastodon"]["text"] != before["platforms"][0]["text"]
    assert by_platform["x"]["limit"] == 280 and by_platform["x"]["length"] > 0
    assert not broken["renders"] and broken["platforms"] == []
    # the line in the textarea, front matter included
    assert broken["line"] == line_of(source, "{{ tip }}\n{{ reason }}")
    short = {p["platform"]: p for p in undefined["platforms"]}
    line = line_of(source, "{{ tip }}{{ reason }}")
    assert short["x"]["error"] and "tipp" in short["x"]["error"] and short["x"]["line"] == line
    assert short["mastodon"]["error"] is None  # only the short form uses the typo
    assert not undefined["renders"] and undefined["first_error"].startswith(f"x: line {line}:")
    assert empty["error"] == "the template is empty"
    assert "brandkit-preview" not in json.dumps([broken, undefined])  # no temporary paths


async def test_the_lint_button_runs_the_checks_of_the_cli(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["templates", "lint", "ja/seasonal_alert", "en/health_tip", "--json"])
    cli = json.loads(capsys.readouterr().out)
    ours = []
    for name in ("ja/seasonal_alert", "en/health_tip"):
        source = (builtin_template_dir() / f"{name}.j2").read_text(encoding="utf-8")
        ours += preview_source(name, source).lint()
    assert code == (1 if any(not r["ok"] for r in cli) else 0)
    assert [(r["template"], r["platform"], r["ok"]) for r in ours] == [
        (r["template"], r["platform"], r["ok"]) for r in cli
    ]
    assert [r["errors"] + r["warnings"] for r in ours] == [r["errors"] + r["warnings"] for r in cli]
    # one rendering and one set of checks (same stand-in clinic details) for both
    assert template_preview.render_for_lint is templates_cmd.render_for_lint
    assert template_preview.check_for_lint is templates_cmd.check_for_lint
    async with world.browser() as browser:
        await browser.login("marketing")
        source = BUILTIN.read_text(encoding="utf-8").replace("ご相談ください", "必ず治ります")
        html = (await browser.post("/templates/ja/health_tip/lint", {"source": source})).text
    lint = html.split('id="template-lint"')[1]
    assert "lint-failed" in lint and "必ず治ります" in lint  # the finding quotes the text
    assert 'data-state="error"' in html and "必ず治ります" in html.split('id="template-source"')[1]
    assert not (world.home / "templates").exists()  # linting writes nothing


# --- saving -----------------------------------------------------------------------------------


async def test_saving_a_builtin_writes_an_override_in_the_workspace_never_the_package(
    world: World,
) -> None:
    package_before = BUILTIN.read_bytes()
    app = world.app()
    async with world.browser(app=app) as browser:
        await browser.login("marketing")
        page = (await browser.get("/templates/ja/health_tip")).text
        response = await browser.post(
            "/templates/ja/health_tip",
            {
                "source": edited(BUILTIN.read_text(encoding="utf-8")).replace("\n", "\r\n"),
                "base_hash": form_token(page, "base_hash"),
                "note": "やわらかい表現に",
            },
        )
        saved_page = await browser.follow(response)
    assert BUILTIN.read_bytes() == package_before
    override = world.home / "templates" / "ja" / "health_tip.j2"
    assert override.read_text(encoding="utf-8") == edited(package_before.decode())  # LF, as typed
    config = tomllib.loads((world.home / "brandkit.toml").read_text(encoding="utf-8"))
    assert config["template_dirs"] == ["templates"]
    assert "flash-success" in saved_page.text and 'data-state="saved"' in saved_page.text
    assert "suzuki" in saved_page.text.split('id="template-status"')[1].split("</p>")[0]
    assert "今日から少しずつ" in saved_page.text.split('id="preview-mastodon"')[1]
    first, second = revisions(world.engine, "ja/health_tip")
    assert (first.author_login, first.path) == (None, str(BUILTIN))  # what it replaced
    assert first.source == package_before.decode()
    assert (second.author_login, second.author_id) == ("suzuki", world.users["marketing"])
    assert (second.note, second.path) == ("やわらかい表現に", str(override))
    assert second.created_at == world.clock.now()
    # the CLI, the planner and the worker read brandkit.toml and use the override too
    library = TemplateLibrary(load_settings(world.home).template_dirs)
    assert library.get("ja/health_tip").path == override
    assert library.get("ja/health_tip").content_hash == second.content_hash


async def test_what_does_not_render_is_refused_and_nothing_is_written(world: World) -> None:
    source = BUILTIN.read_text(encoding="utf-8")
    broken = {
        "syntax": (
            source.replace("{{ topic }}】\n{{ tip }}\n", "{{ topic }】\n{{ tip }}\n"),
            f"line {line_of(source, '{{ topic }}】')}:",
        ),
        "yaml": (source.replace("category: health_tip", "category: [health"), "YAML"),
        "undefined": (
            source.replace("{{ tip }}{{ reason }}", "{{ tipp }}"),
            f"x: line {line_of(source, '{{ tip }}{{ reason }}')}:",
        ),
        "platform": (source.replace("instagram]", "instagrm]"), "instagrm"),
        "no default": (source.replace("block default", "block other"), "default"),
        "required without example": (source.replace("example: 睡眠", ""), "topic"),
    }
    async with world.browser() as browser:
        await browser.login("owner")
        for kind, (text, where) in broken.items():
            response = await browser.post("/templates/ja/health_tip", {"source": text})
            assert response.status_code == 400, kind
            status = response.text.split('id="template-status"')[1].split("</p>")[0]
            assert 'data-state="error"' in status and where in status, (kind, status)
            assert "Traceback" not in response.text
            assert text.splitlines()[3] in response.text  # the typed text is kept
    assert not (world.home / "templates").exists() and not (world.home / "brandkit.toml").exists()
    assert revisions(world.engine) == []


async def test_a_save_over_a_newer_version_is_refused(world: World) -> None:
    app = world.app()
    source = BUILTIN.read_text(encoding="utf-8")
    async with world.browser(app=app) as first, world.browser(app=app) as second:
        await first.login("owner")
        await second.login("marketing")
        base = form_token((await first.get("/templates/ja/health_tip")).text, "base_hash")
        assert base == form_token((await second.get("/templates/ja/health_tip")).text, "base_hash")
        await first.post("/templates/ja/health_tip", {"source": edited(source), "base_hash": base})
        late = await second.post(
            "/templates/ja/health_tip", {"source": source + "\n", "base_hash": base}
        )
    assert late.status_code == 400 and "was changed since you opened it" in late.text
    override = world.home / "templates" / "ja" / "health_tip.j2"
    assert override.read_text(encoding="utf-8") == edited(source)
    assert [r.author_login for r in revisions(world.engine)] == [None, "inchou"]


def _store_settings(world: World, folder: Path | None = None) -> Settings:
    dirs = (folder,) if folder else ()
    return Settings(home=world.home, database_url=str(world.engine.url), template_dirs=dirs)


def _workspace_template(world: World) -> tuple[Settings, Path]:
    folder = world.home / "mine"
    (folder / "ja").mkdir(parents=True)
    path = folder / "ja" / "tip.j2"
    path.write_text(TIP, encoding="utf-8")
    return _store_settings(world, folder), path


def test_a_workspace_template_is_saved_in_place_and_the_config_is_left_alone(
    world: World,
) -> None:
    store, path = _workspace_template(world)
    saved = save_template(
        world.engine,
        store,
        workspace_id=world.workspace_id,
        name="ja/tip",
        source=TIP.replace("のはなし", "の話"),
        author=Author(world.users["owner"], "inchou"),
        now=world.clock.now(),
    )
    assert saved.path == path and not saved.config_changed
    assert "の話" in path.read_text(encoding="utf-8")
    assert not (world.home / "brandkit.toml").exists()
    # a built-in goes to the first template folder when one is configured
    builtin = save_template(
        world.engine,
        store,
        workspace_id=world.workspace_id,
        name="ja/health_tip",
        source=edited(BUILTIN.read_text(encoding="utf-8")),
        author=Author(world.users["owner"], "inchou"),
        now=world.clock.now(),
    )
    assert builtin.path == world.home / "mine" / "ja" / "health_tip.j2"
    assert not builtin.config_changed and not (world.home / "brandkit.toml").exists()
    unchanged = save_template(
        world.engine,
        store,
        workspace_id=world.workspace_id,
        name="ja/tip",
        source=path.read_text(encoding="utf-8"),
        author=Author(world.users["owner"], "inchou"),
        now=world.clock.now(),
    )
    assert unchanged.unchanged and len(revisions(world.engine, "ja/tip")) == 2


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(inserted=st.text(alphabet="{}%#|()-ab 睡\n", max_size=30))
def test_saving_any_text_either_writes_what_renders_or_changes_nothing(
    world: World, inserted: str
) -> None:
    folder = world.home / "mine"
    if not folder.exists():
        (folder / "ja").mkdir(parents=True)
        (folder / "ja" / "tip.j2").write_text(TIP, encoding="utf-8")
    store = _store_settings(world, folder)
    path = folder / "ja" / "tip.j2"
    before, rows = path.read_bytes(), len(revisions(world.engine))
    source = TIP.replace("のはなし。", f"のはなし。{inserted}")
    try:
        saved = save_template(
            world.engine,
            store,
            workspace_id=world.workspace_id,
            name="ja/tip",
            source=source,
            author=Author(world.users["marketing"], "suzuki"),
            now=world.clock.now(),
        )
    except TemplateError:
        assert path.read_bytes() == before and len(revisions(world.engine)) == rows
        assert not preview_source("ja/tip", source).renders
        return
    text = path.read_text(encoding="utf-8")
    assert text.rstrip("\n") == source.rstrip("\n")
    if saved.unchanged:
        assert path.read_bytes() == before and len(revisions(world.engine)) == rows
        return
    fresh = TemplateLibrary([folder], include_builtin=False)
    template = fresh.get("ja/tip")
    for platform in ("mastodon", "x"):  # an independent library renders it everywhere
        fresh.render(
            template, template.example_variables(), platform=platform, context={"clinic": "c"}
        )
    latest = revisions(world.engine, "ja/tip")[-1]
    assert latest.content_hash == template.content_hash and latest.source == text
    assert latest.author_login == "suzuki" and len(revisions(world.engine)) > rows


def test_a_failed_commit_puts_the_previous_file_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, path = _workspace_template(world)
    override = world.home / "mine" / "ja" / "health_tip.j2"

    on_disk_at_commit: list[str] = []
    target = path

    def commit(self: Session) -> None:
        on_disk_at_commit.append(target.read_text(encoding="utf-8"))
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Session, "commit", commit)
    for name, source, target in (  # noqa: B007 (read by commit)
        ("ja/tip", TIP.replace("のはなし", "の話"), path),
        ("ja/health_tip", edited(BUILTIN.read_text(encoding="utf-8")), override),
    ):
        with pytest.raises(RuntimeError):
            save_template(
                world.engine,
                store,
                workspace_id=world.workspace_id,
                name=name,
                source=source,
                author=Author(None, "inchou"),
                now=world.clock.now(),
            )
    monkeypatch.undo()
    # the files were written inside the transaction, and put back when its commit failed
    assert on_disk_at_commit == [
        TIP.replace("のはなし", "の話"),
        edited(BUILTIN.read_text(encoding="utf-8")),
    ]
    assert path.read_text(encoding="utf-8") == TIP
    assert not override.exists()  # the built-in stays in use
    assert revisions(world.engine) == []
    assert [p.name for p in (world.home / "mine" / "ja").iterdir()] == ["tip.j2"]  # no temp files


def test_a_failed_file_write_leaves_no_revision(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, path = _workspace_template(world)

    def replace(source: Any, target: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(template_store.os, "replace", replace)
    with pytest.raises(OSError):
        save_template(
            world.engine,
            store,
            workspace_id=world.workspace_id,
            name="ja/tip",
            source=TIP.replace("のはなし", "の話"),
            author=Author(None, "inchou"),
            now=world.clock.now(),
        )
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == TIP and revisions(world.engine) == []
    assert [p.name for p in path.parent.iterdir()] == ["tip.j2"]


@pytest.mark.parametrize(
    ("before", "slots"),
    [
        ("", 0),
        (render_config_file({"locale": "ja"}), 0),
        ('locale = "en"\n\n[[calendar]]\nweekday = "tue"\ntime = "12:30"\n'
         'template = "ja/health_tip"\naccounts = ["a"]\n', 1),
        ('[brandkit]\nlocale = "en"\n\n[[brandkit.calendar]]\nweekday = "tue"\ntime = "12:30"\n'
         'template = "ja/health_tip"\naccounts = ["a"]', 1),
        ("template_dirs = []\nlocale = 'en'", 0),
    ],
)  # fmt: skip
def test_the_template_folder_is_added_to_any_brandkit_toml(
    tmp_path: Path, before: str, slots: int
) -> None:
    (tmp_path / "brandkit.toml").write_text(before, encoding="utf-8")
    old = load_settings(tmp_path)
    after = with_template_dirs(before)
    assert after.count("template_dirs =") == 1
    (tmp_path / "brandkit.toml").write_text(after, encoding="utf-8")
    new = load_settings(tmp_path)
    assert new.template_dirs == (tmp_path / "templates",)
    assert len(new.calendar) == slots  # the rest of the file means what it meant
    assert new.locale == old.locale
    assert [replace(e, line=0) for e in new.calendar] == [replace(e, line=0) for e in old.calendar]


def test_a_config_that_cannot_take_the_setting_is_refused_untouched(world: World) -> None:
    config = world.home / "brandkit.toml"
    config.write_text('template_dirs = [\n]\nlocale = "ja"\n', encoding="utf-8")
    with pytest.raises(Exception, match="add template_dirs"):
        save_template(
            world.engine,
            _store_settings(world),
            workspace_id=world.workspace_id,
            name="ja/health_tip",
            source=edited(BUILTIN.read_text(encoding="utf-8")),
            author=Author(None, "inchou"),
            now=world.clock.now(),
        )
    assert config.read_text(encoding="utf-8") == 'template_dirs = [\n]\nlocale = "ja"\n'
    assert revisions(world.engine) == [] and not (world.home / "templates" / "ja").exists()


@pytest.mark.parametrize("parts", [("..", "x"), ("ja", "../../etc"), ("ja", "a/b"), ("ja", "")])
def test_template_names_cannot_leave_the_template_folders(parts: tuple[str, str]) -> None:
    with pytest.raises(InvalidInputError):
        template_name(*parts)


async def test_urls_outside_the_library_are_refused(world: World) -> None:
    async with world.browser() as browser:
        await browser.login("owner")
        assert (await browser.get("/templates/ja/no_such_template")).status_code == 404
        assert (await browser.get("/templates/j%2e/x")).status_code == 400
        response = await browser.post("/templates/ja/..%2e", {"source": TIP})
        assert response.status_code in (400, 404)
    assert revisions(world.engine) == []


# --- history ------------------------------------------------------------------------------------


async def test_history_lists_authors_times_and_escaped_diffs_and_restores(world: World) -> None:
    app = world.app()
    original = BUILTIN.read_text(encoding="utf-8")
    markup = original.replace("なぜ大切なのか", "<b>なぜ大切なのか</b>")
    async with world.browser(app=app) as owner, world.browser(app=app) as marketing:
        await owner.login("owner")
        await marketing.login("marketing")
        await marketing.post("/templates/ja/health_tip", {"source": markup, "note": "太字"})
        world.clock.advance(timedelta(hours=2))
        await owner.post("/templates/ja/health_tip", {"source": edited(markup)})
        html = (await owner.get("/templates/ja/health_tip/history")).text
        first, second, third = revisions(world.engine)
        assert f'id="restore-{third.id}"' not in html  # the current text
        restore = await owner.post(
            f"/templates/ja/health_tip/history/{first.id}/restore",
            {"base_hash": third.content_hash},
        )
        after = (await owner.follow(restore)).text
    assert html.index(f'id="revision-{third.id}"') < html.index(f'id="revision-{second.id}"')
    second_html = html.split(f'id="revision-{second.id}"')[1].split("</article>")[0]
    assert "suzuki が保存" in second_html and "太字" in second_html
    assert "2026-11-23 09:00" in second_html  # in the workspace's time zone
    assert '<span class="diff-add">+&lt;b&gt;なぜ大切なのか&lt;/b&gt;</span>' in second_html
    assert '<span class="diff-remove">-なぜ大切なのか</span>' in second_html
    assert "<b>なぜ" not in html  # never markup
    third_html = html.split(f'id="revision-{third.id}"')[1].split("</article>")[0]
    assert "inchou が保存" in third_html and "11:00" in third_html
    assert "最初の保存前の組み込みテンプレート" in html
    assert "flash-success" in after
    *_, restored = revisions(world.engine)
    assert restored.source == original and restored.author_login == "inchou"
    assert restored.note == f"版 #{first.id} に戻しました"
    override = world.home / "templates" / "ja" / "health_tip.j2"
    assert override.read_text(encoding="utf-8") == original


async def test_a_revision_that_no_longer_renders_is_not_restored(world: World) -> None:
    store, path = _workspace_template(world)
    path.write_text(TIP.replace("{{ topic }}。", "{{ topic }。"), encoding="utf-8")  # by hand
    fixed = save_template(
        world.engine,
        store,
        workspace_id=world.workspace_id,
        name="ja/tip",
        source=TIP,
        author=Author(world.users["owner"], "inchou"),
        now=world.clock.now(),
    )
    broken = revisions(world.engine)[0]
    assert broken.author_login is None and "{{ topic }。" in broken.source
    with pytest.raises(TemplateError, match="nothing was saved"):
        template_store.restore_revision(
            world.engine,
            store,
            workspace_id=world.workspace_id,
            name="ja/tip",
            revision_id=broken.id or 0,
            author=Author(None, "inchou"),
            now=world.clock.now(),
            base_hash=None,
            note="",
        )
    assert path.read_text(encoding="utf-8") == TIP and fixed.revision is not None
    assert len(revisions(world.engine)) == 2


def test_edits_made_outside_the_dashboard_are_recorded_before_the_next_save(
    world: World,
) -> None:
    store, path = _workspace_template(world)
    author = Author(world.users["owner"], "inchou")
    common = {"workspace_id": world.workspace_id, "name": "ja/tip", "author": author}
    save_template(world.engine, store, source=TIP + "\n# 1\n", now=world.clock.now(), **common)
    path.write_text(TIP + "\n# by hand\n", encoding="utf-8")
    with session_scope(world.engine) as session:
        current = template_store.content_hash(path.read_bytes())
        views = template_store.history(session, world.workspace_id, "ja/tip", current)
        assert not any(v.current for v in views)  # the page warns about it
    save_template(world.engine, store, source=TIP + "\n# 2\n", now=world.clock.now(), **common)
    sources = [r.source for r in revisions(world.engine)]
    assert sources == [TIP, TIP + "\n# 1\n", TIP + "\n# by hand\n", TIP + "\n# 2\n"]
    assert [r.author_login for r in revisions(world.engine)] == [None, "inchou", None, "inchou"]


async def test_removing_a_user_keeps_their_revisions(world: World) -> None:
    app = world.app()
    async with world.browser(app=app) as marketing, world.browser(app=app) as owner:
        await marketing.login("marketing")
        await marketing.post(
            "/templates/ja/health_tip", {"source": edited(BUILTIN.read_text(encoding="utf-8"))}
        )
        await owner.login("owner")
        removed = await owner.post(f"/users/{world.users['marketing']}/remove")
        assert "flash-success" in (await owner.follow(removed)).text
        html = (await owner.get("/templates/ja/health_tip/history")).text
    last = revisions(world.engine)[-1]
    assert (last.author_id, last.author_login) == (None, "suzuki")
    assert "suzuki が保存" in html


def test_concurrent_saves_of_one_template_are_serialised(world: World) -> None:
    store, path = _workspace_template(world)
    base = template_store.content_hash(path.read_bytes())

    def save(text: str) -> str:
        try:
            save_template(
                world.engine,
                store,
                workspace_id=world.workspace_id,
                name="ja/tip",
                source=text,
                author=Author(None, LOGINS["owner"]),
                now=world.clock.now(),
                base_hash=base,
            )
        except ConcurrentUpdateError:
            return "refused"
        return "saved"

    async def both() -> list[str]:
        return list(
            await asyncio.gather(
                asyncio.to_thread(save, TIP + "\n# a\n"), asyncio.to_thread(save, TIP + "\n# b\n")
            )
        )

    assert sorted(asyncio.run(both())) == ["refused", "saved"]
    assert len(revisions(world.engine)) == 2  # the original, then the one that won
    assert revisions(world.engine)[-1].source == path.read_text(encoding="utf-8")


async def test_the_editor_speaks_english_in_an_english_workspace(
    engine: Engine, clock: SimulatedClock, tmp_path: Path
) -> None:
    world = build_world(engine, clock, tmp_path, locale="en")
    async with world.browser() as browser:
        await browser.login("owner")
        listing = (await browser.get("/templates")).text
        html = (await browser.get("/templates/en/health_tip")).text
        history = (await browser.get("/templates/en/health_tip/history")).text
    assert "built-in" in listing and "Revisions" in listing
    assert "Not edited in the dashboard yet." in html and ">Save</button>" in html
    assert "No revisions yet" in history
    assert "テンプレート" not in listing + html + history
