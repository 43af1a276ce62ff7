"""Converting between the keep convention (Srivastava et al., CS231n) and the drop convention."""
from __future__ import annotations

from ._checks import check_p_drop


def keep_to_drop(p_keep: float) -> float:
    """Turn a keep probability (the 2014 paper's ``p``) into ``p_drop`` (PyTorch's ``p``)."""
    return 1.0 - check_p_drop(p_keep, name="p_keep")


def drop_to_keep(p_drop: float) -> float:
    """Turn ``p_drop`` (PyTorch's ``p``) into the keep probability of the classic papers."""
    return 1.0 - check_p_drop(p_drop)
