"""Image bytes in, model-ready pixels out: safe decoding, orientation and file-kind sniffing."""
