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

from brandkit.reports.scope import LENGTH_BANDS

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
    "no_posts_measured": "この期間に公開され、反応が測れた投稿はまだありません。",
    "followers": "フォロワー",
    "start_followers": "期首フォロワー",
    "end_followers": "期末フォロワー",
    "net_growth": "純増",
    "growth_rate": "増加率",
    "posts_published": "公開した投稿",
    "mean_engagement_rate": "平均エンゲージメント率",
    "best_template": "反応の良いテンプレート",
    "best_category": "反応の良いカテゴリ",
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
    "公開時点のフォロワー数。インプレッション当たりの率 = 反応数 ÷ インプレッション数"
    "（提供されるプラットフォームのみ）",
    "profile": "医師",
    "goals": "目標",
    "goal": "目標",
    "no_goals": "目標はまだありません。brandkit goals add で設定できます。",
    "goal_title": "{metric} {target} 以上（{platform}、{due}まで）",
    "goal_now": "現在 {current}（開始時 {baseline} から {share} 進捗）",
    "goal_now_plain": "現在 {current}",
    "goal_pace": "必要なペース {required}/週、実際のペース {actual}/週",
    "goal_projected": "{method}: 到達見込み {date}（範囲 {earliest}〜{latest}）",
    "goal_not_projected": "{method}: このペースでは到達しません",
    "goal_too_few": "傾向を出すには14日分以上のデータが必要です（現在 {days}日分）",
    "not_at_this_pace": "遅い場合は未到達",
    "method_theil_sen": "直線（Theil–Sen、直近8週間）",
    "method_log_linear": "複利（対数線形）",
    "projection_line": "予測（Theil–Sen）",
    "projection_slow": "予測（遅い場合）",
    "projection_fast": "予測（速い場合）",
    "goal_note": "状態: 達成＝目標値以上。順調＝実際のペースが必要なペース以上。"
    "注意＝必要なペースの75%以上、または速い場合の予測で期限に間に合う。遅れ＝それ以外、"
    "または期限切れ。判定と予測線には直線（Theil–Sen）の傾向を使います。",
    "data_gaps": "データの欠け・注意点",
    "gaps_none": "欠けているデータは見つかりませんでした。",
    "gap_missing": "{account}: スナップショットのない日が {days}日（{runs}）。"
    "前の値で補って表示しています",
    "gap_drop": "{account}: {day} にフォロワーが {before} → {after} に減少"
    "（プラットフォームによる整理か集計の誤りの可能性）",
    "gap_stopped": "{count}件の投稿は、アカウントの同期が続いているのに数値が届かなくなりました"
    "（削除された可能性）。数値は最後の読み取りのままです",
    "gap_dropped": "{count}件の投稿で、反応数が以前の読み取りより減っています。"
    "最新の値を使っています",
    "gap_no_impressions": "{platforms} はインプレッション数を提供しないため、"
    "インプレッション当たりの率には含まれません",
    "last_reading": "最終読み取り",
    "never": "なし",
    "by_category": "カテゴリ別",
    "by_language": "言語別",
    "by_length": "長さ別",
    "category": "カテゴリ",
    "language": "言語",
    "length": "長さ",
    "no_category": "（カテゴリなし）",
    "heatmap": "曜日 × 時間帯",
    "heatmap_note": "色が濃いほど平均エンゲージメント率が高いことを示します。"
    "数字は投稿数、空欄は投稿なし。",
    "mean_impression_rate": "インプレッション当たりの平均率",
    "showing_newest": "直近 {shown}件を表示（全 {total}件）",
    "weekly_points": "期間が長いため、週ごとの値を表示しています。",
}

