"""Search algorithms used by `Seq2SeqLM.generate()`.

Every sampler follows keras-hub's interface: it only sees
`next(prompt, cache, index)` and treats the cache as any pytree. Resolve one
with `get("greedy" | "beam" | "top_k" | "top_p" | "random" | "exact")`, a
config dict or an instance.
"""

from keras_s2s.samplers.beam_sampler import BeamSampler
from keras_s2s.samplers.exact_sampler import ExactSampler
from keras_s2s.samplers.greedy_sampler import GreedySampler
from keras_s2s.samplers.random_sampler import RandomSampler
from keras_s2s.samplers.search_errors import search_error_report
from keras_s2s.samplers.serialization import deserialize
from keras_s2s.samplers.serialization import get
from keras_s2s.samplers.serialization import serialize
from keras_s2s.samplers.top_k_sampler import TopKSampler
from keras_s2s.samplers.top_p_sampler import TopPSampler
