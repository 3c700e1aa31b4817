"""Schemathesis hooks: mix the seeded names and ids into the generated path parameters.

Random model names, version numbers, artifact ids and approval ids almost never exist, so
without help every operation on one resource ends in a 404 and the code behind it is never
fuzzed. Half of the generated cases keep what Hypothesis drew; the other half have their path
parameters replaced by those of a resource scripts/fuzz/seed.ts created (FUZZ_SEED_FILE names its
JSON file), while the query and the body stay generated.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

with open(os.environ["FUZZ_SEED_FILE"], encoding="utf-8") as handle:
    SEED = json.load(handle)

FILES = ["model.pkl", "config.json", "metrics.json", "requirements.txt", "preprocessor.pkl", "model.pt"]


def _substitutes(keys: set[str]) -> list[dict[str, Any]]:
    if keys == {"name"}:
        return [{"name": m["name"]} for m in SEED["models"]]
    if keys == {"name", "version"}:
        return [{"name": m["name"], "version": v} for m in SEED["models"] for v in m["versions"]]
    if keys == {"artifact_id"}:
        return [{"artifact_id": a} for a in SEED["artifacts"]]
    if keys == {"artifact_id", "file"}:
        return [{"artifact_id": a, "file": f} for a in SEED["artifacts"] for f in FILES]
    if keys == {"id"}:
        return [{"id": a} for a in SEED["approvals"]]
    return []


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    substitutes = _substitutes(set(path_parameters))
    if not substitutes:
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.sampled_from(substitutes).map(lambda s: {**path_parameters, **s}),
    )


def _own_tenant(query: dict[str, Any]) -> Any:
    """Most generated `tenant_id`s name another tenant: 403 for all but an admin. Keep a third."""
    if "tenant_id" not in query:
        return st.just(query)
    rest = {k: v for k, v in query.items() if k != "tenant_id"}
    return st.one_of(st.just(query), st.just(rest), st.just({**query, "tenant_id": SEED["tenant"]}))


@schemathesis.hook
def flatmap_query(context: Any, query: Any) -> Any:
    if not isinstance(query, dict):
        return st.just(query)
    operation = getattr(context, "operation", None)
    if operation is not None and operation.path.endswith("/compare"):
        # The comparison's `versions` list: half of the time versions that exist.
        return st.one_of(
            st.just(query), st.sampled_from(["1,2", "1,2,3", "2,3"]).map(lambda v: {**query, "versions": v})
        ).flatmap(_own_tenant)
    return _own_tenant(query)


@schemathesis.hook
def flatmap_body(context: Any, body: Any) -> Any:
    """Registrations: half of the time an uploaded artifact (unregistered until one succeeds)."""
    operation = getattr(context, "operation", None)
    if (
        not isinstance(body, dict)
        or operation is None
        or operation.method.upper() != "POST"
        or not operation.path.endswith("/models")
    ):
        return st.just(body)
    return st.one_of(
        st.just(body),
        st.sampled_from(SEED["unregistered_artifacts"]).map(lambda a: {**body, "artifact_id": a}),
    )
