"""Grafana dashboards: described in Python, built with grafana-foundation-sdk, shipped as JSON.

Three concerns, one concept:

- **specs**: `Dashboard` / `Row` / `Panel` / `Query`, plain data. The built-in dashboards
  are written in `monitoring/grafana/dashboards.py`; a service template
  (`monitoring/grafana/templates/service-dashboard.json`) is the same data as JSON.
- **build and check**: `build()` turns a spec into Grafana's dashboard JSON with the
  foundation SDK; `lint()` refuses panels without a unit, without the `$datasource`
  variable, or with a fixed `rate()` window; `dashboard_expressions()` lists every panel
  query of the committed JSON (what Grafana will actually run).
- **Grafana's HTTP API**: `GrafanaClient` imports (`POST /api/dashboards/db`), fetches
  grafana.com dashboards through Grafana (`GET /api/gnet/dashboards/{id}`) and backs up
  (`GET /api/search?type=dash-db`, `GET /api/dashboards/uid/{uid}`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from synthdata.engine.atomic import create_beside
from synthdata.engine.errors import SynthDataError

DATASOURCE_VARIABLE = "datasource"
DATASOURCE_REF = "${datasource}"
# The uid of the Prometheus data source provisioned by monitoring/grafana/provisioning.
DEFAULT_DATASOURCE_UID = "prometheus"
DASHBOARDS_DIR = Path(__file__).resolve().parents[3] / "monitoring" / "grafana" / "dashboards"

PanelKind = Literal["timeseries", "stat", "gauge", "bargauge", "table"]
# Range functions whose window must follow the dashboard's resolution, never a fixed one.
RANGE_FUNCTIONS = ("rate", "irate", "increase", "delta", "idelta", "deriv")
_WINDOW = re.compile(r"\b(" + "|".join(RANGE_FUNCTIONS) + r")\s*\(")
_GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
    "${__rate_interval}": "1m",
    "${__interval}": "1m",
    "${__range}": "1h",
}


class GrafanaError(SynthDataError):
    """Grafana refused a request, or a dashboard file or template is unusable."""


# -- specs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    """One PromQL target; `legend` is Grafana's legend format (e.g. `{{method}}`)."""

    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Panel:
    """One visualisation. `unit` is a Grafana unit id (`reqps`, `percentunit`, `s`, ...)."""

    title: str
    unit: str
    queries: tuple[Query, ...]
    kind: PanelKind = "timeseries"
    description: str = ""
    width: int = 12
    height: int = 8


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    rows: tuple[Row, ...]
    description: str = ""
    tags: tuple[str, ...] = ("synthdata",)
    refresh: str = "30s"
    time_from: str = "now-6h"
    links: tuple[str, ...] = field(default=())


# -- build --------------------------------------------------------------------------------
def build(spec: Dashboard) -> dict[str, Any]:
    """Grafana's JSON model of `spec` (a plain dict, stable key order after `to_json`)."""
    from grafana_foundation_sdk.builders import (
        bargauge,
        common,
        gauge,
        prometheus,
        stat,
        table,
        timeseries,
    )
    from grafana_foundation_sdk.builders import dashboard as dash
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement
    from grafana_foundation_sdk.models.dashboard import DataSourceRef
    from grafana_foundation_sdk.models.prometheus import PromQueryFormat

    builders: dict[str, Any] = {
        "timeseries": timeseries.Panel,
        "stat": stat.Panel,
        "gauge": gauge.Panel,
        "bargauge": bargauge.Panel,
        "table": table.Panel,
    }
    ref = DataSourceRef(type_val="prometheus", uid=DATASOURCE_REF)
    board = (
        dash.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description or spec.title)
        .tags(list(spec.tags))
        .refresh(spec.refresh)
        .time(spec.time_from, "now")
        .timezone("utc")
        .with_variable(
            dash.DatasourceVariable(DATASOURCE_VARIABLE).label("Data source").type("prometheus")
        )
    )
    panel_id = 0
    for row in spec.rows:
        panel_id += 1
        board.with_row(dash.Row(row.title).id(panel_id))
        for panel in row.panels:
            panel_id += 1
            built = builders[panel.kind]()
            built.id(panel_id).title(panel.title).unit(panel.unit).datasource(ref)
            built.span(panel.width).height(panel.height)
            if panel.description:
                built.description(panel.description)
            if panel.kind == "timeseries":
                built.legend(
                    common.VizLegendOptions()
                    .show_legend(True)
                    .display_mode(LegendDisplayMode.TABLE)
                    .placement(LegendPlacement.BOTTOM)
                    .calcs(["mean", "max", "lastNotNull"])
                )
            elif panel.kind in ("stat", "gauge", "bargauge"):
                built.reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
            for index, query in enumerate(panel.queries):
                target = prometheus.Dataquery().expr(query.expr).ref_id(chr(ord("A") + index))
                target.datasource(ref)
                if query.legend:
                    target.legend_format(query.legend)
                if query.instant or panel.kind == "table":
                    target.instant()
                if panel.kind == "table":
                    target.format(PromQueryFormat.TABLE)
                built.with_target(target)
            board.with_panel(built)
    result: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return result


