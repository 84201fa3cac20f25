"""Write small synthetic Sentinel-2 products (the test suite's generator) for examples and demos.

    .venv/bin/python tools/make_sample_products.py OUTPUT_FOLDER [--size 1098] [--level L2A] [--folder]

The product covers the bundled demo label (demo/data), around (691 km E, 5338 km N) in UTM 32N,
and is zipped unless --folder is given. Prints the product's path.
"""
import argparse
import os
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output_folder")
    parser.add_argument("--size", type=int, default=1098, help="tile side in 10 m pixels, a multiple of 6")
    parser.add_argument("--level", choices=("L1C", "L2A"), default="L2A")
    parser.add_argument("--baseline", default="05.09")
    parser.add_argument("--folder", action="store_true", help="write a .SAFE folder instead of a zip")
    arguments = parser.parse_args()
    import_root = tempfile.mkdtemp(prefix="labelmigration-tools-")
    os.symlink(REPO_ROOT, os.path.join(import_root, "labelmigration"))
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != REPO_ROOT]
    sys.path.insert(0, import_root)
    from labelmigration.tests.support.safe_products import make_safe_product

    os.makedirs(arguments.output_folder, exist_ok=True)
    product = make_safe_product(arguments.output_folder, arguments.level, arguments.baseline, size_10m=arguments.size,
                                ulx=685980.0, uly=5343000.0, zipped=not arguments.folder)
    print(product.path)


if __name__ == "__main__":
    main()
