"""The abuse benchmark: issue 13's resource attacks (items 1-7) against the real service.

    python -m benchmarks.abuse                         # every attack, about 10 minutes
    python -m benchmarks.abuse --attacks header,floods # some of them

Two tenants share one embedded-default server (`synthdata serve`: SQLite, files and
the local job queue under a scratch `SYNTHDATA_HOME`): an attacker, and a bystander
that calls `GET /api/v1/me` 20 times a second throughout (abuse_bystander.py). Each
attack runs on a fresh server started from the same template home (same customers
and keys), so that no attack's left-overs (a fit still running, a lockout) spill into
the next. Per attack: idle first (the bystander alone), then the attack's phases;
for each phase the server's peak RSS (process and children, every 50 ms), the
bystander's p50/p95 against its idle p95 (target: p95 under 2x idle, and no failed
bystander request), and the attacker's statuses; after the attack, the bytes left in
the data directory that no row refers to. The attacker sends from 127.0.0.2, the
bystander from 127.0.0.3, so per-source limits can tell them apart.

The server runs with the issue's 50 MB upload limit and an alert webhook token;
everything else is the default. Results: `results/abuse.json` and `results/abuse.md`.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.abuse_attacks import ATTACKS, Phase, Phases
from benchmarks.abuse_bystander import read_records
from benchmarks.abuse_measure import RssSampler, disk_left, disk_state, latency_in
from benchmarks.abuse_payloads import Payloads
from benchmarks.abuse_report import judge_all, render, stack_versions
from benchmarks.abuse_target import Metrics, Target, discover_metrics, metrics_env
from benchmarks.engine_report import machine_info
from benchmarks.service_processes import base_env, cli, create_customer_key, serve

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).parent / "results"
UPLOAD_LIMIT = 50 * 1024**2
ATTACKER_SOURCE, BYSTANDER_SOURCE = "127.0.0.2", "127.0.0.3"


def server_env(home: Path, webhook_token: str, metrics: Metrics) -> dict[str, str]:
    """The embedded default under `home`, with the issue's upload limit, a webhook token,
    whatever the metrics need, and a TMPDIR of its own (to find temporary files left)."""
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return base_env(
        home,
        SYNTHDATA_HOME=str(home),
        SYNTHDATA_MAX_UPLOAD_BYTES=str(UPLOAD_LIMIT),
        SYNTHDATA_ALERT_WEBHOOK_TOKEN=webhook_token,
        TMPDIR=str(home / "tmp"),
        **metrics.env,
    )


def make_template(scratch: Path, webhook_token: str) -> dict[str, Any]:
    """A home with the two tenants in its database (the bystander has two keys, used in
    turn: 20 requests a second is over one key's default limit of 1200 a minute)."""
    home = scratch / "template"
    env = server_env(home, webhook_token, Metrics())
    attacker, attacker_key = create_customer_key(env, "attacker")
    bystander, key1 = create_customer_key(env, "bystander")
    key2 = cli(env, "admin", "create-key", bystander)
    return {
        "home": home,
        "attacker": attacker,
        "attacker_key": attacker_key,
        "bystander": bystander,
        "bystander_keys": [key1, key2],
    }


def _start_bystander(url: str, keys: list[str], rate: float, out: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "benchmarks.abuse_bystander", "--url", url]
    args += [arg for key in keys for arg in ("--key", key)]
    args += ["--source", BYSTANDER_SOURCE, "--rate", str(rate), "--out", str(out)]
    return subprocess.Popen(args, cwd=ROOT, start_new_session=True)


def _stop(popen: subprocess.Popen[bytes]) -> None:
    popen.send_signal(signal.SIGTERM)
    try:
        popen.wait(15)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(5)


def _phase_records(
    phases: list[Phase], rss: RssSampler, records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each phase's numbers, over its window (the phase and, when it was short, the
    quiet moment after it)."""
    return [
        {
            "name": phase.name,
            "seconds": round(phase.end - phase.start, 2),
            "attacker": phase.statuses,
            "peak_rss_bytes": rss.peak(phase.start, phase.window_end),
            "bystander": latency_in(records, phase.start, phase.window_end),
        }
        for phase in phases
    ]


def run_attack(
    name: str,
    scratch: Path,
    template: dict[str, Any],
    args: argparse.Namespace,
    payloads: Payloads,
    webhook_token: str,
) -> dict[str, Any]:
    """One attack on a fresh server: idle, the attack's phases, what it left."""
    title, attack = ATTACKS[name]
    print(f"[{time.strftime('%H:%M:%S')}] {title}", flush=True)
    home = scratch / name
    shutil.copytree(template["home"], home)
    metrics = metrics_env(home)
    env = server_env(home, webhook_token, metrics)
    data_dir, db_path = home / "data", home / "synthdata.db"
    record: dict[str, Any] = {"name": name, "title": title}
    with serve(f"{name}-serve", env, home / "logs") as proc:
        target = Target(
            api_url=proc.url,
            attacker_key=template["attacker_key"],
            attacker_id=template["attacker"],
            bystander_id=template["bystander"],
            attacker_source=ATTACKER_SOURCE,
            home=home,
            data_dir=data_dir,
            webhook_token=webhook_token,
            metrics=discover_metrics(metrics, proc.url),
            scratch=scratch,
        )
        before = disk_state(data_dir, db_path, home / "tmp")
        records_path = home / "bystander.jsonl"
        bystander = _start_bystander(proc.url, template["bystander_keys"], args.rate, records_path)
        phases = Phases(target)
        try:
            with RssSampler(proc.popen.pid) as rss:
                time.sleep(args.warmup)
                idle_start = time.monotonic()
                time.sleep(args.idle)
                idle = (idle_start, time.monotonic())
                try:
                    attack(target, phases, payloads)
                except Exception as exc:  # a harness failure is reported, the run goes on
                    target.notes.append(f"the attack stopped early: {exc!r}")
                time.sleep(1.0)  # memory and latency a moment after the attack count too
                record["server_alive"] = proc.popen.poll() is None
                if record["server_alive"] and target.jobs:
                    target.settle()
                    time.sleep(2.0)  # cleanup on a final state may run just after it
        finally:
            _stop(bystander)
        record["disk"] = disk_left(before, disk_state(data_dir, db_path, home / "tmp"))
    if not record["server_alive"]:
        target.notes.append(f"the server died (exit {proc.popen.returncode}): {proc.log_tail(3)}")
    records = read_records(records_path)
    record["idle"] = latency_in(records, *idle)
    record["idle"]["rss_bytes"] = rss.at(idle[1])
    record["phases"] = _phase_records(phases.done, rss, records)
    record["attacker"] = target.statuses
    record["notes"] = target.notes
    record["facts"] = target.facts
    record["metrics"] = {"mode": target.metrics.mode, "env": sorted(target.metrics.env)}
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attacks", default=",".join(ATTACKS), help="comma-separated")
    parser.add_argument("--rate", type=float, default=20.0, help="bystander requests per second")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before idle")
    parser.add_argument("--idle", type=float, default=8.0, help="idle seconds measured")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.attacks.split(",") if n.strip()]
    unknown = [n for n in names if n not in ATTACKS]
    if unknown:
        parser.error(f"unknown attacks {unknown}; choose from {', '.join(ATTACKS)}")

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine_info(),
        "stack": stack_versions(),
        "settings": {
            "upload_limit_bytes": UPLOAD_LIMIT,
            "bystander_rate": args.rate,
            "idle_s": args.idle,
            "attacker": ATTACKER_SOURCE,
            "bystander": BYSTANDER_SOURCE,
        },
    }
    scratch = Path(tempfile.mkdtemp(prefix="synthdata-abuse-"))
    started = time.monotonic()
    try:
        webhook_token = secrets.token_urlsafe(24)
        template = make_template(scratch, webhook_token)
        payloads = Payloads(scratch / "payloads")
        results["attacks"] = []
        for name in names:
            try:
                record = run_attack(name, scratch, template, args, payloads, webhook_token)
            except RuntimeError as exc:  # the server did not start: say so, go on
                record = {"name": name, "title": ATTACKS[name][0], "error": str(exc)[-600:]}
            results["attacks"].append(record)
        judge_all(results["attacks"])
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"scratch kept: {scratch}")
    results["seconds"] = round(time.monotonic() - started, 1)
    results["load_average_end"] = machine_info()["load_average"]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "abuse.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.out_dir / "abuse.md").write_text(render(results))
    print((args.out_dir / "abuse.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
