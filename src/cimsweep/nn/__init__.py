"""Networks: the model zoo, quantizers and calibration, and layer geometry for the PPA."""
