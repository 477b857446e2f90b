"""Pooling layers: max and average pooling over windows, and global pooling over whole spatial
axes, each with Keras's short alias (MaxPool2D, AvgPool2D, GlobalAvgPool2D...)."""

from chainrule.layers.pooling.average_pooling1d import AveragePooling1D
from chainrule.layers.pooling.average_pooling2d import AveragePooling2D
from chainrule.layers.pooling.average_pooling3d import AveragePooling3D
from chainrule.layers.pooling.global_average_pooling1d import GlobalAveragePooling1D
from chainrule.layers.pooling.global_average_pooling2d import GlobalAveragePooling2D
from chainrule.layers.pooling.global_average_pooling3d import GlobalAveragePooling3D
from chainrule.layers.pooling.global_max_pooling1d import GlobalMaxPooling1D
from chainrule.layers.pooling.global_max_pooling2d import GlobalMaxPooling2D
from chainrule.layers.pooling.global_max_pooling3d import GlobalMaxPooling3D
from chainrule.layers.pooling.max_pooling1d import MaxPooling1D
from chainrule.layers.pooling.max_pooling2d import MaxPooling2D
from chainrule.layers.pooling.max_pooling3d import MaxPooling3D

MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D, GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)

__all__ = [
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalAvgPool1D",
    "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
]
