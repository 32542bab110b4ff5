"""Which recurrent kernel the encoder and the fast decoder run, and how fast.

Keras's GRU/LSTM layers first try the backend's fused kernel
(`keras.src.backend.gru` / `lstm`: cuDNN on GPU; on CPU, PyTorch's and
JAX's GRU kernels that project all inputs at once) and fall back to a
per-step loop when it raises `NotImplementedError` (with a mask on JAX and
PyTorch, on CPU under TensorFlow, ...). This script counts both outcomes,
and the cuDNN calls, while it runs the benchmark model's encoder (emb 256,
biGRU 256 per direction) forward and backward on a right-padded batch,
with the default unmasked layers (`mask_rnn=False`) and with the masked
layers (`mask_rnn=True`), then the fused Luong decoder (GRU 512) under
teacher forcing, and prints a table with the time per forward+backward:

    KERAS_BACKEND=torch python tools/check_fused_rnn.py
    KERAS_BACKEND=tensorflow python tools/check_fused_rnn.py --cell-type lstm
"""

import argparse
import collections
import time

import keras
import numpy as np

from keras_s2s.layers import AttentionalDecoder
from keras_s2s.layers import RNNEncoder

COUNTS = collections.Counter()


def count_calls():
    """Wraps the backend's fused entry points and cuDNN helpers with counters."""
    from keras.src import backend

    backend_rnn = getattr(backend, keras.backend.backend()).rnn
    for name in ("gru", "lstm"):
        fused = getattr(backend, name)

        def wrapper(*args, _fused=fused, _name=name, **kwargs):
            try:
                result = _fused(*args, **kwargs)
            except NotImplementedError:
                COUNTS[f"{_name}: step loop"] += 1
                raise
            COUNTS[f"{_name}: fused kernel"] += 1
            return result

        setattr(backend, name, wrapper)
    for name in ("_cudnn_gru", "_cudnn_lstm"):
        helper = getattr(backend_rnn, name, None)
        if helper is None:
            continue

        def cudnn(*args, _helper=helper, _name=name, **kwargs):
            COUNTS[f"{_name[len('_cudnn_'):]}: cuDNN"] += 1
            return _helper(*args, **kwargs)

        setattr(backend_rnn, name, cudnn)


def value_and_grad(layer, loss_fn):
    """A compiled `loss, grads = f()` over the layer's trainable variables."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        trainable = [v.value for v in layer.trainable_variables]
        others = [v.value for v in layer.non_trainable_variables]

        def loss(trainable):
            with keras.StatelessScope(
                state_mapping=list(zip(layer.trainable_variables, trainable))
                + list(zip(layer.non_trainable_variables, others))
            ):
                return loss_fn()

        compiled = jax.jit(jax.value_and_grad(loss))
        return lambda: jax.block_until_ready(compiled(trainable))
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = loss_fn()
            return loss, tape.gradient(loss, layer.trainable_variables)

        return lambda: [tf.convert_to_tensor(t).numpy() for t in tf.nest.flatten(step())]

    def step():
        for v in layer.trainable_variables:
            v.value.grad = None
        loss = loss_fn()
        loss.backward()
        return float(loss)

    return step


def timed(step, repeats):
    # Compiled steps (jax.jit, tf.function) meet the layers when traced, on
    # the first call; PyTorch meets them at every call.
    COUNTS.clear()
    step()
    calls = dict(COUNTS)
    step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats, calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell-type", default="gru", choices=("gru", "lstm"))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch.set_num_threads (0: PyTorch's default)")
    args = parser.parse_args()
    if keras.backend.backend() == "torch" and args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    count_calls()
    rng = np.random.default_rng(0)
    b, n = args.batch_size, args.length
    lengths = rng.integers(n // 3, n + 1, b)
    lengths[0] = n
    mask = np.arange(n)[None, :] < lengths[:, None]
    ids = (rng.integers(4, 8000, (b, n)) * mask).astype("int32")
    device = "GPU" if _has_gpu() else "CPU"
    rows = []
    for mask_rnn in (False, True):
        keras.utils.set_random_seed(0)
        encoder = RNNEncoder(8000, 256, 256, cell_type=args.cell_type, mask_rnn=mask_rnn)
        encoder.build(ids.shape)

        def loss_fn(encoder=encoder):
            memory, _, states = encoder(ids, mask)
            return keras.ops.mean(memory) + keras.ops.mean(states[0][0])

        seconds, calls = timed(value_and_grad(encoder, loss_fn), args.repeats)
        rows.append((f"encoder, mask_rnn={mask_rnn}", seconds, calls))
    keras.utils.set_random_seed(0)
    decoder = AttentionalDecoder(512, 256, cell_type=args.cell_type,
                                 attention_type="luong", input_feeding=False)
    inputs = rng.normal(size=(b, n, 256)).astype("float32")
    memory = rng.normal(size=(b, n, 512)).astype("float32")
    decoder(inputs[:1, :2], memory[:1], memory_mask=mask[:1])

    def decoder_loss():
        outputs, _ = decoder(inputs, memory, memory_mask=mask)
        return keras.ops.mean(outputs)

    seconds, calls = timed(value_and_grad(decoder, decoder_loss), args.repeats)
    rows.append(("Luong decoder (fused)", seconds, calls))
    print(f"backend {keras.backend.backend()}, {device}, {args.cell_type}, batch {b}, "
          f"length {n} (rows right-padded to {lengths.min()}..{n})")
    print("| run | forward+backward ms | calls per step |")
    print("| --- | ---: | --- |")
    for name, seconds, calls in rows:
        described = ", ".join(f"{k} x{v}" for k, v in sorted(calls.items())) or "-"
        print(f"| {name} | {1000 * seconds:.1f} | {described} |")


def _has_gpu():
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    main()
