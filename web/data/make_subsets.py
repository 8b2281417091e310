#!/usr/bin/python3
"""Write the browser-sized Fashion-MNIST subsets used by the quantlab playground.

Reads the IDX files shipped by Debian's `dataset-fashion-mnist` package and writes
raw uint8 files next to this script:

  fashion-test-2000.images.u8    first 2,000 test images, 2000*28*28 bytes, row-major
  fashion-test-2000.labels.u8    their labels, 2,000 bytes (0..9)
  fashion-train-6000.images.u8   first 6,000 training images, 6000*28*28 bytes
  fashion-train-6000.labels.u8   their labels, 6,000 bytes

Pixels are the unnormalized 0..255 values from the IDX files (0 = background).
Usage: /usr/bin/python3 web/data/make_subsets.py [--src DIR] [--out DIR]
"""
import argparse
import gzip
import os
import struct

import numpy as np

DEFAULT_SRC = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """Return the array stored in an (optionally gzipped) IDX file."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{path}: size mismatch")
    return arr.reshape(shape)


def load_split(src, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(src, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(src, f"{prefix}-labels-idx1-ubyte.gz"))
    return images, labels


SUBSETS = (("test", 2000, "fashion-test-2000"), ("train", 6000, "fashion-train-6000"))


def write_subsets(src=DEFAULT_SRC, out=os.path.dirname(os.path.abspath(__file__)), verbose=True):
    """Write the four .u8 files into `out`; return {filename: size_in_bytes}."""
    os.makedirs(out, exist_ok=True)
    written = {}
    for split, count, name in SUBSETS:
        images, labels = load_split(src, split)
        for suffix, arr in (("images", images[:count]), ("labels", labels[:count])):
            path = os.path.join(out, f"{name}.{suffix}.u8")
            with open(path, "wb") as f:
                f.write(np.ascontiguousarray(arr, dtype=np.uint8).tobytes())
            written[os.path.basename(path)] = arr.nbytes
            if verbose:
                print(f"wrote {path} ({arr.nbytes} bytes, shape {list(arr.shape)})")
    return written


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default=DEFAULT_SRC, help="directory holding the Fashion-MNIST IDX .gz files")
    ap.add_argument("--out", default=here, help="output directory (default: this script's directory)")
    args = ap.parse_args()
    write_subsets(args.src, args.out)


if __name__ == "__main__":
    main()
