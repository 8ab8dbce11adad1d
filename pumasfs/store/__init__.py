"""The store layer: the library and its index.

Model folders and their metadata.json (the truth), the SQLite index built from them, the
journal, staging folders, the trash, names, extended attributes, the library marker and the
health checks.  May import ``base`` and ``identify``; never importing, planning, the views
or the front ends.
"""
