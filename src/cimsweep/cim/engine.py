"""Vectorised noisy crossbar execution of one Linear / Conv2d layer.

Data path of one matrix-vector product (MVM), for a batch of ``M`` input vectors:

1. inputs -> unsigned integer codes (asymmetric, zero point ``z``; :mod:`cimsweep.nn.quant`);
   conv layers via im2col;
2. codes -> ``n_x`` DAC slices of ``dac_precision`` bits (bit-serial for 1);
3. per read group ``g`` (a subarray row tile split by ``parallel_read``), per input slice and
   per physical column of every weight slice: the analog column sum (unit products, see
   :mod:`.converters`) of the chip's programmed cells, plus Gaussian read noise
   (``sum x_i**2`` scaled) and output noise (ADC LSB, or the per-level offset and std of
   ``output_noise_file``), then the ADC;
4. digital shift-add over input slices (``2**(dac*ix)``) and weight slices (``L**iw``),
   accumulation over read groups (each scaled by its global drift compensation factor when
   ``drift_compensation`` is on), positive - negative (or - reference) columns, zero-point
   correction ``- z * sum_i q_w[i, col]``, dequantisation and bias.

Chunks (read groups x input vectors, :meth:`LayerEngine.chunks`) cover every input slice and
weight slice of their groups. On CPU one compiled pass per chunk (:func:`.kernel.read`) slices
the input codes, sums the weights of each read's nonzero slices, adds the noise and runs the ADC
and the input shift-add; for long reads of multi-bit slices, BLAS forms the partial sums and the
same compiled pass follows (:mod:`.read_plan`: identical numbers with exact partial sums, float32
rounding apart with programmed or drifted cells);
elsewhere (or with ``output_noise_file``) whole-tensor torch ops with one batched matmul per
chunk give the same numbers (bit for bit when partial sums are exact, as with integer cell
levels; under programming noise or drift the two sum in different orders and
agree to float32 rounding). When the ADC resolves every unit product without clipping and the
chip is noise free with integer levels, steps 2-4 are exactly linear and collapse into one
integer matmul (``transparent`` path).
"""

from __future__ import annotations

import torch
from torch import nn

from cimsweep.cim import (
    adc_calibration,
    bucket_read,
    devices,
    kernel,
    per_call,
    read_plan,
    semantics,
)
from cimsweep.cim.chip import Chip, LayerStats
from cimsweep.cim.converters import adc_full_scale
from cimsweep.cim.mapping import CrossbarMap, im2col, weight_matrix
from cimsweep.cim.models.adc import adc_model
from cimsweep.layout import n_input_slices
from cimsweep.nn.models import layer_bias
from cimsweep.nn.quant import (
    channel_weight_max,
    input_code_max,
    input_qparams,
    quantize_input,
    quantize_weight,
    weight_scale,
)

CHUNK_ELEMENTS = 1 << 19  # partial sums per chunk (cache-sized working set)


def _shape(value: int | tuple[int, ...]) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    return int(value[0]), int(value[1])


