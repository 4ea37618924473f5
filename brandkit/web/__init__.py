"""The web dashboard (``brandkit web``): FastAPI with server-rendered Jinja2 pages.

:func:`create_app` builds the application; see ``docs/web.md`` for roles, security choices and
what is still to come.
"""

from brandkit.web.app import create_app

__all__ = ["create_app"]
