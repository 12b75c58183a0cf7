"""Delivering outbox messages: claim, send, and on failure retry with back-off or give up.

Delivery is at least once. A worker *claims* a message with one conditional UPDATE (queued
or waiting for retry, and due) before sending, so two workers never send the same message
at the same time. A temporary failure (server down, timeout, a 4xx answer) schedules the
next attempt with doubling back-off; a permanent one (a 5xx answer, a refused address) or
the last allowed attempt marks the message failed. Nothing is deleted: a failed message
keeps its deliverable body for ``EMAIL_FAILED_RETENTION_HOURS`` so an administrator can send
it again after fixing the cause. A worker that dies mid-send leaves the message "sending";
:func:`send_due` puts such stale claims back in line (the receiver may then get the message
twice, under the same Message-ID).
"""

from __future__ import annotations

import logging
import random
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr

from django.conf import settings
from django.core import mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core import tenancy
from meterkms.emails.enums import OutboxState
from meterkms.emails.models import OutboxMessage

logger = logging.getLogger(__name__)

#: Longest back-off between two attempts.
MAX_BACKOFF = timedelta(hours=1)
#: A claim older than this is taken for a dead worker (SMTP timeout plus a safety margin).
STALE_CLAIM = timedelta(minutes=10)
_CROSSING = "the outbox worker delivers the mail of every organisation"


@dataclass(frozen=True)
class Failure:
    """Why an attempt failed, and whether trying again later can help."""

    temporary: bool
    reason: str


def classify(exc: BaseException) -> Failure:
    """Temporary (retry later) or permanent, with a one-line reason without message content."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        temporary = bool(answers) and all(400 <= code < 500 for code, _text in answers)
        text = "; ".join(f"{code} {_decode(text)}" for code, text in answers)
        return Failure(temporary, f"recipient refused: {text}"[:500])
    if isinstance(exc, smtplib.SMTPResponseException):
        temporary = not 500 <= exc.smtp_code < 600
        return Failure(temporary, f"{exc.smtp_code} {_decode(exc.smtp_error)}"[:500])
    if isinstance(exc, ValueError):
        # Django refuses unusable addresses (also header injection) before connecting.
        return Failure(False, f"invalid message: {exc}"[:500])
    # Connection refused, timeouts, TLS trouble, a dropped connection: the server may recover.
    return Failure(True, f"{exc.__class__.__name__}: {exc}"[:500])


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: doubling from the base, capped, plus up to 25 %."""
    base = timedelta(seconds=settings.EMAIL_RETRY_SECONDS) * (2 ** max(attempts - 1, 0))
    delay = min(base, MAX_BACKOFF)
    return delay * (1 + random.uniform(0, 0.25))  # noqa: S311 - jitter, not a secret


def enqueue_delivery(message_id: int, run_after: datetime | None = None) -> None:
    """Hand a message to the task worker (now, or at ``run_after`` where the queue can wait).

    A queue that cannot defer tasks gets nothing for a later attempt: :func:`send_due`
    (``meterkms manage outbox send-due``, and every successful delivery) picks it up.
    """
    from meterkms.emails.tasks import deliver_email

    task = deliver_email
    if run_after is not None:
        if not deliver_email.get_backend().supports_defer:
            return
        task = deliver_email.using(run_after=run_after)
    task.enqueue(message_id)


def _claim(message_id: int, now: datetime) -> OutboxMessage | None:
    """Take the message for one attempt, or None when it is not due or someone else has it."""
    with tenancy.crossing(_CROSSING):
        claimed = OutboxMessage.objects.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            pk=message_id,
            state__in=[OutboxState.QUEUED, OutboxState.RETRYING],
        ).update(state=OutboxState.SENDING, attempts=F("attempts") + 1, last_attempt_at=now)
        if not claimed:
            return None
        return OutboxMessage.objects.select_related("organisation").get(pk=message_id)


def _email(message: OutboxMessage) -> mail.EmailMultiAlternatives:
    payload = message.payload
    email = mail.EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["text"],
        from_email=message.from_email,
        to=[formataddr((message.recipient_name, message.to_email))],
        headers={"Message-ID": message.message_id, "Auto-Submitted": "auto-generated"},
    )
    email.attach_alternative(payload["html"], "text/html")
    return email


