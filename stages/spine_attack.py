"""Stage spine_attack: decode the held-out targets' leaked templates into faces."""

from faceleak.attacks.embedding_inversion import EmbeddingInversionAttack
from faceleak.io import read_npz, write_npz
from faceleak.stage import start
from faceleak.systems.spine.params import load_spine_params
from faceleak.systems.spine.steps import FaceSet, reconstruct

params = start(load_spine_params)
faces = FaceSet.load("data/processed/faces.npz")
attack = EmbeddingInversionAttack(params.train, faces.faces.shape[1], params.seed).load("models/decoder.pt")
reconstructions = reconstruct(attack, faces, read_npz("data/leak/leaked.npz")["leaked"])
write_npz("data/attack/reconstructions.npz", reconstructions=reconstructions, names=faces.names[faces.mask("test")])
