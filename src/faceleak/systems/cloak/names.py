"""Names of the cloak variants, shared by the stages and the results page (which imports no torch)."""

CLEAN = "clean_0"  # the variant with no cloak: epsilon 0, the baseline of every scenario
MODE_PREFIX = "mode_"  # variants of the modes a person chooses: mode_low, mode_mid, mode_high
