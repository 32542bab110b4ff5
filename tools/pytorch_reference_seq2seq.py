"""A plain PyTorch (eager) implementation of the benchmark model.

What a tutorial user writes: a packed bidirectional GRU encoder
(`pack_padded_sequence`), a dense bridge, a decoder that steps a `GRUCell`
in a Python loop with Bahdanau (additive) attention and computes the
vocabulary logits at every step, greedy and beam search one sentence at a
time. The model is the one `Seq2SeqBackbone` builds with

    embedding_dim=256, encoder_hidden_dim=256 (bidirectional), hidden_dim=512,
    cell_type="gru", attention_type="bahdanau", bridge="dense"

(same equations, same parameter count), so `load_keras_weights` copies the
weights of a Keras model into it and both decode the same outputs.
`tools/benchmark_seq2seq.py` times it side by side with keras-s2s.

    python tools/pytorch_reference_seq2seq.py   # self-check on random data
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.nn.utils.rnn import pad_packed_sequence

PAD_ID, START_ID, END_ID = 0, 2, 3
NEGATIVE = -1e9


class Encoder(nn.Module):
    def __init__(self, vocabulary_size, embedding_dim, hidden_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary_size, embedding_dim)
        self.rnn = nn.GRU(embedding_dim, hidden_dim, batch_first=True,
                          bidirectional=True)

    def forward(self, source, lengths):
        embedded = self.embedding(source)  # (batch, src_len, emb)
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        packed_outputs, hidden = self.rnn(packed)
        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True,
                                         total_length=source.shape[1])
        # outputs: (batch, src_len, 2 * hidden); final: (batch, 2 * hidden)
        final = torch.cat([hidden[0], hidden[1]], dim=-1)
        return outputs, final


class BahdanauAttention(nn.Module):
    def __init__(self, query_dim, memory_dim, units):
        super().__init__()
        self.query = nn.Linear(query_dim, units, bias=False)
        self.key = nn.Linear(memory_dim, units, bias=False)
        self.v = nn.Parameter(torch.empty(units).uniform_(-0.1, 0.1))

    def forward(self, query, keys, memory, mask):
        # scores: (batch, src_len)
        scores = torch.tanh(self.query(query)[:, None, :] + keys) @ self.v
        scores = scores.masked_fill(~mask, NEGATIVE)
        weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights[:, None, :], memory)[:, 0]  # (batch, mem)
        return context, weights


class Decoder(nn.Module):
    def __init__(self, vocabulary_size, embedding_dim, hidden_dim, memory_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary_size, embedding_dim)
        self.attention = BahdanauAttention(hidden_dim, memory_dim, hidden_dim)
        self.rnn = nn.GRUCell(embedding_dim + memory_dim, hidden_dim)
        self.readout = nn.Linear(hidden_dim + memory_dim + embedding_dim,
                                 embedding_dim)
        self.projection = nn.Linear(embedding_dim, vocabulary_size, bias=False)

    def forward(self, token, hidden, keys, memory, mask):
        """One step: previous token `(batch,)` -> logits `(batch, vocab)`."""
        embedded = self.embedding(token)  # (batch, emb)
        context, _ = self.attention(hidden, keys, memory, mask)
        hidden = self.rnn(torch.cat([embedded, context], dim=-1), hidden)
        output = torch.tanh(self.readout(torch.cat([hidden, context, embedded], -1)))
        return self.projection(output), hidden


class ReferenceSeq2Seq(nn.Module):
    """Bi-GRU encoder, dense bridge, Bahdanau GRU decoder (PyTorch eager)."""

    def __init__(self, vocabulary_size=8000, embedding_dim=256,
                 encoder_hidden_dim=256, hidden_dim=512):
        super().__init__()
        memory_dim = 2 * encoder_hidden_dim
        self.encoder = Encoder(vocabulary_size, embedding_dim, encoder_hidden_dim)
        self.bridge = nn.Linear(memory_dim, hidden_dim)
        self.decoder = Decoder(vocabulary_size, embedding_dim, hidden_dim,
                               memory_dim)

    def encode(self, source):
        mask = source != PAD_ID  # (batch, src_len)
        lengths = mask.sum(-1)
        memory, final = self.encoder(source, lengths)
        hidden = torch.tanh(self.bridge(final))  # (batch, hidden)
        keys = self.decoder.attention.key(memory)  # (batch, src_len, units)
        return memory, keys, mask, hidden

    def forward(self, source, decoder_inputs):
        """Teacher forcing: logits `(batch, tgt_len, vocab)`."""
        memory, keys, mask, hidden = self.encode(source)
        logits = []
        for t in range(decoder_inputs.shape[1]):
            step_logits, hidden = self.decoder(decoder_inputs[:, t], hidden, keys,
                                               memory, mask)
            logits.append(step_logits)
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def greedy(self, source, max_length):
        """One sentence `(src_len,)` -> list of token ids (without `</s>`)."""
        memory, keys, mask, hidden = self.encode(source[None])
        token = torch.tensor([START_ID])
        output = []
        for _ in range(max_length):
            logits, hidden = self.decoder(token, hidden, keys, memory, mask)
            token = logits.argmax(-1)
            if int(token) == END_ID:
                break
            output.append(int(token))
        return output

    @torch.no_grad()
    def beam(self, source, max_length, num_beams=5):
        """Beam search for one sentence; the beams run as one batch.

        Hypotheses are ranked by cumulative log-probability; a hypothesis
        ending in `</s>` that ranks among the `num_beams` best candidates
        goes to the finished pool; search stops when the pool's best beats
        every open beam, or at `max_length` tokens.
        """
        memory, keys, mask, hidden = self.encode(source[None])
        tokens = torch.tensor([START_ID])
        scores = torch.zeros(1)
        histories = [[]]
        finished = []
        for _ in range(max_length):
            beams = tokens.shape[0]
            logits, hidden = self.decoder(
                tokens, hidden, keys.expand(beams, -1, -1),
                memory.expand(beams, -1, -1), mask.expand(beams, -1),
            )
            candidates = (scores[:, None] + torch.log_softmax(logits, -1)).flatten()
            top_scores, top = candidates.topk(2 * num_beams)
            vocabulary_size = logits.shape[-1]
            keep_rows, keep_tokens, keep_scores, keep_histories = [], [], [], []
            for rank, (score, index) in enumerate(
                zip(top_scores.tolist(), top.tolist())
            ):
                row, token = divmod(index, vocabulary_size)
                if token == END_ID:
                    if rank < num_beams:
                        finished = sorted(finished + [(score, histories[row])],
                                          key=lambda f: -f[0])[:num_beams]
                    continue
                keep_rows.append(row)
                keep_tokens.append(token)
                keep_scores.append(score)
                keep_histories.append(histories[row] + [token])
                if len(keep_rows) == num_beams:
                    break
            if finished and finished[0][0] >= keep_scores[0]:
                break
            rows = torch.tensor(keep_rows)
            hidden = hidden[rows]
            tokens = torch.tensor(keep_tokens)
            scores = torch.tensor(keep_scores)
            histories = keep_histories
        if not finished:
            return histories[0]
        return finished[0][1]


def load_keras_weights(model, weights):
    """Copies a keras-s2s benchmark model's weights into `model`.

    Args:
        model: a `ReferenceSeq2Seq`.
        weights: dict from Keras variable paths (`variable.path`) to NumPy
            arrays.
    """

    def tensor(path):
        return torch.as_tensor(weights[path])

    def gru(prefix):
        # Keras gate order [z, r, h] -> PyTorch [r, z, n]; (in, 3H) -> (3H, in).
        def reorder(x):
            z, r, h = torch.chunk(x, 3, dim=-1)
            return torch.cat([r, z, h], dim=-1)

        bias = tensor(f"{prefix}/bias")
        return (reorder(tensor(f"{prefix}/kernel")).T, reorder(
            tensor(f"{prefix}/recurrent_kernel")).T, reorder(bias[0]), reorder(bias[1]))

    encoder = "encoder/bidirectional_0"
    rnn = model.encoder.rnn
    with torch.no_grad():
        model.encoder.embedding.weight.copy_(tensor("encoder/token_embedding/embeddings"))
        for suffix, direction in (("", "forward"), ("_reverse", "backward")):
            w_ih, w_hh, b_ih, b_hh = gru(f"{encoder}/{direction}_gru_0/gru_cell")
            getattr(rnn, f"weight_ih_l0{suffix}").copy_(w_ih)
            getattr(rnn, f"weight_hh_l0{suffix}").copy_(w_hh)
            getattr(rnn, f"bias_ih_l0{suffix}").copy_(b_ih)
            getattr(rnn, f"bias_hh_l0{suffix}").copy_(b_hh)
        model.bridge.weight.copy_(tensor("bridge/projection_0/kernel").T)
        model.bridge.bias.copy_(tensor("bridge/projection_0/bias"))
        decoder = model.decoder
        decoder.embedding.weight.copy_(tensor("decoder_token_embedding/embeddings"))
        decoder.projection.weight.copy_(
            tensor("decoder_token_embedding/reverse_embeddings").T
        )
        w_ih, w_hh, b_ih, b_hh = gru("decoder/gru_cell_0")
        decoder.rnn.weight_ih.copy_(w_ih)
        decoder.rnn.weight_hh.copy_(w_hh)
        decoder.rnn.bias_ih.copy_(b_ih)
        decoder.rnn.bias_hh.copy_(b_hh)
        decoder.attention.v.copy_(tensor("decoder/attention/attention_v"))
        decoder.attention.query.weight.copy_(
            tensor("decoder/attention/query_dense/kernel").T
        )
        decoder.attention.key.weight.copy_(tensor("decoder/attention/key_dense/kernel").T)
        decoder.readout.weight.copy_(tensor("decoder/output_dense/kernel").T)
        decoder.readout.bias.copy_(tensor("decoder/output_dense/bias"))


def train_step(model, optimizer, source, decoder_inputs, labels):
    """One Adam step on a batch; returns the mean token loss."""
    model.train()
    optimizer.zero_grad()
    logits = model(source, decoder_inputs)
    loss = nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=PAD_ID
    )
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    return loss.item()


def _self_check():
    torch.manual_seed(0)
    model = ReferenceSeq2Seq(vocabulary_size=50, embedding_dim=8,
                             encoder_hidden_dim=6, hidden_dim=12)
    source = torch.tensor([[5, 6, 7, 3], [8, 3, 0, 0]])
    decoder_inputs = torch.tensor([[2, 9, 10], [2, 11, 0]])
    labels = torch.tensor([[9, 10, 3], [11, 3, 0]])
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    losses = [train_step(model, optimizer, source, decoder_inputs, labels)
              for _ in range(30)]
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    print("greedy", model.greedy(source[0], 5), "beam", model.beam(source[0], 5))


if __name__ == "__main__":
    _self_check()
