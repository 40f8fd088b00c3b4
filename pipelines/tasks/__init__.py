"""The machine-learning work of the tabular tasks (classification, regression):
estimators and their hyperparameter checks, the preprocessing pipeline, the seeded
split, scoring, and Evidently's data drift. scikit-learn, pandas and Evidently are
imported inside functions so that importing mlpin stays fast."""
