"""The serving container: reconciles itself to the versions `models/production.yaml` pins.

`serving.app.create_app(settings)` builds the FastAPI app; `python -m serving` runs it.
See serving/README.md for what exists and what does not yet.
"""
