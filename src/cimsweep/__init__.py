"""cimsweep: accuracy and energy of analog compute-in-memory accelerators across design grids."""

# The one version source: pyproject.toml reads it (``[tool.setuptools.dynamic]``).
__version__ = "0.1.0"
