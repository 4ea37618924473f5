"""brandkit: steady, safe, measurable social-media posting for doctors and clinics."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("brandkit")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
