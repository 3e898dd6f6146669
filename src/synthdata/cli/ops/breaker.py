"""`synthdata ops enable-circuit-breaker | disable-circuit-breaker | circuit-breaker-status`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from synthdata.cli.console import console
from synthdata.cli.ops.app import ops_app, run_in_session, settings_from_env
from synthdata.ops.kubectl import API_SERVICE

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ServiceOption = Annotated[str, typer.Option("--service", help="The service whose breaker to set.")]


def _set_breaker(service: str, enabled: bool, reason: str, retry_after: int | None) -> None:
    from synthdata.service.admin.service import set_breaker

    settings = settings_from_env()

    def action(session: Session) -> None:
        set_breaker(
            session,
            service,
            enabled=enabled,
            reason=reason,
            retry_after=retry_after or settings.circuit_breaker_retry_after,
            actor="cli",
        )

    run_in_session(action)
    state = "on: new jobs are refused with 503" if enabled else "off: new jobs are accepted"
    console.print(f"circuit breaker for {service} is {state}")


@ops_app.command("enable-circuit-breaker")
def enable_circuit_breaker(
    service: ServiceOption = API_SERVICE,
    reason: Annotated[str, typer.Option(help="Shown to callers in the 503.")] = "",
    retry_after: Annotated[
        int | None, typer.Option(min=1, help="Seconds callers are told to wait.")
    ] = None,
) -> None:
    """Refuse new jobs on every replica (reads keep working) until disabled."""
    _set_breaker(service, True, reason, retry_after)


@ops_app.command("disable-circuit-breaker")
def disable_circuit_breaker(service: ServiceOption = API_SERVICE) -> None:
    """Accept new jobs again."""
    _set_breaker(service, False, "", None)


@ops_app.command("circuit-breaker-status")
def circuit_breaker_status(service: ServiceOption = API_SERVICE) -> None:
    """Print whether the breaker is on."""
    from synthdata.service.admin.service import get_breaker

    settings = settings_from_env()
    state = run_in_session(lambda s: get_breaker(s, service, settings.circuit_breaker_retry_after))
    console.print(
        f"{service}: {'on' if state.enabled else 'off'}"
        + (f" ({state.reason})" if state.reason else "")
    )
