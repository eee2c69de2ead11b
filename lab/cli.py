"""The command line: ``dllab`` opens the window; ``dllab render`` works headless.

    dllab [--tab NAME] [--device DEV] [--presentation] [--preset FILE]
    dllab render PRESET --out DIR [--device DEV] [--scale S]
    dllab presets [TAB]
    dllab --version
"""

from __future__ import annotations

import argparse
import os
import sys

import lab
from lab.tabs import TABS

__all__ = ["main"]


def _window_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dllab",
        description="A desktop teaching lab for deep learning.",
        epilog="Headless: 'dllab render PRESET --out DIR' writes a preset's figures; 'dllab presets' lists them.",
    )
    p.add_argument("--version", action="version", version=f"dllab {lab.__version__}")
    p.add_argument("--tab", choices=[t.name for t in TABS], help="open this lab first")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--presentation", action="store_true", help="large fonts and thick lines for a projector")
    p.add_argument("--preset", help="an experiment file or a preset name (tab/name) to open")
    p.add_argument("--exit-after-paint", action="store_true", help=argparse.SUPPRESS)
    return p


def _render_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dllab render", description="Run a preset headless and write its figures and data.")
    p.add_argument("preset", help="an experiment JSON file, or tab/name of a preset in assets/presets")
    p.add_argument("--out", required=True, help="folder to write PNG and CSV files into")
    p.add_argument("--device", default="cpu", help="device to run on (default: cpu)")
    p.add_argument("--scale", type=float, default=2.0, help="PNG scale, 1 to 4 (default 2)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "render":
        args = _render_parser().parse_args(argv[1:])
        return render(args.preset, args.out, device=args.device, scale=args.scale)
    if argv and argv[0] == "presets":
        return list_presets_command(argv[1] if len(argv) > 1 else None)
    args = _window_parser().parse_args(argv)
    if args.device:
        try:
            from core.devices import resolve

            resolve(args.device)
        except ValueError as exc:
            print(f"dllab: {exc}", file=sys.stderr)
            return 2
    from lab.app import run_app

    preset = None
    if args.preset:
        from lab.experiments import find_preset

        try:
            preset = str(find_preset(args.preset))
        except ValueError as exc:
            print(f"dllab: {exc}", file=sys.stderr)
            return 2
    return run_app(
        tab=args.tab,
        device=args.device,
        presentation=args.presentation,
        preset=preset,
        exit_after_paint=args.exit_after_paint,
    )


def list_presets_command(tab: str | None) -> int:
    from lab.experiments import list_presets

    for spec in TABS:
        if tab and spec.name != tab:
            continue
        for exp in list_presets(spec.name):
            ref = f"{spec.name}/{exp.path.stem}"
            print(f"{ref:40s} {exp.title}")
    return 0


def render(preset_ref: str, out_dir: str, *, device: str = "cpu", scale: float = 2.0) -> int:
    """Run a preset without a window and write its figures; returns an exit status."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from lab.experiments import find_preset, load_experiment
    from lab.render import render_experiment

    try:
        exp = load_experiment(find_preset(preset_ref))
        written = render_experiment(exp, out_dir, device=device, scale=scale)
    except ValueError as exc:
        print(f"dllab render: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0
