"""The materializer: a Plan written as links in an app's folder, recorded in registry.db.

``api`` is the entry point (materialize, sync_pending, remove_model_links,
uninstall, doctor, relocate); ``links`` holds the link strategies,
``registry`` the database, ``apply`` the diff and the ordered apply,
``sync`` full and incremental sync.
"""
