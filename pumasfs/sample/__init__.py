"""The sample layer: generated sample libraries and the end-to-end demo.

Model files with real key layouts, for the demo and the tests.  May import every layer
below the front ends; the demo drives the real CLI in a child process.
"""
