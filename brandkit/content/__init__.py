"""Content: templates, platform text rules, compliance lint and readability. No database here."""

from brandkit.content.check import CheckResult, check
from brandkit.content.templates import PostTemplate, TemplateLibrary

__all__ = ["CheckResult", "PostTemplate", "TemplateLibrary", "check"]
