#!/usr/bin/env python3
"""Convert the authors' released TinyLUT-S x4 tables into a tinylut model file.

    python tools/import_official.py ../shared/data/official/tinylut_s_x4 OUT.tlut
"""
import argparse
import sys

from tinylut.model import write_model
from tinylut.official import import_official


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder with the released .npy tables and clip_scales.npz")
    parser.add_argument("out", help="model file to write (.tlut)")
    args = parser.parse_args(argv)
    try:
        spec = import_official(args.folder)
    except (OSError, ValueError, KeyError) as e:
        print(f"import_official: {e}", file=sys.stderr)
        return 2
    write_model(spec, args.out)
    print(f"wrote {args.out}: {spec.name}, {spec.table_bytes} table bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
