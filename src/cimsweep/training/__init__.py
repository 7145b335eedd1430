"""Training: float, quantization-aware and noise-aware (:mod:`~cimsweep.training.qat`)."""
