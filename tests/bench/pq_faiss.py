#!/usr/bin/python3
"""The faiss peer of the PQ benchmark (issue 12): Debian python3-faiss's ProductQuantizer on
the same exported weights as quantlab (quantlab_pq_bench --export), at the same d and k.
Benchmarks only; never a test dependency (apt-get install -y python3-faiss).

quantlab keeps ONE codebook per layer shared by every subvector position (Stock et al.), so
the like-for-like faiss run is ProductQuantizer(dsub = d, M = 1, nbits) trained on all the
layer's subvectors (n x d): same bytes, same k. (faiss's own layout, M = cols / d codebooks
of k codewords each, costs M times the codebook bytes and has too few points per codebook
on these layers: faiss warns below 39 k.) faiss defaults: 25 iterations, random init,
training on at most 256 k points (subsampled), one thread here (quantlab is single-threaded).

Debian's faiss is built for /usr/bin/python3 (a pyenv or venv python3 on the PATH does not see it).
Usage: /usr/bin/python3 pq_faiss.py --file F --rows R --cols C --d D --k K [--model M --layer L]
Prints one JSON object per line: peer, model, layer, d, k, weight_mse, ms, bytes.
"""
import argparse
import json
import math
import time

import faiss
import numpy as np


def run(x, dsub, nbits):
    pq = faiss.ProductQuantizer(dsub, 1, nbits)
    t0 = time.perf_counter()
    pq.train(x)
    codes = pq.compute_codes(x)
    ms = (time.perf_counter() - t0) * 1000
    y = pq.decode(codes)
    return float(np.mean((x.astype(np.float64) - y) ** 2)), ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--file', required=True)
    ap.add_argument('--rows', type=int, required=True)
    ap.add_argument('--cols', type=int, required=True)
    ap.add_argument('--d', type=int, required=True)
    ap.add_argument('--k', type=int, required=True)
    ap.add_argument('--model', default='')
    ap.add_argument('--layer', default='')
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    faiss.omp_set_num_threads(a.threads)
    nbits = int(math.log2(a.k))
    if 1 << nbits != a.k:
        raise SystemExit('faiss ProductQuantizer needs k = 2^nbits')
    w = np.fromfile(a.file, dtype=np.float32)
    assert w.size == a.rows * a.cols, (w.size, a.rows, a.cols)
    n_sub = a.rows * a.cols // a.d
    index_bytes = (n_sub * nbits + 7) // 8
    base = {'model': a.model, 'layer': a.layer, 'd': a.d, 'k': a.k}
    shared = np.ascontiguousarray(w.reshape(n_sub, a.d))
    mse, ms = run(shared, a.d, nbits)
    print(json.dumps({'peer': 'faiss', **base, 'weight_mse': mse, 'ms': round(ms, 1),
                      'bytes': index_bytes + a.k * a.d * 4, 'faiss': faiss.__version__}))


if __name__ == '__main__':
    main()
