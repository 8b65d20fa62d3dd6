"""Who may do what with which conversation: pure rules over an account, a conversation and participation."""

from __future__ import annotations

from chat.models import UNLOCATED
from chat.store import ConversationRow
from operators.models import FORCES, ROLES, Account

CONSOLE_ROLES = ("operator", "psychologist", "supervisor")
OPEN = ("queued", "active")


def may_take(account: Account, conversation: ConversationRow) -> bool:
    """Only an operator of the conversation's force takes it (of either force, for a tchat started sans
    localisation), and only while it waits in the queue."""
    return (account.role == "operator" and conversation.force in (account.force, UNLOCATED)
            and conversation.status == "queued")


def may_read(account: Account, conversation: ConversationRow, *, participating: bool) -> bool:
    """Read the transcript: the operator in charge, a psychologist who joined, a supervisor of that force."""
    if account.role == "operator":
        return conversation.assigned_to == account.id
    if account.role == "psychologist":
        return participating
    if account.role == "supervisor":
        return conversation.force == account.force
    return False


def may_write(account: Account, conversation: ConversationRow, *, participating: bool) -> bool:
    """Write (send, typing): the operator in charge or a joined psychologist, while the tchat is live."""
    if conversation.status != "active":
        return False
    if account.role == "operator":
        return conversation.assigned_to == account.id
    return account.role == "psychologist" and participating


def may_manage(account: Account, conversation: ConversationRow) -> bool:
    """Close, transfer, invite, flag, suggest: only the operator in charge stays in charge."""
    return account.role == "operator" and conversation.assigned_to == account.id


def sees_queue(account: Account, force: str) -> bool:
    return account.role in ("operator", "supervisor") and account.force == force


def may_edit_canned(account: Account) -> bool:
    return account.role in ("supervisor", "admin")


# ---- account administration (/admin) ------------------------------------------------------------------------

ADMINISTRATORS = ("admin", "supervisor")


def manages(actor: Account, target: Account) -> bool:
    """Admins manage every account; a supervisor manages the operators of their own force, nobody else."""
    if actor.role == "admin":
        return True
    return (actor.role == "supervisor" and actor.force is not None and target.role == "operator"
            and target.force == actor.force)


def assignable_roles(actor: Account) -> tuple[str, ...]:
    """The roles ``actor`` may give: any for an admin, operator only for a supervisor."""
    return ROLES if actor.role == "admin" else ("operator",) if actor.role == "supervisor" else ()


def assignable_forces(actor: Account) -> tuple[str, ...]:
    if actor.role == "admin":
        return FORCES
    return (actor.force,) if actor.role == "supervisor" and actor.force else ()


def may_edit_directory(account: Account) -> bool:
    """Office hours and the local services directory: routing data for everyone, so admins only."""
    return account.role == "admin"
