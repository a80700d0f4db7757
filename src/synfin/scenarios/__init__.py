"""Reproducible scenarios: every situation of the seed documents, by name."""

from synfin.scenarios.catalogue import SCENARIOS, Options, Scenario, ScenarioRun, run_scenario

__all__ = ["SCENARIOS", "Options", "Scenario", "ScenarioRun", "run_scenario"]
