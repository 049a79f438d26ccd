#!/usr/bin/env python3
"""Write natural training photographs taken from Debian's desktop-wallpaper packages.

Our natural training images (T91, BSD200, BSD400: ~50 Mpx, small, JPEG-softened scans) lack
what DIV2K gives the released models: large, clean, sharp photographs (docs/tinylut-f.md,
"Where the x4 gap comes from"). Debian ships free-licensed (CC-BY, CC-BY-SA, GPL-2+, LGPL-3)
camera photographs as wallpapers; 39 of them (landscapes, plants, animals, objects; the
abstract and rendered wallpapers left out) are fetched from the package registry, checked
against pinned SHA-256 sums, shrunk and written as RGB PNGs. None is a test image.

    python tools/make_wallpaper_photos.py OUT_FOLDER [--debs DIR] [--first N]

Without --debs the four packages are fetched with ``apt-get download`` (run ``apt-get
update`` once first). Each photograph is shrunk (Pillow bicubic, antialiased) by
sqrt(bits per pixel of its JPEG / 4), at most 1: the harder a file was compressed, the more it
is shrunk, so its JPEG blocks and ringing fall below a pixel.
"""
from __future__ import annotations

import argparse
import hashlib
import math
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET_BITS_PER_PIXEL = 4.0

# (package, path inside it, sha256 of the file)
PHOTOS = [
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg",
     "bd86b081f9975e2b83527f71e49b9271a8ab40885428395969d9f7d834d7f050"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/Dragonfly_by_Bolly.jpg",
     "af5af17841009732def24b09bb1e669a1b09d2b4bdeee7812c371101c30d2bb3"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/Picture_0B_by_freespace.jpg",
     "c8c0ab18e48d9e0419fe42881112137f3afafc27dfddc29ec3a6d54c56d225ad"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/Picture_1A_by_freespace.jpg",
     "89e86af38d04daaef975665dc2127e9fa76f0fd68f4eea105a2d0ae3390b010b"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg",
     "d2e96e6d4da40dd804b3d0ce295e94de04a2d7d9b6785d42cd9d92ba58bced74"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg",
     "66268e7b48f8854d36a28765fac6e23ec1aee251daa6da1f64715f201020ad36"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/analogpattern_by_Peter_Nerlich.jpg",
     "15372488a192b2be2eafc67bd3ed31cbfca19abe3929e925607fcbc9cb4d4202"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/free_by_Peter_Nerlich.jpg",
     "85a5453c2fed514c75973016f3d862aca62eb7ca087618822469274ac1092373"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg",
     "cc40e313c74e421edffe3403def413c16878ce14661cce7ec5915baeab35538d"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/greentock_by_Peter_Nerlich.jpg",
     "e7b20e2db9dcd6e2b278ca55873c2110b35d89cd38b04d0b18728726888e6889"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg",
     "4c119350ead80201fe256850c3d316309ddfb4bdf10b235ce982dcde0c667c05"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg",
     "414d0072b2f6f2c555deafeaef6e45c4fed6fa9ad26eba6560ca8803959cf97a"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg",
     "a5634d1ab5e41a3568e92d4a894a500c92b891f9ff734e50bd224d6e185a605f"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg",
     "474dab6a4b9f94dc76c29dfe30e9f5db4af0fd2e33fe5d695f8152b371efca18"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/umang_by_Abhishek_Mudgal.jpg",
     "bfb425545e77e9f0eb1b037b607fc9ed4a446f3b0f04aa2879be3556073c57ef"),
    ("lomiri-wallpapers-20.04", "usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",
     "6572410c09f4492c74ccadde133565a14c0161617d5917d4c820c66d65a44ba7"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/Aqua.jpg",
     "5c30118205982da441bf7e6a1ada636a8a0be879408140b3148280c665ed6bce"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/Blinds.jpg",
     "f7aac0dcc2e06d0491643e84df3da1d9db7c4610f58806a880d56e074799f600"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/Dune.jpg",
     "8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/FreshFlower.jpg",
     "972b0a0c4e5e3fa93f4f244fc84bc64b121a5eac3aaa5856f1308c1f38a02f8e"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/Garden.jpg",
     "d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/GreenMeadow.jpg",
     "8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/LadyBird.jpg",
     "e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/RainDrops.jpg",
     "3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/Storm.jpg",
     "77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/TwoWings.jpg",
     "665e5abf8a5399070a91a9a8e455fe071e5b61697ff78fdeda4e9843ef545aeb"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/Wood.jpg",
     "19c78500ac00a622e19907ab9cc7d06d46fe08c4a6142759a84195696150ec07"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/nature/YellowFlower.jpg",
     "254da96256acb7add685679775a04d1e4a5bc8cd13e5a5a3d61351ce198a5306"),
    # Added after tinylut-f-x4 49,500 (which trained on the 28 above): KDE Plasma's photographs,
    # LGPL-3; each wallpaper's largest file (the smaller sizes are copies of it).
    ("plasma-workspace-wallpapers", "usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg",
     "c272434ef39f2abf1ed48a15a8910088020f3165329a5092f3940ec9464bc05f"),
    ("plasma-workspace-wallpapers", "usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg",
     "05bef6722fc0ed81292cceb3ed026c38d17e510f3c84be7d68610c2b1a723c3f"),
    ("plasma-workspace-wallpapers", "usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg",
     "6e0f3a72feb5a4a9fec191b77e34874c3c69e2d93040deb3f07773e73385023d"),
    ("plasma-workspace-wallpapers", "usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg",
     "8e3703fae3a3c217b1fc2b399b706cd3720584268d071ba153e4809daa55f1ce"),
    ("plasma-workspace-wallpapers", "usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg",
     "586682dcb362b9f620068f10138f87d0d3649939aef238adc5807cb951976a7a"),
    ("plasma-workspace-wallpapers", "usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg",
     "95603a6560c7e8d50e0e03b3f4adbe39c5258c72528e74e4ecaea1daf4e499de"),
    ("plasma-workspace-wallpapers", "usr/share/wallpapers/Grey/contents/images/2560x1600.jpg",
     "88c31d8944b7e6935d1b9a296654c692f0772cb512491713eb30a972a604c0ed"),
    ("plasma-workspace-wallpapers", "usr/share/wallpapers/Kite/contents/images/2560x1600.jpg",
     "bdca288ce296a981e80659c021cf707caddc702c0c8d4247e60bd618476d47f8"),
    ("plasma-workspace-wallpapers", "usr/share/wallpapers/OneStandsOut/contents/images/2560x1600.jpg",
     "cb507baf1dafdcae362264f3aba9483ed4be5f6c9fdd770f0ec0920c6d9e80fd"),
    ("plasma-workspace-wallpapers", "usr/share/wallpapers/Path/contents/images/2560x1600.jpg",
     "7477457d7f17b736259f1b021864778ad4ba802cf3214e6728181ff29126bba8"),
    ("plasma-workspace-wallpapers", "usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg",
     "c868b50789591dd42910153c768053f1ba0a98cb36bbfc2b7a96a1045d0477f8"),
]


