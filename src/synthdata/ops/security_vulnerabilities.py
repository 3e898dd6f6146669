"""Configuration weaknesses of this deployment, for `security-report --vulnerabilities`.

Each check reads the deployment's own state: its certificates (against the
CertificateExpiringSoon thresholds of the rule files), its API keys (never used,
unused for `unused_days`, older than `rotate_days`, how many admin keys), its
settings (fault injection outside tests, placeholder or missing passwords, the
incident webhook token), and, only when asked and installed, `pip-audit`.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from synthdata.observability.certificates import endpoint_pem, seconds_left
from synthdata.ops.report import Report
from synthdata.ops.security_records import KeyRecord
from synthdata.ops.security_thresholds import AlertThreshold
from synthdata.service.core.settings import _PLACEHOLDER_PASSWORDS, Settings


@dataclass(frozen=True)
class KeyPolicy:
    """When an API key is a weakness."""

    unused_days: int = 90
    rotate_days: int = 180
    max_admin_keys: int = 3


def check_certificates(report: Report, settings: Settings, rules: list[AlertThreshold]) -> None:
    """Days left on each configured certificate, judged by the alert thresholds (days)."""
    limits = sorted((rule.threshold, rule.severity) for rule in rules)  # soonest first
    sources: list[tuple[str, bytes | Exception]] = []
    for path in settings.cert_file_paths:
        try:
            sources.append((str(path), path.read_bytes()))
        except OSError as exc:
            sources.append((str(path), exc))
    for endpoint in settings.tls_endpoint_list:
        try:
            sources.append((endpoint, endpoint_pem(endpoint)))
        except (OSError, ssl.SSLError, ValueError) as exc:
            report.add(f"certificate {endpoint}", "unreachable", f"cannot connect: {exc}")
    if not sources and not settings.tls_endpoint_list:
        report.add("certificates", "info", "none configured (SYNTHDATA_CERT_FILES/TLS_ENDPOINTS)")
    for name, pem in sources:
        if isinstance(pem, Exception):
            report.add(f"certificate {name}", "fail", f"cannot read: {pem}")
            continue
        try:
            days = seconds_left(pem) / 86400
        except ValueError as exc:
            report.add(f"certificate {name}", "fail", f"not a PEM certificate: {exc}")
            continue
        crossed = [(limit, severity) for limit, severity in limits if days < limit]
        if crossed:
            limit, severity = crossed[0]
            report.add(
                f"certificate {name}",
                "fail" if severity == "critical" else "warn",
                f"{days:.1f} days left (< {limit:g}, {severity or 'no severity'})",
            )
        else:
            report.add(f"certificate {name}", "ok", f"{days:.0f} days left", days=round(days, 1))


def check_keys(report: Report, keys: list[KeyRecord], now: datetime, policy: KeyPolicy) -> None:
    """Active keys never used, unused for long, due for rotation; the admin key count."""
    active = [key for key in keys if key.revoked_at is None]
    stale_before = now - timedelta(days=policy.unused_days)
    never = [k.id for k in active if k.last_used_at is None]
    unused = [k.id for k in active if k.last_used_at is not None and k.last_used_at < stale_before]
    old = [k.id for k in active if k.created_at < now - timedelta(days=policy.rotate_days)]
    _keys(report, "API keys never used", never, "active keys that never made a request")
    _keys(report, f"API keys unused > {policy.unused_days} days", unused, "revoke them")
    _keys(report, f"API keys older than {policy.rotate_days} days", old, "rotate them")
    admins = [k.id for k in active if k.role == "admin"]
    report.add(
        "admin API keys",
        "warn" if len(admins) > policy.max_admin_keys else "ok",
        f"{len(admins)} active (at most {policy.max_admin_keys} expected) of {len(active)} keys",
        keys=admins,
    )


def _keys(report: Report, name: str, ids: list[str], advice: str) -> None:
    if ids:
        report.add(name, "warn", f"{len(ids)}: {', '.join(ids[:10])} ({advice})", keys=ids)
    else:
        report.add(name, "ok", "none")


def check_settings(report: Report, settings: Settings) -> None:
    """Settings that weaken this deployment."""
    if settings.fault_injection and settings.environment != "test":
        report.add(
            "fault injection",
            "fail",
            f"SYNTHDATA_FAULT_INJECTION is on in {settings.environment}: any caller "
            "can make the API answer 5xx",
        )
    else:
        report.add("fault injection", "ok", "off" if not settings.fault_injection else "test only")
    for name in ("database_url", "redis_url"):
        url = getattr(settings, name) or ""
        password = urlsplit(url).password or ""
        variable = f"SYNTHDATA_{name.upper()}"
        # The list the settings refuse in production: one definition of "placeholder".
        if password.lower() in _PLACEHOLDER_PASSWORDS:
            report.add(f"{name} password", "fail", f"{variable} uses a placeholder password")
        elif url and name == "redis_url" and not password and settings.environment == "production":
            report.add(f"{name} password", "warn", f"{variable} has no password in production")
        elif url:
            report.add(f"{name} password", "ok", "no placeholder")
    if settings.alert_webhook_token:
        report.add("alert webhook token", "ok", "set")
    else:
        report.add(
            "alert webhook token",
            "warn",
            "SYNTHDATA_ALERT_WEBHOOK_TOKEN is empty: Alertmanager's webhook is refused, so "
            "alerts never open incidents",
        )


def pip_audit_binary() -> str | None:
    """pip-audit beside this interpreter, or on PATH."""
    beside = Path(sys.executable).parent / "pip-audit"
    return str(beside) if beside.exists() else shutil.which("pip-audit")


def check_dependencies(report: Report) -> None:
    """Known vulnerabilities of the installed packages (pip-audit; needs the network)."""
    binary = pip_audit_binary()
    if binary is None:
        report.add("dependency audit", "info", "pip-audit is not installed: skipped")
        return
    env = {**os.environ, "PIPAPI_PYTHON_LOCATION": sys.executable}
    try:
        done = subprocess.run(
            [binary, "--format", "json", "--progress-spinner", "off"],
            capture_output=True,
            text=True,
            timeout=900,
            env=env,
            check=False,
        )
        result = json.loads(done.stdout or "{}")
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        report.add("dependency audit", "unreachable", f"pip-audit did not run: {exc}")
        return
    vulnerable = [
        f"{dep['name']} {dep.get('version', '')}: "
        + ", ".join(v.get("id", "?") for v in dep.get("vulns") or [])
        for dep in result.get("dependencies") or []
        if dep.get("vulns")
    ]
    if vulnerable:
        report.add("dependency audit", "warn", "; ".join(vulnerable), packages=vulnerable)
    elif done.returncode == 0:
        report.add("dependency audit", "ok", "pip-audit found no known vulnerabilities")
    else:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        report.add("dependency audit", "unreachable", f"pip-audit failed: {tail[0]}")
