"""JSON error bodies of the public API: ``{"error": {"code", "message" (French), ...details}}`` with a 4xx status."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

log = logging.getLogger("pnav")

# A JSON body of the public API is a few hundred bytes; 16 KiB refuses abuse before it is parsed.
MAX_JSON_BODY = 16_384
_DEPTH_LIMIT = 32

HTTP_MESSAGES = {
    400: ("bad_request", "La demande est incorrecte."),
    401: ("unauthenticated", "Vous devez vous connecter."),
    403: ("forbidden", "Cette action ne vous est pas permise."),
    404: ("not_found", "Cette page n'existe pas."),
    405: ("method_not_allowed", "Cette action n'est pas possible ici."),
    413: ("body_too_large", "La demande est trop volumineuse."),
    415: ("unsupported_media_type", "La demande doit être envoyée au format JSON."),
    429: ("rate_limited", "Trop de demandes : patientez un instant puis réessayez."),
    500: ("internal_error", "Une erreur est survenue de notre côté. Réessayez dans un instant ; en cas d'urgence, "
          "appelez le 17 ou le 112, ou envoyez un SMS au 114."),
    503: ("unavailable", "Le service est momentanément indisponible. Réessayez dans un instant ; en cas d'urgence, "
          "appelez le 17 ou le 112, ou envoyez un SMS au 114."),
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.message, self.details = status, code, message, details

    def response(self) -> JSONResponse:
        return api_error(self.status, self.code, self.message, **self.details)


def api_error(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **details}}, status_code=status)


def _depth(value: Any, level: int = 0) -> int:
    if level > _DEPTH_LIMIT:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


async def read_json_object(request: Request, limit: int = MAX_JSON_BODY) -> dict[str, Any]:
    """Read a bounded JSON object body or raise ApiError with a French message."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, *HTTP_MESSAGES[413])
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, *HTTP_MESSAGES[413])
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "malformed_json", "Le contenu envoyé n'est pas un JSON valide.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "Le contenu envoyé doit être un objet JSON.")
    if _depth(data) > _DEPTH_LIMIT:
        raise ApiError(400, "malformed_json", "Le contenu envoyé est trop imbriqué.")
    return data


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


async def http_exception(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code, message = HTTP_MESSAGES.get(status, ("error", "La demande n'a pas pu aboutir."))
    response: Response = (api_error(status, code, message) if _wants_json(request)
                          else HTMLResponse(_error_page(status, message), status_code=status))
    # Keep the exception's headers: a 405 must say which methods are allowed (RFC 9110, Allow).
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)
    return response


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def server_error(request: Request, exc: Exception) -> Response:
    # Log the error type and the route only: never the request body, headers or client address.
    log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc)
    code, message = HTTP_MESSAGES[500]
    if _wants_json(request):
        return api_error(500, code, message)
    return HTMLResponse(_error_page(500, message), status_code=500)


STORAGE_UNAVAILABLE = ("Le service est momentanément indisponible. Réessayez dans quelques secondes ; en cas "
                       "d'urgence, appelez le 17 ou le 112, ou envoyez un SMS au 114.")


async def storage_error(request: Request, exc: Exception) -> Response:
    """The database (or the broker) did not answer within its deadline (chat.db): a 503 the client may retry, in
    French, within seconds, rather than a 500 or a wait for as long as the outage lasts."""
    log.warning("storage unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    if _wants_json(request):
        return api_error(503, "storage_unavailable", STORAGE_UNAVAILABLE, retry=True)
    return HTMLResponse(_error_page(503, STORAGE_UNAVAILABLE), status_code=503)


def _error_page(status: int, message: str) -> str:
    from html import escape

    return (
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Erreur</title>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head><body><main>"
        f"<h1>Erreur {status}</h1><p>{escape(message)}</p><p><a href=\"/\">Revenir à l'accueil</a></p>"
        "</main></body></html>"
    )


# TimeoutError: a deadline of chat.db or chat.redis_target fired (asyncpg raises the builtin one).
exception_handlers = {HTTPException: http_exception, ApiError: api_error_handler, SQLAlchemyError: storage_error,
                      TimeoutError: storage_error, Exception: server_error}
