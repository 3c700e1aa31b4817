#!/usr/bin/env python3
"""Register a trained model and ask for it to go to production: a Model Registry client.

What a data scientist does after training, with `requests` only:

1. upload the model file (and its metrics.json) as an artifact, checking the SHA-256 the
   service computed against the local file;
2. register the artifact as the next version of a model;
3. request the production stage, which opens an approval request (202);
4. poll that request until an approver (another person) decides it, or a timeout passes.

Usage (the service running with `npm start`; a token from `npm run -s token`)::

    pip install -r examples/python/requirements.txt
    export REGISTRY_TOKEN=$(npm run -s token -- --sub alice --tenant acme-corp --roles editor)
    python examples/python/registry_client.py --name churn-predictor \\
        --model model.pkl --metrics metrics.json --comment "0.91 F1 on holdout"

Then an approver approves it (Swagger UI, the console or curl) while this waits. The exit code
says how it ended: 0 approved and in production, 3 rejected or cancelled, 4 still undecided at
the timeout, 1 any error (the service's answer is printed), 2 a wrong command line.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import requests

API_PREFIX = "/api/v1/ml/registry"
JsonObject = dict[str, Any]


class RegistryError(Exception):
    """An error answer of the service: its HTTP status, stable `code` and `message`."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class RegistryClient:
    """A thin client of the Model Registry's REST API for one bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        """`base_url` is the service's root (http://localhost:3000); `timeout` is per request."""
        self.api = base_url.rstrip("/") + API_PREFIX
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Sends one request; raises RegistryError on an HTTP error, with the service's reason."""
        response = self.session.request(method, self.api + path, timeout=self.timeout, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            retry_after = response.headers.get("Retry-After")
            raise RegistryError(
                response.status_code,
                str(body.get("code", "HTTP_ERROR")),
                str(body.get("message", response.reason)),
                float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> JsonObject:
        """Sends one request and returns its JSON body (an object)."""
        body: JsonObject = self._call(method, path, **kwargs).json()
        return body

    def upload_artifact(self, model: Path, metrics: Path | None = None) -> JsonObject:
        """Uploads a model file (and metrics.json): `{artifact_id, files: [{name, size, sha256}]}`.

        The service stores the model file under its format's name (model.pkl, model.pt,
        model.onnx, ...). `requests` builds a multipart body in memory: fine for a model of a
        few hundred MB; for bigger ones, stream it (requests-toolbelt's MultipartEncoder).
        """
        with model.open("rb") as model_file:
            files: dict[str, Any] = {"model": (model.name, model_file)}
            if metrics is None:
                return self._json("POST", "/artifacts", files=files)
            with metrics.open("rb") as metrics_file:
                files["metrics"] = ("metrics.json", metrics_file, "application/json")
                return self._json("POST", "/artifacts", files=files)

    def register(self, name: str, artifact_id: str, description: str = "") -> JsonObject:
        """Registers the artifact as the model's next version (version 1 for a new model)."""
        body = {"name": name, "artifact_id": artifact_id, "description": description}
        return self._json("POST", "/models", json=body)

    def request_production(self, name: str, version: int, comment: str | None = None) -> JsonObject:
        """Asks for the production stage: returns the approval request (status "pending")."""
        body: JsonObject = {"stage": "production"}
        if comment:
            body["comment"] = comment
        response = self._call("POST", f"/models/{name}/versions/{version}/stage", json=body)
        if response.status_code != 202:
            raise RuntimeError(f"expected 202 and an approval request, got {response.status_code}")
        approval: JsonObject = response.json()["approval"]
        return approval

    def get_approval(self, approval_id: str) -> JsonObject:
        """One approval request, as it stands now."""
        return self._json("GET", f"/approvals/{approval_id}")

    def get_version(self, name: str, version: int) -> JsonObject:
        """One version of a model: stage, metrics, parameters, artifact_uri, ..."""
        return self._json("GET", f"/models/{name}/versions/{version}")

    def wait_for_decision(
        self, approval_id: str, timeout: float = 600.0, interval: float = 2.0
    ) -> JsonObject:
        """Polls the approval request until it is decided and, if approved, applied.

        Returns the approval once it is rejected or cancelled, or approved with its transition
        applied (`apply_state` "applied") or failed. Raises TimeoutError if it is still open
        after `timeout` seconds. A 503 (a backend briefly down) is waited out, not raised.
        """
        deadline = time.monotonic() + timeout
        while True:
            pause = interval
            try:
                approval = self.get_approval(approval_id)
                if approval["status"] != "pending" and approval["apply_state"] != "pending":
                    return approval
            except RegistryError as error:
                if error.status != 503:
                    raise
                pause = max(interval, error.retry_after or 0)
            if time.monotonic() + pause > deadline:
                raise TimeoutError(f"approval {approval_id} is still undecided after {timeout:g} s")
            time.sleep(pause)


def sha256_of(path: Path) -> str:
    """The lowercase hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; the URL and the token may also come from the environment."""
    parser = argparse.ArgumentParser(
        description="Upload a model, register it and request production; wait for the decision."
    )
    parser.add_argument("--name", required=True, help="the model's name, e.g. churn-predictor")
    parser.add_argument(
        "--model", required=True, type=Path, help="the model file (.pkl, .pt, .onnx, ...)"
    )
    parser.add_argument("--metrics", type=Path, help="metrics.json: a flat object of numbers")
    parser.add_argument("--comment", help="why this version should go to production")
    parser.add_argument(
        "--url",
        default=os.environ.get("REGISTRY_URL", "http://localhost:3000"),
        help="the service's root URL (env REGISTRY_URL; default http://localhost:3000)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("REGISTRY_TOKEN"),
        help="an editor's bearer token (env REGISTRY_TOKEN)",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for a decision (default 600)"
    )
    parser.add_argument(
        "--poll-interval", type=float, default=2.0, help="seconds between polls (default 2)"
    )
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("a token is needed: --token or REGISTRY_TOKEN")
    return args


def main(argv: list[str] | None = None) -> int:
    """Runs the workflow and prints each step; returns the exit code."""
    args = parse_args(argv)
    client = RegistryClient(args.url, args.token)
    try:
        artifact = client.upload_artifact(args.model, args.metrics)
        stored = next(f for f in artifact["files"] if f["name"].startswith("model."))
        if stored["sha256"] != sha256_of(args.model):
            print(f"the service stored {stored['name']} with another SHA-256", file=sys.stderr)
            return 1
        print(
            f"uploaded {args.model} as {artifact['artifact_id']} "
            f"({stored['size']} bytes, sha256 {stored['sha256']})"
        )

        version = client.register(args.name, artifact["artifact_id"])
        print(
            f"registered {version['name']} version {version['version']} "
            f"(stage {version['stage']}, metrics {version['metrics']})"
        )

        approval = client.request_production(args.name, version["version"], args.comment)
        print(
            f"requested production: approval {approval['id']} is {approval['status']}; "
            f"waiting up to {args.timeout:g} s for an approver"
        )

        decided = client.wait_for_decision(approval["id"], args.timeout, args.poll_interval)
    except TimeoutError as error:
        print(error, file=sys.stderr)
        return 4
    except (RegistryError, requests.RequestException, OSError) as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1

    by = decided["decided_by"] or "?"
    note = f": {decided['decision_comment']}" if decided.get("decision_comment") else ""
    print(f"approval {decided['id']} was {decided['status']} by {by}{note}")
    if decided["status"] != "approved":
        return 3
    if decided["apply_state"] != "applied":
        print(f"but it was not applied (apply_state {decided['apply_state']})", file=sys.stderr)
        return 1
    now = client.get_version(args.name, version["version"])
    print(f"{now['name']} version {now['version']} is now in stage {now['stage']}")
    return 0 if now["stage"] == "production" else 1


if __name__ == "__main__":
    sys.exit(main())
