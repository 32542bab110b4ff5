import numpy as np
import pytest
from keras import ops
from matplotlib.figure import Figure

from keras_s2s.samplers import BeamSampler
from keras_s2s.utils import attention_weights
from keras_s2s.utils import plot_attention
from keras_s2s.utils import plot_attention_weights
from tests.presets.preset_fixtures import make_model
from tests.test_case import TestCase

TEXT = "two men"  # Fits the tiny preprocessor's 8 source tokens.


class AttentionPlotTest(TestCase):
    def setUp(self):
        super().setUp()
        self.model = make_model()

    def teacher_forced_weights(self, output_tokens):
        """The decoder's attention over the whole output at once (no stepping)."""
        preprocessor = self.model.preprocessor
        inputs = preprocessor.generate_preprocess([TEXT])
        tokenizer = preprocessor.decoder_tokenizer
        ids = [tokenizer.start_token_id] + [tokenizer.token_to_id(t) for t in output_tokens]
        backbone = self.model.backbone
        memory, memory_mask, state = backbone.encode(
            inputs["encoder_token_ids"], inputs["encoder_padding_mask"]
        )
        # Every output token but the last is fed back.
        embedded = backbone.token_embedding(ops.convert_to_tensor([ids[:-1]]))
        _, weights = backbone.decoder(embedded, memory, memory_mask, initial_state=state)
        mask = np.asarray(ops.convert_to_numpy(inputs["encoder_padding_mask"]))[0]
        return np.asarray(ops.convert_to_numpy(weights))[0][:, mask.astype(bool)]

    def test_weights_match_the_teacher_forced_decoder(self):
        source, output, weights = attention_weights(self.model, TEXT)
        tokenizer = self.model.preprocessor.encoder_tokenizer
        ids = np.asarray(ops.convert_to_numpy(tokenizer(TEXT))).tolist()
        self.assertEqual(source, [tokenizer.id_to_token(i) for i in ids] + ["</s>"])
        self.assertEqual(weights.shape, (len(output), len(source)))
        self.assertEqual(weights.dtype, np.float32)
        self.assertAllClose(weights.sum(axis=1), np.ones(len(output)), atol=1e-5)
        self.assertTrue((weights >= 0).all())
        self.assertAllClose(weights, self.teacher_forced_weights(output), atol=1e-5)
        # The output tokens are those of generate().
        detokenized = self.model.preprocessor.generate_postprocess({
            "decoder_token_ids": np.array([[2] + [
                self.model.preprocessor.decoder_tokenizer.token_to_id(t) for t in output
            ]]),
            "decoder_padding_mask": np.ones((1, len(output) + 1), bool),
        })
        self.assertEqual(detokenized, [self.model.generate(TEXT)])

    def test_n_best_sampler_plots_the_best_hypothesis(self):
        sampler = BeamSampler(num_beams=3, length_penalty=0.6)
        _, best, best_weights = attention_weights(self.model, TEXT, sampler=sampler)
        _, output, weights = attention_weights(
            self.model, TEXT,
            sampler=BeamSampler(num_beams=3, length_penalty=0.6, return_all_beams=True),
        )
        self.assertEqual(output, best)
        self.assertAllClose(weights, best_weights)
        # A shorter max_length bounds the output (start token included).
        _, output, weights = attention_weights(self.model, TEXT, max_length=3)
        self.assertLessEqual(len(output), 2)
        self.assertEqual(weights.shape[0], len(output))

    def test_figure_shows_the_weights_and_tokens(self):
        figure = plot_attention(self.model, TEXT, figsize=(5, 4), dpi=40, title="t")
        self.assertIsInstance(figure, Figure)
        self.assertEqual(figure.canvas.get_width_height(), (200, 160))
        source, output, weights = attention_weights(self.model, TEXT)
        axes = figure.axes[0]
        self.assertAllClose(np.asarray(axes.images[0].get_array()), weights)
        self.assertEqual([t.get_text() for t in axes.get_xticklabels()], source)
        self.assertEqual([t.get_text() for t in axes.get_yticklabels()], output)
        self.assertEqual(figure._suptitle.get_text(), "t")

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match=r"Expected weights of shape .* \(2, 3\)"):
            plot_attention_weights(np.ones((3, 2)), ["a", "b", "c"], ["x", "y"])
        with pytest.raises(ValueError, match="Expected text to be one string"):
            attention_weights(self.model, ["a", "b"])
        self.model.preprocessor = None
        with pytest.raises(ValueError, match="needs a Seq2SeqLM with a preprocessor"):
            attention_weights(self.model, TEXT)
