"""The stroke team's pages: log in, the list of alerts, acknowledge, log out.

Nothing with patient data is served without a live session: the alert list and the
summary images redirect to the login page (a page) or answer 403 (an image). Every
POST carries the page's CSRF token and must come from this origin. Showing an alert to
a physician is its receipt; pressing Acknowledge records who, when and how (the page).
"""

from __future__ import annotations

import asyncio
import secrets

from aiohttp import web

from workstation.net import audit
from workstation.node import alerts
from workstation.node.accounts import authenticate
from workstation.node.alert_store import AlertStore
from workstation.node.web.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    check_origin,
    check_token,
    person,
)
from workstation.node.web.context import WebContext, context_of
from workstation.node.web.rendering import page

#: The channel the page's steps are recorded under.
WEB_PAGE = "web page"
#: How often the alert list reloads itself (seconds): a new alert shows without a tap.
REFRESH_S = 30
#: The query that reloading adds: it is not a person's activity, so it keeps no session alive.
AUTO_RELOAD = "reload"

routes = web.RouteTableDef()


def _cookie(response: web.StreamResponse, context: WebContext, name: str, value: str) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="Strict", secure=context.secure_cookies, path="/"
    )


def _login_page(context: WebContext, message: str = "", status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = page("login.html", status, csrf=token, message=message)
    _cookie(response, context, LOGIN_COOKIE, token)
    return response


def _audit_login(context: WebContext, user: str, *, logout: bool, succeeded: bool) -> None:
    trail = audit.AuditTrail.from_environment(context.home.audit)
    audit.record_login(trail, user=user, logout=logout, succeeded=succeeded)


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/alerts")


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    if await person(request, touch=False):
        raise web.HTTPSeeOther("/alerts")
    return _login_page(context_of(request))


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    check_origin(request)
    context = context_of(request)
    form = await request.post()
    check_token(form.get("csrf"), request.cookies.get(LOGIN_COOKIE, ""))
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    user = await asyncio.to_thread(authenticate, context.database, name, password, context.clock())
    await asyncio.to_thread(_audit_login, context, name, logout=False, succeeded=bool(user))
    if user is None:
        return _login_page(context, "Wrong name or password.", status=401)
    session_id, _ = await asyncio.to_thread(context.sessions.start, user.name, context.clock())
    response = web.HTTPSeeOther("/alerts")
    _cookie(response, context, SESSION_COOKIE, session_id)
    response.del_cookie(LOGIN_COOKIE, path="/")
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    check_origin(request)
    context = context_of(request)
    who = await person(request)
    if who is not None:
        session, user = who
        check_token((await request.post()).get("csrf"), session.csrf)
        await asyncio.to_thread(context.sessions.end, request.cookies[SESSION_COOKIE])
        await asyncio.to_thread(_audit_login, context, user.name, logout=True, succeeded=True)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@routes.get("/alerts")
async def alert_list(request: web.Request) -> web.Response:
    who = await person(request, touch=AUTO_RELOAD not in request.query)
    if who is None:
        raise web.HTTPSeeOther("/login")
    session, user = who
    context = context_of(request)
    listed = await asyncio.to_thread(AlertStore(context.database).recent)
    if user.can_acknowledge:  # receipt is by someone who can act on it, not an observer
        await asyncio.to_thread(
            alerts.shown, context.database, context.home, listed, user.name, WEB_PAGE
        )
    return page(
        "alerts.html",
        alerts=listed,
        user=user,
        csrf=session.csrf,
        now=context.clock(),
        refresh_s=REFRESH_S,
        reload_url=f"/alerts?{AUTO_RELOAD}=1",
    )


@routes.post("/alerts/{alert_id:\\d+}/ack")
async def acknowledge(request: web.Request) -> web.Response:
    check_origin(request)
    who = await person(request)
    if who is None:
        raise web.HTTPSeeOther("/login")
    session, user = who
    check_token((await request.post()).get("csrf"), session.csrf)
    if not user.can_acknowledge:
        raise web.HTTPForbidden(text=f"refused: a {user.role} cannot acknowledge alerts")
    context = context_of(request)
    alert_id = int(request.match_info["alert_id"])
    try:
        await asyncio.to_thread(
            alerts.acknowledge,
            context.database,
            context.home,
            alert_id,
            user.name,
            WEB_PAGE,
            context.clock(),
        )
    except alerts.AlertError as error:
        raise web.HTTPNotFound(text=str(error)) from None
    raise web.HTTPSeeOther(f"/alerts#alert-{alert_id}")


@routes.get("/alerts/{alert_id:\\d+}/image")
async def alert_image(request: web.Request) -> web.Response:
    if await person(request, touch=False) is None:
        raise web.HTTPForbidden(text="log in to see patient images")
    alert = await asyncio.to_thread(
        AlertStore(context_of(request).database).get, int(request.match_info["alert_id"])
    )
    if alert is None or alert.summary_image is None:
        raise web.HTTPNotFound(text="no such image")
    try:
        data = await asyncio.to_thread(alert.summary_image.read_bytes)
    except OSError:
        raise web.HTTPNotFound(text="the result's image is gone") from None
    return web.Response(body=data, content_type="image/png")
