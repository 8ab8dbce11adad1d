"""pumasfs views: a live, read-only FUSE filesystem showing an app's plan.

Preview mode serves symlinks into the library (reads never pass through
FUSE); content mode serves the library files' bytes for sandboxed apps.
The modules, from the bottom up: ``backing`` (plan entries to library
files, refusing unsafe ones), ``tree`` (inodes, pure), ``fs`` (the pyfuse3
handlers), ``source`` (plans from the planner), ``live`` (following the
change log), ``mounts`` (records and the kernel's mount table), ``daemon``
(mount, serve, unmount).
"""
