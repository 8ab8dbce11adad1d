"""pumas: one library of AI model files, shown to every app that needs it.

Layers, lowest first.  A module imports its own layer and the layers below it, never one above
(``tests/test_layers.py`` checks every import):

    base          atomic writes, locks, errors, paths, hashing: nothing about models or apps
    identify      what a model file is, read from its header
    store         the library and its index: metadata, staging, journal, trash, health
    importing     files into the library: grouping, import
    hub           Hugging Face and CivitAI: lookups, enrichment, downloads (which import)
    planning      app installs, translation maps, the pure planner and its Plan
    view, ../materializer   the two views of a plan: the FUSE view and links
    adopt         models already in apps' folders taken into the library
    usecases      every operation as a typed function, the one core for every front end
    sample        sample libraries and the demo
    cli, ui       the front ends: parse, call one use case, print
"""

__version__ = "0.1.0"
