"""Routing: postal code -> commune -> competent force and local service; orientation to nearby support.

The data import (`pnav data import`) lives in routing.importer: `main_import(argv)` and `import_data(...)`.
"""

from routing.communes import Found, commune, resolve_commune, search
from routing.errors import (
    CommuneRequired,
    InseeNotInPostalCode,
    InvalidPostalCode,
    RoutingError,
    UnknownCommune,
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
from routing.services import (
    Correction,
    local_service,
    local_service_by_id,
    local_services,
    set_corrections,
    shipped_service_by_id,
)

__all__ = [
    "CATEGORIES",
    "FORCES",
    "Category",
    "Commune",
    "CommuneRequired",
    "Correction",
    "Force",
    "Found",
    "Helpline",
    "InseeNotInPostalCode",
    "InvalidPostalCode",
    "LocalService",
    "PostalCodeRouting",
    "Resolution",
    "RoutingError",
    "SupportPoint",
    "UnknownCommune",
    "UnknownPostalCode",
    "all_helplines",
    "commune",
    "emergency_numbers",
    "helplines",
    "local_service",
    "local_service_by_id",
    "local_services",
    "lookup",
    "nearby_support",
    "resolve",
    "resolve_commune",
    "search",
    "set_corrections",
    "shipped_service_by_id",
]
