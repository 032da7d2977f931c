"""Settings of each function, validated once at cold start from its environment.

One module per group of functions, so that a function builds only its own models (each
pydantic model costs about a millisecond of cold start); :mod:`.base` holds what they
share. This package imports nothing itself.
"""
