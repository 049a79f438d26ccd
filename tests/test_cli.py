"""The tinylut command line on tiny images and a random model (plus Set5 with the released one)."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tinylut
from tinylut import metrics, reference
from tinylut.cli import main
from tinylut.imageio import ImageError, read_image, write_image
from tinylut.model import write_model



def rand_img(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, out, err, *needles):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tinylut: error: ")
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], lines[0]


# ----------------------------------------------------------------------------- restore

def test_restore_file_rgb(tmp_path, capsys, random_model_path, random_spec):
    img = rand_img((9, 11, 3), 1)
    write_image(tmp_path / "in.png", img)
    code, out, err = run(capsys, "restore", tmp_path / "in.png", tmp_path / "out.png",
                         "--model", random_model_path, "--threads", 1)
    assert code == 0, err
    got = read_image(tmp_path / "out.png")
    assert got.shape == (36, 44, 3)
    # The numpy reference engine, independent of the C core, gives the same pixels.
    np.testing.assert_array_equal(got, reference.restore(random_spec, img))


def test_restore_gray_stays_gray_and_alpha(tmp_path, capsys, random_model_path, random_spec):
    g = rand_img((8, 7), 2)
    la = rand_img((6, 5, 2), 3)
    rgba = rand_img((5, 6, 4), 4)
    write_image(tmp_path / "g.png", g)
    write_image(tmp_path / "la.png", la)
    write_image(tmp_path / "rgba.png", rgba)
    for name, src in (("g", g), ("la", la), ("rgba", rgba)):
        code, _, err = run(capsys, "restore", tmp_path / f"{name}.png",
                           tmp_path / f"{name}_x4.png", "-m", random_model_path)
        assert code == 0, err
        got = read_image(tmp_path / f"{name}_x4.png")
        np.testing.assert_array_equal(got, reference.restore(random_spec, src))
    assert Image.open(tmp_path / "g_x4.png").mode == "L"
    assert Image.open(tmp_path / "la_x4.png").mode == "LA"
    assert Image.open(tmp_path / "rgba_x4.png").mode == "RGBA"


def test_restore_file_into_folder(tmp_path, capsys, random_model_path):
    write_image(tmp_path / "a.png", rand_img((5, 5, 3)))
    (tmp_path / "out").mkdir()
    code, _, err = run(capsys, "restore", tmp_path / "a.png", tmp_path / "out", "-m",
                       random_model_path)
    assert code == 0, err
    assert read_image(tmp_path / "out" / "a.png").shape == (20, 20, 3)


def test_restore_folder(tmp_path, capsys, random_model_path, random_spec):
    src = tmp_path / "in"
    src.mkdir()
    imgs = {"a.png": rand_img((6, 7, 3), 5), "b.png": rand_img((4, 9), 6),
            "c.bmp": rand_img((5, 5, 3), 7)}
    for name, img in imgs.items():
        write_image(src / name, img)
    (src / "notes.txt").write_text("not an image")
    (src / "sub").mkdir()
    code, _, err = run(capsys, "restore", src, tmp_path / "out" / "deeper", "-m",
                       random_model_path)
    assert code == 0, err
    outs = sorted(os.listdir(tmp_path / "out" / "deeper"))
    assert outs == sorted(imgs)
    for name, img in imgs.items():
        got = read_image(tmp_path / "out" / "deeper" / name)
        np.testing.assert_array_equal(got, reference.restore(random_spec, img))


def test_restore_folder_refuses_same_folder(tmp_path, capsys, random_model_path):
    write_image(tmp_path / "a.png", rand_img((5, 5, 3)))
    assert_one_line_error(*run(capsys, "restore", tmp_path, tmp_path, "-m", random_model_path),
                          "input folder")
    assert read_image(tmp_path / "a.png").shape == (5, 5, 3)


def test_restore_errors(tmp_path, capsys, random_model_path):
    write_image(tmp_path / "ok.png", rand_img((5, 5, 3)))
    (tmp_path / "bad.png").write_bytes(b"this is not a png")
    (tmp_path / "bad.tlut").write_bytes(b"TINYLUT\0garbage")
    (tmp_path / "empty").mkdir()
    out = tmp_path / "o.png"
    m = random_model_path
    assert_one_line_error(*run(capsys, "restore", tmp_path / "missing.png", out, "-m", m),
                          "missing.png")
    assert_one_line_error(*run(capsys, "restore", tmp_path / "bad.png", out, "-m", m),
                          "bad.png")
    assert_one_line_error(*run(capsys, "restore", tmp_path / "ok.png", out, "-m",
                               tmp_path / "bad.tlut"))
    assert_one_line_error(*run(capsys, "restore", tmp_path / "ok.png", out, "-m",
                               tmp_path / "nope.tlut"), "nope.tlut")
    assert_one_line_error(*run(capsys, "restore", tmp_path / "empty", tmp_path / "o2", "-m", m),
                          "no images")
    assert_one_line_error(*run(capsys, "restore", tmp_path / "ok.png",
                               tmp_path / "no" / "dir" / "o.png", "-m", m), "does not exist")
    assert_one_line_error(*run(capsys, "restore", tmp_path / "ok.png", tmp_path / "o.xyz",
                               "-m", m), "o.xyz")
    assert not out.exists()


def test_sixteen_bit_image_rejected(tmp_path, capsys, random_model_path):
    Image.fromarray(np.full((6, 6), 40000, np.uint16)).save(tmp_path / "g16.png")
    with pytest.raises(ImageError, match="16-bit"):
        read_image(tmp_path / "g16.png")
    assert_one_line_error(*run(capsys, "restore", tmp_path / "g16.png", tmp_path / "o.png",
                               "-m", random_model_path), "16-bit")


@pytest.mark.parametrize("orientation, turn", [(3, 2), (6, 3), (8, 1)])
def test_restore_turns_photos_upright(tmp_path, capsys, random_model_path, random_spec,
                                      orientation, turn):
    """EXIF orientation 3 / 6 / 8 = stored pixels turned by 180 / 270 / 90 degrees to display;
    the output has no orientation tag, so restore works on (and writes) the upright image."""
    img = rand_img((7, 10, 3), 9)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(img).save(tmp_path / "in.png", exif=exif)
    np.testing.assert_array_equal(read_image(tmp_path / "in.png"), img)   # stored by default
    upright = np.ascontiguousarray(np.rot90(img, turn))
    np.testing.assert_array_equal(read_image(tmp_path / "in.png", upright=True), upright)
    code, out, err = run(capsys, "restore", tmp_path / "in.png", tmp_path / "out.png",
                         "--model", random_model_path, "--threads", 1)
    assert code == 0, err
    got = Image.open(tmp_path / "out.png")
    assert got.getexif().get(0x0112) is None
    np.testing.assert_array_equal(np.asarray(got), reference.restore(random_spec, upright))


def test_corrupt_exif_keeps_stored_pixels(tmp_path):
    img = rand_img((5, 6, 3), 10)
    Image.fromarray(img).save(tmp_path / "in.png", exif=b"Exif\x00\x00MM\x00*garbage")
    np.testing.assert_array_equal(read_image(tmp_path / "in.png", upright=True), img)


def test_restore_folder_keep_going(tmp_path, capsys, random_model_path, random_spec):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    good = {n: rand_img((4, 5, 3), i) for i, n in enumerate(["a.png", "c.png"])}
    for n, img in good.items():
        write_image(src / n, img)
    (src / "b.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    Image.fromarray(np.full((6, 6), 40000, np.uint16)).save(src / "d.png")
    # without it: stops at b.png, after a.png
    code, out, err = run(capsys, "restore", src, dst, "-m", random_model_path)
    assert_one_line_error(code, out, err, "b.png")
    assert sorted(os.listdir(dst)) == ["a.png"]
    code, out, err = run(capsys, "restore", src, dst, "-m", random_model_path, "--keep-going")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 3 and "Traceback" not in err
    assert "b.png" in lines[0] and "d.png" in lines[1] and "16-bit" in lines[1]
    assert lines[2] == f"restored 2 images into {dst}; 2 failed"
    assert sorted(os.listdir(dst)) == ["a.png", "c.png"]
    for n, img in good.items():
        np.testing.assert_array_equal(read_image(dst / n), reference.restore(random_spec, img))


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["restore"])
    assert e.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as e:
        main(["eval", "--model", "x", "--data", "y", "--threads", "0"])
    assert e.value.code == 2


# ----------------------------------------------------------------------------- eval

def make_sr_set(root: Path, model_path: Path, seed: int = 0) -> dict[str, tuple]:
    """HR/ and LR_bicubic/X4/ with random LR; HR images not all multiples of 4."""
    rng = np.random.default_rng(seed)
    (root / "HR").mkdir(parents=True)
    (root / "LR_bicubic" / "X4").mkdir(parents=True)
    model = tinylut.load_model(model_path)
    pairs = {}
    for name, (h, w), ch in (("one", (5, 6), 3), ("two", (4, 4), 3), ("gray", (6, 4), 0)):
        lr = rng.integers(0, 256, (h, w, ch) if ch else (h, w), dtype=np.uint8)
        # HR: the model's output plus noise, with 1..3 extra rows/columns to crop.
        sr = model(lr)
        noisy = np.clip(sr.astype(int) + rng.integers(-20, 21, sr.shape), 0, 255).astype(np.uint8)
        pad = ((0, 3), (0, 1)) + (((0, 0),) if ch else ())
        hr = np.pad(noisy, pad, mode="edge")
        write_image(root / "LR_bicubic" / "X4" / f"{name}.png", lr)
        write_image(root / "HR" / f"{name}.png", hr)
        pairs[name] = (lr, hr)
    return pairs


def test_eval_json(tmp_path, capsys, random_model_path, random_spec):
    pairs = make_sr_set(tmp_path / "set", random_model_path)
    code, out, err = run(capsys, "eval", "--model", random_model_path, "--data",
                         tmp_path / "set", "--json")
    assert code == 0, err
    res = json.loads(out)                     # one JSON object and nothing else
    assert res["n"] == 3
    assert [r["name"] for r in res["images"]] == ["gray", "one", "two"]
    for r in res["images"]:
        lr, hr = pairs[r["name"]]
        sr = reference.restore(random_spec, lr)
        p, s = metrics.sr_metrics(sr, hr, 4)
        assert r["psnr"] == pytest.approx(p, abs=1e-9)
        assert r["ssim"] == pytest.approx(s, abs=1e-12)
        assert 20 < r["psnr"] < 40 and 0 < r["ssim"] < 1
    assert res["psnr"] == pytest.approx(np.mean([r["psnr"] for r in res["images"]]), abs=1e-12)
    assert res["ssim"] == pytest.approx(np.mean([r["ssim"] for r in res["images"]]), abs=1e-12)
    assert res["scale"] == 4 and res["task"] == "sr"


def test_eval_exact_hr_gives_inf_as_null(tmp_path, capsys, random_model_path):
    root = tmp_path / "set"
    (root / "HR").mkdir(parents=True)
    (root / "LR_bicubic" / "X4").mkdir(parents=True)
    lr = rand_img((4, 5, 3), 9)
    sr = tinylut.load_model(random_model_path)(lr)
    write_image(root / "LR_bicubic" / "X4" / "im.png", lr)
    write_image(root / "HR" / "im.png", np.pad(sr, ((0, 2), (0, 3), (0, 0))))
    code, out, err = run(capsys, "eval", "-m", random_model_path, "-d", root, "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["psnr"] is None and res["images"][0]["psnr"] is None   # inf: identical
    assert res["ssim"] == pytest.approx(1.0, abs=1e-12)


def test_eval_table(tmp_path, capsys, random_model_path):
    make_sr_set(tmp_path / "set", random_model_path)
    code, out, err = run(capsys, "eval", "-m", random_model_path, "-d", tmp_path / "set")
    assert code == 0, err
    lines = out.splitlines()
    assert any(line.startswith("mean") for line in lines)
    assert sum(line.split()[0] in ("one", "two", "gray") for line in lines if line.strip()) == 3


def test_eval_edsr_names(tmp_path, capsys, random_model_path):
    """LR files named NAMEx4.png (the original EDSR layout) are found too."""
    make_sr_set(tmp_path / "set", random_model_path)
    lr_dir = tmp_path / "set" / "LR_bicubic" / "X4"
    for p in lr_dir.iterdir():
        p.rename(lr_dir / f"{p.stem}x4{p.suffix}")
    code, out, err = run(capsys, "eval", "-m", random_model_path, "-d", tmp_path / "set", "--json")
    assert code == 0, err
    assert json.loads(out)["n"] == 3


def test_eval_errors(tmp_path, capsys, random_model_path):
    m = random_model_path
    assert_one_line_error(*run(capsys, "eval", "-m", m, "-d", tmp_path / "nothing"), "nothing")
    (tmp_path / "a" / "HR").mkdir(parents=True)
    assert_one_line_error(*run(capsys, "eval", "-m", m, "-d", tmp_path / "a"), "LR_bicubic")
    make_sr_set(tmp_path / "b", m)
    os.remove(tmp_path / "b" / "LR_bicubic" / "X4" / "two.png")
    code, out, err = run(capsys, "eval", "-m", m, "-d", tmp_path / "b", "--json")
    assert_one_line_error(code, out, err, "two.png")
    assert out == ""
    # Wrong sizes: an HR too small for the x4 output.
    make_sr_set(tmp_path / "c", m)
    write_image(tmp_path / "c" / "HR" / "one.png", rand_img((8, 8, 3)))
    assert_one_line_error(*run(capsys, "eval", "-m", m, "-d", tmp_path / "c"), "one.png")


# ----------------------------------------------------------------------------- info

def test_info_model(capsys, random_model_path, random_spec):
    code, out, err = run(capsys, "info", random_model_path)
    assert code == 0, err
    assert random_spec.arch in out and random_spec.name in out
    assert f"table bytes {random_spec.table_bytes}" in out
    stage_lines = [line for line in out.splitlines() if line.startswith(("msb", "lsb"))]
    assert len(stage_lines) == 6
    assert sum(int(line.split()[-1]) for line in stage_lines) == random_spec.table_bytes
    code, out, err = run(capsys, "info", random_model_path, "--json")
    info = json.loads(out)
    assert info["table_bytes"] == random_spec.table_bytes and info["scale"] == 4
    assert sum(s["bytes"] for s in info["stages"]) == random_spec.table_bytes


def test_info_package(capsys):
    code, out, err = run(capsys, "info")
    assert code == 0, err
    assert tinylut.info()["version"] in out
    code, out, err = run(capsys, "info", "--json")
    assert json.loads(out)["isa"] == tinylut.info()["isa"]


def test_info_bad_model(tmp_path, capsys):
    (tmp_path / "bad.tlut").write_bytes(b"nonsense")
    assert_one_line_error(*run(capsys, "info", tmp_path / "bad.tlut"), "bad magic")
    assert_one_line_error(*run(capsys, "info", "no-such-model"), "no-such-model")


# ----------------------------------------------------------------------------- python -m

def test_python_m_error_is_one_line(tmp_path):
    # the tinylut under test: an installed wheel or the source tree
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(tinylut.__file__)))
    env.pop("TINYLUT_DEBUG", None)
    p = subprocess.run([sys.executable, "-m", "tinylut", "info", str(tmp_path / "x.tlut")],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("tinylut: error:")


# ----------------------------------------------------------------------------- real data

def test_eval_set5_official(official_dir, shared, tmp_path, capsys):
    from tinylut.official import import_official
    model = tmp_path / "official.tlut"
    write_model(import_official(str(official_dir)), model)
    code, out, err = run(capsys, "eval", "--model", model, "--data",
                         shared / "data" / "sr" / "Set5", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["n"] == 5
    assert res["psnr"] == pytest.approx(30.220, abs=0.002)
    assert res["ssim"] == pytest.approx(0.8535, abs=0.00005)
    assert all(math.isfinite(r["psnr"]) for r in res["images"])


# ----------------------------------------------------------------------------- denoise

@pytest.fixture(scope="module")
def dn_model(tmp_path_factory):
    """A random denoiser file (scale 1) whose meta says sigma 25."""
    from randmodels import random_model
    from tinylut.model import replace
    spec = replace(random_model(2, scale=1), meta={"sigma": 25})
    path = tmp_path_factory.mktemp("dn") / "dn.tlut"
    write_model(spec, path)
    return path, spec


def make_clean_set(root: Path) -> dict[str, np.ndarray]:
    root.mkdir(parents=True)
    imgs = {"b": rand_img((13, 12), 11), "a": rand_img((20, 17), 12)}
    for name, img in imgs.items():
        write_image(root / f"{name}.png", img)
    return imgs


def test_eval_denoise_json(tmp_path, capsys, dn_model):
    from tinylut.noise import eval_noisy
    path, spec = dn_model
    imgs = make_clean_set(tmp_path / "set")
    for sigma in (None, 15):
        extra = () if sigma is None else ("--sigma", sigma)
        code, out, err = run(capsys, "eval", "--task", "denoise", "--model", path, "--data",
                             tmp_path / "set", "--json", *extra)
        assert code == 0, err
        res = json.loads(out)
        want_sigma = 25 if sigma is None else sigma          # default: the model's own level
        assert res["sigma"] == want_sigma and res["task"] == "denoise" and res["n"] == 2
        assert [r["name"] for r in res["images"]] == ["a", "b"]
        for r in res["images"]:
            clean = imgs[r["name"]]
            noisy = eval_noisy(clean, want_sigma, r["name"])
            assert r["psnr"] == pytest.approx(
                metrics.psnr_gray(reference.restore(spec, noisy), clean), abs=1e-9)
            assert -1 < r["ssim"] < 1
        assert res["psnr"] == pytest.approx(np.mean([r["psnr"] for r in res["images"]]))


def test_eval_denoise_noise_is_fixed_per_name(tmp_path, capsys, dn_model):
    """Same name, same noise, whatever else is in the folder; another name, other noise."""
    path, _ = dn_model
    make_clean_set(tmp_path / "one")
    (tmp_path / "two").mkdir()
    write_image(tmp_path / "two" / "a.png", read_image(tmp_path / "one" / "a.png"))
    write_image(tmp_path / "two" / "c.png", read_image(tmp_path / "one" / "a.png"))
    res = []
    for d in ("one", "two"):
        code, out, err = run(capsys, "eval", "-m", path, "-d", tmp_path / d, "--json")
        assert code == 0, err
        res.append({r["name"]: r["psnr"] for r in json.loads(out)["images"]})
    assert res[0]["a"] == res[1]["a"]
    assert res[1]["c"] != res[1]["a"]


def test_eval_denoise_table_and_rgb(tmp_path, capsys, dn_model):
    path, spec = dn_model
    make_clean_set(tmp_path / "set")
    write_image(tmp_path / "set" / "rgb.png", rand_img((12, 14, 3), 13))
    code, out, err = run(capsys, "eval", "-m", path, "-d", tmp_path / "set")
    assert code == 0, err
    assert "denoising at sigma 25" in out
    assert sum(line.split()[0] in ("a", "b", "rgb") for line in out.splitlines()
               if line.strip()) == 3


def test_eval_denoise_errors(tmp_path, capsys, dn_model, random_model_path):
    path, _ = dn_model
    make_clean_set(tmp_path / "set")
    d = tmp_path / "set"
    assert_one_line_error(*run(capsys, "eval", "-m", random_model_path, "-d", d, "--task",
                               "denoise"), "'sr' model, not 'denoise'")
    assert_one_line_error(*run(capsys, "eval", "-m", path, "-d", d, "--task", "sr"),
                          "'denoise' model, not 'sr'")
    assert_one_line_error(*run(capsys, "eval", "-m", "tinylut-s", "-d", d, "--task", "denoise"),
                          "needs sigma")
    assert_one_line_error(*run(capsys, "eval", "-m", "tinylut-s", "-d", d, "--task", "denoise",
                               "--sigma", 33), "no shipped denoiser for sigma 33")
    if "tinylut-f-dn25" not in tinylut.shipped_models():
        assert_one_line_error(*run(capsys, "eval", "-m", "tinylut-f", "-d", d, "--task",
                                   "denoise", "--sigma", 25), "tinylut-f-dn25")
    write_image(d / "alpha.png", rand_img((12, 12, 4), 3))
    assert_one_line_error(*run(capsys, "eval", "-m", path, "-d", d), "alpha.png", "channels")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(*run(capsys, "eval", "-m", path, "-d", tmp_path / "empty"),
                          "no images")
    with pytest.raises(SystemExit) as e:
        main(["eval", "-m", str(path), "-d", str(d), "--sigma", "-3"])
    assert e.value.code == 2


def test_restore_denoise(tmp_path, capsys, dn_model):
    path, spec = dn_model
    img = rand_img((9, 10), 21)
    write_image(tmp_path / "in.png", img)
    code, _, err = run(capsys, "restore", tmp_path / "in.png", tmp_path / "out.png", "-m", path,
                       "--sigma", 25)
    assert code == 0, err
    np.testing.assert_array_equal(read_image(tmp_path / "out.png"),
                                  reference.restore(spec, img))
    assert_one_line_error(*run(capsys, "restore", tmp_path / "in.png", tmp_path / "o2.png",
                               "-m", path, "--sigma", 50), "trained for sigma 25")
    code, out, err = run(capsys, "info", path)
    assert code == 0 and "denoise" in out and "sigma" in out
