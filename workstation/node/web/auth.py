"""Who is asking: the session cookie of a person, the bearer token of a program, and the
checks that keep a POST from being forged by another site."""

from __future__ import annotations

import asyncio
import hmac

from aiohttp import web

from workstation.node.accounts import User, find_user, token_owner
from workstation.node.web.context import context_of
from workstation.node.web.sessions import Session

SESSION_COOKIE = "halong_session"
LOGIN_COOKIE = "halong_login"


async def person(request: web.Request, *, touch: bool = True) -> tuple[Session, User] | None:
    """The logged-in user of this request; ``touch``: it is a person's doing (not the page
    reloading itself, nor its images), so the session's idle time starts again."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    context = context_of(request)
    session = await asyncio.to_thread(context.sessions.find, session_id, context.clock(), touch)
    if session is None:
        return None
    user = await asyncio.to_thread(find_user, context.database, session.user)
    return (session, user) if user is not None else None


async def program(request: web.Request) -> str:
    """The name of the API token presented (``Authorization: Bearer …``), or 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    owner = None
    if scheme.lower() == "bearer" and token.strip():
        owner = await asyncio.to_thread(token_owner, context_of(request).database, token.strip())
    if owner is None:
        raise web.HTTPUnauthorized(
            text='{"error": "a valid bearer token is needed (halong node token NAME)"}',
            content_type="application/json",
            headers={"WWW-Authenticate": 'Bearer realm="halong-node"'},
        )
    return owner


def check_origin(request: web.Request) -> None:
    """Refuse a form posted from another site (the browser says where it came from)."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise web.HTTPForbidden(text="refused: the form was not sent from this page")
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        raise web.HTTPForbidden(text="refused: the form was not sent from this page")


def check_token(sent: object, expected: str) -> None:
    """The form's CSRF token must be the one its page was given."""
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise web.HTTPForbidden(text="refused: the form is stale or forged; reload the page")
