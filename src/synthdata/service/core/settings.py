"""Service settings, read once from `SYNTHDATA_*` environment variables.

The defaults run everything on one machine with zero setup: SQLite and the files
under one home directory (`SYNTHDATA_HOME`, default `~/.local/share/synthdata`), the
job queue in a SQLite file consumed inside `synthdata serve`. The home does not
depend on the current directory, so `synthdata admin ...` run from anywhere finds
the server's database. Clients (`synthdata ops`, `synthdata monitoring up`,
`synthdata.Client`) reach the API at `SYNTHDATA_API_URL`, by default the server's
own `SYNTHDATA_HOST`/`SYNTHDATA_PORT`. Outside development the settings refuse
placeholder credentials in connection URLs.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from synthdata.artifacts.base import UnsafeKey, check_prefix
from synthdata.service.core.webhook_token import read_token

_PLACEHOLDER_PASSWORDS = {"changeme", "change-me", "password", "secret", "example", "xxx"}
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}
# Object-store credentials and the standard variable each falls back to.
_S3_CREDENTIALS = {
    "s3_access_key_id": "AWS_ACCESS_KEY_ID",
    "s3_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "s3_session_token": "AWS_SESSION_TOKEN",
}


def default_home() -> Path:
    """`$XDG_DATA_HOME/synthdata`, else `~/.local/share/synthdata` (the XDG default)."""
    base = os.environ.get("XDG_DATA_HOME")
    if not base:
        try:
            base = str(Path.home() / ".local" / "share")
        except RuntimeError:  # no home directory known (a bare container user)
            return Path("var").absolute()
    return Path(base) / "synthdata"


def local_api_url(host: str, port: int) -> str:
    """The URL a client on this machine uses for `synthdata serve --host HOST --port PORT`."""
    if host in _WILDCARD_HOSTS:
        host = DEFAULT_HOST
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


class Settings(BaseSettings):
    """Everything the API, the workers and the CLI need to find each other."""

    model_config = SettingsConfigDict(env_prefix="SYNTHDATA_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    # Where the embedded default keeps everything; the two below default to inside it.
    home: Path = Field(default_factory=default_home, validate_default=True)
    database_url: str = Field(
        default_factory=lambda data: f"sqlite:///{data['home'] / 'synthdata.db'}"
    )
    data_dir: Path = Field(default_factory=lambda data: data["home"] / "data")
    # Where `synthdata serve` listens, and the URL its clients use (by default the same).
    host: str = DEFAULT_HOST
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    api_url: str = Field(default_factory=lambda data: local_api_url(data["host"], data["port"]))
    redis_url: str | None = None
    queue: Literal["local", "redis"] = "local"
    queue_name: str = "synthdata"
    max_upload_bytes: int = Field(default=2 * 1024**3, gt=0)
    # The request line and header fields together; a larger head is answered 431
    # (service/core/header_limit.py) before it is read on.
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    # Uploads bounded by shape as well as bytes (a small Parquet file can hold billions
    # of rows); other request bodies (JSON) by `max_request_body_bytes`. See docs/api.md.
    max_dataset_columns: int = Field(default=2_000, gt=0)
    max_dataset_rows: int = Field(default=100_000_000, gt=0)
    # A dataset of linked tables (a .zip upload): at most this many tables, each within
    # max_dataset_columns, all of them together within max_dataset_rows.
    max_dataset_tables: int = Field(default=50, gt=0)
    # Tighter (or looser) shape limits by customer plan, as JSON, e.g.
    # {"free": {"tables": 5, "columns": 50, "rows": 100000}}; a plan not named here, or a
    # limit a plan leaves out, gets the three settings above (datasets/limits.py).
    plan_limits: dict[str, dict[str, int]] = Field(default_factory=dict)
    # Chunks one customer may run at once over all workers (0: no limit); a plan in
    # SYNTHDATA_PLAN_LIMITS may set its own, e.g. {"free": {"concurrency": 1}}. Keep it
    # below the deployment's worker threads so one tenant's backlog leaves room for
    # others (jobs/fairness.py).
    tenant_concurrency: int = Field(default=0, ge=0)
    max_request_body_bytes: int = Field(default=1024**2, gt=0)

    # Jobs: rows per chunk (the unit a worker runs), ceiling per job, leases.
    job_chunk_rows: int = Field(default=1_000_000, gt=0)
    max_job_rows: int = Field(default=100_000_000, gt=0)
    # Fitting reads a seeded uniform sample of a dataset: at most this many rows, and
    # within this much reading memory (engine/loading.py FitLimits), whatever its size.
    fit_max_rows: int = Field(default=1_000_000, gt=0)
    fit_memory_mb: int = Field(default=1024, ge=256)
    job_lease_seconds: float = Field(default=60.0, gt=0)
    job_heartbeat_seconds: float = Field(default=5.0, gt=0)
    job_redeliver_seconds: float = Field(default=300.0, gt=0)
    job_max_attempts: int = Field(default=3, gt=0)
    reaper_interval_seconds: float = Field(default=15.0, gt=0)
    # Files under data_dir/customers that no row references (left by a crash, a failed
    # insert, a deleted customer) are removed once older than the grace: by every
    # reaper each sweep interval, and by `synthdata ops cleanup-storage`.
    orphan_grace_seconds: float = Field(default=6 * 3600.0, gt=0)
    orphan_sweep_interval_seconds: float = Field(default=3600.0, gt=0)
    queue_poll_max_seconds: float = Field(default=1.0, gt=0)
    serve_workers: int = Field(default=2, ge=0)
    # CPU-heavy work stays out of the API process, at a lower CPU priority, so that it
    # never slows the API's answers: with the local queue `synthdata serve` runs its job
    # threads in one child `synthdata worker` (jobs/supervisor.py), and uploads are
    # inspected in a helper process (service/core/offload.py). False: threads inside it.
    offload_cpu_work: bool = True
    offload_nice: int = Field(default=10, ge=0, le=19)
    # CPU threads one `synthdata worker` process may use (0: every core). Give each
    # worker its share of the machine (e.g. 1 with two workers on two cores), as a
    # container CPU limit would: see engine/threads.py.
    worker_cpu_threads: int = Field(default=0, ge=0)
    migrate_on_start: bool = True
    # How long connecting to the database and one statement may take (PostgreSQL:
    # connect_timeout and statement_timeout; SQLite: the busy timeout). Past them a
    # request answers 503 database-unavailable instead of waiting (core/dbwatchdog.py).
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    database_statement_timeout_seconds: float = Field(default=30.0, gt=0)
    # Redis on the request path (rate limits, job messages): one call may take this
    # long; after a failure Redis is skipped for `redis_circuit_seconds` (limits fail
    # open, job messages are left to the reaper) instead of every request waiting.
    redis_timeout_seconds: float = Field(default=0.25, gt=0)
    redis_circuit_seconds: float = Field(default=5.0, gt=0)

    # Abuse protection: requests per window per API key and per source address.
    rate_limit_window_seconds: int = Field(default=60, gt=0)
    rate_limit_per_key: int = Field(default=1200, gt=0)
    rate_limit_per_source: int = Field(default=3000, gt=0)
    rate_limit_per_source_per_second: int = Field(default=100, gt=0)
    # A refused request waits this long before its 429, up to this many at once
    # (core/ratelimit.py Tarpit): a flood's refusals then cost next to nothing.
    rate_limit_tarpit_seconds: float = Field(default=1.0, ge=0)
    rate_limit_tarpit_capacity: int = Field(default=256, ge=0)
    rate_limit_backend: Literal["auto", "memory", "redis"] = "auto"
    rate_limit_prefix: str = "synthdata:rl"
    auth_lockout_failures: int = Field(default=20, gt=0)
    auth_lockout_window_seconds: int = Field(default=300, gt=0)
    auth_lockout_seconds: int = Field(default=900, gt=0)
    circuit_breaker_retry_after: int = Field(default=60, gt=0)
    # /status and /status.json are rendered at most once per this many seconds
    # (0: whenever asked, concurrent requests still sharing one render).
    status_cache_seconds: float = Field(default=1.0, ge=0)
    # How long a process trusts its last answer about an API key (customers/keycache.py):
    # a key revoked on another replica stops working within this many seconds.
    auth_cache_seconds: float = Field(default=2.0, ge=0)

    # Observability: certificates watched by `cert_expiry_seconds` (comma-separated),
    # currencies whose revenue series exist from start-up, the JSON log level.
    cert_files: str = ""
    tls_endpoints: str = ""
    currencies: str = "USD,EUR"
    log_level: str = "INFO"
    observability: bool = True  # off only to measure what instrumentation costs
    # JSON log lines are also appended here when set (what `ops check-error-logs` reads
    # when no Elasticsearch is configured).
    log_file: Path | None = None
    # Route templates whose successful requests write no access-log line: probes and
    # scrapes come every few seconds from machines and would bury the real lines.
    # They are still counted in the metrics, and a failing one (status >= 400) is logged.
    access_log_quiet_routes: str = "/healthz,/readyz,/metrics"
    # Who may read /metrics on the API port: with a token, only callers that present
    # `Authorization: Bearer <token>` (Prometheus' `authorization`); without one, only
    # this machine (a loopback peer whose request no proxy relayed), so the embedded
    # default needs no setup. Per-customer series are capped (the busiest customers
    # get their own, the rest count as `other`), and one render serves every scrape
    # for `metrics_cache_seconds`.
    metrics_token: str = ""
    metrics_max_customers: int = Field(default=100, ge=0)
    metrics_cache_seconds: float = Field(default=1.0, ge=0)
    # Proxies whose X-Forwarded-For is believed: addresses or CIDRs, comma-separated
    # (e.g. the ingress controller's pod network). The caller is the right-most
    # address not in this list; any other peer's header is ignored. "*" is refused:
    # it would let every client choose its own address.
    trusted_proxies: str = "127.0.0.1,::1"

    # Where the operations toolkit (`synthdata ops ...`) finds the monitoring stack.
    prometheus_url: str = "http://127.0.0.1:9090"
    alertmanager_url: str = "http://127.0.0.1:9093"
    # SYNTHDATA_GRAFANA_URL; GRAFANA_URL, which the dashboard commands once documented,
    # is still read when it is unset (with a deprecation line: `deprecated_env_lines`).
    grafana_url: str = Field(
        default="",
        validation_alias=AliasChoices("SYNTHDATA_GRAFANA_URL", "GRAFANA_URL", "grafana_url"),
    )
    elasticsearch_url: str = ""
    elasticsearch_index: str = "synthdata-logs"
    fluent_bit_url: str = ""  # Fluent Bit's HTTP server, e.g. http://127.0.0.1:2020

    # Incidents: the bearer token Alertmanager sends to POST /api/v1/alerts/webhook is
    # `alert_webhook_token` (below): SYNTHDATA_ALERT_WEBHOOK_TOKEN when set ("" refuses
    # the webhook), else the token file that `synthdata monitoring up` creates; and
    # where overdue acknowledgements escalate.
    configured_alert_webhook_token: str | None = Field(
        default=None, validation_alias="SYNTHDATA_ALERT_WEBHOOK_TOKEN"
    )
    alert_webhook_token_file: Path = Field(
        default_factory=lambda data: data["home"] / "secrets" / "alert-webhook-token"
    )
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    pagerduty_routing_key: str = ""
    # The security team's PagerDuty service (Alertmanager's security-pagerduty receiver):
    # events about a page that route sent go to this key; empty: the platform key.
    pagerduty_security_routing_key: str = ""
    # PagerDuty's v3 webhook (POST /api/v1/alerts/pagerduty) signs each delivery with
    # this secret (X-PagerDuty-Signature); empty: the webhook is refused (503).
    pagerduty_webhook_secret: str = ""
    slack_webhook_url: str = ""
    escalation_check_seconds: float = Field(default=30.0, gt=0)
    # Test-only: `X-Synthdata-Fault: 500` answers with that 5xx (service/core/faults.py).
    fault_injection: bool = False

    # Artifacts (uploads, models, job parts; docs/storage.md): in data_dir ("local"), or
    # in an S3-compatible bucket under s3_prefix ("s3"), shared by every API and worker
    # pod without a shared volume. Each credential is read from its variable, else from
    # the file its *_FILE variable names (a mounted secret), else from the standard
    # AWS_* variable; credentials never appear in a repr, a log line or a label.
    store: Literal["local", "s3"] = "local"
    s3_endpoint: str | None = None  # e.g. http://minio:9000; unset: AWS S3 in s3_region
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = Field(default=None, repr=False)
    s3_secret_access_key: SecretStr | None = None
    s3_session_token: SecretStr | None = None
    s3_access_key_id_file: Path | None = None
    s3_secret_access_key_file: Path | None = None
    s3_session_token_file: Path | None = None
    # GET /jobs/{id}/result answers 307 to a presigned URL (valid presign_seconds) when
    # the result is one object in object storage, instead of streaming it through the API.
    result_redirect: bool = False
    presign_seconds: int = Field(default=900, gt=0, le=7 * 24 * 3600)
    # A process's private scratch (local copies of models, datasets, parts being
    # written); never shared between processes or pods.
    work_dir: Path = Field(default_factory=lambda data: data["home"] / "work")

    @model_validator(mode="before")
    @classmethod
    def _webhook_token_argument(cls, data: Any) -> Any:
        # `Settings(alert_webhook_token=...)` sets the token, as the variable does; the
        # alias alone would also read an unprefixed ALERT_WEBHOOK_TOKEN variable.
        if isinstance(data, dict) and "alert_webhook_token" in data:
            data = dict(data)
            data["SYNTHDATA_ALERT_WEBHOOK_TOKEN"] = data.pop("alert_webhook_token")
        return data

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, home: Path) -> Path:
        # Resolved once, so every path derived from it is absolute whatever the cwd.
        return home.expanduser().absolute()

    @field_validator("plan_limits")
    @classmethod
    def _plan_limit_names(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for plan, limits in value.items():
            unknown = set(limits) - {"tables", "columns", "rows", "concurrency"}
            if unknown or any(limit <= 0 for limit in limits.values()):
                raise ValueError(
                    f"SYNTHDATA_PLAN_LIMITS[{plan!r}]: give tables, columns, rows and "
                    f"concurrency as positive integers (got {limits})"
                )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for entry in (e.strip() for e in value.split(",")):
            if not entry:
                continue
            if entry == "*":
                raise ValueError(
                    "SYNTHDATA_TRUSTED_PROXIES=* would trust X-Forwarded-For from anyone; "
                    "list the proxies' addresses or CIDRs"
                )
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"SYNTHDATA_TRUSTED_PROXIES: {entry!r} is not an address or CIDR"
                ) from None
        return value

    @field_validator("s3_prefix")
    @classmethod
    def _s3_prefix_is_a_folder(cls, value: str) -> str:
        try:
            return check_prefix(value)
        except UnsafeKey:
            raise ValueError(
                f"SYNTHDATA_S3_PREFIX: {value!r} is not a relative posix folder "
                "(no leading '/', no '.' or '..' segments, no backslash)"
            ) from None

    @field_validator("s3_endpoint")
    @classmethod
    def _s3_endpoint_url(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"SYNTHDATA_S3_ENDPOINT: {value!r} is not an http(s) URL")
        return value or None

    @model_validator(mode="after")
    def _store_credentials(self) -> Settings:
        # The variable wins over its *_FILE, which wins over the AWS_* fallback.
        for name, aws in _S3_CREDENTIALS.items():
            value: str | None = None
            direct = getattr(self, name)
            path = getattr(self, f"{name}_file")
            if direct is not None and path is not None:
                raise ValueError(
                    f"set SYNTHDATA_{name.upper()} or SYNTHDATA_{name.upper()}_FILE, not both"
                )
            if path is not None:
                try:
                    value = Path(path).read_text().strip()
                except OSError as exc:
                    raise ValueError(
                        f"SYNTHDATA_{name.upper()}_FILE: cannot read {path} ({exc.strerror})"
                    ) from None
            elif direct is None:
                value = os.environ.get(aws) or None
            if value is not None:
                setattr(self, name, value if name == "s3_access_key_id" else SecretStr(value))
        if self.store == "s3":
            if not self.s3_bucket:
                raise ValueError("SYNTHDATA_STORE=s3 needs SYNTHDATA_S3_BUCKET")
            if not (self.s3_endpoint or self.s3_region):
                raise ValueError(
                    "SYNTHDATA_STORE=s3 needs SYNTHDATA_S3_ENDPOINT or SYNTHDATA_S3_REGION"
                )
        return self

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.queue == "redis" and not self.redis_url:
            raise ValueError("SYNTHDATA_QUEUE=redis needs SYNTHDATA_REDIS_URL")
        if self.rate_limit_backend == "redis" and not self.redis_url:
            raise ValueError("SYNTHDATA_RATE_LIMIT_BACKEND=redis needs SYNTHDATA_REDIS_URL")
        if self.job_lease_seconds < 2 * self.job_heartbeat_seconds:
            raise ValueError("SYNTHDATA_JOB_LEASE_SECONDS must be at least twice the heartbeat")
        if self.environment == "production" and self.fault_injection:
            raise ValueError("SYNTHDATA_FAULT_INJECTION is for tests; it is refused in production")
        if self.environment == "production":
            for name in ("database_url", "redis_url"):
                url = getattr(self, name)
                if url and (urlsplit(url).password or "").lower() in _PLACEHOLDER_PASSWORDS:
                    raise ValueError(f"SYNTHDATA_{name.upper()} uses a placeholder password")
        return self

    @property
    def alert_webhook_token(self) -> str:
        """The incident webhook's token: SYNTHDATA_ALERT_WEBHOOK_TOKEN when set, else the
        token file's content, read on every call ("" while neither exists).

        Read each time so that a server started before `synthdata monitoring up` knows
        the token that command creates (service/core/webhook_token.py).
        """
        if self.configured_alert_webhook_token is not None:
            return self.configured_alert_webhook_token
        return read_token(self.alert_webhook_token_file)

    @property
    def cert_file_paths(self) -> list[Path]:
        return [Path(p.strip()) for p in self.cert_files.split(",") if p.strip()]

    @property
    def tls_endpoint_list(self) -> list[str]:
        return [e.strip() for e in self.tls_endpoints.split(",") if e.strip()]

    @property
    def access_log_quiet_route_set(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.access_log_quiet_routes.split(",") if r.strip())

    @property
    def currency_list(self) -> list[str]:
        return [c.strip().upper() for c in self.currencies.split(",") if c.strip()]

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [e.strip() for e in self.trusted_proxies.split(",") if e.strip()]

    @property
    def uses_redis_rate_limits(self) -> bool:
        """Whether rate-limit counters are shared through Redis (all replicas see them)."""
        if self.rate_limit_backend == "auto":
            return self.redis_url is not None
        return self.rate_limit_backend == "redis"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests build their own `Settings` instead)."""
    return Settings()


# Old environment variable -> the name that replaced it (both still read, new one first).
DEPRECATED_ENV = {"GRAFANA_URL": "SYNTHDATA_GRAFANA_URL"}


def deprecated_env_lines(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per deprecated variable that is set, naming its replacement."""
    environ = os.environ if environ is None else environ
    return [
        f"{old} is deprecated: set {new} instead"
        + (f" ({new} is set and wins)" if environ.get(new) else "")
        for old, new in DEPRECATED_ENV.items()
        if environ.get(old)
    ]
