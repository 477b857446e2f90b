"""regularization layers."""

from chainrule.layers.regularization.activity_regularization import ActivityRegularization
from chainrule.layers.regularization.alpha_dropout import AlphaDropout
from chainrule.layers.regularization.dropout import Dropout
from chainrule.layers.regularization.gaussian_dropout import GaussianDropout
from chainrule.layers.regularization.gaussian_noise import GaussianNoise
from chainrule.layers.regularization.spatial_dropout import SpatialDropout1D, SpatialDropout2D, SpatialDropout3D

__all__ = ["ActivityRegularization", "AlphaDropout", "Dropout", "GaussianDropout", "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D",
           "SpatialDropout3D"]
