"""The OpenAPI 3.1 document of the public HTTP API (API.md), served at ``/api/v1/openapi.json``.

Written by hand as plain data: it is the contract, so it changes only when API.md does; the security tests run
schemathesis against it to check that the server keeps it (and never answers 5xx).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    meanings = {400: "Corps illisible (JSON invalide, trop imbriqué, formulaire cassé)", 404: "Ressource inconnue",
                401: "Jeton de conversation absent, inconnu ou expiré", 408: "Envoi trop lent",
                409: "Conversation terminée, ou nombre maximal de fichiers atteint",
                422: "Valeur refusée", 413: "Corps trop volumineux", 415: "Type de contenu refusé",
                429: "Trop de demandes depuis cette source"}
    return {str(status): _json(_ERROR, meanings[status]) for status in statuses}


_COMMUNE = {
    "type": "object",
    "required": ["insee", "name", "department", "force"],
    "properties": {
        "insee": {"type": "string"},
        "name": {"type": "string"},
        "department": {"type": "string"},
        "force": {"$ref": "#/components/schemas/Force"},
    },
}

_FOUND = {
    "type": "object",
    "required": ["insee", "name", "department", "department_name", "postal_codes", "force"],
    "properties": {
        "insee": {"type": "string"},
        "name": {"type": "string"},
        "department": {"type": "string"},
        "department_name": {"type": "string"},
        "postal_codes": {"type": "array", "items": {"type": "string"}},
        "force": {"anyOf": [{"$ref": "#/components/schemas/Force"}, {"type": "null"}]},
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "pnav",
        "version": "1",
        "description": "Tchat anonyme d'aide aux victimes de violences : API publique (le tchat lui-même passe par "
                       "le WebSocket /ws/visitor décrit dans API.md).",
    },
    "paths": {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "État de la base de données et du courtier de messages",
                "responses": {
                    "200": _json({"type": "object", "required": ["status"],
                                  "properties": {"status": {"const": "ok"}}}, "Tout répond"),
                    "503": _json({"type": "object", "required": ["status"],
                                  "properties": {"status": {"const": "unavailable"}, "database": {"type": "boolean"},
                                                 "broker": {"type": "boolean"}}}, "Une dépendance ne répond pas"),
                },
            }
        },
        "/api/v1/routing": {
            "get": {
                "operationId": "routing",
                "summary": "Communes et force compétente pour un code postal",
                "parameters": [{"name": "postal_code", "in": "query", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {
                    "200": _json({"type": "object", "required": ["postal_code", "communes", "force"],
                                  "properties": {"postal_code": {"type": "string"},
                                                 "communes": {"type": "array", "items": _COMMUNE},
                                                 "force": {"anyOf": [{"$ref": "#/components/schemas/Force"},
                                                                     {"type": "null"}]}}},
                                 "Communes du code postal"),
                    **_errors(404, 422),
                },
            }
        },
        "/api/v1/communes": {
            "get": {
                "operationId": "communes",
                "summary": "Chercher une commune par son nom (accents et majuscules ignorés) ou son code postal",
                "parameters": [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
                               {"name": "limit", "in": "query", "required": False,
                                "description": "Nombre de communes au plus (1 à 20) ; toute autre valeur : 8.",
                                "schema": {"type": "string"}}],
                "responses": {
                    "200": _json({"type": "object", "required": ["query", "communes"],
                                  "properties": {"query": {"type": "string"},
                                                 "communes": {"type": "array", "items": _FOUND}}},
                                 "Communes trouvées (au plus 20 ; aucune pour moins de deux lettres)"),
                    **_errors(422),
                },
            }
        },
        "/api/v1/conversations": {
            "post": {
                "operationId": "createConversation",
                "summary": "Ouvrir un tchat anonyme",
                "description": "Par code postal (et commune si le code couvre les deux forces), par commune choisie "
                               "par son nom (insee seul), ou sans localisation (unlocated: true), dans la file que "
                               "voient les opérateurs des deux forces.",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["category", "role"],
                    "properties": {
                        "category": {"enum": ["sexual_violence", "domestic_violence", "discrimination_hate"]},
                        "role": {"enum": ["victim", "witness", "relative", "professional"]},
                        "postal_code": {"type": "string"},
                        "insee": {"type": ["string", "null"]},
                        "unlocated": {"type": "boolean"},
                        "language": {"type": "string", "description": "Langue des pages du visiteur (fr, en, ar, "
                                     "es, pt, uk) ; toute autre valeur vaut fr."},
                    },
                }}}},
                "responses": {
                    "201": _json({"type": "object", "required": ["id", "token", "force", "department", "insee"],
                                  "properties": {"id": {"type": "string"}, "token": {"type": "string"},
                                                 "force": {"anyOf": [{"$ref": "#/components/schemas/Force"},
                                                                     {"type": "null"}]},
                                                 "department": {"type": ["string", "null"]},
                                                 "insee": {"type": ["string", "null"]},
                                                 "commune": {"type": ["string", "null"]},
                                                 "status": {"type": "string"}}},
                                 "Tchat ouvert ; le jeton est le seul moyen d'y revenir (lieu null sans "
                                 "localisation)"),
                    **_errors(400, 404, 413, 422, 429),
                },
            }
        },
        "/api/v1/conversations/leave": {
            "post": {
                "operationId": "leaveConversation",
                "summary": "Sortie rapide : terminer le tchat désigné par son jeton",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["token"], "properties": {"token": {"type": "string"}},
                }}}},
                "responses": {"204": {"description": "Terminé (même réponse si le jeton est inconnu)"},
                              **_errors(400, 413, 422)},
            }
        },
        "/api/v1/feedback": {
            "post": {
                "operationId": "giveFeedback",
                "summary": "Avis anonyme après le tchat (une fois, avec le jeton, tant qu'il ouvre encore le tchat)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["token", "score"],
                    "properties": {"token": {"type": "string"}, "score": {"enum": [1, 2, 3, 4, 5]},
                                   "comment": {"type": "string", "maxLength": 500}},
                }}}},
                "responses": {
                    "201": _json({"type": "object", "required": ["status"],
                                  "properties": {"status": {"const": "recorded"}}}, "Avis enregistré"),
                    "401": _json(_ERROR, "Jeton inconnu, ou délai dépassé après la fin du tchat"),
                    "409": _json(_ERROR, "Tchat pas encore terminé, ou avis déjà donné"),
                    **_errors(400, 413, 415, 422),
                },
            }
        },
        "/api/v1/attachments": {
            "post": {
                "operationId": "attachFile",
                "summary": "Joindre une capture d'écran, une photo ou un document PDF au tchat, et recevoir son reçu",
                "description": "Le jeton du visiteur dans Authorization: Bearer. Accepté selon son contenu (JPEG, PNG, "
                               "WebP, PDF), jamais selon son nom ; 10 Mio au plus. Le même client_id renvoyé après "
                               "une coupure donne le même reçu, sans second fichier. sha256 est l'empreinte des "
                               "octets reçus : le reçu de la victime.",
                "security": [{"visitorToken": []}],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object",
                    "required": ["file", "client_id"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "client_id": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"},
                        "keep_name": {"enum": ["1", "0"]},
                    },
                }}}},
                "responses": {
                    "201": _json({"type": "object",
                                  "required": ["id", "seq", "sha256", "size", "media_type", "received_at"],
                                  "properties": {"id": {"type": "string"}, "seq": {"type": ["integer", "null"]},
                                                 "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                                 "size": {"type": "integer"}, "name": {"type": "string"},
                                                 "media_type": {"enum": ["image/jpeg", "image/png", "image/webp",
                                                                         "application/pdf"]},
                                                 "received_at": {"type": "string"}}},
                                 "Fichier reçu et scellé ; le reçu"),
                    **_errors(400, 401, 408, 409, 413, 415, 422, 429),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "Ce document",
                "responses": {"200": _json({"type": "object"}, "Le document OpenAPI")},
            }
        },
    },
    "components": {
        "securitySchemes": {"visitorToken": {"type": "http", "scheme": "bearer",
                                             "description": "Le jeton rendu par POST /api/v1/conversations"}},
        "schemas": {
            "Force": {"enum": ["police", "gendarmerie"]},
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["code", "message"],
                                         "properties": {"code": {"type": "string", "pattern": "^[a-z_]+$"},
                                                        "message": {"type": "string"}}}},
            },
        }
    },
}


async def document(request: Request) -> Response:
    return JSONResponse(DOCUMENT)
