"""The stroke team's web page and the node's JSON API (aiohttp, in a background thread)."""

from workstation.node.web.server import WebError, WebService, start_web

__all__ = ["WebError", "WebService", "start_web"]
