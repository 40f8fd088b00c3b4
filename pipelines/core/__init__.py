"""Pure decisions over plain objects.

Nothing in this package reads files, the network, git, MLflow, the environment or
the clock. Callers load the world through adapters and pass it in.
"""