def to_json(dashboard: Mapping[str, Any]) -> str:
    """The committed form: sorted keys, two-space indent, final newline (diff-friendly)."""
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_dashboards(specs: Iterable[Dashboard], directory: Path) -> list[Path]:
    """Build every spec and write `<uid>.json` into `directory`; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in specs:
        board = build(spec)
        problems = lint(board)
        if problems:
            raise GrafanaError(f"dashboard {spec.uid}: " + "; ".join(problems))
        path = directory / f"{spec.uid}.json"
        _atomic_write(path, to_json(board))
        written.append(path)
    return written


def drift(specs: Iterable[Dashboard], directory: Path) -> list[str]:
    """Files in `directory` that differ from what the specs generate (empty: no drift)."""
    stale = []
    expected = set()
    for spec in specs:
        path = directory / f"{spec.uid}.json"
        expected.add(path.name)
        if not path.exists() or path.read_text() != to_json(build(spec)):
            stale.append(path.name)
    stale += sorted(p.name for p in directory.glob("*.json") if p.name not in expected)
    return stale


# -- checks -------------------------------------------------------------------------------
def iter_panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every non-row panel, including those inside collapsed rows."""
    for panel in dashboard.get("panels") or []:
        if panel.get("type") == "row":
            yield from panel.get("panels") or []
        else:
            yield panel


