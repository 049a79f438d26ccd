"""tools/make_wallpaper_photos.py: the pinned list, the shrink rule, the checksum guard."""
import hashlib
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from make_wallpaper_photos import (PHOTOS, extract, photo_name, shrink_factor,  # noqa: E402
                                   write_photo)


def test_pinned_list_is_well_formed():
    assert len(PHOTOS) == 39
    names = [photo_name(path) for _, path, _ in PHOTOS]
    assert len(set(names)) == len(names)
    assert len({digest for _, _, digest in PHOTOS}) == len(PHOTOS)
    for pkg, path, digest in PHOTOS:
        assert re.fullmatch(r"[0-9a-f]{64}", digest), path
        assert path.startswith(("usr/share/backgrounds/", "usr/share/wallpapers/")), path
        assert path.endswith(".jpg"), path


def test_photo_names_keep_the_file_stem_or_the_plasma_folder():
    assert photo_name("usr/share/backgrounds/mate/nature/Storm.jpg") == "Storm"
    assert photo_name("usr/share/wallpapers/Path/contents/images/2560x1600.jpg") == "Path"


def test_shrink_factor_follows_the_compression():
    assert shrink_factor(4 * 1000 * 1000 // 8, 1000, 1000) == 1.0      # 4 bits a pixel: kept
    assert shrink_factor(10**9, 1000, 1000) == 1.0                     # never enlarged
    assert shrink_factor(1000 * 1000 // 8, 1000, 1000) == pytest.approx(0.5)   # 1 bit a pixel
    sizes = [shrink_factor(b, 2000, 1500) for b in (50_000, 200_000, 800_000)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def _jpeg(path: Path, quality: int) -> str:
    rng = np.random.default_rng(0)
    img = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
    Image.fromarray(img).save(path, quality=quality)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_photo_is_shrunk_by_the_rule_and_written_as_rgb_png(tmp_path):
    src = tmp_path / "a.jpg"
    digest = _jpeg(src, quality=20)
    s = shrink_factor(src.stat().st_size, 160, 120)
    assert s < 1
    w, h = write_photo(src, digest, tmp_path / "a.png")
    assert (w, h) == (round(160 * s), round(120 * s))
    with Image.open(tmp_path / "a.png") as out:
        assert out.mode == "RGB" and out.size == (w, h)


def test_a_changed_file_is_refused(tmp_path):
    src = tmp_path / "a.jpg"
    digest = _jpeg(src, quality=90)
    wrong = ("0" if digest[0] != "0" else "1") + digest[1:]
    with pytest.raises(SystemExit, match="not the pinned file"):
        write_photo(src, wrong, tmp_path / "a.png")
    assert not (tmp_path / "a.png").exists()


def test_missing_package_is_named(tmp_path):
    with pytest.raises(SystemExit, match=r"no .*_\*\.deb in"):
        extract(tmp_path, tmp_path / "x")


def test_first_n_needs_only_their_packages(tmp_path, monkeypatch):
    import make_wallpaper_photos as tool
    asked = []
    monkeypatch.setattr(tool, "fetch_packages", lambda into, packages: asked.append(packages))
    with pytest.raises(SystemExit, match="no lomiri-wallpapers-16.04_"):
        tool.main([str(tmp_path / "out"), "--first", "28"])
    assert asked == [["lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04", "mate-backgrounds"]]
    with pytest.raises(SystemExit):
        tool.main([str(tmp_path / "out"), "--first", "0"])
