"""Stage encryption_attack: the test people's faces shared under each scheme; the key-holder's and every
adversary's reconstruction (guesser, partial code, learning adversary, averaging, invariant reader) with
their image quality, the decoy classifier, whether shared codes link two photos of the same person, and a
standard codec (JPEG, WebP) at the bytes of one share and of the key-holder's one code."""

import numpy as np

from faceleak.data.images import resized_uint8
from faceleak.data.table import FaceTable
from faceleak.io import write_json, write_npz
from faceleak.models.sparse_autoencoder import load_sparse_autoencoder
from faceleak.plots import reconstruction_grid
from faceleak.stage import note_timing, start
from faceleak.systems.encryption.params import load_encryption_params
from faceleak.systems.encryption.names import CEILING, MEAN_FACE
from faceleak.systems.encryption.steps import (
    LEARNING_VAL_IMAGES, attack_scheme, code_similarity_auc, codec_at_bytes, encode, linkability_pairs, model_faces, pixels, quality, share_bytes,
    split_rows,
)

GRID_FACES = 6

params = start(load_encryption_params)
table = FaceTable.load("data/lfw/faces.npz")
model = load_sparse_autoencoder("models/encryption/autoencoder.pt")
rows = split_rows(table.people, (params.split.val_fraction, params.split.test_fraction), params.seed)
rng = np.random.default_rng(params.seed)
sample = lambda split, count: model_faces(table.faces[np.sort(rng.permutation(rows[split])[:count])], params.model.image_size)
public = {"learning": sample("train", params.adversaries.learning_images), "val": sample("val", LEARNING_VAL_IMAGES), "classifier": sample("train", params.adversaries.classifier_faces)}
test_faces = model_faces(table.faces[rows["test"]], params.model.image_size)
codes = encode(model, test_faces)
judged = np.sort(rng.permutation(len(rows["test"]))[: params.evaluation.test_images])
links = linkability_pairs(table.people[rows["test"]], params.evaluation.linkability_pairs, params.seed)
originals = pixels(test_faces[judged])
mean_face = pixels(public["learning"].mean(0, keepdim=True)).repeat(len(judged), axis=0)
reconstructions = {CEILING: resized_uint8(table.faces[rows["test"][judged]], params.model.image_size), MEAN_FACE: mean_face}
budgets = {"one share": share_bytes(params.codes, params.model.k, params.model.code_size), "one code": share_bytes(1, params.model.k, params.model.code_size)}
codecs = {}
for codec, label in (("JPEG", "JPEG"), ("WEBP", "WebP")):
    for what, budget in budgets.items():
        name = f"{label} at {what}'s bytes ({budget:,} B)"
        reconstructions[name], codecs[name] = codec_at_bytes(originals, budget, codec)
schemes = {}
for scheme in params.schemes:
    outcome = attack_scheme(model, codes, judged, public, links, scheme, params)
    reconstructions.update({f"{reader} ({scheme})": faces for reader, faces in outcome.reconstructions.items()})
    schemes[scheme] = {"decoy_classifier": outcome.decoy_classifier, "linkability_auc": outcome.linkability_auc, "invariant_linkability_auc": outcome.invariant_linkability_auc}
write_npz("data/encryption/reconstructions.npz", rows=rows["test"][judged], names=np.array(list(reconstructions)), faces=np.stack(list(reconstructions.values())))
write_json(
    "metrics/encryption_attack.json",
    {
        "codes_per_face": params.codes,
        "judged_faces": len(judged),
        "test_faces": len(codes),
        "linkability_pairs": {"same": int(links[1].sum()), "different": int((~links[1]).sum())},
        "codes_in_clear_linkability_auc": code_similarity_auc(codes, *links),
        "share_bytes": budgets,
        "codec_mean_bytes": codecs,
        "schemes": schemes,
        "quality": {name: quality(originals, faces) for name, faces in reconstructions.items() if name != CEILING},
    },
)
grid = np.unique(table.people[rows["test"][judged]], return_index=True)[1][:GRID_FACES]
reconstruction_grid("plots/encryption_grid.png", originals[grid], {name.replace(" (", "\n("): faces[grid] for name, faces in reconstructions.items() if name not in (CEILING, MEAN_FACE) and name not in codecs}, [str(p) for p in table.people[rows["test"][judged]][grid]])
note_timing(judged_faces=len(judged), test_faces=len(codes))
