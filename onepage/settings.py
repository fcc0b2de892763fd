"""OnePage settings: one module, every knob from the environment.

With nothing set the app runs embedded: SQLite under var/, Celery tasks run
eagerly in-process, no Redis, mail to the local development mailbox.
Setting DATABASE_URL and REDIS_URL switches to the real services; DEBUG=false
is production, with the checks below (deploy/env.example lists every variable).
"""

import ipaddress
import zoneinfo
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

from onepage.database_url import database_config
from onepage.redis_url import SENTINEL_SCHEME, celery_broker, sentinel_address

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envbool(name: str, default: bool) -> bool:
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false.")


def envint(name: str, default: int) -> int:
    raw = env.str(name, default=str(default)).strip()
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def envurl(name: str, default: str, schemes: tuple[str, ...]) -> str:
    raw = env.str(name, default=default).strip()
    if raw and urlparse(raw).scheme not in schemes:
        raise ImproperlyConfigured(f"{name}={raw!r} must be a URL starting with one of: {', '.join(schemes)}.")
    return raw


def is_loopback_host(host: str) -> bool:
    """A host name of ALLOWED_HOSTS that only this machine can reach."""
    name = host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


DEBUG = envbool("DEBUG", True)

DEVELOPMENT_SECRET_KEY = "onepage-development-only-not-secret"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
elif not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    # It signs sessions and pixel tokens: a short key can be guessed.
    raise ImproperlyConfigured(
        "SECRET_KEY must be at least 50 random characters when DEBUG is off "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

# The public base of pixel URLs: what recipients' mail clients fetch.
SITE_URL = envurl("SITE_URL", "http://127.0.0.1:8000", ("http", "https")).rstrip("/")
_site = urlparse(SITE_URL)
if not DEBUG and (_site.scheme != "https" or is_loopback_host(_site.hostname or "")):
    raise ImproperlyConfigured(
        f"SITE_URL={SITE_URL!r} must be the public https address of OnePage when DEBUG is off: "
        "every tracking pixel points there."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [_site.hostname])
# The development key is public: with it, anyone could forge pixel tokens and
# sessions. DEBUG on a host others can reach needs a key of its own.
if DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY and not all(is_loopback_host(h) for h in ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        f"SECRET_KEY must be set when DEBUG is on and ALLOWED_HOSTS={','.join(ALLOWED_HOSTS)!r} reaches "
        "beyond this machine (the development key is public)."
    )

TIME_ZONE = env.str("TIME_ZONE", default="UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE={TIME_ZONE!r} is not a known time zone (e.g. Europe/Dublin).") from None
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = False

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_countries",
    "onepage",
    "contacts",
    "emails",
    "tracking",
    "alerts",
    "privacy",
    "demo",
]

MIDDLEWARE = [
    # The tracking pixel, answered before the session, CSRF, authentication
    # and organization middleware (issue 15: the pixel's hot path).
    "tracking.middleware.PixelMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "onepage.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "onepage.middleware.OrganizationMiddleware",
]

if not DEBUG:
    # Static files from the app process (collectstatic's output), before
    # anything that reads the session. In development runserver serves them.
    MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")
