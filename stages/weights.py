"""Stage weights: pretrained FaceNet weights for facenet-pytorch's InceptionResnetV1."""

import torch

from faceleak.io import atomic_path
from faceleak.models.facenet import pretrained_state_dict
from faceleak.stage import start

params = start()
state = pretrained_state_dict(params.weights.facenet)
with atomic_path("models/facenet.pt") as temporary:
    torch.save(state, temporary)
