# Helpers of the ppa rule: NeuroSim inputs, checks and resources.
from snakemake.exceptions import WorkflowError


def check_neurosim_dir():
    """A sweep using the NeuroSim backend must name a NeuroSim tree (checked before planning)."""
    backends = SWEEP.grid.get("ppa_backend", [SWEEP.values["ppa_backend"]])
    if "neurosim" not in backends:
        return
    from cimsweep.ppa.neurosim.build import NeuroSimBuildError, source_dir

    try:
        source_dir(SWEEP.values["neurosim_dir"] or ".")
    except NeuroSimBuildError as exc:
        raise WorkflowError(f"ppa_backend: neurosim: {exc}") from None


check_neurosim_dir()


def check_ppa_calibration():
    """A calibration file named by ppa_calibration must load (checked before planning)."""
    if not SWEEP.values["ppa_calibration"]:
        return
    from cimsweep.ppa.calibration import CalibrationError, load_calibration

    try:
        load_calibration(SWEEP.values["ppa_calibration"])
    except CalibrationError as exc:
        raise WorkflowError(str(exc)) from None


check_ppa_calibration()


def ppa_inputs(wildcards):
    """Geometry and technology file; the NeuroSim backend also reads the split and the trained
    model (its weights and activations become NeuroSim's traces)."""
    values = SWEEP.stage_values("ppa", wildcards)
    inputs = {
        "geometry": f"{RESULTS}/{wildcards.dataset}/geometry/{wildcards.model}.json",
        "tech": tech_path(wildcards),
    }
    if values["ppa_calibration"] and values["ppa_backend"] == "analytical":
        inputs["calibration"] = values["ppa_calibration"]
    if values["ppa_backend"] == "neurosim":
        point = dict(wildcards)
        missing = [n for n in SWEEP.axes("train") if n not in point]
        if missing:
            raise WorkflowError(
                f"ppa_backend: neurosim needs one trained model per PPA point, but {missing} "
                "are swept and PPA results do not depend on them"
            )
        inputs["split"] = SWEEP.result_path("data", point, RESULTS)
        inputs["model"] = SWEEP.result_path("train", point, RESULTS)
    return inputs


def ppa_runtime(wildcards, attempt):
    """Runtime (min): NeuroSim runs take minutes (a VGG8 1.5-5 min on one core, plus a build)."""
    values = SWEEP.stage_values("ppa", wildcards)
    base = runtime("ppa")(wildcards, attempt)
    return base + (30 * attempt if values["ppa_backend"] == "neurosim" else 0)


def ppa_mem_mb(wildcards, attempt):
    """Memory (MB): NeuroSim jobs also load the model and torch."""
    values = SWEEP.stage_values("ppa", wildcards)
    base = mem_mb("ppa")(wildcards, attempt)
    return base + (2000 * attempt if values["ppa_backend"] == "neurosim" else 0)
