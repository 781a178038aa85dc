# SPDX-License-Identifier: LGPL-2.1-or-later
"""The science code of the channel-average example: plain numpy functions.

The graph's PyFuncApp drops name these functions by import path (``func_name`` such as
``spectral.extract_channel``), so this directory must be on ``sys.path`` when the graph
runs; ``liuray run`` puts the graph file's directory there by default (``--code-path``).
Nothing here knows about liuray: every function takes and returns ordinary values and
can be tested on its own.

The data are a synthetic visibility cube shaped like a measurement set's DATA column,
``(time, baseline, channel)``: an unresolved source at the phase centre whose flux is a
power-law continuum plus a Gaussian HI line at 1420.406 MHz, complex Gaussian noise, and
a sprinkle of strong radio-frequency interference (RFI) spikes. Averaging each channel
with a robust clip recovers the source spectrum and finds the line.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

HI_LINE_MHZ = 1420.406
"""Rest frequency of the neutral-hydrogen line."""

SPECTRUM_COLUMNS = ("channel", "frequency_mhz", "amplitude_jy", "phase_deg", "noise_jy", "flagged")
"""Columns of the spectrum array made by :func:`combine_spectrum`."""


def channel_frequency(channel: int, start_mhz: float, width_mhz: float) -> float:
    """Centre frequency (MHz) of ``channel`` in a band starting at ``start_mhz``."""
    return start_mhz + (channel + 0.5) * width_mhz


def source_flux(frequency_mhz: Any) -> Any:
    """The model source's flux density (Jy): a continuum of 2 Jy at 1420 MHz with spectral
    index -0.7, plus a 1.5 Jy HI line of 0.8 MHz (standard deviation)."""
    frequency = np.asarray(frequency_mhz, dtype=np.float64)
    continuum = 2.0 * (frequency / 1420.0) ** -0.7
    line = 1.5 * np.exp(-0.5 * ((frequency - HI_LINE_MHZ) / 0.8) ** 2)
    return continuum + line


def make_visibilities(
    n_channels: int = 8,
    n_times: int = 256,
    n_antennas: int = 24,
    start_mhz: float = 1416.0,
    width_mhz: float = 1.0,
    noise_jy: float = 5.0,
    rfi_fraction: float = 0.002,
    seed: int = 42,
) -> np.ndarray:
    """A seeded synthetic visibility cube, shape ``(time, baseline, channel)``, complex64.

    Args:
        n_channels: spectral channels.
        n_times: integrations.
        n_antennas: antennas; every pair is a baseline (``n * (n - 1) / 2``).
        start_mhz: lower edge of the band.
        width_mhz: channel width.
        noise_jy: standard deviation of the real and imaginary noise per sample.
        rfi_fraction: fraction of samples hit by a strong RFI spike.
        seed: random seed, so every run makes the same cube.
    """
    rng = np.random.default_rng(seed)
    n_baselines = n_antennas * (n_antennas - 1) // 2
    shape = (n_times, n_baselines, n_channels)
    frequencies = [channel_frequency(c, start_mhz, width_mhz) for c in range(n_channels)]
    # A point source at the phase centre: the same flux on every baseline and time.
    cube = np.empty(shape, dtype=np.complex64)
    cube.real = rng.normal(0.0, noise_jy, shape)
    cube.imag = rng.normal(0.0, noise_jy, shape)
    cube += source_flux(frequencies).astype(np.float32)
    hits = rng.random(shape) < rfi_fraction
    spikes = 40.0 * noise_jy * np.exp(2j * np.pi * rng.random(int(hits.sum())))
    cube[hits] += spikes.astype(np.complex64)
    return cube


def extract_channel(cube: np.ndarray, channel: int) -> np.ndarray:
    """One channel's visibilities, ``(time, baseline)``, as a contiguous copy."""
    if not 0 <= channel < cube.shape[-1]:
        raise ValueError(f"channel {channel} is outside the cube's {cube.shape[-1]} channels")
    return np.ascontiguousarray(cube[..., channel])


def average_channel(
    visibilities: np.ndarray,
    channel: int,
    frequency_mhz: float,
    clip_sigma: float = 5.0,
) -> dict[str, float]:
    """The vector average of one channel after clipping outliers (RFI).

    Samples further than ``clip_sigma`` noise sigmas from the median visibility are
    flagged. The noise sigma is estimated robustly from the median absolute deviation:
    for complex Gaussian noise the deviation's amplitude is Rayleigh distributed, whose
    median is ``sigma * sqrt(2 ln 2)``.

    Returns:
        ``channel``, ``frequency_mhz``, ``amplitude_jy`` and ``phase_deg`` of the mean,
        ``noise_jy`` (standard error of the mean's real part) and ``flagged`` (fraction).
    """
    samples = visibilities.ravel().astype(np.complex128)
    centre = np.median(samples.real) + 1j * np.median(samples.imag)
    deviation = np.abs(samples - centre)
    sigma = np.median(deviation) / np.sqrt(2.0 * np.log(2.0))
    kept = samples[deviation <= clip_sigma * sigma]
    mean = kept.mean()
    return {
        "channel": float(channel),
        "frequency_mhz": float(frequency_mhz),
        "amplitude_jy": float(abs(mean)),
        "phase_deg": float(np.degrees(np.angle(mean))),
        "noise_jy": float(kept.real.std() / np.sqrt(kept.size)),
        "flagged": 1.0 - kept.size / samples.size,
    }


def combine_spectrum(*channel_averages: dict[str, float]) -> np.ndarray:
    """Gather per-channel averages (in any order) into a ``(channel, column)`` array.

    The columns are :data:`SPECTRUM_COLUMNS`; rows are sorted by channel.
    """
    if not channel_averages:
        raise ValueError("no channel averages to combine")
    rows = sorted(channel_averages, key=lambda average: average["channel"])
    return np.array([[row[column] for column in SPECTRUM_COLUMNS] for row in rows])


def write_report(spectrum: np.ndarray) -> str:
    """The spectrum as CSV text, one row per channel, with a header line."""
    text = io.StringIO()
    np.savetxt(
        text,
        spectrum,
        delimiter=",",
        header=",".join(SPECTRUM_COLUMNS),
        comments="",
        fmt=["%d", "%.4f", "%.6f", "%.3f", "%.6f", "%.5f"],
    )
    return text.getvalue()
