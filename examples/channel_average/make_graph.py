# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the channel-average pipeline as a DALiuGE physical graph (``graph.json``).

Usage::

    python examples/channel_average/make_graph.py               # 8 channels -> graph.json
    python examples/channel_average/make_graph.py --channels 64 --output /tmp/big.json

The graph (``examples/README.md`` draws it)::

    make_cube -> cube -+-> extract_c -> channel_c -> average_c -> mean_c -+-> combine
                       |   (one branch per channel c = 0 .. N-1)          |
    combine -> spectrum.npy (file)
            -> spectrum (memory) -> report -> report.csv -> summarise -> summary.txt

Every link carries a port name (``{oid: port}``), so PyFuncApp binds each input to the
function parameter of the same name; scalar settings travel as ``applicationArgs``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from spectral import channel_frequency

HERE = Path(__file__).resolve().parent
PYFUNC = "dlg.apps.pyfunc.PyFuncApp"
BASH = "dlg.apps.bash_shell_app.BashShellApp"
MEMORY = "dlg.data.drops.memory.InMemoryDROP"
FILE = "dlg.data.drops.file.FileDROP"

# Prints e.g. "peak 3.468 Jy at 1420.500 MHz (channel 4 of 8), 0.21% flagged".
SUMMARY_COMMAND = (
    "awk -F, 'NR > 1 && (NR == 2 || $3 > peak) {peak = $3; freq = $2; chan = $1} "
    "NR > 1 {flagged += $6} "
    'END {printf "peak %.3f Jy at %.3f MHz (channel %d of %d), %.2f%% flagged\\n", '
    "peak, freq, chan, NR - 1, 100 * flagged / (NR - 1)}' {report} > {summary}"
)


def argument(value: Any, kind: str) -> dict[str, Any]:
    """An EAGLE application argument that is not a port."""
    return {"value": value, "type": kind, "usage": "NoPort"}


def port(usage: str, encoding: str) -> dict[str, Any]:
    """An EAGLE port field, which is where a port's ``encoding`` is declared."""
    return {"value": "", "type": "Object", "usage": usage, "encoding": encoding}


def app(oid: str, name: str, dropclass: str, **fields: Any) -> dict[str, Any]:
    """An application drop spec."""
    return {
        "oid": oid,
        "name": name,
        "categoryType": "Application",
        "dropclass": dropclass,
        "node": "localhost",
        "island": "localhost",
        "inputs": [],
        "outputs": [],
        **fields,
    }


def data(oid: str, name: str, dropclass: str, **fields: Any) -> dict[str, Any]:
    """A data drop spec (links are added from the app side)."""
    return {
        "oid": oid,
        "name": name,
        "categoryType": "Data",
        "dropclass": dropclass,
        "node": "localhost",
        "island": "localhost",
        **fields,
    }


def link(producer: dict[str, Any], item: dict[str, Any], port_name: str) -> None:
    """``producer`` writes ``item`` through its output port ``port_name``."""
    producer["outputs"].append({item["oid"]: port_name})
    item.setdefault("producers", []).append({producer["oid"]: port_name})


def feed(item: dict[str, Any], consumer: dict[str, Any], port_name: str) -> None:
    """``consumer`` reads ``item`` on its input port ``port_name``."""
    consumer["inputs"].append({item["oid"]: port_name})
    item.setdefault("consumers", []).append({consumer["oid"]: port_name})


def build_graph(
    channels: int = 8, n_times: int = 256, start_mhz: float = 1416.0, width_mhz: float = 1.0
) -> list[dict[str, Any]]:
    """The physical graph as a list of DALiuGE drop specs."""
    make_cube = app(
        "make_cube",
        "Make visibility cube",
        PYFUNC,
        func_name="spectral.make_visibilities",
        applicationArgs={
            "n_channels": argument(channels, "Integer"),
            "n_times": argument(n_times, "Integer"),
            "start_mhz": argument(start_mhz, "Float"),
            "width_mhz": argument(width_mhz, "Float"),
            "seed": argument(42, "Integer"),
        },
    )
    cube = data("cube", "Visibility cube", MEMORY)
    link(make_cube, cube, "cube")
    combine = app(
        "combine",
        "Combine spectrum",
        PYFUNC,
        func_name="spectral.combine_spectrum",
        applicationArgs={"spectrum_file": port("OutputPort", "npy")},
    )
    specs = [make_cube, cube]
    for channel in range(channels):
        extract = app(
            f"extract_{channel}",
            f"Extract channel {channel}",
            PYFUNC,
            func_name="spectral.extract_channel",
            applicationArgs={"channel": argument(channel, "Integer")},
        )
        visibilities = data(f"channel_{channel}", f"Channel {channel}", MEMORY)
        average = app(
            f"average_{channel}",
            f"Average channel {channel}",
            PYFUNC,
            func_name="spectral.average_channel",
            applicationArgs={
                "channel": argument(channel, "Integer"),
                "frequency_mhz": argument(
                    channel_frequency(channel, start_mhz, width_mhz), "Float"
                ),
                "clip_sigma": argument(5.0, "Float"),
            },
        )
        mean = data(f"mean_{channel}", f"Channel {channel} average", MEMORY)
        feed(cube, extract, "cube")
        link(extract, visibilities, "visibilities")
        feed(visibilities, average, "visibilities")
        link(average, mean, "channel_average")
        # Port names that match no parameter go positionally, into *channel_averages.
        feed(mean, combine, "channel_average")
        specs += [extract, visibilities, average, mean]

    spectrum_file = data("spectrum_file", "Spectrum (npy)", FILE, filepath="spectrum.npy")
    spectrum = data("spectrum", "Spectrum", MEMORY)
    link(combine, spectrum_file, "spectrum_file")
    link(combine, spectrum, "spectrum")
    report = app(
        "report",
        "Write CSV report",
        PYFUNC,
        func_name="spectral.write_report",
        applicationArgs={"report": port("OutputPort", "utf-8")},
    )
    report_file = data("report_file", "Report (CSV)", FILE, filepath="report.csv")
    feed(spectrum, report, "spectrum")
    link(report, report_file, "report")
    summarise = app("summarise", "Summarise", BASH, command=SUMMARY_COMMAND)
    summary = data("summary", "Summary line", FILE, filepath="summary.txt")
    feed(report_file, summarise, "report")
    link(summarise, summary, "summary")
    return [*specs, combine, spectrum_file, spectrum, report, report_file, summarise, summary]


def main(argv: list[str] | None = None) -> None:
    """Parse the options and write the graph."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=8, help="spectral channels (default 8)")
    parser.add_argument("--times", type=int, default=256, help="integrations (default 256)")
    parser.add_argument(
        "--output", type=Path, default=HERE / "graph.json", help="where to write the graph"
    )
    args = parser.parse_args(argv)
    if args.channels < 1 or args.times < 1:
        parser.error("--channels and --times must be positive")
    graph = build_graph(args.channels, args.times)
    args.output.write_text(json.dumps(graph, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(graph)} drops to {args.output}")


if __name__ == "__main__":
    main()
