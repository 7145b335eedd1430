"""Analytical PPA estimate of a network mapped onto analog compute-in-memory tiles.

Per layer: map the weight matrix onto subarrays (:mod:`.mapping`), count the events of one
inference (row activations, cell reads, ADC conversions, shift-adds, buffer bytes, wire
bit-metres), price them with :mod:`.components`, and count the layer's clock cycles (the
clock is the analog sensing cycle: word-line turn-on + bit-line settling + ADC). The chip is
the union of every layer's tiles plus a global buffer and bus. See ``docs/ppa.md``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from cimsweep.layout import digital_names
from cimsweep.ppa import components as comp
from cimsweep.ppa.area import chip_area as chip_area_of
from cimsweep.ppa.area import idle_area, layer_area, leaking, map_view, tile_htree_leakage
from cimsweep.ppa.dataflow import chip_bus, tile_shape
from cimsweep.ppa.design import (
    BREAKDOWN_KEYS,
    Design,
    design,
    pipeline_duplication,
    size_access_transistor,
    spare_duplication,
    unique_inputs,
    zeros,
)
from cimsweep.ppa.energy import layer_energy, layer_events, unit_energies, wire_bit_m
from cimsweep.ppa.floorplan import Floorplan, global_bus_bits, network_floorplan, novel_maps
from cimsweep.ppa.latency import Clock, LayerFlow, clock, layer_latency
from cimsweep.ppa.leakage import idle_leakage
from cimsweep.ppa.mapping import LayerMapping
from cimsweep.workflow.params import PARAMS, canonical, stage_params

PPA_PARAMS = tuple(stage_params("ppa"))


@runtime_checkable
class PPABackend(Protocol):
    """Anything that turns (layers, hw, tech) into the result dictionary of :func:`estimate`.

    An external simulator (e.g. a NeuroSim run parsed into the same keys) can be plugged in by
    implementing this and passing it as ``backend``.
    """

    name: str

    def estimate(
        self, layers: Sequence[Any], hw: Mapping[str, Any], tech: Mapping[str, Any]
    ) -> dict:
        """Return the result dictionary (see :func:`estimate`)."""
        ...


def normalize_hw(hw: Mapping[str, Any]) -> dict[str, Any]:
    """Every "ppa"-stage parameter in canonical form; missing ones take their defaults.

    Keys of other stages are ignored. Raises ``ValueError`` naming an invalid key.
    """
    out: dict[str, Any] = {}
    for name in PPA_PARAMS:
        p = PARAMS[name]
        value = hw.get(name, p.default)
        try:
            value = canonical(name, value)
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"hw[{name!r}]: cannot interpret {value!r} as {p.kind}") from None
        if p.choices and value not in p.choices:
            raise ValueError(f"hw[{name!r}] = {value!r}; expected one of {list(p.choices)}")
        if p.kind in ("int", "float"):
            if p.minimum is not None and (
                value < p.minimum or (p.exclusive_minimum and value == p.minimum)
            ):
                raise ValueError(f"hw[{name!r}] = {value!r} is below its minimum {p.minimum}")
            if p.maximum is not None and value > p.maximum:
                raise ValueError(f"hw[{name!r}] = {value!r} is above its maximum {p.maximum}")
        if p.kind == "shape" and min(value) < 1:
            raise ValueError(f"hw[{name!r}] = {value!r}; sizes must be >= 1")
        out[name] = value
    if out["off_state"] > out["on_state"]:
        raise ValueError("hw['off_state'] must not exceed hw['on_state']")
    return out


def _layer_view(layer: Any) -> dict[str, Any]:
    """Name, kind, rows, cols, vectors, kernel (and ``input_activity`` where given) of a
    LayerGeometry or its ``to_dict``."""
    get = layer.get if isinstance(layer, Mapping) else lambda k, d=None: getattr(layer, k, d)
    view: dict[str, Any] = {
        "name": str(get("name", "")),
        "kind": str(get("kind", "")),
        "rows": int(get("rows", 0)),
        "cols": int(get("cols", 0)),
        "vectors": int(get("vectors", 1)),
        "kernel": tuple(get("kernel", (1, 1)) or (1, 1)),
        "out_hw": tuple(get("out_hw", (1, 1)) or (1, 1)),
    }
    for key in ("rows", "cols", "vectors"):
        if view[key] < 1:
            raise ValueError(f"layer {view['name']!r}: {key} must be >= 1, got {view[key]}")
    activity = get("input_activity", None)  # measured fraction of 1 input bits, if any
    if activity is not None:
        view["input_activity"] = float(activity)
        if not 0.0 <= view["input_activity"] <= 1.0:
            raise ValueError(
                f"layer {view['name']!r}: input_activity must be in [0, 1], got {activity}"
            )
    return view


def _layer_record(
    v: Mapping[str, Any],
    m: LayerMapping,
    d: Design,
    ev: Mapping[str, float],
    bit_m: tuple[float, float],
    e: dict[str, float],
    t: Mapping[str, float],
    a: Mapping[str, float],
) -> dict[str, Any]:
    """The result entry of one layer (counts, latency s, energy J, area mm²)."""
    vec, rows, cols = v["vectors"], v["rows"], v["cols"]
    read_bytes, write_bytes = ev["buffer_read_bytes"], ev["buffer_write_bytes"]
    latency = sum(t.values())
    return {
        "name": v["name"],
        "kind": v["kind"],
        "rows": rows,
        "cols": cols,
        "vectors": vec,
        "macs": rows * cols * vec,
        "ops": 2 * rows * cols * vec,
        "crossbar_rows": m.rows,
        "crossbar_cols": m.cols,
        "weight_slices": d.slices,
        "input_cycles": d.cycles,
        "parallel_read": m.parallel_read,
        "row_tiles": m.row_tiles,
        "col_tiles": m.col_tiles,
        "arrays": m.arrays,
        "allocated_arrays": m.allocated_arrays,
        "pes": m.pes,
        "tiles": m.tiles,
        "adcs": m.allocated_arrays * d.n_adc,
        "utilization": m.utilization,
        "array_utilization": m.array_utilization,
        "row_activations": ev["row_activations"],
        "cell_reads": ev["cell_reads"],
        "adc_conversions": ev["adc_conversions"],
        "shift_adds": ev["weight_shift_adds"] + ev["input_shift_adds"],
        "psum_adds": ev["psum_adds"],
        "buffer_read_bytes": read_bytes,
        "buffer_write_bytes": write_bytes,
        "buffer_bytes": read_bytes + write_bytes,
        "interconnect_bit_mm": sum(bit_m) * 1e3,
        "latency_s": latency,
        "latency_breakdown_s": {
            "compute": t["compute"],
            "accumulation": t["accumulation"],
            "io": t["buffer"] + t["interconnect"],
        },
        "buffer_latency_s": t["buffer"],
        "interconnect_latency_s": t["interconnect"],
        "dynamic_energy_J": sum(e.values()),
        "energy_breakdown_J": e,
        "area_mm2": sum(a.values()) * 1e6,
        "area_breakdown_mm2": {k: x * 1e6 for k, x in a.items()},
    }


def layer_flows(
    views: Sequence[Mapping[str, Any]],
    maps: Sequence[LayerMapping],
    extra: Sequence[int],
    d: Design,
    plan: Floorplan | None,
    clk: Clock,
    pipeline: bool,
) -> list[LayerFlow]:
    """Each layer's :class:`~cimsweep.ppa.latency.LayerFlow`: its tile (kernel-split where
    the floorplan says so; ``extra`` copies of its tiles stacked along its rows), the chip bus
    over all layers' tiles, and the share of its outputs the next layer reads (pooling)."""
    novel = plan.novel if plan is not None else (None,) * len(maps)
    shapes = [tile_shape(m, d, nm) for m, nm in zip(maps, novel, strict=True)]
    # a layer's extra copies stack along its tile rows (NeuroSim V1.4 OverallEachLayer)
    shapes = [
        dataclasses.replace(s, grid=(s.grid[0] * n, s.grid[1]))
        for s, n in zip(shapes, extra, strict=True)
    ]
    tiles = sum(s.grid[0] * s.grid[1] for s in shapes)
    wire = max(1, math.ceil(clk.t_chip_wire / clk.t_clk))
    chip = chip_bus([unique_inputs(v) for v in views], tiles, d, pipeline, wire)
    out = []
    for i, (v, s) in enumerate(zip(views, shapes, strict=True)):
        produced = v["vectors"] * v["cols"]
        nxt = unique_inputs(views[i + 1]) if i + 1 < len(views) else produced
        out.append(LayerFlow(s, chip, min(1.0, nxt / produced)))
    return out


