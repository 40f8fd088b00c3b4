"""The team stack on one machine: a private PostgreSQL cluster, an authenticated MLflow
tracking server on it with proxied artifacts, and N serving replicas that follow the
repository's pin, started by `scripts/stack up` and stopped by `scripts/stack down`.

A development and test tool, not a production deployment: everything listens on
127.0.0.1 and lives under one folder (`.mlpin/stack/` by default). Nothing here is
imported by mlpin's commands or by serving.
"""
