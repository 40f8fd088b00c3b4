"""mlpin lifecycle library: schemas, decisions, adapters, stages and the `mlpin` CLI.

Importing this package does no I/O and pulls in no heavy library; mlflow, sklearn and
friends are imported inside the functions that use them.
"""

__version__ = "0.1.0"
