"""tools/train_from_arrays.py: bundles of token ids and detokenizing without TensorFlow."""

import json
import os

import numpy as np

from tests.test_case import TestCase
from tests.test_case import load_tool


class TrainFromArraysToolTest(TestCase):
    def test_symbol_detokenizer_joins_target_symbols(self):
        tool = load_tool("train_from_arrays.py")
        vocabulary = "<pad>\n<unk>\n<s>\n</s>\nK\nAE\nT\n".encode("utf-8")
        config = {"type": "symbol", "target_split": "whitespace"}
        detokenize = tool.make_detokenizer(config, {"target.vocabulary.txt": vocabulary})
        self.assertEqual(detokenize([4, 5, 6]), "K AE T")
        config["target_split"] = "characters"
        detokenize = tool.make_detokenizer(config, {"target.vocabulary.txt": vocabulary})
        self.assertEqual(detokenize([6, 5]), "TAE")

    def test_bundle_round_trip_and_older_joint_bundles(self):
        tool = load_tool("train_from_arrays.py")
        rows = [[4, 5], [6], [7, 8, 9]]
        arrays = {}
        for name in ("train_source", "train_target", "validation_source"):
            arrays[f"{name}_flat"], arrays[f"{name}_offsets"] = tool._ragged(rows)
        # The format of bundles written before symbol tokenizers: one joint
        # SentencePiece model under "spm" and one vocabulary size.
        meta = {"recipe": {}, "vocabulary_size": 8000, "validation_references": ["a"]}
        arrays["spm"] = np.frombuffer(b"proto", dtype=np.uint8)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        path = os.path.join(self.tmp_dir, "old.npz")
        np.savez(path, **arrays)
        bundle = tool.load_bundle(path)
        self.assertEqual(bundle["tokenizer_files"], {"joint.spm": b"proto"})
        self.assertEqual(bundle["meta"]["encoder_vocabulary_size"], 8000)
        self.assertEqual(bundle["meta"]["decoder_vocabulary_size"], 8000)
        for name in ("train_source", "train_target", "validation_source"):
            self.assertEqual([list(r) for r in bundle[name]], rows)
