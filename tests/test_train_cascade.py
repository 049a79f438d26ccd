"""Training a later pass of a cascade (``--after``): the frozen model's reach, its output on
patches with a margin, a short run that bakes a cascade and resumes without the file."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from PIL import Image  # noqa: E402

import tinylut  # noqa: E402
from tinylut import reference  # noqa: E402
from tinylut.model import read_model, replace, write_model  # noqa: E402
from tinylut.train.cascade import AfterFirst, reach  # noqa: E402
from tinylut.train.nets import build_net  # noqa: E402
from tinylut.train.tasks import DenoiseTask  # noqa: E402
from tinylut.train.trainer import main, parse_args  # noqa: E402
from randmodels import random_model  # noqa: E402
from test_train_trainer import folders, smooth_image  # noqa: E402,F401 (a fixture)

F_LAYOUT = (("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16))


@pytest.mark.parametrize("centred", [False, True, "alternate"])
def test_reach_bounds_what_a_crop_border_changes(centred):
    """A crop with a margin of ``reach`` gives, inside the margin, exactly the output of the
    whole image; one pixel less margin does not (so the bound is also tight here)."""
    first = random_model(7, scale=1, layout=F_LAYOUT, centred=centred)
    spec = replace(first, passes=(random_model(8, scale=1, centred=centred),))
    m = reach(spec)
    # corner windows reach 2 pixels, centred ones 1: three DW stages, then one
    assert m == {False: 6 + 2, True: 3 + 1, "alternate": 2 + 1 + 2 + 2}[centred]
    model = tinylut.Model(spec)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (60, 64), dtype=np.uint8)
    whole = model(image)
    short = 0
    for y, x, p in [(m, m, 8), (20, 17, 11), (60 - 8 - m, 64 - 8 - m, 8)]:
        crop = image[y - m:y + p + m, x - m:x + p + m]
        np.testing.assert_array_equal(model(crop)[m:m + p, m:m + p], whole[y:y + p, x:x + p])
        tight = model(crop[1:-1, 1:-1])[m - 1:m - 1 + p, m - 1:m - 1 + p]
        short += not np.array_equal(tight, whole[y:y + p, x:x + p])
    assert short > 0


def test_after_first_batches_are_the_frozen_output(tmp_path):
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (40, 44), dtype=np.uint8) for _ in range(2)]
    first = random_model(3, scale=1, layout=F_LAYOUT, centred=True)
    args = parse_args(["--task", "denoise", "--sigma", "25", "--scale", "1", "--out", str(tmp_path),
                       "--batch", "3", "--patch", "6"])
    task = AfterFirst(DenoiseTask(args), first)
    m = task.margin
    assert m == reach(first) == 3     # three centred DW stages
    from tinylut.train.data import gray_set, sample_noisy_batch
    inp, target = task.batch(gray_set(images), np.random.default_rng(5))
    noisy, clean = sample_noisy_batch(gray_set(images), np.random.default_rng(5), 3, 6 + 2 * m,
                                      25)
    assert inp.shape == target.shape == (3, 6, 6)
    np.testing.assert_array_equal(target, clean[:, m:-m, m:-m])
    for i in range(3):
        np.testing.assert_array_equal(inp[i], tinylut.Model(first)(noisy[i])[m:-m, m:-m])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cascade")
    rng = np.random.default_rng(0)
    for sub, n, size in (("train", 3, (40, 46)), ("val", 2, (14, 17))):
        (root / sub).mkdir()
        for i in range(n):
            Image.fromarray(smooth_image(rng, *size, 1)).save(root / sub / f"{i}.png")
    first = random_model(11, scale=1)
    write_model(replace(first, name="frozen", meta={"note": "the first pass"}),
                root / "first.tlut")
    return root


def run_after(data, out, *extra):
    main(["--task", "denoise", "--sigma", "25", "--data", str(data / "train"), "--out",
          str(out), "--steps", "4", "--batch", "2", "--patch", "8", "--val", str(data / "val"),
          "--val-every", "2", "--ckpt-every", "2", "--seed", "2", "--no-progress", *extra])


def test_a_run_after_a_frozen_model_bakes_the_cascade_and_resumes_without_it(data, tmp_path):
    first_path = tmp_path / "first.tlut"
    first_path.write_bytes((data / "first.tlut").read_bytes())
    after = ["--after", str(first_path), "--table-budget", "60000"]
    run_after(data, tmp_path / "a", *after, "--stop-at", "2")
    first_path.unlink()     # the checkpoint holds the frozen model: the file is not needed
    run_after(data, tmp_path / "a", "--resume", "--bake", str(tmp_path / "c.tlut"))
    run_after(data, tmp_path / "b", "--after", str(data / "first.tlut"), "--table-budget",
              "60000")
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=False)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    spec = read_model(tmp_path / "c.tlut")
    first = read_model(data / "first.tlut")
    assert len(spec.networks) == 2 and spec.meta["first_pass"]["note"] == "the first pass"
    assert (spec.name, spec.arch) == ("frozen+tinylut-s", "random+tinylut-s")
    assert spec.meta["first_pass"]["arch"] == "random"
    assert spec.meta["table_budget"] == 60000 and spec.table_bytes <= 60000
    net = build_net("tinylut-s", "denoise")
    net.load_state_dict(a["ema"])
    img = smooth_image(np.random.default_rng(4), 9, 7, 1)
    np.testing.assert_array_equal(tinylut.Model(spec)(img),
                                  net.restore(tinylut.Model(first)(img)))
    # the logged validation is the cascade's PSNR
    from tinylut.train.data import load_denoise_set
    from tinylut.train.evaluate import eval_denoise
    items = load_denoise_set(data / "val", 25)
    assert spec.meta["val_psnr"] == round(
        eval_denoise(lambda im: reference.restore(spec, im), items), 3)


@pytest.mark.parametrize("extra, message", [
    (["--table-budget", "0"], "needs --table-budget"),
    (["--table-budget", "1000"], "frozen model alone"),
    (["--table-budget", "60000", "--task", "sr"], "is denoise at scale 1, the run --task sr"),
])
def test_after_needs_a_budget_and_a_model_of_the_task(data, tmp_path, extra, message):
    with pytest.raises(SystemExit, match=message):
        run_after(data, tmp_path / "x", "--after", str(data / "first.tlut"), *extra)


def test_an_sr_run_after_a_frozen_x4_model_refines_at_the_hr_size(folders, tmp_path):
    first = replace(random_model(12, scale=4), name="frozen-x4")
    write_model(first, tmp_path / "x4.tlut")
    args = parse_args(["--data", str(folders / "train"), "--out", str(tmp_path), "--batch", "2",
                       "--patch", "5", "--scale", "4", "--hr-scales", "1"])
    from tinylut.train.tasks import SRTask
    from tinylut.train.data import sample_batch
    task = AfterFirst(SRTask(args), first)
    train = task.load_train()
    m = task.margin
    inp, target = task.batch(train, np.random.default_rng(3))
    lr, hr = sample_batch(train, np.random.default_rng(3), 2, 5 + 2 * m)
    assert inp.shape == target.shape == (2, 20, 20)
    c = slice(4 * m, 4 * (m + 5))
    np.testing.assert_array_equal(target, hr[:, c, c])
    np.testing.assert_array_equal(inp[1], tinylut.Model(first)(lr[1])[c, c])
    main(["--data", str(folders / "train"), "--out", str(tmp_path / "r"), "--steps", "2",
          "--batch", "2", "--patch", "5", "--val", str(folders / "val"), "--val-every", "2",
          "--seed", "1", "--no-progress", "--after", str(tmp_path / "x4.tlut"),
          "--table-budget", "200000", "--bake", str(tmp_path / "c.tlut")])
    spec = read_model(tmp_path / "c.tlut")
    assert (spec.task, spec.scale, spec.passes[0].scale) == ("sr", 4, 1)
    state = torch.load(tmp_path / "r" / "last.pt", weights_only=False)
    net = build_net("tinylut-s", "denoise")
    net.load_state_dict(state["ema"])
    img = smooth_image(np.random.default_rng(4), 6, 5, 3)
    np.testing.assert_array_equal(tinylut.Model(spec)(img),
                                  net.restore(tinylut.Model(first)(img)))
    from tinylut.train.data import load_sr_set
    from tinylut.train.evaluate import eval_sr
    assert spec.meta["val_psnr_y"] == round(
        eval_sr(tinylut.Model(spec), load_sr_set(folders / "val", 4), 4), 3)
