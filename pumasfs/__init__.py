"""pumas: one library of AI model files, shown to every app that needs it."""

__version__ = "0.1.0"
