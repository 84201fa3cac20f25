"""core.segmentation_training.onnx_softmax: the channel softmax written as elementwise operations.

The expected probabilities come from onnxruntime's own Softmax kernel run on the graph before the rewrite (and, for
the bundled model, from the model file as it is: the rewrite must not change what it says)."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from labelmigration.core.segmentation_training.onnx_softmax import elementwise_softmax  # noqa: E402


def _conv_softmax(opset: int, axis: int = 1, classes: int = 3):
    rng = np.random.default_rng(opset)
    weights = rng.normal(0.0, 2.0, (classes, 4, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["input", "W"], ["logits"], kernel_shape=[3, 3], pads=[1] * 4),
             helper.make_node("Softmax", ["logits"], ["output"], axis=axis)]
    graph = helper.make_graph(
        nodes, "conv_softmax", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4, 40, 50])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", classes, 40, 50])],
        initializer=[numpy_helper.from_array(weights, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset < 18 else 9
    entry = model.metadata_props.add()
    entry.key, entry.value = "class_names", '["clear", "cloud", "shadow"]'
    return model


def _run(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


@pytest.mark.parametrize("opset", [13, 17, 18, 20])
def test_same_probabilities_as_onnxruntimes_softmax(opset):
    model = _conv_softmax(opset)
    x = np.random.default_rng(7).normal(0.0, 5.0, (2, 4, 40, 50)).astype(np.float32)  # logits spread far
    expected = _run(model, x)
    assert elementwise_softmax(model) == 1
    onnx.checker.check_model(model)
    assert "Softmax" not in {node.op_type for node in model.graph.node}
    actual = _run(model, x)
    np.testing.assert_allclose(actual, expected, atol=1e-6)
    np.testing.assert_array_equal(actual.argmax(axis=1), expected.argmax(axis=1))
    assert [(p.key, p.value) for p in model.metadata_props] == [("class_names", '["clear", "cloud", "shadow"]')]


def test_other_axes_and_old_opsets_are_left_alone():
    last_axis = _conv_softmax(17, axis=-1)
    assert elementwise_softmax(last_axis) == 0 and last_axis.graph.node[-1].op_type == "Softmax"
    # before opset 13 Softmax flattened the input to 2-D first: softmax over C x H x W, a different function
    flattened = _conv_softmax(11)
    assert elementwise_softmax(flattened) == 0 and flattened.graph.node[-1].op_type == "Softmax"


def test_the_bundled_cloud_model_carries_the_elementwise_form(repo_root):
    """The shipped model was rewritten by `python -m training.export --elementwise-softmax`; new exports get it
    from core.segmentation_training.onnx_export.exported_proto."""
    model = onnx.load(str(repo_root / "models" / "cloud_s2_4band.onnx"))
    ops = [node.op_type for node in model.graph.node]
    assert "Softmax" not in ops and ops[-5:] == ["ReduceMax", "Sub", "Exp", "ReduceSum", "Div"]
    x = np.random.default_rng(3).normal(0.0, 3.0, (1, 4, 512, 512)).astype(np.float32)
    probabilities = _run(model, x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
