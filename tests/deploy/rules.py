"""Rules the rendered manifests must keep, each a function (objects, facts) -> problems.

Schemas say a manifest is well-formed; these say it fits mlpin (pod_rules: the pods;
config_rules: what they are told). Each problem is a sentence naming the object and what to
fix, so a test can show both that the manifests pass and that a broken copy is caught.
"""

from __future__ import annotations

from tests.deploy import config_rules, pod_rules
from tests.deploy.facts import Facts

RULES = pod_rules.RULES + config_rules.RULES


def problems(objects: list[dict], facts: Facts) -> list[str]:
    """Every rule's problems with these objects."""
    return [p for rule in RULES for p in rule(objects, facts)]
