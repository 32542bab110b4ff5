import keras
import keras_hub
from keras import ops

from keras_s2s.layers.attentional_decoder import ATTENTION_TYPES
from keras_s2s.layers.attentional_decoder import AttentionalDecoder
from keras_s2s.layers.copy_generator import CopyGenerator
from keras_s2s.layers.coverage_attentional_decoder import CoverageAttentionalDecoder
from keras_s2s.layers.coverage_loss import CoverageLoss
from keras_s2s.layers.encoder_bridge import BRIDGE_TYPES
from keras_s2s.layers.encoder_bridge import EncoderBridge
from keras_s2s.layers.rnn_encoder import CELL_TYPES
from keras_s2s.layers.rnn_encoder import RNNEncoder
from keras_s2s.layers.rnn_encoder import num_cell_states
from keras_s2s.utils.argument_validation import check_choice
from keras_s2s.utils.argument_validation import check_positive_int
from keras_s2s.utils.argument_validation import check_rate
from keras_s2s.utils.class_property import classproperty
from keras_s2s.utils.memory_estimate import check_backbone_fits


@keras.saving.register_keras_serializable(package="keras_s2s")
class Seq2SeqBackbone(keras_hub.models.Backbone):
    """Attentional RNN encoder-decoder network.

    An `RNNEncoder` (embedding + stacked, optionally bidirectional fused RNN
    layers) reads the source; an `EncoderBridge` maps its final states to the
    decoder's initial states; an `AttentionalDecoder` (Bahdanau or Luong
    wiring) reads the teacher-forced target embeddings and attends over the
    encoder memory. The backbone returns the decoder's output vectors; the
    `Seq2SeqLM` task projects them to the vocabulary with
    `backbone.token_embedding(x, reverse=True)` (tied to the decoder's input
    embedding when `tie_embeddings=True`).

    Args:
        encoder_vocabulary_size: int. Source vocabulary size.
        decoder_vocabulary_size: int. Target vocabulary size. Defaults to
            `encoder_vocabulary_size` (a joint vocabulary).
        embedding_dim: int. Token embedding size (source and target); also the
            size of the decoder's output vectors.
        hidden_dim: int. Units of each decoder layer.
        encoder_hidden_dim: int. Units of each encoder layer per direction.
            Defaults to `hidden_dim // 2` when bidirectional, else `hidden_dim`,
            so the memory has `hidden_dim` features.
        cell_type: `"gru"`, `"lstm"` or `"simple_rnn"` (encoder and decoder).
        num_encoder_layers: int.
        num_decoder_layers: int.
        bidirectional: bool. Bidirectional encoder layers.
        attention_type: `"bahdanau"`, `"luong"` or `"multi_head"`.
        score_mode: Luong score: `"dot"`, `"general"` or `"concat"`.
        attention_units: int. Size of additive / multi-head attention
            projections. Defaults to `hidden_dim`.
        num_heads: int. Heads for `attention_type="multi_head"`.
        input_feeding: bool. Luong input feeding; `False` gives the fast
            decoder that runs one fused RNN call under teacher forcing.
        bridge: `"dense"`, `"copy"` or `"zero"` (see `EncoderBridge`).
        dropout: float in [0, 1).
        layer_normalization: bool. Layer-normalized decoder cells.
        tie_embeddings: bool. Use the decoder's input embedding matrix as the
            output projection.
        copy_attention: bool. Pointer-generator copying (See et al., 2017):
            a `CopyGenerator` computes the switch `p_gen`, returned as the
            output `"copy_switch"` `(batch_size, target_len)`, and
            `Seq2SeqLM` mixes the vocabulary distribution with the attention
            over the source ids (`copy_log_probabilities`). Needs a joint
            vocabulary (`decoder_vocabulary_size` equal to
            `encoder_vocabulary_size`); out-of-vocabulary source words are
            copied as the tokenizer's pieces or unknown id.
        coverage: bool. Coverage (See et al., 2017): the decoder is a
            `CoverageAttentionalDecoder` (the sum of the previous attention
            weights enters the Bahdanau score) and a `CoverageLoss` adds
            `coverage_loss_weight * mean_t sum_s min(a_ts, c_ts)` to the
            training loss; the per-step penalty is returned as the output
            `"coverage_penalty"` `(batch_size, target_len)`. Needs
            `attention_type="bahdanau"`.
        coverage_loss_weight: float >= 0, the weight of the coverage loss.
        dtype: dtype policy of the layers.

    Raises:
        ValueError: an argument outside its allowed values (named).
        MemoryError: the weights alone would need more memory than is
            available (estimated from the arguments before anything is
            allocated; see `keras_s2s.utils.memory_estimate`).

    Example:
    >>> backbone = Seq2SeqBackbone(
    ...     encoder_vocabulary_size=20, embedding_dim=8, hidden_dim=16,
    ...     cell_type="gru", attention_type="bahdanau")
    >>> outputs = backbone({
    ...     "encoder_token_ids": np.array([[5, 6, 7, 0]]),
    ...     "encoder_padding_mask": np.array([[1, 1, 1, 0]], dtype=bool),
    ...     "decoder_token_ids": np.array([[2, 9, 9]]),
    ...     "decoder_padding_mask": np.array([[1, 1, 1]], dtype=bool)})
    >>> tuple(outputs["decoder_sequence_output"].shape)
    (1, 3, 8)
    """

    @classproperty
    def presets(cls):
        """The shipped presets, by name, with their metadata (keras-hub style)."""
        from keras_s2s.presets.preset_registry import presets_for_class

        return presets_for_class(cls, "backbone")

    def save_to_preset(self, preset_dir, max_shard_size=10):
        """Saves to a preset directory, with the sha256 of its files recorded.

        As keras-hub's `save_to_preset`, then every file of the directory is
        recorded in its `metadata.json` (see
        `keras_s2s.presets.preset_integrity.record_checksums`), so that
        `from_preset(preset_dir)` verifies and loads it.
        """
        from keras_s2s.presets.preset_integrity import record_checksums

        super().save_to_preset(preset_dir, max_shard_size=max_shard_size)
        record_checksums(preset_dir)

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Loads the backbone of a shipped preset name or a preset directory.

        Files are verified against the preset's recorded sha256 and configs
        are deserialized in Keras safe mode, as for `Seq2SeqLM.from_preset`.

        Args:
            preset: a name of `Seq2SeqBackbone.presets` or a preset directory.
            load_weights: if False, the weights stay randomly initialized.
            **kwargs: passed to keras-hub's backbone loader (e.g. `dtype`).
        """
        from keras_s2s.presets.preset_loading import load_preset_backbone

        return load_preset_backbone(cls, preset, load_weights=load_weights, **kwargs)

    def __init__(
        self,
        encoder_vocabulary_size,
        decoder_vocabulary_size=None,
        embedding_dim=256,
        hidden_dim=256,
        encoder_hidden_dim=None,
        cell_type="gru",
        num_encoder_layers=1,
        num_decoder_layers=1,
        bidirectional=True,
        attention_type="bahdanau",
        score_mode="general",
        attention_units=None,
        num_heads=4,
        input_feeding=True,
        bridge="dense",
        dropout=0.0,
        layer_normalization=False,
        tie_embeddings=False,
        copy_attention=False,
        coverage=False,
        coverage_loss_weight=1.0,
        dtype=None,
        **kwargs,
    ):
        check_positive_int("encoder_vocabulary_size", encoder_vocabulary_size)
        check_positive_int(
            "decoder_vocabulary_size", decoder_vocabulary_size, allow_none=True
        )
        check_positive_int("embedding_dim", embedding_dim)
        check_positive_int("hidden_dim", hidden_dim)
        check_positive_int("encoder_hidden_dim", encoder_hidden_dim, allow_none=True)
        check_choice("cell_type", cell_type, CELL_TYPES)
        check_choice("attention_type", attention_type, ATTENTION_TYPES)
        check_choice("bridge", bridge, BRIDGE_TYPES)
        check_rate("dropout", dropout)
        if decoder_vocabulary_size is None:
            decoder_vocabulary_size = encoder_vocabulary_size
        if copy_attention and decoder_vocabulary_size != encoder_vocabulary_size:
            raise ValueError(
                "copy_attention=True copies source ids into the output, so it "
                "needs a joint vocabulary: decoder_vocabulary_size equal to "
                f"encoder_vocabulary_size. Received: encoder_vocabulary_size="
                f"{encoder_vocabulary_size}, decoder_vocabulary_size="
                f"{decoder_vocabulary_size}"
            )
        if coverage and attention_type != "bahdanau":
            raise ValueError(
                "Expected attention_type in {'bahdanau'} with coverage=True. "
                f"Received: attention_type={attention_type!r}"
            )
        if encoder_hidden_dim is None:
            encoder_hidden_dim = hidden_dim // 2 if bidirectional else hidden_dim
            encoder_hidden_dim = max(encoder_hidden_dim, 1)
        # Refuse sizes whose weights cannot fit before the backend tries.
        check_backbone_fits(
            dict(
                encoder_vocabulary_size=encoder_vocabulary_size,
                decoder_vocabulary_size=decoder_vocabulary_size,
                embedding_dim=embedding_dim,
                hidden_dim=hidden_dim,
                encoder_hidden_dim=encoder_hidden_dim,
                cell_type=cell_type,
                num_encoder_layers=num_encoder_layers,
                num_decoder_layers=num_decoder_layers,
                bidirectional=bidirectional,
                attention_units=attention_units,
                input_feeding=input_feeding,
                tie_embeddings=tie_embeddings,
            ),
            bytes_per_parameter=_bytes_per_parameter(dtype),
        )

        # Embeddings ~ N(0, 1 / embedding_dim): unit-norm vectors, and logits
        # of order 1 at initialization against the tanh-bounded outputs.
        embeddings_initializer = keras.initializers.RandomNormal(
            stddev=embedding_dim**-0.5
        )

        # === Layers ===
        self.encoder = RNNEncoder(
            vocabulary_size=encoder_vocabulary_size,
            embedding_dim=embedding_dim,
            hidden_dim=encoder_hidden_dim,
            cell_type=cell_type,
            num_layers=num_encoder_layers,
            bidirectional=bidirectional,
            dropout=dropout,
            embeddings_initializer=embeddings_initializer,
            dtype=dtype,
            name="encoder",
        )
        self.bridge = EncoderBridge(
            bridge,
            hidden_dim=hidden_dim,
            num_layers=num_decoder_layers,
            num_states=num_cell_states(cell_type),
            dtype=dtype,
            name="bridge",
        )
        self.token_embedding = keras.layers.ReversibleEmbedding(
            decoder_vocabulary_size,
            embedding_dim,
            tie_weights=tie_embeddings,
            embeddings_initializer=embeddings_initializer,
            reverse_dtype="float32",
            dtype=dtype,
            name="decoder_token_embedding",
        )
        decoder_cls = CoverageAttentionalDecoder if coverage else AttentionalDecoder
        self.decoder = decoder_cls(
            hidden_dim=hidden_dim,
            output_dim=embedding_dim,
            cell_type=cell_type,
            num_layers=num_decoder_layers,
            attention_type=attention_type,
            score_mode=score_mode,
            attention_units=attention_units,
            num_heads=num_heads,
            input_feeding=input_feeding,
            dropout=dropout,
            layer_normalization=layer_normalization,
            dtype=dtype,
            name="decoder",
        )
        self.copy_generator = None
        if copy_attention:
            self.copy_generator = CopyGenerator(dtype=dtype, name="copy_generator")
        self.coverage_loss = None
        if coverage:
            self.coverage_loss = CoverageLoss(
                coverage_loss_weight, dtype=dtype, name="coverage_loss"
            )

        # === Functional model ===
        encoder_token_ids = keras.Input(
            shape=(None,), dtype="int32", name="encoder_token_ids"
        )
        encoder_padding_mask = keras.Input(
            shape=(None,), dtype="bool", name="encoder_padding_mask"
        )
        decoder_token_ids = keras.Input(
            shape=(None,), dtype="int32", name="decoder_token_ids"
        )
        decoder_padding_mask = keras.Input(
            shape=(None,), dtype="bool", name="decoder_padding_mask"
        )
        memory, memory_mask, encoder_states = self.encoder(
            encoder_token_ids, encoder_padding_mask
        )
        initial_state = self.bridge(encoder_states)
        decoder_inputs = self.token_embedding(decoder_token_ids)
        decoder_outputs, attention_weights = self.decoder(
            decoder_inputs,
            memory,
            memory_mask=memory_mask,
            initial_state=initial_state,
        )
        outputs = {
            "encoder_sequence_output": memory,
            "decoder_sequence_output": decoder_outputs,
            "attention_weights": attention_weights,
        }
        if copy_attention:
            # copy_switch: (batch_size, target_len), p_gen of each step.
            outputs["copy_switch"] = self.copy_generator(
                decoder_outputs, attention_weights, memory, decoder_inputs
            )
        if coverage:
            # coverage_penalty: (batch_size, target_len); adds the loss.
            outputs["coverage_penalty"] = self.coverage_loss(
                attention_weights, decoder_padding_mask
            )
        super().__init__(
            inputs={
                "encoder_token_ids": encoder_token_ids,
                "encoder_padding_mask": encoder_padding_mask,
                "decoder_token_ids": decoder_token_ids,
                "decoder_padding_mask": decoder_padding_mask,
            },
            outputs=outputs,
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.encoder_vocabulary_size = encoder_vocabulary_size
        self.decoder_vocabulary_size = decoder_vocabulary_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.encoder_hidden_dim = encoder_hidden_dim
        self.cell_type = cell_type
        self.num_encoder_layers = num_encoder_layers
        self.num_decoder_layers = num_decoder_layers
        self.bidirectional = bidirectional
        self.attention_type = attention_type
        self.score_mode = score_mode
        self.attention_units = attention_units
        self.num_heads = num_heads
        self.input_feeding = input_feeding
        self.bridge_type = bridge
        self.dropout = dropout
        self.layer_normalization = layer_normalization
        self.tie_embeddings = tie_embeddings
        self.copy_attention = copy_attention
        self.coverage = coverage
        self.coverage_loss_weight = coverage_loss_weight

    def encode(self, encoder_token_ids, encoder_padding_mask, training=False):
        """Runs the encoder and the bridge.

        Returns:
            A tuple `(memory, memory_mask, initial_state)`: memory
            `(batch_size, source_len, memory_dim)`, its bool mask, and the
            decoder's per-layer initial states.
        """
        memory, memory_mask, encoder_states = self.encoder(
            encoder_token_ids, encoder_padding_mask, training=training
        )
        return memory, memory_mask, self.bridge(encoder_states)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder_vocabulary_size": self.encoder_vocabulary_size,
                "decoder_vocabulary_size": self.decoder_vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "encoder_hidden_dim": self.encoder_hidden_dim,
                "cell_type": self.cell_type,
                "num_encoder_layers": self.num_encoder_layers,
                "num_decoder_layers": self.num_decoder_layers,
                "bidirectional": self.bidirectional,
                "attention_type": self.attention_type,
                "score_mode": self.score_mode,
                "attention_units": self.attention_units,
                "num_heads": self.num_heads,
                "input_feeding": self.input_feeding,
                "bridge": self.bridge_type,
                "dropout": self.dropout,
                "layer_normalization": self.layer_normalization,
                "tie_embeddings": self.tie_embeddings,
                "copy_attention": self.copy_attention,
                "coverage": self.coverage,
                "coverage_loss_weight": self.coverage_loss_weight,
            }
        )
        return config


def _bytes_per_parameter(dtype):
    """Bytes of one variable under the dtype policy `dtype` (4 for float32)."""
    try:
        variable_dtype = keras.dtype_policies.get(dtype).variable_dtype
    except Exception:
        return 4
    return 8 if variable_dtype == "float64" else 2 if "16" in variable_dtype else 4
