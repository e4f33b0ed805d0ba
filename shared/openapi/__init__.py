"""`GET /api/openapi.json`: OpenAPI 3.1 of every HTTP route, from the indexed functions and declarations.

from shared.openapi import document, openapi_document
document("my_function", get={"parameters": [...], "responses": {...}})   # optional precision
openapi_document(function_app.app)                                        # the whole document
"""

from __future__ import annotations

import json
import threading
from typing import Any

from shared.openapi import _known  # noqa: F401 - registers the declarations this package owns
from shared.openapi._docs import document
from shared.openapi._document import build
from shared.openapi._index import HttpRoute, http_routes, openapi_path

__all__ = ["HttpRoute", "document", "http_routes", "openapi_document", "openapi_path", "openapi_response"]

_lock = threading.Lock()
_cached: dict[int, str] = {}


def openapi_document(app: Any) -> dict[str, Any]:
    """The document for `app`; built once per process (the routes do not change while it runs)."""
    from shared import __version__

    key = id(app)
    with _lock:
        if key not in _cached:
            _cached[key] = json.dumps(build(app, version=__version__))
        text = _cached[key]
    value: dict[str, Any] = json.loads(text)
    return value


def openapi_response(app: Any) -> Any:
    import azure.functions as func

    openapi_document(app)
    return func.HttpResponse(_cached[id(app)], status_code=200, mimetype="application/json")
