"""The node's web application: the stroke team's pages, the JSON API and the stylesheet,
behind headers that keep patient pages out of caches and other sites' frames."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from workstation.node.web import api, pages
from workstation.node.web.context import CONTEXT, WebContext
from workstation.node.web.rendering import STATIC

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@web.middleware
async def _protective_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer, errors and redirects included, is never cached and never framed."""
    try:
        response = await handler(request)
    except web.HTTPException as answer:
        answer.headers.update(_HEADERS)
        answer.headers.setdefault("Cache-Control", "no-store")
        raise
    response.headers.update(_HEADERS)
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def make_app(context: WebContext) -> web.Application:
    app = web.Application(middlewares=[_protective_headers], client_max_size=64 * 1024)
    app[CONTEXT] = context
    app.add_routes(pages.routes)
    app.add_routes(api.routes)
    app.router.add_static("/static", STATIC, follow_symlinks=False)
    return app
