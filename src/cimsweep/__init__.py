"""cimsweep: accuracy and energy of analog compute-in-memory accelerators across design grids."""

__version__ = "0.1.0"
