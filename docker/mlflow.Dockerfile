# MLflow Tracking Server with what it needs here: the PostgreSQL driver for its backend store
# and boto3 for s3:// artifact roots. Same version as the test stack (scripts/stack).
FROM python:3.11-slim
RUN pip install --no-cache-dir mlflow==3.17.2 psycopg2-binary==2.9.13 boto3==1.44.8 \
    && useradd --create-home --uid 10001 mlflow
USER mlflow
EXPOSE 5000
