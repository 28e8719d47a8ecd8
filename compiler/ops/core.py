"""Core layers: Dense, the inference no-ops (Dropout & co.), Flatten, Reshape, Permute.

IR ops here: ``Dense``, ``identity``, ``reshape`` (keeps axis 0, sets the rest) and
``transpose``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TdcError
from ..frontend.params import (
    MAX_SIZE,
    REQUIRED,
    Param,
    activation,
    boolean,
    choice,
    dense_like_training,
    initializer,
    int_list,
    integer,
    number,
    optional,
)
from ..ir.graph import Dim, Node, Shape, dim_mul, shape_str, static_size
from ..ir.registry import OpDef, StepRefused, WeightSpec, register
from .activations import apply_fused, numpy_fused_in_place

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec


def ones(shape: Shape) -> Shape:
    """``shape`` with every symbolic dim set to 1 (for per-sample FLOP counts)."""
    return tuple(d if isinstance(d, int) else 1 for d in shape)


def last_dim(value: Value, what: str) -> int:
    d = value.shape[-1]
    if not isinstance(d, int):
        raise TdcError(f"{what} needs a static last dimension, got {shape_str(value.shape)}")
    return d


@register("Dense")
class Dense(OpDef):
    """``y = act(x @ kernel + bias)`` on the last axis of an input of any rank."""

    last_axis_only = fuses_activation = folds_batchnorm = True
    mask_flow = "propagate"
    stream = "last_axis"

    params = {
        "units": Param(REQUIRED, integer(lo=1)),
        "activation": Param("linear", activation),
        "use_bias": Param(True, boolean),
        "kernel_initializer": Param("glorot_uniform", initializer),
        "bias_initializer": Param("zeros", initializer),
        "lora_rank": Param(None, optional(integer(lo=1))),
        "lora_alpha": Param(None, optional(number())),
        **dense_like_training(["kernel", "bias"]),
    }

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        if len(shapes[0]) < 2:
            raise TdcError("Dense needs an input of rank >= 2")
        fan_in = shapes[0][-1]
        if not isinstance(fan_in, int):
            raise TdcError(f"Dense needs a static last dimension, got {shape_str(shapes[0])}")
        specs = {"kernel": WeightSpec((fan_in, attrs["units"]), attrs["kernel_initializer"])}
        if attrs["use_bias"]:
            specs["bias"] = WeightSpec((attrs["units"],), attrs["bias_initializer"])
        return specs

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        weights = b.weights(self.weight_specs(a, [inputs[0].shape]))
        (y,) = b.emit("Dense", inputs, {"units": a["units"]}, weights)
        return [b.act(y, a["activation"])]

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        k = node.weights["kernel"]
        if x.shape[-1] != k.shape[0]:
            raise TdcError(f"Dense kernel {k.shape} does not fit input {shape_str(x.shape)}")
        return [(x.shape[:-1] + (k.shape[1],), "float32")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        y = g.op("MatMul", [g[node.inputs[0]], g.const(node.weights["kernel"], "kernel")])
        if "bias" in node.weights:
            y = g.op("Add", [y, g.const(node.weights["bias"], "bias")])
        g.set(node, apply_fused(g, node, y))

    def numpy(self, node: Node) -> dict[str, Any]:
        features, units = node.weights["kernel"].shape
        return {
            "use_bias": "bias" in node.weights,
            "flatten": node.inputs[0].rank > 2,
            "features": features,
            "units": units,
            "ret": numpy_fused_in_place(node),
        }

    def flops(self, node: Node) -> int:
        rows = static_size(ones(node.inputs[0].shape[:-1])) or 1
        return 2 * rows * int(node.weights["kernel"].size)


@register("identity")
class Identity(OpDef):
    """Passes its input through; inference no-ops lower to it and a pass removes it."""

    last_axis_only = True
    stream = "elementwise"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return [(node.inputs[0].shape, node.inputs[0].dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        g.set(node, g.op("Identity", [g[node.inputs[0]]]))


class _NoOp(OpDef):
    """A layer that only acts in training: identity at inference."""

    mask_flow = "propagate"

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        return b.emit("identity", inputs)


_RATE = Param(REQUIRED, number(lo=0, hi=1))
_SEED = Param(None, optional(integer(lo=0)))


def _noise_shape(v: Any) -> tuple[int | None, ...] | None:
    """Dropout's ``noise_shape``: null, or a list of sizes >= 1 and nulls (EfficientNet
    writes ``[null, 1, 1, 1]``: null takes the input's size). Inert at inference."""
    if v is None:
        return None
    ok = isinstance(v, list | tuple) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_SIZE)
        for d in v
    )
    if not ok:
        raise ValueError(f"null or a list of integers >= 1 (at most {MAX_SIZE}) and nulls")
    return tuple(v)


_NOISE = Param(None, _noise_shape)
_FORMAT = Param(None, optional(choice("channels_last", any_case=True)))

