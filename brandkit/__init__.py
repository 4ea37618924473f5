"""brandkit: steady, safe, measurable social-media posting for doctors and clinics.

``brandkit.check(text, platform="x", lang="ja")`` checks a draft the way ``brandkit check``
does (imported on first use, so ``import brandkit`` stays cheap).
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("brandkit")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "check"]


def __getattr__(name: str) -> Any:
    if name == "check":
        from brandkit.content.check import check

        return check
    raise AttributeError(f"module 'brandkit' has no attribute {name!r}")
