"""Use cases: the one core that every front end calls.

A use case is a typed function that does one thing a user asks for, in the
order of steps that makes it safe (for example: remove a model's links in
every app, then the model, then catch the apps up).  The CLI parses its
arguments, calls one use case and prints the typed result; the web UI's
handlers do the same with the same functions.  Neither holds logic of its own.

Conventions (each module here follows them):

- The first argument is a :class:`~pumasfs.usecases.workspace.Workspace`:
  the library root, opened lazily.
- Long work reports through a :class:`~pumasfs.base.progress.Reporter`
  passed as ``reporter=``; the default reports nothing.
- Results are dataclasses or pydantic models, never printed text; errors a
  user can cause are raised as :class:`~pumasfs.base.errors.PumasError`.
- One module per group of use cases, named for what the user does
  (``library.py``, ``apps.py``, ``adopt.py`` ...).
"""
