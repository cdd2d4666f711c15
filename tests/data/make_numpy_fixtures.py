#!/usr/bin/env python3
"""Writes the NumPy-made fixtures that tests/test_npy.cpp reads.

Run with a Python that has NumPy (Debian: python3-numpy) from this folder:
    python3 make_numpy_fixtures.py
The files are committed, so the tests need neither Python nor NumPy.
Every array holds base(shape) = arange(n) * 0.5 - 3 in C order, so the C++
side can rebuild the expected values from the shape alone.
"""
import numpy as np

def base(shape, dtype):
    n = int(np.prod(shape)) if len(shape) else 1
    return (np.arange(n, dtype=np.float64) * 0.5 - 3).reshape(shape).astype(dtype)

def save(name, arr, version=None):
    with open(f"numpy/{name}", "wb") as f:
        np.lib.format.write_array(f, arr, version=version, allow_pickle=False)

save("c_f8_3d.npy", base((2, 3, 4), "<f8"))
save("fortran_f4_3d.npy", np.asfortranarray(base((2, 3, 4), "<f4")))
save("fortran_f8_2d.npy", np.asfortranarray(base((3, 4), "<f8")))
save("c_f4_1d.npy", base((5,), "<f4"))
save("scalar_f8.npy", base((), "<f8"))
save("empty_f4.npy", base((0, 3), "<f4"))
save("v2_f8.npy", base((2, 2), "<f8"), version=(2, 0))
save("v3_f4.npy", base((3,), "<f4"), version=(3, 0))
save("bigendian_f8.npy", base((2, 2), ">f8"))
save("int64.npy", np.arange(4, dtype="<i8"))
np.savez("numpy/savez.npz", x=base((2, 3, 4), "<f8"), y=base((5,), "<f4"))
np.savez_compressed("numpy/savez_compressed.npz", x=base((2, 3, 4), "<f8"))
