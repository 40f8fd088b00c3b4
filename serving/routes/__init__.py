"""HTTP routes, one module per concern: status, predictions, hooks that trigger a pass."""
