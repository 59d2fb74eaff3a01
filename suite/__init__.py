"""The suite's entry package, above the services: the `tuition` command (`suite/cli.py`) knows the four
services, the simulator and the development tools, and loads them; the shared library knows none of them."""
