"""One module per lifecycle step: load through adapters, decide in core, write through
adapters. Stages return result records; they never print or exit."""
