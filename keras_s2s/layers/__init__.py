"""Layers: recurrent cells, attention, encoders and decoders."""