class AnalyticalBackend:
    """The built-in analytical model (NeuroSim-style hierarchy, closed-form counts)."""

    name = "analytical"

    def estimate(
        self, layers: Sequence[Any], hw: Mapping[str, Any], tech: Mapping[str, Any]
    ) -> dict:
        """See :func:`cimsweep.ppa.estimate`."""
        hw = normalize_hw(hw)
        if int(tech.get("node_nm", hw["tech_node"])) != hw["tech_node"]:
            raise ValueError(
                f"tech file is for {tech.get('node_nm')} nm but hw['tech_node'] is "
                f"{hw['tech_node']} nm ({tech.get('_source', '<tech>')})"
            )
        all_views = [_layer_view(layer) for layer in layers]
        if not all_views:
            raise ValueError("estimate() needs at least one layer")
        # layers kept digital (hw["digital_layers"]) are not mapped onto crossbars and are
        # left out of every crossbar count; they are listed in total["digital_layers"]
        digital = digital_names([v["name"] for v in all_views], hw["digital_layers"])
        views = [v for v in all_views if v["name"] not in digital]
        if not views:
            raise ValueError(
                f"digital_layers = {hw['digital_layers']!r} leaves no layer on the crossbars"
            )
        tech = size_access_transistor(tech, hw)
        d = design(hw, tech)
        plan = None
        if tech["arch"].get("tile_sizing", "fixed") == "network":
            plan = network_floorplan(
                [(v["rows"], d.crossbar_columns(v["cols"])) for v in views],
                [tuple(v["kernel"]) for v in views],
                (d.sr, d.sc),
            )
            d = dataclasses.replace(d, spp=plan.subarrays_per_pe, ppt=plan.pes_per_tile)
        sr, sc, n_adc, cell_type = d.sr, d.sc, d.n_adc, d.cell_type

        # ---- mapping and per-layer (allocated) area ----------------------------------------
        maps = [map_view(v, d) for v in views]
        spare = [spare_duplication(m.arrays, m.allocated_arrays) for m in maps]
        if plan is not None:
            maps, spare = novel_maps(maps, spare, plan, d)
        # pipeline mode: small-feature-map layers' weights are duplicated into extra tiles
        # (NeuroSim's per-layer speed-up), layer-by-layer mode uses one copy
        pipe = pipeline_duplication(views, d) if hw["ppa_mode"] == "pipeline" else [1] * len(views)
        # copies in the idle subarrays of a layer's own tiles are free (NeuroSim SubArrayDup,
        # PEDesign); the pipeline speed-up beyond them adds whole copies of the layer's tiles
        # (NeuroSim OverallEachLayer: spare * ceil(speedup / spare))
        extra = [math.ceil(p / s) for p, s in zip(pipe, spare, strict=True)]
        dups = [s * x for s, x in zip(spare, extra, strict=True)]
        per_copy = [layer_area(m, d) for m in maps]  # one copy of each layer (m²)
        copies = list(zip(maps, per_copy, extra, strict=True))
        areas = [{k: x * n for k, x in a.items()} for _, a, n in copies]
        idle = [idle_area(m, d, a) * n for m, a, n in copies]
        htree_leak = [tile_htree_leakage(m, d, a) * n for m, a, n in copies]
        if plan is not None:
            # NeuroSim's global bus: the layers' tile ports, all tiles at once when pipelined
            tiles = [m.tiles * n for m, n in zip(maps, extra, strict=True)]
            piped = hw["ppa_mode"] == "pipeline"
            bus = global_bus_bits(plan, tiles if piped else [1] * len(maps), d.cm, d.bus_bits)
            d = dataclasses.replace(d, bus_bits=bus)

        # ---- chip-level buffer and bus ------------------------------------------------------
        chip_area = chip_area_of(views, areas, d)
        total_area = sum(chip_area.values())
        l_chip = comp.htree_length(total_area)

        # ---- per-layer events, energy and latency -------------------------------------------
        u = unit_energies(d)
        clk = clock(d, l_chip)
        t_clk, t_read = clk.t_clk, clk.t_read
        flows = layer_flows(views, maps, extra, d, plan, clk, hw["ppa_mode"] == "pipeline")
        layer_results: list[dict[str, Any]] = []
        for v, m, a, dup, n, flow in zip(views, maps, areas, dups, extra, flows, strict=True):
            ev = layer_events(v, m, d)
            # the H-tree spans the tile without its own footprint
            tile_side = comp.htree_length((sum(a.values()) - a["interconnect"]) / (m.tiles * n))
            bit_m = wire_bit_m(v, m, d, tile_side, l_chip)
            e = layer_energy(ev, bit_m, m, d, u)
            # each copy takes 1/dup of the vectors (the buffers and buses still move them all)
            t = layer_latency(v, m, d, clk, tile_side, flow, dup)
            layer_results.append(
                {
                    **_layer_record(v, m, d, ev, bit_m, e, t, a),
                    # area without leaking transistors (write level shifters, empty corners)
                    "idle_area_mm2": idle[len(layer_results)] * 1e6,
                    # the tile H-trees' repeaters (NeuroSim HTree.cpp), not in the area rule
                    "htree_leakage_W": htree_leak[len(layer_results)],
                    "duplication": pipe[len(layer_results)],
                    "spare_copies": spare[len(layer_results)],
                    "copies": dup,
                }
            )

        # ---- chip totals --------------------------------------------------------------------
        # the write level shifters and the empty floorplan corners take area but do not leak
        periphery = leaking(tech, chip_area) - sum(idle)
        sram_cells = (
            sum(m.allocated_arrays for m in maps) * sr * sc if cell_type.startswith("SRAM") else 0
        )
        p_leak = comp.leakage_power(tech, periphery, sram_cells) + sum(htree_leak)
        sum_lat = sum(r["latency_s"] for r in layer_results)
        if hw["ppa_mode"] == "pipeline":
            latency = max(r["latency_s"] for r in layer_results)
            if tech["arch"].get("pipeline_leakage", "always") == "idle":
                p_leak = idle_leakage(
                    tech, chip_area, areas, maps, extra, layer_results, d, idle, htree_leak
                )
        else:
            latency = sum_lat
        leak_e = p_leak * latency
        for r in layer_results:
            r["leakage_energy_J"] = leak_e * r["latency_s"] / sum_lat
            r["energy_J"] = r["dynamic_energy_J"] + r["leakage_energy_J"]

        energy_bd = zeros()
        for r in layer_results:
            for k in BREAKDOWN_KEYS:
                energy_bd[k] += r["energy_breakdown_J"][k]
        dynamic = sum(energy_bd.values())
        energy = dynamic + leak_e
        ops = sum(r["ops"] for r in layer_results)
        tops = ops / latency / 1e12
        area_mm2 = total_area * 1e6
        mapped = sum(m.rows * m.cols for m in maps)
        allocated = sum(m.allocated_arrays for m in maps) * sr * sc

        def total_of(key: str) -> float:
            return float(sum(r[key] for r in layer_results))

        total = {
            "energy_J": energy,
            "dynamic_energy_J": dynamic,
            "leakage_energy_J": leak_e,
            "leakage_power_W": p_leak,
            "latency_s": latency,
            "fill_latency_s": sum_lat,
            "cycle_s": t_clk,
            "read_cycle_s": t_read,
            "area_mm2": area_mm2,
            "ops": ops,
            "macs": ops // 2,
            "tops": tops,
            "tops_per_w": ops / energy / 1e12,
            "tops_per_mm2": tops / area_mm2,
            "fps": 1.0 / latency,
            "arrays": sum(m.arrays for m in maps),
            "allocated_arrays": sum(m.allocated_arrays for m in maps),
            "pes": sum(m.pes for m in maps),
            "tiles": sum(m.tiles for m in maps),
            "adcs": sum(m.allocated_arrays for m in maps) * n_adc,
            "utilization": mapped / allocated,
            "hierarchy": {
                "sub_array": [sr, sc],
                "subarrays_per_pe": d.spp,
                "pes_per_tile": d.ppt,
                "adcs_per_subarray": n_adc,
                "tiles": sum(m.tiles for m in maps),
            },
            "row_activations": total_of("row_activations"),
            "cell_reads": total_of("cell_reads"),
            "adc_conversions": total_of("adc_conversions"),
            "shift_adds": total_of("shift_adds"),
            "psum_adds": total_of("psum_adds"),
            "buffer_bytes": total_of("buffer_bytes"),
            "interconnect_bit_mm": total_of("interconnect_bit_mm"),
            "energy_breakdown_J": energy_bd,
            "area_breakdown_mm2": {k: x * 1e6 for k, x in chip_area.items()},
            "idle_area_mm2": sum(idle) * 1e6,
            # layers kept digital: not in any figure above (ops, energy, latency, area)
            "digital_layers": [v["name"] for v in all_views if v["name"] in digital],
            "digital_macs": sum(
                v["rows"] * v["cols"] * v["vectors"] for v in all_views if v["name"] in digital
            ),
        }
        return {
            "backend": self.name,
            "tech": {
                "node_nm": tech.get("node_nm"),
                "version": tech.get("version"),
                "source": tech.get("_source"),
            },
            "hw": {k: (list(x) if isinstance(x, tuple) else x) for k, x in hw.items()},
            "total": total,
            "layers": layer_results,
        }


DEFAULT_BACKEND: PPABackend = AnalyticalBackend()


def estimate(
    layers: Iterable[Any],
    hw: Mapping[str, Any],
    tech: Mapping[str, Any],
    backend: PPABackend | None = None,
) -> dict:
    """PPA of one inference of ``layers`` on hardware ``hw`` in technology ``tech``.

    layers: :class:`~cimsweep.nn.geometry.LayerGeometry` objects or their ``to_dict()`` mappings.
    hw: the "ppa"-stage parameters (missing ones take their defaults). Layers named by
    ``hw["digital_layers"]`` are left out of every figure (listed in ``total["digital_layers"]``
    with their ``digital_macs``).
    tech: from :func:`cimsweep.ppa.load_tech`.
    Returns a JSON-able dict with ``total`` and per-``layers`` energy (J), latency (s),
    area (mm^2), figures of merit and event counts.
    """
    return (backend or DEFAULT_BACKEND).estimate(list(layers), hw, tech)
