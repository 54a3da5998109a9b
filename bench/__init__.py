"""Benchmarks of roma_nb: each ``bench/bench_<topic>.py`` has a ``main()`` that prints its figures.

``python -m bench`` (``make bench``) runs them all; ``python -m bench history client`` runs only
those whose topic is named. A benchmark reports ratios against a baseline measured in the same run
where it can, so the figures mean something on a busy shared machine.
"""
