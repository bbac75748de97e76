"""Security pieces of the web app: response headers, cookies, CSRF tokens, client address.

- Every response carries a strict Content-Security-Policy (scripts only from /static, no
  inline script), so even a missed escape could not run model output as code; templates
  autoescape and the page script never puts model text into ``innerHTML``.
- Session cookies are HttpOnly and SameSite=Lax, and Secure over https (or as configured).
- Forms carry a CSRF token bound to the session: HMAC(session token, "csrf"); another site can
  neither read it nor, with SameSite=Lax, send the session cookie on a cross-site POST.
- :class:`RequestGuard` refuses, before any route runs, a body over ``BODY_MAX`` bytes (413)
  and a NUL character in the path, the query or a form (400): no database stores one
  (PostgreSQL refuses it), so it can only be an attack or a broken client.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hyouka.bounds import BODY_MAX
from hyouka.web.i18n import from_accept_language, messages
from hyouka.web.settings import WebSettings

SESSION_COOKIE = "hyouka_session"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # The sign-in link carries a secret in its path: never send it on as a Referer.
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on every request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(HEADERS)
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_NUL = re.compile(rb"%00|\x00")
_FORMS = (b"application/x-www-form-urlencoded", b"multipart/form-data")


class RequestGuard:
    """Pure ASGI middleware: a request body is at most ``max_body`` bytes (413 beyond, also
    for a body sent without Content-Length), and the path, the query and a form body hold no
    NUL (400). Answers in the caller's terms: JSON for ``/api/``, text elsewhere."""

    def __init__(self, app: ASGIApp, max_body: int = BODY_MAX, default_locale: str = "ja") -> None:
        self.app = app
        self.max_body = max_body
        self.locale = default_locale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or b""
        decoded = "\x00" in str(scope.get("path", ""))  # the path the routes see, decoded
        if decoded or _NUL.search(raw_path) or _NUL.search(scope.get("query_string") or b""):
            await self.refuse(scope, send, 400, "error.bad_text")
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self.refuse(scope, send, 413, "error.body_too_large")
            return
        chunks: list[bytes] = []
        size = 0
        while True:  # read it all here (at most max_body bytes): then check and replay it
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self.refuse(scope, send, 413, "error.body_too_large")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type in _FORMS and _NUL.search(body):
            await self.refuse(scope, send, 400, "error.bad_text")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def refuse(self, scope: Scope, send: Send, status: int, code: str) -> None:
        headers = dict(scope.get("headers") or [])
        accept = headers.get(b"accept-language", b"").decode("latin-1")
        await _refuse(scope, send, status, code, from_accept_language(accept, self.locale))


async def _refuse(scope: Scope, send: Send, status: int, code: str, locale: str) -> None:
    message = messages(locale)(code)
    if str(scope.get("path", "")).startswith("/api/"):
        body = orjson.dumps({"error": code, "message": message})
        kind = b"application/json"
    else:
        body = message.encode("utf-8")
        kind = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"csrf", hashlib.sha256).hexdigest()[:40]


def csrf_ok(session_token: str, sent: str | None) -> bool:
    # compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError)
    given = str(sent or "").encode("utf-8", "surrogatepass")
    return bool(given) and hmac.compare_digest(csrf_token(session_token).encode(), given)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(
    response: Response,
    request: Request,
    settings: WebSettings,
    name: str,
    value: str,
    max_age: int,
    http_only: bool = True,
) -> None:
    secure = settings.secure_cookies if settings.secure_cookies is not None else is_https(request)
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=http_only,
        samesite="lax",
        secure=secure,
    )


def client_address(request: Request) -> str:
    """The client's address as uvicorn reports it (it applies trusted proxy headers)."""
    return request.client.host if request.client else "unknown"


def safe_next(target: str | None) -> str:
    """A local path to go back to; anything else (another site, //host) becomes '/'."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
