#!/usr/bin/env bash
# The whole workflow, end to end, against a running service (`npm start`): run it from the
# project's folder with `bash examples/use-it.sh`. Needs curl and jq. REGISTRY_URL points it at
# another service (default http://localhost:3000).
set -euo pipefail

B="${REGISTRY_URL:-http://localhost:3000}/api/v1/ml/registry"
MODEL=churn-predictor

# curl with a bearer token: prints the answer's body; on an HTTP error it prints it and fails.
api() { local token=$1; shift; curl -sS --fail-with-body -H "Authorization: Bearer $token" "$@"; }
sha256() { # sha256sum on Linux, shasum on macOS
  if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1
}
check() { # check WHAT ACTUAL EXPECTED
  if [ "$2" != "$3" ]; then echo "FAILED: $1: got '$2', expected '$3'" >&2; exit 1; fi
  echo "ok: $1 ($2)"
}

# 1. Tokens, signed with the secret `npm start` uses: an editor (alice) and an approver (bob).
T=$(npm run -s token -- --sub alice --tenant acme-corp --roles editor)
A=$(npm run -s token -- --sub bob --tenant acme-corp --roles approver)

# 2. A trained model to register: a real (tiny) pickle, its metrics and its hyperparameters.
work=$(mktemp -d)
printf '(dp0\nVweights\np1\n(lp2\nF0.42\naF-1.3\naF0.07\nasVbias\np3\nF0.5\ns.' >"$work/model.pkl"
echo '{"f1_score": 0.89, "accuracy": 0.91, "log_loss": 0.31}' >"$work/metrics.json"
echo '{"hyperparameters": {"max_depth": 6, "learning_rate": 0.1}}' >"$work/config.json"
echo 'scikit-learn==1.5.2' >"$work/requirements.txt"

# 3. Upload it (multipart; the service computes each file's SHA-256 on the way)
upload=$(api "$T" -F model=@"$work/model.pkl" -F metrics=@"$work/metrics.json" \
  -F config=@"$work/config.json" -F requirements=@"$work/requirements.txt" "$B/artifacts")
artifact=$(jq -r .artifact_id <<<"$upload")
sha=$(sha256 "$work/model.pkl")
check "uploaded $artifact: SHA-256 of model.pkl" \
  "$(jq -r '.files[] | select(.name == "model.pkl") | .sha256' <<<"$upload")" "$sha"

# 4. Register it: a new model gets version 1, a known one its next version
version=$(api "$T" -H 'Content-Type: application/json' \
  -d "$(jq -n --arg name "$MODEL" --arg id "$artifact" \
    '{name: $name, artifact_id: $id, description: "Churn classifier", tags: {algorithm: "xgboost"}}')" \
  "$B/models" | jq .version)
echo "registered $MODEL version $version"

# 5. Read: the model list, and the version with the metrics and parameters read from the files
api "$T" "$B/models?max_results=100" | jq -c '.models[] | {name, latest_version, production_version}'
api "$T" "$B/models/$MODEL/versions/$version" | jq -c '{version, stage, metrics, parameters}'

# 6. Staging applies at once (200) ...
check "stage of version $version" "$(api "$T" -H 'Content-Type: application/json' \
  -d '{"stage": "staging"}' "$B/models/$MODEL/versions/$version/stage" | jq -r .stage)" staging

# 7. ... production is a request for approval: 202, its id in the body and in Location
request=$(api "$T" -D "$work/headers" -H 'Content-Type: application/json' \
  -d '{"stage": "production", "comment": "0.89 F1 on the holdout set"}' \
  "$B/models/$MODEL/versions/$version/stage")
approval=$(jq -r .approval.id <<<"$request")
check "production request's status" "$(head -1 "$work/headers" | cut -d' ' -f2)" 202
check "its Location" "$(grep -i '^location:' "$work/headers" | tr -d '\r' | cut -d' ' -f2)" \
  "/api/v1/ml/registry/approvals/$approval"

# 8. Four eyes: the requester cannot approve it ...
check "alice approving her own request" "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $T" "$B/approvals/$approval/approve")" 403
# ... another person with the approver role does
api "$A" "$B/approvals?status=pending" | jq -c '.approvals[] | {id, model, version, requested_by}'
check "bob's decision" "$(api "$A" -H 'Content-Type: application/json' \
  -d '{"comment": "metrics reviewed"}' "$B/approvals/$approval/approve" | jq -r .approval.status)" approved

# 9. The version is in production
check "production version of $MODEL" \
  "$(api "$T" "$B/models/$MODEL" | jq .production_version)" "$version"

# 10. History, oldest first: every transition, request and decision with who made it
api "$T" "$B/models/$MODEL/versions/$version/transitions" | jq -r '.transitions[] |
  "\(.timestamp) \(.event): \(.from_stage // "-") -> \(.to_stage) by \(.actor)" +
  if .approved_by then " (requested by \(.requested_by), approved by \(.approved_by))" else "" end'

# 11. A retrained model (only the model and its metrics this time) as the next version, compared
printf '(dp0\nVweights\np1\n(lp2\nF0.47\naF-1.1\naF0.02\nasVbias\np3\nF0.4\ns.' >"$work/model.pkl"
echo '{"f1_score": 0.92, "accuracy": 0.93, "log_loss": 0.27}' >"$work/metrics.json"
artifact2=$(api "$T" -F model=@"$work/model.pkl" -F metrics=@"$work/metrics.json" "$B/artifacts" |
  jq -r .artifact_id)
retrained=$(api "$T" -H 'Content-Type: application/json' \
  -d "$(jq -n --arg name "$MODEL" --arg id "$artifact2" '{name: $name, artifact_id: $id}')" \
  "$B/models" | jq .version)
comparison=$(api "$T" "$B/models/$MODEL/compare?versions=$version,$retrained")
jq -r .recommendation <<<"$comparison"
check "recommended version" "$(jq .recommended_version <<<"$comparison")" "$retrained"

# 12. Download the production model: the same bytes as uploaded in step 3
production_artifact=$(api "$T" "$B/models/$MODEL/versions/$version" | jq -r .artifact_id)
api "$T" -o "$work/downloaded.pkl" "$B/artifacts/$production_artifact/files/model.pkl"
check "SHA-256 of the downloaded model.pkl" "$(sha256 "$work/downloaded.pkl")" "$sha"

rm -rf "$work"
echo "done: $MODEL version $version is in production, version $retrained is registered"
