"""Helpers shared by the test suites: a `reconciler serve` subprocess and an SDK client for it."""
