"""The importing layer: bringing files into the library.

Grouping what a path holds into models (files, folders, shard sets, companions) and importing
them through staging folders.  May import ``base``, ``identify`` and ``store``.
"""
