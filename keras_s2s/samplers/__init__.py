"""Search algorithms used by `Seq2SeqLM.generate()`."""
