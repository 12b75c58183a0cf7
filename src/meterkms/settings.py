"""Django settings of meterkms: every knob is a ``METERKMS_*`` environment variable.

The embedded default (no variables set) is SQLite and a local master-key file in the data
directory ``./data``; ``meterkms init`` creates the secret files there. With DEBUG off a
missing secret key or audit key stops the start with a message naming the variable; there
are no built-in fallback secrets.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from meterkms.core.dburl import parse_database_url, sqlite_database
from meterkms.core.env import (
    env_bool,
    env_int,
    env_list,
    env_path,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = env_path("DATA_DIR", Path.cwd() / "data")
DEBUG = env_bool("DEBUG", False)

# --- secrets ------------------------------------------------------------------------------
SECRET_KEY = env_secret("SECRET_KEY", fallback_file=DATA_DIR / "secret.key")
#: HMAC key of the audit chain; kept outside the database so a database writer cannot
#: re-chain forged rows.
AUDIT_KEY = env_secret("AUDIT_KEY", fallback_file=DATA_DIR / "audit.key")
for _setting, _variable in ((SECRET_KEY, "SECRET_KEY"), (AUDIT_KEY, "AUDIT_KEY")):
    if len(_setting) < 32:
        raise ImproperlyConfigured(
            f"METERKMS_{_variable} is not set (or shorter than 32 characters): set it, "
            f"point METERKMS_{_variable}_FILE at a file holding it, or run `meterkms init` "
            f"to create the embedded default in {DATA_DIR}"
        )

# --- master key: the vault reads METERKMS_MASTER_KEY_PROVIDER and its variables itself ----
# (see docs/vault.md); the embedded default is the local key file data/master.key.
VAULT_DEK_CACHE_SIZE = env_int("DEK_CACHE_SIZE", 1024, minimum=0)
VAULT_DEK_CACHE_SECONDS = env_int("DEK_CACHE_SECONDS", 300, minimum=0)
#: How long a process may keep sealing under a data key another process retired.
VAULT_LEASE_SECONDS = env_int("DEK_LEASE_SECONDS", 60, minimum=1)
#: HMAC secret of key fingerprints (duplicate-key detection); derived from the audit key so it
#: lives outside the database and survives restarts.
FINGERPRINT_SECRET = hashlib.sha256(b"meterkms fingerprint v1|" + AUDIT_KEY.encode()).digest()

# --- hosts, TLS -----------------------------------------------------------------------------
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "::1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
TLS_CERT_FILE = env_str("TLS_CERT_FILE")
TLS_KEY_FILE = env_str("TLS_KEY_FILE")
SERVER_HOST = env_str("HOST", "127.0.0.1")
SERVER_PORT = env_int("PORT", 8443, minimum=1)
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- applications ---------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "django_htmx",
    "axes",
    "django_tasks_db",
    "meterkms.core",
    "meterkms.vault",
    "meterkms.organisations",
    "meterkms.accounts",
    "meterkms.audit",
    "meterkms.batches",
    "meterkms.devices",
    "meterkms.emails",
    "meterkms.keys",
    "meterkms.api",
    "meterkms.web",
    "meterkms.cli",
]

MIDDLEWARE = [
    "meterkms.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "meterkms.accounts.middleware.SessionLifetimeMiddleware",
    "meterkms.core.middleware.TenancyMiddleware",
    "meterkms.accounts.middleware.UserLanguageMiddleware",
    "meterkms.accounts.middleware.ForcedPasswordChangeMiddleware",
    "axes.middleware.AxesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "meterkms.urls"
WSGI_APPLICATION = "meterkms.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) serve PostgreSQL; SQLite builds the same index without the
# included columns, which is what we want there.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "meterkms.web.context.navigation",
                "meterkms.web.views.claims.notifications",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
DATABASES = {
    "default": parse_database_url(_database_url)
    if _database_url
    else sqlite_database(DATA_DIR / "meterkms.sqlite3")
}

# --- tasks, mail, cache -----------------------------------------------------------------------
TASKS = {"default": {"BACKEND": env_str("TASK_BACKEND", "django_tasks_db.DatabaseBackend")}}
EMBEDDED_WORKER = env_bool("EMBEDDED_WORKER", True)

EMAIL_FROM = env_str("EMAIL_FROM", "meterkms <no-reply@localhost>")
DEFAULT_FROM_EMAIL = EMAIL_FROM
SERVER_EMAIL = EMAIL_FROM
SMTP_HOST = env_str("SMTP_HOST")
MAIL_DIR = DATA_DIR / "mail"
if SMTP_HOST:
    _smtp_starttls = env_bool("SMTP_STARTTLS", True)
    _smtp_tls = env_bool("SMTP_TLS", False)
    if _smtp_starttls and _smtp_tls:
        raise ImproperlyConfigured(
            "METERKMS_SMTP_TLS (TLS from the first byte, port 465) and METERKMS_SMTP_STARTTLS "
            "(upgrade after connecting, port 587) exclude each other: set one of them to false"
        )
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": SMTP_HOST,
                "port": env_int(
                    "SMTP_PORT", 465 if _smtp_tls else 587 if _smtp_starttls else 25, minimum=1
                ),
                "username": env_str("SMTP_USER"),
                "password": env_secret("SMTP_PASSWORD"),
                "use_tls": _smtp_starttls,
                "use_ssl": _smtp_tls,
                "timeout": env_int("SMTP_TIMEOUT", 20, minimum=1),
            },
        }
    }
else:
    # Embedded default: every mail lands as a file in the data directory and on the console,
    # so that a user of the demo can open an invitation link without a mail server.
    MAILERS = {
        "default": {
            "BACKEND": "meterkms.emails.backends.FileAndConsoleBackend",
            "OPTIONS": {"file_path": str(MAIL_DIR)},
        }
    }
#: Outbox delivery: attempts before a temporary failure counts as permanent, the first
#: back-off (doubling up to an hour), and how long failed messages keep their deliverable body.
EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 10, minimum=1)
EMAIL_RETRY_SECONDS = env_int("EMAIL_RETRY_SECONDS", 60, minimum=1)
EMAIL_FAILED_RETENTION_HOURS = env_int("EMAIL_FAILED_RETENTION_HOURS", 72, minimum=1)
#: Lifetime of "forgot password" links (at most 60 minutes) and email confirmation links.
PASSWORD_RESET_MINUTES = min(env_int("PASSWORD_RESET_MINUTES", 60, minimum=5), 60)
EMAIL_CONFIRM_HOURS = env_int("EMAIL_CONFIRM_HOURS", 24, minimum=1)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- authentication ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: a throttled login is refused before the password hasher runs.
    "axes.backends.AxesStandaloneBackend",
    "meterkms.accounts.backends.EmailBackend",
]
PASSWORD_HASHERS = [
    "meterkms.accounts.hashers.Argon2idPasswordHasher",
    # Older hashes still verify and are upgraded to Argon2id at the next login.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
PASSWORD_PROFILE = env_str("PASSWORD_PROFILE", "manual")
AUTH_PASSWORD_VALIDATORS: list[dict[str, object]] = []  # filled below, after apps import
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1) / 60
# Lock out by account (from any IP) and, separately, by IP (against any account).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"
# Count failures per account as the backend matches it (case-insensitive, trimmed).
AXES_USERNAME_CALLABLE = "meterkms.accounts.backends.throttle_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "meterkms.web.views.accounts.lockout_response"
AXES_IPWARE_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

# --- sessions, cookies, security headers --------------------------------------------------------
SESSION_COOKIE_NAME = "__Host-meterkms-session"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_MAX_HOURS", 12, minimum=1) * 3600
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
CSRF_COOKIE_NAME = "__Host-meterkms-csrf"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_FAILURE_VIEW = "meterkms.web.views.errors.csrf_failure"
SECURE_SSL_REDIRECT = env_bool("SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# --- uploads: small request bodies; big files are streamed to temporary files ------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 100
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o600

# --- languages, time ---------------------------------------------------------------------------
LANGUAGE_CODE = env_str("LANGUAGE", "de")
LANGUAGES = [
    ("de", _("Deutsch")),
    ("en", _("English")),
    ("es", _("Español")),
    ("sv", _("Svenska")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("TIME_ZONE", "Europe/Zurich")

# --- static files ------------------------------------------------------------------------------
STATIC_URL = "/static/"
#: Only for `collectstatic` in deployments that serve static files elsewhere; whitenoise
#: serves them from the installed package otherwise (works offline, no build step).
STATIC_ROOT = env_str("STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"

# --- logging: never request bodies, never secrets ------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "meterkms.core.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.security.DisallowedHost": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
    },
}

# --- product settings ----------------------------------------------------------------------------
METERKMS_DEMO_PASSWORD = env_secret("DEMO_PASSWORD")
METERKMS_PUBLIC_URL = env_str("PUBLIC_URL", f"https://{SERVER_HOST}:{SERVER_PORT}")
#: How long an invitation link works, in hours.
METERKMS_INVITATION_HOURS = env_int("INVITATION_HOURS", 72, minimum=1)
#: Key downloads: files prepared in the background expire (and are deleted) after this many
#: hours; selections of more devices than the stream limit are always prepared in the
#: background (docs/downloads.md).
METERKMS_DOWNLOAD_HOURS = env_int("DOWNLOAD_HOURS", 24, minimum=1)
METERKMS_DOWNLOAD_STREAM_DEVICES = env_int("DOWNLOAD_STREAM_DEVICES", 1000, minimum=1)
#: Roles that may download keys must set up a second factor (an authenticator app) before
#: their first download (docs/passwords.md).
METERKMS_MFA_FOR_KEYS = env_bool("MFA_FOR_KEYS", True)

from meterkms.accounts.passwords import password_validators  # noqa: E402

AUTH_PASSWORD_VALIDATORS = password_validators(PASSWORD_PROFILE)
