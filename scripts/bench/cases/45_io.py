# io peer: numpy.load for .npy; for safetensors (no safetensors package in
# Debian 12) the obvious reader: parse the JSON header, readinto one numpy
# buffer per tensor.
import json
import os
import struct

import numpy as np

import bench

DIR = "build/bench/io"
os.makedirs(DIR, exist_ok=True)
NPY, ST = DIR + "/x400.npy", DIR + "/x400.safetensors"

if not os.path.exists(NPY) or not os.path.exists(ST):
    x = bench.pattern(100000, 1000)
    if not os.path.exists(NPY):
        np.save(NPY, x)
    if not os.path.exists(ST):
        header, off = {}, 0
        for i in range(4):
            header["t%d" % i] = {"dtype": "F32", "shape": [25000, 1000], "data_offsets": [off, off + 100000000]}
            off += 100000000
        h = json.dumps(header).encode()
        h += b" " * (-len(h) % 8)
        with open(ST, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h)
            for i in range(4):
                f.write(x[i * 25000:(i + 1) * 25000].tobytes())
    del x

DT = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32, "U8": np.uint8,
      "BOOL": np.bool_}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        header.pop("__metadata__", None)
        out = {}
        for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
            a = np.empty(info["shape"], dtype=DT[info["dtype"]])
            f.seek(8 + n + info["data_offsets"][0])
            f.readinto(memoryview(a).cast("B"))
            out[name] = a
        return out


bench.run("io_npy_400mb", lambda: np.load(NPY), check=bench.total)
bench.run("io_safetensors_400mb", lambda: read_safetensors(ST), check=lambda t: sum(bench.total(v) for v in t.values()))
