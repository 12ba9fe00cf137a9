"""Stage weights: pretrained FaceNet weights for facenet-pytorch's InceptionResnetV1."""

from faceleak.io import save_weights
from faceleak.models.facenet import pretrained_state_dict
from faceleak.stage import start

params = start()
save_weights("models/facenet.pt", pretrained_state_dict(params.weights.facenet))
