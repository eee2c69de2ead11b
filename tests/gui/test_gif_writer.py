"""GIFs are grabbed on the GUI thread and encoded on a worker; what they show is what the
screen shows, at a size that reads."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QThread

from lab.gif_writer import GifWriter
from lab.runner import JobState

WAIT = 30000


def _frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        out = []
        for i in range(im.n_frames):
            im.seek(i)
            out.append(np.asarray(im.convert("RGB")))
        return out


def _has_colour(frame: np.ndarray, hex_colour: str, tol: int = 12) -> bool:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return bool((np.abs(frame.astype(int) - rgb).max(-1) <= tol).any())


def _has_dark_pixels(frame: np.ndarray) -> bool:
    return bool((frame.astype(int).sum(-1) < 3 * 70).sum() > 50)  # axis lines, ticks and their numbers


def test_the_writer_encodes_on_a_worker_and_says_how_far_it_is(qtbot, tmp_path):
    writer = GifWriter()
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(12)]
    progress, threads = [], []
    writer.progress.connect(progress.append)
    writer.progress.connect(lambda _: threads.append(QThread.currentThread()))
    with qtbot.waitSignal(writer.saved, timeout=WAIT) as saved:
        writer.write(frames, tmp_path / "noise.gif", fps=10)
        assert writer.busy and writer.runner.thread_count() == 1  # write() returned; a worker encodes
        with pytest.raises(ValueError, match="already being written"):
            writer.write(frames, tmp_path / "again.gif", fps=10)
    assert saved.args == [str(tmp_path / "noise.gif")]
    assert any("Writing noise.gif" in p for p in progress)
    assert all(t is QThread.currentThread() for t in threads)  # signals reach the GUI thread
    got = _frames(tmp_path / "noise.gif")
    assert len(got) == 12 and got[0].shape == (120, 160, 3)
    writer.shutdown()
    assert writer.runner.thread_count() == 0


def test_a_gif_that_cannot_be_written_says_why(qtbot, tmp_path):
    writer = GifWriter()
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with qtbot.waitSignal(writer.failed, timeout=WAIT) as failed:
        writer.write([np.zeros((10, 10, 3), np.uint8)] * 2, blocker / "x.gif", fps=5)
    assert failed.args[0].startswith("Could not write the GIF")
    assert writer.runner.state == JobState.FAILED
    writer.shutdown()


@pytest.fixture
def network(make_tab, qtbot):
    tab = make_tab("network", size=(1400, 900))
    qtbot.waitUntil(lambda: tab.snapshot is not None, timeout=WAIT)
    return tab


def test_the_network_builders_gif_shows_the_map_with_points_axes_and_epoch(qtbot, network, tmp_path):
    messages = []
    network.status_message.connect(lambda text, _ms: messages.append(text))
    network.view.model_panel.record_gif.setChecked(True)
    for _ in range(3):
        epoch = network.epoch
        network.view.controls.step_button.click()
        qtbot.waitUntil(lambda e=epoch: network.epoch > e, timeout=WAIT)
    qtbot.waitUntil(lambda: len(network.gif_frames) >= 3, timeout=WAIT)
    with qtbot.waitSignal(network.gif_writer.saved, timeout=WAIT):
        network.write_gif(tmp_path / "boundary.gif")
        assert network.gif_writer.busy
    assert messages[-1] == f"Saved {tmp_path / 'boundary.gif'}"
    frames = _frames(tmp_path / "boundary.gif")
    assert len(frames) >= 3
    last = frames[-1]
    assert min(last.shape[:2]) >= 400
    assert len(np.unique(last.reshape(-1, 3), axis=0)) > 20  # not a plain field of colour
    assert _has_colour(last, "#f59322") and _has_colour(last, "#0877bd")  # the points, in their classes' colours
    assert _has_dark_pixels(last)
    assert not np.array_equal(frames[0], last)  # the epoch (and the boundary) move on


def test_the_race_gif_is_recorded_frame_by_frame_and_encoded_on_a_worker(qtbot, make_tab, tmp_path):
    tab = make_tab("optimizers", size=(1400, 900))
    tab.run_to_end()
    contour = tab.surface_page.contour
    assert contour.n_points() > 1
    with qtbot.waitSignal(tab.gif_writer.saved, timeout=WAIT):
        tab.write_gif(tmp_path / "race.gif", frames=8)
        assert tab.gif_writer.busy
    frames = _frames(tmp_path / "race.gif")
    assert len(frames) == 8 and min(frames[0].shape[:2]) >= 400
    assert not np.array_equal(frames[0], frames[-1])  # the paths grow
    assert _has_dark_pixels(frames[-1])


def test_closing_a_tab_while_its_gif_is_written_ends_the_worker(qtbot, network, tmp_path):
    frames = [np.full((480, 480, 3), i, np.uint8) for i in range(60)]
    network.gif_writer.write(frames, tmp_path / "closing.gif", fps=15)
    network.shutdown()
    assert network.gif_writer.runner.thread_count() == 0 and not network.gif_writer.busy
