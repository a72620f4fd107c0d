"""Settings for EAS Console, read from the environment with safe defaults.

Environment variables:
    SECRET_KEY            required in production (EASCONSOLE_SECURE=1); elsewhere one is generated
                          into var/secret_key, which git ignores.
    DEBUG                 "1" to turn debugging on (off by default).
    ALLOWED_HOSTS         comma-separated host names (default: localhost and 127.0.0.1).
    DATABASE_URL          e.g. postgres://user@127.0.0.1:5432/easconsole (default: SQLite in var/).
    REDIS_URL             e.g. redis://127.0.0.1:6379/0 for django-q2's broker (default: the ORM).
    EASCONSOLE_SCHEDULER  "0" on the workers of a scaled-out installation: one process runs the schedules.
    EASCONSOLE_METRICS    "1" to answer Prometheus at /metrics (docs/deployment.md).
    EASCONSOLE_SECURE     "1" behind HTTPS: secure cookies, HSTS, SSL redirect (production).
    EASCONSOLE_VAR_DIR    where the database, logs and the generated secret key live (default: var/).
    EASCONSOLE_REMOTE_USER "1" to sign people in as the REMOTE_USER their front server authenticated
                          (Windows authentication; docs/users.md).
    EASCONSOLE_LDAP_*, EASCONSOLE_OIDC_*  sign-in with Active Directory / LDAP and Entra ID (docs/users.md).
"""
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("EASCONSOLE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_flag("DEBUG")
SECURE = env_flag("EASCONSOLE_SECURE")
DEMO_MODE = env_flag("EASCONSOLE_DEMO")


def _secret_key() -> str:
    """SECRET_KEY from the environment; on a workstation one is generated into var/ (ignored by git)."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    if env_flag("EASCONSOLE_SECURE"):
        raise ImproperlyConfigured("Set SECRET_KEY in the environment of a production console.")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "axes",
    "csp",
    "django_q",
    "django_tables2",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "formtools",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files for /api/docs/
    "easconsole",
    "devices",
    "policies",
    "catalog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "easconsole.urls"
WSGI_APPLICATION = "easconsole.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "easconsole.context_processors.console",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'easconsole.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A worker and the web server write at the same time: wait for the lock instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The test database is a file, so that a real django-q2 worker process can share it; one per
    # test run, so that two runs on one machine do not delete each other's.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_easconsole_{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# --- sign-in by a front server doing Windows authentication (docs/users.md): opt-in. REMOTE_USER must be
# set by the WSGI server (IIS, Apache), never taken from a request header; the session keeps the person signed in.
if env_flag("EASCONSOLE_REMOTE_USER"):
    MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                      "django.contrib.auth.middleware.PersistentRemoteUserMiddleware")
    AUTHENTICATION_BACKENDS.insert(1, "devices.affinity.accounts.RemoteUserBackend")
# --- end sign-in by a front server
# --- directory sign-in (docs/users.md): Active Directory / LDAP and Entra ID, from the environment; after the
# local accounts, so that they still sign in at once while the directory is down.
from easconsole.signin.config import directory_settings  # noqa: E402

globals().update(directory_settings(os.environ))
AUTHENTICATION_BACKENDS[-1:-1] = EASCONSOLE_SIGN_IN_BACKENDS  # noqa: F821 - set just above
# --- end directory sign-in
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed sign-ins: five failures for one user name from one address lock that user name out from
# that address, and twenty from one address across user names (password spraying) lock the address
# out, each until 15 minutes after its last failure (easconsole/lockout.py). Tries refused during a
# lockout do not extend it, so the time the lockout page gives holds.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
# Never under AXES_FAILURE_LIMIT: once an address reaches its limit, axes compares the address's count with that one.
EASCONSOLE_ADDRESS_FAILURE_LIMIT = max(int(os.environ.get("EASCONSOLE_ADDRESS_FAILURE_LIMIT", "20")), AXES_FAILURE_LIMIT)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = "easconsole.lockout.lockout_parameters"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "easconsole.lockout.lockout_response"
AXES_VERBOSE = False

# Sessions and CSRF: HTTP-only cookies, same-site, short-lived; secure flags behind HTTPS.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles only from the console's own static files,
# no inline script, no eval, no style attribute or element (the report bars are SVG, htmx's
# indicator styles are in console.css). Bootstrap's form controls draw their arrows and ticks as
# data: SVG images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# The REST API (docs/api.md): personal tokens or the console's session (with CSRF), JSON in and out,
# cursor pages, errors as RFC 9457 problem details, OpenAPI 3 at /api/schema/.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["easconsole.api.authentication.BearerTokenAuthentication",
                                       "rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "easconsole.api.pagination.ConsoleCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "easconsole.api.problems.ProblemAutoSchema",
    "EXCEPTION_HANDLER": "easconsole.api.problems.problem_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "EAS Console API",
    "DESCRIPTION": "Devices syncing with Exchange through ActiveSync, their actions, collections, connectors, "
                   "discovery runs, offboardings, stale-device cleanup runs, the audit trail and the reports' figures. "
                   "Authenticate with `Authorization: Bearer <token>` (a personal token from your profile page); "
                   "browse the operations at /api/docs/.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    "ENUM_NAME_OVERRIDES": {"DeviceActionKindEnum": "devices.models.DeviceAction.Kind",
                            "DeviceActionStateEnum": "devices.models.DeviceAction.State",
                            "DiscoveryRunKindEnum": "devices.models.DiscoveryRun.Kind",
                            "DiscoveryRunStateEnum": "devices.models.DiscoveryRun.State",
                            "CleanupRunStateEnum": "devices.cleanup.models.CleanupRun.State"},
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production serves the collected, hashed files; elsewhere WhiteNoise serves static/ as it is.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if SECURE
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not SECURE

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"
GUARDIAN_RAISE_403 = True
ANONYMOUS_USER_NAME = None  # no guardian anonymous user: anonymous people have no permissions at all

# Background tasks: django-q2 with the ORM broker, or Redis when REDIS_URL is set.
Q_CLUSTER = {
    "name": "easconsole",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 3600,
    "retry": 3660,
    "max_attempts": 1,
    "catch_up": False,
    "ack_failures": True,
    "poll": 0.2,
    "label": _("Background tasks"),
}
if redis_url := os.environ.get("REDIS_URL"):
    Q_CLUSTER["redis"] = redis_url
else:
    Q_CLUSTER["orm"] = "default"

# --- production and scale-out (docs/deployment.md). Exactly one process runs the scheduler of the
# periodic tasks: the workers of a scaled-out installation run with EASCONSOLE_SCHEDULER=0 next to one
# scheduler process. /healthz fails when no worker finished a task for this many seconds (a heartbeat
# task runs every minute); /metrics (Prometheus) answers only with EASCONSOLE_METRICS=1.
Q_CLUSTER["scheduler"] = env_flag("EASCONSOLE_SCHEDULER", default=True)
# The queue's name in Redis: consoles (or test runs) sharing one Redis each use their own.
Q_CLUSTER["name"] = os.environ.get("EASCONSOLE_QUEUE", Q_CLUSTER["name"])
EASCONSOLE_HEALTH_WORKER_SECONDS = int(os.environ.get("EASCONSOLE_HEALTH_WORKER_SECONDS", "180"))
EASCONSOLE_METRICS = env_flag("EASCONSOLE_METRICS")
if EASCONSOLE_METRICS:
    INSTALLED_APPS.append("django_prometheus")
    MIDDLEWARE = ["django_prometheus.middleware.PrometheusBeforeMiddleware", *MIDDLEWARE,
                  "django_prometheus.middleware.PrometheusAfterMiddleware"]
# --- end production and scale-out

# Sessions a full discovery reads with: 2 reads the statistics in a second process (docs/discovery.md).
EASCONSOLE_DISCOVERY_READERS = int(os.environ.get("EASCONSOLE_DISCOVERY_READERS", "3"))
EASCONSOLE_DISCOVERY_PARALLEL_FROM = int(os.environ.get("EASCONSOLE_DISCOVERY_PARALLEL_FROM", "2000"))
# django-q2's workers may start child processes (discovery's second reader).
Q_CLUSTER["daemonize_workers"] = False

# A wipe not acknowledged within this time is Expired (and raised in Monitoring).
EASCONSOLE_WIPE_EXPIRY_HOURS = int(os.environ.get("EASCONSOLE_WIPE_EXPIRY_HOURS", str(7 * 24)))
# How long a worker owns a device action while it sends it; a worker killed mid-send frees it after this.
# Unset (the default): derived from the gateway's timeouts, longer than the longest attempt can last.
EASCONSOLE_ACTION_LEASE_SECONDS = int(os.environ.get("EASCONSOLE_ACTION_LEASE_SECONDS") or 0) or None
# Stale-device cleanup (docs/cleanup.md): at most this many partnerships removed per calendar month, across
# runs and connectors; removed this many at a time, with this pause between batches.
EASCONSOLE_CLEANUP_MONTHLY_CAP = int(os.environ.get("EASCONSOLE_CLEANUP_MONTHLY_CAP", "200"))
EASCONSOLE_CLEANUP_BATCH_SIZE = max(int(os.environ.get("EASCONSOLE_CLEANUP_BATCH_SIZE", "20")), 1)
EASCONSOLE_CLEANUP_BATCH_PAUSE_SECONDS = int(os.environ.get("EASCONSOLE_CLEANUP_BATCH_PAUSE_SECONDS", "30"))

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if (DEBUG or DEMO_MODE) else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "easconsole@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        # The connector's component logs, in CMTrace's format (see easconsole/logs.py).
        "easdisc": {"()": "easconsole.logs.ComponentLogHandler", "name": "EasDisc.log"},
        "sitecomp": {"()": "easconsole.logs.ComponentLogHandler", "name": "SiteComp.log"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "pypsrp": {"level": "WARNING"},
        "psrpcore": {"level": "WARNING"},
        "easconsole.easdisc": {"handlers": ["easdisc"], "level": "INFO"},
        "easconsole.sitecomp": {"handlers": ["sitecomp"], "level": "INFO"},
    },
}
