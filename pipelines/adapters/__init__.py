"""I/O only, one module per outside system. Adapters translate failures into
`pipelines.core.errors` and make no decisions."""