def packages_of(photos) -> list[str]:
    """The Debian packages that hold these photographs, each once."""
    return sorted({pkg for pkg, _, _ in photos})


PACKAGES = packages_of(PHOTOS)


def photo_name(path: str) -> str:
    """A photograph's name: its file's stem, or for a Plasma wallpaper (whose files are named by
    size) its folder."""
    parts = Path(path).parts
    return parts[-4] if parts[-3:-1] == ("contents", "images") else Path(path).stem


def shrink_factor(file_bytes: int, width: int, height: int) -> float:
    """How much to shrink a JPEG of this size so its compression no longer shows (<= 1)."""
    bits_per_pixel = file_bytes * 8 / (width * height)
    return min(1.0, math.sqrt(bits_per_pixel / TARGET_BITS_PER_PIXEL))


def fetch_packages(into: Path, packages=PACKAGES) -> None:
    subprocess.run(["apt-get", "download", *packages], cwd=into, check=True)


def extract(debs: Path, into: Path, packages=PACKAGES) -> dict[str, Path]:
    """Unpack each needed package's .deb from ``debs``; its root folder by package name."""
    roots = {}
    for pkg in packages:
        found = sorted(debs.glob(f"{pkg}_*.deb"))
        if not found:
            raise SystemExit(f"no {pkg}_*.deb in {debs}")
        roots[pkg] = into / pkg
        roots[pkg].mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(found[-1]), str(roots[pkg])], check=True)
    return roots


def write_photo(src: Path, digest: str, out: Path) -> tuple[int, int]:
    from PIL import Image
    data = src.read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise SystemExit(f"{src.name}: not the pinned file (the package changed); "
                         f"update PHOTOS in {Path(__file__).name} after checking it")
    with Image.open(src) as im:
        im = im.convert("RGB")
        s = shrink_factor(len(data), *im.size)
        if s < 1:
            im = im.resize((round(im.width * s), round(im.height * s)), Image.BICUBIC)
        im.save(out)
        return im.size


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--debs", type=Path, default=None,
                   help="folder already holding the packages' .deb files")
    p.add_argument("--first", type=int, default=len(PHOTOS), metavar="N",
                   help="only the first N photographs (28: the set the runs before the Plasma "
                        "photographs trained on)")
    args = p.parse_args(argv)
    if not 1 <= args.first <= len(PHOTOS):
        p.error(f"--first must be 1..{len(PHOTOS)}")
    photos = PHOTOS[:args.first]
    packages = packages_of(photos)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        debs = args.debs
        if debs is None:
            debs = tmp / "debs"
            debs.mkdir()
            fetch_packages(debs, packages)
        roots = extract(debs, tmp / "x", packages)
        pixels = 0
        for i, (pkg, path, digest) in enumerate(photos):
            src = roots[pkg] / path
            w, h = write_photo(src, digest, args.out / f"{i:02d}_{photo_name(path)}.png")
            pixels += w * h
    print(f"{len(photos)} photographs, {pixels / 1e6:.1f} Mpx, in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