def attempt(message_id: int) -> str:
    """Try to send one message now; returns the state it is left in (or ``skipped``)."""
    now = timezone.now()
    message = _claim(message_id, now)
    if message is None:
        return "skipped"
    if not message.payload:
        return _failed(message, Failure(False, "the message body was removed"), now)
    try:
        with mail.mailers.default as connection:
            if connection.send_messages([_email(message)]) != 1:
                raise ValueError("the mailer accepted no recipient")
    except Exception as exc:  # every failure is recorded on the row; none is lost
        return _failed(message, classify(exc), now)
    return _sent(message, timezone.now())


@transaction.atomic
def _sent(message: OutboxMessage, now: datetime) -> str:
    with tenancy.crossing(_CROSSING):
        OutboxMessage.objects.filter(pk=message.pk).update(
            state=OutboxState.SENT,
            sent_at=now,
            next_attempt_at=None,
            last_error="",
            # Delivered: the deliverable body (with its live link) is no longer needed.
            payload={},
            redacted_at=now,
        )
    record(
        Action.EMAIL_SENT,
        organisation=message.organisation,
        target=message,
        data={
            "kind": message.kind,
            "to": message.to_email,
            "attempts": message.attempts,
            "test": message.is_test,
        },
    )
    return OutboxState.SENT


def _failed(message: OutboxMessage, failure: Failure, now: datetime) -> str:
    if failure.temporary and message.attempts < settings.EMAIL_MAX_ATTEMPTS:
        next_at = now + backoff(message.attempts)
        with tenancy.crossing(_CROSSING):
            OutboxMessage.objects.filter(pk=message.pk).update(
                state=OutboxState.RETRYING, next_attempt_at=next_at, last_error=failure.reason
            )
        logger.warning(
            "outbox message %s: attempt %s failed (%s); next attempt at %s",
            message.pk,
            message.attempts,
            failure.reason,
            next_at.isoformat(),
        )
        enqueue_delivery(message.pk, run_after=next_at)
        return OutboxState.RETRYING
    with transaction.atomic():
        with tenancy.crossing(_CROSSING):
            OutboxMessage.objects.filter(pk=message.pk).update(
                state=OutboxState.FAILED,
                failed_at=now,
                next_attempt_at=None,
                last_error=failure.reason,
            )
        record(
            Action.EMAIL_FAILED,
            organisation=message.organisation,
            target=message,
            data={
                "kind": message.kind,
                "to": message.to_email,
                "attempts": message.attempts,
                "permanent": not failure.temporary,
                "error": failure.reason,
                "test": message.is_test,
            },
        )
    logger.error("outbox message %s failed for good: %s", message.pk, failure.reason)
    return OutboxState.FAILED


@dataclass(frozen=True)
class Sweep:
    """What :func:`send_due` did."""

    reclaimed: int
    attempted: int
    sent: int
    redacted: int


def send_due(*, limit: int = 100) -> Sweep:
    """Send what is due now: queued messages, retries whose time came, stale claims.

    Also removes the deliverable body of messages that failed longer ago than the retention
    period. Safe to run anywhere at any time: the claim keeps attempts exclusive.
    """
    now = timezone.now()
    with tenancy.crossing(_CROSSING):
        reclaimed = OutboxMessage.objects.filter(
            state=OutboxState.SENDING, last_attempt_at__lt=now - STALE_CLAIM
        ).update(state=OutboxState.RETRYING, next_attempt_at=now)
        due = list(
            OutboxMessage.objects.filter(
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                state__in=[OutboxState.QUEUED, OutboxState.RETRYING],
            )
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        cutoff = now - timedelta(hours=settings.EMAIL_FAILED_RETENTION_HOURS)
        redacted = (
            OutboxMessage.objects.filter(state=OutboxState.FAILED, failed_at__lt=cutoff)
            .exclude(payload={})
            .update(payload={}, redacted_at=now)
        )
    results = [attempt(pk) for pk in due]
    return Sweep(
        reclaimed=reclaimed,
        attempted=sum(result != "skipped" for result in results),
        sent=results.count(OutboxState.SENT),
        redacted=redacted,
    )
