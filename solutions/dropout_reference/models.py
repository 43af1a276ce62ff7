"""The dropout MLP that the training chapter uses."""
from __future__ import annotations

from torch import nn

from ._checks import check_p_drop


class DropoutMLP(nn.Module):
    """``Dropout(p_drop_input) -> [Linear -> ReLU -> Dropout(p_drop_hidden)] * L -> Linear``.

    Rates follow PyTorch's convention (probability of dropping). Srivastava et al. (2014)
    use about 0.2 on inputs and 0.5 on hidden units.
    """

    def __init__(self, in_features: int, hidden_sizes=(256, 256), n_classes: int = 10,
                 p_drop_input: float = 0.0, p_drop_hidden: float = 0.5):
        super().__init__()
        self.p_drop_input = check_p_drop(p_drop_input)
        self.p_drop_hidden = check_p_drop(p_drop_hidden)
        layers: list[nn.Module] = [nn.Dropout(self.p_drop_input)]
        width = in_features
        for hidden in hidden_sizes:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(self.p_drop_hidden)]
            width = hidden
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_classes)

    def forward(self, x):
        return self.head(self.features(x))

    def hidden_activations(self, x):
        """Post-ReLU activations of every hidden layer (before their dropout), for sparsity plots."""
        acts = []
        h = x
        for module in self.features:
            h = module(h)
            if isinstance(module, nn.ReLU):
                acts.append(h)
        return acts

    def set_dropout(self, p_drop_hidden: float) -> None:
        """Change the hidden rate in place (for scheduled dropout)."""
        self.p_drop_hidden = check_p_drop(p_drop_hidden)
        for module in list(self.features)[1:]:
            if isinstance(module, nn.Dropout):
                module.p = self.p_drop_hidden
