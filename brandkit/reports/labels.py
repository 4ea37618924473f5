"""What a report says, in Japanese and English, and how its numbers and times read.

One dict per locale with the same keys (a test keeps them in step), so adding a section means
adding one key to each. Renderers get a :class:`Labels` from :func:`labels_for` and never spell a
UI string themselves; formatting lives here too so the terminal and the HTML page agree on
"21.00%" and "2026-11-24 00:30".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

DEFAULT_LOCALE = "en"
"""Used for a locale we have no strings for; Japanese workspaces say ``ja`` explicitly."""

NONE = "—"

JA: dict[str, str] = {
    "report_title": "成長とエンゲージメントのレポート",
    "period": "期間",
    "timezone": "タイムゾーン",
    "summary": "サマリー",
    "no_data": "この期間のデータはまだありません。"
    "アカウントを同期して投稿を公開すると表示されます。",
    "followers": "フォロワー",
    "start_followers": "期首フォロワー",
    "end_followers": "期末フォロワー",
    "net_growth": "純増",
    "growth_rate": "増加率",
    "posts_published": "公開した投稿",
    "mean_engagement_rate": "平均エンゲージメント率",
    "best_template": "反応の良いテンプレート",
    "best_weekday": "反応の良い曜日",
    "best_hour": "反応の良い時間帯",
    "accounts": "アカウント別の成長",
    "account": "アカウント",
    "platform": "プラットフォーム",
    "status": "状態",
    "posts": "投稿数",
    "followers_chart": "フォロワーの推移",
    "total": "合計",
    "weekly": "週ごとの成長",
    "week": "週（月曜始まり）",
    "what_works": "反応の良い投稿の傾向",
    "by_template": "テンプレート別",
    "by_weekday": "曜日別",
    "by_hour": "時間帯別",
    "template": "テンプレート",
    "weekday": "曜日",
    "hour": "時間帯",
    "mean_rate": "平均エンゲージメント率",
    "mean_interactions": "平均反応数",
    "cadence": "投稿ペース",
    "planned": "予定",
    "published": "公開",
    "failed": "失敗",
    "missed": "未実行",
    "other": "その他",
    "top": "反応の良かった投稿",
    "bottom": "反応の少なかった投稿",
    "published_at": "公開日時",
    "text": "本文",
    "interactions": "反応数",
    "engagement_rate": "エンゲージメント率",
    "link": "リンク",
    "open": "開く",
    "attention": "要確認",
    "attention_none": "確認が必要な項目はありません。",
    "problem_posts": "公開されなかった投稿",
    "problem_accounts": "利用できないアカウント",
    "state": "状態",
    "due_at": "予定日時",
    "error": "エラー",
    "last_sync": "最終同期",
    "no_template": "（テンプレートなし）",
    "rate_note": "エンゲージメント率 = 反応数（いいね・リポスト・返信・引用・ブックマーク）÷ "
    "公開時点のフォロワー数",
}

EN: dict[str, str] = {
    "report_title": "Growth and engagement report",
    "period": "Period",
    "timezone": "Time zone",
    "summary": "Summary",
    "no_data": "No data for this period yet. Sync your accounts and publish posts, and the "
    "numbers will appear here.",
    "followers": "Followers",
    "start_followers": "Followers at start",
    "end_followers": "Followers at end",
    "net_growth": "Net growth",
    "growth_rate": "Growth",
    "posts_published": "Posts published",
    "mean_engagement_rate": "Mean engagement rate",
    "best_template": "Best template",
    "best_weekday": "Best weekday",
    "best_hour": "Best hour",
    "accounts": "Growth by account",
    "account": "Account",
    "platform": "Platform",
    "status": "Status",
    "posts": "Posts",
    "followers_chart": "Followers over time",
    "total": "Total",
    "weekly": "Weekly growth",
    "week": "Week of",
    "what_works": "What works",
    "by_template": "By template",
    "by_weekday": "By weekday",
    "by_hour": "By hour",
    "template": "Template",
    "weekday": "Weekday",
    "hour": "Hour",
    "mean_rate": "Mean engagement rate",
    "mean_interactions": "Mean interactions",
    "cadence": "Cadence",
    "planned": "Planned",
    "published": "Published",
    "failed": "Failed",
    "missed": "Missed",
    "other": "Other",
    "top": "Top posts",
    "bottom": "Lowest posts",
    "published_at": "Published",
    "text": "Text",
    "interactions": "Interactions",
    "engagement_rate": "Engagement rate",
    "link": "Link",
    "open": "open",
    "attention": "Needs attention",
    "attention_none": "Nothing needs attention.",
    "problem_posts": "Posts that did not go out",
    "problem_accounts": "Accounts that cannot post",
    "state": "State",
    "due_at": "Due",
    "error": "Error",
    "last_sync": "Last sync",
    "no_template": "(no template)",
    "rate_note": "Engagement rate = interactions (likes, reposts, replies, quotes, bookmarks) "
    "÷ followers when the post was published",
}

STATES: dict[str, dict[str, str]] = {
    "ja": {
        "active": "有効",
        "needs_reauth": "要再認証",
        "disabled": "無効",
        "failed": "失敗",
        "missed": "未実行",
        "unconfirmed": "未確認",
    },
    "en": {
        "active": "active",
        "needs_reauth": "needs re-authorisation",
        "disabled": "disabled",
        "failed": "failed",
        "missed": "missed",
        "unconfirmed": "unconfirmed",
    },
}

WEEKDAYS: dict[str, tuple[str, ...]] = {
    "ja": ("月", "火", "水", "木", "金", "土", "日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}

TEXTS: dict[str, dict[str, str]] = {"ja": JA, "en": EN}


@dataclass(frozen=True)
class Labels:
    """The strings of one locale, plus the few labels that depend on a value."""

    locale: str
    text: Mapping[str, str]
    weekdays: tuple[str, ...]
    states: Mapping[str, str]

    def __getitem__(self, key: str) -> str:
        return self.text[key]

    def weekday(self, index: int | None) -> str:
        return NONE if index is None else self.weekdays[index]

    def hour(self, hour: int | None) -> str:
        if hour is None:
            return NONE
        return f"{hour}時" if self.locale == "ja" else f"{hour:02d}:00"

    def state(self, state: str) -> str:
        """A state or status in words; an unknown one is shown as stored."""
        return self.states.get(state, state)

    def template(self, name: str | None) -> str:
        return self.text["no_template"] if name is None else name


def labels_for(locale: str) -> Labels:
    """Labels for ``locale`` (``ja``, ``en``, or a regional form such as ``ja-JP``)."""
    key = locale.split("-")[0].split("_")[0].lower()
    if key not in TEXTS:
        key = DEFAULT_LOCALE
    return Labels(key, TEXTS[key], WEEKDAYS[key], STATES[key])


def fmt_int(value: int | None) -> str:
    return NONE if value is None else f"{value:,}"


def fmt_signed(value: int | None) -> str:
    return NONE if value is None else f"{value:+,}"


def fmt_pct(fraction: float | None, digits: int = 2) -> str:
    """A fraction as a percentage: 0.21 → ``21.00%``."""
    return NONE if fraction is None else f"{fraction * 100:.{digits}f}%"


def fmt_signed_pct(fraction: float | None, digits: int = 2) -> str:
    return NONE if fraction is None else f"{fraction * 100:+.{digits}f}%"


def fmt_number(value: float | None, digits: int = 1) -> str:
    return NONE if value is None else f"{value:,.{digits}f}"


def fmt_day(day: date) -> str:
    return day.isoformat()


def fmt_time(moment: datetime | None, tz: tzinfo) -> str:
    """An aware UTC time as local wall-clock time, to the minute."""
    return NONE if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def shorten(text: str, width: int = 60) -> str:
    """One line of at most ``width`` characters, for tables; the full text stays in the data."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
