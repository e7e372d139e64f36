"""The fake driver: no hypervisor, many nodes per process, for tests and scale runs."""
