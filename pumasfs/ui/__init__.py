"""`pumas ui`: the library in a browser.

A Starlette application served by uvicorn on 127.0.0.1 (:mod:`.server`),
rendering Jinja2 pages with a little vendored htmx and one script of our own.
Each page is a module of :mod:`.pages` (library, model, trash, imports, apps,
maps, activity) over what they share (:mod:`.context`).
Handlers only call the use cases in :mod:`pumasfs.usecases`; security
(:mod:`.security`), live activity (:mod:`.activity`), uploads
(:mod:`.uploads`) and the import allowlist (:mod:`.allowlist`) are one module
each.
"""
