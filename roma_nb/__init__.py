"""roma_nb."""
