"""The colour cast: MFR2's unmasked photos in colour, one cloaked and one reference per person with two."""

import numpy as np
import pytest

from faceleak.params import ParamsError
from faceleak.systems.cloak.colour import colour_cast_params, unmasked_mfr2
from faceleak.systems.cloak.steps import select_cast


def test_the_colour_cast_is_mfr2_s_unmasked_photos(mfr2_root):
    table = unmasked_mfr2(mfr2_root)
    assert table.faces.shape == (98, 160, 160, 3) and table.faces.dtype == np.uint8
    assert np.abs(table.faces[..., 0].astype(int) - table.faces[..., 2]).mean() > 5  # colour, not grey repeated
    params = colour_cast_params(table)
    assert (params.users, params.cloaked_photos, params.references, params.gallery_people) == (45, 1, 1, 8)
    cast = select_cast(table, params, seed=0)
    assert len(cast.cloaked) == len(cast.references) == 45 and len(cast.gallery) == 8
    assert sorted(table.people[cast.cloaked]) == sorted(table.people[cast.references])
    assert not set(table.people[cast.gallery]) & set(table.people[cast.cloaked])


def test_a_quick_run_casts_fewer_users_and_too_many_is_one_line(mfr2_root):
    table = unmasked_mfr2(mfr2_root)
    cast = select_cast(table, colour_cast_params(table, 4), seed=0)
    assert len(cast.cloaked) == len(cast.references) == 4 and len(cast.gallery) == 8
    with pytest.raises(ParamsError, match=r"'cloak.colour_users' = 46 is not allowed; expected null or at most 45"):
        colour_cast_params(table, 46)
