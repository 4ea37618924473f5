"""Content speed: render and fully check 10,000 drafts (half Japanese, half English).

Run:  python benchmarks/bench_content.py [--drafts 10000]

Every built-in template is rendered with its example variables for every platform it claims,
round-robin until the count is reached, and each draft goes through ``brandkit.check`` (length
the platform's way, medical-advertising and privacy rules, readability). Runs on one core (one
process, one thread). Prints drafts per second for rendering alone, checking alone, and both.
"""

from __future__ import annotations

import argparse
import itertools
import time

from brandkit.content import TemplateLibrary, check

CONTEXT = {
    "ja": {
        "clinic": "さくら内科クリニック",
        "doctor": "山田 花子",
        "specialty": "内科",
        "affiliation": "さくら内科クリニック 院長",
        "locale": "ja",
    },
    "en": {
        "clinic": "Maple Family Clinic",
        "doctor": "Dr. Hana Yamada",
        "specialty": "family medicine",
        "affiliation": "Maple Family Clinic",
        "locale": "en",
    },
}


def jobs(library: TemplateLibrary, lang: str) -> list[tuple[object, str]]:
    return [(t, p) for t in library.all() if t.language == lang for p in t.platforms]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--drafts", type=int, default=10_000)
    args = parser.parse_args()
    library = TemplateLibrary()
    half = args.drafts // 2
    work = list(itertools.islice(itertools.cycle(jobs(library, "ja")), half)) + list(
        itertools.islice(itertools.cycle(jobs(library, "en")), args.drafts - half)
    )
    check("warm-up 準備", platform="x")  # loads the dictionary and compiles the rules once

    started = time.perf_counter()
    drafts = []
    for template, platform in work:
        text = library.render(
            template,
            template.example_variables(),  # type: ignore[attr-defined]
            platform=platform,
            context=CONTEXT[template.language],
        )  # type: ignore[attr-defined]
        drafts.append((text, platform, template.language))  # type: ignore[attr-defined]
    rendered = time.perf_counter()
    errors = 0
    for text, platform, lang in drafts:
        result = check(text, platform=platform, lang=lang)
        errors += result.has_errors
    checked = time.perf_counter()

    render_s, check_s, total_s = rendered - started, checked - rendered, checked - started
    n = len(drafts)
    print(f"{'stage':<18}{'seconds':>9}{'drafts/s':>11}")
    print(f"{'render':<18}{render_s:>9.2f}{n / render_s:>11.0f}")
    print(f"{'check':<18}{check_s:>9.2f}{n / check_s:>11.0f}")
    print(f"{'render + check':<18}{total_s:>9.2f}{n / total_s:>11.0f}")
    print(
        f"{n} drafts ({half} ja, {n - half} en) from {len(library.names())} templates; "
        f"{errors} with errors"
    )


if __name__ == "__main__":
    main()
