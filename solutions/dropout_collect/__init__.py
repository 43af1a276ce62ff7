"""Collectors: what the hidden tests run inside the student's (sandboxed) kernel.

A collector calls the student's functions on inputs fixed by :mod:`dropout_collect.plans`
and hands back only data (:mod:`dropout_collect.wire`) as one display output of the test
cell. It never judges anything and never raises: a failure of the student's code is data
too. Points are decided later, outside the kernel, by ``dropout_checks`` (which this package
never imports), from this data and from inputs the checker regenerates itself.
"""
from .core import capture, emit, invoke, set_seed

__all__ = ["capture", "emit", "invoke", "set_seed"]