EN: dict[str, str] = {
    "report_title": "Growth and engagement report",
    "period": "Period",
    "timezone": "Time zone",
    "summary": "Summary",
    "no_data": "No data for this period yet. Sync your accounts and publish posts, and the "
    "numbers will appear here.",
    "no_posts_measured": "No post published in this period has been measured yet.",
    "followers": "Followers",
    "start_followers": "Followers at start",
    "end_followers": "Followers at end",
    "net_growth": "Net growth",
    "growth_rate": "Growth",
    "posts_published": "Posts published",
    "mean_engagement_rate": "Mean engagement rate",
    "best_template": "Best template",
    "best_category": "Best category",
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
    "÷ followers when the post was published. Rate by impressions = interactions ÷ impressions "
    "(only platforms that report them)",
    "profile": "Doctor",
    "goals": "Goals",
    "goal": "Goal",
    "no_goals": "No goals yet. Set one with brandkit goals add.",
    "goal_title": "{metric} at least {target} ({platform}, by {due})",
    "goal_now": "Now {current} ({share} of the way from {baseline})",
    "goal_now_plain": "Now {current}",
    "goal_pace": "Needs {required} a week; actual {actual} a week",
    "goal_projected": "{method}: reaches it {date} (range {earliest} – {latest})",
    "goal_not_projected": "{method}: not reached at this pace",
    "goal_too_few": "A trend needs at least 14 days of data ({days} so far)",
    "not_at_this_pace": "not at the slow end",
    "method_theil_sen": "Linear (Theil–Sen, last 8 weeks)",
    "method_log_linear": "Compound (log-linear)",
    "projection_line": "Projection (Theil–Sen)",
    "projection_slow": "Projection, slow end",
    "projection_fast": "Projection, fast end",
    "goal_note": "Status: reached = at or above the target. On track = the actual pace is at "
    "least the required pace. At risk = at least 75% of it, or the fast end of the range makes "
    "the due date. Off track = otherwise, or past the due date. The status and the projection "
    "line use the linear (Theil–Sen) trend.",
    "data_gaps": "Gaps in the data",
    "gaps_none": "No gaps found in the data.",
    "gap_missing": "{account}: {days} days without a snapshot ({runs}); "
    "the last count is carried over them",
    "gap_drop": "{account}: followers fell from {before} to {after} on {day} "
    "(a platform purge or a miscount)",
    "gap_stopped": "{count} posts stopped reporting while their accounts kept syncing "
    "(probably deleted); their numbers are frozen at the last reading",
    "gap_dropped": "{count} posts have fewer interactions than at an earlier reading; "
    "the latest is used",
    "gap_no_impressions": "{platforms} give no impressions, so the rate by impressions "
    "leaves them out",
    "last_reading": "Last reading",
    "never": "none",
    "by_category": "By category",
    "by_language": "By language",
    "by_length": "By length",
    "category": "Category",
    "language": "Language",
    "length": "Length",
    "no_category": "(no category)",
    "heatmap": "Weekday × hour",
    "heatmap_note": "Darker is a higher mean engagement rate; the number is posts. "
    "Blank: no posts.",
    "mean_impression_rate": "Mean rate by impressions",
    "showing_newest": "Showing the newest {shown} of {total}",
    "weekly_points": "A long period: one point per week.",
}

STATES: dict[str, dict[str, str]] = {
    "ja": {
        "reached": "達成",
        "on_track": "順調",
        "at_risk": "注意",
        "off_track": "遅れ",
        "unknown": "判定不可",
        "followers": "フォロワー数",
        "engagement_rate": "エンゲージメント率",
        "posts_per_week": "週あたり投稿数",
        "all": "全プラットフォーム",
        "active": "有効",
        "needs_reauth": "要再認証",
        "disabled": "無効",
        "failed": "失敗",
        "missed": "未実行",
        "unconfirmed": "未確認",
    },
    "en": {
        "reached": "Reached",
        "on_track": "On track",
        "at_risk": "At risk",
        "off_track": "Off track",
        "unknown": "Not enough data",
        "followers": "Followers",
        "engagement_rate": "Engagement rate",
        "posts_per_week": "Posts per week",
        "all": "all platforms",
        "active": "active",
        "needs_reauth": "needs re-authorisation",
        "disabled": "disabled",
        "failed": "failed",
        "missed": "missed",
        "unconfirmed": "unconfirmed",
    },
}

LANGUAGES: dict[str, dict[str, str]] = {
    "ja": {"ja": "日本語", "en": "英語"},
    "en": {"ja": "Japanese", "en": "English"},
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

    def category(self, name: str | None) -> str:
        return self.text["no_category"] if name is None else name

    def language(self, code: str) -> str:
        return LANGUAGES[self.locale].get(code, code)

    def platform(self, name: str) -> str:
        """A platform name as stored; ``all`` in words."""
        return self.states["all"] if name == "all" else name

    def length_band(self, low: int) -> str:
        """``0–140``, … ``501+``: the band that starts at ``low`` (see analytics.LENGTH_BANDS)."""
        bands = LENGTH_BANDS
        if low not in bands[:-1]:
            return f"{low}+"
        return f"{low}–{bands[bands.index(low) + 1] - 1}"


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
