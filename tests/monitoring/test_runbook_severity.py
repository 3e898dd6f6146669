"""The runbook's "First response. SEV-N" for an alert is the severity the incident
policy opens for that alert's labels (the rule file's `severity`).

Only unconditional claims are held to it ("SEV-1.", "Treat as SEV-1.", "SEV-1
checklist", "SEV-2 (why)"); "SEV-1 if the API fails with it" or "SEV-2 at least" describe what other
alerts joining the incident do.
"""

from __future__ import annotations

import re

import yaml

from synthdata.service.incidents.policy import alert_severity
from tests.fixtures.monitoring import ALERTS_DOC, RULES_DIR

CLAIM = re.compile(r"\*\*First response\.\*\* (?:Treat as )?(SEV-\d)(?:\.| checklist| \()")


def _rule_labels() -> dict[str, dict[str, str]]:
    labels: dict[str, dict[str, str]] = {}
    for path in sorted(RULES_DIR.glob("*.yml")):
        if path.stem.endswith("_tests"):
            continue
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if "alert" in rule:
                    labels[rule["alert"]] = {"alertname": rule["alert"], **rule.get("labels", {})}
    return labels


def _runbook_claims() -> dict[str, str]:
    claims: dict[str, str] = {}
    for section in re.split(r"^### ", ALERTS_DOC.read_text(), flags=re.MULTILINE)[1:]:
        title, _, body = section.partition("\n")
        found = CLAIM.search(body)
        if found:
            claims[title.strip()] = found.group(1)
    return claims


def test_runbook_first_response_severity_is_what_the_policy_opens() -> None:
    rules = _rule_labels()
    claims = _runbook_claims()
    assert {"APIDown", "DDoSAttack"} <= claims.keys()  # the parser still finds them
    wrong = {
        alert: (claimed, str(alert_severity(rules[alert])))
        for alert, claimed in claims.items()
        if alert in rules and str(alert_severity(rules[alert])) != claimed
    }
    assert wrong == {}, "runbook says (first) but the policy opens (second)"
