"""schemathesis against the published OpenAPI document: the server keeps its contract and never answers 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from chat.openapi import DOCUMENT
from tests.faults.results import Row, record
from tests.servers import LiveServer

schema = schemathesis.openapi.from_dict(DOCUMENT)
calls: dict[str, int] = {"total": 0, "5xx": 0}


def test_document_is_served(plain: LiveServer) -> None:
    """GET /api/v1/openapi.json returns the document the fuzzing below is generated from."""
    response = httpx.get(f"{plain.base}/api/v1/openapi.json")
    assert response.status_code == 200 and response.json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_keeps_its_contract(case: Any, plain: LiveServer) -> None:
    """Generated requests (valid and invalid) get documented answers, never a 5xx."""
    response = case.call(base_url=plain.base, timeout=10)
    calls["total"] += 1
    calls["5xx"] += response.status_code >= 500
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"
    # Business rules the schema cannot express (a postal code that exists, an INSEE code of that postal code)
    # answer 404/422 to schema-valid data: that one check is left out, every other one runs.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])


def test_record_openapi_figures() -> None:
    """Write the schemathesis figures for SECURITY.md."""
    assert calls["total"] > 0 and calls["5xx"] == 0
    record(Row(
        key="7-schemathesis", fault="schemathesis contre /api/v1/openapi.json",
        load=f"{len(DOCUMENT['paths'])} chemins, 40 exemples par opération",
        inputs=f"{calls['total']} requêtes générées (corps, paramètres et en-têtes conformes ou non au schéma)",
        acknowledged=calls["total"], delivered=calls["total"] - calls["5xx"], lost=calls["5xx"],
        result="aucune réponse 5xx ; chaque réponse est conforme au document (statut, type, schéma)",
    ))
