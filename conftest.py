# Fixtures for tests on the real PostgreSQL and Kafka live in devinfra/testing.py.
import os

from hypothesis import HealthCheck, settings

pytest_plugins = ["devinfra.testing"]

# Property and fuzz tests: `make test` runs a fixed, derandomized set of examples (the same every run, so a
# failure is reproducible and never a flake); `make fuzz` explores with many more, randomly.
settings.register_profile(
    "ci", max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