def panel_expressions(dashboard: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`(panel title, PromQL)` for every target, in panel order."""
    return [
        (panel.get("title", ""), target["expr"])
        for panel in iter_panels(dashboard)
        for target in panel.get("targets") or []
        if target.get("expr")
    ]


def dashboard_expressions(directory: Path = DASHBOARDS_DIR) -> dict[str, list[tuple[str, str]]]:
    """Every panel expression of every committed dashboard, keyed by dashboard uid.

    Expressions contain Grafana variables (`$__rate_interval`); pass each through
    `substitute_variables` before sending it to Prometheus.
    """
    result = {}
    for path in sorted(directory.glob("*.json")):
        board = json.loads(path.read_text())
        result[board.get("uid") or path.stem] = panel_expressions(board)
    return result


def substitute_variables(expr: str, values: Mapping[str, str] | None = None) -> str:
    """`expr` with Grafana's built-in variables replaced (by default 1m windows, 1h range)."""
    table = {**_GRAFANA_VARIABLES, **(values or {})}
    for name in sorted(table, key=len, reverse=True):
        expr = expr.replace(name, table[name])
    return expr


def range_windows(expr: str) -> list[tuple[str, str]]:
    """`(function, window)` for every range-vector function call in `expr`."""
    found = []
    for match in _WINDOW.finditer(expr):
        depth, start = 1, match.end()
        position = start
        while position < len(expr) and depth:
            depth += {"(": 1, ")": -1}.get(expr[position], 0)
            position += 1
        argument = expr[start : position - 1]
        windows = re.findall(r"\[([^\]]+)\]\s*\)?\s*$", argument)
        found.append((match.group(1), windows[-1] if windows else ""))
    return found


def lint(dashboard: Mapping[str, Any]) -> list[str]:
    """What is wrong with a dashboard by our rules; an empty list means nothing."""
    problems = []
    variables = [v.get("name") for v in (dashboard.get("templating") or {}).get("list") or []]
    if DATASOURCE_VARIABLE not in variables:
        problems.append(f"no ${DATASOURCE_VARIABLE} template variable")
    for panel in iter_panels(dashboard):
        title = panel.get("title", "?")
        if not ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit"):
            problems.append(f"panel {title!r} has no unit")
        if (panel.get("datasource") or {}).get("uid") != DATASOURCE_REF:
            problems.append(f"panel {title!r} does not use ${DATASOURCE_VARIABLE}")
        targets = panel.get("targets") or []
        if not targets:
            problems.append(f"panel {title!r} has no query")
        for target in targets:
            if (target.get("datasource") or {}).get("uid") != DATASOURCE_REF:
                problems.append(f"panel {title!r} target {target.get('refId')} lacks $datasource")
            for function, window in range_windows(target.get("expr", "")):
                if window != "$__rate_interval":
                    problems.append(
                        f"panel {title!r}: {function}() window is [{window}], "
                        "not [$__rate_interval]"
                    )
    return problems


# -- templates ----------------------------------------------------------------------------
def load_template(path: Path, services: Sequence[str] = ()) -> list[Dashboard]:
    """Dashboards from a JSON template; one per service, `{service}` filled in everywhere.

    Template shape: `{"uid": "svc-{service}", "title": "...", "services": [...],
    "rows": [{"title": "...", "panels": [{"title", "unit", "type", "expr" | "queries"}]}]}`.
    `services` overrides the template's own list.
    """
    try:
        template = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise GrafanaError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    names = list(services) or list(template.get("services") or [])
    if not names:
        raise GrafanaError(f"{path}: no services (give --service or a 'services' list)")
    try:
        return [_dashboard_from_template(template, name) for name in names]
    except (KeyError, TypeError, ValueError) as exc:
        raise GrafanaError(f"{path}: invalid template ({exc!r})") from None


def _dashboard_from_template(template: Mapping[str, Any], service: str) -> Dashboard:
    def fill(text: str) -> str:
        return text.replace("{service}", service)

    rows = []
    for row in template["rows"]:
        panels = []
        for panel in row["panels"]:
            raw = panel.get("queries") or [
                {"expr": panel["expr"], "legend": panel.get("legend", "")}
            ]
            queries = tuple(
                Query(fill(q["expr"]), fill(q.get("legend", "")), bool(q.get("instant", False)))
                for q in raw
            )
            panels.append(
                Panel(
                    title=fill(panel["title"]),
                    unit=panel["unit"],
                    queries=queries,
                    kind=panel.get("type", "timeseries"),
                    description=fill(panel.get("description", "")),
                    width=int(panel.get("width", 12)),
                    height=int(panel.get("height", 8)),
                )
            )
        rows.append(Row(fill(row["title"]), tuple(panels)))
    return Dashboard(
        uid=fill(template["uid"]),
        title=fill(template["title"]),
        rows=tuple(rows),
        description=fill(template.get("description", "")),
        tags=tuple(template.get("tags", ["synthdata"])),
    )


# -- files --------------------------------------------------------------------------------
def read_dashboard_file(path: Path) -> list[dict[str, Any]]:
    """The dashboards in a file: a bare dashboard, `{"dashboard": ...}`, or a backup."""
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise GrafanaError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("dashboards"), list):
        boards = [entry.get("dashboard", entry) for entry in data["dashboards"]]
    elif isinstance(data, dict) and isinstance(data.get("dashboard"), dict):
        boards = [data["dashboard"]]
    else:
        boards = [data]
    for board in boards:
        if not isinstance(board, dict) or not board.get("title"):
            raise GrafanaError(f"{path}: not a Grafana dashboard (no title)")
    return boards


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = create_beside(path)  # mode 0666 less the umask, as a plain write gives
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# -- Grafana's HTTP API ---------------------------------------------------------------------
class GrafanaClient:
    """The few Grafana HTTP API calls the runbook's dashboard scripts need."""

    PAGE = 1000

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    @classmethod
    def from_env(cls, url: str | None = None, token: str | None = None) -> GrafanaClient:
        """A client for `SYNTHDATA_GRAFANA_URL` (else the deprecated `GRAFANA_URL`) and
        `GRAFANA_TOKEN`; explicit arguments win."""
        url = url or os.environ.get("SYNTHDATA_GRAFANA_URL") or os.environ.get("GRAFANA_URL")
        if not url:
            raise GrafanaError(
                "SYNTHDATA_GRAFANA_URL is not set (e.g. https://grafana.inferloop.com)"
            )
        return cls(url, token or os.environ.get("GRAFANA_TOKEN") or None)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GrafanaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise GrafanaError(f"cannot reach Grafana at {self.url}: {exc}") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("message") or response.text
            except ValueError:
                detail = response.text
            raise GrafanaError(
                f"Grafana {method} {path}: HTTP {response.status_code}: {detail}".strip()
            )
        return response.json()

    def import_dashboard(
        self,
        dashboard: Mapping[str, Any],
        *,
        folder_uid: str | None = None,
        overwrite: bool = True,
        message: str = "",
    ) -> dict[str, Any]:
        """Create or replace a dashboard (matched by uid, else title); Grafana's reply."""
        board = {key: value for key, value in dashboard.items() if key != "__inputs"}
        board["id"] = None  # ids are per-instance; the uid is what identifies a dashboard
        payload: dict[str, Any] = {"dashboard": board, "overwrite": overwrite}
        if folder_uid:
            payload["folderUid"] = folder_uid
        if message:
            payload["message"] = message
        result: dict[str, Any] = self._call("POST", "/api/dashboards/db", json=payload)
        return result

    def gnet_dashboard(self, gnet_id: int) -> dict[str, Any]:
        """The latest revision of grafana.com dashboard `gnet_id`, fetched by Grafana."""
        reply = self._call("GET", f"/api/gnet/dashboards/{gnet_id}")
        board = reply.get("json") if isinstance(reply, dict) else None
        if not isinstance(board, dict):
            raise GrafanaError(f"grafana.com dashboard {gnet_id}: reply has no 'json' model")
        return board

    def search_dashboards(self) -> list[dict[str, Any]]:
        """Every dashboard's search hit (uid, title, folder), across all pages."""
        hits: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self._call(
                "GET", "/api/search", params={"type": "dash-db", "limit": self.PAGE, "page": page}
            )
            hits += batch
            if len(batch) < self.PAGE:
                return hits
            page += 1

    def get_dashboard(self, uid: str) -> dict[str, Any]:
        """`{"dashboard": ..., "meta": ...}` for one uid."""
        result: dict[str, Any] = self._call("GET", f"/api/dashboards/uid/{uid}")
        return result


