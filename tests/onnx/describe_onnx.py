"""Print ONNX graphs compactly: opsets, inputs/outputs (shape, elem type), initializers (name, dims,
dtype, values when <= 8 elements or all equal), then each node as `i: op_type name (inputs) -> (outputs) {attributes}`.
A node input that is an initializer is marked `=init`, one made by a Constant node `=const`. Usage: FILE..."""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

SMALL = 8  # tensors of at most this many elements are printed in full


def type_name(elem_type):
    return onnx.TensorProto.DataType.Name(elem_type)


def value_info(v):
    t = v.type.tensor_type
    dims = [d.dim_param or d.dim_value for d in t.shape.dim]
    return f"{v.name} [{', '.join(map(str, dims))}] {type_name(t.elem_type)}"


def tensor_text(t):
    a = numpy_helper.to_array(t)
    head = f"{type_name(t.data_type)} dims={list(t.dims)}"
    if a.size <= SMALL:
        return f"{head} value={a.tolist()}"
    if a.size and (a == a.flat[0]).all():
        return f"{head} all={a.flat[0].item()}"  # e.g. LayerNormalization's ones / zeros
    return head


def attr_text(a):
    v = helper.get_attribute_value(a)
    if isinstance(v, onnx.TensorProto):
        return tensor_text(v)
    if isinstance(v, bytes):
        return repr(v.decode())
    if isinstance(v, list):
        return repr([x.decode() if isinstance(x, bytes) else x for x in v])
    return repr(v)


def describe(path):
    m = onnx.load(path)
    g = m.graph
    print(f"== {path}  ir={m.ir_version} opsets={[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}"
          f" producer={m.producer_name} {m.producer_version}")
    for v in g.input:
        print("  input  " + value_info(v))
    for v in g.output:
        print("  output " + value_info(v))
    inits = {t.name for t in g.initializer}
    for t in g.initializer:
        print(f"  init   {t.name} {tensor_text(t)}")
    consts = {o for n in g.node if n.op_type == "Constant" for o in n.output}

    def mark(name):
        return name + ("=init" if name in inits else "=const" if name in consts else "")
    for i, n in enumerate(g.node):
        attrs = ", ".join(f"{a.name}: {attr_text(a)}" for a in n.attribute)
        print(f"  {i}: {n.op_type} {n.name} ({', '.join(map(mark, n.input))}) -> ({', '.join(n.output)})"
              + (f" {{{attrs}}}" if attrs else ""))
    try:
        onnx.checker.check_model(m, full_check=True)
        print("  check_model(full_check=True): ok")
    except Exception as e:  # report, don't stop
        print(f"  check_model(full_check=True): FAILED {e}")


if __name__ == "__main__":
    np.set_printoptions(precision=6)
    for f in sys.argv[1:]:
        describe(f)
