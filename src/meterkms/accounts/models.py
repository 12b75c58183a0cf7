"""Users (email login) and API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from meterkms.core import tenancy
from meterkms.organisations.models import subtree_filter
from meterkms.organisations.permissions import Perm, Role, perms_of

if TYPE_CHECKING:
    from meterkms.core.tenancy import Actor


class CsvDelimiter(models.TextChoices):
    """Column delimiter of the CSV files a user downloads."""

    SEMICOLON = ";", ";"
    COMMA = ",", ","
    TAB = "\t", _("Tab")
    PIPE = "|", "|"


class ThousandsSeparator(models.TextChoices):
    """Thousands separator of numbers in the CSV files a user downloads."""

    NONE = "", _("none")
    DOT = ".", "."
    COMMA = ",", ","
    SPACE = " ", _("space")
    APOSTROPHE = "'", "'"


class Language(models.TextChoices):
    """UI languages."""

    DE = "de", "Deutsch"
    EN = "en", "English"
    ES = "es", "Español"
    SV = "sv", "Svenska"


class UserManager(tenancy.TenantManager):
    """Scoped like every tenant manager; ``get_by_natural_key`` is case-insensitive."""

    def get_by_natural_key(self, email: str) -> User:
        return self.get(email__iexact=email.strip())

    def normalize_email(self, email: str) -> str:
        return email.strip().lower()


class User(AbstractBaseUser):
    """A person who logs in with email and password and acts within one organisation.

    ``email`` is stored lower-cased and unique (a functional unique index guards against
    rows written around the model). ``must_change_password`` is set when an administrator
    sets the password; the user must choose a new one at the next login.
    """

    tenancy_kind = tenancy.TENANT_OWNED

    email = models.EmailField(_("email"), max_length=254, unique=True)
    name = models.CharField(_("name"), max_length=200)
    organisation = models.ForeignKey(
        "organisations.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="users",
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices())
    language = models.CharField(
        _("language"), max_length=5, choices=Language.choices, default=Language.DE
    )
    csv_delimiter = models.CharField(
        _("CSV column delimiter"), max_length=1, choices=CsvDelimiter.choices, default=";"
    )
    csv_thousands_separator = models.CharField(
        _("CSV thousands separator"),
        max_length=1,
        choices=ThousandsSeparator.choices,
        default="",
        blank=True,
    )
    is_active = models.BooleanField(_("active"), default=True)
    must_change_password = models.BooleanField(default=False)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.name or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """Users of the actor's organisation subtree."""
        return queryset.filter(subtree_filter("organisation__path", actor.organisation_path))

    @property
    def organisation_path(self) -> str:
        return self.organisation.path

    @property
    def role_label(self) -> str:
        """The role's name in the user's language."""
        try:
            return Role(self.role).label
        except ValueError:
            return self.role

    @property
    def permissions(self) -> frozenset[Perm]:
        return perms_of(self.role) if self.is_active else frozenset()

    def has(self, perm: Perm) -> bool:
        """True when the user's role grants ``perm`` (and the account is active)."""
        return perm in self.permissions

    @property
    def user(self) -> User:
        """The user behind this actor (the user itself; token actors differ)."""
        return self


class OwnUserRows:
    """Rows that belong to one user (``user_id``): a user sees their own rows only."""

    tenancy_kind = tenancy.TENANT_OWNED

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """The rows of the acting user (a token acts for its user)."""
        return queryset.filter(user_id=getattr(actor, "user", actor).pk)


class ApiToken(OwnUserRows, models.Model):
    """An organisation-bound API token acting for its user with a subset of their rights.

    The token is ``mkms_`` plus 40 random URL-safe characters; only its SHA-256 is stored
    (the token has 240 bits of entropy, so a fast hash is enough) and it is shown once.
    ``prefix`` (the first 13 characters) identifies it in lists. The token stops working when
    revoked, expired, when its user is deactivated or leaves the organisation, and it can
    never do more than its user's current role allows.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("permissions"), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return (
            self.revoked_at is None
            and (self.expires_at is None or self.expires_at > now)
            and self.user.is_active
            and self.user.organisation_id == self.organisation_id
        )


class TotpDevice(OwnUserRows, models.Model):
    """A user's authenticator app: the second factor (TOTP, RFC 6238, 6 digits, 30 s).

    The shared secret is sealed by the vault, bound to the user (``mfa:<user id>``); the
    database never holds it in clear. ``confirmed_at`` is empty while the user sets the app
    up (the first correct code confirms it). ``last_step`` is the time step of the last
    accepted code, so a code is accepted once. ``failures`` counts wrong codes in a row;
    after too many, ``locked_until`` refuses every code for a while.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp_device")
    secret_sealed = models.BinaryField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = tenancy.TenantManager()

    def __str__(self) -> str:
        return f"TOTP of user {self.user_id}"


class RecoveryCode(OwnUserRows, models.Model):
    """A single-use recovery code of the second factor; only its SHA-256 is stored.

    A code has 80 random bits (16 base-32 characters), so a fast hash is enough: a copy of
    the database does not give a usable code.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = tenancy.TenantManager()

    def __str__(self) -> str:
        return f"recovery code of user {self.user_id}"