def resolve_gnet_inputs(dashboard: Mapping[str, Any], datasource_uid: str) -> dict[str, Any]:
    """A grafana.com dashboard with its `${DS_...}` data source inputs bound to one uid.

    Exported dashboards name their data source through `__inputs`; `/api/dashboards/db`
    does not resolve them, so they are filled in here before the import.
    """
    text = json.dumps(dashboard)
    for item in dashboard.get("__inputs") or []:
        if item.get("type") == "datasource" and item.get("name"):
            text = text.replace("${" + item["name"] + "}", datasource_uid)
    board: dict[str, Any] = json.loads(text)
    board.pop("__inputs", None)
    board.pop("__requires", None)
    return board


def backup(client: GrafanaClient, output: Path) -> int:
    """Write every dashboard (full model and folder) to `output`; return how many."""
    entries = []
    for hit in client.search_dashboards():
        full = client.get_dashboard(hit["uid"])
        meta = full.get("meta") or {}
        entries.append(
            {
                "uid": hit["uid"],
                "title": hit.get("title", ""),
                "folderUid": hit.get("folderUid") or meta.get("folderUid") or "",
                "folderTitle": hit.get("folderTitle") or meta.get("folderTitle") or "",
                "dashboard": full["dashboard"],
            }
        )
    document = {
        "grafana": client.url,
        "exportedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "dashboards": entries,
    }
    _atomic_write(output, json.dumps(document, indent=2, sort_keys=True) + "\n")
    return len(entries)