class LayerEngine:
    """Quantized weights, crossbar mapping and ADC ranges of one layer; runs noisy MVMs."""

    def __init__(self, name: str, module: nn.Module, rng: dict, sim: dict):
        self.name = name
        self.module = module
        self.kind = "conv2d" if isinstance(module, nn.Conv2d) else "linear"
        sim = semantics.effective_sim(sim)
        wp, ip = int(sim["weight_precision"]), int(sim["input_precision"])
        w = weight_matrix(module).float()
        device = w.device
        bias = layer_bias(module)
        self.bias = None if bias is None else bias.detach().float()
        w_max: float | torch.Tensor = float(rng["weight_max"])
        if sim.get("weight_quant_axis", "tensor") == "channel":
            w_max = channel_weight_max(w, float(w_max), dim=1)[0]  # (cols,)
        self.w_scale = weight_scale(w_max, wp)
        self.q_w = quantize_weight(w, w_max, wp)
        self.input_scheme = str(sim.get("input_quant", "asymmetric"))
        self.x_scale, self.zero_point = input_qparams(
            float(rng["input_min"]), float(rng["input_max"]), ip, self.input_scheme
        )
        self.input_bits = ip
        self.dummy_row = sim.get("input_offset", "digital") == "dummy_row"
        sub_rows, sub_cols = _shape(sim["sub_array"])
        self.map = CrossbarMap(
            rows=w.shape[0],
            cols=w.shape[1],
            sub_rows=sub_rows,
            sub_cols=sub_cols,
            parallel_read=int(sim["parallel_read"]),
            bitcell=int(sim["bitcell"]),
            weight_precision=wp,
            signed_mapping=str(sim["signed_mapping"]),
            offset_reference=str(sim.get("offset_reference", "tile")),
        )
        self.sim = sim
        self.dac = min(int(sim["dac_precision"]), ip)
        self.n_x = n_input_slices(ip, self.dac)
        self.cell_levels = self.map.levels
        self.cells = devices.cell_model(sim, self.cell_levels)
        self.c_cell = self.cells.c  # off-state baseline of the cells (unit levels)
        self.c = 0.0 if semantics.off_subtracted(sim) else self.c_cell  # baseline the ADC sees
        self.adc = adc_model(sim)
        self.adc_bits = int(sim["adc_precision"])
        self.kmax = self.adc.kmax(self.adc_bits)
        self.levels = self.map.encode(self.q_w)  # (n_w, rows, phys_cols), uint8
        self.colsum = self.q_w.sum(0)
        # every product, partial and column sum of the digital reference is an integer below
        # 2**24, so float32 holds it exactly however the matmul orders its additions
        max_code = 2.0**ip - 1
        bound = w.shape[0] * max_code * float(self.q_w.abs().max()) if w.numel() else 0.0
        self._reference_exact = bound < 2.0**24
        self._q8 = read_plan.int8_weights(  # exact int8 GEMM for the reference (CPU)
            self.q_w, input_code_max(ip, self.zero_point, self.input_scheme)
        )
        group_rows = torch.tensor([n for _, n in self.map.groups], dtype=torch.float64)
        self.full_scale = adc_full_scale(group_rows, self.dac, self.cell_levels, self.c)
        self.hi = self.full_scale[:, None].repeat(1, self.map.n_w)  # (G, n_w) unit products
        self.read_sigma = devices.read_noise_units(float(sim["read_noise"]), self.cell_levels)
        self.cell_noise = semantics.cell_noise(sim, float(sim["read_noise"]))
        if self.cell_noise is not None:  # drawn per call as a cell perturbation, not per read
            self.read_sigma = 0.0
        self.out_sigma = max(0.0, float(sim["output_noise"]))
        self.out_table = devices.output_noise_table(sim, device)
        self.allow_linear_path = True
        self.read_strategy: str | None = None  # None: read_plan.choose; "sparse" / "dense"
        self.buckets = [
            (size, idx, self.map.bucket_rows(idx, device)) for size, idx in self.map.buckets
        ]
        self.bucket_first = [self._first_row(rows) for _s, _i, rows in self.buckets]

    # ---------------------------------------------------------------- ranges and properties
    @property
    def step(self) -> torch.Tensor:
        """ADC step (G, n_w) in unit products."""
        return self.adc.step(self.hi, self.adc_bits)

    @property
    def lossless(self) -> bool:
        """ADC resolves every unit product of every possible read without clipping."""
        return bool((self.step == 1).all()) and bool((self.full_scale <= self.kmax + 0.5).all())

    @property
    def noisy_reads(self) -> bool:
        return self.read_sigma > 0 or self.out_sigma > 0 or self.out_table is not None

    @property
    def per_call(self) -> bool:
        """Cells are perturbed afresh at every call (read noise or drift drawn per call)."""
        return self.cell_noise is not None or semantics.drift_per_read(self.sim)

    def describe(self) -> dict:
        """JSON-able mapping facts of this layer."""
        m = self.map
        return {
            "rows": m.rows,
            "cols": m.cols,
            "weight_slices": m.n_w,
            "input_slices": self.n_x,
            "read_groups": len(m.groups),
            "subarrays": m.subarrays,
            "phys_cols": m.phys_cols,
            "adc_step_mean": float(self.step.mean()),
            "adc_lossless": self.lossless,
        }

    # ---------------------------------------------------------------- inputs and outputs
    def input_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        """Unsigned input codes (M, rows) as float, plus what :meth:`finish` needs."""
        codes = quantize_input(x, self.x_scale, self.zero_point, self.input_bits, self.input_scheme)
        if self.kind == "conv2d":  # padding is the code of a real zero: the zero point
            assert isinstance(self.module, nn.Conv2d)
            cols, hw = im2col(codes, self.module, float(self.zero_point))
            return cols, ("conv2d", x.shape[0], hw)
        return codes.reshape(-1, x.shape[-1]), ("linear", x.shape[:-1])

    def reference(self, codes: torch.Tensor) -> torch.Tensor:
        """Digital integer result ``(codes - z) @ q_w`` (M, cols)."""
        if self._q8 is not None and codes.device.type == "cpu":  # exact in any case
            return read_plan.int_reference(codes, *self._q8, self.zero_point)
        if self._reference_exact:  # the same exact integers, without a shifted copy of codes
            return torch.addmm(self.colsum, codes, self.q_w, beta=-self.zero_point)
        return (codes - self.zero_point) @ self.q_w

    def finish(self, t: torch.Tensor, meta: tuple) -> torch.Tensor:
        """Dequantise zero-point-corrected integer sums (M, cols), add bias, restore shape
        (in place: ``t`` is overwritten)."""
        y = t.mul_(self.x_scale * self.w_scale)
        if self.bias is not None:
            y.add_(self.bias)
        if meta[0] == "conv2d":
            n, (ho, wo) = meta[1], meta[2]
            return y.reshape(n, ho, wo, -1).permute(0, 3, 1, 2)
        return y.reshape(*meta[1], -1)

    # ---------------------------------------------------------------- chip programming
    def _bucket_weights(self, units: torch.Tensor) -> list[torch.Tensor]:
        by_row = units.permute(1, 0, 2)  # (rows, n_w, P) view
        out = []
        for _size, _idx, rows in self.buckets:
            w = by_row[rows]  # (G_b, p_b, n_w, P), one contiguous copy
            out.append(w.view(w.shape[0], w.shape[1], -1))
        return out

    def program(self, generator: torch.Generator | None = None, shortcut: bool = True) -> Chip:
        """Program one chip instance (``generator`` None or ideal sim: exact target levels).

        ``shortcut``: a chip whose reads are exactly linear may collapse into one integer matrix
        (``Chip.effective``); False always keeps the per-bucket cell weights.
        """
        ideal = generator is None or devices.is_ideal(self.sim, self.cells)
        if generator is not None and self.per_call:
            return self._program_per_call(generator)
        scale = None
        if ideal:
            n = self.cells.nominal(self.levels)
        elif generator is None:
            raise ValueError("programming a non-ideal chip needs a torch.Generator")
        elif int(self.sim["drift_compensation"]) and devices.drifts(self.sim):
            n, n0 = devices.chip_levels(
                self.levels, self.cell_levels, self.sim, generator, self.cells, with_t0=True
            )
            rows = [size for _, size in self.map.groups]
            scale = devices.drift_scale(n0, n, self.cell_levels, self.c, rows)
        else:
            n = devices.chip_levels(self.levels, self.cell_levels, self.sim, generator, self.cells)
        integer_levels = self.cells.uniform and (
            ideal or (float(self.sim["prog_noise"]) == 0 and not devices.drifts(self.sim))
        )
        effective = None
        if (
            self.allow_linear_path
            and shortcut
            and integer_levels
            and self.lossless
            and not self.noisy_reads
        ):
            levels = torch.round(n * (self.cell_levels - 1))
            effective = self.map.signed_matrix(levels)
            return Chip([], effective)
        units = n.mul_(self.cell_levels - 1).add_(self.c)  # n is this chip's own tensor
        return Chip(self._bucket_weights(units), effective, scale)

    def _program_per_call(self, generator: torch.Generator) -> Chip:
        return per_call.program_per_call(self, generator)

    def perturbed(
        self, chip: Chip, generator: torch.Generator, noise: devices.NoiseStream | None = None
    ) -> Chip:
        """One call's cells of a per-call chip (:func:`.per_call.perturbed`)."""
        return per_call.perturbed(self, chip, generator, noise)

    # ---------------------------------------------------------------- MVM
    def mvm(
        self,
        codes: torch.Tensor,
        chip: Chip,
        noise: devices.NoiseStream | None = None,
        stats: LayerStats | None = None,
    ) -> torch.Tensor:
        """Zero-point-corrected integer sums (M, cols) of the chip on input codes (M, rows).

        ``noise`` supplies read / output noise (required when the sim has any).
        """
        reads = codes.shape[0] * self.n_x * len(self.map.groups) * self.map.n_w * self.map.phys_cols
        if chip.effective is not None:
            if stats is not None:
                stats.reads += reads
            return codes @ chip.effective - self.zero_point * self.colsum
        if (self.noisy_reads or chip.n0 is not None) and noise is None:
            raise ValueError("noisy reads need a NoiseStream")
        if self.dummy_row:  # the zero point's correction read through the crossbar and ADC
            dummy = torch.full_like(codes[:1], float(self.zero_point))
            codes = torch.cat([codes, dummy])
        if chip.n0 is not None:
            assert noise is not None
            phys = self._analog_per_call(codes, chip, noise, stats)
        else:
            phys = self._analog(codes, chip, noise, stats)
        out = self.map.combine(phys)
        if self.map.digital_offset:  # the stored offset, removed after the ADC
            out.sub_(codes.sum(1, keepdim=True), alpha=self.map.digital_offset_units(self.c))
        if self.dummy_row:
            return out[:-1].sub_(out[-1])
        return out.sub_(self.colsum, alpha=self.zero_point)

    def _analog_per_call(
        self,
        codes: torch.Tensor,
        chip: Chip,
        noise: devices.NoiseStream,
        stats: LayerStats | None,
    ) -> torch.Tensor:
        return per_call.analog_per_call(self, codes, chip, noise, stats)

    def chunks(
        self, groups: int, m_total: int, elements: int = CHUNK_ELEMENTS, n_x: int | None = None
    ) -> tuple[int, int]:
        """(read groups, input vectors) per chunk of a bucket of ``groups`` read groups.

        A chunk holds at most ``elements`` partial sums (at least one vector of one group): as
        many vectors as fit for one group, then as many groups as fit. Large layers thus stream
        their weights group by group instead of once per input vector.
        """
        per = (self.n_x if n_x is None else n_x) * self.map.n_w * self.map.phys_cols
        mc = min(m_total, max(1, elements // per))
        return max(1, min(groups, elements // (per * mc))), mc

    @staticmethod
    def _first_row(rows: torch.Tensor) -> int | None:
        """First row of a bucket whose read groups are consecutive rows, else None."""
        first, n = int(rows[0, 0]), rows.numel()
        consecutive = rows.flatten() == torch.arange(first, first + n, device=rows.device)
        return first if bool(consecutive.all()) else None

    @staticmethod
    def _bucket_codes(codes: torch.Tensor, rows: torch.Tensor, first: int | None) -> torch.Tensor:
        """Input codes (G_b, M, p_b) of a bucket's read groups: a strided view when they are
        consecutive rows from ``first``, else a gathered copy."""
        if first is not None:
            return codes[:, first : first + rows.numel()].unflatten(1, rows.shape).transpose(0, 1)
        return codes[:, rows].permute(1, 0, 2)

    def _analog(
        self,
        codes: torch.Tensor,
        chip: Chip,
        noise: devices.NoiseStream | None,
        stats: LayerStats | None,
        n_x: int | None = None,
    ) -> torch.Tensor:
        """Physical column sums (M, phys_cols) of ``n_x`` (default all) input slices."""
        m_total, device = codes.shape[0], codes.device
        n_x = self.n_x if n_x is None else n_x
        n_w, pc = self.map.n_w, self.map.phys_cols
        noisy = self.noisy_reads
        coef_x = (2.0 ** (self.dac * torch.arange(n_x, dtype=torch.float64))).float().to(device)
        step = self.step.to(device)
        slice_w = self.map.slice_weights().to(device)
        fused = kernel.fused(device) and self.out_table is None
        codes = codes.to(torch.float32 if fused else torch.int32)  # the kernel reads float codes
        # float32 variances: read noise per unit product, output noise in ADC steps
        read_var = torch.tensor(self.read_sigma**2, dtype=torch.float32, device=device)
        out_var = torch.tensor(self.out_sigma**2, dtype=torch.float32, device=device)
        out = torch.zeros(m_total, pc, device=device, dtype=torch.float32)
        clipped = 0
        buckets = zip(self.buckets, self.bucket_first, chip.bucket_weights, strict=True)
        for (_size, idx, rows), first, w_b in buckets:
            g_b, p_b = rows.shape
            d4 = slice_w[None, :] * step[idx]  # shift-add x step (x drift compensation)
            if chip.scale is not None:
                d4 = d4 * chip.scale[idx].to(device)
            d4 = d4.float()  # (G_b, n_w)
            inv = 1.0 / step[idx]  # (G_b, n_w) float64
            inv, inv2 = inv.float(), inv.pow(2).float()
            gc, mc_max = self.chunks(g_b, m_total, n_x=n_x)
            levels = (  # partial sums by BLAS where it wins (read_plan.Dense)
                read_plan.plan(p_b, self.dac, w_b, self.c, self.read_strategy) if fused else None
            )
            cb = self._bucket_codes(codes, rows, first)  # (G_b, M, p_b)
            binary = read_plan.binary_cells(w_b) if fused and levels is None else None
            clipped += bucket_read.BucketRead(
                self, cb, w_b, levels, inv, inv2, d4, step[idx], gc, mc_max, n_x, coef_x,
                (read_var, out_var), fused, noise if noisy else None, out, binary,
            ).run()  # fmt: skip
        if stats is not None:
            stats.reads += m_total * n_x * len(self.map.groups) * n_w * pc
            stats.clipped += clipped
        return out

    # ---------------------------------------------------------------- ADC calibration
    def calibrate_adc(self, codes: torch.Tensor) -> None:
        """Set ``adc_range = calibrated`` clips (:func:`.adc_calibration.calibrate_adc`)."""
        adc_calibration.calibrate_adc(self, codes)

    def tune_adc(self, codes: torch.Tensor) -> float:
        """``adc_range = tuned`` clips; returns the winning error (see :mod:`.adc_calibration`)."""
        return adc_calibration.tune_adc(self, codes)
