# Fixtures for tests on the real PostgreSQL and Kafka live in shared/testing.py.
pytest_plugins = ["shared.testing"]
