"""Routing errors: a snake_case code, a French message for the visitor, an HTTP status and details."""

from __future__ import annotations

from collections.abc import Sequence

from routing.models import Commune


class RoutingError(Exception):
    """Base class: the chat core turns it into `{"error": {"code", "message", ...details}}`."""

    code: str = "routing_error"
    status: int = 422
    default_message: str = "Nous n'avons pas pu trouver votre commune. En cas d'urgence, appelez le 17 ou le 112."

    def __init__(self, message: str | None = None, details: dict[str, object] | None = None) -> None:
        self.message: str = message or self.default_message
        self.details: dict[str, object] = dict(details or {})
        super().__init__(self.message)

    def as_json(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


class InvalidPostalCode(RoutingError):
    """The text is not a French postal code (five digits)."""

    code = "invalid_postal_code"
    status = 422
    default_message = (
        "Ce code postal n'est pas valide : il doit comporter 5 chiffres, par exemple 75011. "
        "Vérifiez-le, ou appelez le 17 en cas d'urgence."
    )


class UnknownPostalCode(RoutingError):
    """Five digits, but no commune uses this postal code."""

    code = "unknown_postal_code"
    status = 404
    default_message = "Ce code postal n'existe pas. Vérifiez-le, ou appelez le 17 en cas d'urgence."


class CommuneRequired(RoutingError):
    """The postal code covers communes under different forces: the visitor must pick one."""

    code = "commune_required"
    status = 422
    default_message = (
        "Ce code postal couvre plusieurs communes. Choisissez la vôtre dans la liste "
        "pour être mis en relation avec le bon service."
    )

    def __init__(self, communes: Sequence[Commune]) -> None:
        super().__init__(details={"communes": [commune.as_json() for commune in communes]})


class InseeNotInPostalCode(RoutingError):
    """The commune given does not belong to the postal code given."""

    code = "insee_not_in_postal_code"
    status = 422
    default_message = (
        "Cette commune ne correspond pas au code postal indiqué. "
        "Choisissez-la dans la liste proposée, ou vérifiez le code postal."
    )


class UnknownCommune(RoutingError):
    """No current commune has this INSEE code (a commune chosen by name that the data does not know)."""

    code = "unknown_commune"
    status = 422
    default_message = (
        "Cette commune est introuvable. Cherchez-la à nouveau par son nom, ou indiquez son code postal."
    )
