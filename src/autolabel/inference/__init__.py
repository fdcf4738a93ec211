"""Model specs, pre- and post-processing, and onnxruntime sessions."""
