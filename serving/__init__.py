"""The serving container: reconciles itself to the version `models/production.yaml` pins.

Not built yet (tracked in its own issue); the package exists so the distribution's
layout is the one the design describes.
"""
