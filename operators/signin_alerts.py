"""Supervisors are told when an account keeps failing to sign in: someone may be guessing its password."""

from __future__ import annotations

from sqlalchemy import select

from chat import protocol
from chat.state import ChatState
from operators.channels import account_channel
from operators.models import Account
from operators.signin import alert_due

MESSAGE = ("Connexion : {failures} échecs de suite sur le compte « {username} » depuis sa dernière connexion "
           "réussie. Quelqu'un essaie peut-être de deviner son mot de passe ; vérifiez avec la personne.")


async def failed(state: ChatState, account: Account, failures: int) -> None:
    """Called after each failed sign-in of an existing account (whose failure ``operators.signin`` recorded, with
    the audit entry when due): at every ``signin.ALERT_EVERY`` failures in a row, an alert on the consoles of the
    supervisors of its force (of every force for staff without one)."""
    if not alert_due(failures):
        return
    alert = protocol.dumps({"type": "alert", "kind": "signin", "account": account.username,
                            "message": MESSAGE.format(failures=failures, username=account.username)})
    query = select(Account.id).where(Account.role == "supervisor", Account.disabled.is_(False))
    if account.force:
        query = query.where(Account.force == account.force)
    async with state.sessions() as session:
        supervisors = list(await session.scalars(query))
    for supervisor in supervisors:
        await state.broker.publish(account_channel(supervisor), alert)
