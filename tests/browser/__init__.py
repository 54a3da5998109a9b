"""Helpers for the tests that run notebooks in a real kernel and widgets in a real browser."""
