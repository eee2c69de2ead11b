import subprocess
import sys

import lab
from lab.cli import main


def test_version_without_a_window():
    out = subprocess.run([sys.executable, "-m", "lab", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"dllab {lab.__version__}"


def test_presets_are_listed(capsys):
    assert main(["presets", "activations"]) == 0
    assert "activations/dead_relu" in capsys.readouterr().out


def test_render_writes_a_presets_figures(qtbot, tmp_path, capsys):
    assert main(["render", "activations/zero_centred", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    assert str(tmp_path / "path_positive_inputs.png") in printed
    assert (tmp_path / "distance_to_target.csv").read_text().startswith("step,")


def test_bad_arguments_are_refused_with_a_message(qtbot, tmp_path, capsys):
    assert main(["render", "activations/nope", "--out", str(tmp_path)]) == 2
    assert "No preset" in capsys.readouterr().err
    assert main(["--device", "cuda:9"]) == 2
    assert "not available" in capsys.readouterr().err


def test_the_app_starts_and_paints(tmp_path):
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen", "DLLAB_SETTINGS": str(tmp_path / "s.ini")}
    out = subprocess.run(
        [sys.executable, "-m", "lab", "--tab", "activations", "--presentation", "--exit-after-paint"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "first_paint_time=" in out.stdout
    # --presentation was this run's view: the next plain start is not in presentation mode.
    from lab.settings import SettingsStore

    assert SettingsStore(str(tmp_path / "s.ini")).load().presentation is False
