"""MLflow clients load what the service registered (run by test/mlflow-serving.int-spec.ts).

Saves a small scikit-learn model with mlflow.sklearn.save_model, uploads its files through
the service's HTTP API, registers it, sets @champion, requests production and has a second
person approve it, then loads it back with MLflow's own client from the real MLflow server
and object store, by alias and by stage, and checks that it predicts what the trained model
does. Prints one `ok: ...` line per check; any failure raises (exit code 1).

Environment: REGISTRY_URL (the API base, .../api/v1/ml/registry), REGISTRY_EDITOR_TOKEN,
REGISTRY_APPROVER_TOKEN, MODEL_NAME (the service's name), MLFLOW_MODEL_NAME (MLflow's:
`<tenant>~<model>`, with ML_REGISTRY_NAMESPACE `<namespace>~<tenant>~<model>`), and MLflow's
own MLFLOW_TRACKING_URI, MLFLOW_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
"""

import os
import tempfile

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import requests
from sklearn.linear_model import LogisticRegression

API = os.environ["REGISTRY_URL"].rstrip("/")
EDITOR = {"Authorization": f"Bearer {os.environ['REGISTRY_EDITOR_TOKEN']}"}
APPROVER = {"Authorization": f"Bearer {os.environ['REGISTRY_APPROVER_TOKEN']}"}
MODEL = os.environ["MODEL_NAME"]
MLFLOW_MODEL = os.environ["MLFLOW_MODEL_NAME"]

# The upload's parts, by the file mlflow.sklearn.save_model writes for each.
PARTS = {
    "model": "model.pkl",
    "mlmodel": "MLmodel",
    "conda": "conda.yaml",
    "python_env": "python_env.yaml",
    "requirements": "requirements.txt",
}


def call(method, path, headers, expected, **kwargs):
    res = requests.request(method, f"{API}{path}", headers=headers, timeout=60, **kwargs)
    if res.status_code != expected:
        raise AssertionError(f"{method} {path}: {res.status_code} {res.text}")
    return res.json() if res.content else None


def main():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    trained = LogisticRegression().fit(x, y)
    probe = x[:20]
    expected = trained.predict(probe)

    with tempfile.TemporaryDirectory() as work:
        folder = os.path.join(work, "model")
        # model.pkl, a file name the service stores as is (MLflow 3.17 defaults to skops).
        mlflow.sklearn.save_model(trained, folder, serialization_format="cloudpickle")
        files = {}
        try:
            for part, name in PARTS.items():
                files[part] = (name, open(os.path.join(folder, name), "rb"))
            uploaded = call("POST", "/artifacts", EDITOR, 201, files=files)
        finally:
            for _, handle in files.values():
                handle.close()
    stored = sorted(f["name"] for f in uploaded["files"])
    assert stored == sorted(PARTS.values()), stored
    print(f"ok: uploaded the MLflow model's files ({', '.join(stored)})")

    version = call(
        "POST",
        "/models",
        EDITOR,
        201,
        json={"name": MODEL, "artifact_id": uploaded["artifact_id"]},
    )["version"]
    print(f"ok: registered {MODEL} version {version}")

    # @champion is a protected alias (PROTECTED_ALIASES' default): setting it is an approval
    # request, decided by a second person like production.
    asked_alias = call(
        "PUT", f"/models/{MODEL}/aliases/champion", EDITOR, 202, json={"version": version}
    )
    assert asked_alias["approval"]["target_alias"] == "champion", asked_alias
    aliased = call(
        "POST", f"/approvals/{asked_alias['approval']['id']}/approve", APPROVER, 200, json={}
    )["version"]
    assert aliased["aliases"] == ["champion"], aliased
    print("ok: @champion set, approved by a second person")

    asked = call(
        "POST",
        f"/models/{MODEL}/versions/{version}/stage",
        EDITOR,
        202,
        json={"stage": "production", "comment": "serving test"},
    )
    decided = call("POST", f"/approvals/{asked['approval']['id']}/approve", APPROVER, 200, json={})
    assert decided["version"]["stage"] == "production", decided
    print("ok: production approved by a second person")

    for uri in (f"models:/{MLFLOW_MODEL}@champion", f"models:/{MLFLOW_MODEL}/Production"):
        loaded = mlflow.pyfunc.load_model(uri)
        predicted = loaded.predict(probe)
        assert np.array_equal(np.asarray(predicted), expected), (uri, predicted, expected)
        print(f"ok: {uri} loads and predicts as trained")


if __name__ == "__main__":
    main()
