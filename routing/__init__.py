"""Routing: postal code -> commune -> competent force and local service; orientation to nearby support.

The data import (`pnav data import`) lives in routing.importer: `main_import(argv)` and `import_data(...)`.
"""

from routing.errors import (
    CommuneRequired,
    InseeNotInPostalCode,
    InvalidPostalCode,
    RoutingError,
    UnknownPostalCode,
)
from routing.models import (
    CATEGORIES,
    FORCES,
    Category,
    Commune,
    Force,
    Helpline,
    LocalService,
    PostalCodeRouting,
    Resolution,
    SupportPoint,
)
from routing.orientation import all_helplines, emergency_numbers, helplines, nearby_support
from routing.postal import lookup, resolve
from routing.services import local_service, local_service_by_id, local_services

__all__ = [
    "CATEGORIES",
    "FORCES",
    "Category",
    "Commune",
    "CommuneRequired",
    "Force",
    "Helpline",
    "InseeNotInPostalCode",
    "InvalidPostalCode",
    "LocalService",
    "PostalCodeRouting",
    "Resolution",
    "RoutingError",
    "SupportPoint",
    "UnknownPostalCode",
    "all_helplines",
    "emergency_numbers",
    "helplines",
    "local_service",
    "local_service_by_id",
    "local_services",
    "lookup",
    "nearby_support",
    "resolve",
]
