"""Networks: FaceNet loading and conversion, mask classifier, decoders."""
