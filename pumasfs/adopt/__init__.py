"""Adoption: bring the models already sitting in apps' folders into the library, paths unchanged.

``scan`` finds what an install holds (I/O, names only), ``planning`` decides
what becomes a new model, what is a duplicate and what is left alone (pure),
``swap`` replaces an original by a link atomically (I/O), ``companions``
reads the sidecar files apps leave beside models, ``extra_paths`` reads
ComfyUI's ``extra_model_paths.yaml``, ``listing`` is ComfyUI's own rule for
what a folder lists, and ``workflows`` finds the model references in saved
ComfyUI workflows.  ``pumasfs.usecases.adopt`` puts them in order.
"""
