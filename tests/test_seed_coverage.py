"""Every point the three source documents (../shared/seeds) make is taught, and this table says where.

Each row: the point, the seed(s) making it, the lesson that teaches it, and a pattern that the lesson's
text must contain (case-insensitive regular expression over the MyST source, prose and code). A row
whose pattern stops matching means the lesson lost that point; a new seed point needs a new row.
Seeds: A = the "unconventional regularisation technique" blog post, B = the flashcards (CS231n notes),
C = the course chapter "09-01 Dropout Regularization".
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"

CH1, CH2, CH3, CH4 = "01_why_dropout", "02_vanilla_vs_inverted", "03_backward", "04_training"
CH5, CH6, CH7 = "05_spatial", "06_monte_carlo", "07_beyond"

TOPICS = [
    # (point, seeds, chapter, pattern)
    ("overfitting of large networks motivates regularisation", "A C", CH1, r"overfit"),
    ("dropout changes the network, not the cost function", "A", CH1, r"(cost|loss|objective)"),
    ("an ensemble of 2^n thinned networks that share weights", "A B C", CH1, r"2\^\{?n\}?|2\^n"),
    ("co-adaptation: no unit can rely on another", "A B C", CH1, r"co-adapt"),
    ("robust features, less sensitive to noise", "A", CH4, r"nois"),
    ("pair dropout with L2 / max-norm: the effective learning rate (and why that argument is loose)", "A", CH1,
     r"effective learning rate"),
    ("max-norm constraint", "A", CH1, r"max-norm"),
    ("mostly used on fully connected layers; conv weight sharing resists overfitting", "A B", CH1,
     r"share each filter across positions"),
    ("global average pooling replaced the FC layers that held dropout", "B", CH5, r"global average pooling"),
    ("less used today: L2 and BatchNorm took over in conv nets", "B C", CH1, r"batch ?norm"),
    ("DeiT: dropout hurt ViT image classification", "B", CH1, r"deit|touvron"),
    ("train longer: dropout needs more epochs to converge", "B", CH1, r"longer to converge"),
    ("switch dropout off for the final prediction (model.eval())", "B C", CH4, r"model\.eval\(\)"),
    ("the seeds' p is a keep probability in two of them: the course's p_drop", "A B", CH2, r"keep probability"),
    ("vanilla dropout scales by the keep probability at test time", "A B", CH2, r"vanilla"),
    ("inverted dropout scales by 1/q at training time, nothing at test", "A B C", CH2, r"inverted"),
    ("the expected activation is preserved", "C", CH2, r"why the expectations match"),
    ("the next layer must see the same distribution at train and test", "B", CH2,
     r"next layer would see larger numbers"),
    ("a Bernoulli mask per unit", "A C", CH2, r"bernoulli"),
    ("backward: the gradient flows through the same mask and scale", "A", CH3,
     r"\*same\* scale as in the forward"),
    ("the mask is saved in the forward pass for the backward", "A", CH3, r"(sav|cach|stor)\w* (the )?mask"),
    ("a dropout layer has no learnable parameters", "A", CH3, r"dropout has no parameters"),
    ("spatial dropout drops whole feature maps in CNNs", "C", CH5, r"Dropout2d"),
    ("BatchNorm and dropout interact: choose one, or dropout after BN", "C", CH4, r"batch ?norm"),
    ("data augmentation is a complementary regulariser", "C", CH1, r"augment"),
    ("early stopping is a complementary regulariser", "C", CH1, r"early stopping"),
    ("ensemble methods: dropout approximates averaging many models", "C", CH1, r"ensemble"),
    ("DropConnect drops weights instead of units", "C", CH7, r"dropconnect"),
    ("recurrent nets: the same mask at every time step", "C", CH7, r"time step"),
    ("too high a rate underfits", "C", CH4, r"not overfitting but underfitting"),
    ("different rates for input, hidden and conv layers", "C", CH4, r"different rates for different layers"),
    ("0.5 is a common default for hidden layers", "B C", CH4, r"0\.5"),
    ("dropout goes after the activation, not on the output layer", "C", CH4, r"never on the output layer"),
    ("MC dropout: keep dropout on at test time to estimate uncertainty", "C", CH6, r"uncertain"),
    ("MC dropout with model.train() also switches BatchNorm: keep it in eval", "C", CH6, r"batch ?norm"),
    ("Hinton et al. (2012), the first dropout paper", "C", CH1, r"hinton2012"),
]


@pytest.mark.parametrize("point,seeds,chapter,pattern", TOPICS, ids=[t[0][:50] for t in TOPICS])
def test_seed_point_is_taught_where_the_table_says(point, seeds, chapter, pattern):
    lesson = ROOT / "chapters" / chapter / "lesson.md"
    assert re.search(pattern, lesson.read_text(), re.I), f"{point!r} ({seeds}) is not taught in {chapter}"


def test_the_table_covers_all_three_seeds():
    assert len(list(SEEDS.glob("*.txt"))) == 3, "a seed was added or removed: review the table above"
    for seed in "ABC":
        assert sum(seed in row[1].split() for row in TOPICS) >= 5, seed
