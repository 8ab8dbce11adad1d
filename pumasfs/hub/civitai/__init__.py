"""CivitAI: lookups by hash, metadata and sidecars, manual links, updates, downloads.

Modules (each one idea): ``settings``/``config`` (endpoint, token, NSFW
setting), ``client`` (every request, bounded, backed off), ``api`` (CivitAI's
JSON), ``cache``, ``refs`` (civitai:ID, URLs, AIR), ``fields`` (what a match
writes into metadata.json), ``sidecars`` (``.preview.<ext>``,
``.civitai.info``), ``enrich`` (lookups applied to the library), ``link``,
``outdated`` and ``download``.  Nothing here is imported by ``pumas list``.
"""
