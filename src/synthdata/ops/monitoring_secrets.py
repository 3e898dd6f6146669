"""The Alertmanager secrets of the local stack, written as files under its state dir.

Alertmanager reads every secret from a file (`*_file` settings), as in a cluster where a
Secret is mounted. The PagerDuty and Slack ones come from `SYNTHDATA_*` variables (or
stay as they were, or are placeholders); the incident webhook's token is the one the
API itself uses (`Settings.alert_webhook_token`): SYNTHDATA_ALERT_WEBHOOK_TOKEN, else
the token file under the service's home, created here when missing
(service/core/webhook_token.py). So `make run` and `synthdata monitoring up` agree on it
in whichever order they are started.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from synthdata.service.core.settings import Settings
from synthdata.service.core.webhook_token import ensure_token

INCIDENT_WEBHOOK_TOKEN = "incident-webhook-token"
SECRET_NAMES = (
    "pagerduty-routing-key",
    "slack-webhook-url",
    "pagerduty-security-routing-key",
    "slack-security-webhook-url",
    INCIDENT_WEBHOOK_TOKEN,
)
# Environment variables that provide the Alertmanager secrets to the local stack.
SECRET_ENV = {
    "pagerduty-routing-key": "SYNTHDATA_PAGERDUTY_ROUTING_KEY",
    "slack-webhook-url": "SYNTHDATA_SLACK_WEBHOOK_URL",
    "pagerduty-security-routing-key": "SYNTHDATA_PAGERDUTY_SECURITY_ROUTING_KEY",
    "slack-security-webhook-url": "SYNTHDATA_SLACK_SECURITY_WEBHOOK_URL",
}
# Without a security PagerDuty service or channel of its own, security alerts reach
# the main ones rather than a placeholder.
SECRET_FALLBACK = {
    "pagerduty-security-routing-key": "pagerduty-routing-key",
    "slack-security-webhook-url": "slack-webhook-url",
}
PLACEHOLDERS = {
    "pagerduty-routing-key": "placeholder-pagerduty-routing-key",
    "slack-webhook-url": "https://hooks.slack.invalid/services/placeholder",
    # Written only when the webhook is off: Alertmanager then has no receiver using it.
    INCIDENT_WEBHOOK_TOKEN: "incident-webhook-off",
}


def incident_webhook_token(service: Settings) -> tuple[str | None, str]:
    """(the token the API expects, where it came from); None when the API refuses its
    webhook (SYNTHDATA_ALERT_WEBHOOK_TOKEN set to "")."""
    configured = service.configured_alert_webhook_token
    if configured is not None:
        if configured.strip():
            return configured.strip(), "$SYNTHDATA_ALERT_WEBHOOK_TOKEN"
        return None, "SYNTHDATA_ALERT_WEBHOOK_TOKEN is empty: the API refuses the webhook"
    path = service.alert_webhook_token_file
    existed = bool(service.alert_webhook_token)
    token = ensure_token(path)
    return token, f"{'shared with' if existed else 'created in'} {path}, which the API reads"


def secret_value(name: str, current: Path) -> tuple[str, str]:
    """(value, where it came from) for one PagerDuty or Slack secret."""
    env = os.environ.get(SECRET_ENV[name], "").strip()
    if env:
        return env, f"${SECRET_ENV[name]}"
    if name in SECRET_FALLBACK:  # never kept: it follows the main one when that changes
        main = SECRET_FALLBACK[name]
        value, origin = secret_value(main, current.with_name(main))
        return value, f"as {main} ({origin})"
    if current.is_file() and current.read_text().strip():
        return current.read_text().strip(), "kept"
    return PLACEHOLDERS[name], "placeholder (notifications to it will fail)"


def write_secrets(secret_dir: Path, webhook_token: str | None, log: Callable[[str], None]) -> None:
    """Every secret file Alertmanager reads, mode 0600 in a 0700 folder."""
    secret_dir.mkdir(parents=True, exist_ok=True)
    secret_dir.chmod(0o700)
    for name in SECRET_NAMES:
        path = secret_dir / name
        if name == INCIDENT_WEBHOOK_TOKEN:
            value, origin = webhook_token or PLACEHOLDERS[name], "kept"
        else:
            value, origin = secret_value(name, path)
        path.write_text(value + "\n")
        path.chmod(0o600)
        if origin != "kept":
            log(f"secret {name}: {origin}")
