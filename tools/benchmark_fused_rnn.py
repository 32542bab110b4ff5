"""Times Keras's recurrent layers on and off the cuDNN kernel, and checks they agree.

For each recurrent layer of the benchmark model's shape (a bidirectional
encoder layer and a unidirectional decoder-sized layer), LSTM and GRU, this
builds the layer twice with the same weights, `use_cudnn=True` and
`use_cudnn=False` (Keras's step loop: `lax.scan` under JAX, a Python loop
under PyTorch, `tf.while_loop` under TensorFlow), and prints side by side:

- whether the cuDNN kernel was really taken (JAX: a cuDNN RNN custom call in
  the compiled program; PyTorch: calls to `torch._VF.lstm` / `gru`);
- milliseconds per forward + backward pass of each, and the speed-up;
- the largest difference between the two in the outputs and in the gradients
  with respect to the inputs and to every weight.

Without a GPU, `use_cudnn=True` raises (Keras's choice), and the tool prints
the step loop's time alone.

```
KERAS_BACKEND=jax python tools/benchmark_fused_rnn.py --json /tmp/fused.json
```
"""

import argparse
import json
import sys
import time

import numpy as np

import keras

LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def build_layer(cell, units, input_dim, bidirectional, use_cudnn):
    layer = LAYERS[cell](units, return_sequences=True, use_cudnn=use_cudnn)
    if bidirectional:
        layer = keras.layers.Bidirectional(layer)
    layer.build((None, None, input_dim))
    return layer


class _VFCounter:
    """Counts PyTorch's fused recurrent kernel calls (`torch._VF.lstm/gru`)."""

    def __init__(self):
        import torch

        self.vf = torch._VF
        self.calls = 0
        self.saved = {}
        for name in ("lstm", "gru"):
            original = getattr(self.vf, name)
            self.saved[name] = original

            def counted(*args, _original=original, **kwargs):
                self.calls += 1
                return _original(*args, **kwargs)

            setattr(self.vf, name, counted)


def make_step(layer, states=None):
    """Returns `step(x, cotangent) -> (outputs, [dx, dstates..., dw...])` and a kernel probe.

    With `states` (a list of tensors), the layer starts from them, and their
    gradients follow the input's.
    """
    backend = keras.backend.backend()
    variables = layer.trainable_variables
    states = list(states or [])
    kwargs = lambda initial: {"initial_state": list(initial)} if initial else {}  # noqa: E731
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        frozen = [v.value for v in layer.non_trainable_variables]

        def loss(weights, x, initial, cotangent):
            outputs, _ = layer.stateless_call(weights, frozen, x, **kwargs(initial))
            return jnp.sum(outputs * cotangent), outputs

        compiled = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True))
        weights = [v.value for v in variables]

        def step(x, cotangent):
            (_, outputs), (dw, dx, dstates) = compiled(weights, x, states, cotangent)
            return outputs, [dx] + list(dstates) + list(dw)

        def probe(x, cotangent):
            text = compiled.lower(weights, x, states, cotangent).compile().as_text()
            return "cudnn" in text.lower() and "rnn" in text.lower()

        return step, probe
    if backend == "torch":
        import torch

        def step(x, cotangent):
            x = x.detach().clone().requires_grad_(True)
            initial = [h.detach().clone().requires_grad_(True) for h in states]
            for v in variables:
                v.value.grad = None
            outputs = layer(x, **kwargs(initial))
            torch.sum(outputs * cotangent).backward()
            grads = [x.grad] + [h.grad for h in initial]
            return outputs.detach(), grads + [v.value.grad for v in variables]

        def probe(x, cotangent):
            counter = _VFCounter()
            try:
                step(x, cotangent)
            finally:
                for name, original in counter.saved.items():
                    setattr(counter.vf, name, original)
            return counter.calls > 0

        return step, probe
    import tensorflow as tf

    @tf.function(jit_compile=False)
    def tf_step(x, cotangent):
        with tf.GradientTape() as tape:
            tape.watch(x)
            for h in states:
                tape.watch(h)
            outputs = layer(x, **kwargs(states))
            loss = tf.reduce_sum(outputs * cotangent)
        grads = tape.gradient(loss, [x] + states + [v.value for v in variables])
        return outputs, grads

    def probe(x, cotangent):
        graph = tf_step.get_concrete_function(x, cotangent).graph.as_graph_def()
        names = {node.op for node in graph.node}
        names |= {n.op for f in graph.library.function for n in f.node_def}
        return any("CudnnRNN" in name for name in names)

    return tf_step, probe


