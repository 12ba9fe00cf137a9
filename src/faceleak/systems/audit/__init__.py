"""System audit: one recognizer (the project's, or a user's ONNX file) audited for what it leaks and what protects against it."""