# --- Sign-in throttling (django-axes) -----------------------------------------
# After AXES_FAILURE_LIMIT wrong passwords in a row for one user name, or from
# one address, further sign-ins (even with the right password) are refused
# without checking it, for SIGN_IN_LOCKOUT_MINUTES. An admin lifts a lockout
# sooner in the admin (Axes > Access attempts: delete) or with
# `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS`.
INSTALLED_APPS += ["axes"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=envint("SIGN_IN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "onepage.views.signed_in_locked_out"
# Attempts are kept in the database (the default handler): no cache needed.
AXES_VERBOSE = False
# Count attempts by the real client behind our reverse proxy (TRUSTED_PROXIES).
AXES_CLIENT_IP_CALLABLE = "onepage.clientaddress.axes_client_address"
# --- end Sign-in throttling ---------------------------------------------------

# --- Content-Security-Policy (django-csp) ---------------------------------------
# Scripts and styles come from our static files only: no inline script, style
# or event handler anywhere. The development outbox's raw message sets a
# stricter policy of its own, which the middleware leaves alone.
MIDDLEWARE += ["csp.middleware.CSPMiddleware"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    },
}
# --- end Content-Security-Policy ----------------------------------------------

ROOT_URLCONF = "onepage.urls"
WSGI_APPLICATION = "onepage.wsgi.application"
ASGI_APPLICATION = "onepage.asgi.application"

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

DATABASE_URL = envurl("DATABASE_URL", f"sqlite:///{VAR_DIR / 'onepage.sqlite3'}", ("sqlite", "postgres", "postgresql"))
# One host, or libpq's list of a primary and its standbys (onepage.database_url).
DATABASES = {"default": database_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several writers (web + eager tasks) share one file: wait rather than fail.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
else:
    # Persistent connections, checked before reuse so a restarted PostgreSQL
    # (or a switchover to the standby) costs one failed check, not a failed request.
    DATABASES["default"]["CONN_MAX_AGE"] = envint("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "onepage.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "contacts:list"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
# In production WhiteNoise serves the files collectstatic wrote, compressed and
# with hashed names (cached for a year); in development, straight from static/.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Redis: cache, Celery broker and the open-recording stream. Empty = embedded.
# One Redis, or the Sentinels that watch a master and its replicas
# (redis+sentinel://host:26379,.../<master>/<db>, onepage.redis_url).
REDIS_URL = envurl("REDIS_URL", "", ("redis", "rediss", "unix", SENTINEL_SCHEME))
REDIS_SENTINEL = sentinel_address(REDIS_URL) is not None

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # A list: Django splits a string at its commas, the Sentinels' separator.
            "LOCATION": [REDIS_URL],
            "OPTIONS": {"pool_class": "onepage.redis_url.CachePool"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL, _broker_sentinel_options = celery_broker(REDIS_URL) if REDIS_URL else ("memory://", {})
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Django's LOGGING applies to the worker too (levels, LOG_FORMAT).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A worker outlives Redis: it reconnects for ever, at start as after a loss,
# instead of exiting; tasks running when the connection dropped are stopped
# and delivered again (acks_late), rather than acknowledged on a connection
# that no longer exists, which is what made kombu crash the worker.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 5,
    "socket_timeout": 30,
    "socket_keepalive": True,
    "retry_on_timeout": True,
    "health_check_interval": 25,
    # Longer than the longest send (SMTP_DATA_TIMEOUT per copy): a task not
    # acknowledged by then is delivered to another worker.
    "visibility_timeout": 2 * 3600,
    **_broker_sentinel_options,
}
# Publishing (queueing a send) gives up after a few seconds when Redis is
# down; the email stays queued and the sweep queues it again.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}

# Recording opens (tracking.recording): with Redis, the pixel view appends each
# open to this stream and the recorder (manage.py record_opens) writes them in
# batches; beat's drain does the same as a fallback.
OPEN_STREAM = env.str("OPEN_STREAM", default="onepage:opens")
OPEN_BATCH_SIZE = envint("OPEN_BATCH_SIZE", 500)
# The recorder's batches: 2,000 recorded 2.4x as fast as 500 (bench/pixel_load.py),
# 4,000 1.2x as fast as 2,000 (bench/recorders.py, on one email and on a
# team's 500; issue 23). Under sustained load a batch holds its emails' locks for
# up to ~130 ms (a direct write to one of them waits that long).
OPEN_RECORDER_BATCH_SIZE = envint("OPEN_RECORDER_BATCH_SIZE", 4000)
# The stream is never trimmed. Past this many undrained opens (no recorder
# running, or far behind) the pixel writes directly and says so in the log and
# on the health page, rather than Redis running out of memory.
OPEN_STREAM_LIMIT = envint("OPEN_STREAM_LIMIT", 1_000_000)
# Opens a recorder has held this long without acknowledging them belong to
# one that died: another takes them over.
OPEN_RECLAIM_IDLE_MS = envint("OPEN_RECLAIM_IDLE_MS", 60_000)
# When neither Redis nor the database can take an open: one JSON line per open
# here, replayed by the recorder, up to this many bytes.
OPEN_SPOOL_DIR = Path(env.str("OPEN_SPOOL_DIR", default=str(VAR_DIR / "spool")))
OPEN_SPOOL_MAX_BYTES = envint("OPEN_SPOOL_MAX_BYTES", 64 * 1024 * 1024)
# Under Sentinel, the pixel answers once a replica has its append (WAIT 1
# <ms>): a master that dies before replicating would take the open with it
# to the failover. No replica within this many ms: the open is written
# directly (README: Redis under Sentinel). 0: never wait; one Redis never does.
OPEN_REPLICA_WAIT_MS = envint("OPEN_REPLICA_WAIT_MS", 100 if REDIS_SENTINEL else 0)
if not 0 <= OPEN_REPLICA_WAIT_MS <= 400:
    # The pixel's Redis socket gives up after 500 ms (tracking.stream.REDIS_TIMEOUT).
    raise ImproperlyConfigured(f"OPEN_REPLICA_WAIT_MS={OPEN_REPLICA_WAIT_MS} must be between 0 and 400.")
OPEN_DRAIN_INTERVAL = envint("OPEN_DRAIN_INTERVAL", 5)
CELERY_BEAT_SCHEDULE = {
    # Proves beat and a worker alive: see onepage.health (same interval).
    "heartbeat": {"task": "onepage.tasks.heartbeat", "schedule": 30, "options": {"expires": 90}},
    "drain-opens": {
        "task": "tracking.tasks.drain_opens",
        "schedule": OPEN_DRAIN_INTERVAL,
        # A drain that waited longer than one interval is superseded by the next.
        "options": {"expires": OPEN_DRAIN_INTERVAL},
    },
}
# Open events past their organization's retention (tracking.retention): purged
# in bounded batches, every OPEN_PURGE_INTERVAL seconds.
OPEN_PURGE_INTERVAL = envint("OPEN_PURGE_INTERVAL", 3600)
CELERY_BEAT_SCHEDULE["purge-old-opens"] = {
    "task": "tracking.tasks.purge_old_opens",
    "schedule": OPEN_PURGE_INTERVAL,
    "options": {"expires": OPEN_PURGE_INTERVAL},
}
# Beat's record of when each task last ran: under var/, not the project root.
# The scheduler creates its folder (onepage.celery.Scheduler).
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule"))
CELERY_BEAT_SCHEDULER = "onepage.celery:Scheduler"

# Sending (emails.sending): how long to wait for the server's reply to the end
# of a message (RFC 5321: 10 minutes); connecting and the other commands time
# out after 10 s. A send making no progress for EMAIL_CLAIM_TIMEOUT belongs
# to a worker that died: the sweep (every EMAIL_SWEEP_INTERVAL seconds) takes
# it over, and queues again emails queued for longer than EMAIL_QUEUE_GRACE.
SMTP_DATA_TIMEOUT = envint("SMTP_DATA_TIMEOUT", 600)
EMAIL_CLAIM_TIMEOUT = envint("EMAIL_CLAIM_TIMEOUT", SMTP_DATA_TIMEOUT + 60)
EMAIL_QUEUE_GRACE = envint("EMAIL_QUEUE_GRACE", 60)
EMAIL_SWEEP_INTERVAL = envint("EMAIL_SWEEP_INTERVAL", 30)
CELERY_BEAT_SCHEDULE["sweep-emails"] = {
    "task": "emails.tasks.sweep_emails",
    "schedule": EMAIL_SWEEP_INTERVAL,
    "options": {"expires": EMAIL_SWEEP_INTERVAL},
}

# Mailbox sync over IMAP (emails.sync.mailbox_sync): beat looks for mailboxes due every
# MAILBOX_SYNC_INTERVAL seconds; the first sync of a folder reads the last
# MAILBOX_SYNC_DAYS days; after a send, the provider's copies in Sent are
# looked for during SENT_COPY_WAIT seconds (emails.sync.sent_copies).
MAILBOX_SYNC_INTERVAL = envint("MAILBOX_SYNC_INTERVAL", 300)
MAILBOX_SYNC_DAYS = envint("MAILBOX_SYNC_DAYS", 30)
SENT_COPY_WAIT = envint("SENT_COPY_WAIT", 10)
# Without beat (eager tasks, the embedded default of `make run`), page loads look
# for mailboxes due at most once a minute and sync them on a background thread
# of the web process (emails.sync.in_process), never in the request.
MAILBOX_SYNC_ON_PAGE_LOADS = envbool("MAILBOX_SYNC_ON_PAGE_LOADS", CELERY_TASK_ALWAYS_EAGER)
CELERY_BEAT_SCHEDULE["sync-mailboxes"] = {
    "task": "emails.tasks.sync_mailboxes",
    "schedule": 60,
    "options": {"expires": 60},
}
# The daily email of opens (alerts.daily): beat looks for the users whose
# chosen time has passed in their time zone every 15 minutes.
CELERY_BEAT_SCHEDULE["send-daily-emails"] = {
    "task": "alerts.tasks.send_daily_emails",
    "schedule": 15 * 60,
    "options": {"expires": 15 * 60},
}
# Notifications lost between a batch's commit and its listener (a recorder
# killed in between): made again from the last hours' opens (alerts.repair).
NOTIFICATION_REPAIR_INTERVAL = envint("NOTIFICATION_REPAIR_INTERVAL", 600)
CELERY_BEAT_SCHEDULE["repair-notifications"] = {
    "task": "alerts.tasks.repair_notifications",
    "schedule": NOTIFICATION_REPAIR_INTERVAL,
    "options": {"expires": NOTIFICATION_REPAIR_INTERVAL},
}
# The recorder's batches are told of (alerts.creation.notify) by the Celery
# worker, not in the recorder's own time (alerts.tasks.notify_open_batch; a third
# of a batch, issue 23); on by default with a worker (Redis), off when tasks
# run in process. NOTIFY_QUEUE: the queue they go to (empty: Celery's default).
NOTIFY_IN_WORKER = envbool("NOTIFY_IN_WORKER", not CELERY_TASK_ALWAYS_EAGER)
NOTIFY_QUEUE = env.str("NOTIFY_QUEUE", default="") or None

# Mail that Django itself sends (password resets); emails that reps send go
# through their own mailbox, see emails.mailboxes.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# The SMTP server of that mail (EMAIL_BACKEND=...smtp.EmailBackend), and whom
# it comes from (password resets, the daily email of opens).
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="OnePage <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL: set one of them, not both.")

# Where the development mailbox delivers, and the key that encrypts mailbox
# passwords at rest (derived from SECRET_KEY when not set).
DEV_OUTBOX_DIR = Path(env.str("DEV_OUTBOX_DIR", default=str(VAR_DIR / "outbox")))
MAILBOX_ENCRYPTION_KEY = env.str("MAILBOX_ENCRYPTION_KEY", default="")

# --- HTTPS, behind a reverse proxy -------------------------------------------
# --- Outbound connections (emails.transport.guard) ---------------------------
# Mailbox servers are reached only at public addresses on mail ports (25, 465,
# 587, 2525). Listed here: host names, addresses or networks (10.0.0.0/8) that
# may be reached anyway, on any port. Development on this machine alone allows
# loopback, for a local test mail server.
_LOOPBACK = ["127.0.0.0/8", "::1", "localhost"]
MAILBOX_ALLOWED_HOSTS = env.list(
    "MAILBOX_ALLOWED_HOSTS", default=_LOOPBACK if DEBUG and all(is_loopback_host(h) for h in ALLOWED_HOSTS) else []
)
# --- end Outbound connections ------------------------------------------------

# --- Pixel rate limit (tracking.ratelimit) ------------------------------------
# Opens of one recipient counted per minute; the rest are served, not recorded.
OPENS_PER_RECIPIENT_PER_MINUTE = envint("OPENS_PER_RECIPIENT_PER_MINUTE", 10)
# --- end Pixel rate limit -----------------------------------------------------

# --- Client addresses and open verdicts (onepage.clientaddress, tracking.classify)
# Our own reverse proxies (CIDRs): from these peers only, X-Forwarded-For is
# walked from the right to find the client. Empty: REMOTE_ADDR is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
try:
    for _cidr in TRUSTED_PROXIES:
        ipaddress.ip_network(_cidr, strict=False)
except ValueError as _exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_exc}") from None
# The address ranges of mail proxies, privacy prefetchers and scanners that
# tracking.classify reads (the shipped file by default); `manage.py
# refresh_open_ranges` replaces it with the file at OPEN_RANGES_URL.
OPEN_RANGES_FILE = Path(env.str("OPEN_RANGES_FILE", default=str(BASE_DIR / "tracking" / "data" / "open_ranges.txt")))
OPEN_RANGES_URL = env.str("OPEN_RANGES_URL", default="")
# Off: the pixel passes no signals and every fetch counts as a person's open,
# as before verdicts (an escape hatch; the test suite's default, which the
# tests of verdicts switch on).
OPEN_VERDICTS = envbool("OPEN_VERDICTS", True)
# --- end Client addresses and open verdicts ----------------------------------

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", not DEBUG)
# Opt in only when a proxy you run sets X-Forwarded-Proto (and strips a
# client's own): otherwise anyone could claim a secure connection.
if envbool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Form posts come from the site itself: its origin, from SITE_URL.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[f"{_site.scheme}://{_site.netloc}"])
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers check health over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# A monitor that sends `Authorization: Bearer <this>` gets /healthz's details
# (each check, ages, errors); anyone else the status and the names of the parts
# that are down. Empty: the details are on Settings -> System only.
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="").strip()
if HEALTHZ_TOKEN and len(HEALTHZ_TOKEN) < 32:
    raise ImproperlyConfigured(
        "HEALTHZ_TOKEN must be at least 32 characters (python3 -c 'import secrets; print(secrets.token_urlsafe(32))')."
    )
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
# Preloading is a promise to browser vendors that only the domain's owner can
# make: off unless SECURE_HSTS_PRELOAD says so, and not a warning.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} must be text or json.")
# --- Error reports -------------------------------------------------------------
# Variables and POST fields marked sensitive (mailbox passwords) are hidden in
# error reports even when DEBUG is on.
DEFAULT_EXCEPTION_REPORTER_FILTER = "onepage.exception_filter.SecretsHiddenFilter"
# --- end Error reports ----------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "onepage.logs.JSONFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # "Sending due task", "Task received" and "Task succeeded" for every
        # periodic task would be tens of thousands of lines a day; our tasks
        # log what matters themselves.
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "celery.beat": {"level": "WARNING"},
    },
}
