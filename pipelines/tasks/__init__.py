"""Trainers per task type. Heavy libraries (sklearn here, torch later) are imported
inside functions so that importing mlpin stays fast."""
