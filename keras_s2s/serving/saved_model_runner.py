"""Loading an exported SavedModel and running its `serving_default` signature."""

import os

from keras_s2s.serving import rest_api


def resolve_export_dir(export_dir):
    """The SavedModel directory to serve and its version.

    `export_dir` is a SavedModel (holding `saved_model.pb`; its version is
    its name if numeric, else 1) or, as for TF Serving, a base directory of
    numbered versions (`<export_dir>/<version>/saved_model.pb`; the highest
    is served).

    Returns:
        `(path, version)`, version an int.

    Raises:
        ValueError: no SavedModel there.
    """
    export_dir = os.path.abspath(os.path.expanduser(os.fspath(export_dir)))
    if os.path.isfile(os.path.join(export_dir, "saved_model.pb")):
        name = os.path.basename(export_dir)
        return export_dir, int(name) if name.isdigit() else 1
    versions = []
    if os.path.isdir(export_dir):
        versions = [
            int(name) for name in os.listdir(export_dir)
            if name.isdigit()
            and os.path.isfile(os.path.join(export_dir, name, "saved_model.pb"))
        ]
    if not versions:
        raise ValueError(
            f"No SavedModel in '{export_dir}': expected a saved_model.pb there, "
            "or numbered version directories (<dir>/1/saved_model.pb). Write one "
            "with keras_s2s.export.export_saved_model."
        )
    version = max(versions)
    return os.path.join(export_dir, str(version)), version


def _to_json_value(value):
    """A NumPy value of one example as JSON (strings decoded from UTF-8)."""
    if hasattr(value, "ndim") and value.ndim > 0:
        return [_to_json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "item"):
        return value.item()
    return value


class SavedModelRunner:
    """A string-in, string-out SavedModel, run on batches of inputs.

    Loads the SavedModel with `tf.saved_model.load` (TensorFlow Text is
    imported first, for the tokenizer ops) and checks that its
    `serving_default` signature takes one 1-D `tf.string` input. TensorFlow
    is imported here only, so that `keras_s2s.serving` stays light to import.

    Args:
        export_dir: a SavedModel from `keras_s2s.export.export_saved_model`,
            or a base directory of numbered versions (the highest is used).

    Attributes:
        export_dir: the SavedModel directory.
        version: int, its version.
        input_key: the name of the signature's string input.
        input_specs: dict of name to `tf.TensorSpec`.
        output_specs: dict of name to `tf.TensorSpec`.
        export_info: the export's `keras_s2s_export.json` (or `{}`).

    Raises:
        ValueError: no SavedModel there, a damaged one, or a signature of
            another kind.

    Example:

    ```python
    runner = SavedModelRunner("exported/en_de/1")
    runner.run([b"A dog runs."])
    # [{"outputs": "Ein Hund rennt.", "scores": -1.23}]
    ```
    """

    def __init__(self, export_dir):
        self.export_dir, self.version = resolve_export_dir(export_dir)
        import tensorflow as tf

        try:
            import tensorflow_text  # noqa: F401 (registers the tokenizer ops)
        except ImportError:
            pass  # Only SentencePiece / WordPiece tokenizers need it.
        from keras_s2s.export.saved_model_export import read_export_info

        self._tf = tf
        try:
            self._loaded = tf.saved_model.load(self.export_dir)
        except Exception as error:  # A damaged or foreign file: say which.
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ValueError(
                f"Cannot load the SavedModel in '{self.export_dir}' "
                f"({type(error).__name__}: {message[:300]}). Export it again with "
                "keras_s2s.export.export_saved_model."
            ) from None
        signatures = self._loaded.signatures
        if rest_api.SIGNATURE_NAME not in signatures:
            raise ValueError(
                f"The SavedModel in '{self.export_dir}' has no "
                f"'{rest_api.SIGNATURE_NAME}' signature (it has "
                f"{sorted(signatures)}). Export it with "
                "keras_s2s.export.export_saved_model."
            )
        self._signature = signatures[rest_api.SIGNATURE_NAME]
        self.input_specs = dict(self._signature.structured_input_signature[1])
        self.output_specs = dict(self._signature.structured_outputs)
        string_inputs = [
            name for name, spec in self.input_specs.items()
            if spec.dtype == tf.string and spec.shape.rank == 1
        ]
        if len(self.input_specs) != 1 or len(string_inputs) != 1:
            raise ValueError(
                f"The '{rest_api.SIGNATURE_NAME}' signature of '{self.export_dir}' "
                "must take a single 1-D tf.string input. It takes: "
                f"{self.input_specs}"
            )
        self.input_key = string_inputs[0]
        self.export_info = read_export_info(self.export_dir)

    def run(self, texts):
        """Runs the signature on `texts` (a list of `bytes`).

        Returns:
            A list of dicts, one per input in order, of output name to its
            JSON value (`{"outputs": str, "scores": float}` for a default
            export).
        """
        tf = self._tf
        outputs = self._signature(**{self.input_key: tf.constant(texts, tf.string)})
        arrays = {name: value.numpy() for name, value in outputs.items()}
        return [
            {name: _to_json_value(array[i]) for name, array in sorted(arrays.items())}
            for i in range(len(texts))
        ]