def to_numpy(value):
    return np.asarray(keras.ops.convert_to_numpy(value), dtype="float64")


def time_step(step, x, cotangent, repeats):
    def run():
        outputs, grads = step(x, cotangent)
        for value in [outputs] + list(grads):
            to_numpy(value)  # waits for the device

    for _ in range(3):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def compare(cell, units, input_dim, bidirectional, with_state, args):
    rng = np.random.default_rng(0)
    x = keras.ops.convert_to_tensor(
        rng.standard_normal((args.batch_size, args.length, input_dim)).astype("float32")
    )
    width = units * (2 if bidirectional else 1)
    cotangent = keras.ops.convert_to_tensor(
        rng.standard_normal((args.batch_size, args.length, width)).astype("float32")
    )
    states = []
    if with_state:
        # A given initial state (as a decoder's bridge passes), in (-1, 1).
        count = 2 if cell == "lstm" else 1
        states = [
            keras.ops.convert_to_tensor(
                np.tanh(rng.standard_normal((args.batch_size, units))).astype("float32")
            )
            for _ in range(count)
        ]
    keras.utils.set_random_seed(1)
    loop = build_layer(cell, units, input_dim, bidirectional, use_cudnn=False)
    row = {
        "layer": f"{'bi' if bidirectional else ''}{cell.upper()} {units}"
                 + (" + state" if with_state else ""),
        "input": input_dim,
    }
    loop_step, _ = make_step(loop, states)
    row["loop_ms"] = time_step(loop_step, x, cotangent, args.repeats)
    try:
        fused = build_layer(cell, units, input_dim, bidirectional, use_cudnn=True)
        fused.set_weights(loop.get_weights())
        fused_step, probe = make_step(fused, states)
        row["cudnn_taken"] = bool(probe(x, cotangent))
        row["cudnn_ms"] = time_step(fused_step, x, cotangent, args.repeats)
    except Exception as error:  # Keras raises when cuDNN cannot be used.
        row["cudnn_taken"] = False
        row["cudnn_error"] = f"{type(error).__name__}: {str(error)[:200]}"
        return row
    row["speedup"] = row["loop_ms"] / row["cudnn_ms"]
    loop_out, loop_grads = loop_step(x, cotangent)
    fused_out, fused_grads = fused_step(x, cotangent)
    row["max_diff_outputs"] = float(np.max(np.abs(to_numpy(loop_out) - to_numpy(fused_out))))
    names = (["inputs"] + [f"initial_state_{i}" for i in range(len(states))]
             + [v.path for v in loop.trainable_variables])
    diffs = {}
    for name, a, b in zip(names, loop_grads, fused_grads):
        a, b = to_numpy(a), to_numpy(b)
        scale = max(float(np.max(np.abs(a))), 1e-12)
        diffs[name] = float(np.max(np.abs(a - b))) / scale
    row["max_relative_diff_gradients"] = diffs
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru"], choices=sorted(LAYERS))
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.length < 1 or args.repeats < 1:
        parser.error("--batch-size, --length and --repeats must be positive integers.")
    # The benchmark model: embeddings 256, encoder 256 per direction, decoder 512.
    # (units, input size, bidirectional, given initial state)
    shapes = [(256, 256, True, False), (512, 256, False, False), (512, 256, False, True)]
    rows = []
    print(
        f"backend {keras.backend.backend()}, batch {args.batch_size}, "
        f"length {args.length}, forward + backward, median of {args.repeats}"
    )
    print(f"{'layer':<20} {'cuDNN taken':>11} {'loop ms':>9} {'cuDNN ms':>9} "
          f"{'speed-up':>8} {'max |dy|':>9} {'max rel |dgrad|':>15}")
    for cell in args.cells:
        for units, input_dim, bidirectional, with_state in shapes:
            row = compare(cell, units, input_dim, bidirectional, with_state, args)
            rows.append(row)
            if "cudnn_error" in row:
                print(f"{row['layer']:<20} {'no':>11} {row['loop_ms']:>9.2f} "
                      f"{'-':>9} {'-':>8}   ({row['cudnn_error']})")
                continue
            worst = max(row["max_relative_diff_gradients"].items(), key=lambda kv: kv[1])
            print(f"{row['layer']:<20} {('yes' if row['cudnn_taken'] else 'no'):>11} "
                  f"{row['loop_ms']:>9.2f} {row['cudnn_ms']:>9.2f} {row['speedup']:>7.2f}x "
                  f"{row['max_diff_outputs']:>9.2e} {worst[1]:>9.2e} ({worst[0]})")
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"backend": keras.backend.backend(), "rows": rows}, file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
