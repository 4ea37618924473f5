"""Publishing on Threads and Instagram: create a media container, wait for it, publish it.

Both platforms publish in three steps (instagram-platform/content-publishing, threads/posts):
``POST /{node}/<container edge>`` makes an unpublished container, ``GET /{container-id}`` reports
its processing state, and ``POST /{node}/<publish edge>`` with ``creation_id`` makes it public.
The flow, and the rule about which step can leave an unknown outcome, lives here rather than in
:mod:`brandkit.platforms.graph` (the Graph API's error, usage and paging conventions) because
only these two connectors publish this way: a Facebook Page post is one request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from brandkit.errors import OutcomeUnknownError, RejectedError, TransientError
from brandkit.platforms import fields
from brandkit.platforms.api import ApiSession
from brandkit.platforms.graph import object_id

#: Container states (instagram-platform/instagram-graph-api/reference/ig-container, threads).
READY: Final = frozenset({"FINISHED"})
FAILED: Final = frozenset({"ERROR", "EXPIRED"})


async def create_and_publish(
    session: ApiSession,
    *,
    node: str,
    container_path: str,
    container: Mapping[str, str],
    publish_path: str,
    status_field: str,
    detail_field: str,
    checks: int = 6,
    interval: float = 5.0,
) -> str:
    """Create a media container, wait until it is ready, publish it; return the media id.

    Nothing is public before the publish step, so a container step whose outcome is unknown is
    a plain :class:`TransientError` (an unpublished container expires unseen after 24 hours).
    Only the publish step can leave an unknown outcome; it is sent once, never repeated here.
    """
    create = session.call("create the media container", is_publish=True)
    try:
        response = await session.request("POST", f"/{node}{container_path}", create, data=container)
        container_id = session.parse(response, object_id, create)
    except OutcomeUnknownError as exc:
        raise TransientError(
            f"creating the media container may have failed ({exc.reason}); nothing was published",
            platform=session.platform,
            status=exc.status,
            hint="brandkit will try the whole post again later",
        ) from exc
    await wait_until_ready(
        session,
        container_id,
        status_field=status_field,
        detail_field=detail_field,
        checks=checks,
        interval=interval,
    )
    publish = session.call("publish", is_publish=True)
    response = await session.request(
        "POST", f"/{node}{publish_path}", publish, data={"creation_id": container_id}
    )
    return session.parse(response, object_id, publish)


async def wait_until_ready(
    session: ApiSession,
    container_id: str,
    *,
    status_field: str,
    detail_field: str,
    checks: int,
    interval: float,
) -> None:
    """Poll ``GET /{container-id}?fields=<status_field>`` until ``FINISHED`` (session clock)."""
    call = session.call("check the media container")
    for check in range(checks):
        (state, detail), _ = await session.get_json(
            f"/{container_id}",
            call,
            lambda value: _container_status(value, status_field, detail_field),
            params={"fields": f"id,{status_field},{detail_field}"},
        )
        if state in READY:
            return
        if state in FAILED:
            raise RejectedError(
                f"the media container ended {state}: {detail or 'no detail given'}",
                platform=session.platform,
                hint="check that the image is a public JPEG and the text within the limits",
            )
        if check + 1 < checks:
            await session.clock.sleep(interval)
    raise TransientError(
        f"the media container was still processing after {checks} checks; nothing was published",
        platform=session.platform,
        hint="brandkit will try the post again later",
    )


def _container_status(
    value: object, status_field: str, detail_field: str
) -> tuple[str, str | None]:
    body = fields.mapping(value, "container")
    return fields.string(body, status_field), fields.opt_string(body, detail_field)
