"""The web app: annotators judge outputs in the browser; admins watch; apps send feedback.

``create_app(store, project)`` returns the ASGI app; ``hyouka serve`` runs it with uvicorn.
"""

from hyouka.web.app import create_app
from hyouka.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
