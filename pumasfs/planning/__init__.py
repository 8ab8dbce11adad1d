"""The planning layer: app installs, translation maps, and the plan of what each install sees.

Installs and their versions, folders and sandboxes; maps (format, store, selection, the
default ComfyUI map); the pure planner and its Plan; link types; the yaml/view install modes
and extra_model_paths.yaml.  May import ``base``, ``identify``, ``store``, ``importing`` and
``hub``; the two views (``materializer``, ``view``) consume what it produces.
"""
