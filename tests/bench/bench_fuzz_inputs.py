"""Long fuzz of the files and text a student hands the lab, besides experiment files
(those are tests/bench/bench_fuzz_experiments.py): model archives, the network builder's
point CSVs, image class folders and formulas.

Every input must either be taken or be refused with a ValueError that says why; anything
else is counted as uncaught (the first few tracebacks are printed). The default suite
runs a few hundred of the same kinds of case (tests/core/test_model_archive_fuzz.py,
tests/core/test_safe_expr.py, tests/core/datasets/test_images.py); this runs many more.

    python tests/bench/bench_fuzz_inputs.py [--cases N] [--seed S]

The last line printed is one JSON object: {"cases", "seed", "kinds": {kind: counts}, "total": counts}.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

SHOWN_TRACEBACKS = 3


class Tally:
    def __init__(self):
        self.counts = {"tried": 0, "taken": 0, "refused": 0, "uncaught": 0}
        self.tracebacks: list[str] = []

    def run(self, case) -> None:
        self.counts["tried"] += 1
        try:
            case()
        except ValueError as exc:
            if not str(exc).strip():
                raise AssertionError("a refusal must say why") from exc
            self.counts["refused"] += 1
        except Exception:
            self.counts["uncaught"] += 1
            if len(self.tracebacks) < SHOWN_TRACEBACKS:
                self.tracebacks.append(traceback.format_exc())
        else:
            self.counts["taken"] += 1


def archive_sources(folder: Path) -> dict[str, bytes]:
    from core.images.models import preset_layers
    from core.images.training import SPEC_KIND, model_from_spec
    from core.model_io import save_model_archive
    from core.network.model import NetworkSpec, build_network

    image_spec = {"kind": SPEC_KIND, "layers": preset_layers("small_cnn"), "input_shape": [1, 16, 16],
                  "classes": ["a", "b"], "mean": [0.5], "std": [0.25]}
    net_spec = NetworkSpec(hidden=(3,), activations=("tanh",), dropout=(0.0,), batchnorm=(False,)).model_spec()
    image = save_model_archive(folder / "image.zip", model_from_spec(image_spec), image_spec, {}, torchscript=False)
    network = save_model_archive(folder / "network.zip", build_network(net_spec), net_spec, {}, torchscript=False)
    return {"image": image.read_bytes(), "network": network.read_bytes()}


def mutate_archive(rng: random.Random, data: bytes) -> bytes:
    choice = rng.random()
    if choice < 0.4:  # bytes flipped
        out = bytearray(data)
        for _ in range(rng.randint(1, 12)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if choice < 0.6:  # cut short
        return data[: rng.randrange(len(data))]
    # one member rewritten: its JSON or weights replaced by garbage of the right name
    src = zipfile.ZipFile(io.BytesIO(data))
    names = src.namelist()
    victim = rng.choice(names)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in names:
            body = src.read(name)
            if name == victim:
                if name.endswith(".json") and rng.random() < 0.7:
                    doc = json.loads(body)
                    key = rng.choice(list(doc)) if isinstance(doc, dict) and doc else None
                    garbage = rng.choice([None, -1, 1e308, "x" * rng.randint(0, 50), [], {}, [[1]] * 3, True, 2**70])
                    if key is not None:
                        doc[key] = garbage
                    body = json.dumps(doc).encode()
                else:
                    body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
            dst.writestr(name, body)
    return out.getvalue()


def archive_case(rng: random.Random, sources: dict[str, bytes], folder: Path):
    from core.model_io import load_model

    path = folder / f"a{rng.randrange(10**9)}.zip"
    path.write_bytes(mutate_archive(rng, sources[rng.choice(list(sources))]))

    def case():
        try:
            load_model(path)
        finally:
            path.unlink()

    return case


CSV_CELLS = ["0", "1", "-1", "0.5", "1e39", "1e308", "-1e308", "nan", "inf", "-inf", "", " ", "abc", "1,5", "2", "-3",
             "1e4", "10001", "999999", "1e7", "0x10", "１", "\x00", "3.0.1", "True"]


def csv_case(rng: random.Random, folder: Path):
    from core.network.data import load_points_csv

    rows = []
    header = rng.choice([["x1", "x2", "label", "split"], ["x1", "x2", "label"], ["x1", "x2"], ["a", "b", "c"], []])
    if header:
        rows.append(",".join(header))
    bad_share = rng.choice([0.0, 0.0, 0.02, 0.3])  # many files are good but for a cell or two
    for _ in range(rng.randint(0, 40)):
        width = rng.choice([len(header) or 3] * 4 + [rng.randint(0, 6)])
        good = [f"{rng.uniform(-6, 6):.3f}", f"{rng.uniform(-6, 6):.3f}", str(rng.randint(0, 1)), rng.choice(["train", "test"])]
        rows.append(",".join(rng.choice(CSV_CELLS) if rng.random() < bad_share else (good[i] if i < 4 else "0")
                             for i in range(width)))
    path = folder / f"p{rng.randrange(10**9)}.csv"
    path.write_bytes("\n".join(rows).encode("utf-8", "surrogatepass") if rng.random() < 0.9 else bytes(rng.randrange(256) for _ in range(300)))

    def case():
        try:
            load_points_csv(path, train_fraction=rng.choice([0.0, 0.5, 1.0]), seed=rng.randrange(100))
        finally:
            path.unlink()

    return case


def png_bytes(rng: random.Random) -> bytes:
    from PIL import Image

    size = (rng.randint(1, 40), rng.randint(1, 40))
    mode = rng.choice(["L", "RGB", "RGBA", "P", "1", "I;16"])
    img = Image.fromarray(np.random.default_rng(rng.randrange(10**6)).integers(0, 255, (size[1], size[0]), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def folder_case(rng: random.Random, folder: Path):
    from core.datasets.image_files import load_image_folder

    root = folder / f"f{rng.randrange(10**9)}"
    root.mkdir()
    for c in range(rng.randint(0, 3)):
        cls = root / f"class{c}"
        cls.mkdir()
        for i in range(rng.randint(0, 4)):
            body = png_bytes(rng)
            kind = rng.random()
            if kind < 0.2:
                body = body[: rng.randrange(len(body))]  # cut short
            elif kind < 0.3:
                body = bytes(rng.randrange(256) for _ in range(100))  # not an image at all
            elif kind < 0.35:  # a header that claims 20000 × 20000 pixels
                body = body[:16] + (20000).to_bytes(4, "big") + (20000).to_bytes(4, "big") + body[24:]
            (cls / f"img{i}.png").write_bytes(body)

    def case():
        try:
            load_image_folder(root, size=rng.choice([8, 16, 32]), channels=rng.choice([0, 1, 3]))
        finally:
            for p in sorted(root.rglob("*"), reverse=True):
                p.unlink() if p.is_file() else p.rmdir()
            root.rmdir()

    return case


FORMULA_TOKENS = ["x", "y", "1", "0", "2.5", "1e300", "-8", "+", "-", "*", "/", "**", "(", ")", "sin(", "cos(", "exp(",
                  "log(", "sqrt(", "abs(", "tanh(", ",", "0**-1", "pi", "e", "__import__", ".", "[", "]", "lambda", " "]


def grammar_formula(rng: random.Random, depth: int) -> str:
    """A formula the parser accepts, which may still be undefined somewhere (log of a negative, 0**-1, overflow)."""
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(["x", "y", "1", "0", "2.5", "-8", "1e300", "pi", "e", "0.5"])
    kind = rng.random()
    if kind < 0.5:
        return f"({grammar_formula(rng, depth - 1)} {rng.choice(['+', '-', '*', '/', '**'])} {grammar_formula(rng, depth - 1)})"
    return f"{rng.choice(['sin', 'cos', 'exp', 'log', 'sqrt', 'abs', 'tanh'])}({grammar_formula(rng, depth - 1)})"


def formula_case(rng: random.Random):
    from core.safe_expr import parse_expression

    if rng.random() < 0.5:
        text = "".join(rng.choice(FORMULA_TOKENS) for _ in range(rng.randint(1, 14)))
    else:
        text = grammar_formula(rng, 3)
    xs = np.linspace(-3, 3, 7)

    def case():
        f = parse_expression(text)
        with np.errstate(all="ignore"):
            value = np.asarray(f(xs, xs[::-1]))
        if np.iscomplexobj(value):
            raise AssertionError(f"{text!r} evaluated to complex values")

    return case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="cases per kind")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    kinds = {k: Tally() for k in ("model_archives", "network_csv", "image_folders", "formulas")}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sources = archive_sources(folder)
        for _ in range(args.cases):
            kinds["model_archives"].run(archive_case(rng, sources, folder))
            kinds["network_csv"].run(csv_case(rng, folder))
            kinds["formulas"].run(formula_case(rng))
        for _ in range(max(1, args.cases // 10)):  # each folder case writes and decodes a few images
            kinds["image_folders"].run(folder_case(rng, folder))
    for name, tally in kinds.items():
        print(f"{name:15s} " + "  ".join(f"{k} {v}" for k, v in tally.counts.items()))
        for tb in tally.tracebacks:
            print(tb)
    total = {k: sum(t.counts[k] for t in kinds.values()) for k in ("tried", "taken", "refused", "uncaught")}
    print(f"{time.perf_counter() - t0:.0f} s")
    print(json.dumps({"cases": args.cases, "seed": args.seed, "kinds": {k: t.counts for k, t in kinds.items()}, "total": total}))


if __name__ == "__main__":
    main()
