import keras
import numpy as np
from keras import ops

from keras_s2s.layers import RNNEncoder
from tests.test_case import TestCase


def token_ids():
    return np.array([[3, 4, 5, 6], [7, 8, 0, 0]], "int32")


class RNNEncoderTest(TestCase):
    def test_layer_basics(self):
        ids = token_ids()
        self.run_layer_test(
            RNNEncoder,
            dict(vocabulary_size=10, embedding_dim=4, hidden_dim=3, cell_type="lstm",
                 num_layers=2),
            (ids, ids != 0),
            expected_output_shape=[(2, 4, 6), (2, 4), (2, 6), (2, 6), (2, 6), (2, 6)],
        )

    def test_final_states_equal_keras_layers_on_unpadded_prefix(self):
        # The final state of a padded row equals running Keras's layers on
        # the row without its padding.
        encoder = RNNEncoder(vocabulary_size=10, embedding_dim=4, hidden_dim=3,
                             cell_type="gru", bidirectional=True)
        ids = token_ids()
        memory, mask, states = encoder(ids, ids != 0)
        short = encoder(ids[1:, :2], ids[1:, :2] != 0)
        self.assertAllClose(states[0][0][1:], short[2][0][0], atol=1e-6)
        self.assertAllClose(memory[1:, :2], short[0], atol=1e-6)
        self.assertAllEqual(mask, ids != 0)

    def test_memory_equals_bidirectional_keras_layer(self):
        encoder = RNNEncoder(vocabulary_size=10, embedding_dim=4, hidden_dim=3,
                             cell_type="lstm")
        ids = token_ids()[:1]
        memory, _, states = encoder(ids)
        embedded = encoder.token_embedding(ids)
        reference = keras.layers.Bidirectional(
            keras.layers.LSTM(3, return_sequences=True, return_state=True)
        )
        reference.build(embedded.shape)
        reference.set_weights(encoder.rnn_layers[0].get_weights())
        out, h_f, c_f, h_b, c_b = [
            ops.convert_to_numpy(t) for t in reference(embedded)
        ]
        self.assertAllClose(memory, out, atol=1e-6)
        self.assertAllClose(states[0][0], np.concatenate([h_f, h_b], -1), atol=1e-6)
        self.assertAllClose(states[0][1], np.concatenate([c_f, c_b], -1), atol=1e-6)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "Expected cell_type in"):
            RNNEncoder(10, 4, 3, cell_type="transformer")
        with self.assertRaisesRegex(ValueError, "num_layers"):
            RNNEncoder(10, 4, 3, num_layers=0)

    def test_jax_lstm_layers_keep_the_scan_kernel(self):
        from keras_s2s.layers.rnn_encoder import fused_rnn_layer

        expected = False if keras.backend.backend() == "jax" else "auto"
        self.assertEqual(fused_rnn_layer("lstm", 4).use_cudnn, expected)
        self.assertEqual(fused_rnn_layer("gru", 4).use_cudnn, "auto")
        encoder = RNNEncoder(vocabulary_size=10, embedding_dim=4, hidden_dim=3,
                             cell_type="lstm", bidirectional=True)
        ids = token_ids()
        encoder(ids, ids != 0)
        lstms = [
            layer for layer in encoder._flatten_layers()
            if isinstance(layer, keras.layers.LSTM)
        ]
        self.assertLen(lstms, 2)  # The forward and backward copies.
        for layer in lstms:
            self.assertEqual(layer.use_cudnn, expected)

    def test_unmasked_layers_equal_masked_layers_on_right_padded_batches(self):
        # The default encoder runs the fused layers without a mask; memory at
        # real positions and final states equal the masked layers' (1e-5),
        # including a row of length 1 and an all-padding row.
        ids = np.array(
            [[3, 4, 5, 6, 7], [7, 8, 9, 0, 0], [5, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
            "int32",
        )
        mask = ids != 0
        configs = (("gru", True, 2), ("lstm", True, 1), ("lstm", False, 2),
                   ("simple_rnn", False, 1))
        for cell_type, bidirectional, num_layers in configs:
            config = dict(vocabulary_size=10, embedding_dim=4, hidden_dim=3,
                          cell_type=cell_type, num_layers=num_layers,
                          bidirectional=bidirectional)
            unmasked = RNNEncoder(**config)
            masked = RNNEncoder(mask_rnn=True, **config)
            unmasked.build(ids.shape)
            masked.build(ids.shape)
            masked.set_weights(unmasked.get_weights())
            memory, _, states = unmasked(ids, mask)
            expected_memory, _, expected_states = masked(ids, mask)
            memory = ops.convert_to_numpy(memory)
            self.assertAllClose(memory * mask[:, :, None], expected_memory, atol=1e-5)
            self.assertAllEqual(memory[~mask], np.zeros_like(memory[~mask]))
            for layer, expected_layer in zip(states, expected_states):
                for state, expected in zip(layer, expected_layer):
                    self.assertAllClose(state, expected, atol=1e-5)
            if cell_type == "gru":
                # Each row's final states are those of the row alone, unpadded.
                alone = unmasked(ids[1:2, :3], mask[1:2, :3])
                self.assertAllClose(states[-1][-1][1:2], alone[2][-1][-1], atol=1e-5)

    def test_lstm_cell_state_recomputation_with_saturated_gates(self):
        # Large weights push the gates to 0/1: the parallel recurrence for
        # the final cell state stays equal to the masked step loop.
        ids = np.array([[3, 4, 5, 6, 7, 8], [7, 8, 9, 0, 0, 0]], "int32")
        mask = ids != 0
        config = dict(vocabulary_size=10, embedding_dim=4, hidden_dim=3,
                      cell_type="lstm", bidirectional=True)
        unmasked = RNNEncoder(**config)
        masked = RNNEncoder(mask_rnn=True, **config)
        unmasked.build(ids.shape)
        masked.build(ids.shape)
        rng = np.random.default_rng(1)
        weights = [rng.normal(scale=3.0, size=w.shape).astype("float32")
                   for w in unmasked.get_weights()]
        unmasked.set_weights(weights)
        masked.set_weights(weights)
        _, _, states = unmasked(ids, mask)
        _, _, expected = masked(ids, mask)
        self.assertAllClose(states[0][1], expected[0][1], atol=1e-5)
        self.assertAllClose(states[0][0], expected[0][0], atol=1e-5)

    def test_mask_rnn_config_roundtrip(self):
        encoder = RNNEncoder(vocabulary_size=10, embedding_dim=4, hidden_dim=3,
                             mask_rnn=True)
        self.assertTrue(RNNEncoder.from_config(encoder.get_config()).mask_rnn)
        # Configs written before the option default to the unmasked layers.
        config = encoder.get_config()
        del config["mask_rnn"]
        self.assertFalse(RNNEncoder.from_config(config).mask_rnn)
