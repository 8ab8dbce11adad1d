"""The base layer: what every other layer builds on, knowing nothing of models or apps.

Atomic writes, locks, errors and their exit codes, JSON files read through pydantic, the
root's folder layout, safe relative paths, mount facts, the I/O queue, hashing, one-time
notices, progress reporting and the crash-test hooks.  Imports nothing else of pumasfs.
"""
