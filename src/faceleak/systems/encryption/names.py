"""Names of the readers of a shared face that the encryption stages write and its results page reads."""

KEY_HOLDER = "key-holder"  # the reader with the key; the adversaries are named in steps.attack_scheme
CEILING = "original at the model's size"  # the original photo down to the model's resolution: no decoder of that size does better
MEAN_FACE = "mean face (no information)"  # the public faces' average, the same for every face: what knowing nothing gives
