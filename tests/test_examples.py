"""The examples/ pipelines run end to end and compute what they claim to."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("numpy")

import numpy as np

import liuray
from liuray.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "channel_average"
GRAPH = EXAMPLE / "graph.json"


@pytest.fixture
def example_code(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ModuleType]]:
    """The example's modules, imported from its folder (as `liuray run` makes possible)."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    yield {name: importlib.import_module(name) for name in ("spectral", "make_graph")}


def cube_arguments(graph: list[dict[str, Any]]) -> dict[str, Any]:
    """The make_cube app's applicationArgs, as plain keyword arguments."""
    (make_cube,) = [spec for spec in graph if spec["oid"] == "make_cube"]
    return {name: field["value"] for name, field in make_cube["applicationArgs"].items()}


def expected_spectrum(cube: np.ndarray, frequencies: list[float]) -> np.ndarray:
    """Independent numpy: per channel, clip samples > 5 robust sigmas from the median,
    then take the vector mean; columns as in the example's spectrum.npy."""
    rows = []
    for channel, frequency in enumerate(frequencies):
        samples = cube[:, :, channel].reshape(-1).astype(np.complex128)
        centre = complex(np.median(samples.real), np.median(samples.imag))
        distance = np.abs(samples - centre)
        sigma = np.median(distance) / np.sqrt(np.log(4.0))
        good = samples[distance <= 5.0 * sigma]
        mean = good.mean()
        rows.append(
            [
                channel,
                frequency,
                np.abs(mean),
                np.angle(mean, deg=True),
                np.std(good.real) / np.sqrt(good.size),
                1 - good.size / samples.size,
            ]
        )
    return np.array(rows)


def test_committed_graph_matches_make_graph(example_code: dict[str, ModuleType]) -> None:
    """graph.json is exactly what `make_graph.py` writes by default (regenerate if not)."""
    assert json.loads(GRAPH.read_text()) == example_code["make_graph"].build_graph()


def test_demo_command_computes_the_spectrum(
    example_code: dict[str, ModuleType], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`liuray run examples/channel_average/graph.json` (what `make demo` runs) finishes;
    spectrum.npy equals a plain-numpy reduction of the same seeded cube, the HI line shows
    up in the channel holding 1420.406 MHz, every channel is within 5 sigma of the model,
    and the CSV report and the bash summary line agree with the spectrum."""
    session = tmp_path / "session"
    assert main(["run", str(GRAPH), "--session-dir", str(session), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"{session / 'spectrum.npy'}" in out
    assert f"{session / 'summary.txt'}" in out

    graph = json.loads(GRAPH.read_text())
    arguments = cube_arguments(graph)
    n_channels = arguments["n_channels"]
    frequencies = [
        arguments["start_mhz"] + (channel + 0.5) * arguments["width_mhz"]
        for channel in range(n_channels)
    ]
    cube = example_code["spectral"].make_visibilities(**arguments)
    spectrum = np.load(session / "spectrum.npy")
    expected = expected_spectrum(cube, frequencies)
    np.testing.assert_allclose(spectrum, expected, rtol=1e-9, atol=1e-12)

    peak = int(np.argmax(spectrum[:, 2]))
    assert abs(frequencies[peak] - 1420.406) <= arguments["width_mhz"] / 2
    model = 2.0 * (np.array(frequencies) / 1420.0) ** -0.7 + 1.5 * np.exp(
        -0.5 * ((np.array(frequencies) - 1420.406) / 0.8) ** 2
    )
    assert np.all(np.abs(spectrum[:, 2] - model) < 5 * spectrum[:, 4])
    assert np.all((spectrum[:, 5] > 0) & (spectrum[:, 5] < 0.01))  # RFI flagged, not more

    report = np.loadtxt(session / "report.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(report, spectrum, atol=1e-3)
    flagged = 100 * np.mean(report[:, 5])
    assert (session / "summary.txt").read_text() == (
        f"peak {report[peak, 2]:.3f} Jy at {report[peak, 1]:.3f} MHz "
        f"(channel {peak} of {n_channels}), {flagged:.2f}% flagged\n"
    )


def test_make_graph_channels_option_scales_the_scatter(
    example_code: dict[str, ModuleType], tmp_path: Path
) -> None:
    """`make_graph.py --channels 3` writes a 3-way scatter (4 drops per channel + 9), and
    running it through the Python API gives a 3-row spectrum."""
    output = tmp_path / "three.json"
    example_code["make_graph"].main(["--channels", "3", "--times", "16", "--output", str(output)])
    graph = json.loads(output.read_text())
    assert len(graph) == 3 * 4 + 9
    assert len([spec for spec in graph if spec["oid"].startswith("average_")]) == 3

    result = liuray.run(output, session_dir=tmp_path / "session")

    assert result.ok, result.failures
    spectrum = np.load(tmp_path / "session" / "spectrum.npy")
    assert spectrum.shape == (3, 6)
    assert spectrum[:, 0].tolist() == [0.0, 1.0, 2.0]
