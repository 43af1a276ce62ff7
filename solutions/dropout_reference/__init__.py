"""Reference implementation for *Dropout, from first principles*.

Convention: ``p_drop`` is always the probability of dropping a unit (PyTorch's ``p``).
"""
from .conventions import drop_to_keep, keep_to_drop
from .dropconnect import dropconnect_backward, dropconnect_forward
from .fc_net import fc_net_loss, softmax_loss, train_fc_net
from .functional import dropout_backward, inverted_dropout_forward, vanilla_dropout_forward
from .layer import Dropout
from .mc_dropout import enable_mc_dropout, mc_dropout_predict
from .models import DropoutMLP
from .stats_checks import hoeffding_tolerance, keep_rate_is
from .structured import locked_dropout_forward, spatial_dropout_forward
from .uncertainty import (expected_calibration_error, mutual_information, negative_log_likelihood,
                          predictive_entropy, reliability_bins)

__all__ = [
    "keep_to_drop", "drop_to_keep",
    "vanilla_dropout_forward", "inverted_dropout_forward", "dropout_backward", "Dropout",
    "spatial_dropout_forward", "locked_dropout_forward",
    "dropconnect_forward", "dropconnect_backward",
    "softmax_loss", "fc_net_loss", "train_fc_net",
    "DropoutMLP", "enable_mc_dropout", "mc_dropout_predict",
    "predictive_entropy", "mutual_information", "expected_calibration_error",
    "negative_log_likelihood", "reliability_bins", "hoeffding_tolerance", "keep_rate_is",
]
