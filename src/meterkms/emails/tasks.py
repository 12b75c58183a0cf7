"""Background tasks of the emails app (Django's built-in tasks, run by ``meterkms worker``)."""

from __future__ import annotations

from django.tasks import task

from meterkms.core import context


@task()
def deliver_email(message_id: int) -> str:
    """Attempt one outbox message; after a success also send whatever else is due.

    The follow-up sweep re-sends messages whose hand-over to the queue was lost (a crash
    between commit and enqueue) or whose worker died, as soon as mail flows again.
    """
    from meterkms.emails.delivery import OutboxState, attempt, send_due

    with context.channel("task"):
        state = attempt(message_id)
        if state == OutboxState.SENT:
            send_due(limit=20)
    return str(state)