for _name, _params in {
    "Dropout": {"rate": _RATE, "noise_shape": _NOISE, "seed": _SEED},
    "AlphaDropout": {"rate": _RATE, "noise_shape": _NOISE, "seed": _SEED},
    "SpatialDropout1D": {"rate": _RATE, "seed": _SEED},
    "SpatialDropout2D": {"rate": _RATE, "data_format": _FORMAT, "seed": _SEED},
    "SpatialDropout3D": {"rate": _RATE, "data_format": _FORMAT, "seed": _SEED},
    "GaussianNoise": {"stddev": Param(REQUIRED, number(lo=0)), "seed": _SEED},
    "GaussianDropout": {"rate": _RATE, "seed": _SEED},
    "Identity": {},
}.items():
    register(_name)(type(_name + "Layer", (_NoOp,), {"params": _params}))


@register("reshape")
class ReshapeOp(OpDef):
    """Keeps axis 0 and sets the others to ``attrs['shape']`` (static ints or symbols)."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        shape = node.attrs["shape"]
        if not shape or shape[0] != node.inputs[0].shape[1]:
            raise StepRefused("reshapes the time axis away")
        return {**node.attrs, "shape": tuple(shape[1:])}

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        return [((x.shape[0], *node.attrs["shape"]), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        dims = [d if isinstance(d, int) else -1 for d in node.attrs["shape"]]
        if dims.count(-1) > 1:
            raise TdcError(
                f"cannot reshape to {shape_str(node.output.shape)}: more than one dynamic dimension"
            )
        x = g[node.inputs[0]]
        if -1 not in dims:  # 0: the batch axis as it is, 0 included
            g.set(node, g.op("Reshape", [x, g.ints([0, *dims])]))
            return
        # -1 is undefined on a batch of 0 (0 / 0): the dynamic dim is the per-sample size
        # over the static ones, and may itself be 0, so the shape is taken as written
        shape = g.op("Shape", [x])
        rank = node.inputs[0].rank
        per = g.op("ReduceProd", [g.op("Slice", [shape, g.ints([1]), g.ints([rank])])], keepdims=1)
        k = dims.index(-1)
        before, after = dims[:k], dims[k + 1 :]
        dyn = g.op("Div", [per, g.ints([static_size(tuple(before + after)) or 1])])
        parts = [g.op("Slice", [shape, g.ints([0]), g.ints([1])])]
        parts += [g.ints(before)] if before else []
        parts += [dyn, *([g.ints(after)] if after else [])]
        g.set(node, g.op("Reshape", [x, g.op("Concat", parts, axis=0)], allowzero=1))

    def numpy(self, node: Node) -> dict[str, Any]:
        dims = [str(d) if isinstance(d, int) else "-1" for d in node.attrs["shape"]]
        if "-1" in dims:  # -1 is undefined on a batch of 0: the per-sample size instead
            known = static_size(tuple(d for d in node.attrs["shape"] if isinstance(d, int))) or 1
            dims[dims.index("-1")] = f"int(np.prod(x.shape[1:])) // {known}"
        return {"target": ", ".join(["x.shape[0]", *dims])}


@register("transpose")
class TransposeOp(OpDef):
    """Permutes axes; ``attrs['perm']`` includes the batch axis."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        perm = list(node.attrs["perm"])
        if perm[:2] != [0, 1]:
            raise StepRefused("moves the time axis")
        return {**node.attrs, "perm": tuple([0] + [p - 1 for p in perm[2:]])}

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        return [(tuple(x.shape[p] for p in node.attrs["perm"]), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        g.set(node, g.op("Transpose", [g[node.inputs[0]]], perm=list(node.attrs["perm"])))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {"perm": tuple(node.attrs["perm"])}


@register("Flatten")
class Flatten(OpDef):
    params = {"data_format": _FORMAT}
    mask_flow = "drop"

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = inputs[0]
        if x.rank <= 2:
            return b.emit("reshape", inputs, {"shape": (x.shape[1],) if x.rank == 2 else (1,)})
        total: Dim = 1
        for d in x.shape[1:]:
            total = dim_mul(total, d)
        return b.emit("reshape", inputs, {"shape": (total,)})


@register("Reshape")
class Reshape(OpDef):
    params = {"target_shape": Param(REQUIRED, int_list(lo=1, allow=(-1,)))}
    mask_flow = "drop"

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x, target = inputs[0], list(spec.attrs["target_shape"])
        if target.count(-1) > 1:
            raise TdcError("Reshape target_shape may contain -1 at most once")
        size = static_size(x.shape[1:])
        if size is None:
            raise TdcError(f"Reshape needs static input dims, got {shape_str(x.shape)}")
        known = static_size(tuple(d for d in target if d != -1)) or 1
        if -1 in target:
            if size % known:
                raise TdcError(f"cannot reshape {shape_str(x.shape)} to {tuple(target)}")
            target[target.index(-1)] = size // known
        elif known != size:
            raise TdcError(
                f"cannot reshape {shape_str(x.shape)} ({size} values per sample) to {tuple(target)}"
            )
        return b.emit("reshape", inputs, {"shape": tuple(target)})


@register("Permute")
class Permute(OpDef):
    params = {"dims": Param(REQUIRED, int_list(lo=1))}
    mask_flow = "drop"

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        dims = spec.attrs["dims"]
        if sorted(dims) != list(range(1, inputs[0].rank)):
            raise TdcError(f"Permute dims {dims} must be a permutation of 1..{inputs[0].rank - 1}")
        return b.emit("transpose", inputs, {"perm": (0, *dims)})
