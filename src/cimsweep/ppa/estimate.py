"""Analytical PPA estimate of a network mapped onto analog compute-in-memory tiles.

Per layer: map the weight matrix onto subarrays (:mod:`.mapping`), count the events of one
inference (row activations, cell reads, ADC conversions, shift-adds, buffer bytes, wire
bit-metres), price them with :mod:`.components`, and count the layer's clock cycles (the
clock is the analog sensing cycle: word-line turn-on + bit-line settling + ADC). The chip is
the union of every layer's tiles plus a global buffer and bus. See ``docs/ppa.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from cimsweep.layout import (
    column_tiles,
    crossbar_columns,
    digital_names,
    n_input_slices,
    n_weight_slices,
)
from cimsweep.ppa import components as comp
from cimsweep.ppa.mapping import LayerMapping, map_layer
from cimsweep.workflow.params import PARAMS, canonical, stage_params

BREAKDOWN_KEYS = ("array", "adc", "accumulation", "buffer", "interconnect", "other")
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
    """Name, kind, rows, cols, vectors, kernel of a LayerGeometry or its ``to_dict``."""
    get = layer.get if isinstance(layer, Mapping) else lambda k, d=None: getattr(layer, k, d)
    view = {
        "name": str(get("name", "")),
        "kind": str(get("kind", "")),
        "rows": int(get("rows")),
        "cols": int(get("cols")),
        "vectors": int(get("vectors", 1)),
        "kernel": tuple(get("kernel", (1, 1)) or (1, 1)),
    }
    for key in ("rows", "cols", "vectors"):
        if view[key] < 1:
            raise ValueError(f"layer {view['name']!r}: {key} must be >= 1, got {view[key]}")
    return view


def _zeros() -> dict[str, float]:
    return dict.fromkeys(BREAKDOWN_KEYS, 0.0)


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
        arch = tech["arch"]
        spp, ppt = int(arch["subarrays_per_pe"]), int(arch["pes_per_tile"])
        sr, sc = hw["sub_array"]
        wp, ip = hw["weight_precision"], hw["input_precision"]
        adc_bits, adc_type = hw["adc_precision"], hw["adc_type"]
        cell_type, cm = hw["cell_type"], min(hw["column_mux"], sc)
        # cells per weight and array, as the simulator maps them (cimsweep.cim.mapping)
        slices = n_weight_slices(wp, hw["bitcell"], hw["signed_mapping"])
        cycles = n_input_slices(ip, hw["dac_precision"])
        n_adc = math.ceil(sc / cm)
        w_ws = adc_bits + wp  # weight-slice shift-add width (bit)
        w_sa = adc_bits + wp + ip  # input-bit shift-add (accumulator) width (bit)
        alpha = float(arch["wiring_area_factor"])
        zeta = float(arch["zeta"])
        logic = tech["logic"]
        tile_buffer = float(tech["sram_buffer"]["tile_buffer_bytes"])

        # ---- mapping and per-layer (allocated) area ----------------------------------------
        maps: list[LayerMapping] = []
        areas: list[dict[str, float]] = []
        for v in views:
            # whole weights per subarray, one reference group per tile (offset), as the
            # simulator places them (cimsweep.layout.column_tiles)
            m = map_layer(
                v["rows"],
                crossbar_columns(v["cols"], sc, slices, hw["signed_mapping"]),
                (sr, sc),
                hw["parallel_read"],
                spp,
                ppt,
                col_tiles=column_tiles(v["cols"], sc, slices, hw["signed_mapping"])[1],
            )
            maps.append(m)
            w_ps = w_sa + math.ceil(math.log2(m.row_tiles)) if m.row_tiles > 1 else w_sa
            a = _zeros()
            na = m.allocated_arrays
            a["array"] = na * sr * sc * comp.cell_area(tech, cell_type)
            a["adc"] = na * n_adc * comp.adc_area(tech, adc_bits, adc_type)
            periph_f2 = sr * float(logic["wl_driver_area_F2"])
            if cm > 1:
                periph_f2 += sc * float(logic["mux_area_F2"])
            a["other"] = alpha * na * comp.f2(tech, periph_f2)
            a["accumulation"] = alpha * (
                na * n_adc * (comp.adder_area(tech, w_ws) + comp.adder_area(tech, w_sa))
                + (m.pes * (spp - 1) + m.tiles * (ppt - 1)) * n_adc * comp.adder_area(tech, w_ps)
            )
            a["buffer"] = m.tiles * comp.sram_area(tech, tile_buffer)
            tile_area = sum(a.values()) / m.tiles
            a["interconnect"] = m.tiles * comp.bus_area(tech, sc, comp.htree_length(tile_area))
            areas.append(a)

        # ---- chip-level buffer and bus ------------------------------------------------------
        def unique_inputs(v: dict[str, Any]) -> float:
            kh, kw = v["kernel"]
            per_vec = v["rows"] / (kh * kw) if v["kind"].startswith("conv") else v["rows"]
            return v["vectors"] * per_vec if v["kind"].startswith("conv") else per_vec

        act_bytes = max((unique_inputs(v) + v["vectors"] * v["cols"]) * ip / 8 for v in views)
        chip_area = _zeros()
        for a in areas:
            for k in BREAKDOWN_KEYS:
                chip_area[k] += a[k]
        chip_area["buffer"] += comp.sram_area(tech, act_bytes)
        bus_bits = int(tech["wire"]["bus_bits"])
        side = comp.htree_length(sum(chip_area.values()))
        chip_area["interconnect"] += comp.bus_area(tech, bus_bits, 2 * side)
        total_area = sum(chip_area.values())
        l_chip = comp.htree_length(total_area)

        # ---- per-layer events, energy and latency -------------------------------------------
        e_cell = comp.cell_read_energy(tech, hw["mem_type"], hw["on_state"], hw["off_state"])
        e_bl = comp.bitline_energy(tech, sr, cell_type)
        e_wl = comp.wordline_energy(tech, sc, cell_type)
        e_drv = comp.driver_energy(tech, hw["dac_precision"])
        e_mux = comp.mux_energy(tech) if cm > 1 else 0.0
        e_adc = comp.adc_energy(tech, adc_bits, adc_type)
        # ---- read cycle and clock: the analog sensing cycle is the critical path (WL/BL
        # turn-on, column current settling, ADC), NeuroSim V1.3 synchronous mode ------------
        activity = float(tech["cells"]["input_activity"])
        cells = tech["cells"]
        if hw["mem_type"] == "resistive":
            g_mean = hw["off_state"] + float(cells["mean_level"]) * (
                hw["on_state"] - hw["off_state"]
            )
        else:
            g_mean = 0.0
        rows_per_read = min(sr, hw["parallel_read"]) if hw["parallel_read"] > 0 else sr
        t_wl = comp.wordline_settle_time(tech, sc, cell_type, adc_bits)
        t_mux = comp.mux_select_time(tech, cm)
        t_bl = comp.bitline_settle_time(
            tech, sr, cell_type, rows_per_read * activity, g_mean, adc_bits
        )
        t_adc = comp.adc_time(tech, adc_bits, adc_type)
        t_read = float(arch["beta"]) * (max(t_wl, t_mux) + t_bl + t_adc)
        # one synchronous clock; it cannot be faster than the digital logic allows
        t_clk = max(t_read, 1.0 / float(tech["device"]["clock_Hz"]))
        # output words per array (one per weight = `slices` columns, x2 for differential),
        # drained through the array's n_adc shift-add lanes
        words = math.ceil(sc / (slices * (2 if hw["signed_mapping"] == "differential" else 1)))
        passes = math.ceil(words / n_adc)
        t_chip_wire = comp.repeated_wire_delay(tech, l_chip)
        control = float(logic["control_overhead"])

        layer_results: list[dict[str, Any]] = []
        for v, m, a in zip(views, maps, areas, strict=True):
            vec, rows, cols = v["vectors"], v["rows"], v["cols"]
            w_ps = w_sa + math.ceil(math.log2(m.row_tiles)) if m.row_tiles > 1 else w_sa
            row_act = vec * cycles * rows * m.col_tiles
            cell_reads = vec * cycles * rows * m.cols
            conversions = vec * cycles * m.read_groups * m.cols
            shift_adds = conversions  # one weight-slice shift-add per ADC output
            input_shift_adds = vec * cycles * m.read_groups * cols  # one per output word
            psum_adds = vec * cols * m.row_tiles  # (row_tiles - 1) merges + 1 signed subtraction
            uniq = unique_inputs(v)
            read_bytes = (vec * rows + uniq) * ip / 8
            write_bytes = (uniq + vec * cols) * ip / 8
            tile_side = comp.htree_length(sum(a.values()) / m.tiles)
            # inputs are broadcast once per row tile over the tile H-tree (shared wire);
            # partial sums travel from every row tile to the tile adder tree
            bits_tile = vec * rows * ip + vec * cols * m.row_tiles * w_ps
            bits_chip = (uniq + vec * cols) * ip
            bit_m = bits_tile * tile_side + bits_chip * l_chip

            e = _zeros()
            e["array"] = cell_reads * activity * e_cell + zeta * (
                conversions * e_bl + row_act * e_wl
            )
            e["adc"] = zeta * conversions * e_adc
            e["accumulation"] = zeta * (
                shift_adds * comp.add_energy(tech, w_ws)
                + input_shift_adds * comp.add_energy(tech, w_sa)
                + psum_adds * comp.add_energy(tech, w_ps)
            )
            e["buffer"] = zeta * comp.sram_energy(tech, read_bytes + write_bytes)
            e["interconnect"] = zeta * comp.wire_energy(tech, bit_m)
            e["other"] = zeta * (
                row_act * e_drv
                + conversions * e_mux
                + control * (e["adc"] + e["accumulation"]) / zeta
            )

            # --- latency (clock cycles of t_clk) ---
            # per input bit: `reads` sensing cycles (read groups x mux), each ADC word
            # shift-added in its own cycle (NeuroSim synchronous ShiftAdd: not overlapped),
            # then the input shift-add drains `passes` words per read group
            reads = m.max_read_groups * cm
            n_compute = vec * cycles * (2 * reads + m.max_read_groups * passes)
            # row-tile partial sums: `passes` words through a pipelined adder tree, plus
            # the signed (offset) subtraction / output register
            n_accum = vec * (passes + math.ceil(math.log2(m.row_tiles)) + 1)
            # tile buffer (SRAM, sub_cols-bit port): write unique inputs, read im2col vectors
            # for this tile's row tiles, write outputs; the tile H-tree (sub_cols bits) moves
            # the same vectors to the arrays and partial sums to the adder tree
            rows_tile = min(rows, math.ceil(m.row_tiles / m.tiles) * sr)
            cols_tile = math.ceil(cols / max(1, m.tiles // m.row_tiles))
            in_bits = vec * rows_tile * ip
            out_bits = vec * cols_tile * ip
            uniq_bits = uniq * ip * rows_tile / rows
            n_tile_buf = math.ceil((uniq_bits + in_bits + out_bits) / sc)
            tile_wire = comp.repeated_wire_delay(tech, tile_side)
            n_tile_bus = math.ceil((in_bits + vec * cols_tile * w_ps) / sc) + math.ceil(
                tile_wire / t_clk
            )
            # global buffer (bus_bits port) and chip H-tree: unique inputs in, outputs out
            chip_bits = (uniq + vec * cols) * ip
            n_glb = math.ceil(chip_bits / bus_bits)
            n_chip_bus = n_glb + math.ceil(t_chip_wire / t_clk)
            t_compute = n_compute * t_clk
            t_accum = n_accum * t_clk
            t_buffer = (n_tile_buf + n_glb) * t_clk
            t_ic = (n_tile_bus + n_chip_bus) * t_clk
            latency = t_compute + t_accum + t_buffer + t_ic
            layer_results.append(
                {
                    "name": v["name"],
                    "kind": v["kind"],
                    "rows": rows,
                    "cols": cols,
                    "vectors": vec,
                    "macs": rows * cols * vec,
                    "ops": 2 * rows * cols * vec,
                    "crossbar_rows": m.rows,
                    "crossbar_cols": m.cols,
                    "weight_slices": slices,
                    "input_cycles": cycles,
                    "parallel_read": m.parallel_read,
                    "row_tiles": m.row_tiles,
                    "col_tiles": m.col_tiles,
                    "arrays": m.arrays,
                    "allocated_arrays": m.allocated_arrays,
                    "pes": m.pes,
                    "tiles": m.tiles,
                    "adcs": m.allocated_arrays * n_adc,
                    "utilization": m.utilization,
                    "array_utilization": m.array_utilization,
                    "row_activations": row_act,
                    "cell_reads": cell_reads,
                    "adc_conversions": conversions,
                    "shift_adds": shift_adds + input_shift_adds,
                    "psum_adds": psum_adds,
                    "buffer_read_bytes": read_bytes,
                    "buffer_write_bytes": write_bytes,
                    "buffer_bytes": read_bytes + write_bytes,
                    "interconnect_bit_mm": bit_m * 1e3,
                    "latency_s": latency,
                    "latency_breakdown_s": {
                        "compute": t_compute,
                        "accumulation": t_accum,
                        "io": t_buffer + t_ic,
                    },
                    "buffer_latency_s": t_buffer,
                    "interconnect_latency_s": t_ic,
                    "dynamic_energy_J": sum(e.values()),
                    "energy_breakdown_J": e,
                    "area_mm2": sum(a.values()) * 1e6,
                    "area_breakdown_mm2": {k: x * 1e6 for k, x in a.items()},
                }
            )

        # ---- chip totals --------------------------------------------------------------------
        periphery = total_area - chip_area["array"]
        sram_cells = (
            sum(m.allocated_arrays for m in maps) * sr * sc if cell_type.startswith("SRAM") else 0
        )
        p_leak = comp.leakage_power(tech, periphery, sram_cells)
        sum_lat = sum(r["latency_s"] for r in layer_results)
        if hw["ppa_mode"] == "pipeline":
            latency = max(r["latency_s"] for r in layer_results)
        else:
            latency = sum_lat
        leak_e = p_leak * latency
        for r in layer_results:
            r["leakage_energy_J"] = leak_e * r["latency_s"] / sum_lat
            r["energy_J"] = r["dynamic_energy_J"] + r["leakage_energy_J"]

        energy_bd = _zeros()
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
                "subarrays_per_pe": spp,
                "pes_per_tile": ppt,
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
