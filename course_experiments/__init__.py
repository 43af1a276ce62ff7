"""Experiments the book runs and the tests assert: one implementation, two readers.

Each function takes a seed, runs on data made offline, and returns plain numbers/arrays,
so a lesson can plot them and ``tests/`` can check the paper's claim on the same output.
"""
