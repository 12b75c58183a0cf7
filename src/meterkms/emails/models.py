"""Email templates, the outbox, and the single-use tokens of the account emails."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from meterkms.accounts.models import Language
from meterkms.core import tenancy
from meterkms.core.fields import BinaryOrderCharField
from meterkms.emails.enums import EmailKind, OutboxState
from meterkms.organisations.models import subtree_filter

if TYPE_CHECKING:
    from meterkms.core.tenancy import Actor


class EmailTemplate(models.Model):
    """Subject, plain-text and HTML body of one kind of email in one language.

    A template without organisation is a *system default*: shipped with meterkms (synced from
    ``emails/defaults`` at every migrate), read-only, always active, one per kind × language.
    Organisations copy and edit templates; of their own templates at most one per
    organisation × kind × language is active, which a partial unique index guarantees.
    ``sort_path`` orders the list so that a copy appears right below its original.
    """

    tenancy_kind = tenancy.TENANT_OWNED

    organisation = models.ForeignKey(
        "organisations.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="email_templates",
    )
    kind = models.CharField(_("type"), max_length=32, choices=EmailKind.choices)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices)
    name = models.CharField(_("name"), max_length=200)
    subject = models.CharField(_("subject"), max_length=300)
    body_text = models.TextField(_("plain-text body"))
    body_html = models.TextField(_("HTML body"))
    is_active = models.BooleanField(_("active"), default=False)
    copied_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="copies"
    )
    sort_path = BinaryOrderCharField(max_length=1000, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = tenancy.TenantManager()

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        ordering = ["sort_path", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "language"],
                condition=Q(is_active=True, organisation__isnull=False),
                name="emails_template_one_active_per_org",
            ),
            models.UniqueConstraint(
                fields=["kind", "language"],
                condition=Q(organisation__isnull=True),
                name="emails_template_one_system_default",
            ),
            models.CheckConstraint(
                condition=Q(organisation__isnull=False) | Q(is_active=True),
                name="emails_template_system_default_active",
            ),
        ]
        indexes = [models.Index(fields=["kind", "language", "is_active"])]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """The system defaults and the templates of the actor's organisation subtree."""
        return queryset.filter(
            Q(organisation__isnull=True)
            | subtree_filter("organisation__path", actor.organisation_path)
        )

    @property
    def is_system(self) -> bool:
        """True for a shipped system default (read-only, cannot be deleted)."""
        return self.organisation_id is None


class OutboxMessage(models.Model):
    """One email on its way: written in the sender's transaction, sent after commit.

    ``subject``, ``body_text`` and ``body_html`` are the *masked* rendering (secret values
    such as invitation and reset links replaced), safe to show on the outbox page.
    ``payload`` holds the deliverable rendering while the message can still be sent and is
    emptied once it is delivered (and for failed messages after the retention period).
    """

    tenancy_kind = tenancy.TENANT_OWNED

    organisation = models.ForeignKey(
        "organisations.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("type"), max_length=32, choices=EmailKind.choices)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices)
    template = models.ForeignKey(
        EmailTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    template_name = models.CharField(_("template"), max_length=200)
    to_email = models.EmailField(_("recipient"), max_length=254)
    recipient_name = models.CharField(_("recipient name"), max_length=200, blank=True)
    from_email = models.CharField(_("sender"), max_length=300)
    subject = models.CharField(_("subject"), max_length=300)
    body_text = models.TextField(_("plain-text body"))
    body_html = models.TextField(_("HTML body"))
    payload = models.JSONField(default=dict, blank=True)
    is_test = models.BooleanField(_("test email"), default=False)
    state = models.CharField(
        _("state"), max_length=16, choices=OutboxState.choices, default=OutboxState.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    message_id = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)
    redacted_at = models.DateTimeField(null=True, blank=True)

    objects = tenancy.TenantManager()

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["organisation", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.to_email}"

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """Messages sent on behalf of the actor's organisation subtree."""
        return queryset.filter(subtree_filter("organisation__path", actor.organisation_path))


class PasswordReset(models.Model):
    """A "forgot password" link: only the SHA-256 of its 256-bit token is stored.

    The link works once, until ``expires_at`` (at most 60 minutes), and only while the
    account is unchanged since it was issued: a later login, a password change, another
    reset link or an email change kills it (checked in ``emails.account``).
    """

    tenancy_kind = tenancy.TENANT_OWNED

    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="password_resets"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(max_length=254)
    password_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    objects = tenancy.TenantManager()

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"password reset #{self.pk}"

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """Links of users in the actor's organisation subtree."""
        return queryset.filter(subtree_filter("user__organisation__path", actor.organisation_path))


class EmailChange(models.Model):
    """A requested change of a user's email address, waiting for the new mailbox's confirmation.

    The new address takes effect only when the link sent to it is confirmed; only the
    SHA-256 of the 256-bit token is stored.
    """

    tenancy_kind = tenancy.TENANT_OWNED

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    old_email = models.EmailField(max_length=254)
    new_email = models.EmailField(max_length=254)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = tenancy.TenantManager()

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"email change #{self.pk}"

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """Requests of users in the actor's organisation subtree."""
        return queryset.filter(subtree_filter("user__organisation__path", actor.organisation_path))
