"""Reads the schemathesis NDJSON event streams of each role and writes the fuzzing summary.

    python summarize.py RESULTS_DIR ROLE [ROLE ...]

RESULTS_DIR/<role>/events.ndjson is schemathesis' `--report ndjson` output and
RESULTS_DIR/<role>/exit-code its exit status. Writes RESULTS_DIR/summary.json, prints a table,
and exits 1 when any role failed (a check failure, an error, a 5xx, or a non-zero exit).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path


def summarize_role(directory: Path) -> dict:
    requests = 0
    statuses: Counter[str] = Counter()
    operations: set[str] = set()
    failed_checks: Counter[str] = Counter()
    failures: list[dict] = []
    errors: list[str] = []
    seed = None
    events = directory / "events.ndjson"
    if events.exists():
        with events.open(encoding="utf-8") as handle:
            for line in handle:
                event = json.loads(line)
                if "Initialize" in event:
                    seed = event["Initialize"].get("seed")
                elif "NonFatalError" in event:
                    info = event["NonFatalError"]
                    errors.append(f"{info.get('label')}: {str(info.get('info', info))[:300]}")
                elif "FatalError" in event:
                    errors.append(f"fatal: {str(event['FatalError'])[:300]}")
                elif "ScenarioFinished" in event:
                    recorder = event["ScenarioFinished"]["recorder"]
                    for case_id, interaction in recorder.get("interactions", {}).items():
                        requests += 1
                        request = interaction["request"]
                        response = interaction.get("response")
                        status = str(response["status_code"]) if response else "no response"
                        statuses[status] += 1
                        path = request["uri"].split("//", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
                        operations.add(f"{request['method']} /{path}")
                    for case_id, checks in recorder.get("checks", {}).items():
                        for check in checks:
                            if check.get("status") == "failure":
                                failed_checks[check["name"]] += 1
                                if len(failures) < 20:
                                    case = recorder.get("cases", {}).get(case_id, {}).get("value", {})
                                    failures.append(
                                        {
                                            "check": check["name"],
                                            "method": case.get("method"),
                                            "path": case.get("path"),
                                            "failure": str(check.get("failure_info") or check)[:600],
                                        }
                                    )
    exit_file = directory / "exit-code"
    exit_code = int(exit_file.read_text().strip()) if exit_file.exists() else None
    server_errors = sum(n for code, n in statuses.items() if code.startswith("5"))
    return {
        "requests": requests,
        "server_errors": server_errors,
        "check_failures": sum(failed_checks.values()),
        "failed_checks": dict(failed_checks),
        "errors": errors,
        "statuses": dict(sorted(statuses.items())),
        "exit_code": exit_code,
        "seed": seed,
        "failure_samples": failures,
    }


def main() -> int:
    results = Path(sys.argv[1])
    roles = sys.argv[2:]
    per_role = {role: summarize_role(results / role) for role in roles}
    total = sum(r["requests"] for r in per_role.values())
    server_errors = sum(r["server_errors"] for r in per_role.values())
    check_failures = sum(r["check_failures"] for r in per_role.values())
    error_count = sum(len(r["errors"]) for r in per_role.values())
    failed_roles = [
        role
        for role, r in per_role.items()
        if r["exit_code"] != 0 or r["server_errors"] or r["check_failures"] or r["errors"]
    ]
    minimum = int(os.environ.get("FUZZ_MIN_REQUESTS", "2000"))
    summary = {
        "tool": "schemathesis",
        "checks": [
            "not_a_server_error",
            "status_code_conformance",
            "content_type_conformance",
            "response_schema_conformance",
            "response_headers_conformance",
        ],
        "total_requests": total,
        "minimum_requests": minimum,
        "server_errors": server_errors,
        "check_failures": check_failures,
        "errors": error_count,
        "passed": not failed_roles and total >= minimum,
        "roles": per_role,
    }
    (results / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"{'role':<10} {'requests':>9} {'5xx':>5} {'check failures':>15} {'errors':>7}  statuses")
    for role, r in per_role.items():
        statuses = " ".join(f"{code}:{n}" for code, n in r["statuses"].items())
        print(
            f"{role:<10} {r['requests']:>9} {r['server_errors']:>5} {r['check_failures']:>15} "
            f"{len(r['errors']):>7}  {statuses}"
        )
    print(f"{'total':<10} {total:>9} {server_errors:>5} {check_failures:>15} {error_count:>7}")
    print(f"summary: {results / 'summary.json'}")
    if failed_roles:
        print(f"FUZZ FAILED for: {', '.join(failed_roles)}")
        return 1
    if total < minimum:
        print(f"FUZZ FAILED: only {total} requests, fewer than the {minimum} required")
        return 1
    print(f"fuzz: {total} requests, 0 server errors, 0 conformance failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
