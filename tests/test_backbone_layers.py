"""The layers and arguments ``keras.applications`` backbones use, as small blocks built
the way each backbone builds them, against live Keras with random weights.

Survey (``keras.applications.<Name>(weights=None, include_top=False, pooling="avg")``,
``type(op).__name__`` of ``model.operations``): MobileNet, MobileNetV2, MobileNetV3,
ResNet50, ResNet50V2, DenseNet121, EfficientNetB0, EfficientNetV2B0, NASNetMobile,
InceptionV3, Xception, VGG16, ConvNeXtTiny. Keras operation nodes (MobileNetV3's
``x + 3.0``, ConvNeXt's residual ``+``) are written here as the equivalent layers.
"""

import pytest

from oracle import check, model


def L(kind, name=None, inputs=None, **kw):
    out = {"type": kind, **kw}
    if name:
        out["name"] = name
    if inputs is not None:
        out["inputs"] = inputs
    return out


def bn(name=None, inputs=None, **kw):
    return L("BatchNormalization", name, inputs, **kw)


def conv(filters, k, name=None, inputs=None, **kw):
    return L("Conv2D", name, inputs, filters=filters, kernel_size=k, **kw)


BLOCKS = {
    "mobilenet": model(
        [9, 9, 4],
        L("ZeroPadding2D", padding=[[0, 1], [0, 1]]),
        L("DepthwiseConv2D", kernel_size=3, strides=2, padding="valid", use_bias=False),
        bn(),
        L("ReLU", max_value=6.0),
        conv(6, 1, padding="same", use_bias=False),
        bn(momentum=0.999),
        L("ReLU", max_value=6.0),
        L("GlobalAveragePooling2D"),
    ),
    "mobilenet_v2_residual": model(
        [6, 6, 4],
        conv(8, 1, "expand", padding="same", use_bias=False),
        bn("expand_bn"),
        L("ReLU", "expand_relu", max_value=6.0),
        L("DepthwiseConv2D", "dw", kernel_size=3, padding="same", use_bias=False),
        conv(4, 1, "project", padding="same", use_bias=False),
        bn("project_bn"),
        L("Add", "add", inputs=["x", "project_bn"]),
    ),
    "mobilenet_v3_se": model(
        [8, 8, 3],
        L("Rescaling", "rescale", scale=1 / 127.5, offset=-1.0),
        L("ZeroPadding2D", "pad", padding=[[1, 2], [1, 2]]),
        L("DepthwiseConv2D", "dw", kernel_size=5, strides=2, padding="valid", use_bias=False),
        L("Activation", "hswish", activation="hard_silu"),
        L("GlobalAveragePooling2D", "squeeze", keepdims=True),
        conv(2, 1, "reduce", padding="same"),
        L("ReLU", "reduce_relu"),
        conv(3, 1, "expand", padding="same"),
        L("Activation", "gate", activation="hard_sigmoid"),
        L("Multiply", "excite", inputs=["hswish", "gate"]),
    ),
    "resnet50_stem_and_bottleneck": model(
        [16, 16, 3],
        L("ZeroPadding2D", "pad", padding=[[3, 3], [3, 3]]),
        conv(8, 7, "conv1", strides=2),
        bn("bn1", axis=3, epsilon=1.001e-5),
        L("Activation", "relu1", activation="relu"),
        L("ZeroPadding2D", "pool_pad", padding=[[1, 1], [1, 1]]),
        L("MaxPooling2D", "pool", pool_size=3, strides=2),
        conv(4, 1, "a"),
        L("Activation", "a_relu", activation="relu"),
        conv(4, 3, "b", padding="same"),
        conv(8, 1, "c"),
        bn("c_bn", axis=3, epsilon=1.001e-5),
        L("Add", "add", inputs=["pool", "c_bn"]),
        L("Activation", "out", activation="relu"),
    ),
    "resnet50_v2_preact": model(
        [8, 8, 4],
        bn("preact_bn", axis=3, epsilon=1.001e-5),
        L("Activation", "preact", activation="relu"),
        conv(8, 1, "shortcut", strides=2, inputs="preact"),
        conv(2, 1, "a", use_bias=False, inputs="preact"),
        L("ZeroPadding2D", "a_pad", padding=[[1, 1], [1, 1]]),
        conv(2, 3, "b", strides=2, use_bias=False),
        conv(8, 1, "c"),
        L("Add", "add", inputs=["shortcut", "c"]),
    ),
    "densenet": model(
        [8, 8, 4],
        bn("bn", axis=3, epsilon=1.001e-5),
        L("Activation", "relu", activation="relu"),
        conv(3, 3, "conv", padding="same", use_bias=False),
        L("Concatenate", "concat", axis=3, inputs=["x", "conv"]),
        conv(4, 1, "transition", use_bias=False),
        L("AveragePooling2D", "pool", pool_size=2, strides=2),
    ),
    "efficientnet_se_block": model(
        [9, 9, 3],
        L("Rescaling", "rescaling", scale=1 / 255),
        L("Normalization", "normalization", axis=3, mean=[0.4, 0.5, 0.6], variance=[0.5, 1, 2]),
        L("ZeroPadding2D", "stem_pad", padding=[[0, 1], [0, 1]]),
        conv(6, 3, "stem", strides=2, use_bias=False),
        bn("stem_bn", axis=3),
        L("Activation", "stem_act", activation="silu"),
        L("DepthwiseConv2D", "dw", kernel_size=3, padding="same", use_bias=False),
        L("GlobalAveragePooling2D", "se_squeeze"),
        L("Reshape", "se_reshape", target_shape=[1, 1, 6]),
        conv(2, 1, "se_reduce", padding="same", activation="silu"),
        conv(6, 1, "se_expand", padding="same", activation="sigmoid"),
        L("Multiply", "se_excite", inputs=["dw", "se_expand"]),
        L("Dropout", "drop", rate=0.2, noise_shape=[None, 1, 1, 1]),
        L("Add", "add", inputs=["drop", "stem_act"]),
    ),
    "nasnet_cell": model(
        [9, 9, 4],
        L("Activation", "relu", activation="relu"),
        L("ZeroPadding2D", "pad", padding=[[2, 2], [2, 2]]),
        L("SeparableConv2D", "sep5", filters=4, kernel_size=5, strides=2, use_bias=False),
        L(
            "SeparableConv2D",
            "sep7",
            inputs="relu",
            filters=4,
            kernel_size=7,
            padding="same",
            use_bias=False,
        ),
        L("AveragePooling2D", "avg1", inputs="relu", pool_size=1, strides=2, padding="valid"),
        L("ZeroPadding2D", "shift_pad", inputs="relu", padding=[[0, 1], [0, 1]]),
        L("Cropping2D", "shift", cropping=[[1, 0], [1, 0]]),
        L("AveragePooling2D", "avg2", pool_size=1, strides=2, padding="valid"),
        L("AveragePooling2D", "avg3", inputs="sep7", pool_size=3, strides=1, padding="same"),
        L("MaxPooling2D", "max", inputs="relu", pool_size=3, strides=2, padding="same"),
        L("Concatenate", "concat", axis=-1, inputs=["sep5", "avg1", "avg2", "max"]),
        L("Add", "add", inputs=["avg3", "sep7"]),
    ),
    "inception_factorised": model(
        [9, 9, 4],
        conv(3, [1, 7], "a", padding="same", use_bias=False),
        bn("a_bn", axis=3, scale=False),
        conv(3, [7, 1], "b", padding="same", use_bias=False),
        conv(2, [1, 3], "c", padding="same", use_bias=False, inputs="x"),
        conv(2, [3, 1], "d", padding="same", use_bias=False, inputs="x"),
        L("AveragePooling2D", "avg", pool_size=3, strides=1, padding="same", inputs="x"),
        L("Concatenate", "mixed", axis=3, inputs=["b", "c", "d", "avg"]),
        L("MaxPooling2D", "pool", pool_size=3, strides=2),
    ),
    "xception_residual": model(
        [8, 8, 4],
        L("SeparableConv2D", "sep", filters=6, kernel_size=3, padding="same", use_bias=False),
        bn("sep_bn"),
        L("MaxPooling2D", "pool", pool_size=3, strides=2, padding="same"),
        conv(6, 1, "res", strides=2, padding="same", use_bias=False, inputs="x"),
        L("Add", "add", inputs=["pool", "res"]),
    ),
    "depthwise_by_groups_with_bias": model(
        [3, 3, 4], conv(4, 3, padding="same", groups=4), conv(8, 1, groups=4)
    ),
    "vgg": model(
        [8, 8, 3],
        conv(4, 3, padding="same", activation="relu"),
        L("MaxPooling2D", pool_size=2, strides=2),
        L("GlobalAveragePooling2D"),
    ),
    "convnext_block": model(
        [8, 8, 3],
        L("Normalization", "norm", mean=[123.7, 116.3, 103.5], variance=[3410.0, 3263.0, 3292.0]),
        conv(4, 4, "stem", strides=4),
        L("LayerNormalization", "stem_ln", epsilon=1e-6),
        conv(4, 7, "dw", padding="same", groups=4),
        L("LayerNormalization", "ln", epsilon=1e-6),
        L("Dense", "pw1", units=16),
        L("Activation", "gelu", activation="gelu"),
        L("Dense", "pw2", units=4),
        L("LayerScale", "scale", init_values=1e-6, projection_dim=4),
        L("Add", "add", inputs=["stem_ln", "scale"]),
        L("GlobalAveragePooling2D", "pool"),
    ),
}


pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"


@pytest.mark.parametrize("name", BLOCKS)
def test_backbone_block(tmp_path, name):
    check(tmp_path, BLOCKS[name])
