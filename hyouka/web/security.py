"""Security pieces of the web app: response headers, cookies, CSRF tokens, client address.

- Every response carries a strict Content-Security-Policy (scripts only from /static, no
  inline script), so even a missed escape could not run model output as code; templates
  autoescape and the page script never puts model text into ``innerHTML``.
- Session cookies are HttpOnly and SameSite=Lax, and Secure over https (or as configured).
- Forms carry a CSRF token bound to the session: HMAC(session token, "csrf"); another site can
  neither read it nor, with SameSite=Lax, send the session cookie on a cross-site POST.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

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


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"csrf", hashlib.sha256).hexdigest()[:40]


def csrf_ok(session_token: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(session_token), str(sent))


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
