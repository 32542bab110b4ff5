"""Models: the encoder-decoder backbone and the generation task model."""
