#!/usr/bin/env python3
"""Tiny ONNX models with the I/O contracts of the third-party models the model manager runs.

Upstream weights cannot be fetched here, so the engine's adapters for these contracts are
verified with stand-ins of exactly the same tensor names, shapes and dtypes whose output is a
known function of the input (see test/models-manager/contracts.test.ts):

  contract-htdemucs.onnx   Mixxx's HTDemucs v4 export: input "input" float32 [1, 2, 343980]
                           -> output "output" [1, 4, 2, 343980] (drums, bass, other, vocals).
                           stem k = W[k] * input with W = 0.1, 0.2, 0.3, 0.4 (sums to 1).
  contract-mdx.onnx        UVR MDX-Net: input "input" float32 [batch_size, 4, 2048, 256]
                           -> output "output" same shape (symbolic batch, like UVR's files);
                           the identity (a Mul by 1, so ONNX Runtime keeps a real kernel).
  contract-mdx-gains.onnx  same I/O, channel k scaled by 1, 0.5, 0.25, 2: reveals the channel
                           layout (L re, L im, R re, R im) against a torch reference.
  contract-bad.onnx        a model no adapter accepts: "x" [1, 3, 1000] -> "y" [1, 1000].

Each file is a few hundred bytes (no weights). Opset 17.

Run: /usr/bin/python3 training/export_contract_fixtures.py [--out test/models-manager/fixtures]
"""
import argparse
import os

import onnx
from onnx import TensorProto, helper

HTDEMUCS_SAMPLES = 343980
HTDEMUCS_WEIGHTS = [0.1, 0.2, 0.3, 0.4]
MDX_DIM_F, MDX_DIM_T = 2048, 256
MDX_GAINS = [1.0, 0.5, 0.25, 2.0]


def save(model, path):
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    print(f"{path}: {os.path.getsize(path)} bytes")


def htdemucs():
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    weights = helper.make_tensor("w", TensorProto.FLOAT, [1, 4, 1, 1], HTDEMUCS_WEIGHTS)
    nodes = [
        helper.make_node("Unsqueeze", ["input", "axes"], ["x1"]),  # [1, 1, 2, N]
        helper.make_node("Mul", ["x1", "w"], ["output"]),  # [1, 4, 2, N]
    ]
    graph = helper.make_graph(
        nodes,
        "htdemucs_contract",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 2, HTDEMUCS_SAMPLES])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 2, HTDEMUCS_SAMPLES])],
        initializer=[axes, weights],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="stemdeck")


def mdx():
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    graph = helper.make_graph(
        [helper.make_node("Mul", ["input", "one"], ["output"])],
        "mdx_contract",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 4, MDX_DIM_F, MDX_DIM_T])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 4, MDX_DIM_F, MDX_DIM_T])],
        initializer=[one],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="stemdeck")


def mdx_gains():
    """[B, 4, F, T] -> same, channel k scaled by MDX_GAINS[k]: a stand-in whose output reveals
    the channel layout (L re, L im, R re, R im), checked against a torch reference."""
    gains = helper.make_tensor("g", TensorProto.FLOAT, [1, 4, 1, 1], MDX_GAINS)
    graph = helper.make_graph(
        [helper.make_node("Mul", ["input", "g"], ["output"])],
        "mdx_gains_contract",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 4, MDX_DIM_F, MDX_DIM_T])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 4, MDX_DIM_F, MDX_DIM_T])],
        initializer=[gains],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="stemdeck")


def bad():
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
        "bad_contract",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 1000])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1000])],
        initializer=[axes],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="stemdeck")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(root, "test", "models-manager", "fixtures"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    save(htdemucs(), os.path.join(args.out, "contract-htdemucs.onnx"))
    save(mdx(), os.path.join(args.out, "contract-mdx.onnx"))
    save(mdx_gains(), os.path.join(args.out, "contract-mdx-gains.onnx"))
    save(bad(), os.path.join(args.out, "contract-bad.onnx"))


if __name__ == "__main__":
    main()
